//! Invitations: the application service an administrator calls to invite someone by e-mail
//! ([`InvitationService`]), and the code rules the engine's `redeem_invitation` step shares.
//!
//! # Codes
//!
//! An invitation's code is 128 random bits as 32 lowercase hex characters, mailed to the
//! invitee (as text and inside a link) and never stored: the store keeps its SHA-256, which is
//! also how a redeemed code is looked up. A code this long needs no salt or slow hash (nobody
//! can enumerate 2^128 values); the attempt limit of the execution that redeems it applies all
//! the same, as for every other code.
//!
//! # Life
//!
//! An invitation is *pending* until it expires (default seven days, at most thirty), is revoked
//! by an administrator, or is *used*: the `invited_registration` flow consumes it atomically
//! when it creates the account, so two executions racing on one code cannot both create one.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::identifier;
use crate::ports::{
    Clock, Invitation, InvitationId, InvitationStore, Mailer, OutgoingMessage, Random,
};
use crate::{InvitationError, PortError, Ports, TenantId};

/// The mail template of invitations.
pub const INVITATION_TEMPLATE: &str = "invitation";
/// The placeholder of [`InvitationService`]'s link template that the code replaces.
pub const CODE_PLACEHOLDER: &str = "{code}";
/// Lifetime of an invitation when the administrator names none: seven days.
pub const DEFAULT_INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;
/// The shortest lifetime an administrator may ask for: one minute.
pub const MIN_INVITATION_TTL_SECS: i64 = 60;
/// The longest lifetime an administrator may ask for: thirty days.
pub const MAX_INVITATION_TTL_SECS: i64 = 30 * 24 * 3600;

/// Random bytes in a code (128 bits, 32 hex characters).
const CODE_BYTES: usize = 16;
/// Longest candidate code the engine hashes; anything longer cannot be a code.
pub(crate) const MAX_CODE_CHARS: usize = 128;
/// How many random ids or codes to try before giving up on a (practically impossible)
/// collision.
const ATTEMPTS: usize = 4;

/// The SHA-256 (hex) under which the code `code` is stored. Candidates are trimmed and
/// lowercased first, so a code read aloud or typed in capitals still matches.
pub(crate) fn code_hash(code: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"flowd-invitation\0");
    hasher.update(code.trim().to_ascii_lowercase().as_bytes());
    hex::encode(hasher.finalize())
}

/// The application service of invitations: create (with the mail), list, revoke. The admin
/// API only calls it. Synchronous like the rest of the engine.
pub struct InvitationService {
    store: Arc<dyn InvitationStore>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    link_template: String,
}

impl std::fmt::Debug for InvitationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationService")
            .field("link_template", &self.link_template)
            .finish_non_exhaustive()
    }
}

impl InvitationService {
    /// A service over the engine's ports (its invitation store, mailer, clock and random
    /// generator). `link_template` is the link mailed to the invitee, with [`CODE_PLACEHOLDER`]
    /// where the code goes (flowd's server uses
    /// `{FLOWD_PUBLIC_URL}/register?flowType=INVITED_USER_REGISTRATION&confirmationCode={code}`).
    pub fn new(ports: &Ports, link_template: impl Into<String>) -> Self {
        Self {
            store: ports.invitations.clone(),
            mailer: ports.mailer.clone(),
            clock: ports.clock.clone(),
            random: ports.random.clone(),
            link_template: link_template.into(),
        }
    }

    /// The link for `code`.
    fn link(&self, code: &str) -> String {
        self.link_template.replace(CODE_PLACEHOLDER, code)
    }

    /// Invites `email`: stores a new invitation valid for `expires_in_secs` (default
    /// [`DEFAULT_INVITATION_TTL_SECS`], from [`MIN_INVITATION_TTL_SECS`] to
    /// [`MAX_INVITATION_TTL_SECS`]) and mails the code and the link. The code is not returned:
    /// only the invitee learns it. When the mail cannot be sent, the invitation is revoked
    /// (nobody could redeem it) and the error is [`InvitationError::Mail`].
    pub fn create(
        &self,
        tenant: &TenantId,
        email: &str,
        expires_in_secs: Option<i64>,
    ) -> Result<Invitation, InvitationError> {
        let email = identifier::normalize(email, &[flow_model::IdentifierType::Email])
            .map_err(|_| InvitationError::InvalidEmail)?;
        let ttl = expires_in_secs.unwrap_or(DEFAULT_INVITATION_TTL_SECS);
        if !(MIN_INVITATION_TTL_SECS..=MAX_INVITATION_TTL_SECS).contains(&ttl) {
            return Err(InvitationError::InvalidExpiry {
                min: MIN_INVITATION_TTL_SECS,
                max: MAX_INVITATION_TTL_SECS,
            });
        }
        let now = self.clock.now_secs();
        let mut attempt = 0;
        let (invitation, code) = loop {
            let code = self.random_hex(CODE_BYTES);
            let invitation = Invitation {
                id: InvitationId::new(format!("inv_{}", self.random_hex(8))),
                email: email.clone(),
                code_hash: code_hash(&code),
                created_at: now,
                expires_at: now.saturating_add(ttl),
                used_at: None,
                revoked_at: None,
            };
            match self.store.insert_invitation(tenant, &invitation) {
                Ok(()) => break (invitation, code),
                Err(PortError::Duplicate) if attempt + 1 < ATTEMPTS => attempt += 1,
                Err(error) => return Err(error.into()),
            }
        };
        let message = OutgoingMessage {
            tenant: tenant.clone(),
            template: INVITATION_TEMPLATE.to_owned(),
            to: email,
            link: Some(self.link(&code)),
            code: Some(code),
            execution_id: None,
            locale: None,
        };
        if let Err(error) = self.mailer.send(&message) {
            // Best effort: the code is lost, so the invitation must not stay pending.
            let _ = self.store.revoke_invitation(tenant, &invitation.id, now);
            return Err(InvitationError::Mail(error));
        }
        Ok(invitation)
    }

    /// Every invitation of `tenant`, newest first.
    pub fn list(&self, tenant: &TenantId) -> Result<Vec<Invitation>, InvitationError> {
        Ok(self.store.invitations(tenant)?)
    }

    /// The invitation with this id.
    pub fn get(&self, tenant: &TenantId, id: &InvitationId) -> Result<Invitation, InvitationError> {
        self.store
            .invitation(tenant, id)?
            .ok_or(InvitationError::NotFound)
    }

    /// Revokes a pending invitation so that its code is refused from now on; a used or
    /// already revoked invitation stays as it is. [`InvitationError::NotFound`] if there is
    /// no such invitation.
    pub fn revoke(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
    ) -> Result<Invitation, InvitationError> {
        match self
            .store
            .revoke_invitation(tenant, id, self.clock.now_secs())
        {
            Ok(()) => self.get(tenant, id),
            Err(PortError::NotFound) => Err(InvitationError::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// The current time, for callers that show an invitation's state.
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut buffer = vec![0u8; bytes];
        self.random.fill(&mut buffer);
        hex::encode(buffer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::memory::MemoryPorts;
    use crate::ports::InvitationState;

    const LINK: &str = "https://id.example.com/register?confirmationCode={code}";

    fn service() -> (MemoryPorts, InvitationService) {
        let memory = MemoryPorts::with_manual_clock(1_700_000_000_000);
        let service = InvitationService::new(&memory.ports(), LINK);
        (memory, service)
    }

    #[test]
    fn creating_stores_the_hash_and_mails_code_and_link() {
        let (memory, service) = service();
        let tenant = TenantId::default();
        let invitation = service.create(&tenant, " Ada@Example.com ", None).unwrap();
        assert_eq!(invitation.email, "ada@example.com");
        assert!(invitation.id.as_str().starts_with("inv_"));
        assert_eq!(
            invitation.expires_at - invitation.created_at,
            DEFAULT_INVITATION_TTL_SECS
        );
        assert_eq!(
            invitation.state(invitation.created_at),
            InvitationState::Pending
        );

        let mail = memory.outbox.last_to("ada@example.com").unwrap();
        assert_eq!(mail.template, INVITATION_TEMPLATE);
        assert_eq!(mail.execution_id, None);
        let code = mail.code.unwrap();
        assert_eq!(code.len(), 32);
        assert_eq!(
            mail.link.as_deref(),
            Some(format!("https://id.example.com/register?confirmationCode={code}").as_str())
        );
        assert_ne!(invitation.code_hash, code);
        assert_eq!(invitation.code_hash, code_hash(&code));
        assert_eq!(
            code_hash(&format!(" {} ", code.to_uppercase())),
            invitation.code_hash
        );
        let found = memory
            .invitations
            .invitation_by_code(&tenant, &code_hash(&code))
            .unwrap();
        assert_eq!(found, Some(invitation.clone()));
        assert_eq!(service.list(&tenant).unwrap(), vec![invitation]);
    }

    #[test]
    fn bad_addresses_and_lifetimes_are_refused() {
        let (memory, service) = service();
        let tenant = TenantId::default();
        assert_eq!(
            service.create(&tenant, "not-an-address", None),
            Err(InvitationError::InvalidEmail)
        );
        for ttl in [0, 59, MAX_INVITATION_TTL_SECS + 1, -5] {
            assert!(matches!(
                service.create(&tenant, "a@example.com", Some(ttl)),
                Err(InvitationError::InvalidExpiry { .. })
            ));
        }
        assert!(memory.outbox.messages().is_empty());
        let short = service.create(&tenant, "a@example.com", Some(60)).unwrap();
        assert_eq!(short.expires_at - short.created_at, 60);
    }

    #[test]
    fn revoking_keeps_used_invitations_and_refuses_unknown_ids() {
        let (memory, service) = service();
        let tenant = TenantId::default();
        let first = service.create(&tenant, "a@example.com", None).unwrap();
        let revoked = service.revoke(&tenant, &first.id).unwrap();
        assert_eq!(revoked.state(revoked.created_at), InvitationState::Revoked);
        let second = service.create(&tenant, "b@example.com", None).unwrap();
        assert!(
            memory
                .invitations
                .consume_invitation(&tenant, &second.id, second.created_at)
                .unwrap()
        );
        let used = service.revoke(&tenant, &second.id).unwrap();
        assert_eq!(used.state(used.created_at), InvitationState::Used);
        assert_eq!(used.revoked_at, None);
        assert_eq!(
            service.revoke(&tenant, &InvitationId::new("inv_nope")),
            Err(InvitationError::NotFound)
        );
    }
}
