//! The application service of user administration: list, look up, create, delete and unlock
//! the people who sign in. The admin API only calls it. Identifiers go through the same
//! normalization as the flows' (so `Ann@Example.com` and `ann@example.com` are one user), and
//! passwords through the same policy and hashing.

mod import;
mod links;

use std::sync::Arc;

use flow_compiler::PasswordPolicy;
use flow_model::{DEFAULT_PASSWORD_SCORE, IdentifierType};
use serde_json::{Map, Value};

use crate::events::EventDraft;
use crate::identifier::{canonical_identifier, normalize};
use crate::password::policy_violation;
use crate::{
    CredentialKind, Engine, Event, EventKind, EventOrigin, EventQuery, NewUser, PortError,
    TenantId, User, UserId, UserQuery,
};

pub use import::{
    ImportReport, ImportedHash, LineError, MAX_IMPORT_LINE_BYTES, MAX_REPORTED_ERRORS, UserRecord,
};

/// The mail template of a recovery mail an administrator sends.
pub const RECOVERY_LINK_TEMPLATE: &str = "password_recovery_link";

/// The shortest password an administrator may set (the flows' `password_input` default).
pub const ADMIN_PASSWORD_MIN_LENGTH: u32 = 8;

/// Why an [`Accounts`] call failed. Each variant has a stable machine code
/// ([`AccountError::code`]) that the admin API maps to its HTTP status and error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// No user has this id in the tenant.
    #[error("no such user")]
    NotFound,
    /// The user has no credential of this kind (or the kind is not one flowd knows).
    #[error("the user has no such credential")]
    CredentialNotFound,
    /// The user has no link to an account at this identity provider.
    #[error("the user has no link to this identity provider")]
    IdentityLinkNotFound,
    /// The identifier, or one that looks like it, belongs to another user.
    #[error("a user with this identifier (or one that looks like it) exists")]
    IdentifierTaken,
    /// Not an e-mail address, username or phone number flowd accepts.
    #[error("not a valid identifier (an e-mail address, a username or a phone number)")]
    InvalidIdentifier,
    /// The password breaks the policy: the flows' field error code and message.
    #[error("{message}")]
    PasswordRefused {
        /// The flows' field error code (`password_too_short`, `password_too_weak`, ...).
        code: &'static str,
        /// What to change.
        message: String,
    },
    /// The user is disabled: it cannot recover (a recovery mail is refused).
    #[error("the user is disabled")]
    UserDisabled,
    /// The user has no e-mail address to write to (neither its identifier nor its `email`
    /// attribute is one).
    #[error("the user has no e-mail address")]
    NoEmailAddress,
    /// No recovery flow is active, so a recovery mail would lead nowhere.
    #[error("no password recovery flow is active")]
    NoRecoveryFlow,
    /// The mailer refused the message.
    #[error("the mail could not be sent: {0}")]
    Mail(PortError),
    /// The store failed; the text (with its cause) is for operators.
    #[error("store unavailable: {0}")]
    Store(PortError),
}

impl AccountError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "user_not_found",
            Self::CredentialNotFound => "credential_not_found",
            Self::IdentityLinkNotFound => "identity_link_not_found",
            Self::IdentifierTaken => "identifier_taken",
            Self::InvalidIdentifier => "invalid_identifier",
            Self::PasswordRefused { code, .. } => code,
            Self::UserDisabled => "user_disabled",
            Self::NoEmailAddress => "no_email_address",
            Self::NoRecoveryFlow => "no_recovery_flow",
            Self::Mail(_) => "mail_unavailable",
            Self::Store(_) => "store_unavailable",
        }
    }
}

impl From<PortError> for AccountError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::NotFound => Self::NotFound,
            PortError::Duplicate => Self::IdentifierTaken,
            other => Self::Store(other),
        }
    }
}

/// A user to create from the admin API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAccount {
    /// The identifier as typed; it is normalized like a flow's.
    pub identifier: String,
    /// The initial password, if any (hashed with the engine's argon2id parameters).
    pub password: Option<String>,
    /// Profile attributes.
    pub attributes: Map<String, Value>,
}

/// A credential of a user as [`Accounts::credentials`] shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    /// What it is.
    pub kind: CredentialKind,
    /// When it was enrolled (Unix seconds), where the store keeps it (the authenticator app).
    pub created_at: Option<i64>,
    /// What a passkey shows: its id, name, last use, backup state and counter.
    pub passkey: Option<PasskeySummary>,
}

/// The public facts of a passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    /// The credential id (base64url).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The last sign-in with it (Unix seconds).
    pub last_used_at: Option<i64>,
    /// Whether it is backed up (synced to other devices).
    pub backup_state: bool,
    /// The authenticator's signature counter at the last use (0 for those that keep none).
    pub sign_count: u32,
}

/// One page of [`Accounts::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    /// The users, ordered by identifier.
    pub users: Vec<User>,
    /// The identifier to continue after, when there are more.
    pub next: Option<String>,
}

/// User administration over the engine's ports. Synchronous like the rest of the engine.
/// Every change is written to the event log as the administrator's ([`EventKind::Admin`]),
/// with the client of [`Accounts::with_origin`].
#[derive(Clone)]
pub struct Accounts {
    engine: Arc<Engine>,
    origin: EventOrigin,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// The service over `engine`'s user directory, failed-sign-in store, password hashing,
    /// clock and random generator.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            origin: EventOrigin::default(),
        }
    }

    /// The same service for a request of the client `origin`: its events carry its address
    /// and user agent.
    pub fn with_origin(&self, origin: EventOrigin) -> Self {
        Self {
            engine: self.engine.clone(),
            origin,
        }
    }

    /// Logs the administrator's `action` on `user` (none for an import).
    fn log(&self, tenant: &TenantId, kind: EventKind, reason: &str, user: Option<&User>) {
        let draft = EventDraft::success(kind).because(reason);
        let user = user.map(|user| (&user.id, user.identifier.as_str()));
        self.engine
            .log_admin_event(tenant, draft, user, &self.origin);
    }

    /// Events of `tenant`, newest first, as `query` selects them (`query.limit` at most); the
    /// id to continue before, when there are more.
    pub fn events(
        &self,
        tenant: &TenantId,
        query: EventQuery,
    ) -> Result<(Vec<Event>, Option<String>), AccountError> {
        let limit = query.limit;
        let query = EventQuery {
            limit: limit.saturating_add(1),
            ..query
        };
        let mut events = self.engine.ports().events.list(tenant, &query)?;
        let next = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|event| event.id.clone())
        } else {
            None
        };
        Ok((events, next))
    }

    /// Up to `query.limit` users ordered by identifier, as [`UserQuery`] selects them; the
    /// identifier prefix is normalized like an identifier first (so `ANN` finds `ann@…`).
    pub fn list(&self, tenant: &TenantId, query: UserQuery) -> Result<UserPage, AccountError> {
        let identifier_prefix = match query.identifier_prefix.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(canonical_identifier(text).ok_or(AccountError::InvalidIdentifier)?),
        };
        let limit = query.limit;
        let query = UserQuery {
            identifier_prefix,
            limit: limit.saturating_add(1),
            ..query
        };
        let mut users = self.engine.ports().users.list(tenant, &query)?;
        let next = if users.len() > limit {
            users.truncate(limit);
            users.last().map(|user| user.identifier.clone())
        } else {
            None
        };
        Ok(UserPage { users, next })
    }

    /// The user with this id.
    pub fn get(&self, tenant: &TenantId, id: &UserId) -> Result<User, AccountError> {
        self.engine
            .ports()
            .users
            .get(tenant, id)?
            .ok_or(AccountError::NotFound)
    }

    /// Creates a user, with a password when one is given. The identifier is normalized (an
    /// e-mail address, a username or a phone number) and must not be taken, nor look like a
    /// taken one.
    pub fn create(&self, tenant: &TenantId, new: NewAccount) -> Result<User, AccountError> {
        let identifier = normalize(
            &new.identifier,
            &[
                IdentifierType::Email,
                IdentifierType::Username,
                IdentifierType::Phone,
            ],
        )
        .map_err(|_| AccountError::InvalidIdentifier)?;
        let policy = PasswordPolicy {
            min_length: ADMIN_PASSWORD_MIN_LENGTH,
            min_score: DEFAULT_PASSWORD_SCORE,
            confirm: false,
        };
        let password_hash = match &new.password {
            None => None,
            Some(password) => {
                if let Some(violation) = policy_violation(password, policy, Some(&identifier)) {
                    return Err(AccountError::PasswordRefused {
                        code: violation.code(),
                        message: violation.message(),
                    });
                }
                let hash = self.engine.passwords.hash(password).map_err(|error| {
                    AccountError::Store(PortError::Unavailable(error.to_string()))
                })?;
                Some(hash)
            }
        };
        let user = NewUser {
            id: self.engine.new_user_id(),
            identifier,
            password_hash,
            attributes: new.attributes,
            created_at: self.engine.ports().clock.now_secs(),
            disabled_at: None,
            password_changed_at: None,
        };
        let user = self.engine.ports().users.create(tenant, user)?;
        self.log(tenant, EventKind::Admin, "user_created", Some(&user));
        Ok(user)
    }

    /// Deletes the user with its credentials and its failed sign-ins. No execution can sign
    /// it in any more, and its executor sessions end at their next request (the user is
    /// gone).
    pub fn delete(&self, tenant: &TenantId, id: &UserId) -> Result<(), AccountError> {
        let ports = self.engine.ports();
        let user = self.get(tenant, id)?;
        ports.users.delete(tenant, id)?;
        ports.login_attempts.reset(tenant, id)?;
        self.log(tenant, EventKind::Admin, "user_deleted", Some(&user));
        Ok(())
    }

    /// Disables the user: from now on it is answered like an unknown identifier (a sign-in
    /// gets the answer of a wrong password, a recovery sends nothing), its identifier stays
    /// taken, and its browser sessions end at their next request. Disabling a disabled user
    /// keeps the first time.
    pub fn disable(&self, tenant: &TenantId, id: &UserId) -> Result<User, AccountError> {
        self.set_disabled(tenant, id, true)
    }

    /// Enables a disabled user again (its password and authenticators are as they were).
    pub fn enable(&self, tenant: &TenantId, id: &UserId) -> Result<User, AccountError> {
        self.set_disabled(tenant, id, false)
    }

    /// Disables or enables the user, writing only when that changes something (so a second
    /// disable keeps the first time); the user after the call.
    fn set_disabled(
        &self,
        tenant: &TenantId,
        id: &UserId,
        disable: bool,
    ) -> Result<User, AccountError> {
        let mut user = self.get(tenant, id)?;
        if user.disabled_at.is_some() != disable {
            let disabled_at = disable.then(|| self.engine.ports().clock.now_secs());
            self.engine
                .ports()
                .users
                .set_disabled(tenant, id, disabled_at)?;
            user.disabled_at = disabled_at;
        }
        let action = if disable {
            "user_disabled"
        } else {
            "user_enabled"
        };
        self.log(tenant, EventKind::Admin, action, Some(&user));
        Ok(user)
    }

    /// The user's credentials, without their secrets: the password when one is set, the
    /// authenticator app when one is enrolled.
    pub fn credentials(
        &self,
        tenant: &TenantId,
        id: &UserId,
    ) -> Result<Vec<CredentialSummary>, AccountError> {
        self.get(tenant, id)?;
        let users = &self.engine.ports().users;
        let mut found = Vec::new();
        if users.password_hash(tenant, id)?.is_some() {
            found.push(CredentialSummary {
                kind: CredentialKind::Password,
                created_at: None,
                passkey: None,
            });
        }
        if let Some(totp) = users.totp_credential(tenant, id)? {
            found.push(CredentialSummary {
                kind: CredentialKind::Totp,
                created_at: Some(totp.created_at),
                passkey: None,
            });
        }
        for passkey in users.passkeys(tenant, id)? {
            found.push(CredentialSummary {
                kind: CredentialKind::Passkey,
                created_at: Some(passkey.created_at),
                passkey: Some(PasskeySummary {
                    id: passkey.credential_id,
                    name: passkey.name,
                    last_used_at: passkey.last_used_at,
                    backup_state: passkey.backup_state,
                    sign_count: passkey.sign_count,
                }),
            });
        }
        Ok(found)
    }

    /// Removes the user's credential named `kind` (`password`, `totp`). Without a password
    /// the user signs in only after a recovery flow sets one; without the authenticator app,
    /// `totp` is no longer one of its second factors.
    pub fn remove_credential(
        &self,
        tenant: &TenantId,
        id: &UserId,
        kind: &str,
    ) -> Result<(), AccountError> {
        let user = self.get(tenant, id)?;
        let kind = CredentialKind::parse(kind).ok_or(AccountError::CredentialNotFound)?;
        let users = &self.engine.ports().users;
        if kind == CredentialKind::Password {
            if users.password_hash(tenant, id)?.is_none() {
                return Err(AccountError::CredentialNotFound);
            }
            // Whoever knew the password is signed out and cannot finish a flow started with
            // it. Marked before the removal, so that a failure in between leaves the sessions
            // ended (and a retry removes the password), never the other way round.
            let now = self.engine.ports().clock.now_secs();
            users.mark_password_changed(tenant, id, now)?;
        }
        match users.remove_credential(tenant, id, kind) {
            Err(PortError::NotFound) => return Err(AccountError::CredentialNotFound),
            other => other?,
        }
        self.log(
            tenant,
            EventKind::CredentialRemoved,
            kind.as_str(),
            Some(&user),
        );
        self.log(tenant, EventKind::Admin, "credential_removed", Some(&user));
        Ok(())
    }

    /// Removes the user's passkey with this credential id.
    pub fn remove_passkey(
        &self,
        tenant: &TenantId,
        id: &UserId,
        credential_id: &str,
    ) -> Result<(), AccountError> {
        let user = self.get(tenant, id)?;
        match self
            .engine
            .ports()
            .users
            .remove_passkey(tenant, id, credential_id)
        {
            Err(PortError::NotFound) => return Err(AccountError::CredentialNotFound),
            other => other?,
        }
        self.log(tenant, EventKind::CredentialRemoved, "passkey", Some(&user));
        self.log(tenant, EventKind::Admin, "credential_removed", Some(&user));
        Ok(())
    }

    /// Merges `attributes` into the user's profile (a key with `null` removes it); the user
    /// after the change.
    pub fn update_attributes(
        &self,
        tenant: &TenantId,
        id: &UserId,
        attributes: &Map<String, Value>,
    ) -> Result<User, AccountError> {
        // An unknown user is `NotFound` from the directory itself.
        self.engine
            .ports()
            .users
            .set_attributes(tenant, id, attributes)?;
        let user = self.get(tenant, id)?;
        self.log(tenant, EventKind::Admin, "user_updated", Some(&user));
        Ok(user)
    }

    /// Mails the user a link to the recovery flow's page, `link` (the hosted page of the
    /// active password recovery flow), where it proves its address with a code and sets a new
    /// password. Nothing changes until it does: the old password still works. A disabled user,
    /// or one without an e-mail address, is refused.
    pub fn send_recovery_mail(
        &self,
        tenant: &TenantId,
        id: &UserId,
        link: String,
    ) -> Result<String, AccountError> {
        let user = self.get(tenant, id)?;
        if user.disabled_at.is_some() {
            return Err(AccountError::UserDisabled);
        }
        // The address the recovery flow's code will go to: the `email` attribute, else an
        // e-mail identifier.
        let address = [
            user.attributes.get("email").and_then(Value::as_str),
            Some(user.identifier.as_str()),
        ]
        .into_iter()
        .flatten()
        .find(|candidate| crate::identifier::is_email(candidate))
        .ok_or(AccountError::NoEmailAddress)?
        .to_owned();
        let message = crate::OutgoingMessage {
            tenant: tenant.clone(),
            template: RECOVERY_LINK_TEMPLATE.to_owned(),
            to: address.clone(),
            code: None,
            link: Some(link),
            execution_id: None,
            locale: None,
        };
        self.engine
            .ports()
            .mailer
            .send(&message)
            .map_err(AccountError::Mail)?;
        self.log(tenant, EventKind::Admin, "recovery_mail_sent", Some(&user));
        Ok(address)
    }

    /// Lifts a lockout and forgets the user's failed sign-ins.
    pub fn unlock(&self, tenant: &TenantId, id: &UserId) -> Result<(), AccountError> {
        let user = self.get(tenant, id)?;
        self.engine.ports().login_attempts.reset(tenant, id)?;
        self.log(tenant, EventKind::Admin, "user_unlocked", Some(&user));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::memory::MemoryPorts;
    use crate::{EngineConfig, HashParams};

    fn accounts() -> (Accounts, Arc<Engine>) {
        let ports = MemoryPorts::new();
        let config = EngineConfig {
            hash: HashParams {
                m_cost: 8,
                t_cost: 1,
                p_cost: 1,
            },
            ..EngineConfig::recommended()
        };
        let engine = Arc::new(Engine::new(config, ports.ports()).unwrap());
        (Accounts::new(engine.clone()), engine)
    }

    fn account(identifier: &str, password: Option<&str>) -> NewAccount {
        NewAccount {
            identifier: identifier.to_owned(),
            password: password.map(str::to_owned),
            attributes: Map::new(),
        }
    }

    #[test]
    fn identifiers_are_normalized_and_one_user_each() {
        let (accounts, engine) = accounts();
        let tenant = TenantId::default();
        let ann = accounts
            .create(
                &tenant,
                account("  Ann@Example.COM ", Some("correct horse battery staple")),
            )
            .unwrap();
        assert_eq!(ann.identifier, "ann@example.com");
        let hash = engine
            .ports()
            .users
            .password_hash(&tenant, &ann.id)
            .unwrap();
        assert!(hash.unwrap().starts_with("$argon2id$"));
        assert_eq!(
            accounts.create(&tenant, account("ann@example.com", None)),
            Err(AccountError::IdentifierTaken)
        );
        assert_eq!(
            accounts
                .create(&tenant, account("not an identifier!", None))
                .unwrap_err()
                .code(),
            "invalid_identifier"
        );
        assert_eq!(
            accounts
                .create(&tenant, account("bob@example.com", Some("short")))
                .unwrap_err()
                .code(),
            "password_too_short"
        );
        let query = UserQuery {
            identifier_prefix: Some("ANN".to_owned()),
            limit: 10,
            ..UserQuery::default()
        };
        let page = accounts.list(&tenant, query).unwrap();
        assert_eq!(page.users, vec![ann.clone()]);
        assert_eq!(page.next, None);
        assert_eq!(accounts.get(&tenant, &ann.id).unwrap(), ann);
    }

    #[test]
    fn pages_continue_after_the_last_identifier() {
        let (accounts, _) = accounts();
        let tenant = TenantId::default();
        for name in ["carol", "ann", "bob"] {
            accounts.create(&tenant, account(name, None)).unwrap();
        }
        let page = |after| UserQuery {
            after,
            limit: 2,
            ..UserQuery::default()
        };
        let first = accounts.list(&tenant, page(None)).unwrap();
        let names: Vec<_> = first.users.iter().map(|u| u.identifier.as_str()).collect();
        assert_eq!(names, ["ann", "bob"]);
        assert_eq!(first.next.as_deref(), Some("bob"));
        let second = accounts.list(&tenant, page(first.next)).unwrap();
        assert_eq!(second.users.len(), 1);
        assert_eq!(second.next, None);
    }

    #[test]
    fn deleting_and_unlocking_an_unknown_user_is_not_found() {
        let (accounts, _) = accounts();
        let tenant = TenantId::default();
        let gone = UserId::new("nobody");
        assert_eq!(accounts.delete(&tenant, &gone), Err(AccountError::NotFound));
        assert_eq!(accounts.unlock(&tenant, &gone), Err(AccountError::NotFound));
        let user = accounts.create(&tenant, account("dora", None)).unwrap();
        accounts.unlock(&tenant, &user.id).unwrap();
        accounts.delete(&tenant, &user.id).unwrap();
        assert_eq!(accounts.get(&tenant, &user.id), Err(AccountError::NotFound));
    }
}
