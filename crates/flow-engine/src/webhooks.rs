//! Webhooks: the port through which a `webhook` step asks the operator's own systems mid-flow
//! (is this address allowed? enrich the profile, a risk score). The engine builds the request
//! (its JSON body from the execution, the Standard Webhooks message id) and reads the answer;
//! an adapter signs it, checks where it may go, sends it and caps the answer.

use serde_json::Value;

/// The longest answer body a webhook step reads (bigger answers are a failure).
pub const MAX_WEBHOOK_RESPONSE_BYTES: usize = 256 * 1024;

/// The longest a webhook step waits for one answer, in milliseconds: the model's limit on a
/// node's `timeout_ms`, one constant for both.
pub use flow_model::MAX_WEBHOOK_TIMEOUT_MS;

/// The trace detail of a webhook step on an engine without a [`WebhookClient`]: the step
/// takes its `false` edge.
pub const WEBHOOK_UNAVAILABLE: &str = "webhook_unavailable";

/// The trace detail of a webhook step whose body template could not be rendered (followed
/// by the template path and why): no call is made, the step takes its `false` edge.
pub const WEBHOOK_BODY_FAILED: &str = "webhook_body_failed";

/// The trace detail of a 2xx answer that is not JSON, or empty where a mapping needs it: the
/// step takes its `false` edge.
pub const WEBHOOK_INVALID_RESPONSE: &str = "webhook_invalid_response";

/// The trace detail of a 2xx answer whose mapping could not be evaluated (followed by the
/// attribute's path): no attribute is set, the step takes its `false` edge.
pub const WEBHOOK_MAPPING_FAILED: &str = "webhook_mapping_failed";

/// One call of a webhook step.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The `http(s)` URL.
    pub url: String,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Extra request headers (never logged: they may carry credentials).
    pub headers: Vec<(String, String)>,
    /// The JSON body (`None` for `GET` and `DELETE`).
    pub body: Option<Value>,
    /// How long to wait for the answer, at most [`MAX_WEBHOOK_TIMEOUT_MS`].
    pub timeout_ms: u32,
    /// The signing secret (`whsec_…`); `None` lets the adapter use the server's.
    pub secret: Option<String>,
    /// The Standard Webhooks message id (`webhook-id`): the same for the retries of one call,
    /// so the receiver can drop duplicates.
    pub message_id: String,
    /// How many times a failed call may be retried (only idempotent methods are).
    pub retries: u8,
}

impl std::fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("message_id", &self.message_id)
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

/// The answer to a webhook call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body, at most [`MAX_WEBHOOK_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

/// Why a webhook call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The address is not allowed (loopback, private, link-local or metadata, after DNS
    /// resolution and redirects) unless the server's allow list permits it.
    #[error("the address is not allowed: {0}")]
    Refused(String),
    /// No answer in time.
    #[error("no answer within the timeout")]
    Timeout,
    /// The answer was larger than [`MAX_WEBHOOK_RESPONSE_BYTES`].
    #[error("the answer is too large")]
    TooLarge,
    /// The call failed otherwise (connection refused, TLS, DNS).
    #[error("the call failed: {0}")]
    Failed(String),
}

impl WebhookError {
    /// The stable code of the failure, for the trace.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(_) => "webhook_address_refused",
            Self::Timeout => "webhook_timeout",
            Self::TooLarge => "webhook_response_too_large",
            Self::Failed(_) => "webhook_failed",
        }
    }
}

/// Sends webhook calls (an adapter: signing, egress checks, HTTP).
pub trait WebhookClient: Send + Sync {
    /// Sends the call, with its retries; the answer of whatever status, or why there is none.
    fn call(&self, request: &WebhookRequest) -> Result<WebhookResponse, WebhookError>;
}
