//! The default flows (fixtures/flows, compiled with flow_compiler) through
//! `flow_engine::Engine` on SQL-backed ports: registration, login, a wrong password, password
//! recovery by e-mail code, two concurrent submissions of one execution, the per-user lock
//! shared by two engines (replicas) on one database, and an authenticator app enrolled by the
//! MFA setup flow and asked for by the login.

use std::path::PathBuf;
use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::memory::MemoryOutbox;
use flow_engine::{
    Engine, EngineConfig, EngineError, ExecutionId, FIELD_CODE, FIELD_IDENTIFIER, FIELD_PASSWORD,
    HashParams, LoginAttempts, Outcome, RequestContext, SessionUser, Submission, TenantId,
    TotpEnrollment, UserDirectory,
};
use flow_model::{Flow, FlowType};
use flow_store::Database;

use crate::support::{Backend, postgres_schema};

fn program(name: &str) -> Arc<Program> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/flows")
        .join(format!("{name}.json"));
    let flow = Flow::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    Arc::new(flow_compiler::compile(&flow).unwrap_or_else(|report| panic!("{report:?}")))
}

struct Harness {
    engine: Engine,
    outbox: Arc<MemoryOutbox>,
    database: Arc<Database>,
    tenant: TenantId,
}

impl Harness {
    fn new(database: Arc<Database>, tenant: TenantId) -> Self {
        let config = EngineConfig {
            hash: HashParams::insecure_for_tests(),
            ..EngineConfig::recommended()
        };
        Self::with_config(database, tenant, config)
    }

    fn with_config(database: Arc<Database>, tenant: TenantId, config: EngineConfig) -> Self {
        let outbox = Arc::new(MemoryOutbox::new());
        let engine = Engine::new(config, database.ports(outbox.clone())).unwrap();
        Self {
            engine,
            outbox,
            database,
            tenant,
        }
    }

    fn start(&self, program: &Arc<Program>) -> ExecutionId {
        self.engine
            .start(program, RequestContext::for_tenant(self.tenant.clone()))
            .unwrap()
            .0
    }

    fn try_submit(
        &self,
        id: &ExecutionId,
        inputs: &[(&str, &str)],
    ) -> Result<Outcome, EngineError> {
        self.engine.resume_in(
            &self.tenant,
            id,
            Submission::with_inputs(inputs.iter().copied()),
        )
    }

    fn submit(&self, id: &ExecutionId, inputs: &[(&str, &str)]) -> Outcome {
        self.try_submit(id, inputs).unwrap()
    }

    fn login(&self, login: &Arc<Program>, email: &str, password: &str) -> Outcome {
        let id = self.start(login);
        self.submit(&id, &[(FIELD_IDENTIFIER, email)]);
        self.submit(&id, &[(FIELD_PASSWORD, password)])
    }
}

fn error_codes(outcome: &Outcome) -> Vec<String> {
    outcome
        .form()
        .unwrap_or_else(|| panic!("expected a prompt, got {outcome:?}"))
        .errors
        .iter()
        .map(|error| error.code.clone())
        .collect()
}

fn default_flows_run(database: Arc<Database>, tenant: TenantId) {
    const EMAIL: &str = "ada@example.com";
    let harness = Harness::new(database, tenant.clone());
    let registration = program("default-registration");
    let login = program("default-login");
    let recovery = program("default-password-recovery");

    // Registration creates the user in SQL.
    let id = harness.start(&registration);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(&id, &[(FIELD_PASSWORD, "fennel orbit marble cascade")]);
    let user = match harness.submit(&id, &[]) {
        Outcome::Complete {
            user_id: Some(user),
            flow_type: FlowType::Registration,
            ..
        } => user,
        other => panic!("registration did not complete: {other:?}"),
    };
    let stored = harness
        .database
        .find_by_identifier(&harness.tenant, EMAIL)
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, user);
    // A completed execution cannot be resumed.
    assert_eq!(
        harness.try_submit(&id, &[]),
        Err(EngineError::AlreadyCompleted)
    );
    // Registering again is a field error, not a crash.
    let again = harness.start(&registration);
    harness.submit(&again, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(&again, &[(FIELD_PASSWORD, "fennel orbit marble cascade")]);
    let duplicate = harness.submit(&again, &[]);
    assert!(!error_codes(&duplicate).is_empty(), "{duplicate:?}");

    // Login, and a wrong password.
    match harness.login(&login, EMAIL, "fennel orbit marble cascade") {
        Outcome::Complete {
            user_id, sign_in, ..
        } => {
            assert_eq!(user_id, Some(user.clone()));
            assert!(sign_in);
        }
        other => panic!("login did not complete: {other:?}"),
    }
    assert_eq!(
        error_codes(&harness.login(&login, EMAIL, "wrong password")),
        ["invalid_credentials"]
    );
    assert_eq!(
        error_codes(&harness.login(&login, "nobody@example.com", "wrong password")),
        ["invalid_credentials"]
    );

    // Recovery: the code goes through the mailer, is verified through the SQL code store.
    let id = harness.start(&recovery);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.outbox.last_to(EMAIL).unwrap().code.unwrap();
    let set = harness.submit(&id, &[(FIELD_CODE, &code)]);
    assert!(set.form().is_some(), "{set:?}");
    assert!(matches!(
        harness.submit(&id, &[(FIELD_PASSWORD, "second password")]),
        Outcome::Complete { .. }
    ));
    assert!(matches!(
        harness.login(&login, EMAIL, "second password"),
        Outcome::Complete { .. }
    ));
    assert_eq!(
        error_codes(&harness.login(&login, EMAIL, "fennel orbit marble cascade")),
        ["invalid_credentials"]
    );
    // The trace lives in the stored execution and holds no secret.
    let trace = serde_json::to_string(&harness.engine.trace(&tenant, &id).unwrap()).unwrap();
    assert!(trace.contains("verify"), "{trace}");
    assert!(!trace.contains(&code));
    assert!(!trace.contains("second password"));

    // Two threads submit to one execution at once: both finish without a crash, and at most
    // one of them loses with `conflict` (the revision compare-and-swap).
    let id = harness.start(&login);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let results: Vec<Result<Outcome, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| harness.try_submit(&id, &[(FIELD_PASSWORD, "second password")]))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let completed = results
        .iter()
        .filter(|result| matches!(result, Ok(Outcome::Complete { .. })))
        .count();
    assert_eq!(completed, 1, "{results:?}");
    assert!(
        results.iter().all(|result| matches!(
            result,
            Ok(Outcome::Complete { .. })
                | Err(EngineError::Conflict | EngineError::AlreadyCompleted)
        )),
        "{results:?}"
    );
}

#[test]
fn default_flows_on_sqlite_file() {
    let backend = Backend::sqlite_file();
    default_flows_run(backend.database.clone().unwrap(), backend.tenant.clone());
}

#[test]
fn default_flows_on_sqlite_memory() {
    let backend = Backend::sqlite_memory();
    default_flows_run(backend.database.clone().unwrap(), backend.tenant.clone());
}

#[test]
fn default_flows_on_postgres() {
    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    let database = Arc::new(Database::open(&url).unwrap());
    default_flows_run(database, TenantId::default());
}

/// Two engines (two replicas) on one database: failures made through either count together,
/// the lock holds on both, and a successful sign-in after it clears the row.
fn user_lock_is_shared(first: Arc<Database>, second: Arc<Database>, tenant: TenantId) {
    const EMAIL: &str = "lin@example.com";
    let config = EngineConfig {
        hash: HashParams::insecure_for_tests(),
        user_max_failures: 3,
        ..EngineConfig::recommended()
    };
    let one = Harness::with_config(first, tenant.clone(), config.clone());
    let two = Harness::with_config(second, tenant.clone(), config);
    let registration = program("default-registration");
    let login = program("default-login");
    let id = one.start(&registration);
    one.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    one.submit(
        &id,
        &[(FIELD_PASSWORD, "the-password-of-correct-horses-42")],
    );
    let Outcome::Complete {
        user_id: Some(user),
        ..
    } = one.submit(&id, &[])
    else {
        panic!("registration did not complete");
    };

    assert_eq!(
        error_codes(&one.login(&login, EMAIL, "wrong 1")),
        ["invalid_credentials"]
    );
    assert_eq!(
        error_codes(&two.login(&login, EMAIL, "wrong 2")),
        ["invalid_credentials"]
    );
    assert_eq!(
        error_codes(&one.login(&login, EMAIL, "wrong 3")),
        ["account_locked"]
    );
    assert_eq!(
        error_codes(&two.login(&login, EMAIL, "the-password-of-correct-horses-42")),
        ["account_locked"]
    );
    let stored = one
        .database
        .failed_logins(&tenant, &user, 0)
        .unwrap()
        .unwrap();
    assert!(stored.locked_until.is_some());
    // The operator's unlock: delete the row (here through the port).
    one.database.reset(&tenant, &user).unwrap();
    assert!(matches!(
        two.login(&login, EMAIL, "the-password-of-correct-horses-42"),
        Outcome::Complete { .. }
    ));
}

#[test]
fn user_lock_is_shared_on_sqlite_file() {
    let backend = Backend::sqlite_file();
    let database = backend.database.clone().unwrap();
    user_lock_is_shared(database.clone(), database, backend.tenant.clone());
}

#[test]
fn user_lock_is_shared_on_postgres() {
    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    let first = Arc::new(Database::open(&url).unwrap());
    let second = Arc::new(Database::open(&url).unwrap());
    user_lock_is_shared(first, second, TenantId::default());
}

/// The code an authenticator app shows for `enrollment`, `ahead_secs` from now (system clock,
/// like the SQL ports).
fn code_in(enrollment: &TotpEnrollment, ahead_secs: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp_rs::Builder::new()
        .with_digits(u8::try_from(enrollment.digits).unwrap())
        .with_step_duration(u64::from(enrollment.period))
        .with_secret(totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap())
        .build()
        .unwrap()
        .generate(now + ahead_secs)
        .to_string()
}

/// The MFA setup flow stores the app in SQL; the login then asks for its code after the
/// password, and a code works once.
fn totp_run(database: Arc<Database>, tenant: TenantId) {
    const EMAIL: &str = "grace@example.com";
    let harness = Harness::new(database, tenant);
    let registration = program("default-registration");
    let login = program("default-login");
    let id = harness.start(&registration);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(
        &id,
        &[(FIELD_PASSWORD, "the-password-of-correct-horses-42")],
    );
    let Outcome::Complete {
        user_id: Some(user),
        ..
    } = harness.submit(&id, &[])
    else {
        panic!("registration did not complete");
    };

    let request = RequestContext::for_tenant(harness.tenant.clone()).with_user(SessionUser {
        id: user.clone(),
        methods: vec!["password".to_owned()],
        signed_in_at: None,
    });
    let (id, first) = harness
        .engine
        .start(&program("default-mfa-setup"), request)
        .unwrap();
    // The passkey it offers first is turned down for an authenticator app.
    assert!(first.form().unwrap().passkey.is_some());
    let first = harness
        .engine
        .resume_in(
            &harness.tenant,
            &id,
            flow_engine::Submission {
                action_id: Some(flow_engine::ACTION_FALLBACK.to_owned()),
                ..flow_engine::Submission::default()
            },
        )
        .unwrap();
    let enrollment = first.form().unwrap().totp.clone().unwrap();
    let done = harness.submit(&id, &[(FIELD_CODE, &code_in(&enrollment, 0))]);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    let stored = harness
        .database
        .totp_credential(&harness.tenant, &user)
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret.to_base32(), enrollment.secret);
    let account = harness
        .database
        .get(&harness.tenant, &user)
        .unwrap()
        .unwrap();
    assert_eq!(account.mfa_methods, ["totp"]);

    // The next period's code (within the accepted window) signs in, once.
    let code = code_in(&enrollment, u64::from(enrollment.period));
    let id = harness.start(&login);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let asked = harness.submit(
        &id,
        &[(FIELD_PASSWORD, "the-password-of-correct-horses-42")],
    );
    assert!(
        asked.form().unwrap().field(FIELD_CODE).is_some(),
        "{asked:?}"
    );
    match harness.submit(&id, &[(FIELD_CODE, &code)]) {
        Outcome::Complete { methods, .. } => assert_eq!(methods, ["password", "totp"]),
        other => panic!("login did not complete: {other:?}"),
    }
    let id = harness.start(&login);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.submit(
        &id,
        &[(FIELD_PASSWORD, "the-password-of-correct-horses-42")],
    );
    assert_eq!(
        error_codes(&harness.submit(&id, &[(FIELD_CODE, &code)])),
        ["invalid_code"]
    );
}

#[test]
fn totp_on_sqlite_file() {
    let backend = Backend::sqlite_file();
    totp_run(backend.database.clone().unwrap(), backend.tenant.clone());
}

#[test]
fn totp_on_postgres() {
    let Some((url, _guard)) = postgres_schema() else {
        return;
    };
    let database = Arc::new(Database::open(&url).unwrap());
    totp_run(database, TenantId::default());
}
