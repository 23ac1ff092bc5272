//! `GET /api/admin/webhooks/secret`: the secret webhook calls are signed with, when the server
//! generated it (no `FLOWD_WEBHOOK_SECRET`), so that the operator can give it to receivers.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{Admin, AdminState};

/// The webhook signing secret, as far as the admin API may show it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookSecretView {
    /// `generated` (by this server, shown here) or `configured` (`FLOWD_WEBHOOK_SECRET`, not
    /// shown).
    #[schema(example = "generated")]
    source: &'static str,
    /// The `whsec_…` secret when it was generated; `null` when configured.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: Option<String>,
}

/// The secret webhook calls are signed with (Standard Webhooks), unless the operator
/// configured it (then only where it comes from).
#[utoipa::path(
    get,
    path = "/api/admin/webhooks/secret",
    operation_id = "get_webhook_secret",
    tag = "extensions",
    responses(
        (status = 200, description = "The secret, or where it comes from.", body = WebhookSecretView),
        (status = 401, response = crate::openapi::Unauthorized),
    )
)]
pub(crate) async fn webhook_secret(_: Admin, state: web::Data<AdminState>) -> HttpResponse {
    let view = match &state.webhook_secret {
        Some(secret) => WebhookSecretView {
            source: "generated",
            secret: Some(secret.clone()),
        },
        None => WebhookSecretView {
            source: "configured",
            secret: None,
        },
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view)
}
