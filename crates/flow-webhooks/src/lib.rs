//! flow-webhooks: the adapter behind the engine's [`WebhookClient`] port. It sends a `webhook`
//! step's call over blocking HTTP (the engine runs on a blocking pool):
//!
//! - **Signed** per Standard Webhooks: `webhook-id`, `webhook-timestamp`, and
//!   `webhook-signature` with one `v1,<base64 HMAC-SHA256>` entry per secret (a rotation).
//! - **Egress-checked**: loopback, private, link-local, CGNAT, documentation, multicast and
//!   cloud-metadata addresses are refused, after DNS and at every redirect, unless the
//!   operator's allow list permits them; the client connects only to checked addresses.
//! - **Bounded**: the request's timeout covers the whole call (waiting for a slot, redirects,
//!   retries); at most [`MAX_REDIRECTS`] redirects; answers of at most
//!   [`MAX_WEBHOOK_RESPONSE_BYTES`]; at most `max_in_flight` calls at a time.
//! - **Retried** only for idempotent methods (`GET`, `PUT`, `DELETE`), on a transport failure,
//!   a 5xx or a 429, with the same message id.
//!
//! Nothing here logs a body, a header, a URL path or a secret: traces say method, host,
//! status and duration.

mod egress;
mod limit;
mod signing;

use std::io::Read;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flow_engine::{
    MAX_WEBHOOK_RESPONSE_BYTES, MAX_WEBHOOK_TIMEOUT_MS, WebhookClient, WebhookError,
    WebhookRequest, WebhookResponse,
};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use url::Url;

use egress::{AllowList, CheckedResolver, Refusal};
use limit::Limiter;
use signing::{Key, signature_header};

pub use signing::{
    GENERATED_SECRET_BYTES, MAX_SECRET_BYTES, MIN_SECRET_BYTES, SECRET_PREFIX, generate_secret,
};

/// How many webhook calls may be in flight at once by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;

/// How many redirects one call follows (each target checked like the first).
pub const MAX_REDIRECTS: usize = 3;

/// The wait before the first retry; each further retry waits twice as long.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The header of the message id.
pub const HEADER_WEBHOOK_ID: &str = "webhook-id";
/// The header of the Unix time (seconds) the call was signed at.
pub const HEADER_WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// The header of the signatures.
pub const HEADER_WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Request headers a step's own headers never set: the signature's, and those of the
/// message's framing and routing.
const RESERVED_HEADERS: &[&str] = &[
    HEADER_WEBHOOK_ID,
    HEADER_WEBHOOK_TIMESTAMP,
    HEADER_WEBHOOK_SIGNATURE,
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-connection",
];

/// How a [`WebhookSender`] is set up.
#[derive(Clone)]
pub struct WebhookOptions {
    /// The server's signing secrets (`whsec_<base64>`), used when a call has none of its own;
    /// two or more sign every call with each (a key rotation). Blank entries are skipped.
    pub secrets: Vec<String>,
    /// Exceptions to the refused address ranges: IP addresses (`10.1.2.3`, `[fd00::1]`), CIDRs
    /// (`10.0.0.0/8`) and host names (exact match, no wildcards). Blank entries are skipped.
    pub allow: Vec<String>,
    /// How many calls may be in flight at once; callers past it wait within their timeout.
    pub max_in_flight: usize,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            allow: Vec::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl std::fmt::Debug for WebhookOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOptions")
            .field("secrets", &self.secrets.len())
            .field("allow", &self.allow)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// Why [`WebhookOptions`] cannot be used (never quoting a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookConfigError {
    /// A secret is not `whsec_` and the base64 of 24 to 64 bytes.
    #[error("webhook secret {position} is not usable: {reason}")]
    InvalidSecret {
        /// Its place in the list, from 1.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allow entry is neither an IP address, a CIDR nor a host name.
    #[error("webhook allow entry {entry:?} is not usable: {reason}")]
    InvalidAllowEntry {
        /// The entry.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `max_in_flight` is 0.
    #[error("the webhook in-flight limit must be at least 1")]
    InvalidMaxInFlight,
}

impl WebhookConfigError {
    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidSecret { .. } => "invalid_webhook_secret",
            Self::InvalidAllowEntry { .. } => "invalid_webhook_allow",
            Self::InvalidMaxInFlight => "invalid_webhook_max_in_flight",
        }
    }
}

/// Checks that `secret` is a usable signing secret (`whsec_` and the base64 of 24 to 64
/// bytes), for a secret set elsewhere than [`WebhookOptions`] (a node's, a tenant's).
pub fn check_secret(secret: &str) -> Result<(), WebhookConfigError> {
    Key::parse(secret)
        .map(drop)
        .map_err(|reason| WebhookConfigError::InvalidSecret {
            position: 1,
            reason,
        })
}

/// The engine's [`WebhookClient`] over HTTP: signs, checks the egress, sends, retries and caps.
pub struct WebhookSender {
    keys: Vec<Key>,
    allow: Arc<AllowList>,
    limiter: Limiter,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("secrets", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl WebhookSender {
    /// A sender with these options, or what is wrong with them. The HTTP client is made on
    /// the first call (a blocking client must not be made on an async executor).
    pub fn new(options: WebhookOptions) -> Result<Self, WebhookConfigError> {
        let keys = options
            .secrets
            .iter()
            .filter(|secret| !secret.trim().is_empty())
            .enumerate()
            .map(|(index, secret)| {
                Key::parse(secret).map_err(|reason| WebhookConfigError::InvalidSecret {
                    position: index + 1,
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allow = AllowList::parse(&options.allow)
            .map_err(|(entry, reason)| WebhookConfigError::InvalidAllowEntry { entry, reason })?;
        if options.max_in_flight == 0 {
            return Err(WebhookConfigError::InvalidMaxInFlight);
        }
        Ok(Self {
            keys,
            allow: Arc::new(allow),
            limiter: Limiter::new(options.max_in_flight),
            client: OnceLock::new(),
        })
    }

    /// Whether the sender has secrets of its own (a call without a secret is refused
    /// otherwise).
    pub fn has_secrets(&self) -> bool {
        !self.keys.is_empty()
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, WebhookError> {
        self.client
            .get_or_init(|| {
                // An error means a provider is installed already, which is all that is needed.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::blocking::Client::builder()
                    .connect_timeout(Duration::from_millis(u64::from(MAX_WEBHOOK_TIMEOUT_MS)))
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .referer(false)
                    .dns_resolver(Arc::new(CheckedResolver {
                        allow: Arc::clone(&self.allow),
                    }))
                    .user_agent(concat!("flowd/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|error| WebhookError::Failed(format!("no HTTP client: {error}")))
    }

    /// The keys a call is signed with: its own secret, else the server's.
    fn keys_for(&self, request: &WebhookRequest) -> Result<Vec<Key>, WebhookError> {
        match request.secret.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(secret) => Key::parse(secret)
                .map(|key| vec![key])
                .map_err(|reason| WebhookError::Failed(format!("the webhook secret {reason}"))),
            None if self.keys.is_empty() => Err(WebhookError::Failed(
                "no signing secret: set the node's secret or FLOWD_WEBHOOK_SECRET".to_owned(),
            )),
            None => Ok(self.keys.clone()),
        }
    }

    /// One call and its redirects, within `deadline`.
    fn follow(
        &self,
        client: &reqwest::blocking::Client,
        call: &Call<'_>,
        deadline: Instant,
    ) -> Result<WebhookResponse, WebhookError> {
        let mut url = call.url.clone();
        let mut method = call.method.clone();
        let mut body = call.body.as_deref();
        let mut send_own_headers = true;
        let mut hop = 0;
        loop {
            self.allow
                .check_url(&url)
                .map_err(|why| refused(&url, why))?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WebhookError::Timeout);
            }
            let started = Instant::now();
            let mut builder = client.request(method.clone(), url.clone()).timeout(left);
            if send_own_headers {
                for (name, value) in call.headers {
                    builder = builder.header(name, value);
                }
            }
            let timestamp = unix_now();
            let signed = body.unwrap_or_default();
            builder = builder
                .header(HEADER_WEBHOOK_ID, call.id.clone())
                .header(HEADER_WEBHOOK_TIMESTAMP, timestamp)
                .header(
                    HEADER_WEBHOOK_SIGNATURE,
                    signature_header(call.keys, call.message_id, timestamp, signed),
                );
            if let Some(body) = body {
                builder = builder
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.to_vec());
            }
            let host = url.host_str().unwrap_or_default().to_owned();
            let response = match builder.send() {
                Ok(response) => response,
                Err(error) => {
                    let error = from_reqwest(&error);
                    tracing::warn!(
                        %method, %host, code = error.code(),
                        duration_ms = started.elapsed().as_millis() as u64,
                        "webhook call failed"
                    );
                    return Err(error);
                }
            };
            let status = response.status().as_u16();
            tracing::debug!(
                %method, %host, status,
                duration_ms = started.elapsed().as_millis() as u64,
                "webhook call answered"
            );
            let location = matches!(status, 301 | 302 | 303 | 307 | 308)
                .then(|| response.headers().get(reqwest::header::LOCATION).cloned())
                .flatten();
            let Some(location) = location else {
                return read_capped(response, status);
            };
            if hop == MAX_REDIRECTS {
                return Err(WebhookError::Failed(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            hop += 1;
            let next = location
                .to_str()
                .ok()
                .and_then(|location| url.join(location).ok())
                .ok_or_else(|| WebhookError::Failed("a redirect to no valid URL".to_owned()))?;
            if url.scheme() == "https" && next.scheme() != "https" {
                return Err(WebhookError::Refused(format!(
                    "{host}: a redirect from https to {}",
                    next.scheme()
                )));
            }
            // A step's headers may carry credentials: they go to the first origin only.
            if next.origin() != url.origin() {
                send_own_headers = false;
            }
            if status == 303 {
                method = Method::GET;
                body = None;
            }
            url = next;
        }
    }
}

/// What a call sends, prepared once for all its attempts.
struct Call<'a> {
    url: Url,
    method: Method,
    headers: &'a [(HeaderName, HeaderValue)],
    body: Option<Vec<u8>>,
    keys: &'a [Key],
    message_id: &'a str,
    id: HeaderValue,
}

impl WebhookClient for WebhookSender {
    fn call(&self, request: &WebhookRequest) -> Result<WebhookResponse, WebhookError> {
        let started = Instant::now();
        let timeout_ms = request.timeout_ms.clamp(1, MAX_WEBHOOK_TIMEOUT_MS);
        let deadline = started + Duration::from_millis(u64::from(timeout_ms));

        let method = match request.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(WebhookError::Failed(
                    "the method is not GET, POST, PUT, PATCH or DELETE".to_owned(),
                ));
            }
        };
        let url = Url::parse(&request.url)
            .map_err(|_| WebhookError::Failed("the URL is not valid".to_owned()))?;
        let headers = own_headers(&request.headers)?;
        let keys = self.keys_for(request)?;
        let body = request
            .body
            .as_ref()
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|_| WebhookError::Failed("the body is not serializable".to_owned()))?;
        let id = HeaderValue::from_str(&request.message_id)
            .map_err(|_| WebhookError::Failed("the message id is not a header value".to_owned()))?;
        let call = Call {
            url,
            method,
            headers: &headers,
            body,
            keys: &keys,
            message_id: &request.message_id,
            id,
        };
        let idempotent = matches!(call.method, Method::GET | Method::PUT | Method::DELETE);

        let _permit = self.limiter.acquire(deadline).ok_or_else(|| {
            tracing::warn!(method = %call.method, "webhook call found no free slot in time");
            WebhookError::Timeout
        })?;
        let client = self.client()?;
        let mut retried = 0u8;
        loop {
            let result = self.follow(client, &call, deadline);
            let again = match &result {
                Ok(response) => response.status >= 500 || response.status == 429,
                Err(WebhookError::Failed(_)) => true,
                Err(_) => false,
            };
            if !idempotent || !again || retried >= request.retries {
                return result;
            }
            let backoff = FIRST_BACKOFF.saturating_mul(1u32 << retried.min(16));
            if Instant::now() + backoff >= deadline {
                return result;
            }
            std::thread::sleep(backoff);
            retried += 1;
        }
    }
}

/// A step's headers as HTTP headers, without the reserved ones.
fn own_headers(
    headers: &[(String, String)],
) -> Result<Vec<(HeaderName, HeaderValue)>, WebhookError> {
    headers
        .iter()
        .filter(|(name, _)| {
            !RESERVED_HEADERS
                .iter()
                .any(|reserved| name.trim().eq_ignore_ascii_case(reserved))
        })
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| WebhookError::Failed("a header name is not valid".to_owned()))?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                WebhookError::Failed(format!("the value of header {name} is not valid"))
            })?;
            Ok((name, value))
        })
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn refused(url: &Url, why: String) -> WebhookError {
    let host = url.host_str().unwrap_or_default();
    tracing::warn!(%host, "webhook address refused");
    WebhookError::Refused(why)
}

/// The body, at most [`MAX_WEBHOOK_RESPONSE_BYTES`].
fn read_capped(
    response: reqwest::blocking::Response,
    status: u16,
) -> Result<WebhookResponse, WebhookError> {
    let cap = MAX_WEBHOOK_RESPONSE_BYTES as u64;
    if response.content_length().is_some_and(|length| length > cap) {
        return Err(WebhookError::TooLarge);
    }
    let mut body = Vec::new();
    response
        .take(cap + 1)
        .read_to_end(&mut body)
        .map_err(|error| from_io(&error))?;
    if body.len() > MAX_WEBHOOK_RESPONSE_BYTES {
        return Err(WebhookError::TooLarge);
    }
    Ok(WebhookResponse { status, body })
}

/// A reqwest error as the port's: a refused address, a timeout, or a failure (without the URL,
/// which may carry a token).
fn from_reqwest(error: &reqwest::Error) -> WebhookError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(inner) = source {
        if let Some(refusal) = inner.downcast_ref::<Refusal>() {
            return WebhookError::Refused(refusal.0.clone());
        }
        source = inner.source();
    }
    if error.is_timeout() {
        WebhookError::Timeout
    } else if error.is_connect() {
        WebhookError::Failed(cause(error).unwrap_or_else(|| "cannot connect".to_owned()))
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        WebhookError::Failed(cut(text, 300))
    }
}

/// The innermost cause of a connection failure (the name lookup, a refused connection), or
/// `None`.
fn cause(error: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(inner) = source {
        last = Some(inner.to_string());
        source = inner.source();
    }
    last.map(|text| format!("cannot connect: {}", cut(text, 200)))
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn from_io(error: &std::io::Error) -> WebhookError {
    let timed_out = error.kind() == std::io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
    if timed_out {
        WebhookError::Timeout
    } else {
        WebhookError::Failed("the answer could not be read".to_owned())
    }
}
