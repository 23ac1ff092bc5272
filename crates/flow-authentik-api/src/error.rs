//! The crate's one error type and its one mapping to HTTP. Errors outside a flow's run get
//! DRF's JSON shape (`{detail, code}`); errors inside a run become challenges (see routes).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

/// What can go wrong in the executor API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthentikError {
    /// No active flow has this slug.
    #[error("no active flow has this slug")]
    FlowNotFound,
    /// The body is not a JSON object.
    #[error("JSON parse error - {}", flow_http::echo(.0))]
    InvalidJson(String),
    /// The body is larger than the limit.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The body could not be read.
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// The body did not arrive within the request deadline (408); the connection is closed.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// A POST whose body is not declared `application/json` (415): an HTML form can send
    /// `text/plain` across sites without a preflight, so nothing else is parsed.
    #[error("Unsupported media type in request; send application/json.")]
    UnsupportedMediaType,
    /// A browser sent the request from a foreign origin (403).
    #[error(transparent)]
    CrossSite(#[from] flow_http::CrossSiteRequest),
    /// The request needs a signed-in session.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// The session could not be read or written.
    #[error("session error: {0}")]
    Session(String),
    /// The session key is unusable.
    #[error("the session key must be at least 64 bytes")]
    SessionKey,
    /// The Redis session store could not be reached.
    #[error("session store: {0}")]
    SessionStore(String),
    /// The catalog or the engine failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthentikError {
    /// The stable machine code (DRF's where DRF has one).
    pub fn code(&self) -> &'static str {
        match self {
            Self::FlowNotFound => "not_found",
            Self::InvalidJson(_) => "parse_error",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::RequestTimeout => "request_timeout",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::CrossSite(_) => "cross_site_request",
            Self::NotAuthenticated => "not_authenticated",
            Self::Session(_) | Self::SessionKey | Self::SessionStore(_) => "session_error",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::FlowNotFound => StatusCode::NOT_FOUND,
            Self::InvalidJson(_) | Self::BodyUnreadable => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::NotAuthenticated => StatusCode::FORBIDDEN,
            Self::Session(_) | Self::SessionKey | Self::SessionStore(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The JSON response: `{detail, code}`. Internal details are logged, never sent.
    pub fn to_response(&self) -> HttpResponse {
        let status = self.status();
        let detail = match self {
            Self::FlowNotFound => "Not found.".to_owned(),
            _ if status.is_server_error() => {
                tracing::error!(error = %self, "executor API error");
                "Internal error.".to_owned()
            }
            _ => self.to_string(),
        };
        HttpResponse::build(status).json(json!({"detail": detail, "code": self.code()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_4xx_with_stable_codes() {
        assert_eq!(AuthentikError::FlowNotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            AuthentikError::InvalidJson("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            AuthentikError::InvalidJson("x".into()).code(),
            "parse_error"
        );
        assert_eq!(
            AuthentikError::NotAuthenticated.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            AuthentikError::PayloadTooLarge(1).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
