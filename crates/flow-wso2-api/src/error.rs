//! The one error type of the WSO2-style API and its mapping to HTTP, in one place: every
//! failure is `{code, message, description, traceId, flowType}` with WSO2's `FE-6xxxx` codes
//! where one fits and our own (documented here and in `docs/wso2-api.md`) where none does.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use flow_engine::{CatalogError, EngineError};
use flow_http::echo;

use crate::dto::ErrorBody;

/// Why an execute request failed. A user's correctable mistake (wrong password, weak
/// password, taken e-mail, empty required input) is **not** an error: it comes back as a 200
/// `INCOMPLETE` view with the error in `data.additionalData.error` and `data.messages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Wso2Error {
    /// The body is not JSON, or not a JSON object (400 `FE-60007`).
    #[error("the request body is not a JSON object: {}", echo(detail))]
    InvalidJson {
        /// What the parser saw.
        detail: String,
    },
    /// The body could not be read (400 `FE-60007`).
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// The body did not arrive within the request deadline (408 `FE-60016`, ours); the
    /// connection is closed after the answer.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// The body is larger than the limit (413 `FE-60013`, ours).
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A request field has the wrong JSON type (400 `FE-60007`).
    #[error("the field {field} must be {expected}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// Neither `flowId` nor `flowType` (nor `flowName`) was sent (400 `FE-60011`).
    #[error("the flow type is not provided")]
    FlowTypeMissing,
    /// `flowType` is not one of the supported types (400 `FE-60103`).
    #[error("the flow type {:?} is not supported", echo(.0))]
    InvalidFlowType(String),
    /// No flow has the `flowName` (400 `FE-60105`, ours).
    #[error("no flow is named {:?}", echo(.0))]
    UnknownFlowName(String),
    /// The requested flow exists but is not active, or the type has no active default flow
    /// (400 `FE-60104`).
    #[error("the requested flow {} is disabled", echo(.0))]
    FlowDisabled(String),
    /// The `flowId` is malformed, unknown, expired or of an execution that has ended
    /// (400 `FE-60001`).
    #[error("the flow id {:?} is invalid or expired", echo(.0))]
    InvalidFlowId(String),
    /// `inputs` is not an object of strings (400 `FE-60008`).
    #[error("invalid user inputs: {}", echo(.0))]
    InvalidInputs(String),
    /// The `actionId` is not offered by the current step (400 `FE-60009`).
    #[error("the action id {:?} is not offered by the current step", echo(.0))]
    InvalidAction(String),
    /// Another submission of the same execution is running or won (409 `FE-60014`, ours).
    #[error("the flow execution was changed by a concurrent request")]
    Conflict,
    /// The execution ended because its attempt limit was reached (429 `FE-60015`, ours).
    #[error("too many failed attempts; start the flow again")]
    TooManyAttempts,
    /// The flow ended unsuccessfully (a `failure` node, an unsupported step) (400 `FE-60006`).
    #[error("{message}")]
    FlowFailed {
        /// The engine's stable failure code.
        code: String,
        /// The message for the user.
        message: String,
    },
    /// A store or mailer is unavailable (503 `FE-65024`); the cause is for the log only.
    #[error("the flow store is unavailable: {0}")]
    Unavailable(String),
    /// Something that should not happen did (500 `FE-65013`).
    #[error("the server could not run the request")]
    Internal,
}

impl Wso2Error {
    /// The wire code (`FE-60001`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } | Self::BodyUnreadable | Self::InvalidField { .. } => {
                "FE-60007"
            }
            Self::PayloadTooLarge { .. } => "FE-60013",
            Self::RequestTimeout => "FE-60016",
            Self::FlowTypeMissing => "FE-60011",
            Self::InvalidFlowType(_) => "FE-60103",
            Self::UnknownFlowName(_) => "FE-60105",
            Self::FlowDisabled(_) => "FE-60104",
            Self::InvalidFlowId(_) => "FE-60001",
            Self::InvalidInputs(_) => "FE-60008",
            Self::InvalidAction(_) => "FE-60009",
            Self::Conflict => "FE-60014",
            Self::TooManyAttempts => "FE-60015",
            Self::FlowFailed { .. } => "FE-60006",
            Self::Unavailable(_) => "FE-65024",
            Self::Internal => "FE-65013",
        }
    }

    /// The short message, as WSO2 words it where the code is WSO2's.
    pub fn message(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } | Self::BodyUnreadable | Self::InvalidField { .. } => {
                "Error while processing the request."
            }
            Self::PayloadTooLarge { .. } => "Request body too large.",
            Self::RequestTimeout => "Request body timed out.",
            Self::FlowTypeMissing => "Flow type is not provided.",
            Self::InvalidFlowType(_) => "Invalid flow type.",
            Self::UnknownFlowName(_) => "Invalid flow name.",
            Self::FlowDisabled(_) => "Flow is disabled.",
            Self::InvalidFlowId(_) => "Invalid or expired flow id.",
            Self::InvalidInputs(_) => "Invalid user inputs.",
            Self::InvalidAction(_) => "Invalid action id.",
            Self::Conflict => "Concurrent submission.",
            Self::TooManyAttempts => "Too many attempts.",
            Self::FlowFailed { .. } => "Flow execution error occurred.",
            Self::Unavailable(_) => "Flow store unavailable.",
            Self::Internal => "Internal server error.",
        }
    }

    /// The description: the detail, never a secret or an operator-only text.
    fn description(&self) -> String {
        match self {
            Self::InvalidFlowId(id) => {
                format!("The given flow id: {} is invalid or expired.", echo(id))
            }
            Self::FlowDisabled(name) => format!(
                "The requested flow {} is disabled. Please contact your administrator.",
                echo(name)
            ),
            other => {
                let mut text = other.to_string();
                if let Some(first) = text.get(..1) {
                    let upper = first.to_uppercase();
                    text.replace_range(..1, &upper);
                }
                if !text.ends_with('.') {
                    text.push('.');
                }
                text
            }
        }
    }

    /// The error response, with the flow type when it is known (a fresh `traceId` each time).
    pub fn to_response(&self, flow_type: Option<&str>) -> HttpResponse {
        let trace_id = uuid::Uuid::new_v4().to_string();
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(trace_id, code = self.code(), error = %self, "flow execute failed");
        } else {
            tracing::debug!(trace_id, code = self.code(), error = %self, "flow execute refused");
        }
        HttpResponse::build(status).json(ErrorBody {
            code: self.code(),
            message: self.message(),
            description: self.description(),
            trace_id,
            flow_type: flow_type.map(str::to_owned),
        })
    }

    /// Maps an engine error of a call on execution `flow_id`.
    pub(crate) fn from_engine(error: EngineError, flow_id: &str) -> Self {
        match error {
            EngineError::NotFound | EngineError::Expired | EngineError::AlreadyCompleted => {
                Self::InvalidFlowId(flow_id.to_owned())
            }
            EngineError::Conflict => Self::Conflict,
            EngineError::TooManyAttempts => Self::TooManyAttempts,
            EngineError::InvalidAction { action } => Self::InvalidAction(action),
            EngineError::Store(cause) => Self::Unavailable(cause.to_string()),
            _ => Self::Internal,
        }
    }

    /// Maps a catalog error of a start by type or name (`what` names the flow for messages).
    pub(crate) fn from_catalog(error: CatalogError, what: &str) -> Self {
        match error {
            CatalogError::NotFound => Self::UnknownFlowName(what.to_owned()),
            CatalogError::Inactive(_) | CatalogError::NoDefault(_) => {
                Self::FlowDisabled(what.to_owned())
            }
            CatalogError::Store(cause) => Self::Unavailable(cause.to_string()),
            _ => Self::Internal,
        }
    }
}

impl ResponseError for Wso2Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson { .. }
            | Self::BodyUnreadable
            | Self::InvalidField { .. }
            | Self::FlowTypeMissing
            | Self::InvalidFlowType(_)
            | Self::UnknownFlowName(_)
            | Self::FlowDisabled(_)
            | Self::InvalidFlowId(_)
            | Self::InvalidInputs(_)
            | Self::InvalidAction(_)
            | Self::FlowFailed { .. } => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.to_response(None)
    }
}
