//! The [`ExecutionStore`] contract: insert, load per tenant, compare-and-swap save with its
//! trace, the kept trace, expiry sweep.

use flow_engine::{
    ExecutionStatus, ExecutionStore, MAX_TRACE_ENTRIES, PortError, TenantId, TraceEntry,
};

use crate::support::execution;

/// A trace entry of step `step`.
fn entry(step: usize) -> TraceEntry {
    TraceEntry {
        step,
        node_id: format!("node_{step}"),
        op: "prompt".to_owned(),
        result: "accepted".to_owned(),
        detail: step.is_multiple_of(2).then(|| format!("detail {step}")),
        at_ms: 1_000 + step as i64,
    }
}

/// Insert, load, duplicate insert and a full round trip of the snapshot; another tenant
/// sees nothing.
pub(crate) fn insert_and_load<S: ExecutionStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other_tenant: &TenantId,
) {
    let first = execution(tenant, 1_000);
    store.insert(&first, &[]).unwrap();
    assert_eq!(store.load(tenant, &first.id).unwrap(), Some(first.clone()));
    assert_eq!(store.load(other_tenant, &first.id).unwrap(), None);
    assert_eq!(store.insert(&first, &[]), Err(PortError::Duplicate));
    let unknown = execution(tenant, 1_000);
    assert_eq!(store.load(tenant, &unknown.id).unwrap(), None);
}

/// Saves swap on the revision: the stale writer gets `Conflict` and writes nothing (no trace
/// either), a gone execution `NotFound`.
pub(crate) fn save_is_compare_and_swap<S: ExecutionStore + ?Sized>(store: &S, tenant: &TenantId) {
    let mut stored = execution(tenant, 1_000);
    stored.traced = 1;
    store.insert(&stored, &[entry(0)]).unwrap();

    // Two requests loaded revision 0; the first one saves revision 1.
    let mut winner = stored.clone();
    winner.revision = 1;
    winner.pc = 2;
    winner.status = ExecutionStatus::Completed;
    winner.methods.push("password".to_owned());
    winner.traced = 2;
    store.save(&winner, 0, &[entry(1)]).unwrap();

    let mut loser = stored.clone();
    loser.revision = 1;
    loser.pc = 3;
    loser.traced = 2;
    assert_eq!(store.save(&loser, 0, &[entry(9)]), Err(PortError::Conflict));
    assert_eq!(
        store.load(tenant, &stored.id).unwrap(),
        Some(winner.clone())
    );
    assert_eq!(
        store.trace(tenant, &stored.id).unwrap(),
        Some(vec![entry(0), entry(1)]),
        "the loser's trace is not written"
    );

    // The next save from the winner's state works.
    stored = winner;
    stored.revision = 2;
    stored.updated_at = 20;
    store.save(&stored, 1, &[]).unwrap();
    assert_eq!(store.load(tenant, &stored.id).unwrap().unwrap().revision, 2);

    let missing = execution(tenant, 1_000);
    assert_eq!(store.save(&missing, 0, &[]), Err(PortError::NotFound));
}

/// Saves from many threads at once, two racing on each execution for several rounds (on
/// SQLite the waiting saves are committed together, each in its own savepoint): each race has
/// exactly one winner, whose state and trace land; the loser writes nothing.
pub(crate) fn concurrent_saves_each_land_once<S: ExecutionStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
) {
    const EXECUTIONS: usize = 8;
    const ROUNDS: u64 = 4;
    let mut stored: Vec<_> = (0..EXECUTIONS)
        .map(|_| {
            let mut execution = execution(tenant, 1_000);
            execution.traced = 1;
            store.insert(&execution, &[entry(0)]).unwrap();
            execution
        })
        .collect();
    for round in 0..ROUNDS {
        let start = std::sync::Barrier::new(EXECUTIONS * 2);
        let results: Vec<(usize, usize, Result<(), PortError>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..EXECUTIONS * 2)
                .map(|racer| {
                    let (index, side) = (racer / 2, racer % 2);
                    let mut next = stored[index].clone();
                    next.revision = round + 1;
                    next.pc = 100 * (round as usize + 1) + side;
                    next.traced = round + 2;
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        let step = 10 * (round as usize + 1) + side;
                        (index, side, store.save(&next, round, &[entry(step)]))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (index, stored) in stored.iter_mut().enumerate() {
            let outcomes: Vec<_> = results.iter().filter(|(i, _, _)| *i == index).collect();
            let winners: Vec<usize> = outcomes
                .iter()
                .filter(|(_, _, result)| result.is_ok())
                .map(|(_, side, _)| *side)
                .collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}, execution {index}: {outcomes:?}"
            );
            assert!(
                outcomes
                    .iter()
                    .all(|(_, _, result)| matches!(result, Ok(()) | Err(PortError::Conflict))),
                "{outcomes:?}"
            );
            let winner = winners[0];
            let loaded = store.load(tenant, &stored.id).unwrap().unwrap();
            assert_eq!(loaded.revision, round + 1);
            assert_eq!(loaded.pc, 100 * (round as usize + 1) + winner);
            let trace = store.trace(tenant, &stored.id).unwrap().unwrap();
            assert_eq!(trace.len() as u64, round + 2, "the loser wrote no trace");
            assert_eq!(
                trace.last(),
                Some(&entry(10 * (round as usize + 1) + winner))
            );
            *stored = loaded;
        }
    }
}

/// The trace is appended by saves, kept per tenant, and bounded to the last
/// [`MAX_TRACE_ENTRIES`] entries.
pub(crate) fn trace_is_appended_and_bounded<S: ExecutionStore + ?Sized>(
    store: &S,
    tenant: &TenantId,
    other_tenant: &TenantId,
) {
    let mut stored = execution(tenant, 1_000);
    stored.traced = 2;
    store.insert(&stored, &[entry(0), entry(1)]).unwrap();
    assert_eq!(
        store.trace(tenant, &stored.id).unwrap(),
        Some(vec![entry(0), entry(1)])
    );
    assert_eq!(store.trace(other_tenant, &stored.id).unwrap(), None);
    assert_eq!(
        store.trace(tenant, &execution(tenant, 1_000).id).unwrap(),
        None
    );

    // Many saves of a few entries each: only the newest MAX_TRACE_ENTRIES stay.
    let mut step = 2;
    while step < MAX_TRACE_ENTRIES + 30 {
        let batch: Vec<TraceEntry> = (step..step + 7).map(entry).collect();
        let expected = stored.revision;
        stored.revision += 1;
        stored.traced += batch.len() as u64;
        store.save(&stored, expected, &batch).unwrap();
        step += 7;
    }
    let trace = store.trace(tenant, &stored.id).unwrap().unwrap();
    assert_eq!(trace.len(), MAX_TRACE_ENTRIES);
    assert_eq!(trace.last(), Some(&entry(step - 1)));
    assert_eq!(trace.first(), Some(&entry(step - MAX_TRACE_ENTRIES)));

    // One save that appends more than the bound keeps the newest of them, in order.
    let batch: Vec<TraceEntry> = (step..step + MAX_TRACE_ENTRIES + 50).map(entry).collect();
    let expected = stored.revision;
    stored.revision += 1;
    stored.traced += batch.len() as u64;
    store.save(&stored, expected, &batch).unwrap();
    let trace = store.trace(tenant, &stored.id).unwrap().unwrap();
    assert_eq!(trace, batch[50..].to_vec());
}

/// `delete_expired` removes what expired by `now`, with its trace, and keeps the rest.
pub(crate) fn delete_expired<S: ExecutionStore + ?Sized>(store: &S, tenant: &TenantId) {
    let mut old = execution(tenant, 100);
    old.traced = 1;
    let edge = execution(tenant, 150);
    let fresh = execution(tenant, 200);
    store.insert(&old, &[entry(0)]).unwrap();
    for item in [&edge, &fresh] {
        store.insert(item, &[]).unwrap();
    }
    assert_eq!(store.delete_expired(150).unwrap(), 2);
    assert_eq!(store.load(tenant, &old.id).unwrap(), None);
    assert_eq!(store.trace(tenant, &old.id).unwrap(), None);
    assert_eq!(store.load(tenant, &edge.id).unwrap(), None);
    assert!(store.load(tenant, &fresh.id).unwrap().is_some());
    assert_eq!(store.delete_expired(150).unwrap(), 0);
    // An id used again later starts with an empty trace (none was left behind).
    let mut again = old.clone();
    again.expires_at = 1_000;
    again.traced = 0;
    store.insert(&again, &[]).unwrap();
    assert_eq!(store.trace(tenant, &again.id).unwrap(), Some(Vec::new()));
}
