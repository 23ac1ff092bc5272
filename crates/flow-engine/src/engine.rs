//! The engine: starts executions, resumes them with submissions, runs steps until one waits for
//! input or the program ends, and persists the execution after every step.

use std::sync::Arc;

use flow_compiler::{Op, Program};
use flow_model::FlowType;
use serde_json::{Map, Value, json};

use crate::config::EngineConfig;
use crate::events::EventDraft;
use crate::expr::{Expressions, Variables};
use crate::handler::{HandlerRegistry, NodeHandler};
use crate::password::Passwords;
use crate::ports::Ports;
use crate::programs::Programs;
use crate::{
    EngineError, Execution, ExecutionId, ExecutionStatus, Form, Outcome, PortError, ProgramRef,
    RequestContext, SessionUser, Submission, TenantId, TraceEntry, User, UserId,
};

/// The failure code of an execution stopped by its attempt limit.
pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
/// The field error code of a password refused because its user is locked by the per-user
/// attempt limit ([`EngineConfig::user_max_failures`]).
pub const ACCOUNT_LOCKED: &str = "account_locked";
/// The failure code of an execution whose program can no longer be found (its flow was
/// deleted while it ran).
pub const FLOW_UNAVAILABLE: &str = "flow_unavailable";
/// The failure code of a step this flowd cannot run (yet).
pub const UNSUPPORTED_STEP: &str = "unsupported_step";

/// Most trace entries kept per execution; older ones are dropped first. (Re-submitting an
/// empty form is not attempt-limited, so the trace must not grow without bound.)
pub const MAX_TRACE_ENTRIES: usize = 200;

/// Longest input value copied into the `inputs` that conditions see.
const MAX_INPUT_BYTES: usize = 1024;

/// Where a step leaves the execution.
#[derive(Debug)]
pub(crate) enum Next {
    /// Continue with the following step.
    Advance,
    /// Continue at a step.
    Goto(usize),
    /// Wait for input on the form (at `form.step`).
    Wait(Form),
    /// End with this outcome (a completion).
    End(Outcome),
    /// End unsuccessfully.
    Fail {
        /// Stable code.
        code: String,
        /// Message for the user.
        message: String,
    },
}

/// A step's decision plus what goes into the trace.
#[derive(Debug)]
pub(crate) struct StepResult {
    pub(crate) next: Next,
    pub(crate) result: String,
    pub(crate) detail: Option<String>,
    /// What the step did that goes into the event log (written after the run is saved).
    pub(crate) events: Vec<EventDraft>,
}

impl StepResult {
    pub(crate) fn new(next: Next, result: impl Into<String>) -> Self {
        Self {
            next,
            result: result.into(),
            detail: None,
            events: Vec::new(),
        }
    }

    pub(crate) fn advance(result: &str) -> Self {
        Self::new(Next::Advance, result)
    }

    pub(crate) fn wait(form: Form, result: impl Into<String>) -> Self {
        Self::new(Next::Wait(form), result)
    }

    pub(crate) fn fail(code: &str, message: impl Into<String>) -> Self {
        Self::new(
            Next::Fail {
                code: code.to_owned(),
                message: message.into(),
            },
            format!("failed:{code}"),
        )
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Gives the last event `reason` (a refusal whose cause the user is not told, but the
    /// operator is).
    pub(crate) fn event_because(mut self, reason: &str) -> Self {
        if let Some(last) = self.events.pop() {
            self.events.push(last.because(reason));
        }
        self
    }

    /// Adds an event for the event log.
    pub(crate) fn with_event(mut self, event: EventDraft) -> Self {
        self.events.push(event);
        self
    }
}

/// What a loaded execution allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Waiting for the client's submission.
    Waiting,
    /// Left `running` by a request that did not finish within the lease.
    Stalled,
    /// Its program is gone (its flow was deleted): the next call ends it.
    Orphaned,
    /// It cannot be continued: [`Engine::proceed`] and [`Engine::show`] answer this error
    /// (ended, expired, locked by its attempt limit, or busy in another request).
    Refused(Refusal),
}

/// Why a loaded execution cannot be continued now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    TooManyAttempts,
    AlreadyCompleted,
    Expired,
    Conflict,
}

impl Refusal {
    fn error(self) -> EngineError {
        match self {
            Refusal::TooManyAttempts => EngineError::TooManyAttempts,
            Refusal::AlreadyCompleted => EngineError::AlreadyCompleted,
            Refusal::Expired => EngineError::Expired,
            Refusal::Conflict => EngineError::Conflict,
        }
    }
}

/// An execution loaded for one request, with its program: what an adapter needs to know
/// before it continues the execution ([`Opened::flow_type`], [`Opened::form`]), from the one
/// load that continues it ([`Engine::proceed`], [`Engine::show`]).
#[derive(Debug)]
pub struct Opened {
    execution: Execution,
    program: Option<Arc<Program>>,
    standing: Standing,
}

impl Opened {
    /// The flow type of the execution's program.
    pub fn flow_type(&self) -> FlowType {
        self.execution.program.flow_type
    }

    /// The program the execution runs, by reference.
    pub fn program(&self) -> &ProgramRef {
        &self.execution.program
    }

    /// The form the execution waits on (with the errors of the last submission); `None` when
    /// [`Engine::proceed`] will not apply a submission (a stalled execution is taken over, one
    /// whose flow is gone is ended, one that has ended or expired is refused).
    pub fn form(&self) -> Option<&Form> {
        match self.standing {
            Standing::Waiting => self.execution.prompt.as_ref(),
            Standing::Stalled | Standing::Orphaned | Standing::Refused(_) => None,
        }
    }
}

/// An execution being run by one request: the state, its program, and what the request has
/// not saved yet.
struct Run {
    execution: Execution,
    program: Arc<Program>,
    /// Trace entries written since the last save.
    trace: Vec<TraceEntry>,
    /// Events of the steps run since the last save, written after the next one.
    events: Vec<EventDraft>,
    /// Whether the execution has never been stored (the first save inserts it).
    fresh: bool,
    /// Whether the state changed since the last save.
    dirty: bool,
}

impl Run {
    fn new(execution: Execution, program: Arc<Program>, fresh: bool) -> Self {
        Self {
            execution,
            program,
            trace: Vec::new(),
            events: Vec::new(),
            fresh,
            dirty: fresh,
        }
    }

    /// Appends a trace entry (saved with the next save).
    fn trace(&mut self, entry: TraceEntry) {
        if self.trace.len() >= MAX_TRACE_ENTRIES {
            self.trace.remove(0);
        }
        self.trace.push(entry);
        self.execution.traced = self.execution.traced.saturating_add(1);
        self.dirty = true;
    }
}

/// Runs compiled flows. Cheap to share: put it in an `Arc` and call it from any thread.
///
/// Every method is **synchronous and blocking** (ports, argon2). Async servers must call it
/// from a blocking pool (`web::block`, `spawn_blocking`), never on the async executor.
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) ports: Ports,
    pub(crate) passwords: Passwords,
    pub(crate) expressions: Expressions,
    pub(crate) handlers: HandlerRegistry,
    programs: Programs,
    /// The relying party of the `webauthn` steps.
    pub(crate) relying_party: crate::passkeys::RelyingParty,
    /// Orders the events this engine writes within one millisecond (see `events::event_id`).
    pub(crate) event_sequence: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("handlers", &self.handlers)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `ports`. Fails if the argon2 parameters or the passkey settings are
    /// unusable. Computes one argon2 hash (the dummy hash unknown users are verified against).
    pub fn new(config: EngineConfig, ports: Ports) -> Result<Self, EngineError> {
        let passwords = Passwords::new(config.hash, config.hash_concurrency, ports.random.clone())?;
        let relying_party = crate::passkeys::RelyingParty::new(config.passkeys.clone())
            .map_err(EngineError::Internal)?;
        Ok(Self {
            relying_party,
            ports,
            passwords,
            expressions: Expressions::default(),
            handlers: HandlerRegistry::new(),
            programs: Programs::new(config.program_cache_capacity),
            event_sequence: std::sync::atomic::AtomicU32::new(0),
            config,
        })
    }

    /// Registers the handler of an embedder's node type (steps `Op::Custom { node_type }`).
    pub fn register_handler(
        &mut self,
        node_type: &str,
        handler: Arc<dyn NodeHandler>,
    ) -> &mut Self {
        self.handlers.register(node_type, handler);
        self
    }

    /// Replaces all handlers.
    pub fn with_handlers(mut self, handlers: HandlerRegistry) -> Self {
        self.handlers = handlers;
        self
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// An argon2id hash of `password` with the engine's parameters, for embedders that seed
    /// users through the [`UserDirectory`](crate::UserDirectory) directly.
    pub fn hash_password(&self, password: &str) -> Result<String, EngineError> {
        self.passwords.hash(password)
    }

    /// How many argon2 computations (hashes and verifications, including the dummy
    /// verifications of unknown users) this engine has run: a counter for metrics.
    pub fn password_computations(&self) -> u64 {
        self.passwords.computations()
    }

    /// Starts an execution of `program` and runs it until it waits for input or ends.
    /// The execution is pinned to this program for its whole life.
    pub fn start(
        &self,
        program: &Arc<Program>,
        request: RequestContext,
    ) -> Result<(ExecutionId, Outcome), EngineError> {
        self.start_in_channel(program, request, None)
    }

    /// [`Engine::start`] for a protocol adapter: the execution is tied to `channel` (the
    /// adapter's name for its protocol), and [`Engine::resume_via`] and [`Engine::current_via`]
    /// refuse to continue it through any other, as if it did not exist. A flow started over one
    /// protocol is finished over the same one.
    pub fn start_via(
        &self,
        channel: &str,
        program: &Arc<Program>,
        request: RequestContext,
    ) -> Result<(ExecutionId, Outcome), EngineError> {
        self.start_in_channel(program, request, Some(channel.to_owned()))
    }

    fn start_in_channel(
        &self,
        program: &Arc<Program>,
        request: RequestContext,
        channel: Option<String>,
    ) -> Result<(ExecutionId, Outcome), EngineError> {
        let now = self.ports.clock.now_secs();
        let mut bytes = [0u8; 16];
        self.ports.random.fill(&mut bytes);
        let id = ExecutionId::from_random_bytes(bytes);
        let mut execution = Execution {
            id,
            tenant: request.tenant.clone(),
            program: ProgramRef::of(program),
            pc: 0,
            status: ExecutionStatus::Running,
            request,
            channel,
            identifier: None,
            user_id: None,
            attributes: Map::new(),
            inputs: Map::new(),
            methods: Vec::new(),
            attempts: Default::default(),
            new_password_hash: None,
            pending_code: None,
            totp_secret: None,
            passkey: None,
            new_passkey: None,
            federation: None,
            new_user_id: None,
            invitation: None,
            prompt: None,
            failure: None,
            created_at: now,
            updated_at: now,
            expires_at: now.saturating_add(self.config.execution_ttl_secs),
            revision: 0,
            traced: 0,
        };
        self.sign_in_session_user(&mut execution)?;
        self.programs.remember(&execution.tenant, program);
        metrics::counter!(
            "flowd_flow_starts_total",
            "flow" => program.flow_name.clone(),
            "type" => program.flow_type.as_str(),
        )
        .increment(1);
        let outcome = self.run(Run::new(execution, program.clone(), true), None)?;
        Ok((id, outcome))
    }

    /// An `mfa_setup` execution starts with the user the adapter's session signed in
    /// ([`RequestContext::user`]): identified and authenticated with the session's methods.
    /// An id the directory does not know (or of a disabled user) is ignored, and so is the
    /// user in other flow types.
    fn sign_in_session_user(&self, execution: &mut Execution) -> Result<(), EngineError> {
        if execution.program.flow_type != FlowType::MfaSetup {
            return Ok(());
        }
        let Some(session) = execution.request.user.clone() else {
            return Ok(());
        };
        let Some(user) = self.session_user(&execution.tenant, &session)? else {
            return Ok(());
        };
        execution.user_id = Some(user.id);
        execution.identifier = Some(user.identifier);
        execution.methods = session.methods;
        Ok(())
    }

    /// The user of an adapter's session if the session still counts: the user exists, is not
    /// disabled, and its password has not changed since the session signed it in. `None`
    /// means the session should forget its user.
    pub fn session_user(
        &self,
        tenant: &TenantId,
        session: &SessionUser,
    ) -> Result<Option<User>, EngineError> {
        Ok(self.ports.users.get(tenant, &session.id)?.filter(|user| {
            user.disabled_at.is_none()
                && !session
                    .signed_in_at
                    .is_some_and(|at| user.password_changed_after(at))
        }))
    }

    /// Continues an execution of the default tenant with the user's submission. Servers
    /// resolve a tenant per request and use [`Engine::resume_in`].
    pub fn resume(&self, id: &ExecutionId, submission: Submission) -> Result<Outcome, EngineError> {
        self.resume_in(&TenantId::default(), id, submission)
    }

    /// Continues an execution of `tenant` with the user's submission; an execution of another
    /// tenant is [`EngineError::NotFound`].
    pub fn resume_in(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
        submission: Submission,
    ) -> Result<Outcome, EngineError> {
        let opened = self.open_in_channel(tenant, None, id)?;
        self.proceed(opened, submission)
    }

    /// [`Engine::resume_in`] for a protocol adapter: an execution started through another
    /// channel (see [`Engine::start_via`]) is [`EngineError::NotFound`].
    pub fn resume_via(
        &self,
        channel: &str,
        tenant: &TenantId,
        id: &ExecutionId,
        submission: Submission,
    ) -> Result<Outcome, EngineError> {
        let opened = self.open_via(channel, tenant, id)?;
        self.proceed(opened, submission)
    }

    /// The prompt the execution is waiting on (with the errors of the last submission), for
    /// protocols that re-display the current step (authentik's GET).
    pub fn current(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Outcome, EngineError> {
        let opened = self.open_in_channel(tenant, None, id)?;
        self.show(opened)
    }

    /// [`Engine::current`] for a protocol adapter: an execution started through another
    /// channel is [`EngineError::NotFound`].
    pub fn current_via(
        &self,
        channel: &str,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Outcome, EngineError> {
        let opened = self.open_via(channel, tenant, id)?;
        self.show(opened)
    }

    /// Loads an execution of `tenant` with its program; an execution started through another
    /// channel is [`EngineError::NotFound`]. The adapter reads what it needs from the
    /// [`Opened`] (its flow type even when it has ended) and hands it to [`Engine::proceed`] or
    /// [`Engine::show`], which say why it cannot be continued: one load per request.
    pub fn open_via(
        &self,
        channel: &str,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Opened, EngineError> {
        self.open_in_channel(tenant, Some(channel), id)
    }

    /// Applies the submission to an [`Opened`] execution and runs it up to the next prompt or
    /// the end. A stalled execution is taken over instead (the submission was meant for a
    /// prompt the client saw before); one whose flow is gone ends with `flow_unavailable`.
    pub fn proceed(&self, opened: Opened, submission: Submission) -> Result<Outcome, EngineError> {
        match (opened.standing, opened.program) {
            (Standing::Refused(refusal), _) => Err(refusal.error()),
            (Standing::Waiting, Some(program)) => {
                self.resume_loaded(Run::new(opened.execution, program, false), submission)
            }
            (Standing::Stalled, Some(program)) => {
                self.recover(Run::new(opened.execution, program, false))
            }
            _ => self.orphaned(opened.execution),
        }
    }

    /// The outcome an [`Opened`] execution shows now without a submission: its waiting form,
    /// or what taking over a stalled one (or ending an orphaned one) leads to.
    pub fn show(&self, opened: Opened) -> Result<Outcome, EngineError> {
        match (opened.standing, opened.program) {
            (Standing::Refused(refusal), _) => Err(refusal.error()),
            (Standing::Waiting, Some(_)) => self
                .waiting_form(&opened.execution)
                .cloned()
                .map(Outcome::Prompt),
            (Standing::Stalled, Some(program)) => {
                self.recover(Run::new(opened.execution, program, false))
            }
            _ => self.orphaned(opened.execution),
        }
    }

    /// A snapshot of the execution of `tenant` with this id.
    pub fn execution(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Execution, EngineError> {
        self.ports
            .executions
            .load(tenant, id)?
            .ok_or(EngineError::NotFound)
    }

    /// The execution's trace (its last [`MAX_TRACE_ENTRIES`] entries): one entry per step run,
    /// never a secret.
    pub fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Vec<TraceEntry>, EngineError> {
        self.ports
            .executions
            .trace(tenant, id)?
            .ok_or(EngineError::NotFound)
    }

    /// How many compiled programs the engine holds in memory (a gauge for metrics).
    pub fn cached_programs(&self) -> usize {
        self.programs.len()
    }

    /// Housekeeping: deletes expired executions and one-time codes, and the per-user failure
    /// records whose window and lock are over. Returns how many executions and codes it
    /// deleted. Call it now and then (a timer in the server; never needed for correctness,
    /// since expired records are refused or ignored anyway).
    pub fn delete_expired(&self) -> Result<(usize, usize), EngineError> {
        let now = self.ports.clock.now_secs();
        let executions = self.ports.executions.delete_expired(now)?;
        let codes = self.ports.codes.delete_expired(now)?;
        self.ports.login_attempts.delete_expired(now)?;
        if self.config.event_retention_secs > 0 {
            let cutoff = now.saturating_sub(self.config.event_retention_secs);
            self.ports
                .events
                .delete_older_than(cutoff.saturating_mul(1000))?;
        }
        Ok((executions, codes))
    }

    /// Loads an execution with its program and what it allows now; only an execution that
    /// does not exist (for this tenant and channel) is an error here.
    fn open_in_channel(
        &self,
        tenant: &TenantId,
        channel: Option<&str>,
        id: &ExecutionId,
    ) -> Result<Opened, EngineError> {
        let mut execution = self
            .ports
            .executions
            .load(tenant, id)?
            .filter(|execution| &execution.tenant == tenant)
            .filter(|execution| {
                // An execution tied to a channel is continued through that channel only.
                match (channel, execution.channel.as_deref()) {
                    (Some(caller), Some(started)) => caller == started,
                    _ => true,
                }
            })
            .ok_or(EngineError::NotFound)?;
        // The stored prompt leaves its passkey options to the ceremony beside it.
        if let (Some(form), Some(ceremony)) = (&mut execution.prompt, &execution.passkey)
            && ceremony.step == form.step
            && form.passkey.is_none()
            && form
                .fields
                .iter()
                .any(|field| field.kind == crate::FieldKind::Credential)
        {
            form.passkey = Some(Box::new(ceremony.prompt(&self.relying_party.settings)));
        }
        let now = self.ports.clock.now_secs();
        let standing = match execution.status {
            ExecutionStatus::Failed if execution.failure.as_deref() == Some(TOO_MANY_ATTEMPTS) => {
                Standing::Refused(Refusal::TooManyAttempts)
            }
            ExecutionStatus::Completed | ExecutionStatus::Failed => {
                Standing::Refused(Refusal::AlreadyCompleted)
            }
            _ if now >= execution.expires_at => Standing::Refused(Refusal::Expired),
            // Another request is running its server steps right now, unless it has held the
            // execution longer than the lease: then its process most likely died.
            ExecutionStatus::Running
                if now.saturating_sub(execution.updated_at) < self.config.running_lease_secs =>
            {
                Standing::Refused(Refusal::Conflict)
            }
            ExecutionStatus::Running => Standing::Stalled,
            ExecutionStatus::Waiting => Standing::Waiting,
        };
        if let Standing::Refused(_) = standing {
            return Ok(Opened {
                execution,
                program: None,
                standing,
            });
        }
        let program = self.programs.resolve(
            self.ports.flows.as_ref(),
            &execution.tenant,
            &execution.program,
        )?;
        let standing = if program.is_some() {
            standing
        } else {
            Standing::Orphaned
        };
        Ok(Opened {
            execution,
            program,
            standing,
        })
    }

    /// Ends an execution whose program can no longer be found (its flow was deleted, or the
    /// store lost the version): `flow_unavailable`, saved, so the next call says it ended.
    fn orphaned(&self, mut execution: Execution) -> Result<Outcome, EngineError> {
        let at_ms = self.ports.clock.now_millis();
        execution.status = ExecutionStatus::Failed;
        execution.failure = Some(FLOW_UNAVAILABLE.to_owned());
        clear_secrets(&mut execution);
        execution.traced = execution.traced.saturating_add(1);
        let entry = TraceEntry {
            step: execution.pc,
            node_id: String::new(),
            op: "none".to_owned(),
            result: format!("failed:{FLOW_UNAVAILABLE}"),
            detail: Some(format!(
                "program {} version {} ({}) not found",
                execution.program.flow_id,
                execution.program.version,
                execution.program.content_hash
            )),
            at_ms,
        };
        self.save_record(&mut execution, &[entry])?;
        Ok(Outcome::Failed {
            code: FLOW_UNAVAILABLE.to_owned(),
            message: "This flow is no longer available. Please start again.".to_owned(),
        })
    }

    /// Takes over a stalled execution: runs its server steps from where the dead request left
    /// off (a step that was running then runs again) up to the next prompt or the end. The
    /// submission that found it is not applied: it was meant for a prompt the client saw
    /// before. Of several requests finding it at once, the revision check lets one win.
    fn recover(&self, mut run: Run) -> Result<Outcome, EngineError> {
        let entry = TraceEntry {
            step: run.execution.pc,
            node_id: String::new(),
            op: "recover".to_owned(),
            result: "resumed:stalled".to_owned(),
            detail: Some(format!(
                "running for more than {} s",
                self.config.running_lease_secs
            )),
            at_ms: self.ports.clock.now_millis(),
        };
        run.trace(entry);
        // Claim it first, so that of several requests finding it only one runs its steps.
        self.persist(&mut run)?;
        self.run(run, None)
    }

    fn waiting_form<'e>(&self, execution: &'e Execution) -> Result<&'e Form, EngineError> {
        execution
            .prompt
            .as_ref()
            .ok_or_else(|| EngineError::Internal("waiting execution without a prompt".into()))
    }

    fn resume_loaded(&self, mut run: Run, submission: Submission) -> Result<Outcome, EngineError> {
        let form = self.waiting_form(&run.execution)?;
        if let Some(action) = &submission.action_id
            && !form.actions.iter().any(|offered| &offered.id == action)
        {
            return Err(EngineError::InvalidAction {
                action: action.clone(),
            });
        }
        // Conditions may look at what was typed, but never at secrets.
        let inputs: Map<String, Value> = form
            .fields
            .iter()
            .filter(|field| !field.kind.is_secret())
            .filter_map(|field| {
                submission
                    .inputs
                    .get(&field.name)
                    .filter(|value| value.len() <= MAX_INPUT_BYTES)
                    .map(|value| (field.name.clone(), Value::String(value.trim().to_owned())))
            })
            .collect();
        run.execution.inputs = inputs;
        run.dirty = true;
        self.run(run, Some(submission))
    }

    /// Runs steps from `execution.pc`, the first one with `input`, and saves once when the
    /// run stops (waits or ends). A step that reaches outside the engine (mail, text message,
    /// webhook, an embedder's handler) is preceded by a save of the progress so far, so that of
    /// two requests racing on one execution only the winner causes effects beyond the first
    /// step.
    fn run(&self, mut run: Run, mut input: Option<Submission>) -> Result<Outcome, EngineError> {
        let program = run.program.clone();
        for _ in 0..self.config.max_steps_per_run.max(1) {
            let index = run.execution.pc;
            let at_ms = self.ports.clock.now_millis();
            let submission = input.take();
            let (node_id, op_name, result) = match program.step(index) {
                Some(step) => {
                    if run.dirty && !run.fresh && reaches_outside(&step.op) {
                        self.persist(&mut run)?;
                    }
                    // A monotonic timer for the latency metric only: the engine's logic reads
                    // time through the clock port, never from here.
                    let timer = std::time::Instant::now();
                    let result = self.execute(
                        &mut run.execution,
                        &program,
                        index,
                        step,
                        submission.as_ref(),
                    );
                    metrics::histogram!("flowd_step_duration_seconds", "op" => step.op.name())
                        .record(timer.elapsed().as_secs_f64());
                    (step.node_id.clone(), step.op.name(), result)
                }
                None => (
                    String::new(),
                    "none",
                    Ok(StepResult::fail(
                        "invalid_program",
                        "This flow cannot continue. Please start again.",
                    )
                    .with_detail(format!("no step {index}"))),
                ),
            };
            let result = match result {
                Ok(result) => result,
                Err(error) => {
                    self.abandon(run, index, node_id, op_name, &error, at_ms);
                    return Err(error);
                }
            };
            run.trace(TraceEntry {
                step: index,
                node_id,
                op: op_name.to_owned(),
                result: result.result,
                detail: result.detail,
                at_ms,
            });
            run.events.extend(result.events);
            if let Some(outcome) = self.apply(&mut run.execution, index, result.next) {
                self.persist(&mut run)?;
                return Ok(outcome);
            }
        }
        let index = run.execution.pc;
        run.trace(TraceEntry {
            step: index,
            node_id: String::new(),
            op: "none".to_owned(),
            result: "failed:step_limit".to_owned(),
            detail: Some(format!(
                "more than {} steps without waiting for input",
                self.config.max_steps_per_run
            )),
            at_ms: self.ports.clock.now_millis(),
        });
        let outcome = self.apply(
            &mut run.execution,
            index,
            Next::Fail {
                code: "step_limit".to_owned(),
                message: "This flow cannot continue. Please start again.".to_owned(),
            },
        );
        self.persist(&mut run)?;
        outcome.ok_or_else(|| EngineError::Internal("step limit without outcome".into()))
    }

    /// Moves the execution as the step decided; returns the outcome if the run stops here.
    fn apply(&self, execution: &mut Execution, index: usize, next: Next) -> Option<Outcome> {
        match next {
            Next::Advance => {
                execution.pc = index.saturating_add(1);
                execution.status = ExecutionStatus::Running;
                execution.prompt = None;
                None
            }
            Next::Goto(target) => {
                execution.pc = target;
                execution.status = ExecutionStatus::Running;
                execution.prompt = None;
                None
            }
            Next::Wait(form) => {
                execution.pc = form.step;
                execution.status = ExecutionStatus::Waiting;
                // Stored without its passkey options: the ceremony beside it has them.
                let mut stored = form.clone();
                stored.passkey = None;
                execution.prompt = Some(stored);
                Some(Outcome::Prompt(form))
            }
            Next::End(outcome) => {
                metrics::counter!(
                    "flowd_flow_completions_total",
                    "flow" => execution.program.flow_name.clone(),
                    "type" => execution.program.flow_type.as_str(),
                )
                .increment(1);
                execution.status = ExecutionStatus::Completed;
                clear_secrets(execution);
                Some(outcome)
            }
            Next::Fail { code, message } => {
                metrics::counter!(
                    "flowd_flow_failures_total",
                    "flow" => execution.program.flow_name.clone(),
                    "type" => execution.program.flow_type.as_str(),
                    "code" => code.clone(),
                )
                .increment(1);
                execution.status = ExecutionStatus::Failed;
                execution.failure = Some(code.clone());
                clear_secrets(execution);
                Some(Outcome::Failed { code, message })
            }
        }
    }

    /// Saves what the run changed: the first save of a new execution inserts it, later ones
    /// compare and swap on the revision; either appends the trace written since.
    fn persist(&self, run: &mut Run) -> Result<(), EngineError> {
        if run.fresh {
            run.execution.updated_at = self.ports.clock.now_secs();
            self.ports
                .executions
                .insert(&run.execution, &run.trace)
                .map_err(EngineError::Store)?;
            run.fresh = false;
        } else {
            self.save_record(&mut run.execution, &run.trace)?;
        }
        run.trace.clear();
        run.dirty = false;
        let events = std::mem::take(&mut run.events);
        self.log_events(&run.execution, events);
        Ok(())
    }

    /// Saves a stored execution with compare-and-swap on the revision, appending `trace`.
    fn save_record(
        &self,
        execution: &mut Execution,
        trace: &[TraceEntry],
    ) -> Result<(), EngineError> {
        let expected = execution.revision;
        execution.revision = expected.saturating_add(1);
        execution.updated_at = self.ports.clock.now_secs();
        self.ports
            .executions
            .save(execution, expected, trace)
            .map_err(|error| match error {
                PortError::Conflict => EngineError::Conflict,
                other => EngineError::Store(other),
            })
    }

    /// A step failed with an error: record it and fail the execution (best effort), so that it
    /// does not stay `running` until it expires.
    fn abandon(
        &self,
        mut run: Run,
        index: usize,
        node_id: String,
        op: &str,
        error: &EngineError,
        at_ms: i64,
    ) {
        run.trace(TraceEntry {
            step: index,
            node_id,
            op: op.to_owned(),
            result: format!("error:{}", error.code()),
            detail: None,
            at_ms,
        });
        run.execution.status = ExecutionStatus::Failed;
        run.execution.failure = Some(error.code().to_owned());
        clear_secrets(&mut run.execution);
        // The caller reports the original error; a failed save changes nothing for it.
        let _ = self.persist(&mut run);
    }

    /// The variables conditions see.
    pub(crate) fn variables(&self, execution: &Execution) -> Result<Variables, EngineError> {
        let user = match &execution.user_id {
            Some(id) => self.ports.users.get(&execution.tenant, id)?,
            None => None,
        };
        let user = match user {
            Some(user) => json!({
                "id": user.id,
                "identifier": user.identifier,
                "exists": true,
                "mfa_enabled": !user.mfa_methods.is_empty(),
                "mfa_methods": user.mfa_methods,
                "attributes": user.attributes,
            }),
            None => json!({
                "id": null,
                "identifier": execution.identifier,
                "exists": false,
                "mfa_enabled": false,
                "mfa_methods": [],
                "attributes": {},
            }),
        };
        let program = &execution.program;
        let request = &execution.request;
        Ok(Variables {
            user,
            inputs: Value::Object(execution.inputs.clone()),
            attributes: Value::Object(execution.attributes.clone()),
            flow: json!({
                "id": program.flow_id,
                "name": program.flow_name,
                "type": program.flow_type.as_str(),
                "version": program.version,
            }),
            request: json!({
                "tenant": request.tenant,
                "client_ip": request.client_ip,
                "user_agent": request.user_agent,
                "origin": request.origin,
                "locale": request.locale,
            }),
        })
    }

    /// A fresh user id (UUID v4 text).
    pub(crate) fn new_user_id(&self) -> UserId {
        let mut bytes = [0u8; 16];
        self.ports.random.fill(&mut bytes);
        UserId::new(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }
}

/// Forgets what an ended execution no longer needs and should not keep: the new password's
/// hash, the pending code, the secret of an authenticator app being set up, a passkey
/// ceremony, the prompt.
fn clear_secrets(execution: &mut Execution) {
    execution.new_password_hash = None;
    execution.pending_code = None;
    execution.totp_secret = None;
    execution.passkey = None;
    execution.new_passkey = None;
    execution.federation = None;
    execution.prompt = None;
}

/// Whether a step's operation has effects outside the execution that a losing concurrent
/// request must not cause (messages, calls, an embedder's code).
fn reaches_outside(op: &Op) -> bool {
    matches!(
        op,
        Op::SendEmail { .. } | Op::SendSms { .. } | Op::CallWebhook { .. } | Op::Custom { .. }
    )
}
