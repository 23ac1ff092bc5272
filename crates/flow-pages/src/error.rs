//! flow-pages' one error type and its HTTP status and code (the answers themselves are
//! rendered in `routes`, as a page or, for `POST /if/qr`, as `{detail, code}`).

use actix_web::http::StatusCode;
use flow_engine::CatalogError;
use flow_http::{BodyError, CrossSiteRequest};

/// Why a page request failed, or a setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    /// A branding setting is malformed (at startup).
    #[error("{setting}: {message}")]
    Setting {
        /// The environment variable.
        setting: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// No flow has this slug, or the path names no page.
    #[error("not found")]
    NotFound,
    /// The path exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A state-changing request came from another origin.
    #[error(transparent)]
    CrossSite(#[from] CrossSiteRequest),
    /// The QR request's body is unreadable, too large or not a JSON object.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The QR request names no `otpauth://` URI of at most [`crate::MAX_QR_URI_CHARS`].
    #[error(
        "uri must be an otpauth:// URI of at most {} characters",
        crate::MAX_QR_URI_CHARS
    )]
    NotOtpauth,
    /// The flow store failed.
    #[error("the flow store is unavailable: {0}")]
    Catalog(CatalogError),
    /// The blocking pool is gone (the server is stopping).
    #[error("the server is stopping")]
    Stopping,
}

impl PagesError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(BodyError::TimedOut) => StatusCode::REQUEST_TIMEOUT,
            Self::Body(_) | Self::NotOtpauth => StatusCode::BAD_REQUEST,
            Self::Setting { .. } | Self::Catalog(_) | Self::Stopping => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The stable code of this error (the `code` of a JSON answer).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Setting { .. } => "invalid_setting",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::CrossSite(_) => "cross_site_request",
            Self::Body(BodyError::TooLarge { .. }) => "body_too_large",
            Self::Body(BodyError::TimedOut) => "body_timeout",
            Self::Body(_) => "invalid_body",
            Self::NotOtpauth => "invalid_uri",
            Self::Catalog(_) => "store_unavailable",
            Self::Stopping => "unavailable",
        }
    }
}

impl From<CatalogError> for PagesError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::NotFound | CatalogError::Inactive(_) | CatalogError::NoDefault(_) => {
                Self::NotFound
            }
            other => Self::Catalog(other),
        }
    }
}
