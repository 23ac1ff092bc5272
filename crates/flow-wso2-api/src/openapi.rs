//! The OpenAPI 3 document of the Flow Execution API as flowd speaks it (`docs/wso2-api.md`),
//! generated with utoipa from the wire types, served at `GET /api/server/v1/flow/openapi.json`.
//! Like the API it describes, it is open: no token, no cookies.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentType};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::dto::{ErrorBody, ExecuteResponse};

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/server/v1/flow/openapi.json";

/// The execute request (the handler reads it field by field; this type only documents it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct ExecuteRequestBody {
    /// Start: `AUTHENTICATION`, `REGISTRATION`, `PASSWORD_RECOVERY`,
    /// `INVITED_USER_REGISTRATION` (alias `ASK_PASSWORD`). Resent when continuing: ignored.
    flow_type: Option<String>,
    /// flowd's extension: start the active flow with this name.
    flow_name: Option<String>,
    /// Continue this execution (from an earlier answer's `flowId`).
    flow_id: Option<String>,
    /// Accepted and ignored (WSO2 clients send it).
    application_id: Option<String>,
    /// The button pressed; absent means the step's primary action.
    action_id: Option<String>,
    /// The inputs by `config.identifier`; every value a string; at most 64.
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    inputs: Option<std::collections::BTreeMap<String, String>>,
}

/// A JSON Web Key Set of the Ed25519 keys that sign `userAssertion` JWTs.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct JwkSetBody {
    /// The keys (`kty: OKP`, `crv: Ed25519`, `kid`, `use: sig`, `alg: EdDSA`, `x`).
    #[schema(value_type = Vec<Object>)]
    keys: Vec<serde_json::Value>,
}

#[utoipa::path(
    post,
    path = "/api/server/v1/flow/execute",
    operation_id = "execute_flow",
    tag = "flow-execution",
    request_body(content = ExecuteRequestBody, description = "Start with `flowType` (or `flowName`); continue with `flowId`, `actionId` and `inputs`."),
    responses(
        (status = 200, description = "The next step (`INCOMPLETE`) or the end (`COMPLETE`).", body = ExecuteResponse,
            headers(("Cache-Control" = String, description = "no-store"))),
        (status = 400, description = "A malformed or refused request (`FE-60001`, `FE-60006`..`FE-60011`, `FE-60103`..`FE-60105`).", body = ErrorBody),
        (status = 409, description = "A concurrent submission won (`FE-60014`).", body = ErrorBody),
        (status = 413, description = "The body is over the limit (`FE-60013`).", body = ErrorBody),
        (status = 429, description = "The attempt limit was reached; the execution is over (`FE-60015`).", body = ErrorBody),
        (status = 503, description = "The store is unavailable (`FE-65024`).", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn execute() {}

#[utoipa::path(
    post,
    path = "/flow/execute",
    operation_id = "execute_flow_short",
    tag = "flow-execution",
    request_body(content = ExecuteRequestBody, description = "The same as `/api/server/v1/flow/execute`."),
    responses(
        (status = 200, description = "The next step (`INCOMPLETE`) or the end (`COMPLETE`).", body = ExecuteResponse),
        (status = 400, description = "A malformed or refused request.", body = ErrorBody),
        (status = 409, description = "A concurrent submission won (`FE-60014`).", body = ErrorBody),
        (status = 413, description = "The body is over the limit (`FE-60013`).", body = ErrorBody),
        (status = 429, description = "The attempt limit was reached (`FE-60015`).", body = ErrorBody),
        (status = 503, description = "The store is unavailable (`FE-65024`).", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn execute_short() {}

#[utoipa::path(
    get,
    path = "/oauth2/jwks",
    operation_id = "jwks",
    tag = "keys",
    responses(
        (status = 200, description = "The public keys of `userAssertion` JWTs.", body = JwkSetBody),
        (status = 503, description = "The key store is unavailable (`FE-65024`).", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn jwks() {}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "jwks_well_known",
    tag = "keys",
    responses(
        (status = 200, description = "The same key set as `/oauth2/jwks`.", body = JwkSetBody),
        (status = 503, description = "The key store is unavailable (`FE-65024`).", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn jwks_well_known() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flowd Flow Execution API (WSO2 style)",
        description = "WSO2 Identity Server's Flow Execution API as flowd speaks it \
(`docs/wso2-api.md`): stateless, `flowId` in every call, no cookies, no token. Where WSO2's \
documentation and its server spell a field differently, both are sent (`data.url` and \
`data.redirectURL`, `data.webAuthn` and `data.webAuthnData`, `data.userAssertion` and \
`data.additionalData.userAssertion`). Every failure is `{code, message, description, traceId, \
flowType?}` (`ErrorBody`).",
    ),
    paths(execute, execute_short, jwks, jwks_well_known),
    tags(
        (name = "flow-execution", description = "Run a flow one step per call."),
        (name = "keys", description = "Keys that verify `userAssertion` JWTs."),
    ),
)]
struct ApiDoc;

/// The OpenAPI document, built once.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// `GET /api/server/v1/flow/openapi.json`.
pub(crate) async fn openapi_json() -> HttpResponse {
    match openapi().to_json() {
        Ok(text) => HttpResponse::Ok()
            .insert_header(ContentType::json())
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(text),
        Err(_) => crate::Wso2Error::Internal.to_response(None),
    }
}
