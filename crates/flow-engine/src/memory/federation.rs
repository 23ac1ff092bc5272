//! The in-memory identity-provider store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::federation::{IdentityProvider, IdentityProviderStore};
use crate::{PortError, TenantId, lock};

/// Identity providers per tenant, by id.
#[derive(Debug, Default)]
pub struct MemoryIdentityProviders {
    providers: Mutex<BTreeMap<(TenantId, String), IdentityProvider>>,
}

impl MemoryIdentityProviders {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IdentityProviderStore for MemoryIdentityProviders {
    fn list(&self, tenant: &TenantId) -> Result<Vec<IdentityProvider>, PortError> {
        Ok(lock(&self.providers)
            .iter()
            .filter(|((owner, _), _)| owner == tenant)
            .map(|(_, provider)| provider.clone())
            .collect())
    }

    fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<IdentityProvider>, PortError> {
        Ok(lock(&self.providers)
            .get(&(tenant.clone(), id.to_owned()))
            .cloned())
    }

    fn put(&self, tenant: &TenantId, provider: &IdentityProvider) -> Result<bool, PortError> {
        Ok(lock(&self.providers)
            .insert((tenant.clone(), provider.id.clone()), provider.clone())
            .is_none())
    }

    fn delete(&self, tenant: &TenantId, id: &str) -> Result<(), PortError> {
        lock(&self.providers)
            .remove(&(tenant.clone(), id.to_owned()))
            .map(drop)
            .ok_or(PortError::NotFound)
    }
}
