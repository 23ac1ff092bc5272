//! [`JsonWebhookSms`]: a text message as a JSON `POST` through the engine's
//! [`WebhookClient`] port (in the server: `flow-webhooks`, which signs it per Standard Webhooks
//! and checks where it may go).

use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_engine::{
    MAX_WEBHOOK_TIMEOUT_MS, OutgoingMessage, PortError, SmsSender, WebhookClient, WebhookError,
    WebhookRequest,
};
use serde_json::json;

use crate::error::{SmsConfigError, SmsError, checked_url};
use crate::{Renderer, e164, random_hex, render};

/// The longest text sent, in characters (a gateway splits it into parts as it must).
const MAX_TEXT_CHARS: usize = 1600;

/// The engine's [`SmsSender`] as a signed JSON webhook: every message is one `POST` of
///
/// ```json
/// {"to": "+15005550006", "text": "123456 is your verification code.",
///  "template": "login_code", "locale": "de"}
/// ```
///
/// (`locale` is `null` when unknown; the code is in the text, not beside it). Any 2xx answer
/// is success; a 4xx (but 408 and 429) is [`SmsError::Rejected`]; anything else, a refused
/// address or no answer is [`SmsError::Unavailable`] or [`SmsError::Timeout`]. The call is not
/// retried (a `POST` may have been delivered).
pub struct JsonWebhookSms {
    url: String,
    host: String,
    client: Arc<dyn WebhookClient>,
    secret: Option<String>,
    timeout_ms: u32,
    renderer: Renderer,
}

impl std::fmt::Debug for JsonWebhookSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonWebhookSms")
            .field("host", &self.host)
            .field("secret", &self.secret.as_ref().map(|_| "<set>"))
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

impl JsonWebhookSms {
    /// A sender posting to `url` (`https://`, or `http://` to a loopback host only) through
    /// `client`, signed with `secret` (`whsec_…`; `None`: the client's own secrets), with texts
    /// made by `renderer`. The timeout is [`MAX_WEBHOOK_TIMEOUT_MS`] until
    /// [`Self::with_timeout`] changes it.
    pub fn new(
        url: impl Into<String>,
        client: Arc<dyn WebhookClient>,
        secret: Option<String>,
        renderer: Renderer,
    ) -> Result<Self, SmsConfigError> {
        let url = url.into();
        let parsed = checked_url(&url, "url")?;
        Ok(Self {
            host: parsed.host_str().unwrap_or_default().to_owned(),
            url: parsed.to_string(),
            client,
            secret: secret.filter(|secret| !secret.trim().is_empty()),
            timeout_ms: MAX_WEBHOOK_TIMEOUT_MS,
            renderer,
        })
    }

    /// The same sender waiting at most `timeout` (1 ms to [`MAX_WEBHOOK_TIMEOUT_MS`]) for an
    /// answer.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        let millis = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        self.timeout_ms = millis.clamp(1, MAX_WEBHOOK_TIMEOUT_MS);
        self
    }
}

impl SmsSender for JsonWebhookSms {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let to = e164(&message.to).ok_or(SmsError::InvalidNumber)?;
        let text = render(&self.renderer, message, MAX_TEXT_CHARS)?;
        let request = WebhookRequest {
            url: self.url.clone(),
            method: "POST".to_owned(),
            headers: Vec::new(),
            body: Some(json!({
                "to": to,
                "text": text,
                "template": message.template,
                "locale": message.locale,
            })),
            timeout_ms: self.timeout_ms,
            secret: self.secret.clone(),
            message_id: format!("msg_{}", random_hex(16)),
            retries: 0,
        };
        let started = Instant::now();
        let result = self.client.call(&request);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let error = match result {
            Ok(response) if (200..300).contains(&response.status) => {
                tracing::debug!(
                    provider = "webhook", host = %self.host, status = response.status,
                    message_id = %request.message_id, duration_ms, "text message accepted"
                );
                return Ok(());
            }
            Ok(response) => {
                let summary = format!("the gateway answered status {}", response.status);
                match response.status {
                    408 | 429 => SmsError::Unavailable(summary),
                    400..=499 => SmsError::Rejected(summary),
                    _ => SmsError::Unavailable(summary),
                }
            }
            Err(WebhookError::Timeout) => SmsError::Timeout,
            Err(error @ WebhookError::Refused(_)) => SmsError::Unavailable(error.to_string()),
            Err(error @ (WebhookError::TooLarge | WebhookError::Failed(_))) => {
                SmsError::Unavailable(error.to_string())
            }
        };
        tracing::warn!(
            provider = "webhook", host = %self.host, code = error.code(),
            message_id = %request.message_id, duration_ms, error = %error,
            "text message not sent"
        );
        Err(error.into())
    }
}
