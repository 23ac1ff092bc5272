//! The ports: traits the engine calls for storage and side effects, implemented by adapters
//! (`memory` here, SQL and SMTP in `flow-store`).
//!
//! The traits are **synchronous** and object-safe (`Arc<dyn ...>`). The engine is synchronous
//! as a whole: argon2 hashing and blocking database drivers (diesel) dominate its cost, so an
//! async server runs each engine call on a blocking pool (`actix_web::web::block`,
//! `tokio::task::spawn_blocking`) and never on the async executor. A sync trait keeps adapters
//! simple (no boxed futures) and lets embedders without an async runtime use the engine.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    Execution, ExecutionId, FlowRepository, NewUser, PortError, StoredPasskey, TenantId,
    TotpCredential, TraceEntry, User, UserId, UserQuery, types::CredentialKind,
};

/// Persists executions and their traces. Saves are compare-and-swap on
/// [`Execution::revision`], so of two concurrent submissions exactly one wins.
///
/// The trace is kept beside the execution record, so that the record stays small: every
/// insert and save appends the entries its request wrote (numbered on from
/// [`Execution::traced`]), in the same transaction, and the store keeps the last
/// [`MAX_TRACE_ENTRIES`](crate::MAX_TRACE_ENTRIES) of them.
pub trait ExecutionStore: Send + Sync {
    /// Stores a new execution with its first trace entries; [`PortError::Duplicate`] if the
    /// id exists.
    fn insert(&self, execution: &Execution, trace: &[TraceEntry]) -> Result<(), PortError>;

    /// Loads the execution of `tenant` with this id (`None` for another tenant's).
    fn load(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Option<Execution>, PortError>;

    /// Replaces the stored execution if its revision is still `expected_revision`, and
    /// appends `trace`; [`PortError::Conflict`] otherwise, [`PortError::NotFound`] if it is
    /// gone. Nothing is written when it fails.
    fn save(
        &self,
        execution: &Execution,
        expected_revision: u64,
        trace: &[TraceEntry],
    ) -> Result<(), PortError>;

    /// The kept trace of the execution of `tenant` with this id, oldest first; `None` if
    /// there is no such execution.
    fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Option<Vec<TraceEntry>>, PortError>;

    /// Deletes executions (and their traces) that expired before `now_secs`; returns how many.
    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError>;
}

/// Users, their attributes and their credentials (password hash, authenticator app), per
/// tenant.
pub trait UserDirectory: Send + Sync {
    /// The user with this normalized identifier in `tenant`.
    fn find_by_identifier(
        &self,
        tenant: &TenantId,
        identifier: &str,
    ) -> Result<Option<User>, PortError>;

    /// The user with this id in `tenant`.
    fn get(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, PortError>;

    /// Whether a user of `tenant` has an identifier whose confusable skeleton
    /// ([`identifier_skeleton`](crate::identifier_skeleton)) is `skeleton`.
    fn skeleton_taken(&self, tenant: &TenantId, skeleton: &str) -> Result<bool, PortError>;

    /// Creates a user; [`PortError::Duplicate`] if the identifier (or id) is taken in `tenant`,
    /// or if another user's identifier has the same confusable skeleton
    /// ([`identifier_skeleton`](crate::identifier_skeleton), which the directory computes and
    /// keeps with the user): a look-alike is refused exactly like a duplicate.
    fn create(&self, tenant: &TenantId, user: NewUser) -> Result<User, PortError>;

    /// Creates several users (an import), each exactly as [`Self::create`] would: one result
    /// per user, in order. A store with transactions writes them in one, each user in a
    /// savepoint of its own; the `Err` of the whole call means none was written.
    fn create_many(
        &self,
        tenant: &TenantId,
        users: Vec<NewUser>,
    ) -> Result<Vec<Result<User, PortError>>, PortError> {
        Ok(users
            .into_iter()
            .map(|user| self.create(tenant, user))
            .collect())
    }

    /// The users of `tenant` that [`UserQuery`] selects, ordered by identifier: those whose
    /// identifier starts with `identifier_prefix` and comes after `after`, at most `limit`.
    fn list(&self, tenant: &TenantId, query: &UserQuery) -> Result<Vec<User>, PortError>;

    /// Deletes the user with its credentials (password, authenticator app);
    /// [`PortError::NotFound`] if `tenant` has no such user.
    fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), PortError>;

    /// Removes the user's credential of `kind`; removing the authenticator app also removes
    /// `totp` from the user's second factors. [`PortError::NotFound`] if the user has none of
    /// that kind (or does not exist).
    fn remove_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        kind: CredentialKind,
    ) -> Result<(), PortError>;

    /// Disables the user from `disabled_at` (Unix seconds), or enables it again (`None`);
    /// [`PortError::NotFound`] if `tenant` has no such user.
    fn set_disabled(
        &self,
        tenant: &TenantId,
        id: &UserId,
        disabled_at: Option<i64>,
    ) -> Result<(), PortError>;

    /// Records that the user's password changed (or was removed) at `at` (Unix seconds), so
    /// that sessions and executions of before no longer count; [`PortError::NotFound`] if
    /// there is no such user.
    fn mark_password_changed(
        &self,
        tenant: &TenantId,
        id: &UserId,
        at: i64,
    ) -> Result<(), PortError>;

    /// Adds a passkey to the user; [`PortError::Duplicate`] if its credential id is taken in
    /// the tenant, [`PortError::NotFound`] if there is no such user.
    fn add_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        passkey: &StoredPasskey,
    ) -> Result<(), PortError>;

    /// The user's passkeys, oldest first.
    fn passkeys(&self, tenant: &TenantId, id: &UserId) -> Result<Vec<StoredPasskey>, PortError>;

    /// The owner of the passkey with this credential id, and the passkey (for a sign-in
    /// without an identifier).
    fn passkey_by_credential(
        &self,
        tenant: &TenantId,
        credential_id: &str,
    ) -> Result<Option<(UserId, StoredPasskey)>, PortError>;

    /// Records a sign-in with the passkey: its new data, counter and backup state, and when;
    /// [`PortError::NotFound`] if the user has no such passkey.
    fn record_passkey_use(
        &self,
        tenant: &TenantId,
        id: &UserId,
        used: &StoredPasskey,
    ) -> Result<(), PortError>;

    /// Removes one passkey of the user; [`PortError::NotFound`] if it has no such passkey.
    fn remove_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential_id: &str,
    ) -> Result<(), PortError>;

    /// The user's argon2 PHC password hash, if the user has a password.
    fn password_hash(&self, tenant: &TenantId, id: &UserId) -> Result<Option<String>, PortError>;

    /// Sets the user's password hash; [`PortError::NotFound`] if there is no such user.
    fn set_password_hash(
        &self,
        tenant: &TenantId,
        id: &UserId,
        hash: &str,
    ) -> Result<(), PortError>;

    /// Merges `attributes` into the user's attributes (a key with `null` removes it).
    fn set_attributes(
        &self,
        tenant: &TenantId,
        id: &UserId,
        attributes: &Map<String, Value>,
    ) -> Result<(), PortError>;

    /// Adds `method` (`totp`) to the user's enrolled second factors ([`User::mfa_methods`])
    /// unless it is there; [`PortError::NotFound`] if there is no such user.
    fn add_mfa_method(&self, tenant: &TenantId, id: &UserId, method: &str)
    -> Result<(), PortError>;

    /// The user's authenticator app (TOTP credential), if one is enrolled.
    fn totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Option<TotpCredential>, PortError>;

    /// Stores the user's authenticator app, replacing an earlier one (with its
    /// [`TotpCredential::last_step`]); [`PortError::NotFound`] if there is no such user.
    fn set_totp_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential: &TotpCredential,
    ) -> Result<(), PortError>;

    /// Records that a code of time step `step` was accepted, if `step` is newer than the last
    /// accepted one, in one atomic step: `true` if this call recorded it, `false` if the step
    /// (or a later one) was used already or the user has no TOTP credential. Of two concurrent
    /// calls with one step, exactly one gets `true`, so a code works once.
    fn accept_totp_step(
        &self,
        tenant: &TenantId,
        id: &UserId,
        step: u64,
    ) -> Result<bool, PortError>;
}

/// A one-time code at rest: only its salted hash, an expiry and the attempts left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// Salted hash of the code (hex), as made by the engine.
    pub hash: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Wrong guesses allowed before the code is deleted.
    pub attempts_left: u32,
}

/// The result of checking a code with [`CodeStore::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matched and has been consumed.
    Valid,
    /// It did not match; `attempts_left` more guesses are allowed (0: the code is gone).
    Invalid {
        /// Guesses left.
        attempts_left: u32,
    },
    /// The code expired (and has been deleted).
    Expired,
    /// No code is stored under the key.
    Missing,
}

/// One-time codes, stored hashed with an expiry and an attempt budget.
pub trait CodeStore: Send + Sync {
    /// Stores (or replaces) the code under `key`.
    fn put(&self, tenant: &TenantId, key: &str, code: StoredCode) -> Result<(), PortError>;

    /// Atomically checks the code under `key`: `matches` compares a candidate against the stored
    /// hash. A match consumes the code; a miss spends one attempt.
    fn verify(
        &self,
        tenant: &TenantId,
        key: &str,
        now_secs: i64,
        matches: &dyn Fn(&StoredCode) -> bool,
    ) -> Result<CodeCheck, PortError>;

    /// Deletes codes that expired before `now_secs`; returns how many.
    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError>;
}

/// What a [`LoginAttempts`] store holds for one user at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogins {
    /// Failed sign-ins in the current window (0 once the window has ended).
    pub count: u32,
    /// When the lock ends (Unix seconds), if the user is locked at the instant asked about.
    pub locked_until: Option<i64>,
}

/// Failed password verifications per user, shared by every execution, process and replica
/// that uses the store: the per-user attempt limit (temporary lockout) that holds when an
/// attacker starts a new execution for every guess.
///
/// The engine records failures only for existing users (never for a typed identifier that
/// matches nobody), locks a user with [`LoginAttempts::lock`] when
/// [`LoginAttempts::record_failure`] reaches its limit, and resets on a successful sign-in.
/// Counting is atomic: of `n` concurrent failures none is lost.
pub trait LoginAttempts: Send + Sync {
    /// Records one failed sign-in of `user` at `now_secs` and returns the failures in the
    /// current window, this one included. A window starts with the first failure after the
    /// previous one ended and lasts `window_secs`; a failure after its end counts 1 again.
    fn record_failure(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
        window_secs: i64,
    ) -> Result<u32, PortError>;

    /// Locks `user` until `until_secs` (a later lock replaces an earlier one). The current
    /// window is stretched to the lock's end, so counting starts afresh once the lock is over.
    fn lock(&self, tenant: &TenantId, user: &UserId, until_secs: i64) -> Result<(), PortError>;

    /// What is stored for `user`, seen at `now_secs`; `None` if nothing is.
    fn failed_logins(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
    ) -> Result<Option<FailedLogins>, PortError>;

    /// Forgets the failures and any lock of `user` (after a successful sign-in).
    fn reset(&self, tenant: &TenantId, user: &UserId) -> Result<(), PortError>;

    /// Deletes the records whose window and lock both ended by `now_secs`; returns how many.
    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError>;
}

/// The id of an invitation: `inv_` and 16 lowercase hex characters, unique per tenant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(String);

impl InvitationId {
    /// An invitation id from its text.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InvitationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An invitation at rest: who is invited, the hash of the one-time code that was mailed (never
/// the code), and its life. Made by [`InvitationService`](crate::InvitationService).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The id (for listing and revoking).
    pub id: InvitationId,
    /// The invited e-mail address, normalized: the identifier of the account it creates.
    pub email: String,
    /// SHA-256 (hex) of the code, unique per tenant; lookups go by it.
    pub code_hash: String,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// From this instant on (Unix seconds) the invitation can no longer be redeemed.
    pub expires_at: i64,
    /// When an account was created with it; a used invitation cannot be used again.
    pub used_at: Option<i64>,
    /// When an administrator revoked it.
    pub revoked_at: Option<i64>,
}

/// Where an [`Invitation`] stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// It can be redeemed.
    Pending,
    /// An account was created with it.
    Used,
    /// An administrator revoked it.
    Revoked,
    /// It expired unused.
    Expired,
}

impl Invitation {
    /// Its state at `now_secs`: used and revoked win over expired.
    pub fn state(&self, now_secs: i64) -> InvitationState {
        if self.used_at.is_some() {
            InvitationState::Used
        } else if self.revoked_at.is_some() {
            InvitationState::Revoked
        } else if self.expires_at <= now_secs {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }
}

/// Invitations per tenant. Consuming is atomic: of two executions redeeming one invitation,
/// exactly one consumes it.
pub trait InvitationStore: Send + Sync {
    /// Stores a new invitation; [`PortError::Duplicate`] if its id or code hash exists in
    /// `tenant`.
    fn insert_invitation(
        &self,
        tenant: &TenantId,
        invitation: &Invitation,
    ) -> Result<(), PortError>;

    /// The invitation with this id.
    fn invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, PortError>;

    /// The invitation whose code hashes to `code_hash`, whatever its state.
    fn invitation_by_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
    ) -> Result<Option<Invitation>, PortError>;

    /// Marks the invitation used at `now_secs` if it is [`InvitationState::Pending`] then, in
    /// one atomic step; `true` if this call consumed it, `false` if it was used, revoked,
    /// expired or is unknown.
    fn consume_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<bool, PortError>;

    /// Undoes a consumption whose account could not be created (clears `used_at`).
    fn release_invitation(&self, tenant: &TenantId, id: &InvitationId) -> Result<(), PortError>;

    /// Every invitation of `tenant`, newest first (by creation time, then id).
    fn invitations(&self, tenant: &TenantId) -> Result<Vec<Invitation>, PortError>;

    /// Revokes the invitation at `now_secs` unless it is used or already revoked (then nothing
    /// changes); [`PortError::NotFound`] if there is no such invitation.
    fn revoke_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<(), PortError>;
}

/// A signing key at rest: its id, algorithm and private key. [`Debug`] never prints the
/// private key.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key id (`kid`), unique per tenant.
    pub kid: String,
    /// The JOSE algorithm name (`EdDSA`).
    pub algorithm: String,
    /// The private key as PKCS#8 DER. It never leaves the server.
    pub private_pkcs8_der: Vec<u8>,
    /// When it was made, Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Signing keys per tenant (for tokens such as WSO2's user assertion, and the JWKS that
/// publishes their public halves). Keys are only ever added: the newest one signs and all are
/// published, so a rotation never breaks the verification of tokens signed with an older key.
/// Every replica sharing a store sees the same keys in the same order, so they sign alike.
pub trait KeyStore: Send + Sync {
    /// Every key of `tenant`, oldest first: in the order they were added (`created_at` is
    /// informational and may tie; the last key returned is the newest).
    fn keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, PortError>;

    /// Adds a key to `tenant`; [`PortError::Duplicate`] if its `kid` exists in the tenant.
    fn add(&self, tenant: &TenantId, key: StoredKey) -> Result<(), PortError>;
}

/// A message to send through a [`Mailer`] or [`SmsSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The tenant sending it.
    pub tenant: TenantId,
    /// Template name (`password_reset_code`).
    pub template: String,
    /// Recipient address or phone number.
    pub to: String,
    /// The one-time code to include, if any. Adapters must never log it.
    pub code: Option<String>,
    /// A link to include (an invitation's), if any. It may carry the code: never log it.
    pub link: Option<String>,
    /// The execution it belongs to; `None` for messages sent outside any execution
    /// (invitations).
    pub execution_id: Option<ExecutionId>,
    /// Preferred locale of the recipient.
    pub locale: Option<String>,
}

/// Sends e-mail.
pub trait Mailer: Send + Sync {
    /// Sends (or queues) one message.
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError>;
}

/// Sends text messages.
pub trait SmsSender: Send + Sync {
    /// Sends (or queues) one message.
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError>;
}

/// The time, so that tests can move it.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_millis(&self) -> i64;

    /// Now, in Unix seconds.
    fn now_secs(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }
}

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
    }
}

/// The operating system's generator (through `rand`'s thread-local CSPRNG).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, dest: &mut [u8]) {
        rand::fill(dest);
    }
}

/// Every port the engine uses, as shared trait objects.
#[derive(Clone)]
pub struct Ports {
    /// Execution persistence.
    pub executions: Arc<dyn ExecutionStore>,
    /// Flows and their compiled versions: where the program an execution references is found
    /// when the engine's cache does not hold it.
    pub flows: Arc<dyn FlowRepository>,
    /// Users and credentials.
    pub users: Arc<dyn UserDirectory>,
    /// One-time codes.
    pub codes: Arc<dyn CodeStore>,
    /// Invitations (redeemed by `invited_registration` flows).
    pub invitations: Arc<dyn InvitationStore>,
    /// Failed sign-ins per user (the per-user attempt limit).
    pub login_attempts: Arc<dyn LoginAttempts>,
    /// The event log.
    pub events: Arc<dyn crate::events::EventLog>,
    /// E-mail.
    pub mailer: Arc<dyn Mailer>,
    /// Text messages; without one, `send_sms` steps fail with `unsupported_step`.
    pub sms: Option<Arc<dyn SmsSender>>,
    /// The tenants' identity providers (social login).
    pub identity_providers: Arc<dyn crate::IdentityProviderStore>,
    /// The users' links to provider accounts.
    pub identity_links: Arc<dyn crate::IdentityLinks>,
    /// Talks to identity providers; without one, social login steps offer no provider.
    pub federation: Option<Arc<dyn crate::FederationClient>>,
    /// Sends webhook calls; without one, `webhook` steps take their `false` edge
    /// (`webhook_unavailable`).
    pub webhooks: Option<Arc<dyn crate::WebhookClient>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for ids, codes and salts.
    pub random: Arc<dyn Random>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports")
            .field("sms", &self.sms.is_some())
            .field("federation", &self.federation.is_some())
            .finish_non_exhaustive()
    }
}
