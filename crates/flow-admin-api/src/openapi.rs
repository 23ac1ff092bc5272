//! The OpenAPI 3 document of the admin API, generated from the handlers' `#[utoipa::path]`
//! attributes and the wire types, served at `GET /api/admin/openapi.json`, with Swagger UI
//! (embedded in the binary, so it works offline) at `/api/admin/docs/`.
//!
//! Neither needs the admin token: the document describes only the API's shape (no flows, no
//! settings, no secrets), the same as `docs/admin-api.md`, and a docs page that asked for the
//! token before showing anything would be of little use. Every operation in it still requires
//! the bearer token.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentType};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{AdminError, events, identity_providers, routes, users, webhooks};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/admin/openapi.json";
/// Where the Swagger UI page is served.
pub const DOCS_PATH: &str = "/api/admin/docs/";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flowd admin API",
        description = "The Flow Management admin API of flowd: seed 002's nine flow endpoints plus \
flowd's extensions (`is_default`, import/export, the node-type catalogue, execution traces, \
invitations, users, events, identity providers).\n\n\
Every operation requires `Authorization: Bearer <admin token>`; a missing or wrong token is 401 \
with `WWW-Authenticate`. This document (`/api/admin/openapi.json`) and the docs page \
(`/api/admin/docs/`) are served without the token: they describe only the API's shape.\n\n\
Every failure is `{code, message, details?}` (`ErrorBody`). Besides the statuses listed per \
operation, any operation may answer 503 `store_unavailable` when the flow store is down.",
    ),
    paths(
        routes::list_flows,
        routes::get_flow,
        routes::create_flow,
        routes::update_flow,
        routes::delete_flow,
        routes::validate_flow,
        routes::compile_flow,
        routes::activate_flow,
        routes::deactivate_flow,
        routes::export_flow,
        routes::import_flow,
        routes::node_types,
        routes::execution_trace,
        routes::create_invitation,
        routes::list_invitations,
        routes::revoke_invitation,
        users::list_users,
        users::get_user,
        users::create_user,
        users::update_user,
        users::delete_user,
        users::unlock_user,
        users::send_recovery_mail,
        users::disable_user,
        users::enable_user,
        users::list_credentials,
        users::delete_credential,
        users::delete_passkey,
        users::delete_identity_link,
        users::import_users,
        users::export_users,
        events::list_events,
        identity_providers::list_providers,
        identity_providers::get_provider,
        identity_providers::create_provider,
        identity_providers::put_provider,
        identity_providers::delete_provider,
        webhooks::webhook_secret,
    ),
    components(responses(Unauthorized, FlowNotFound)),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "flows", description = "The Flow Management endpoints of seed 002."),
        (name = "extensions", description = "flowd's extensions beyond seed 002."),
        (name = "users", description = "The people who sign in: list, look up, create, delete, unlock, import, export, and their links to identity providers."),
        (name = "identity-providers", description = "The identity providers of social login (OpenID Connect, OAuth2) that `social_provider_select` nodes offer: from a preset (`google`, `github`, `microsoft`, `gitlab`, `apple`) or from scratch. Client secrets are write-only."),
        (name = "events", description = "The event log: sign-ins, registrations, recoveries, lockouts, credential and administrators' changes."),
        (name = "invitations", description = "Invitations for the `invited_registration` flow (WSO2's `INVITED_USER_REGISTRATION`): the invitee receives a one-time code and a link by mail."),
    ),
)]
struct ApiDoc;

/// An `ErrorBody` response with `description` and an example `{code, message}`.
fn error_response(
    description: &str,
    code: &str,
    message: &str,
) -> utoipa::openapi::response::ResponseBuilder {
    use utoipa::openapi::content::ContentBuilder;
    use utoipa::openapi::response::ResponseBuilder;
    use utoipa::openapi::schema::Ref;

    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .example(Some(serde_json::json!({"code": code, "message": message})))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
}

/// The 401 every operation answers without a valid token, written once and referenced as
/// `#/components/responses/Unauthorized`.
pub(crate) struct Unauthorized;

impl<'r> utoipa::ToResponse<'r> for Unauthorized {
    fn response() -> (
        &'r str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{ObjectBuilder, Type};

        let challenge = HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("`Bearer realm=\"flowd-admin\"`"))
            .build();
        let response = error_response(
            "Missing or wrong bearer token (`unauthorized`).",
            "unauthorized",
            "a valid admin bearer token is required",
        )
        .header("WWW-Authenticate", challenge)
        .build();
        ("Unauthorized", response.into())
    }
}

/// The 404 of every operation on one flow, referenced as
/// `#/components/responses/FlowNotFound`.
pub(crate) struct FlowNotFound;

impl<'r> utoipa::ToResponse<'r> for FlowNotFound {
    fn response() -> (
        &'r str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        let response = error_response(
            "No flow has this id (`flow_not_found`).",
            "flow_not_found",
            "no such flow",
        )
        .build();
        ("FlowNotFound", response.into())
    }
}

/// Adds the `bearer` security scheme the document's security requirement names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token: `FLOWD_ADMIN_TOKEN`, or the one printed on first start.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin API's OpenAPI 3 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/admin/openapi.json`: the document, rendered once.
pub(crate) async fn openapi_json() -> Result<HttpResponse, AdminError> {
    static DOCUMENT: OnceLock<Option<String>> = OnceLock::new();
    let document = DOCUMENT
        .get_or_init(|| serde_json::to_string_pretty(&openapi()).ok())
        .as_deref()
        .ok_or(AdminError::Internal)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(document))
}

/// `GET /api/admin/docs`: Swagger UI's assets are relative, so it must be viewed at `docs/`.
pub(crate) async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, DOCS_PATH))
        .finish()
}

/// Swagger UI for the document, at `docs/` inside the admin scope. Its files are embedded in
/// the binary (utoipa-swagger-ui's `vendored` feature): the page loads nothing from elsewhere.
pub(crate) fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").config(Config::new([OPENAPI_PATH]).display_operation_id(true))
}
