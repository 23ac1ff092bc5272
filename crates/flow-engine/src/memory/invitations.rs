//! The in-memory invitation store.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::{Invitation, InvitationId, InvitationState, InvitationStore};
use crate::{PortError, TenantId, lock};

/// Invitations in a map; consuming is checked and done under its lock.
#[derive(Debug, Default)]
pub struct MemoryInvitationStore {
    invitations: Mutex<HashMap<TenantId, Vec<Invitation>>>,
}

impl MemoryInvitationStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        change: impl FnOnce(&mut Invitation) -> T,
    ) -> Result<T, PortError> {
        let mut tenants = lock(&self.invitations);
        tenants
            .get_mut(tenant)
            .and_then(|list| list.iter_mut().find(|invitation| &invitation.id == id))
            .map(change)
            .ok_or(PortError::NotFound)
    }
}

impl InvitationStore for MemoryInvitationStore {
    fn insert_invitation(
        &self,
        tenant: &TenantId,
        invitation: &Invitation,
    ) -> Result<(), PortError> {
        let mut tenants = lock(&self.invitations);
        let list = tenants.entry(tenant.clone()).or_default();
        if list.iter().any(|existing| {
            existing.id == invitation.id || existing.code_hash == invitation.code_hash
        }) {
            return Err(PortError::Duplicate);
        }
        list.push(invitation.clone());
        Ok(())
    }

    fn invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
    ) -> Result<Option<Invitation>, PortError> {
        match self.with(tenant, id, |invitation| invitation.clone()) {
            Ok(invitation) => Ok(Some(invitation)),
            Err(PortError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn invitation_by_code(
        &self,
        tenant: &TenantId,
        code_hash: &str,
    ) -> Result<Option<Invitation>, PortError> {
        Ok(lock(&self.invitations).get(tenant).and_then(|list| {
            list.iter()
                .find(|invitation| invitation.code_hash == code_hash)
                .cloned()
        }))
    }

    fn consume_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<bool, PortError> {
        match self.with(tenant, id, |invitation| {
            let pending = invitation.state(now_secs) == InvitationState::Pending;
            if pending {
                invitation.used_at = Some(now_secs);
            }
            pending
        }) {
            Err(PortError::NotFound) => Ok(false),
            other => other,
        }
    }

    fn release_invitation(&self, tenant: &TenantId, id: &InvitationId) -> Result<(), PortError> {
        self.with(tenant, id, |invitation| invitation.used_at = None)
    }

    fn invitations(&self, tenant: &TenantId) -> Result<Vec<Invitation>, PortError> {
        let mut list = lock(&self.invitations)
            .get(tenant)
            .cloned()
            .unwrap_or_default();
        list.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(list)
    }

    fn revoke_invitation(
        &self,
        tenant: &TenantId,
        id: &InvitationId,
        now_secs: i64,
    ) -> Result<(), PortError> {
        self.with(tenant, id, |invitation| {
            if invitation.used_at.is_none() && invitation.revoked_at.is_none() {
                invitation.revoked_at = Some(now_secs);
            }
        })
    }
}
