//! Authenticator apps (TOTP): enrolment in the default MFA setup flow for a session's user, and
//! the second factor of the default login, with codes computed here from the enrolment's secret.

use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::{
    Clock, ExecutionId, FIELD_CODE, FieldKind, Form, FormPurpose, Outcome, RequestContext,
    SessionUser, TenantId, TotpEnrollment, UserDirectory, UserId,
};
use flow_model::FlowType;

use crate::common::{Harness, assert_trace_free_of, error_codes, failure_code, program};

const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The code an authenticator app shows for `enrollment` at `now_secs`.
fn code_at(enrollment: &TotpEnrollment, now_secs: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap();
    totp_rs::Builder::new()
        .with_digits(u8::try_from(enrollment.digits).unwrap())
        .with_step_duration(u64::from(enrollment.period))
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(u64::try_from(now_secs).unwrap())
        .to_string()
}

/// The harness clock, in Unix seconds.
fn now(harness: &Harness) -> i64 {
    harness.memory.clock.as_ref().unwrap().now_secs()
}

fn advance(harness: &Harness, secs: i64) {
    harness.memory.clock.as_ref().unwrap().advance_secs(secs);
}

fn mfa_setup() -> Arc<Program> {
    program("default-mfa-setup")
}

fn signed_in(harness: &Harness, user: &UserId) -> RequestContext {
    harness.request().with_user(SessionUser {
        id: user.clone(),
        methods: vec!["password".to_owned()],
        signed_in_at: None,
    })
}

/// Starts the default MFA setup for `user` and turns down the passkey it offers first: the
/// authenticator app's enrolment form.
fn totp_setup(harness: &Harness, user: &UserId) -> (ExecutionId, Outcome) {
    let (id, first) = harness
        .engine
        .start(&mfa_setup(), signed_in(harness, user))
        .unwrap();
    assert_eq!(first.form().unwrap().purpose, FormPurpose::RegisterPasskey);
    let totp = harness
        .engine
        .resume_in(
            &TenantId::default(),
            &id,
            flow_engine::Submission {
                action_id: Some(flow_engine::ACTION_FALLBACK.to_owned()),
                ..flow_engine::Submission::default()
            },
        )
        .unwrap();
    (id, totp)
}

/// Asserts the one code field of a TOTP form.
fn assert_code_field(form: &Form, digits: u32) {
    assert_eq!(form.fields.len(), 1);
    let field = form.field(FIELD_CODE).unwrap();
    assert_eq!(field.kind, FieldKind::Code);
    assert!(field.required);
    assert_eq!(field.hints.min_length, Some(digits));
    assert_eq!(field.hints.max_length, Some(digits));
    assert_eq!(field.hints.autocomplete.as_deref(), Some("one-time-code"));
    assert_eq!(
        form.actions.iter().filter(|action| action.primary).count(),
        1
    );
}

/// Registers Alice and enrols her authenticator app; returns her id and the enrolment.
fn enrolled(harness: &Harness) -> (UserId, TotpEnrollment) {
    let user = harness.register(EMAIL, PASSWORD);
    let (id, first) = totp_setup(harness, &user);
    let enrollment = first.form().unwrap().totp.clone().unwrap();
    let code = code_at(&enrollment, now(harness));
    let done = harness.submit(&id, &[(FIELD_CODE, &code)]);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    // The enrolment is in the event log, for the user.
    let query = flow_engine::EventQuery {
        kind: Some(flow_engine::EventKind::CredentialAdded),
        limit: 10,
        ..flow_engine::EventQuery::default()
    };
    let added =
        flow_engine::EventLog::list(&*harness.memory.events, &TenantId::default(), &query).unwrap();
    assert_eq!(
        added
            .iter()
            .map(|event| (event.reason.as_deref(), event.user_id.as_ref()))
            .collect::<Vec<_>>(),
        [(Some("totp"), Some(&user))]
    );
    (user, enrollment)
}

/// Logs in with the password and answers with the form that follows.
fn login_to_mfa(harness: &Harness) -> (ExecutionId, Outcome) {
    harness.login(EMAIL, PASSWORD)
}

#[test]
fn a_signed_in_user_enrols_an_authenticator_app() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let (id, first) = totp_setup(&harness, &user);
    let form = first.form().expect("the enrolment form");
    assert_eq!(form.purpose, FormPurpose::EnrollTotp);
    assert_eq!(form.user_hint.as_deref(), Some(EMAIL));
    assert_code_field(form, 6);
    let enrollment = form.totp.clone().expect("what to scan");
    assert_eq!((enrollment.digits, enrollment.period), (6, 30));
    assert_eq!(enrollment.secret.len(), 32, "20 bytes in base32");
    assert_eq!(
        enrollment.uri,
        format!(
            "otpauth://totp/flowd:alice%40example.com?secret={}&issuer=flowd&digits=6&period=30",
            enrollment.secret
        )
    );
    let parsed = totp_rs::Totp::from_url(&enrollment.uri).unwrap();
    assert_eq!(parsed.account_name(), EMAIL);
    // The secret is not printed by Debug.
    assert!(!format!("{first:?}").contains(&enrollment.secret));

    // Empty and wrong codes are recoverable; the secret stays the same.
    assert_eq!(error_codes(&harness.submit(&id, &[])), ["required"]);
    let wrong = harness.submit(&id, &[(FIELD_CODE, "000000")]);
    assert_eq!(error_codes(&wrong), ["invalid_code"]);
    assert_eq!(wrong.form().unwrap().totp.as_ref(), Some(&enrollment));
    assert_eq!(
        harness
            .engine
            .execution(&TenantId::default(), &id)
            .unwrap()
            .attempts
            .get("code"),
        Some(&1)
    );
    // Until a code proves it, nothing is stored.
    let users = &harness.memory.users;
    assert_eq!(
        users.totp_credential(&TenantId::default(), &user).unwrap(),
        None
    );

    let code = code_at(&enrollment, now(&harness));
    match harness.submit(&id, &[(FIELD_CODE, &code)]) {
        Outcome::Complete {
            user_id,
            flow_type,
            methods,
            sign_in,
            ..
        } => {
            assert_eq!(user_id, Some(user.clone()));
            assert_eq!(flow_type, FlowType::MfaSetup);
            assert_eq!(methods, ["password", "totp"]);
            assert!(!sign_in);
        }
        other => panic!("enrolment did not complete: {other:?}"),
    }
    let stored = users
        .totp_credential(&TenantId::default(), &user)
        .unwrap()
        .unwrap();
    assert_eq!(stored.secret.to_base32(), enrollment.secret);
    assert_eq!((stored.digits, stored.period), (6, 30));
    assert!(stored.last_step.is_some(), "the enrolment code is used up");
    let account = users.get(&TenantId::default(), &user).unwrap().unwrap();
    assert_eq!(account.mfa_methods, ["totp"]);
    // The ended execution keeps no secret; the trace never had one.
    let execution = harness.engine.execution(&TenantId::default(), &id).unwrap();
    assert_eq!(execution.totp_secret, None);
    assert_eq!(execution.prompt, None);
    assert_trace_free_of(&harness, &id, &[&enrollment.secret, &code]);
}

#[test]
fn enrolment_without_a_signed_in_user_fails() {
    let harness = Harness::new();
    let (_, outcome) = harness.start(&mfa_setup());
    assert_eq!(failure_code(&outcome), "sign_in_required");
    // A session user the directory does not know is ignored.
    let ghost = signed_in(&harness, &UserId::new("ghost"));
    let (_, outcome) = harness.engine.start(&mfa_setup(), ghost).unwrap();
    assert_eq!(failure_code(&outcome), "sign_in_required");
    // A session user is used by mfa_setup flows only.
    let user = harness.register(EMAIL, PASSWORD);
    let (_, outcome) = harness
        .engine
        .start(&harness.login, signed_in(&harness, &user))
        .unwrap();
    assert_eq!(outcome.form().unwrap().purpose, FormPurpose::Identify);
}

#[test]
fn wrong_enrolment_codes_run_out() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let (id, _) = totp_setup(&harness, &user);
    for _ in 1..5 {
        let wrong = harness.submit(&id, &[(FIELD_CODE, "12345")]);
        assert_eq!(error_codes(&wrong), ["invalid_code"]);
    }
    let last = harness.submit(&id, &[(FIELD_CODE, "12345")]);
    assert_eq!(failure_code(&last), "too_many_attempts");
    let users = &harness.memory.users;
    assert_eq!(
        users.totp_credential(&TenantId::default(), &user).unwrap(),
        None
    );
}

#[test]
fn enrolled_users_give_a_code_after_the_password() {
    let harness = Harness::new();
    let (user, enrollment) = enrolled(&harness);
    advance(&harness, 30);

    let (id, outcome) = login_to_mfa(&harness);
    let form = outcome.form().expect("the second factor");
    assert_eq!(form.purpose, FormPurpose::VerifyMfa);
    assert_eq!(form.node_id, "mfa_verify");
    assert_eq!(form.user_hint.as_deref(), Some(EMAIL));
    assert_eq!(form.totp, None);
    assert_code_field(form, 6);

    assert_eq!(error_codes(&harness.submit(&id, &[])), ["required"]);
    let wrong = harness.submit(&id, &[(FIELD_CODE, "000000")]);
    assert_eq!(error_codes(&wrong), ["invalid_code"]);

    let code = code_at(&enrollment, now(&harness));
    match harness.submit(
        &id,
        &[(FIELD_CODE, &format!(" {} {} ", &code[..3], &code[3..]))],
    ) {
        Outcome::Complete {
            user_id,
            methods,
            sign_in,
            ..
        } => {
            assert_eq!(user_id, Some(user));
            assert_eq!(methods, ["password", "totp"]);
            assert!(sign_in);
        }
        other => panic!("login did not complete: {other:?}"),
    }
    assert_trace_free_of(&harness, &id, &[&code, PASSWORD, &enrollment.secret]);
}

#[test]
fn a_code_works_once() {
    let harness = Harness::new();
    let (_, enrollment) = enrolled(&harness);
    // The enrolment's own code cannot sign in.
    let (id, _) = login_to_mfa(&harness);
    let enrolment_code = code_at(&enrollment, now(&harness));
    let replayed = harness.submit(&id, &[(FIELD_CODE, &enrolment_code)]);
    assert_eq!(error_codes(&replayed), ["invalid_code"]);

    advance(&harness, 30);
    let code = code_at(&enrollment, now(&harness));
    let outcome = harness.submit(&id, &[(FIELD_CODE, &code)]);
    assert!(matches!(outcome, Outcome::Complete { .. }), "{outcome:?}");

    // The next login in the same period cannot use it again, nor the previous period's.
    let (again, _) = login_to_mfa(&harness);
    let refused = harness.submit(&again, &[(FIELD_CODE, &code)]);
    assert_eq!(error_codes(&refused), ["invalid_code"]);
    let refused = harness.submit(&again, &[(FIELD_CODE, &enrolment_code)]);
    assert_eq!(error_codes(&refused), ["invalid_code"]);
    // The next period's code passes.
    advance(&harness, 30);
    let next = code_at(&enrollment, now(&harness));
    let outcome = harness.submit(&again, &[(FIELD_CODE, &next)]);
    assert!(matches!(outcome, Outcome::Complete { .. }), "{outcome:?}");
}

#[test]
fn a_concurrent_second_use_of_a_code_loses() {
    let harness = Harness::new();
    let (_, enrollment) = enrolled(&harness);
    advance(&harness, 30);
    let (first, _) = login_to_mfa(&harness);
    let (second, _) = login_to_mfa(&harness);
    let code = code_at(&enrollment, now(&harness));
    let ids = [first, second];
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| {
                let harness = &harness;
                let code = code.clone();
                scope.spawn(move || harness.submit(id, &[(FIELD_CODE, &code)]))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    let completed = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Complete { .. }))
        .count();
    assert_eq!(completed, 1, "{outcomes:?}");
}

#[test]
fn users_without_mfa_sign_in_with_the_password_alone() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let (id, outcome) = harness.login(EMAIL, PASSWORD);
    match outcome {
        Outcome::Complete {
            user_id, methods, ..
        } => {
            assert_eq!(user_id, Some(user));
            assert_eq!(methods, ["password"]);
        }
        other => panic!("{other:?}"),
    }
    let trace = harness.engine.trace(&TenantId::default(), &id).unwrap();
    assert!(trace.iter().all(|entry| entry.op != "verify_mfa"));
}

#[test]
fn users_with_mfa_but_no_accepted_factor_fail() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    // Marked as having MFA (seeded by hand) but without an authenticator app.
    harness
        .memory
        .users
        .set_mfa_methods(&TenantId::default(), &user, vec!["totp".into()])
        .unwrap();
    let (_, outcome) = harness.login(EMAIL, PASSWORD);
    assert_eq!(failure_code(&outcome), "mfa_not_configured");
}
