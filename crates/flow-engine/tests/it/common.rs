//! Shared helpers: an engine on memory ports with a manual clock and cheap argon2 parameters,
//! the compiled default flows, and short ways to drive them.

use std::path::PathBuf;
use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::memory::MemoryPorts;
use flow_engine::{
    Engine, EngineConfig, EngineError, ExecutionId, FIELD_IDENTIFIER, FIELD_PASSWORD, HashParams,
    Outcome, RequestContext, Submission, TenantId, UserId,
};
use flow_model::Flow;

/// The clock's start: 2023-11-14.
pub(crate) const T0_MILLIS: i64 = 1_700_000_000_000;

/// Engine settings for tests: recommended, with cheap argon2.
pub(crate) fn test_config() -> EngineConfig {
    EngineConfig {
        hash: HashParams::insecure_for_tests(),
        ..EngineConfig::recommended()
    }
}

/// The text of a fixture flow.
pub(crate) fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/flows")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Compiles flow JSON text.
pub(crate) fn compile_text(text: &str) -> Arc<Program> {
    let flow = Flow::from_json(text).unwrap();
    Arc::new(flow_compiler::compile(&flow).unwrap_or_else(|report| panic!("{report:?}")))
}

/// Compiles a fixture flow.
pub(crate) fn program(name: &str) -> Arc<Program> {
    compile_text(&fixture(name))
}

/// An engine on memory ports.
pub(crate) struct Harness {
    pub(crate) engine: Engine,
    pub(crate) memory: MemoryPorts,
    pub(crate) login: Arc<Program>,
    pub(crate) registration: Arc<Program>,
    pub(crate) recovery: Arc<Program>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(test_config())
    }

    pub(crate) fn with_config(config: EngineConfig) -> Self {
        let memory = MemoryPorts::with_manual_clock(T0_MILLIS);
        let engine = Engine::new(config, memory.ports()).unwrap();
        Self {
            engine,
            memory,
            login: program("default-login"),
            registration: program("default-registration"),
            recovery: program("default-password-recovery"),
        }
    }

    pub(crate) fn request(&self) -> RequestContext {
        RequestContext::for_tenant(TenantId::default())
    }

    pub(crate) fn start(&self, program: &Arc<Program>) -> (ExecutionId, Outcome) {
        self.engine.start(program, self.request()).unwrap()
    }

    pub(crate) fn try_submit(
        &self,
        id: &ExecutionId,
        inputs: &[(&str, &str)],
    ) -> Result<Outcome, EngineError> {
        self.engine.resume_in(
            &TenantId::default(),
            id,
            Submission::with_inputs(inputs.iter().copied()),
        )
    }

    pub(crate) fn submit(&self, id: &ExecutionId, inputs: &[(&str, &str)]) -> Outcome {
        self.try_submit(id, inputs).unwrap()
    }

    /// Registers a user through the default registration flow.
    pub(crate) fn register(&self, email: &str, password: &str) -> UserId {
        let (id, _) = self.start(&self.registration);
        self.submit(&id, &[(FIELD_IDENTIFIER, email)]);
        self.submit(&id, &[(FIELD_PASSWORD, password)]);
        match self.submit(&id, &[]) {
            Outcome::Complete {
                user_id: Some(user),
                ..
            } => user,
            other => panic!("registration did not complete: {other:?}"),
        }
    }

    /// Runs the default login with one identifier and one password.
    pub(crate) fn login(&self, identifier: &str, password: &str) -> (ExecutionId, Outcome) {
        let (id, _) = self.start(&self.login);
        self.submit(&id, &[(FIELD_IDENTIFIER, identifier)]);
        let outcome = self.submit(&id, &[(FIELD_PASSWORD, password)]);
        (id, outcome)
    }
}

/// The error codes of a prompt outcome.
pub(crate) fn error_codes(outcome: &Outcome) -> Vec<String> {
    match outcome {
        Outcome::Prompt(form) => form.errors.iter().map(|error| error.code.clone()).collect(),
        other => panic!("expected a prompt, got {other:?}"),
    }
}

/// The failure code of a failed outcome.
pub(crate) fn failure_code(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { code, .. } => code,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// Asserts that no trace entry of `id` contains any of `secrets`.
pub(crate) fn assert_trace_free_of(harness: &Harness, id: &ExecutionId, secrets: &[&str]) {
    let trace =
        serde_json::to_string(&harness.engine.trace(&TenantId::default(), id).unwrap()).unwrap();
    for secret in secrets {
        assert!(!trace.contains(secret), "trace contains a secret: {trace}");
    }
}
