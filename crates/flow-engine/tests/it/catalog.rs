//! The flow catalog: seed 002's lifecycle (create, update, validate, compile, activate,
//! deactivate, delete), defaults per type, import/export, seeding, and pinned executions.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use flow_engine::memory::{ManualClock, MemoryPorts};
use flow_engine::{
    CatalogError, FIELD_IDENTIFIER, FIELD_PASSWORD, FlowCatalog, FlowPatch, FlowQuery,
    FlowRepository, NewFlow, Outcome, PortError, Random, TenantId,
};
use flow_model::{FindingCode, Flow, FlowName, FlowStatus, FlowType, Graph};
use serde_json::{Map, Value, json};

use crate::common::{Harness, T0_MILLIS, fixture};

const T0: i64 = T0_MILLIS / 1000;
const EMAIL: &str = "pinned@example.com";
const PASSWORD: &str = "quartz meadow lantern drift";

fn tenant() -> TenantId {
    TenantId::default()
}

/// Memory ports with a manual clock and a catalog over them.
fn setup() -> (MemoryPorts, FlowCatalog, Arc<ManualClock>) {
    let memory = MemoryPorts::with_manual_clock(T0_MILLIS);
    let catalog = memory.catalog();
    let clock = memory.clock.clone().unwrap();
    (memory, catalog, clock)
}

fn graph(value: Value) -> Graph {
    Graph::from_value(value).unwrap()
}

/// The seed's social-login example graph, changed to something this flowd runs.
fn tiny_graph() -> Graph {
    graph(json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "who", "type": "identifier_input", "config": {"with_password": true}},
            {"id": "secret", "type": "password_input"},
            {"id": "success", "type": "success"}
        ],
        "edges": [
            {"source": "start", "target": "who"},
            {"source": "who", "target": "secret"},
            {"source": "secret", "target": "success"}
        ]
    }))
}

/// A graph without a start node: a draft that does not validate.
fn broken_graph() -> Graph {
    graph(json!({
        "nodes": [{"id": "success", "type": "success"}],
        "edges": [{"source": "password", "target": "mfa"}]
    }))
}

fn new_flow(name: &str, flow_type: FlowType, graph: Graph) -> NewFlow {
    NewFlow {
        name: FlowName::parse(name).unwrap(),
        display_name: format!("{name} flow"),
        description: Some("a flow for tests".into()),
        flow_type,
        graph,
        extra: Map::new(),
    }
}

fn all() -> FlowQuery {
    FlowQuery {
        flow_type: None,
        status: None,
        after: None,
        limit: 100,
    }
}

fn fixture_flow(name: &str) -> Flow {
    Flow::from_json(&fixture(name)).unwrap()
}

fn default_fixtures() -> Vec<Flow> {
    [
        "default-login",
        "default-registration",
        "default-password-recovery",
        "default-mfa-setup",
        "default-invited-registration",
    ]
    .into_iter()
    .map(fixture_flow)
    .collect()
}

#[test]
fn create_makes_an_uncompiled_draft_at_version_one() {
    let (_, catalog, _) = setup();
    let created = catalog
        .create(
            &tenant(),
            new_flow("social-login", FlowType::Login, tiny_graph()),
        )
        .unwrap();
    let flow = &created.flow;
    assert!(flow.id.starts_with("flow_"), "{}", flow.id);
    assert_eq!(flow.id.len(), "flow_".len() + 16);
    assert!(
        flow.id["flow_".len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(flow.status, FlowStatus::Draft);
    assert_eq!(flow.version, 1);
    assert!(!flow.compiled);
    assert_eq!(flow.compiled_at, None);
    assert_eq!((flow.created_at, flow.updated_at), (T0, T0));
    assert_eq!(flow.description.as_deref(), Some("a flow for tests"));
    assert!(!created.is_default);
    assert_eq!(catalog.get(&tenant(), &flow.id).unwrap(), created);
    assert_eq!(
        catalog.get_by_name(&tenant(), "social-login").unwrap(),
        created
    );

    // Drafts may be invalid.
    let draft = catalog
        .create(
            &tenant(),
            new_flow("broken", FlowType::Login, broken_graph()),
        )
        .unwrap();
    assert_eq!(draft.flow.status, FlowStatus::Draft);
    assert_ne!(draft.flow.id, created.flow.id);

    // Names are unique per tenant only.
    let taken = catalog.create(
        &tenant(),
        new_flow("social-login", FlowType::Registration, tiny_graph()),
    );
    assert_eq!(taken, Err(CatalogError::NameTaken("social-login".into())));
    assert_eq!(taken.unwrap_err().code(), "name_taken");
    let elsewhere = TenantId::new("acme");
    catalog
        .create(
            &elsewhere,
            new_flow("social-login", FlowType::Login, tiny_graph()),
        )
        .unwrap();
    assert_eq!(catalog.list(&tenant(), &all()).unwrap().total, 2);
    assert_eq!(catalog.list(&elsewhere, &all()).unwrap().total, 1);
}

/// Gives the same bytes twice, then different ones: the second flow's first id collides.
struct Stuttering(AtomicU8);

impl Random for Stuttering {
    fn fill(&self, dest: &mut [u8]) {
        let call = self.0.fetch_add(1, Ordering::SeqCst);
        dest.fill(call.saturating_sub(1));
    }
}

#[test]
fn a_colliding_random_id_is_replaced() {
    let memory = MemoryPorts::with_manual_clock(T0_MILLIS);
    let catalog = FlowCatalog::new(
        memory.flows.clone(),
        memory.clock(),
        Arc::new(Stuttering(AtomicU8::new(0))),
    );
    let first = catalog
        .create(&tenant(), new_flow("first", FlowType::Login, tiny_graph()))
        .unwrap();
    let second = catalog
        .create(&tenant(), new_flow("second", FlowType::Login, tiny_graph()))
        .unwrap();
    assert_eq!(first.flow.id, "flow_0000000000000000");
    assert_eq!(second.flow.id, "flow_0101010101010101");
}

#[test]
fn update_changes_fields_and_a_changed_graph_clears_compiled() {
    let (_, catalog, clock) = setup();
    let t = tenant();
    let id = catalog
        .create(&t, new_flow("social-login", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    catalog.activate(&t, &id).unwrap();
    clock.advance_secs(10);

    // Metadata only: still compiled, still active.
    let mut extra = Map::new();
    extra.insert("editor".into(), json!({"zoom": 2}));
    let updated = catalog
        .update(
            &t,
            &id,
            FlowPatch {
                display_name: Some("Social Login Flow (Updated)".into()),
                graph: Some(tiny_graph()),
                extra,
                ..FlowPatch::default()
            },
        )
        .unwrap();
    assert_eq!(updated.flow.display_name, "Social Login Flow (Updated)");
    assert_eq!(
        updated.flow.description.as_deref(),
        Some("a flow for tests")
    );
    assert!(updated.flow.compiled);
    assert_eq!(updated.flow.compiled_at, Some(T0));
    assert_eq!(updated.flow.updated_at, T0 + 10);
    assert_eq!(updated.flow.extra["editor"], json!({"zoom": 2}));

    // A changed graph: no longer compiled, status kept, same version until compiled.
    clock.advance_secs(10);
    let mut changed = tiny_graph();
    changed.nodes[1].config = Some(json!({"with_password": false}));
    let mut extra = Map::new();
    extra.insert("editor".into(), Value::Null);
    let updated = catalog
        .update(
            &t,
            &id,
            FlowPatch {
                description: Some(String::new()),
                graph: Some(changed.clone()),
                extra,
                ..FlowPatch::default()
            },
        )
        .unwrap();
    assert!(!updated.flow.compiled);
    assert_eq!(updated.flow.compiled_at, None);
    assert_eq!(updated.flow.status, FlowStatus::Active);
    assert_eq!(updated.flow.version, 2);
    assert_eq!(updated.flow.graph, changed);
    assert_eq!(updated.flow.description, None);
    assert!(!updated.flow.extra.contains_key("editor"));
    assert_eq!(updated.flow.updated_at, T0 + 20);
    assert_eq!(catalog.get(&t, &id).unwrap(), updated);

    assert_eq!(
        catalog.update(&t, "flow_missing", FlowPatch::default()),
        Err(CatalogError::NotFound)
    );
}

#[test]
fn list_and_delete() {
    let (memory, catalog, _) = setup();
    let t = tenant();
    let login = catalog
        .create(&t, new_flow("a-login", FlowType::Login, tiny_graph()))
        .unwrap();
    catalog
        .create(
            &t,
            new_flow("a-registration", FlowType::Registration, tiny_graph()),
        )
        .unwrap();
    catalog.activate(&t, &login.flow.id).unwrap();

    let page = catalog.list(&t, &all()).unwrap();
    assert_eq!(page.total, 2);
    let mut ids: Vec<_> = page.items.iter().map(|f| f.flow.id.clone()).collect();
    let sorted = {
        let mut sorted = ids.clone();
        sorted.sort();
        sorted
    };
    assert_eq!(ids, sorted);
    let actives = FlowQuery {
        status: Some(FlowStatus::Active),
        ..all()
    };
    let page = catalog.list(&t, &actives).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].flow.id, login.flow.id);
    let registrations = FlowQuery {
        flow_type: Some(FlowType::Registration),
        ..all()
    };
    assert_eq!(catalog.list(&t, &registrations).unwrap().total, 1);

    assert_eq!(memory.flows.version_count(), 1);
    catalog.delete(&t, &login.flow.id).unwrap();
    assert_eq!(memory.flows.version_count(), 0);
    assert_eq!(catalog.get(&t, &login.flow.id), Err(CatalogError::NotFound));
    assert_eq!(
        catalog.delete(&t, &login.flow.id),
        Err(CatalogError::NotFound)
    );
    assert_eq!(
        catalog.program_for_name(&t, "a-login"),
        Err(CatalogError::NotFound)
    );
    ids.retain(|id| *id != login.flow.id);
    let remaining: Vec<_> = catalog
        .list(&t, &all())
        .unwrap()
        .items
        .into_iter()
        .map(|f| f.flow.id)
        .collect();
    assert_eq!(remaining, ids);

    // The name is free again, under a new id.
    let again = catalog
        .create(&t, new_flow("a-login", FlowType::Login, tiny_graph()))
        .unwrap();
    assert_ne!(again.flow.id, login.flow.id);
}

#[test]
fn validate_reports_on_the_current_graph() {
    let (_, catalog, _) = setup();
    let t = tenant();
    let id = catalog
        .create(&t, new_flow("broken", FlowType::Login, broken_graph()))
        .unwrap()
        .flow
        .id;
    let report = catalog.validate(&t, &id).unwrap();
    assert!(!report.valid);
    assert!(report.has(FindingCode::MissingStartNode));
    assert!(report.has(FindingCode::InvalidEdge));

    catalog
        .update(
            &t,
            &id,
            FlowPatch {
                graph: Some(tiny_graph()),
                ..FlowPatch::default()
            },
        )
        .unwrap();
    let report = catalog.validate(&t, &id).unwrap();
    assert!(report.valid, "{report}");
    assert_eq!(catalog.validate(&t, "nope"), Err(CatalogError::NotFound));
}

#[test]
fn every_compile_makes_a_new_version() {
    let (memory, catalog, clock) = setup();
    let t = tenant();
    let id = catalog
        .create(&t, new_flow("broken", FlowType::Login, broken_graph()))
        .unwrap()
        .flow
        .id;

    // Invalid: the report comes back and nothing changes.
    let error = catalog.compile(&t, &id).unwrap_err();
    assert_eq!(error.code(), "invalid_flow");
    assert!(error.report().unwrap().has(FindingCode::MissingStartNode));
    let unchanged = catalog.get(&t, &id).unwrap();
    assert_eq!(
        (unchanged.flow.version, unchanged.flow.compiled),
        (1, false)
    );
    assert_eq!(memory.flows.version_count(), 0);

    catalog
        .update(
            &t,
            &id,
            FlowPatch {
                graph: Some(tiny_graph()),
                ..FlowPatch::default()
            },
        )
        .unwrap();
    clock.advance_secs(100);
    let compiled = catalog.compile(&t, &id).unwrap();
    // As in the seed: created at version 1, the first compile answers version 2.
    assert_eq!(compiled.flow.version, 2);
    assert!(compiled.flow.compiled);
    assert_eq!(compiled.flow.compiled_at, Some(T0 + 100));
    assert_eq!(compiled.flow.status, FlowStatus::Draft);
    let stored = memory.flows.version(&t, &id, 2).unwrap().unwrap();
    assert_eq!(stored.program.version, 2);
    assert_eq!(stored.program.flow_id, id);
    assert_eq!(stored.program.flow_name, "broken");
    assert_eq!(stored.compiled_at, T0 + 100);

    clock.advance_secs(100);
    let again = catalog.compile(&t, &id).unwrap();
    assert_eq!(again.flow.version, 3);
    assert_eq!(again.flow.compiled_at, Some(T0 + 200));
    assert_eq!(memory.flows.version_count(), 2);
    // The same graph gives the same program, apart from the version.
    let third = memory.flows.version(&t, &id, 3).unwrap().unwrap();
    assert_eq!(third.program.content_hash, stored.program.content_hash);

    assert_eq!(catalog.compile(&t, "nope"), Err(CatalogError::NotFound));
}

#[test]
fn activate_compiles_when_needed_and_deactivate_stops_new_starts() {
    let (_, catalog, clock) = setup();
    let t = tenant();
    let id = catalog
        .create(&t, new_flow("social-login", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    assert_eq!(
        catalog.program_for_name(&t, "social-login"),
        Err(CatalogError::Inactive("social-login".into()))
    );

    clock.advance_secs(5);
    let active = catalog.activate(&t, &id).unwrap();
    assert_eq!(active.flow.status, FlowStatus::Active);
    assert_eq!(active.activated_at, Some(T0 + 5));
    assert_eq!((active.flow.version, active.flow.compiled), (2, true));
    let program = catalog.program_for_name(&t, "social-login").unwrap();
    assert_eq!(program.version, 2);

    // Already compiled: activating again does not make a version.
    clock.advance_secs(5);
    let again = catalog.activate(&t, &id).unwrap();
    assert_eq!(again.flow.version, 2);
    assert_eq!(again.activated_at, Some(T0 + 10));

    clock.advance_secs(5);
    let inactive = catalog.deactivate(&t, &id).unwrap();
    assert_eq!(inactive.flow.status, FlowStatus::Inactive);
    assert_eq!(inactive.deactivated_at, Some(T0 + 15));
    assert_eq!(inactive.activated_at, Some(T0 + 10));
    let error = catalog.program_for_name(&t, "social-login").unwrap_err();
    assert_eq!(error, CatalogError::Inactive("social-login".into()));
    assert_eq!(error.code(), "flow_inactive");
    assert_eq!(
        catalog
            .program_for_name(&t, "no-such-flow")
            .unwrap_err()
            .code(),
        "flow_not_found"
    );

    // Re-activating an inactive flow whose graph is compiled keeps its version.
    assert_eq!(catalog.activate(&t, &id).unwrap().flow.version, 2);

    // An invalid graph cannot be activated; the flow stays as it was.
    let broken = catalog
        .create(&t, new_flow("broken", FlowType::Login, broken_graph()))
        .unwrap()
        .flow
        .id;
    let error = catalog.activate(&t, &broken).unwrap_err();
    assert!(matches!(error, CatalogError::Invalid(ref report) if !report.valid));
    assert_eq!(
        catalog.get(&t, &broken).unwrap().flow.status,
        FlowStatus::Draft
    );
    assert_eq!(catalog.activate(&t, "nope"), Err(CatalogError::NotFound));
    assert_eq!(catalog.deactivate(&t, "nope"), Err(CatalogError::NotFound));
}

#[test]
fn an_edited_active_flow_runs_its_last_compiled_version_until_recompiled() {
    let (_, catalog, _) = setup();
    let t = tenant();
    let id = catalog
        .create(&t, new_flow("social-login", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    catalog.activate(&t, &id).unwrap();
    catalog
        .update(
            &t,
            &id,
            FlowPatch {
                graph: Some(broken_graph()),
                ..FlowPatch::default()
            },
        )
        .unwrap();
    assert_eq!(
        catalog
            .program_for_name(&t, "social-login")
            .unwrap()
            .version,
        2
    );
    // Activating again means compiling the new graph, which fails: still version 2.
    assert!(matches!(
        catalog.activate(&t, &id),
        Err(CatalogError::Invalid(_))
    ));
    assert_eq!(
        catalog
            .program_for_name(&t, "social-login")
            .unwrap()
            .version,
        2
    );
}

#[test]
fn the_default_flow_of_a_type_starts_by_type() {
    let (_, catalog, _) = setup();
    let t = tenant();
    let error = catalog.program_for_type(&t, FlowType::Login).unwrap_err();
    assert_eq!(error, CatalogError::NoDefault(FlowType::Login));
    assert_eq!(error.code(), "no_default_flow");

    let first = catalog
        .create(&t, new_flow("first", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    let second = catalog
        .create(&t, new_flow("second", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    assert!(catalog.set_default(&t, &first, true).unwrap().is_default);
    // A default that is not active does not start.
    assert_eq!(
        catalog.program_for_type(&t, FlowType::Login),
        Err(CatalogError::Inactive("first".into()))
    );
    catalog.activate(&t, &first).unwrap();
    let active = catalog.active_by_type(&t, FlowType::Login).unwrap();
    assert_eq!(active.flow.flow.id, first);
    assert_eq!(active.program.flow_id, first);

    // Marking another one moves the mark.
    catalog.activate(&t, &second).unwrap();
    catalog.set_default(&t, &second, true).unwrap();
    assert!(!catalog.get(&t, &first).unwrap().is_default);
    assert_eq!(
        catalog
            .program_for_type(&t, FlowType::Login)
            .unwrap()
            .flow_id,
        second
    );
    assert_eq!(
        catalog.program_for_type(&t, FlowType::Registration),
        Err(CatalogError::NoDefault(FlowType::Registration))
    );

    // Unmarking leaves the type without a default.
    assert!(!catalog.set_default(&t, &second, false).unwrap().is_default);
    assert_eq!(
        catalog.program_for_type(&t, FlowType::Login),
        Err(CatalogError::NoDefault(FlowType::Login))
    );
    assert_eq!(
        catalog.set_default(&t, "nope", true),
        Err(CatalogError::NotFound)
    );
}

#[test]
fn import_makes_a_draft_and_export_gives_the_document_back() {
    let (_, catalog, clock) = setup();
    let t = tenant();
    let mut document = fixture_flow("default-login");
    document.status = FlowStatus::Active;
    document.version = 7;
    document.compiled = true;
    document.compiled_at = Some(12);
    document.created_at = 34;
    document.extra.insert("is_default".into(), json!(true));
    document.extra.insert("activated_at".into(), json!(56));
    document
        .extra
        .insert("editor".into(), json!({"theme": "dark"}));
    clock.advance_secs(1);

    let imported = catalog.import(&t, document.clone()).unwrap();
    let flow = &imported.flow;
    // The fixture has no id: the model derives `flow_default_login`, which is free.
    assert_eq!(flow.id, "flow_default_login");
    assert_eq!(flow.name.as_str(), "default-login");
    assert_eq!(flow.display_name, document.display_name);
    assert_eq!(flow.description, document.description);
    assert_eq!(flow.graph, document.graph);
    assert_eq!(flow.status, FlowStatus::Draft);
    assert_eq!(
        (flow.version, flow.compiled, flow.compiled_at),
        (1, false, None)
    );
    assert_eq!((flow.created_at, flow.updated_at), (T0 + 1, T0 + 1));
    assert!(!imported.is_default);
    assert_eq!(flow.extra.len(), 1);
    assert_eq!(flow.extra["editor"], json!({"theme": "dark"}));

    // The same name again is refused.
    assert_eq!(
        catalog.import(&t, document.clone()),
        Err(CatalogError::NameTaken("default-login".into()))
    );

    // A taken or unusable id is replaced by a random one.
    let mut renamed = document.clone();
    renamed.name = FlowName::parse("copied-login").unwrap();
    let copy = catalog.import(&t, renamed.clone()).unwrap();
    assert_ne!(copy.flow.id, "flow_default_login");
    assert_eq!(copy.flow.id.len(), "flow_".len() + 16);
    renamed.name = FlowName::parse("odd-id").unwrap();
    renamed.id = "../../etc/passwd".into();
    let odd = catalog.import(&t, renamed).unwrap();
    assert!(odd.flow.id.starts_with("flow_") && !odd.flow.id.contains('/'));

    // Export, then import elsewhere: the same flow, as a fresh draft.
    let exported = catalog.export(&t, "flow_default_login").unwrap();
    assert_eq!(exported, imported.flow);
    let text = serde_json::to_string(&exported).unwrap();
    let other = TenantId::new("other");
    let reimported = catalog
        .import(&other, Flow::from_json(&text).unwrap())
        .unwrap();
    assert_eq!(reimported.flow, exported);
    assert_eq!(catalog.export(&t, "nope"), Err(CatalogError::NotFound));

    // Imported drafts may be invalid.
    let mut broken = document;
    broken.name = FlowName::parse("broken-import").unwrap();
    broken.graph = broken_graph();
    assert_eq!(
        catalog.import(&t, broken).unwrap().flow.status,
        FlowStatus::Draft
    );
}

#[test]
fn install_defaults_seeds_once_and_leaves_existing_flows_alone() {
    let (memory, catalog, clock) = setup();
    let t = tenant();
    let defaults = default_fixtures();
    let installed = catalog.install_defaults(&t, &defaults).unwrap();
    assert_eq!(installed.len(), defaults.len());
    for stored in &installed {
        assert_eq!(stored.flow.status, FlowStatus::Active);
        assert_eq!((stored.flow.version, stored.flow.compiled), (2, true));
        assert_eq!(stored.activated_at, Some(T0));
        assert!(stored.is_default, "{}", stored.flow.name);
        assert_eq!(catalog.get(&t, &stored.flow.id).unwrap(), *stored);
    }
    for flow_type in [
        FlowType::Login,
        FlowType::Registration,
        FlowType::PasswordReset,
        FlowType::MfaSetup,
        FlowType::InvitedRegistration,
    ] {
        let program = catalog.program_for_type(&t, flow_type).unwrap();
        assert_eq!(program.flow_type, flow_type);
    }
    assert_eq!(
        catalog
            .program_for_name(&t, "default-login")
            .unwrap()
            .flow_id,
        "flow_default_login"
    );

    // An operator edits and deactivates one; a restart seeds nothing and changes nothing.
    clock.advance_secs(60);
    let login = catalog.get_by_name(&t, "default-login").unwrap();
    catalog
        .update(
            &t,
            &login.flow.id,
            FlowPatch {
                display_name: Some("Our Login".into()),
                ..FlowPatch::default()
            },
        )
        .unwrap();
    catalog.deactivate(&t, &login.flow.id).unwrap();
    let before = catalog.list(&t, &all()).unwrap();
    assert!(catalog.install_defaults(&t, &defaults).unwrap().is_empty());
    assert_eq!(catalog.list(&t, &all()).unwrap(), before);

    // A deleted default comes back; it does not take the mark from the operator's own flow.
    let mine = catalog
        .create(&t, new_flow("my-login", FlowType::Login, tiny_graph()))
        .unwrap()
        .flow
        .id;
    catalog.activate(&t, &mine).unwrap();
    catalog.set_default(&t, &mine, true).unwrap();
    catalog.delete(&t, &login.flow.id).unwrap();
    let reinstalled = catalog.install_defaults(&t, &defaults).unwrap();
    assert_eq!(reinstalled.len(), 1);
    assert!(!reinstalled[0].is_default);
    assert_eq!(reinstalled[0].flow.status, FlowStatus::Active);
    assert_eq!(
        catalog
            .program_for_type(&t, FlowType::Login)
            .unwrap()
            .flow_id,
        mine
    );

    // Another tenant gets its own copies.
    let other = TenantId::new("other");
    assert_eq!(
        catalog.install_defaults(&other, &defaults).unwrap().len(),
        5
    );
    assert_eq!(memory.flows.len(), 6 + 5);
}

#[test]
fn an_invalid_default_is_refused_before_anything_of_it_is_stored() {
    let (memory, catalog, _) = setup();
    let t = tenant();
    let mut broken = fixture_flow("default-login");
    broken.graph = broken_graph();
    let defaults = vec![fixture_flow("default-registration"), broken];
    let error = catalog.install_defaults(&t, &defaults).unwrap_err();
    assert_eq!(error.code(), "invalid_flow");
    assert!(
        memory
            .flows
            .get_by_name(&t, "default-login")
            .unwrap()
            .is_none()
    );
    // The valid one before it is installed.
    assert!(catalog.program_for_name(&t, "default-registration").is_ok());
}

#[test]
fn catalog_errors_have_stable_codes() {
    let codes = [
        (CatalogError::NotFound, "flow_not_found"),
        (CatalogError::NameTaken("x".into()), "name_taken"),
        (
            CatalogError::Invalid(flow_model::Report::default()),
            "invalid_flow",
        ),
        (CatalogError::Inactive("x".into()), "flow_inactive"),
        (CatalogError::NoDefault(FlowType::Login), "no_default_flow"),
        (CatalogError::Store(PortError::Conflict), "store_error"),
    ];
    for (error, code) in codes {
        assert_eq!(error.code(), code);
        assert!(!error.to_string().is_empty());
        assert_eq!(error.report().is_some(), code == "invalid_flow");
    }
}

#[test]
fn executions_in_flight_keep_their_version_after_recompile_and_activate() {
    let harness = Harness::new();
    let catalog = harness.memory.catalog();
    let t = tenant();
    catalog.install_defaults(&t, &default_fixtures()).unwrap();
    let login = catalog.get_by_name(&t, "default-login").unwrap();
    let registration = catalog
        .program_for_type(&t, FlowType::Registration)
        .unwrap();
    let (id, _) = harness.start(&registration);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]);
    assert!(matches!(harness.submit(&id, &[]), Outcome::Complete { .. }));

    // Start a login on version 2: it asks for the identifier alone.
    let old = catalog.program_for_name(&t, "default-login").unwrap();
    assert_eq!(old.version, 2);
    let (execution, first) = harness.start(&old);
    let fields: Vec<_> = first
        .form()
        .unwrap()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    // (and the passkey it offers as autofill)
    assert_eq!(fields, [FIELD_IDENTIFIER, flow_engine::FIELD_CREDENTIAL]);
    let second = harness.submit(&execution, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert!(second.form().is_some());

    // Change the graph (identifier and password on one prompt), recompile and activate.
    let mut graph = login.flow.graph.clone();
    let identifier = graph
        .nodes
        .iter_mut()
        .find(|n| n.id == "identifier")
        .unwrap();
    identifier.config =
        Some(json!({"identifier_types": ["email", "username"], "with_password": true}));
    catalog
        .update(
            &t,
            &login.flow.id,
            FlowPatch {
                graph: Some(graph),
                ..FlowPatch::default()
            },
        )
        .unwrap();
    assert_eq!(catalog.compile(&t, &login.flow.id).unwrap().flow.version, 3);
    catalog.activate(&t, &login.flow.id).unwrap();
    let new = catalog.program_for_name(&t, "default-login").unwrap();
    assert_eq!(new.version, 3);
    assert_ne!(new.content_hash, old.content_hash);

    // New executions get the merged prompt...
    let (_, fresh) = harness.start(&new);
    let fields: Vec<_> = fresh
        .form()
        .unwrap()
        .fields
        .iter()
        .map(|f| f.name.clone())
        .collect();
    assert!(fields.contains(&FIELD_PASSWORD.to_owned()), "{fields:?}");

    // ...and the one in flight finishes on version 2.
    let done = harness.submit(&execution, &[(FIELD_PASSWORD, PASSWORD)]);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    assert_eq!(
        harness
            .engine
            .execution(&TenantId::default(), &execution)
            .unwrap()
            .program
            .version,
        2
    );

    // Even deactivating and deleting the flow leaves pinned executions runnable.
    let (pinned, _) = harness.start(&new);
    catalog.deactivate(&t, &login.flow.id).unwrap();
    catalog.delete(&t, &login.flow.id).unwrap();
    let done = harness.submit(
        &pinned,
        &[(FIELD_IDENTIFIER, EMAIL), (FIELD_PASSWORD, PASSWORD)],
    );
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    assert_eq!(
        catalog.program_for_type(&t, FlowType::Login),
        Err(CatalogError::NoDefault(FlowType::Login))
    );
}

#[test]
fn the_catalog_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FlowCatalog>();
}

#[test]
fn extra_fields_never_shadow_managed_ones() {
    let (_, catalog, _) = setup();
    let mut new = new_flow("forged", FlowType::Login, tiny_graph());
    for (key, value) in [
        ("status", json!("active")),
        ("id", json!("flow_default_login")),
        ("version", json!(9)),
        ("compiled", json!(true)),
        ("is_default", json!(true)),
        ("activated_at", json!(1)),
        ("theme", json!("dark")),
    ] {
        new.extra.insert(key.to_owned(), value);
    }
    let created = catalog.create(&tenant(), new).unwrap();
    assert_eq!(created.flow.status, FlowStatus::Draft);
    assert_eq!(created.flow.version, 1);
    assert!(!created.flow.compiled && !created.is_default);
    assert_ne!(created.flow.id, "flow_default_login");
    let stored = catalog.get(&tenant(), &created.flow.id).unwrap();
    let keys: Vec<&String> = stored.flow.extra.keys().collect();
    assert_eq!(keys, ["theme"], "only the unknown field is kept");
    let text = serde_json::to_string(&stored.flow).unwrap();
    assert_eq!(text.matches("\"status\"").count(), 1, "{text}");

    let patch = FlowPatch {
        extra: [("status".to_owned(), json!("active"))]
            .into_iter()
            .collect(),
        ..FlowPatch::default()
    };
    let updated = catalog.update(&tenant(), &created.flow.id, patch).unwrap();
    assert_eq!(updated.flow.status, FlowStatus::Draft);
    assert!(!updated.flow.extra.contains_key("status"));
}
