//! The [`ExecutionStore`] contract: insert, load, compare-and-swap save, expiry sweep.

use flow_engine::{ExecutionStatus, ExecutionStore, PortError, TenantId};

use crate::support::execution;

/// Insert, load, duplicate insert and a full round trip of the snapshot.
pub(crate) fn insert_and_load<S: ExecutionStore + ?Sized>(store: &S, tenant: &TenantId) {
    let first = execution(tenant, 1_000);
    store.insert(&first).unwrap();
    assert_eq!(store.load(&first.id).unwrap(), Some(first.clone()));
    assert_eq!(store.insert(&first), Err(PortError::Duplicate));
    let unknown = execution(tenant, 1_000);
    assert_eq!(store.load(&unknown.id).unwrap(), None);
}

/// Saves swap on the revision: the stale writer gets `Conflict`, a gone execution `NotFound`.
pub(crate) fn save_is_compare_and_swap<S: ExecutionStore + ?Sized>(store: &S, tenant: &TenantId) {
    let mut stored = execution(tenant, 1_000);
    store.insert(&stored).unwrap();

    // Two requests loaded revision 0; the first one saves revision 1.
    let mut winner = stored.clone();
    winner.revision = 1;
    winner.pc = 2;
    winner.status = ExecutionStatus::Completed;
    winner.methods.push("password".to_owned());
    store.save(&winner, 0).unwrap();

    let mut loser = stored.clone();
    loser.revision = 1;
    loser.pc = 3;
    assert_eq!(store.save(&loser, 0), Err(PortError::Conflict));
    assert_eq!(store.load(&stored.id).unwrap(), Some(winner.clone()));

    // The next save from the winner's state works.
    stored = winner;
    stored.revision = 2;
    stored.updated_at = 20;
    store.save(&stored, 1).unwrap();
    assert_eq!(store.load(&stored.id).unwrap().unwrap().revision, 2);

    let missing = execution(tenant, 1_000);
    assert_eq!(store.save(&missing, 0), Err(PortError::NotFound));
}

/// `delete_expired` removes what expired by `now` and keeps the rest.
pub(crate) fn delete_expired<S: ExecutionStore + ?Sized>(store: &S, tenant: &TenantId) {
    let old = execution(tenant, 100);
    let edge = execution(tenant, 150);
    let fresh = execution(tenant, 200);
    for item in [&old, &edge, &fresh] {
        store.insert(item).unwrap();
    }
    assert_eq!(store.delete_expired(150).unwrap(), 2);
    assert_eq!(store.load(&old.id).unwrap(), None);
    assert_eq!(store.load(&edge.id).unwrap(), None);
    assert!(store.load(&fresh.id).unwrap().is_some());
    assert_eq!(store.delete_expired(150).unwrap(), 0);
}
