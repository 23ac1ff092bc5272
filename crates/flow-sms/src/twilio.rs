//! [`TwilioSender`]: Twilio's Messages API, `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
//! with the form fields `To`, `From` (or `MessagingServiceSid`) and `Body` and HTTP basic auth,
//! over a blocking reqwest client (rustls with ring) made on first use.

use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use flow_engine::{OutgoingMessage, PortError, SmsSender};
use serde_json::Value;

use crate::error::{SmsConfigError, SmsError, checked_url};
use crate::{Renderer, e164, render};

/// Twilio's API base URL, the default of [`TwilioSettings::base_url`].
pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";

/// How long one call may take by default (connecting, sending, the answer's head).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest [`TwilioSettings::timeout`] allowed.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest text sent, in characters (Twilio refuses a `Body` past 1600).
pub const MAX_TEXT_CHARS: usize = 1600;

/// The most of an answer read (Twilio's answers are small JSON objects).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// The longest provider message quoted in an error, in characters.
const MAX_QUOTED_CHARS: usize = 160;

/// How a [`TwilioSender`] reaches its account. [`Debug`] never prints the auth token.
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioSettings {
    /// The API's base URL: [`TWILIO_BASE_URL`], or that of a provider speaking the same API.
    /// `https://`, or `http://` to a loopback host only.
    pub base_url: String,
    /// The account SID (`AC…`): the basic auth user and part of the path.
    pub account_sid: String,
    /// The auth token (or an API key's secret): the basic auth password.
    pub auth_token: String,
    /// The sender: a phone number in E.164 (`+15005550006`), an alphanumeric sender id, or a
    /// Messaging Service SID (`MG` and 32 hex digits, sent as `MessagingServiceSid` instead of
    /// `From`).
    pub from: String,
    /// How long one call may take, at most [`MAX_TIMEOUT`].
    pub timeout: Duration,
}

impl TwilioSettings {
    /// Settings for Twilio itself ([`TWILIO_BASE_URL`], [`DEFAULT_TIMEOUT`]).
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        from: impl Into<String>,
    ) -> Self {
        Self {
            base_url: TWILIO_BASE_URL.to_owned(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            from: from.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl std::fmt::Debug for TwilioSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSettings")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<set>")
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Who a message is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sender {
    /// `From`: a number or an alphanumeric sender id.
    From(String),
    /// `MessagingServiceSid`.
    Service(String),
}

/// The engine's [`SmsSender`] over Twilio's Messages API.
///
/// A 2xx answer is success; a 4xx is [`SmsError::Rejected`] with Twilio's error code and a
/// summary (a 408 or 429 is [`SmsError::Unavailable`]); a 3xx, a 5xx or a transport failure is
/// [`SmsError::Unavailable`], no answer in time [`SmsError::Timeout`]. Redirects are not
/// followed.
pub struct TwilioSender {
    /// `{base}/2010-04-01/Accounts/{sid}/Messages.json`.
    endpoint: String,
    /// The endpoint's host, for logs.
    host: String,
    account_sid: String,
    auth_token: String,
    sender: Sender,
    timeout: Duration,
    renderer: Renderer,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl std::fmt::Debug for TwilioSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSender")
            .field("host", &self.host)
            .field("sender", &self.sender)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TwilioSender {
    /// A sender with these settings and texts made by `renderer`, or which setting is wrong.
    /// The HTTP client is made on the first message (a blocking client must not be made on an
    /// async executor).
    pub fn new(settings: TwilioSettings, renderer: Renderer) -> Result<Self, SmsConfigError> {
        let base = checked_url(&settings.base_url, "base_url")?;
        if base.query().is_some() {
            return Err(SmsConfigError::new(
                "base_url",
                "the URL must not have a ?query",
            ));
        }
        let sid = settings.account_sid.trim();
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SmsConfigError::new(
                "account_sid",
                "must be the account SID (letters and digits, AC…)",
            ));
        }
        let token = settings.auth_token.trim();
        if token.is_empty() || token.chars().any(char::is_control) {
            return Err(SmsConfigError::new(
                "auth_token",
                "must be set (without control characters)",
            ));
        }
        let from = settings.from.trim();
        if from.is_empty() || from.chars().any(char::is_control) {
            return Err(SmsConfigError::new(
                "from",
                "must be a phone number (+15005550006), a sender id or a Messaging Service SID (MG…)",
            ));
        }
        let service = from
            .strip_prefix("MG")
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()));
        let sender = if service {
            Sender::Service(from.to_owned())
        } else if from.starts_with('+') {
            Sender::From(e164(from).ok_or_else(|| {
                SmsConfigError::new("from", "a number must be E.164: + and 8 to 15 digits")
            })?)
        } else {
            Sender::From(from.to_owned())
        };
        if settings.timeout.is_zero() || settings.timeout > MAX_TIMEOUT {
            return Err(SmsConfigError::new(
                "timeout",
                format!(
                    "must be more than 0 and at most {} s",
                    MAX_TIMEOUT.as_secs()
                ),
            ));
        }
        let endpoint = format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json",
            base.as_str().trim_end_matches('/')
        );
        Ok(Self {
            endpoint,
            host: base.host_str().unwrap_or_default().to_owned(),
            account_sid: sid.to_owned(),
            auth_token: token.to_owned(),
            sender,
            timeout: settings.timeout,
            renderer,
            client: OnceLock::new(),
        })
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, SmsError> {
        self.client
            .get_or_init(|| {
                // An error means a provider is installed already, which is all that is needed.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::blocking::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .referer(false)
                    .user_agent(concat!("flowd/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|error| SmsError::Unavailable(format!("no HTTP client: {error}")))
    }

    fn deliver(&self, to: &str, text: &str) -> Result<(), SmsError> {
        let client = self.client()?;
        let (field, from) = match &self.sender {
            Sender::From(from) => ("From", from.as_str()),
            Sender::Service(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let started = Instant::now();
        let response = client
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("To", to), (field, from), ("Body", text)])
            .send()
            .map_err(|error| from_reqwest(&error))?;
        let status = response.status().as_u16();
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // The answer is read either way; on a 2xx a failure to read it changes nothing: the
        // message was accepted, and failing now would have it sent twice.
        let body = read_capped(response);
        if (200..300).contains(&status) {
            let sid = body
                .as_deref()
                .and_then(|body| serde_json::from_slice::<Value>(body).ok())
                .and_then(|answer| answer.get("sid").and_then(Value::as_str).map(str::to_owned))
                .filter(|sid| sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_alphanumeric()));
            tracing::debug!(
                provider = "twilio", host = %self.host, status, sid, duration_ms,
                "text message accepted"
            );
            return Ok(());
        }
        let error = answer_error(status, body.as_deref().unwrap_or_default(), to, text);
        tracing::warn!(
            provider = "twilio", host = %self.host, status, code = error.code(), duration_ms,
            error = %error, "text message not sent"
        );
        Err(error)
    }
}

impl SmsSender for TwilioSender {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let to = e164(&message.to).ok_or(SmsError::InvalidNumber)?;
        let text = render(&self.renderer, message, MAX_TEXT_CHARS)?;
        self.deliver(&to, &text).map_err(PortError::from)
    }
}

/// The error of a non-2xx answer: a 4xx (but 408 and 429) is a refusal, with Twilio's `code`
/// and a summary that quotes neither the number nor the text.
fn answer_error(status: u16, body: &[u8], to: &str, text: &str) -> SmsError {
    let answer: Option<Value> = serde_json::from_slice(body).ok();
    let code = answer.as_ref().and_then(|answer| match answer.get("code") {
        Some(Value::Number(code)) => code.as_u64(),
        Some(Value::String(code)) => code.trim().parse().ok(),
        _ => None,
    });
    let message = answer
        .as_ref()
        .and_then(|answer| answer.get("message"))
        .and_then(Value::as_str);
    let summary = match (code, message) {
        (Some(code), _) if known(code).is_some() => format!(
            "Twilio error {code} ({}), status {status}",
            known(code).unwrap_or_default()
        ),
        (Some(code), Some(message)) => {
            format!(
                "Twilio error {code} ({}), status {status}",
                redact(message, to, text)
            )
        }
        (Some(code), None) => format!("Twilio error {code}, status {status}"),
        (None, _) => format!("status {status}"),
    };
    match status {
        408 | 429 => SmsError::Unavailable(summary),
        400..=499 => SmsError::Rejected(summary),
        300..=399 => SmsError::Unavailable(format!("an unexpected redirect: {summary}")),
        _ => SmsError::Unavailable(summary),
    }
}

/// What Twilio's common error codes mean (from its error dictionary), in words that hold no
/// personal data.
fn known(code: u64) -> Option<&'static str> {
    Some(match code {
        20003 => "authentication failed: check the account SID and auth token",
        20404 => "no such resource: check the account SID",
        20429 => "too many requests",
        21211 => "the 'To' number is not a valid phone number",
        21212 => "the 'From' number is not valid",
        21408 => "sending to this region is not enabled",
        21602 => "the message body is required",
        21606 => "the 'From' number cannot send to this destination",
        21608 => "a trial account can only send to verified numbers",
        21610 => "the recipient has unsubscribed (replied STOP)",
        21612 => "the 'To' number cannot be reached from the 'From' number",
        21614 => "the 'To' number is not a mobile number",
        21617 => "the message body is too long",
        21659 => "the 'From' is not a number or sender of this account",
        _ => return None,
    })
}

/// A provider's message without the recipient, the text or anything that looks like a phone
/// number or code (a run of at least 4 digits, with its separators), cut to
/// [`MAX_QUOTED_CHARS`] and free of control characters.
fn redact(message: &str, to: &str, text: &str) -> String {
    let mut message = message.to_owned();
    if !text.trim().is_empty() {
        message = message.replace(text, "<text>");
    }
    if !to.is_empty() {
        message = message.replace(to, "<number>");
    }
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '+' {
            let start = i;
            let mut end = i;
            let mut digits = 0;
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || matches!(chars[j], '+' | ' ' | '-' | '(' | ')' | '.'))
            {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    end = j + 1;
                }
                j += 1;
            }
            if digits >= 4 {
                out.push_str("<number>");
                i = end;
            } else {
                out.extend(&chars[start..end.max(start + 1)]);
                i = end.max(start + 1);
            }
            continue;
        }
        out.push(if c.is_control() { ' ' } else { c });
        i += 1;
    }
    let cut: String = out.chars().take(MAX_QUOTED_CHARS).collect();
    if cut.len() < out.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// The answer's body, at most [`MAX_ANSWER_BYTES`], or `None` if it cannot be read.
fn read_capped(response: reqwest::blocking::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    response
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut body)
        .ok()?;
    Some(body)
}

/// A transport failure: a timeout, or why it failed without the URL (its path holds the
/// account SID).
fn from_reqwest(error: &reqwest::Error) -> SmsError {
    if error.is_timeout() {
        return SmsError::Timeout;
    }
    if error.is_connect() {
        return SmsError::Unavailable("cannot connect".to_owned());
    }
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut end = text.len().min(200);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    SmsError::Unavailable(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn renderer() -> Renderer {
        Arc::new(|_| Ok("hi".to_owned()))
    }

    fn settings() -> TwilioSettings {
        TwilioSettings::new("AC123", "token", "+15005550006")
    }

    #[test]
    fn the_endpoint_is_twilios_path_under_the_base() {
        let sender = TwilioSender::new(settings(), renderer()).unwrap();
        assert_eq!(
            sender.endpoint,
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        let with_prefix = TwilioSender::new(
            TwilioSettings {
                base_url: "http://127.0.0.1:8080/twilio/".to_owned(),
                ..settings()
            },
            renderer(),
        )
        .unwrap();
        assert_eq!(
            with_prefix.endpoint,
            "http://127.0.0.1:8080/twilio/2010-04-01/Accounts/AC123/Messages.json"
        );
    }

    #[test]
    fn a_messaging_service_is_sent_as_such() {
        let sender = TwilioSender::new(
            TwilioSettings {
                from: "MG0123456789abcdef0123456789abcdef".to_owned(),
                ..settings()
            },
            renderer(),
        )
        .unwrap();
        assert_eq!(
            sender.sender,
            Sender::Service("MG0123456789abcdef0123456789abcdef".to_owned())
        );
        let brand = TwilioSender::new(
            TwilioSettings {
                from: "MGMRESORTS".to_owned(),
                ..settings()
            },
            renderer(),
        )
        .unwrap();
        assert_eq!(brand.sender, Sender::From("MGMRESORTS".to_owned()));
        let alphanumeric = TwilioSender::new(
            TwilioSettings {
                from: "flowd".to_owned(),
                ..settings()
            },
            renderer(),
        )
        .unwrap();
        assert_eq!(alphanumeric.sender, Sender::From("flowd".to_owned()));
    }

    #[test]
    fn bad_settings_name_the_setting_and_not_the_token() {
        let cases = [
            (
                TwilioSettings {
                    base_url: "http://api.twilio.com".to_owned(),
                    ..settings()
                },
                "base_url",
            ),
            (
                TwilioSettings {
                    account_sid: "AC1/../x".to_owned(),
                    ..settings()
                },
                "account_sid",
            ),
            (
                TwilioSettings {
                    auth_token: " ".to_owned(),
                    ..settings()
                },
                "auth_token",
            ),
            (
                TwilioSettings {
                    from: "+12".to_owned(),
                    ..settings()
                },
                "from",
            ),
            (
                TwilioSettings {
                    timeout: Duration::ZERO,
                    ..settings()
                },
                "timeout",
            ),
        ];
        for (settings, setting) in cases {
            let error = TwilioSender::new(settings, renderer()).unwrap_err();
            assert_eq!(error.setting, setting);
            assert!(!error.to_string().contains("token\""), "{error}");
        }
        assert!(!format!("{:?}", settings()).contains("token\""));
    }

    #[test]
    fn a_refusal_is_summarized_without_the_number_or_text() {
        let body = br#"{"code": 21211, "message": "The 'To' number +15005550001 is not a valid phone number.", "status": 400}"#;
        let error = answer_error(400, body, "+15005550001", "123456 is your code");
        assert_eq!(error.code(), "sms_rejected");
        let text = error.to_string();
        assert!(text.contains("21211"), "{text}");
        assert!(!text.contains("5550001"), "{text}");

        let unknown =
            br#"{"code": 29999, "message": "Number +1 (500) 555-0001 said 123456 is your code."}"#;
        let error = answer_error(400, unknown, "+15005550001", "123456 is your code");
        let text = error.to_string();
        assert!(text.contains("29999"), "{text}");
        assert!(!text.contains("555"), "{text}");
        assert!(!text.contains("123456"), "{text}");
        assert!(text.contains("Number <number> said <text>"), "{text}");
    }

    #[test]
    fn statuses_map_to_their_kinds() {
        assert_eq!(answer_error(429, b"", "", "").code(), "sms_unavailable");
        assert_eq!(answer_error(408, b"", "", "").code(), "sms_unavailable");
        assert_eq!(
            answer_error(500, b"<html>", "", "").code(),
            "sms_unavailable"
        );
        assert_eq!(answer_error(302, b"", "", "").code(), "sms_unavailable");
        assert_eq!(
            answer_error(401, br#"{"code":"20003"}"#, "", "").code(),
            "sms_rejected"
        );
        assert!(
            answer_error(401, br#"{"code":"20003"}"#, "", "")
                .to_string()
                .contains("authentication failed")
        );
    }

    #[test]
    fn redaction_keeps_short_numbers_and_cuts_long_messages() {
        assert_eq!(redact("error 12 in step 3", "", ""), "error 12 in step 3");
        assert_eq!(redact("call 555 0100 now", "", ""), "call <number> now");
        let long = "x".repeat(500);
        assert_eq!(redact(&long, "", "").chars().count(), MAX_QUOTED_CHARS + 1);
        assert_eq!(redact("a\nb", "", ""), "a b");
    }
}
