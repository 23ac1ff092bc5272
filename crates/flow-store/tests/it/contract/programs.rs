//! Executions reference their program: what the engine needs of the execution store and the
//! flow repository together. Run on every backend with a real [`Engine`] over the backend's
//! ports: records stay small, another engine (a replica, a restart) finds the program in the
//! repository, the cache evicts and reloads, and a missing or different program version ends
//! the execution with a coded failure.

use std::sync::Arc;

use flow_engine::memory::MemoryOutbox;
use flow_engine::{
    Engine, EngineConfig, EngineError, FIELD_IDENTIFIER, FLOW_UNAVAILABLE, FlowCatalog, HashParams,
    OsRandom, Outcome, Ports, ProgramRef, RequestContext, Submission, SystemClock,
};
use flow_model::Flow;

use crate::support::Backend;

/// The largest record an execution may have mid-flow, whatever its flow's size (issue 16).
const MAX_RECORD_BYTES: usize = 1024;

/// The engine's ports on `backend`, mail to a memory outbox.
fn ports(backend: &Backend) -> Ports {
    Ports {
        executions: backend.executions.clone(),
        flows: backend.flows.clone(),
        users: backend.users.clone(),
        codes: backend.codes.clone(),
        invitations: backend.invitations.clone(),
        login_attempts: backend.login_attempts.clone(),
        events: backend.events.clone(),
        mailer: Arc::new(MemoryOutbox::new()),
        sms: None,
        identity_providers: backend.identity_providers.clone(),
        identity_links: backend.identity_links.clone(),
        federation: None,
        webhooks: None,
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
    }
}

/// An engine on `backend` that caches at most `capacity` programs.
fn engine(backend: &Backend, capacity: usize) -> Engine {
    let config = EngineConfig {
        hash: HashParams::insecure_for_tests(),
        program_cache_capacity: capacity,
        ..EngineConfig::recommended()
    };
    Engine::new(config, ports(backend)).unwrap()
}

/// The default flows, installed and active in the backend's tenant.
fn catalog(backend: &Backend) -> FlowCatalog {
    let catalog = FlowCatalog::new(
        backend.flows.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
    );
    let defaults: Vec<Flow> = [
        "default-login",
        "default-registration",
        "default-password-recovery",
    ]
    .iter()
    .map(|name| {
        let path = format!(
            "{}/../../fixtures/flows/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        Flow::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
    .collect();
    catalog
        .install_defaults(&backend.tenant, &defaults)
        .unwrap();
    catalog
}

fn submit_identifier() -> Submission {
    Submission::with_inputs([(FIELD_IDENTIFIER, "nobody@example.com")])
}

/// The record holds a reference to the program, is small, and any engine over the same
/// store continues it; the cache evicts and the repository fills it again.
pub(crate) fn executions_reference_their_program(backend: &Backend) {
    let catalog = catalog(backend);
    let first = engine(backend, 1);
    let request = RequestContext::for_tenant(backend.tenant.clone());
    let login = catalog
        .program_for_name(&backend.tenant, "default-login")
        .unwrap();
    let (id, _) = first.start(&login, request.clone()).unwrap();

    let record = backend
        .executions
        .load(&backend.tenant, &id)
        .unwrap()
        .unwrap();
    assert_eq!(record.program, ProgramRef::of(&login));
    let size = serde_json::to_string(&record).unwrap().len();
    assert!(
        size <= MAX_RECORD_BYTES,
        "{size} bytes: {}",
        serde_json::to_string(&record).unwrap()
    );

    // Other flows push the login program out of a one-program cache.
    for name in ["default-registration", "default-password-recovery"] {
        let program = catalog.program_for_name(&backend.tenant, name).unwrap();
        first.start(&program, request.clone()).unwrap();
    }
    assert!(first.cached_programs() <= 1, "{}", first.cached_programs());
    let outcome = first
        .resume_in(&backend.tenant, &id, submit_identifier())
        .unwrap();
    assert!(matches!(outcome, Outcome::Prompt(_)), "{outcome:?}");

    // A second engine (a replica, or this one after a restart) has nothing cached.
    let replica = engine(backend, 8);
    assert_eq!(replica.cached_programs(), 0);
    let opened = replica.open_via("any", &backend.tenant, &id).unwrap();
    assert_eq!(opened.flow_type(), login.flow_type);
    assert!(opened.form().is_some());
    let outcome = replica.show(opened).unwrap();
    assert!(matches!(outcome, Outcome::Prompt(_)), "{outcome:?}");
    assert_eq!(replica.cached_programs(), 1);

    let record = backend
        .executions
        .load(&backend.tenant, &id)
        .unwrap()
        .unwrap();
    let size = serde_json::to_string(&record).unwrap().len();
    assert!(
        size <= MAX_RECORD_BYTES,
        "mid-flow: {size} bytes: {record:?}"
    );
}

/// An execution whose program version is not in the repository (never stored, or stored with
/// another content hash) ends with `flow_unavailable` on its next request, and stays ended.
pub(crate) fn a_missing_program_version_ends_the_execution(backend: &Backend) {
    let catalog = catalog(backend);
    let request = RequestContext::for_tenant(backend.tenant.clone());
    let stored = catalog
        .program_for_name(&backend.tenant, "default-login")
        .unwrap();

    // A program compiled beside the repository, and one that claims a stored version with
    // other content.
    let mut unstored = (*stored).clone();
    unstored.version += 100;
    let mut impostor = (*stored).clone();
    impostor.content_hash = "0".repeat(64);
    for program in [unstored, impostor] {
        let started_by = engine(backend, 8);
        let (id, _) = started_by
            .start(&Arc::new(program), request.clone())
            .unwrap();
        // The engine that started it still has it; a fresh one must look it up.
        let fresh = engine(backend, 8);
        let outcome = fresh
            .resume_in(&backend.tenant, &id, submit_identifier())
            .unwrap();
        match outcome {
            Outcome::Failed { code, .. } => assert_eq!(code, FLOW_UNAVAILABLE),
            other => panic!("expected flow_unavailable, got {other:?}"),
        }
        assert_eq!(
            fresh.resume_in(&backend.tenant, &id, submit_identifier()),
            Err(EngineError::AlreadyCompleted)
        );
        let trace = fresh.trace(&backend.tenant, &id).unwrap();
        assert_eq!(
            trace.last().map(|entry| entry.result.as_str()),
            Some("failed:flow_unavailable")
        );
    }
}

/// A registration flow of 1,000 nodes: start, identifier, 997 one-field prompts, success.
fn large_flow() -> Flow {
    let mut nodes = vec![
        serde_json::json!({"id": "start", "type": "start"}),
        serde_json::json!({"id": "identifier", "type": "identifier_input",
            "config": {"identifier_types": ["email"]}}),
    ];
    let mut edges = vec![serde_json::json!({"source": "start", "target": "identifier"})];
    let mut previous = "identifier".to_owned();
    for index in 0..997 {
        let id = format!("prompt_{index}");
        nodes.push(serde_json::json!({"id": id, "type": "prompt", "config": {"fields": [
            {"name": format!("answer_{index}"), "type": "text", "label": "Answer", "required": true}
        ]}}));
        edges.push(serde_json::json!({"source": previous, "target": id}));
        previous = id;
    }
    nodes.push(
        serde_json::json!({"id": "success", "type": "success", "config": {"auto_login": false}}),
    );
    edges.push(serde_json::json!({"source": previous, "target": "success"}));
    let flow = serde_json::json!({
        "name": "large", "display_name": "Large", "type": "registration",
        "graph": {"nodes": nodes, "edges": edges},
    });
    Flow::from_json(&flow.to_string()).unwrap()
}

/// A 1,000-node flow's execution record is as small as a default flow's, mid-flow.
pub(crate) fn a_large_flow_keeps_a_small_record(backend: &Backend) {
    let flow = large_flow();
    assert_eq!(flow.graph.nodes.len(), 1000);
    let program = Arc::new(flow_compiler::compile(&flow).unwrap());
    let engine = engine(backend, 4);
    let request = RequestContext::for_tenant(backend.tenant.clone());
    let (id, _) = engine.start(&program, request).unwrap();
    engine
        .resume_in(
            &backend.tenant,
            &id,
            Submission::with_inputs([(FIELD_IDENTIFIER, "large@example.com")]),
        )
        .unwrap();
    for index in 0..5 {
        let outcome = engine
            .resume_in(
                &backend.tenant,
                &id,
                Submission::with_inputs([(format!("answer_{index}").as_str(), "yes")]),
            )
            .unwrap();
        assert!(matches!(outcome, Outcome::Prompt(_)), "{outcome:?}");
    }
    let record = backend
        .executions
        .load(&backend.tenant, &id)
        .unwrap()
        .unwrap();
    // Waiting on the sixth prompt, far from the end of the program.
    assert_eq!(
        record.prompt.as_ref().map(|form| form.node_id.as_str()),
        Some("prompt_5")
    );
    let size = serde_json::to_string(&record).unwrap().len();
    assert!(
        size <= MAX_RECORD_BYTES,
        "1,000 nodes: {size} bytes: {record:?}"
    );
}
