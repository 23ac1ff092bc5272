//! flow-sms: the adapters behind the engine's [`SmsSender`](flow_engine::SmsSender) port.
//!
//! - [`TwilioSender`]: Twilio's Messages REST API (`POST {base}/2010-04-01/Accounts/{sid}/
//!   Messages.json`, form fields, HTTP basic auth) over a blocking reqwest client with rustls
//!   and ring; any provider speaking the same API works through its base URL.
//! - [`JsonWebhookSms`]: a JSON `POST` of `{to, text, template, locale}` through the engine's
//!   [`WebhookClient`](flow_engine::WebhookClient) port, so the call is signed per Standard
//!   Webhooks and egress-checked by `flow-webhooks`.
//! - [`FileSmsOutbox`]: one `.sms.json` file per message in a directory (development).
//!
//! Each sender gets the message text from a [`Renderer`] given at construction, refuses a
//! recipient that is not an E.164 number ([`e164`]) without sending anything, and reports
//! failures as [`SmsError`]s (stable codes) turned into [`PortError`]s. Nothing here logs a
//! phone number, a text, a code or a credential.

mod error;
mod outbox;
mod phone;
mod twilio;
mod webhook;

use std::sync::Arc;

use flow_engine::{OutgoingMessage, PortError};

pub use error::{
    SMS_EMPTY_TEXT, SMS_INVALID_NUMBER, SMS_REJECTED, SMS_TEXT_TOO_LONG, SMS_TIMEOUT,
    SMS_UNAVAILABLE, SmsConfigError, SmsError, code_of,
};
pub use outbox::{FileSmsOutbox, OutboxEntry};
pub use phone::e164;
pub use twilio::{
    DEFAULT_TIMEOUT, MAX_TEXT_CHARS, MAX_TIMEOUT, TWILIO_BASE_URL, TwilioSender, TwilioSettings,
};
pub use webhook::JsonWebhookSms;

/// Makes the text of a message from its template, code, link and locale. The senders call it
/// once per message and send exactly what it returns; an `Err` is passed on unchanged and
/// nothing is sent.
pub type Renderer = Arc<dyn Fn(&OutgoingMessage) -> Result<String, PortError> + Send + Sync>;

/// A stand-in [`Renderer`] until templates are configured: the code first (phones show the
/// start of a text in the notification and offer codes for autofill), then the link.
///
/// `123456 is your verification code.`; with a link too: `Your invitation code is 123456: <link>`;
/// with a link alone, the link; with neither, the template name in words.
pub fn plain_text_renderer() -> Renderer {
    Arc::new(|message: &OutgoingMessage| {
        let text = match (&message.code, &message.link) {
            (Some(code), Some(link)) => format!("Your invitation code is {code}: {link}"),
            (Some(code), None) => format!("{code} is your verification code."),
            (None, Some(link)) => link.clone(),
            (None, None) => {
                let words = message.template.replace(['_', '-'], " ");
                let words = words.trim();
                if words.is_empty() {
                    "Message".to_owned()
                } else {
                    words.to_owned()
                }
            }
        };
        Ok(text)
    })
}

/// Checks a provider URL as the senders do (for a configuration check before any sender is
/// made): `https://`, or `http://` to a loopback host only; with a host and without
/// credentials or fragment. The error's setting is `url`.
pub fn check_url(url: &str) -> Result<(), SmsConfigError> {
    error::checked_url(url, "url").map(drop)
}

/// The text `renderer` makes for `message`, refused when empty or longer than `max_chars`.
fn render(
    renderer: &Renderer,
    message: &OutgoingMessage,
    max_chars: usize,
) -> Result<String, PortError> {
    let text = renderer(message)?;
    if text.trim().is_empty() {
        return Err(SmsError::EmptyText.into());
    }
    if text.chars().count() > max_chars {
        return Err(SmsError::TextTooLong { max: max_chars }.into());
    }
    Ok(text)
}

/// `n` random bytes as lowercase hex (file names, message ids).
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(bytes.as_mut_slice());
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(code: Option<&str>, link: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            tenant: flow_engine::TenantId::default(),
            template: "login_code".to_owned(),
            to: "+15005550006".to_owned(),
            code: code.map(str::to_owned),
            link: link.map(str::to_owned),
            execution_id: None,
            locale: None,
        }
    }

    #[test]
    fn the_plain_renderer_puts_the_code_first() {
        let render = plain_text_renderer();
        assert_eq!(
            render(&message(Some("123456"), None)).unwrap(),
            "123456 is your verification code."
        );
        assert_eq!(
            render(&message(None, Some("https://x.example/i"))).unwrap(),
            "https://x.example/i"
        );
        assert_eq!(render(&message(None, None)).unwrap(), "login code");
    }

    #[test]
    fn an_empty_or_long_text_is_refused() {
        let empty: Renderer = Arc::new(|_| Ok("  ".to_owned()));
        let error = render(&empty, &message(None, None), 10).unwrap_err();
        assert_eq!(code_of(&error), Some(SMS_EMPTY_TEXT));
        let long: Renderer = Arc::new(|_| Ok("é".repeat(11)));
        let error = render(&long, &message(None, None), 10).unwrap_err();
        assert_eq!(code_of(&error), Some(SMS_TEXT_TOO_LONG));
        let fits: Renderer = Arc::new(|_| Ok("é".repeat(10)));
        assert!(render(&fits, &message(None, None), 10).is_ok());
    }

    #[test]
    fn random_hex_has_the_length_asked_for() {
        let a = random_hex(8);
        assert_eq!(a.len(), 16);
        assert_ne!(a, random_hex(8));
    }
}
