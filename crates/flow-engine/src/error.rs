//! The error types of `flow-engine`: what a call into the engine or one of its ports can fail with.

/// Why an [`Engine`](crate::Engine) call did not produce an outcome. Each variant has a stable
/// machine code ([`EngineError::code`]) that protocol adapters map to their wire errors.
///
/// Mistakes a user can correct (a wrong password, a taken identifier) are *not* errors: they
/// come back as field errors on an [`Outcome::Prompt`](crate::Outcome::Prompt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No execution has this id (or it belongs to another tenant).
    #[error("no such flow execution")]
    NotFound,
    /// The execution outlived its time to live.
    #[error("the flow execution has expired")]
    Expired,
    /// The execution already ended (completed or failed) and cannot be resumed.
    #[error("the flow execution has already ended")]
    AlreadyCompleted,
    /// Another submission changed the execution first; reload and try again.
    #[error("the flow execution was changed by a concurrent request")]
    Conflict,
    /// The execution ended because its attempt limit was reached.
    #[error("too many failed attempts")]
    TooManyAttempts,
    /// The submission named an action the current prompt does not offer.
    #[error("the action {action:?} is not offered by the current step")]
    InvalidAction {
        /// The action id that was submitted.
        action: String,
    },
    /// A port (store, directory, mailer) failed.
    #[error("storage error: {0}")]
    Store(#[from] PortError),
    /// Something that should not happen did: an unusable program, a hashing failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The stable machine code of this error (`not_found`, `expired`, `already_completed`,
    /// `conflict`, `too_many_attempts`, `invalid_action`, `store_error`, `corrupt_record`,
    /// `internal_error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Expired => "expired",
            Self::AlreadyCompleted => "already_completed",
            Self::Conflict => "conflict",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InvalidAction { .. } => "invalid_action",
            Self::Store(PortError::Corrupt(_)) => "corrupt_record",
            Self::Store(_) => "store_error",
            Self::Internal(_) => "internal_error",
        }
    }
}

/// What a port implementation (store, directory, mailer) can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// A uniqueness rule was violated (an identifier that is taken, an id that exists).
    #[error("already exists")]
    Duplicate,
    /// A compare-and-swap lost: the stored revision is not the expected one.
    #[error("revision conflict")]
    Conflict,
    /// The record to change does not exist.
    #[error("not found")]
    NotFound,
    /// The backend failed (database down, SMTP refused, ...); the text is for operators.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A stored record cannot be read: a format this version does not know, or a body that
    /// does not decode. The text (for operators) says which.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// Why a [`FlowCatalog`](crate::FlowCatalog) call failed. Each variant has a stable machine
/// code ([`CatalogError::code`]) that the admin API maps to its HTTP status and error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// No flow has this id or name in the tenant.
    #[error("no such flow")]
    NotFound,
    /// Another flow of the tenant already has this name.
    #[error("a flow named {0:?} already exists")]
    NameTaken(String),
    /// The flow's graph does not validate, so it cannot be compiled or activated; the report
    /// says why.
    #[error("the flow is invalid:\n{0}")]
    Invalid(flow_model::Report),
    /// The flow exists but is not active, so no new execution may start on it.
    #[error("the flow {0:?} is not active")]
    Inactive(String),
    /// No flow is marked default for this type in the tenant.
    #[error("no default {0} flow")]
    NoDefault(flow_model::FlowType),
    /// The flow repository failed (or holds inconsistent data, such as an active flow without
    /// its compiled version).
    #[error("storage error: {0}")]
    Store(#[from] PortError),
}

impl CatalogError {
    /// The stable machine code of this error (`flow_not_found`, `name_taken`, `invalid_flow`,
    /// `flow_inactive`, `no_default_flow`, `store_error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "flow_not_found",
            Self::NameTaken(_) => "name_taken",
            Self::Invalid(_) => "invalid_flow",
            Self::Inactive(_) => "flow_inactive",
            Self::NoDefault(_) => "no_default_flow",
            Self::Store(_) => "store_error",
        }
    }

    /// The validator's report, for [`CatalogError::Invalid`].
    pub fn report(&self) -> Option<&flow_model::Report> {
        match self {
            Self::Invalid(report) => Some(report),
            _ => None,
        }
    }
}

/// Why an [`InvitationService`](crate::InvitationService) call failed. Each variant has a
/// stable machine code ([`InvitationError::code`]) that the admin API maps to its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// The address to invite is not an e-mail address.
    #[error("not a valid e-mail address")]
    InvalidEmail,
    /// The requested lifetime is outside the allowed range.
    #[error("expires_in must be from {min} to {max} seconds")]
    InvalidExpiry {
        /// Shortest lifetime, in seconds.
        min: i64,
        /// Longest lifetime, in seconds.
        max: i64,
    },
    /// No invitation has this id in the tenant.
    #[error("no such invitation")]
    NotFound,
    /// The invitation was stored but its mail could not be sent; it has been revoked, since
    /// nobody can redeem it.
    #[error("the invitation mail could not be sent: {0}")]
    Mail(PortError),
    /// The invitation store failed.
    #[error("storage error: {0}")]
    Store(#[from] PortError),
}

impl InvitationError {
    /// The stable machine code of this error (`invalid_email`, `invalid_expiry`,
    /// `invitation_not_found`, `mail_unavailable`, `store_error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "invalid_email",
            Self::InvalidExpiry { .. } => "invalid_expiry",
            Self::NotFound => "invitation_not_found",
            Self::Mail(_) => "mail_unavailable",
            Self::Store(_) => "store_error",
        }
    }
}
