//! The [`LoginAttempts`] contract: failures counted per user and tenant inside a window, locks
//! that end, resets, the expiry sweep, and exact counts under concurrent failures.

use std::collections::BTreeSet;

use flow_engine::{FailedLogins, LoginAttempts, TenantId, UserId};

fn seen(count: u32, locked_until: Option<i64>) -> Option<FailedLogins> {
    Some(FailedLogins {
        count,
        locked_until,
    })
}

/// Failures count up inside a window of their user and tenant; a failure after the window
/// starts a new one at 1; nothing is stored for a user without failures.
pub(crate) fn count_per_window<S: LoginAttempts + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other: &TenantId,
) {
    let (ada, bob) = (UserId::new("ada"), UserId::new("bob"));
    assert_eq!(store.failed_logins(tenant, &ada, 100).unwrap(), None);
    assert_eq!(store.record_failure(tenant, &ada, 100, 60).unwrap(), 1);
    assert_eq!(store.record_failure(tenant, &ada, 130, 60).unwrap(), 2);
    assert_eq!(store.record_failure(tenant, &ada, 159, 60).unwrap(), 3);
    assert_eq!(
        store.failed_logins(tenant, &ada, 159).unwrap(),
        seen(3, None)
    );
    // Another user, the same user in another tenant: counted apart.
    assert_eq!(store.record_failure(tenant, &bob, 159, 60).unwrap(), 1);
    assert_eq!(store.record_failure(other, &ada, 159, 60).unwrap(), 1);
    assert_eq!(store.failed_logins(other, &bob, 159).unwrap(), None);
    // The window ran from 100 to 160.
    assert_eq!(
        store.failed_logins(tenant, &ada, 160).unwrap(),
        seen(0, None)
    );
    assert_eq!(store.record_failure(tenant, &ada, 160, 60).unwrap(), 1);
    assert_eq!(store.record_failure(tenant, &ada, 219, 60).unwrap(), 2);
    assert_eq!(
        store.failed_logins(tenant, &ada, 219).unwrap(),
        seen(2, None)
    );
}

/// A lock holds until its end and then counting starts afresh; locking a user without
/// failures works too; a reset forgets failures and lock, in its tenant only.
pub(crate) fn lock_and_reset<S: LoginAttempts + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other: &TenantId,
) {
    let ada = UserId::new("ada");
    for now in 100..105 {
        store.record_failure(tenant, &ada, now, 60).unwrap();
    }
    store.lock(tenant, &ada, 1_000).unwrap();
    assert_eq!(
        store.failed_logins(tenant, &ada, 999).unwrap(),
        seen(5, Some(1_000))
    );
    assert_eq!(store.failed_logins(other, &ada, 999).unwrap(), None);
    // A failure racing the lock still counts inside the stretched window.
    assert_eq!(store.record_failure(tenant, &ada, 500, 60).unwrap(), 6);
    assert_eq!(
        store.failed_logins(tenant, &ada, 1_000).unwrap(),
        seen(0, None)
    );
    assert_eq!(store.record_failure(tenant, &ada, 1_000, 60).unwrap(), 1);
    // A later lock replaces the earlier one.
    store.lock(tenant, &ada, 2_000).unwrap();
    store.lock(tenant, &ada, 3_000).unwrap();
    assert_eq!(
        store.failed_logins(tenant, &ada, 2_500).unwrap(),
        seen(1, Some(3_000))
    );

    let bob = UserId::new("bob");
    store.lock(tenant, &bob, 700).unwrap();
    assert_eq!(
        store.failed_logins(tenant, &bob, 600).unwrap(),
        seen(0, Some(700))
    );

    store.record_failure(other, &ada, 100, 60).unwrap();
    store.reset(tenant, &ada).unwrap();
    assert_eq!(store.failed_logins(tenant, &ada, 2_500).unwrap(), None);
    assert_eq!(
        store.failed_logins(other, &ada, 100).unwrap(),
        seen(1, None)
    );
    // Resetting a user without a record is fine.
    store.reset(tenant, &UserId::new("nobody")).unwrap();
    assert_eq!(store.record_failure(tenant, &ada, 2_500, 60).unwrap(), 1);
}

/// The sweep deletes records whose window and lock are both over, and keeps the others.
pub(crate) fn delete_expired<S: LoginAttempts + ?Sized>(store: &S, tenant: &TenantId) {
    let (ada, bob, cy) = (UserId::new("ada"), UserId::new("bob"), UserId::new("cy"));
    store.record_failure(tenant, &ada, 100, 60).unwrap(); // window ends at 160
    store.record_failure(tenant, &bob, 100, 600).unwrap(); // window ends at 700
    store.record_failure(tenant, &cy, 100, 60).unwrap();
    store.lock(tenant, &cy, 900).unwrap();
    // Every test has a store of its own (a fresh schema on PostgreSQL): the counts are exact.
    assert_eq!(store.delete_expired(159).unwrap(), 0);
    assert_eq!(store.delete_expired(160).unwrap(), 1);
    assert_eq!(store.failed_logins(tenant, &ada, 160).unwrap(), None);
    assert_eq!(store.delete_expired(700).unwrap(), 1);
    assert_eq!(store.failed_logins(tenant, &bob, 700).unwrap(), None);
    assert_eq!(
        store.failed_logins(tenant, &cy, 700).unwrap(),
        seen(1, Some(900))
    );
    assert_eq!(store.delete_expired(900).unwrap(), 1);
    assert_eq!(store.failed_logins(tenant, &cy, 900).unwrap(), None);
}

/// Failures recorded by several threads at once, starting from no record at all, are each
/// counted exactly once: every call sees a different count and the last is the total.
pub(crate) fn concurrent_failures_count_exactly<S: LoginAttempts + ?Sized>(
    store: &S,
    tenant: &TenantId,
) {
    const THREADS: usize = 8;
    const EACH: usize = 5;
    let ada = UserId::new("ada");
    let counts: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    (0..EACH)
                        .map(|_| store.record_failure(tenant, &ada, 100, 600).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    });
    let total = u32::try_from(THREADS * EACH).unwrap();
    let distinct: BTreeSet<u32> = counts.iter().copied().collect();
    assert_eq!(distinct, (1..=total).collect::<BTreeSet<u32>>());
    assert_eq!(
        store.failed_logins(tenant, &ada, 100).unwrap(),
        seen(total, None)
    );
}
