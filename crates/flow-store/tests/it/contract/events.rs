//! The [`EventLog`] contract: events come back newest first, per tenant, filtered, paged
//! before a cursor, and deleted past the retention.

use flow_engine::{
    Event, EventKind, EventLog, EventOutcome, EventQuery, ExecutionId, TenantId, UserId,
};

fn event(tenant: &TenantId, at_ms: i64, kind: EventKind, user: Option<&str>) -> Event {
    Event {
        id: format!("evt_{at_ms:013}{:016x}", at_ms * 7),
        tenant: tenant.clone(),
        at_ms,
        kind,
        outcome: if kind == EventKind::SignIn && (at_ms / 1000) % 2 == 0 {
            EventOutcome::Failure
        } else {
            EventOutcome::Success
        },
        reason: Some("invalid_credentials".to_owned()),
        user_id: user.map(UserId::new),
        identifier: user.map(|user| format!("{user}@example.com")),
        flow_id: Some("flow_login".to_owned()),
        execution_id: Some(ExecutionId::from_random_bytes([at_ms as u8; 16])),
        client_address: Some("203.0.113.7".to_owned()),
        user_agent: Some("curl/8".to_owned()),
    }
}

pub(crate) fn list_filter_page_and_expire<L: EventLog + ?Sized>(
    log: &L,
    tenant: &TenantId,
    other: &TenantId,
) {
    let stored = vec![
        event(tenant, 1_000, EventKind::SignIn, Some("ann")),
        event(tenant, 2_000, EventKind::SignIn, Some("bob")),
        event(tenant, 3_000, EventKind::Admin, None),
        event(tenant, 4_000, EventKind::SignIn, Some("ann")),
    ];
    log.record(&stored).unwrap();
    log.record(&[event(other, 5_000, EventKind::SignIn, Some("ann"))])
        .unwrap();
    log.record(&[]).unwrap();
    let ids = |query: EventQuery| -> Vec<i64> {
        log.list(tenant, &query)
            .unwrap()
            .into_iter()
            .map(|event| event.at_ms)
            .collect()
    };
    let all = EventQuery {
        limit: 10,
        ..EventQuery::default()
    };
    assert_eq!(ids(all.clone()), [4_000, 3_000, 2_000, 1_000]);
    // Everything comes back as it was stored.
    let listed = log.list(tenant, &all).unwrap();
    assert_eq!(listed.last(), stored.first());
    assert_eq!(
        ids(EventQuery {
            kind: Some(EventKind::SignIn),
            outcome: Some(EventOutcome::Failure),
            ..all.clone()
        }),
        [4_000, 2_000]
    );
    assert_eq!(
        ids(EventQuery {
            user_id: Some(UserId::new("ann")),
            ..all.clone()
        }),
        [4_000, 1_000]
    );
    assert_eq!(
        ids(EventQuery {
            from_ms: Some(2_000),
            before_ms: Some(4_000),
            ..all.clone()
        }),
        [3_000, 2_000]
    );
    assert_eq!(
        ids(EventQuery {
            flow_id: Some("flow_other".to_owned()),
            ..all.clone()
        }),
        Vec::<i64>::new()
    );
    // Paging: two at a time, each page before the last id of the previous one.
    let first = log
        .list(
            tenant,
            &EventQuery {
                limit: 2,
                ..all.clone()
            },
        )
        .unwrap();
    let second = ids(EventQuery {
        limit: 2,
        before_id: first.last().map(|event| event.id.clone()),
        ..all.clone()
    });
    assert_eq!(second, [2_000, 1_000]);

    // Retention: older than the cutoff goes, in every tenant (a shared PostgreSQL database may
    // hold more such rows, of runs that stopped half-way).
    assert!(log.delete_older_than(2_500).unwrap() >= 2);
    assert_eq!(ids(all.clone()), [4_000, 3_000]);
    assert_eq!(log.list(other, &all).unwrap().len(), 1);
}
