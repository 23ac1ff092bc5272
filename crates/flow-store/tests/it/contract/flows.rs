//! The [`FlowRepository`] contract: create, uniqueness per tenant, lookups, paging and filters,
//! updates with the default flag, deletion with versions, compiled versions.

use flow_engine::{
    FlowHead, FlowQuery, FlowRepository, FlowSelector, FlowVersion, PortError, StoredFlow, TenantId,
};
use flow_model::{FlowStatus, FlowType};

use crate::support::{flow, program};

fn stored(tenant: &TenantId, id: &str, name: &str, flow_type: &str, status: &str) -> StoredFlow {
    StoredFlow {
        tenant: tenant.clone(),
        flow: flow(id, name, flow_type, status),
        is_default: false,
        activated_at: None,
        deactivated_at: None,
    }
}

fn query(limit: usize) -> FlowQuery {
    FlowQuery {
        flow_type: None,
        status: None,
        after: None,
        limit,
    }
}

fn ids(items: &[StoredFlow]) -> Vec<&str> {
    items.iter().map(|item| item.flow.id.as_str()).collect()
}

/// Create, get by id and name (round trip of the whole flow), uniqueness per tenant.
pub(crate) fn create_and_get<R: FlowRepository + ?Sized>(
    flows: &R,
    tenant: &TenantId,
    other: &TenantId,
) {
    let mut login = stored(tenant, "f1", "login-one", "login", "active");
    login.activated_at = Some(123);
    flows.create(&login).unwrap();
    assert_eq!(flows.get(tenant, "f1").unwrap(), Some(login.clone()));
    assert_eq!(
        flows.get_by_name(tenant, "login-one").unwrap(),
        Some(login.clone())
    );
    assert_eq!(flows.get(tenant, "nope").unwrap(), None);
    assert_eq!(flows.get_by_name(tenant, "nope").unwrap(), None);
    assert_eq!(flows.get(other, "f1").unwrap(), None);

    // The same name or id again in the tenant: duplicate.
    assert_eq!(
        flows.create(&stored(tenant, "f2", "login-one", "login", "draft")),
        Err(PortError::Duplicate)
    );
    assert_eq!(
        flows.create(&stored(tenant, "f1", "login-two", "login", "draft")),
        Err(PortError::Duplicate)
    );
    // Another tenant may use both.
    flows
        .create(&stored(other, "f1", "login-one", "login", "draft"))
        .unwrap();
    assert_eq!(
        flows
            .get_by_name(other, "login-one")
            .unwrap()
            .unwrap()
            .tenant,
        other.clone()
    );
}

/// Paging by id with `after`/`next`, filters by type and status, totals.
pub(crate) fn list_pages_and_filters<R: FlowRepository + ?Sized>(
    flows: &R,
    tenant: &TenantId,
    other: &TenantId,
) {
    for (id, flow_type, status) in [
        ("f1", "login", "active"),
        ("f2", "registration", "draft"),
        ("f3", "login", "draft"),
        ("f4", "login", "inactive"),
        ("f5", "password_reset", "active"),
    ] {
        flows
            .create(&stored(tenant, id, &format!("n-{id}"), flow_type, status))
            .unwrap();
    }
    flows
        .create(&stored(other, "f0", "n-f0", "login", "active"))
        .unwrap();

    let first = flows.list(tenant, &query(2)).unwrap();
    assert_eq!(ids(&first.items), ["f1", "f2"]);
    assert_eq!(first.total, 5);
    assert_eq!(first.next.as_deref(), Some("f2"));
    let second = flows
        .list(
            tenant,
            &FlowQuery {
                after: first.next.clone(),
                ..query(2)
            },
        )
        .unwrap();
    assert_eq!(ids(&second.items), ["f3", "f4"]);
    assert_eq!(second.next.as_deref(), Some("f4"));
    let last = flows
        .list(
            tenant,
            &FlowQuery {
                after: second.next.clone(),
                ..query(2)
            },
        )
        .unwrap();
    assert_eq!(ids(&last.items), ["f5"]);
    assert_eq!(last.total, 5);
    assert_eq!(last.next, None);

    // Exactly a page: no next.
    let all = flows.list(tenant, &query(5)).unwrap();
    assert_eq!(all.items.len(), 5);
    assert_eq!(all.next, None);

    let logins = flows
        .list(
            tenant,
            &FlowQuery {
                flow_type: Some(FlowType::Login),
                ..query(10)
            },
        )
        .unwrap();
    assert_eq!(ids(&logins.items), ["f1", "f3", "f4"]);
    assert_eq!(logins.total, 3);

    let drafts = flows
        .list(
            tenant,
            &FlowQuery {
                status: Some(FlowStatus::Draft),
                ..query(1)
            },
        )
        .unwrap();
    assert_eq!(ids(&drafts.items), ["f2"]);
    assert_eq!(drafts.total, 2);
    assert_eq!(drafts.next.as_deref(), Some("f2"));

    let active_logins = flows
        .list(
            tenant,
            &FlowQuery {
                flow_type: Some(FlowType::Login),
                status: Some(FlowStatus::Active),
                ..query(10)
            },
        )
        .unwrap();
    assert_eq!(ids(&active_logins.items), ["f1"]);
    assert_eq!(active_logins.total, 1);

    let empty = flows
        .list(&TenantId::new(format!("{tenant}-none")), &query(10))
        .unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(empty.total, 0);
    assert_eq!(empty.next, None);
}

/// Updates replace the flow; a default takes the flag from the others of its type only.
pub(crate) fn update_and_defaults<R: FlowRepository + ?Sized>(flows: &R, tenant: &TenantId) {
    let mut a = stored(tenant, "a", "login-a", "login", "active");
    let mut b = stored(tenant, "b", "login-b", "login", "active");
    let mut reg = stored(tenant, "r", "reg", "registration", "active");
    a.is_default = true;
    reg.is_default = true;
    flows.create(&a).unwrap();
    flows.create(&b).unwrap();
    flows.create(&reg).unwrap();
    assert_eq!(
        flows
            .default_for(tenant, FlowType::Login)
            .unwrap()
            .unwrap()
            .flow
            .id,
        "a"
    );

    b.is_default = true;
    b.flow.display_name = "Renamed".to_owned();
    b.flow.status = FlowStatus::Inactive;
    b.flow.version = 2;
    b.flow.updated_at = 200;
    b.deactivated_at = Some(200);
    flows.update(&b).unwrap();
    assert_eq!(flows.get(tenant, "b").unwrap(), Some(b.clone()));
    assert_eq!(
        flows.default_for(tenant, FlowType::Login).unwrap(),
        Some(b.clone())
    );
    a.is_default = false;
    assert_eq!(flows.get(tenant, "a").unwrap(), Some(a.clone()));
    // Another type keeps its default.
    assert_eq!(
        flows.default_for(tenant, FlowType::Registration).unwrap(),
        Some(reg.clone())
    );
    assert_eq!(flows.default_for(tenant, FlowType::MfaSetup).unwrap(), None);

    // A rename to a taken name is a duplicate; an unknown flow is not found.
    let mut clash = a.clone();
    clash.flow.name = b.flow.name.clone();
    assert_eq!(flows.update(&clash), Err(PortError::Duplicate));
    let ghost = stored(tenant, "ghost", "ghost", "login", "draft");
    assert_eq!(flows.update(&ghost), Err(PortError::NotFound));

    // The old name is free after a rename.
    let mut renamed = a.clone();
    renamed.flow.name = flow_model::FlowName::parse("login-a2").unwrap();
    flows.update(&renamed).unwrap();
    assert_eq!(flows.get_by_name(tenant, "login-a").unwrap(), None);
    assert_eq!(
        flows.get_by_name(tenant, "login-a2").unwrap(),
        Some(renamed)
    );
}

/// Compiled versions: save, duplicate, read back, unknown flow; delete removes the versions.
pub(crate) fn versions_and_delete<R: FlowRepository + ?Sized>(flows: &R, tenant: &TenantId) {
    flows
        .create(&stored(tenant, "v", "versioned", "login", "active"))
        .unwrap();
    let first = FlowVersion {
        flow_id: "v".to_owned(),
        version: 1,
        program: program("v", 1),
        compiled_at: 1_000,
    };
    let second = FlowVersion {
        version: 2,
        program: program("v", 2),
        compiled_at: 2_000,
        ..first.clone()
    };
    flows.save_version(tenant, &first).unwrap();
    flows.save_version(tenant, &second).unwrap();
    assert_eq!(
        flows.save_version(tenant, &first),
        Err(PortError::Duplicate)
    );
    assert_eq!(flows.version(tenant, "v", 1).unwrap(), Some(first.clone()));
    assert_eq!(flows.version(tenant, "v", 2).unwrap(), Some(second));
    assert_eq!(flows.version(tenant, "v", 3).unwrap(), None);
    let orphan = FlowVersion {
        flow_id: "missing".to_owned(),
        ..first
    };
    assert_eq!(
        flows.save_version(tenant, &orphan),
        Err(PortError::NotFound)
    );

    assert!(flows.delete(tenant, "v").unwrap());
    assert!(!flows.delete(tenant, "v").unwrap());
    assert_eq!(flows.get(tenant, "v").unwrap(), None);
    assert_eq!(flows.version(tenant, "v", 1).unwrap(), None);

    // The name and id can be used again, without the old versions.
    flows
        .create(&stored(tenant, "v", "versioned", "login", "draft"))
        .unwrap();
    assert_eq!(flows.version(tenant, "v", 2).unwrap(), None);
}

/// The head a start reads: the flow's current version and the content hash of that version's
/// program (none while the version is not stored), by name or as the default of its type,
/// whatever the status, within the tenant only.
pub(crate) fn heads_name_the_current_version<R: FlowRepository + ?Sized>(
    flows: &R,
    tenant: &TenantId,
    other: &TenantId,
) {
    let mut flow = stored(tenant, "h", "headed", "registration", "draft");
    flow.flow.version = 1;
    flows.create(&flow).unwrap();
    let named = FlowSelector::Named("headed");
    let by_type = FlowSelector::DefaultOf(FlowType::Registration);
    let mut expected = FlowHead {
        flow_id: "h".to_owned(),
        name: "headed".to_owned(),
        flow_type: FlowType::Registration,
        status: FlowStatus::Draft,
        version: 1,
        content_hash: None,
    };
    assert_eq!(flows.head(tenant, named).unwrap(), Some(expected.clone()));
    // Not the default yet.
    assert_eq!(flows.head(tenant, by_type).unwrap(), None);

    // Version 2 compiled and current, and the flow the default: both selectors find it.
    for version in [1, 2] {
        flows
            .save_version(
                tenant,
                &FlowVersion {
                    flow_id: "h".to_owned(),
                    version,
                    program: program("h", version),
                    compiled_at: 1_000,
                },
            )
            .unwrap();
    }
    flow.flow.version = 2;
    flow.flow.status = FlowStatus::Active;
    flow.is_default = true;
    flows.update(&flow).unwrap();
    expected.version = 2;
    expected.status = FlowStatus::Active;
    expected.content_hash = Some(program("h", 2).content_hash.clone());
    assert_eq!(flows.head(tenant, named).unwrap(), Some(expected.clone()));
    assert_eq!(flows.head(tenant, by_type).unwrap(), Some(expected));

    // A head whose version is not stored yet says so.
    flow.flow.version = 3;
    flows.update(&flow).unwrap();
    let head = flows.head(tenant, named).unwrap().unwrap();
    assert_eq!((head.version, head.content_hash), (3, None));

    // Another tenant sees nothing; an unknown name is nothing.
    assert_eq!(flows.head(other, named).unwrap(), None);
    assert_eq!(flows.head(other, by_type).unwrap(), None);
    assert_eq!(
        flows.head(tenant, FlowSelector::Named("nope")).unwrap(),
        None
    );
}
