//! Why a text message was not sent ([`SmsError`], with stable codes), and why a sender cannot
//! be set up ([`SmsConfigError`]).

use flow_engine::PortError;

/// The code of [`SmsError::InvalidNumber`].
pub const SMS_INVALID_NUMBER: &str = "sms_invalid_number";
/// The code of [`SmsError::EmptyText`].
pub const SMS_EMPTY_TEXT: &str = "sms_empty_text";
/// The code of [`SmsError::TextTooLong`].
pub const SMS_TEXT_TOO_LONG: &str = "sms_text_too_long";
/// The code of [`SmsError::Rejected`].
pub const SMS_REJECTED: &str = "sms_rejected";
/// The code of [`SmsError::Timeout`].
pub const SMS_TIMEOUT: &str = "sms_timeout";
/// The code of [`SmsError::Unavailable`].
pub const SMS_UNAVAILABLE: &str = "sms_unavailable";

const CODES: &[&str] = &[
    SMS_INVALID_NUMBER,
    SMS_EMPTY_TEXT,
    SMS_TEXT_TOO_LONG,
    SMS_REJECTED,
    SMS_TIMEOUT,
    SMS_UNAVAILABLE,
];

/// Why a text message was not sent. The texts name no phone number, message text, code or
/// credential, so they may be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The recipient is not an E.164 phone number (`+` and 8 to 15 digits); nothing was sent.
    #[error("the recipient is not an E.164 phone number (+ and 8 to 15 digits)")]
    InvalidNumber,
    /// The renderer made an empty text; nothing was sent.
    #[error("the message text is empty")]
    EmptyText,
    /// The renderer made a text longer than the provider takes; nothing was sent.
    #[error("the message text is longer than {max} characters")]
    TextTooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// The provider refused the message (a 4xx answer): sending it again will not help. The
    /// text is the provider's error code and a summary without personal data.
    #[error("the provider refused the message: {0}")]
    Rejected(String),
    /// No answer within the timeout; the message may or may not have been sent.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider could not be reached or failed (a 5xx, a 429, a connection or TLS
    /// failure); a later attempt may work.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

impl SmsError {
    /// The stable code (`sms_invalid_number`, `sms_empty_text`, `sms_text_too_long`,
    /// `sms_rejected`, `sms_timeout`, `sms_unavailable`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidNumber => SMS_INVALID_NUMBER,
            Self::EmptyText => SMS_EMPTY_TEXT,
            Self::TextTooLong { .. } => SMS_TEXT_TOO_LONG,
            Self::Rejected(_) => SMS_REJECTED,
            Self::Timeout => SMS_TIMEOUT,
            Self::Unavailable(_) => SMS_UNAVAILABLE,
        }
    }

    /// Whether trying again with the same message cannot help (a bad number, text or a
    /// provider's refusal), as opposed to a timeout or an outage.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, Self::Timeout | Self::Unavailable(_))
    }
}

/// The port's error: [`PortError::Unavailable`] whose text starts with the stable code and a
/// colon (`sms_rejected: Twilio error 21211 ...`), the one variant the port has for a failed
/// side effect. [`code_of`] reads the code back.
impl From<SmsError> for PortError {
    fn from(error: SmsError) -> Self {
        PortError::Unavailable(format!("{}: {error}", error.code()))
    }
}

/// The stable code of a [`PortError`] made from an [`SmsError`], or `None` for any other.
pub fn code_of(error: &PortError) -> Option<&'static str> {
    let PortError::Unavailable(text) = error else {
        return None;
    };
    let (code, _) = text.split_once(": ")?;
    CODES.iter().copied().find(|known| *known == code)
}

/// Why a sender cannot be set up: the setting (a field of the sender's settings, `base_url`,
/// `account_sid`, `auth_token`, `from`, `timeout`, `url`, `dir`) and what is wrong with it,
/// never quoting a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct SmsConfigError {
    /// The setting that is wrong.
    pub setting: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl SmsConfigError {
    pub(crate) fn new(setting: &'static str, reason: impl Into<String>) -> Self {
        Self {
            setting,
            reason: reason.into(),
        }
    }
}

/// Checks a provider URL: `https`, or `http` to a loopback host only (tests, a local relay),
/// with a host and without credentials, query or fragment.
pub(crate) fn checked_url(text: &str, setting: &'static str) -> Result<url::Url, SmsConfigError> {
    let url = url::Url::parse(text.trim())
        .map_err(|error| SmsConfigError::new(setting, format!("not a URL: {error}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(SmsConfigError::new(setting, "the URL has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(SmsConfigError::new(
                setting,
                "must be https:// (http:// only to a loopback host)",
            ));
        }
        other => {
            return Err(SmsConfigError::new(
                setting,
                format!("{other}:// is not https://"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SmsConfigError::new(
            setting,
            "the URL must not carry credentials",
        ));
    }
    if url.fragment().is_some() {
        return Err(SmsConfigError::new(
            setting,
            "the URL must not have a #fragment",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_survives_the_port_error() {
        for error in [
            SmsError::InvalidNumber,
            SmsError::EmptyText,
            SmsError::TextTooLong { max: 3 },
            SmsError::Rejected("x".into()),
            SmsError::Timeout,
            SmsError::Unavailable("y".into()),
        ] {
            let code = error.code();
            assert_eq!(code_of(&PortError::from(error)), Some(code));
        }
        assert_eq!(code_of(&PortError::Unavailable("smtp: down".into())), None);
        assert_eq!(code_of(&PortError::NotFound), None);
    }

    #[test]
    fn urls_must_be_https_unless_loopback() {
        assert!(checked_url("https://api.twilio.com", "base_url").is_ok());
        assert!(checked_url("http://127.0.0.1:9000", "base_url").is_ok());
        assert!(checked_url("http://[::1]:9000/x", "base_url").is_ok());
        assert!(checked_url("http://localhost:9000", "base_url").is_ok());
        for bad in [
            "http://api.twilio.com",
            "ftp://127.0.0.1",
            "https://user:pw@api.twilio.com",
            "https://api.twilio.com/#x",
            "not a url",
        ] {
            let error = checked_url(bad, "base_url").unwrap_err();
            assert_eq!(error.setting, "base_url");
            assert!(!error.to_string().contains("pw"), "{error}");
        }
    }
}
