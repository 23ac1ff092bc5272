#![doc = include_str!("../README.md")]

mod auth;
mod body;
pub mod dto;
mod error;
mod events;
mod identity_providers;
mod node_types;
mod openapi;
mod routes;
mod schemas;
mod users;
mod webhooks;

use std::sync::Arc;

use actix_web::web;
use flow_engine::{Accounts, Engine, FlowCatalog, InvitationService};

pub use auth::{Admin, AdminToken};
pub use error::AdminError;
pub use identity_providers::provider_from_settings;
pub use openapi::{DOCS_PATH, OPENAPI_PATH, openapi};
pub use routes::{DEFAULT_LIMIT, MAX_LIMIT};
pub use users::MAX_IMPORT_BYTES;

/// The largest request body accepted by default (1 MiB): room for a flow of thousands of nodes.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// What the admin handlers need: the catalog, the engine (for execution traces), the
/// invitation and accounts services and the token.
pub struct AdminState {
    /// The flow catalog all flow calls go to.
    pub catalog: Arc<FlowCatalog>,
    /// The engine, for `GET /api/admin/executions/:id/trace` and the identity providers
    /// (`/api/admin/identity-providers`, and the validation warnings on flows that name
    /// providers); `None` answers 404 there and checks no provider.
    pub engine: Option<Arc<Engine>>,
    /// The invitation service, for `/api/admin/invitations`; `None` answers 404 there.
    pub invitations: Option<Arc<InvitationService>>,
    /// User administration, for `/api/admin/users`; `None` answers 404 there.
    pub accounts: Option<Arc<Accounts>>,
    /// The admin bearer token (its digest).
    pub token: AdminToken,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Origins whose pages may send changing requests besides flowd's own: a browser request
    /// from any other origin gets 403 `cross_site_request` before the token is looked at.
    pub origins: flow_http::OriginPolicy,
    /// The server's public base URL: recovery mails link to its hosted pages, and identity
    /// providers send the person back to its callback.
    pub public_url: String,
    /// The webhook signing secret the server generated (shown at
    /// `/api/admin/webhooks/secret`); `None` when the operator configured one.
    pub webhook_secret: Option<String>,
}

/// Mounts `/api/admin/...` on an actix app or scope: the API, its OpenAPI document at
/// `/api/admin/openapi.json` and Swagger UI at `/api/admin/docs/` (those two without auth).
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AdminState>) {
    use routes as r;
    cfg.service(
        web::scope("/api/admin")
            .app_data(state)
            .route("/webhooks/secret", web::get().to(webhooks::webhook_secret))
            .route("/flows", web::get().to(r::list_flows))
            .route("/flows", web::post().to(r::create_flow))
            .route("/flows/import", web::post().to(r::import_flow))
            .route("/flows/{id}", web::get().to(r::get_flow))
            .route("/flows/{id}", web::put().to(r::update_flow))
            .route("/flows/{id}", web::delete().to(r::delete_flow))
            .route("/flows/{id}/validate", web::post().to(r::validate_flow))
            .route("/flows/{id}/compile", web::post().to(r::compile_flow))
            .route("/flows/{id}/activate", web::post().to(r::activate_flow))
            .route("/flows/{id}/deactivate", web::post().to(r::deactivate_flow))
            .route("/flows/{id}/export", web::get().to(r::export_flow))
            .route("/node-types", web::get().to(r::node_types))
            .route("/executions/{id}/trace", web::get().to(r::execution_trace))
            .route("/invitations", web::get().to(r::list_invitations))
            .route("/invitations", web::post().to(r::create_invitation))
            .route("/invitations/{id}", web::delete().to(r::revoke_invitation))
            .route("/users", web::get().to(users::list_users))
            .route("/users", web::post().to(users::create_user))
            .route("/events", web::get().to(events::list_events))
            .route(
                "/identity-providers",
                web::get().to(identity_providers::list_providers),
            )
            .route(
                "/identity-providers",
                web::post().to(identity_providers::create_provider),
            )
            .route(
                "/identity-providers/{id}",
                web::get().to(identity_providers::get_provider),
            )
            .route(
                "/identity-providers/{id}",
                web::put().to(identity_providers::put_provider),
            )
            .route(
                "/identity-providers/{id}",
                web::delete().to(identity_providers::delete_provider),
            )
            .route("/users/import", web::post().to(users::import_users))
            .route("/users/export", web::get().to(users::export_users))
            .route("/users/{id}", web::get().to(users::get_user))
            .route("/users/{id}", web::patch().to(users::update_user))
            .route("/users/{id}", web::delete().to(users::delete_user))
            .route("/users/{id}/unlock", web::post().to(users::unlock_user))
            .route(
                "/users/{id}/recovery",
                web::post().to(users::send_recovery_mail),
            )
            .route("/users/{id}/disable", web::post().to(users::disable_user))
            .route("/users/{id}/enable", web::post().to(users::enable_user))
            .route(
                "/users/{id}/credentials",
                web::get().to(users::list_credentials),
            )
            .route(
                "/users/{id}/credentials/passkey/{credential_id}",
                web::delete().to(users::delete_passkey),
            )
            .route(
                "/users/{id}/credentials/{type}",
                web::delete().to(users::delete_credential),
            )
            .route(
                "/users/{id}/identity-links/{provider}",
                web::delete().to(users::delete_identity_link),
            )
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .route("/docs", web::get().to(openapi::docs_redirect))
            .service(openapi::swagger_ui())
            .default_service(web::to(r::no_route)),
    );
}
