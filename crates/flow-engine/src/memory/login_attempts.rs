//! The in-memory store of failed sign-ins per user.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ports::{FailedLogins, LoginAttempts};
use crate::{PortError, TenantId, UserId, lock};

/// The failed sign-ins of one user.
#[derive(Debug, Clone, Copy)]
struct FailureRow {
    count: u32,
    window_ends_at: i64,
    locked_until: Option<i64>,
}

/// Failed sign-ins per user in a map, counted under its lock (per process only: replicas
/// that must share the limit need a shared store).
#[derive(Debug, Default)]
pub struct MemoryLoginAttempts {
    rows: Mutex<HashMap<(TenantId, UserId), FailureRow>>,
}

impl MemoryLoginAttempts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many users have a record.
    pub fn len(&self) -> usize {
        lock(&self.rows).len()
    }

    /// Whether no user has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl LoginAttempts for MemoryLoginAttempts {
    fn record_failure(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
        window_secs: i64,
    ) -> Result<u32, PortError> {
        let mut rows = lock(&self.rows);
        let fresh = FailureRow {
            count: 1,
            window_ends_at: now_secs.saturating_add(window_secs),
            locked_until: None,
        };
        let row = rows
            .entry((tenant.clone(), user.clone()))
            .and_modify(|row| {
                if row.window_ends_at <= now_secs {
                    row.count = 1;
                    row.window_ends_at = fresh.window_ends_at;
                } else {
                    row.count = row.count.saturating_add(1);
                }
            })
            .or_insert(fresh);
        Ok(row.count)
    }

    fn lock(&self, tenant: &TenantId, user: &UserId, until_secs: i64) -> Result<(), PortError> {
        let mut rows = lock(&self.rows);
        let row = rows
            .entry((tenant.clone(), user.clone()))
            .or_insert(FailureRow {
                count: 0,
                window_ends_at: until_secs,
                locked_until: None,
            });
        row.locked_until = Some(until_secs);
        row.window_ends_at = until_secs;
        Ok(())
    }

    fn failed_logins(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now_secs: i64,
    ) -> Result<Option<FailedLogins>, PortError> {
        Ok(lock(&self.rows)
            .get(&(tenant.clone(), user.clone()))
            .map(|row| FailedLogins {
                count: if row.window_ends_at > now_secs {
                    row.count
                } else {
                    0
                },
                locked_until: row.locked_until.filter(|until| *until > now_secs),
            }))
    }

    fn reset(&self, tenant: &TenantId, user: &UserId) -> Result<(), PortError> {
        lock(&self.rows).remove(&(tenant.clone(), user.clone()));
        Ok(())
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        let mut rows = lock(&self.rows);
        let before = rows.len();
        rows.retain(|_, row| {
            row.window_ends_at > now_secs || row.locked_until.is_some_and(|until| until > now_secs)
        });
        Ok(before - rows.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn login_failures_count_per_window_lock_and_reset() {
        let store = MemoryLoginAttempts::new();
        let (tenant, other) = (TenantId::new("t"), TenantId::new("u"));
        let user = UserId::new("ada");
        assert_eq!(store.failed_logins(&tenant, &user, 0).unwrap(), None);
        assert_eq!(store.record_failure(&tenant, &user, 100, 60).unwrap(), 1);
        assert_eq!(store.record_failure(&tenant, &user, 159, 60).unwrap(), 2);
        assert_eq!(store.record_failure(&other, &user, 159, 60).unwrap(), 1);
        // The window ran from 100 to 160: the next failure starts a new one.
        assert_eq!(store.record_failure(&tenant, &user, 160, 60).unwrap(), 1);
        store.lock(&tenant, &user, 500).unwrap();
        let seen = |now| store.failed_logins(&tenant, &user, now).unwrap().unwrap();
        assert_eq!(seen(499).locked_until, Some(500));
        assert_eq!(seen(499).count, 1);
        assert_eq!(
            seen(500),
            FailedLogins {
                count: 0,
                locked_until: None
            }
        );
        // Counting starts afresh after the lock.
        assert_eq!(store.record_failure(&tenant, &user, 500, 60).unwrap(), 1);
        assert_eq!(store.delete_expired(559).unwrap(), 1);
        assert_eq!(store.delete_expired(560).unwrap(), 1);
        assert!(store.is_empty());
        store.record_failure(&tenant, &user, 0, 60).unwrap();
        store.reset(&tenant, &user).unwrap();
        assert_eq!(store.failed_logins(&tenant, &user, 0).unwrap(), None);
    }
}
