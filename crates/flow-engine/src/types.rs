//! Domain types of the engine: tenants, ids, request context, submissions, users and the
//! execution snapshot that stores persist.

use flow_compiler::Program;
use flow_model::FlowType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

use crate::Form;

/// The built-in tenant that a single-tenant deployment uses without noticing.
pub const DEFAULT_TENANT: &str = "default";

/// A tenant: every execution, user and code belongs to exactly one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// A tenant with the given id (resolved by the HTTP layer, e.g. from the `Host` header).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TenantId {
    /// The built-in [`DEFAULT_TENANT`].
    fn default() -> Self {
        Self(DEFAULT_TENANT.to_owned())
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one flow execution: a random UUID v4, unguessable, used as `flowId` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(Uuid);

impl ExecutionId {
    /// Builds a v4 id from 16 random bytes (the version and variant bits are set here).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// Parses an id from its hyphenated text form; anything but a UUID v4 is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text)
            .ok()
            .filter(|uuid| uuid.get_version_num() == 4)
            .map(Self)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// The id of a user, unique within a tenant. The engine generates UUID v4 text for new users;
/// directories may hold other ids for users they imported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// A user id from its text.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most characters of a header value a [`RequestContext`] keeps.
pub(crate) const MAX_HEADER_CHARS: usize = 512;

/// Facts about the request that started an execution, resolved by the protocol adapter.
/// Conditions see them as the `request` variable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    /// The tenant the request was made for.
    pub tenant: TenantId,
    /// The client's address, as the adapter determined it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The `User-Agent` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The `Origin` of the client application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The preferred locale (`en-GB`), for messages and templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The user the adapter's session has already signed in. The engine uses it only for
    /// `mfa_setup` flows, which start with this user identified and authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SessionUser>,
    /// Whether identity providers send the person back to the server's own callback (the
    /// session protocol and the hosted pages), not to the provider's `redirect_uri` (API
    /// clients).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub server_callback: bool,
}

/// A user signed in by an adapter's session (authentik's cookie session, say), handed to the
/// engine in [`RequestContext::user`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    /// The signed-in user.
    pub id: UserId,
    /// The authentication methods of the sign-in (`password`, `totp`).
    pub methods: Vec<String>,
    /// When the session signed the user in (Unix seconds): a password changed since ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_at: Option<i64>,
}

impl RequestContext {
    /// A context for `tenant` with nothing else known.
    pub fn for_tenant(tenant: TenantId) -> Self {
        Self {
            tenant,
            ..Self::default()
        }
    }

    /// A context from what a protocol adapter read off a request: the peer address and the
    /// raw `User-Agent`, `Origin` and `Accept-Language` header values. Header values are cut
    /// to 512 characters; the locale is the first language tag (`*` means none).
    pub fn from_request(
        tenant: TenantId,
        client_ip: Option<String>,
        user_agent: Option<&str>,
        origin: Option<&str>,
        accept_language: Option<&str>,
    ) -> Self {
        let cut = |value: &str| value.chars().take(MAX_HEADER_CHARS).collect::<String>();
        Self {
            tenant,
            client_ip,
            user_agent: user_agent.map(cut),
            origin: origin.map(cut),
            locale: accept_language.and_then(|value| {
                value
                    .split([',', ';'])
                    .next()
                    .map(|tag| cut(tag.trim()))
                    .filter(|tag| !tag.is_empty() && tag != "*")
            }),
            user: None,
            server_callback: false,
        }
    }

    /// The same context, for an adapter whose identity-provider sign-ins come back to the
    /// server's own callback ([`RequestContext::server_callback`]).
    pub fn returning_to_server(mut self) -> Self {
        self.server_callback = true;
        self
    }

    /// The same context with the user the adapter's session signed in.
    pub fn with_user(mut self, user: SessionUser) -> Self {
        self.user = Some(user);
        self
    }
}

/// What the client sent to continue an execution: the chosen action and the field values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The action the user chose; `None` means the prompt's primary action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    /// Field values by field name.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
}

impl Submission {
    /// A submission of the primary action with the given inputs.
    pub fn with_inputs<K, V>(inputs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            action_id: None,
            inputs: inputs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }

    /// The trimmed value of `field`, or `None` when it is missing or blank.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.inputs
            .get(field)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The value of `field` exactly as sent (passwords are not trimmed), `None` when empty.
    pub fn raw(&self, field: &str) -> Option<&str> {
        self.inputs
            .get(field)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// A request is running server steps; a concurrent resume gets `conflict`.
    Running,
    /// Waiting for the user's input at `pc`.
    Waiting,
    /// Ended successfully.
    Completed,
    /// Ended unsuccessfully; `failure` holds the code.
    Failed,
}

impl ExecutionStatus {
    /// Whether the execution has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// One entry of an execution's debugging trace. It never holds a password, secret or code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// Index of the step in the program.
    pub step: usize,
    /// The graph node the step came from.
    pub node_id: String,
    /// The step's operation (`verify_password`).
    pub op: String,
    /// A short result code (`prompt`, `accepted`, `rejected:invalid_credentials`, `true`).
    pub result: String,
    /// Extra detail for operators, e.g. why a condition could not be evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the step ran (Unix milliseconds).
    pub at_ms: i64,
}

/// A one-time code an earlier step sent, which a later `verify_otp` step checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// The key the code is stored under in the [`CodeStore`](crate::CodeStore).
    pub key: String,
    /// The authentication method verifying it completes (`email_otp`, `sms_otp`).
    pub method: String,
}

/// Which compiled program an execution runs, by reference: the flow, its version and the
/// program's content hash, plus the facts adapters and metrics need without loading it.
///
/// Programs are immutable, so a reference is enough: the engine finds the program in its cache
/// or in the flow repository's versions, and refuses one whose content hash differs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProgramRef {
    /// The flow the program was compiled from.
    pub flow_id: String,
    /// The flow's version this program is.
    pub version: u32,
    /// The program's content hash ([`Program::content_hash`]).
    pub content_hash: String,
    /// The flow's name when it was compiled (metrics labels).
    pub flow_name: String,
    /// The flow's type (what adapters render and check).
    pub flow_type: FlowType,
}

impl ProgramRef {
    /// The reference of `program`.
    pub fn of(program: &Program) -> Self {
        Self {
            flow_id: program.flow_id.clone(),
            version: program.version,
            content_hash: program.content_hash.clone(),
            flow_name: program.flow_name.clone(),
            flow_type: program.flow_type,
        }
    }

    /// Whether `program` is the program this reference names.
    pub fn names(&self, program: &Program) -> bool {
        self.flow_id == program.flow_id
            && self.version == program.version
            && self.content_hash == program.content_hash
    }
}

/// The state of one flow execution: plain data, persisted by the request that changes it.
///
/// Its size does not grow with the flow: the program is referenced ([`ProgramRef`]), and the
/// trace is stored beside the execution, appended to by each save (see
/// [`ExecutionStore`](crate::ExecutionStore)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// The execution id.
    pub id: ExecutionId,
    /// The tenant it runs in.
    pub tenant: TenantId,
    /// The program it started with; it stays pinned to that version even when the flow is
    /// recompiled. (Records of format 1 embedded the whole program; its header reads as this
    /// reference.)
    pub program: ProgramRef,
    /// The step to run (or the step waiting for input).
    pub pc: usize,
    /// Where it stands.
    pub status: ExecutionStatus,
    /// The request that started it.
    pub request: RequestContext,
    /// The wire protocol that started it, as its adapter names itself (see
    /// [`crate::Engine::start_via`]); only the same protocol may continue it. `None`: any
    /// caller may (embedders, and executions stored before protocols were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The identifier the user typed, normalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// The identified (or created) user; `None` for an unknown identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Attributes collected so far (prompt answers, `set_attribute`).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Non-secret inputs of the last accepted submission (the `inputs` of conditions).
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Authentication methods completed (`password`, `email_otp`).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Failed attempts per kind (`password`, `code`).
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
    /// Argon2 hash of a new password collected for a later `success` step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_password_hash: Option<String>,
    /// The code a later `verify_otp` step checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_code: Option<PendingCode>,
    /// The secret of an authenticator app being set up (`enroll_totp`), until a code proves
    /// the app has it; then it is stored with the user. Never traced or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<crate::TotpSecret>,
    /// A passkey ceremony a `webauthn` step started, until it is answered (its challenge is
    /// single-use). Never traced or logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<crate::PasskeyCeremony>,
    /// A passkey a registration flow registered, stored with the user it creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_passkey: Option<StoredPasskey>,
    /// The id the user a registration flow creates is given: fixed as soon as a passkey is
    /// registered for it (the passkey carries it as its user handle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_user_id: Option<UserId>,
    /// A sign-in with an identity provider between its redirect and its callback (`state`,
    /// nonce, PKCE verifier), or an account waiting to be proven before it is linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation: Option<crate::FederationState>,
    /// The invitation redeemed by an `invited_registration` flow; it is consumed when the
    /// user is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<crate::InvitationId>,
    /// The form the execution waits on (with the errors of the last submission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Form>,
    /// The failure code once the execution failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Last change (Unix seconds).
    pub updated_at: i64,
    /// After this instant (Unix seconds) the execution can no longer be resumed.
    pub expires_at: i64,
    /// Incremented by every save; stores compare and swap on it.
    pub revision: u64,
    /// How many trace entries the execution has written in all (the store keeps the last
    /// [`MAX_TRACE_ENTRIES`](crate::MAX_TRACE_ENTRIES)). Records of format 1 kept the trace
    /// inline, and it is dropped when they are read.
    #[serde(default)]
    pub traced: u64,
}

/// A user as the directory holds it. Credentials (the password hash) are kept apart and only
/// read through [`UserDirectory::password_hash`](crate::UserDirectory::password_hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// The normalized identifier (e-mail address, username or phone number), unique per tenant.
    pub identifier: String,
    /// Profile attributes (`email`, `given_name`, ...).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// Enrolled second factors (`totp`, `webauthn`); empty means MFA is not enabled.
    #[serde(default)]
    pub mfa_methods: Vec<String>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// When an administrator disabled the user (Unix seconds); `None` while it may sign in.
    /// A disabled user is answered like an unknown identifier.
    #[serde(default)]
    pub disabled_at: Option<i64>,
    /// When a recovery last changed the user's password, or an administrator removed it
    /// (Unix seconds); `None` if never. Sessions and executions of before no longer count.
    #[serde(default)]
    pub password_changed_at: Option<i64>,
}

impl User {
    /// Whether the password changed after `at` (Unix seconds): a session signed in, or an
    /// execution started, at `at` no longer counts. A change within the same second does not
    /// end it.
    pub fn password_changed_after(&self, at: i64) -> bool {
        self.password_changed_at.is_some_and(|changed| changed > at)
    }
}

/// A passkey (WebAuthn credential) of a user, as the directory keeps it. `data` is the
/// relying party's serialized credential (public key and counters), opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The credential id, base64url without padding; unique in the tenant.
    pub credential_id: String,
    /// The name the user or its authenticator gave it.
    pub name: String,
    /// The serialized credential.
    pub data: String,
    /// The authenticator's signature counter at the last use (0 for those that keep none).
    pub sign_count: u32,
    /// Whether the credential may be synced to other devices.
    pub backup_eligible: bool,
    /// Whether it is backed up (synced) now.
    pub backup_state: bool,
    /// Enrolment time (Unix seconds).
    pub created_at: i64,
    /// Last sign-in with it (Unix seconds).
    pub last_used_at: Option<i64>,
}

impl StoredPasskey {
    /// Takes what a sign-in with the passkey changed from `used`: the serialized credential,
    /// the counter, the backup state and the time of use.
    pub fn record_use(&mut self, used: &StoredPasskey) {
        self.data.clone_from(&used.data);
        self.sign_count = used.sign_count;
        self.backup_state = used.backup_state;
        self.last_used_at = used.last_used_at;
    }
}

/// A kind of credential a user may hold, as the admin API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// The password (an argon2 hash).
    Password,
    /// The authenticator app (a TOTP secret).
    Totp,
    /// Passkeys (WebAuthn credentials); removing this kind removes all of them.
    Passkey,
}

impl CredentialKind {
    /// The wire name (`password`, `totp`, `passkey`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Totp => "totp",
            Self::Passkey => "passkey",
        }
    }

    /// The kind named `name` on the wire.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Password, Self::Totp, Self::Passkey]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Which users [`UserDirectory::list`](crate::UserDirectory::list) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Only identifiers that start with this (normalized) text.
    pub identifier_prefix: Option<String>,
    /// Only identifiers after this one (the last of the previous page).
    pub after: Option<String>,
    /// Only disabled users (`Some(true)`) or only enabled ones (`Some(false)`).
    pub disabled: Option<bool>,
    /// Only users created at or after this time (Unix seconds).
    pub created_from: Option<i64>,
    /// Only users created before this time (Unix seconds).
    pub created_before: Option<i64>,
    /// At most this many users.
    pub limit: usize,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The id to give the user.
    pub id: UserId,
    /// The normalized identifier; it must not be taken in the tenant.
    pub identifier: String,
    /// Argon2 PHC string of the initial password, if the flow set one.
    pub password_hash: Option<String>,
    /// Initial profile attributes.
    pub attributes: Map<String, Value>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// When the user was disabled (an import may bring disabled users); `None` if active.
    pub disabled_at: Option<i64>,
    /// When its password last changed, for [`User::password_changed_at`]: an import sets it,
    /// so that sessions of a deleted user whose id an import brings back do not count.
    pub password_changed_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn request_contexts_keep_short_headers_and_the_first_language() {
        let long = "x".repeat(600);
        let context = RequestContext::from_request(
            TenantId::default(),
            Some("127.0.0.1".to_owned()),
            Some(&long),
            Some("https://app.example.com"),
            Some("en-GB, fr;q=0.8"),
        );
        assert_eq!(context.user_agent.as_deref().map(str::len), Some(512));
        assert_eq!(context.origin.as_deref(), Some("https://app.example.com"));
        assert_eq!(context.locale.as_deref(), Some("en-GB"));
        let any = RequestContext::from_request(TenantId::default(), None, None, None, Some("*"));
        assert_eq!(any.locale, None);
        assert_eq!(any.client_ip, None);
        assert_eq!(any.user, None);
        let user = SessionUser {
            id: UserId::new("u1"),
            methods: vec!["password".to_owned()],
            signed_in_at: None,
        };
        let signed_in = any.clone().with_user(user.clone());
        assert_eq!(signed_in.user, Some(user));
        let json = serde_json::to_value(&signed_in).unwrap();
        assert_eq!(json["user"]["id"], "u1");
        assert!(serde_json::to_value(&any).unwrap().get("user").is_none());
    }
}
