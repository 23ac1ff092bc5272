//! The in-memory one-time code store.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::{CodeCheck, CodeStore, StoredCode};
use crate::{PortError, TenantId, lock};

/// One-time codes in a map, checked atomically under its lock.
#[derive(Debug, Default)]
pub struct MemoryCodeStore {
    codes: Mutex<HashMap<(TenantId, String), StoredCode>>,
}

impl MemoryCodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl CodeStore for MemoryCodeStore {
    fn put(&self, tenant: &TenantId, key: &str, code: StoredCode) -> Result<(), PortError> {
        lock(&self.codes).insert((tenant.clone(), key.to_owned()), code);
        Ok(())
    }

    fn verify(
        &self,
        tenant: &TenantId,
        key: &str,
        now_secs: i64,
        matches: &dyn Fn(&StoredCode) -> bool,
    ) -> Result<CodeCheck, PortError> {
        let mut codes = lock(&self.codes);
        let map_key = (tenant.clone(), key.to_owned());
        let Some(stored) = codes.get_mut(&map_key) else {
            return Ok(CodeCheck::Missing);
        };
        if stored.expires_at <= now_secs {
            codes.remove(&map_key);
            return Ok(CodeCheck::Expired);
        }
        if matches(stored) {
            codes.remove(&map_key);
            return Ok(CodeCheck::Valid);
        }
        stored.attempts_left = stored.attempts_left.saturating_sub(1);
        let attempts_left = stored.attempts_left;
        if attempts_left == 0 {
            codes.remove(&map_key);
        }
        Ok(CodeCheck::Invalid { attempts_left })
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut codes = lock(&self.codes);
        let before = codes.len();
        codes.retain(|_, code| code.expires_at > now_secs);
        Ok(before - codes.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn codes_are_consumed_spent_and_expire() {
        let codes = MemoryCodeStore::new();
        let t = TenantId::default();
        let stored = |attempts_left| StoredCode {
            hash: "h".into(),
            expires_at: 100,
            attempts_left,
        };
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| false).unwrap(),
            CodeCheck::Invalid { attempts_left: 1 }
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| false).unwrap(),
            CodeCheck::Invalid { attempts_left: 0 }
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Missing
        );
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Valid
        );
        assert_eq!(
            codes.verify(&t, "k", 10, &|_| true).unwrap(),
            CodeCheck::Missing
        );
        codes.put(&t, "k", stored(2)).unwrap();
        assert_eq!(
            codes.verify(&t, "k", 100, &|_| true).unwrap(),
            CodeCheck::Expired
        );
    }
}
