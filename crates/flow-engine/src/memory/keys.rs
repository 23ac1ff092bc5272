//! The in-memory signing key store.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::{KeyStore, StoredKey};
use crate::{PortError, TenantId, lock};

/// Signing keys per tenant, in the order they were added (lost on restart: a deployment that
/// signs tokens across restarts or replicas needs a persistent store).
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: Mutex<HashMap<TenantId, Vec<StoredKey>>>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KeyStore for MemoryKeyStore {
    fn keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, PortError> {
        Ok(lock(&self.keys).get(tenant).cloned().unwrap_or_default())
    }

    fn add(&self, tenant: &TenantId, key: StoredKey) -> Result<(), PortError> {
        let mut tenants = lock(&self.keys);
        let keys = tenants.entry(tenant.clone()).or_default();
        if keys.iter().any(|existing| existing.kid == key.kid) {
            return Err(PortError::Duplicate);
        }
        keys.push(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn key(kid: &str, created_at: i64) -> StoredKey {
        StoredKey {
            kid: kid.to_owned(),
            algorithm: "EdDSA".to_owned(),
            private_pkcs8_der: vec![0x30, 0x2e, 0x42],
            created_at,
        }
    }

    #[test]
    fn keys_keep_their_order_and_kids_are_unique_per_tenant() {
        let keys = MemoryKeyStore::new();
        let a = TenantId::new("a");
        let b = TenantId::new("b");
        assert!(keys.keys(&a).unwrap().is_empty());
        keys.add(&a, key("k2", 5)).unwrap();
        keys.add(&a, key("k1", 5)).unwrap();
        assert_eq!(keys.add(&a, key("k1", 9)), Err(PortError::Duplicate));
        keys.add(&b, key("k1", 1)).unwrap();
        assert_eq!(keys.keys(&a).unwrap(), [key("k2", 5), key("k1", 5)]);
        assert_eq!(keys.keys(&b).unwrap(), [key("k1", 1)]);
        let shown = format!("{:?}", key("k1", 5));
        assert!(
            shown.contains("k1") && !shown.contains("private"),
            "{shown}"
        );
    }
}
