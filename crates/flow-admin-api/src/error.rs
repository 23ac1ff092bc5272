//! The one error type of the admin API and its mapping to HTTP: every failure is
//! `{code, message, details?}` with a stable code.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use flow_engine::{AccountError, CatalogError, InvitationError};
use flow_http::echo;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No or a wrong bearer token.
    #[error("a valid admin bearer token is required")]
    Unauthorized,
    /// The body is not JSON.
    #[error("the body is not valid JSON: {}", echo(message))]
    InvalidJson {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser saw.
        message: String,
    },
    /// The body is JSON but a field is missing or has the wrong shape.
    #[error("{}: {}", echo(field), echo(message))]
    InvalidRequest {
        /// The path of the field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The flow name breaks the naming rule.
    #[error("a flow name is 1 to 64 lowercase letters, digits and hyphens")]
    InvalidName,
    /// A query parameter is invalid.
    #[error("query parameter {parameter}: {}", echo(message))]
    InvalidQuery {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The body is larger than the limit.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body could not be read.
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// The body did not arrive within the request deadline (408); the connection is closed.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// A browser sent the request from a foreign origin (403).
    #[error(transparent)]
    CrossSite(#[from] flow_http::CrossSiteRequest),
    /// No admin endpoint has this path and method.
    #[error("no such endpoint")]
    NoRoute,
    /// No execution has this id.
    #[error("no such flow execution")]
    ExecutionNotFound,
    /// The execution store failed: an outage, never reported as a missing execution (503).
    #[error("execution store: {0}")]
    ExecutionStore(flow_engine::PortError),
    /// A rule of the flow catalog said no.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The invitation service said no.
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// The user administration said no.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// An identity provider's settings break a rule (400): `code` says which, `field` names
    /// the field of the body.
    #[error("{}: {}", echo(field), echo(message))]
    InvalidProvider {
        /// The stable code (`invalid_provider_id`, `unknown_preset`,
        /// `missing_provider_field`, `invalid_provider_field`, `invalid_url`, `insecure_url`,
        /// `invalid_scope`, `value_too_long`).
        code: &'static str,
        /// The path of the field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No identity provider of the tenant has this id (404).
    #[error("no such identity provider")]
    ProviderNotFound,
    /// `POST` of an identity provider whose id is taken (409): PUT replaces one.
    #[error("an identity provider with the id \"{}\" exists; PUT replaces it", echo(.0))]
    ProviderExists(String),
    /// The identity provider store failed (503).
    #[error("identity provider store: {0}")]
    ProviderStore(flow_engine::PortError),
    /// The flow does not validate (422): the validator's report with the admin API's own
    /// warnings (providers that are not configured).
    #[error("the flow is invalid; see details")]
    InvalidFlow(Box<crate::dto::ValidationReport>),
    /// The server could not run the request (its worker pool is gone).
    #[error("the server could not run the request")]
    Internal,
}

/// The wire shape of every error: `{code, message, details?}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody<'a> {
    /// The stable machine code (`invalid_json`, `invalid_request`, `invalid_name`,
    /// `invalid_query`, `payload_too_large`, `body_unreadable`, `request_timeout`,
    /// `cross_site_request`, `unauthorized`, `not_found`,
    /// `flow_not_found`, `execution_not_found`, `name_taken`, `invalid_flow`,
    /// `store_unavailable`, `internal_error`, `invalid_email`, `invalid_expiry`,
    /// `invitation_not_found`, `mail_unavailable`, `user_not_found`, `identifier_taken`,
    /// `invalid_identifier`, `password_too_short`, `identity_provider_not_found`,
    /// `identity_provider_exists`, `invalid_provider_id`, `invalid_url`, `insecure_url`,
    /// `identity_link_not_found`, ...).
    #[schema(example = "flow_not_found")]
    code: &'a str,
    /// A sentence for people.
    #[schema(example = "no such flow")]
    message: String,
    /// Machine-readable detail, when there is any: `{line, column}` for `invalid_json`,
    /// `{field}` for `invalid_request` and the identity providers' codes, `{parameter}` for
    /// `invalid_query`, `{limit}` for `payload_too_large`, the validator's report for
    /// `invalid_flow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    details: Option<Value>,
}

impl AdminError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::InvalidJson { .. } => "invalid_json",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidName => "invalid_name",
            Self::InvalidQuery { .. } => "invalid_query",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::RequestTimeout => "request_timeout",
            Self::CrossSite(_) => "cross_site_request",
            Self::NoRoute => "not_found",
            Self::ExecutionNotFound => "execution_not_found",
            Self::ExecutionStore(_) => "store_unavailable",
            Self::Catalog(CatalogError::Store(_)) => "store_unavailable",
            Self::Catalog(error) => error.code(),
            Self::Invitation(InvitationError::Store(_)) => "store_unavailable",
            Self::Invitation(error) => error.code(),
            Self::Account(error) => error.code(),
            Self::InvalidProvider { code, .. } => code,
            Self::ProviderNotFound => "identity_provider_not_found",
            Self::ProviderExists(_) => "identity_provider_exists",
            Self::ProviderStore(_) => "store_unavailable",
            Self::InvalidFlow(_) => "invalid_flow",
            Self::Internal => "internal_error",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Self::InvalidJson { line, column, .. } => Some(json!({"line": line, "column": column})),
            Self::InvalidRequest { field, .. } => Some(json!({"field": field})),
            Self::InvalidQuery { parameter, .. } => Some(json!({"parameter": parameter})),
            Self::PayloadTooLarge { limit } => Some(json!({"limit": limit})),
            Self::Catalog(CatalogError::Invalid(report)) => serde_json::to_value(report).ok(),
            Self::InvalidFlow(report) => serde_json::to_value(report).ok(),
            Self::InvalidProvider { field, .. } => Some(json!({"field": field})),
            Self::ProviderExists(_) => Some(json!({"field": "id"})),
            Self::Invitation(InvitationError::InvalidEmail) => Some(json!({"field": "email"})),
            Self::Account(AccountError::InvalidIdentifier | AccountError::IdentifierTaken) => {
                Some(json!({"field": "identifier"}))
            }
            Self::Account(AccountError::PasswordRefused { .. }) => {
                Some(json!({"field": "password"}))
            }
            Self::Invitation(InvitationError::InvalidExpiry { min, max }) => {
                Some(json!({"field": "expires_in", "min": min, "max": max}))
            }
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            // Storage failures are for the operator's log, not for the client.
            Self::Catalog(CatalogError::Store(_)) => "the flow store is unavailable".to_owned(),
            Self::Catalog(CatalogError::Invalid(_)) => {
                "the flow is invalid; see details".to_owned()
            }
            Self::Invitation(InvitationError::Store(_)) | Self::Account(AccountError::Store(_)) => {
                "the store is unavailable".to_owned()
            }
            Self::ExecutionStore(_) => "the execution store is unavailable".to_owned(),
            Self::ProviderStore(_) => "the identity provider store is unavailable".to_owned(),
            Self::Invitation(InvitationError::Mail(_)) => {
                "the invitation mail could not be sent; the invitation was revoked".to_owned()
            }
            Self::Account(AccountError::Mail(_)) => "the mail could not be sent".to_owned(),
            other => other.to_string(),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::InvalidJson { .. }
            | Self::InvalidRequest { .. }
            | Self::InvalidName
            | Self::InvalidQuery { .. }
            | Self::InvalidProvider { .. }
            | Self::BodyUnreadable => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::CrossSite(_) => StatusCode::FORBIDDEN,
            Self::NoRoute
            | Self::ExecutionNotFound
            | Self::ProviderNotFound
            | Self::Catalog(CatalogError::NotFound) => StatusCode::NOT_FOUND,
            Self::Catalog(CatalogError::NameTaken(_)) | Self::ProviderExists(_) => {
                StatusCode::CONFLICT
            }
            Self::Catalog(CatalogError::Invalid(_)) | Self::InvalidFlow(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Catalog(CatalogError::Inactive(_) | CatalogError::NoDefault(_)) => {
                StatusCode::CONFLICT
            }
            Self::Catalog(CatalogError::Store(_))
            | Self::ExecutionStore(_)
            | Self::ProviderStore(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Invitation(
                InvitationError::InvalidEmail | InvitationError::InvalidExpiry { .. },
            ) => StatusCode::BAD_REQUEST,
            Self::Invitation(InvitationError::NotFound) => StatusCode::NOT_FOUND,
            Self::Invitation(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Account(
                AccountError::InvalidIdentifier | AccountError::PasswordRefused { .. },
            ) => StatusCode::BAD_REQUEST,
            Self::Account(
                AccountError::NotFound
                | AccountError::CredentialNotFound
                | AccountError::IdentityLinkNotFound,
            ) => StatusCode::NOT_FOUND,
            Self::Account(
                AccountError::IdentifierTaken
                | AccountError::UserDisabled
                | AccountError::NoEmailAddress
                | AccountError::NoRecoveryFlow,
            ) => StatusCode::CONFLICT,
            Self::Account(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Catalog(_) | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code()).json(ErrorBody {
            code: self.code(),
            message: self.public_message(),
            details: self.details(),
        });
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flowd-admin\""),
            );
        }
        response
    }
}
