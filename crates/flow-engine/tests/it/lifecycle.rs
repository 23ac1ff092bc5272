//! Execution lifecycle: expiry, concurrent resumes, ended executions, pinned programs,
//! tenants, actions, re-display and persistence.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use flow_engine::memory::{MemoryExecutionStore, MemoryPorts};
use flow_engine::{
    Engine, EngineError, Execution, ExecutionId, ExecutionStatus, ExecutionStore, FIELD_IDENTIFIER,
    FIELD_PASSWORD, Outcome, PortError, RequestContext, Submission, TenantId, TraceEntry,
};

use crate::common::{Harness, T0_MILLIS, compile_text, fixture, test_config};

const EMAIL: &str = "ivan@example.com";
const PASSWORD: &str = "copper walrus violet harbor";

#[test]
fn executions_expire() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let clock = harness.memory.clock.clone().unwrap();
    let (id, _) = harness.start(&harness.login);
    clock.advance_secs(899);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    clock.advance_secs(1);
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Err(EngineError::Expired)
    );
    assert_eq!(
        harness.engine.current(&TenantId::default(), &id),
        Err(EngineError::Expired)
    );
    // Housekeeping removes it (and the registration's execution, also past its time).
    let now = T0_MILLIS / 1000 + 900;
    assert_eq!(harness.memory.executions.delete_expired(now).unwrap(), 2);
    assert!(harness.memory.executions.is_empty());
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Err(EngineError::NotFound)
    );
}

#[test]
fn the_ttl_is_configurable() {
    let harness = Harness::with_config(flow_engine::EngineConfig {
        execution_ttl_secs: 60,
        ..test_config()
    });
    let (id, _) = harness.start(&harness.login);
    harness.memory.clock.as_ref().unwrap().advance_secs(60);
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]),
        Err(EngineError::Expired)
    );
}

#[test]
fn ended_executions_cannot_be_resumed() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (id, outcome) = harness.login(EMAIL, PASSWORD);
    assert!(matches!(outcome, Outcome::Complete { .. }));
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Err(EngineError::AlreadyCompleted)
    );
    assert_eq!(EngineError::AlreadyCompleted.code(), "already_completed");
}

#[test]
fn unknown_ids_and_other_tenants_are_not_found() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    let stranger = ExecutionId::from_random_bytes([7; 16]);
    assert_eq!(
        harness.try_submit(&stranger, &[]),
        Err(EngineError::NotFound)
    );
    assert_eq!(
        harness
            .engine
            .resume_in(&TenantId::new("other"), &id, Submission::default()),
        Err(EngineError::NotFound)
    );
    assert_eq!(ExecutionId::parse(&id.to_string()), Some(id));
    assert_eq!(ExecutionId::parse("not-a-uuid"), None);
}

#[test]
fn only_offered_actions_are_accepted() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    let submission = Submission {
        action_id: Some("delete_everything".into()),
        inputs: Default::default(),
    };
    assert_eq!(
        harness.engine.resume(&id, submission),
        Err(EngineError::InvalidAction {
            action: "delete_everything".into()
        })
    );
    let submission = Submission {
        action_id: Some(flow_engine::ACTION_SUBMIT.into()),
        inputs: [(FIELD_IDENTIFIER.to_owned(), EMAIL.to_owned())].into(),
    };
    assert!(
        harness
            .engine
            .resume(&id, submission)
            .unwrap()
            .form()
            .is_some()
    );
}

#[test]
fn current_redisplays_the_waiting_prompt_with_its_errors() {
    let harness = Harness::new();
    let (id, first) = harness.start(&harness.login);
    assert_eq!(
        harness.engine.current(&TenantId::default(), &id).unwrap(),
        first
    );
    let rejected = harness.submit(&id, &[]);
    assert_eq!(
        harness.engine.current(&TenantId::default(), &id).unwrap(),
        rejected
    );
}

/// An execution store whose loads wait for each other once armed, so that two resumes are
/// guaranteed to work from the same revision.
struct RacingStore {
    inner: MemoryExecutionStore,
    barrier: Barrier,
    armed: AtomicBool,
}

impl ExecutionStore for RacingStore {
    fn insert(&self, execution: &Execution, trace: &[TraceEntry]) -> Result<(), PortError> {
        self.inner.insert(execution, trace)
    }

    fn load(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        let loaded = self.inner.load(tenant, id);
        if self.armed.load(Ordering::SeqCst) {
            self.barrier.wait();
        }
        loaded
    }

    fn save(
        &self,
        execution: &Execution,
        expected_revision: u64,
        trace: &[TraceEntry],
    ) -> Result<(), PortError> {
        self.inner.save(execution, expected_revision, trace)
    }

    fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Option<Vec<TraceEntry>>, PortError> {
        self.inner.trace(tenant, id)
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.inner.delete_expired(now_secs)
    }
}

#[test]
fn concurrent_resumes_exactly_one_wins() {
    let memory = MemoryPorts::with_manual_clock(T0_MILLIS);
    let store = Arc::new(RacingStore {
        inner: MemoryExecutionStore::new(),
        barrier: Barrier::new(2),
        armed: AtomicBool::new(false),
    });
    let mut ports = memory.ports();
    ports.executions = store.clone();
    let engine = Arc::new(Engine::new(test_config(), ports).unwrap());
    let registration = crate::common::program("default-registration");
    let login = crate::common::program("default-login");
    let request = RequestContext::default();
    let submit = |id: &ExecutionId, inputs: &[(&str, &str)]| {
        engine
            .resume(id, Submission::with_inputs(inputs.iter().copied()))
            .unwrap()
    };
    let (id, _) = engine.start(&registration, request.clone()).unwrap();
    submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    submit(&id, &[(FIELD_PASSWORD, PASSWORD)]);
    submit(&id, &[]);
    let (id, _) = engine.start(&login, request).unwrap();
    submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);

    store.armed.store(true, Ordering::SeqCst);
    let results: Vec<Result<Outcome, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let engine = engine.clone();
                scope.spawn(move || {
                    engine.resume(&id, Submission::with_inputs([(FIELD_PASSWORD, PASSWORD)]))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    store.armed.store(false, Ordering::SeqCst);

    let wins = results
        .iter()
        .filter(|result| matches!(result, Ok(Outcome::Complete { .. })))
        .count();
    let conflicts = results
        .iter()
        .filter(|result| matches!(result, Err(EngineError::Conflict)))
        .count();
    assert_eq!((wins, conflicts), (1, 1), "{results:?}");
    let execution = engine.execution(&TenantId::default(), &id).unwrap();
    assert_eq!(execution.status, ExecutionStatus::Completed);
    // The winner's steps were applied once.
    let verified = engine
        .trace(&TenantId::default(), &id)
        .unwrap()
        .iter()
        .filter(|entry| entry.op == "verify_password" && entry.result == "accepted")
        .count();
    assert_eq!(verified, 1);
}

#[test]
fn the_store_compares_and_swaps() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    let store = &harness.memory.executions;
    let loaded = store.load(&TenantId::default(), &id).unwrap().unwrap();
    let mut first = loaded.clone();
    first.revision += 1;
    store.save(&first, loaded.revision, &[]).unwrap();
    let mut second = loaded.clone();
    second.revision += 1;
    assert_eq!(
        store.save(&second, loaded.revision, &[]),
        Err(PortError::Conflict)
    );
    assert_eq!(store.insert(&loaded, &[]), Err(PortError::Duplicate));
}

/// Saves the execution as `running`, as a request in the middle of its server steps leaves it.
fn mark_running(harness: &Harness, id: &ExecutionId) {
    let store = &harness.memory.executions;
    let mut execution = store.load(&TenantId::default(), id).unwrap().unwrap();
    execution.status = ExecutionStatus::Running;
    let expected = execution.revision;
    execution.revision += 1;
    store.save(&execution, expected, &[]).unwrap();
}

#[test]
fn a_running_execution_is_a_conflict() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    mark_running(&harness, &id);
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]),
        Err(EngineError::Conflict)
    );
}

#[test]
fn a_run_left_running_by_a_dead_request_is_taken_over_after_the_lease() {
    let harness = Harness::new();
    let (id, first) = harness.start(&harness.login);
    mark_running(&harness, &id);

    let lease = test_config().running_lease_secs;
    let clock = harness.memory.clock.clone().unwrap();
    clock.advance_secs(lease - 1);
    assert_eq!(
        harness.engine.current(&TenantId::default(), &id),
        Err(EngineError::Conflict),
        "within the lease the run belongs to its request"
    );
    clock.advance_secs(1);
    // The submission is not applied to a prompt the client never saw: the run goes on to the
    // next prompt, which the client gets.
    let recovered = harness
        .try_submit(&id, &[(FIELD_IDENTIFIER, EMAIL)])
        .unwrap();
    assert_eq!(
        recovered.form().unwrap().node_id,
        first.form().unwrap().node_id
    );
    assert!(recovered.form().unwrap().errors.is_empty());
    let trace = harness.engine.trace(&TenantId::default(), &id).unwrap();
    assert!(trace.iter().any(|entry| entry.op == "recover"), "{trace:?}");
    // From here on it is an ordinary waiting execution.
    let next = harness
        .try_submit(&id, &[(FIELD_IDENTIFIER, EMAIL)])
        .unwrap();
    assert_ne!(next.form().unwrap().node_id, first.form().unwrap().node_id);
}

#[test]
fn executions_stay_on_their_program_after_a_recompile() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (old, _) = harness.start(&harness.login);
    harness.submit(&old, &[(FIELD_IDENTIFIER, EMAIL)]);

    // Version 2 sends everyone to the (unsupported) MFA step.
    let text = fixture("default-login")
        .replace("\"user.mfa_enabled\"", "\"true\"")
        .replace(
            "\"type\": \"login\",",
            "\"type\": \"login\", \"version\": 2,",
        );
    let v2 = compile_text(&text);
    assert_eq!(v2.version, 2);
    assert_ne!(v2.content_hash, harness.login.content_hash);

    let (new, _) = harness.start(&v2);
    harness.submit(&new, &[(FIELD_IDENTIFIER, EMAIL)]);
    let new_outcome = harness.submit(&new, &[(FIELD_PASSWORD, PASSWORD)]);
    assert!(
        matches!(new_outcome, Outcome::Failed { .. }),
        "{new_outcome:?}"
    );

    // The execution started on version 1 finishes on version 1.
    let old_outcome = harness.submit(&old, &[(FIELD_PASSWORD, PASSWORD)]);
    assert!(
        matches!(old_outcome, Outcome::Complete { .. }),
        "{old_outcome:?}"
    );
    assert_eq!(
        harness
            .engine
            .execution(&TenantId::default(), &old)
            .unwrap()
            .program
            .version,
        1
    );
}

#[test]
fn executions_survive_a_serde_round_trip() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let execution = harness.engine.execution(&TenantId::default(), &id).unwrap();
    let text = serde_json::to_string(&execution).unwrap();
    assert!(!text.contains(PASSWORD));
    let back: Execution = serde_json::from_str(&text).unwrap();
    assert_eq!(back, execution);
    assert!(back.program.names(&harness.login));
}

#[test]
fn traces_are_bounded() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    for _ in 0..(flow_engine::MAX_TRACE_ENTRIES + 20) {
        harness.submit(&id, &[]);
    }
    let trace = harness.engine.trace(&TenantId::default(), &id).unwrap();
    assert_eq!(trace.len(), flow_engine::MAX_TRACE_ENTRIES);
    assert_eq!(trace.last().unwrap().result, "rejected:required");
}

#[test]
fn housekeeping_deletes_expired_executions_and_codes() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (id, _) = harness.start(&harness.recovery);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(harness.engine.delete_expired().unwrap(), (0, 0));
    harness.memory.clock.as_ref().unwrap().advance_secs(900);
    // The registration's and the recovery's executions, and the recovery code.
    assert_eq!(harness.engine.delete_expired().unwrap(), (2, 1));
}
