//! The blocking HTTP client of provider calls: a timeout on every call, no redirects followed,
//! answers capped at [`MAX_RESPONSE_BYTES`], TLS by rustls with the ring provider.

use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use flow_engine::FederationError;
use serde_json::{Map, Value};

/// The largest answer read from a provider (discovery, JWKS, tokens, userinfo).
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Why an HTTP call failed (for `oauth2`'s and `openidconnect`'s error types).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be made or answered (connection, timeout, TLS).
    #[error("{0}")]
    Transport(String),
    /// The answer was larger than [`MAX_RESPONSE_BYTES`].
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// A blocking HTTP client made on first use.
pub struct HttpClient {
    timeout: Duration,
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl HttpClient {
    /// A client whose calls time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, HttpError> {
        self.client
            .get_or_init(|| {
                crate::install_crypto_provider();
                reqwest::blocking::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("flowd/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|error| error.to_string())
            })
            .as_ref()
            .map_err(|error| HttpError::Transport(error.clone()))
    }

    /// Sends one request (for the `oauth2` and `openidconnect` crates).
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, HttpError> {
        let client = self.client()?;
        let request = reqwest::blocking::Request::try_from(request)
            .map_err(|error| HttpError::Transport(error.to_string()))?;
        let response = client
            .execute(request)
            .map_err(|error| HttpError::Transport(transport(&error)))?;
        let mut builder = http::Response::builder().status(response.status().as_u16());
        for (name, value) in response.headers() {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
        let body = read_capped(response)?;
        builder
            .body(body)
            .map_err(|error| HttpError::Transport(error.to_string()))
    }

    /// `GET url` with the bearer `token`, answered with a JSON object.
    pub fn get_json(&self, url: &str, token: &str) -> Result<Map<String, Value>, FederationError> {
        match self.get_json_value(url, token)? {
            Value::Object(map) => Ok(map),
            _ => Err(FederationError::Unavailable(format!(
                "{url}: not a JSON object"
            ))),
        }
    }

    /// `GET url` with the bearer `token`, answered with JSON (2xx only).
    pub fn get_json_value(&self, url: &str, token: &str) -> Result<Value, FederationError> {
        let unavailable = |why: String| FederationError::Unavailable(format!("{url}: {why}"));
        let client = self
            .client()
            .map_err(|error| unavailable(error.to_string()))?;
        let response = client
            .get(url)
            .bearer_auth(token)
            .header("Accept", "application/json")
            .send()
            .map_err(|error| unavailable(transport(&error)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("status {}", status.as_u16())));
        }
        let body = read_capped(response).map_err(|error| unavailable(error.to_string()))?;
        serde_json::from_slice(&body).map_err(|error| unavailable(format!("not JSON: {error}")))
    }
}

fn read_capped(response: reqwest::blocking::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    response
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|error| HttpError::Transport(error.to_string()))?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(HttpError::TooLarge);
    }
    Ok(body)
}

/// A transport error, saying whether it was a timeout (the URL is left out: it may carry a
/// code).
fn transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        let text = clone_without_url(error);
        let mut end = text.len().min(300);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_owned()
    }
}

/// The error's text without its URL.
fn clone_without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}
