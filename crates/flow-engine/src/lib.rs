//! flow-engine's crate root: module layout and re-exports (the crate documentation is README.md).
#![doc = include_str!("../README.md")]

mod accounts;
mod catalog;
mod code;
mod config;
mod engine;
mod error;
mod events;
mod expr;
mod federation;
mod flows;
mod forms;
mod handler;
mod identifier;
mod imported_hash;
mod invitation;
pub mod memory;
mod outcome;
mod passkeys;

/// Entry points for the fuzz targets in `fuzz/` (see `docs/reliability.md`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::passkeys::fuzz_credential as passkey_credential;
}
mod password;
pub mod ports;
mod programs;
mod steps;
mod totp;
mod types;
mod webhooks;

pub use accounts::{
    ADMIN_PASSWORD_MIN_LENGTH, AccountError, Accounts, CredentialSummary, ImportReport,
    ImportedHash, LineError, MAX_IMPORT_LINE_BYTES, MAX_REPORTED_ERRORS, NewAccount,
    PasskeySummary, RECOVERY_LINK_TEMPLATE, UserPage, UserRecord,
};
pub use catalog::{ActiveFlow, FLOW_ID_PREFIX, FlowCatalog, FlowPatch, MAX_FLOW_ID_LEN, NewFlow};
pub use config::{EngineConfig, FederationSettings, HashParams};
pub use engine::{
    ACCOUNT_LOCKED, Engine, FLOW_UNAVAILABLE, MAX_TRACE_ENTRIES, Opened, TOO_MANY_ATTEMPTS,
    UNSUPPORTED_STEP,
};
pub use error::{CatalogError, EngineError, InvitationError, PortError};
pub use events::{Event, EventKind, EventLog, EventOrigin, EventOutcome, EventQuery};
pub use federation::{
    AuthorizationRequest, ClaimMapping, CodeRedemption, ExternalIdentity, FederationClient,
    FederationError, FederationState, IdentityLink, IdentityLinks, IdentityProvider,
    IdentityProviderStore, LinkByEmail, PROVIDER_PRESETS, PendingLink, ProviderChoice,
    ProviderProtocol, SOCIAL_ACCESS_DENIED, SOCIAL_ACCOUNT_EXISTS, SOCIAL_ACCOUNT_NOT_FOUND,
    SOCIAL_CODE_REJECTED, SOCIAL_INVALID_RESPONSE, SOCIAL_INVALID_TOKEN,
    SOCIAL_PROVIDER_UNAVAILABLE, SOCIAL_PROVIDERS_UNAVAILABLE, SOCIAL_STATE_MISMATCH, SocialPrompt,
};
/// The model's flow type and status, which every adapter speaks: re-exported so that an adapter
/// depends on the engine alone.
pub use flow_model::{FlowStatus, FlowType};
pub use flows::{
    FlowHead, FlowPage, FlowQuery, FlowRepository, FlowSelector, FlowVersion, StoredFlow,
};
pub use handler::{HandlerContext, HandlerOutcome, HandlerRegistry, NodeHandler};
pub use identifier::{canonical_identifier, identifier_skeleton};
pub use imported_hash::HashImportError;
pub use invitation::{
    CODE_PLACEHOLDER, DEFAULT_INVITATION_TTL_SECS, INVITATION_TEMPLATE, InvitationService,
    MAX_INVITATION_TTL_SECS, MIN_INVITATION_TTL_SECS,
};
pub use outcome::{
    ACTION_FALLBACK, ACTION_SUBMIT, Action, FIELD_CODE, FIELD_CONFIRMATION_CODE, FIELD_CREDENTIAL,
    FIELD_IDENTIFIER, FIELD_ORIGIN, FIELD_PASSWORD, FIELD_PASSWORD_CONFIRM, Field, FieldError,
    FieldHints, FieldKind, Form, FormPurpose, Outcome, PasskeyPrompt, TotpEnrollment,
};
pub use passkeys::{
    CeremonyKind, MAX_CREDENTIAL_BYTES, PasskeyCeremony, PasskeySettings, SignCountPolicy,
};
pub use ports::{
    Clock, CodeCheck, CodeStore, ExecutionStore, FailedLogins, Invitation, InvitationId,
    InvitationState, InvitationStore, KeyStore, LoginAttempts, Mailer, OsRandom, OutgoingMessage,
    Ports, Random, SmsSender, StoredCode, StoredKey, SystemClock, UserDirectory,
};
pub use programs::DEFAULT_PROGRAM_CACHE_CAPACITY;
pub use steps::{
    CREDENTIALS_CHANGED, FIELD_ERROR, FIELD_STATE, IDENTIFIER_INVALID_CHARACTERS,
    MFA_NOT_CONFIGURED, PASSKEY_NOT_CONFIGURED, PASSKEYS_UNAVAILABLE, SIGN_IN_REQUIRED,
    SMS_NOT_SENT,
};
pub use totp::{DEFAULT_TOTP_ISSUER, TotpCredential, TotpSecret};
pub use types::CredentialKind;
pub use types::{
    DEFAULT_TENANT, Execution, ExecutionId, ExecutionStatus, NewUser, PendingCode, ProgramRef,
    RequestContext, SessionUser, StoredPasskey, Submission, TenantId, TraceEntry, User, UserId,
    UserQuery,
};
pub use webhooks::{
    MAX_WEBHOOK_RESPONSE_BYTES, MAX_WEBHOOK_TIMEOUT_MS, WEBHOOK_BODY_FAILED,
    WEBHOOK_INVALID_RESPONSE, WEBHOOK_MAPPING_FAILED, WEBHOOK_UNAVAILABLE, WebhookClient,
    WebhookError, WebhookRequest, WebhookResponse,
};

/// Locks a mutex, recovering the data if another thread panicked while holding it (every
/// critical section here leaves the data consistent, so a poisoned lock is still usable).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
