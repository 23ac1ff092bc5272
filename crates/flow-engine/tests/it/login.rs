//! The default login flow: success, wrong and unknown credentials, attempt limits, MFA branch.

use flow_engine::{EngineError, FIELD_IDENTIFIER, FIELD_PASSWORD, FieldKind, FormPurpose, Outcome};
use flow_model::FlowType;

use crate::common::{Harness, assert_trace_free_of, error_codes, failure_code};

const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery staple";

#[test]
fn registration_then_login() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);

    let (id, first) = harness.start(&harness.login);
    let form = first.form().expect("an identification form");
    assert_eq!(form.purpose, FormPurpose::Identify);
    assert_eq!(
        form.field(FIELD_IDENTIFIER).unwrap().kind,
        FieldKind::Identifier
    );
    assert!(form.field(FIELD_PASSWORD).is_none());
    assert!(form.actions.iter().filter(|action| action.primary).count() == 1);

    // Identifiers are case-insensitive and trimmed.
    let second = harness.submit(&id, &[(FIELD_IDENTIFIER, "  Alice@Example.com ")]);
    let form = second.form().expect("a password form");
    assert_eq!(form.purpose, FormPurpose::VerifyPassword);
    assert_eq!(form.user_hint.as_deref(), Some(EMAIL));
    assert_eq!(
        form.field(FIELD_PASSWORD).unwrap().kind,
        FieldKind::Password
    );

    match harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]) {
        Outcome::Complete {
            user_id,
            flow_type,
            methods,
            sign_in,
            ..
        } => {
            assert_eq!(user_id, Some(user));
            assert_eq!(flow_type, FlowType::Login);
            assert_eq!(methods, vec!["password".to_owned()]);
            assert!(sign_in);
        }
        other => panic!("login did not complete: {other:?}"),
    }
    // The MFA condition was evaluated (false) and recorded.
    let trace = harness
        .engine
        .trace(&flow_engine::TenantId::default(), &id)
        .unwrap();
    let branch = trace.iter().find(|entry| entry.op == "branch").unwrap();
    assert_eq!(branch.node_id, "mfa_check");
    assert_eq!(branch.result, "false");
    assert_eq!(branch.detail, None);
    assert_trace_free_of(&harness, &id, &[PASSWORD]);
}

#[test]
fn wrong_password_then_right() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (id, outcome) = harness.login(EMAIL, "wrong password");
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    let form = outcome.form().unwrap();
    assert_eq!(form.errors[0].field.as_deref(), Some(FIELD_PASSWORD));
    assert!(matches!(
        harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Outcome::Complete { .. }
    ));
    assert_trace_free_of(&harness, &id, &[PASSWORD, "wrong password"]);
    let execution = harness
        .engine
        .execution(&flow_engine::TenantId::default(), &id)
        .unwrap();
    assert_eq!(execution.attempts.get("password"), Some(&1));
}

#[test]
fn empty_password_is_required_not_an_attempt() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (id, outcome) = harness.login(EMAIL, "");
    assert_eq!(error_codes(&outcome), ["required"]);
    assert!(
        harness
            .engine
            .execution(&flow_engine::TenantId::default(), &id)
            .unwrap()
            .attempts
            .is_empty()
    );
}

#[test]
fn unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let before = harness.engine.password_computations();
    let (_, wrong) = harness.login(EMAIL, "wrong password");
    let known_cost = harness.engine.password_computations() - before;
    let before = harness.engine.password_computations();
    let (unknown_id, unknown) = harness.login("nobody@example.com", "wrong password");
    // The unknown user cost one argon2 verification too (against the dummy hash).
    assert_eq!(harness.engine.password_computations() - before, known_cost);
    assert_eq!(known_cost, 1);
    let (mut wrong, mut unknown) = (
        wrong.form().unwrap().clone(),
        unknown.form().unwrap().clone(),
    );
    // Only the echo of what the user typed differs.
    assert_eq!(unknown.user_hint.as_deref(), Some("nobody@example.com"));
    wrong.user_hint = None;
    unknown.user_hint = None;
    assert_eq!(wrong, unknown);
    // The unknown user went through the same steps.
    let ops: Vec<String> = harness
        .engine
        .trace(&flow_engine::TenantId::default(), &unknown_id)
        .unwrap()
        .into_iter()
        .map(|entry| format!("{}:{}", entry.op, entry.result))
        .collect();
    assert_eq!(
        ops,
        [
            "identify_user:prompt",
            "identify_user:accepted",
            "verify_password:prompt",
            "verify_password:rejected:invalid_credentials"
        ]
    );
}

#[test]
fn attempt_limit_fails_the_execution() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    let (id, outcome) = harness.login(EMAIL, "wrong 1");
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    for attempt in 2..5 {
        let outcome = harness.submit(&id, &[(FIELD_PASSWORD, &format!("wrong {attempt}"))]);
        assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    }
    let fifth = harness.submit(&id, &[(FIELD_PASSWORD, "wrong 5")]);
    assert_eq!(failure_code(&fifth), "too_many_attempts");
    // Even the right password does not help now.
    assert_eq!(
        harness.try_submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Err(EngineError::TooManyAttempts)
    );
    assert_eq!(EngineError::TooManyAttempts.code(), "too_many_attempts");
}

#[test]
fn unknown_users_are_limited_too() {
    let harness = Harness::new();
    let (id, _) = harness.login("ghost@example.com", "x");
    for _ in 1..4 {
        harness.submit(&id, &[(FIELD_PASSWORD, "x")]);
    }
    let last = harness.submit(&id, &[(FIELD_PASSWORD, "x")]);
    assert_eq!(failure_code(&last), "too_many_attempts");
}

#[test]
fn invalid_identifier_format_is_a_field_error() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.login);
    let outcome = harness.submit(&id, &[(FIELD_IDENTIFIER, "not valid!")]);
    assert_eq!(error_codes(&outcome), ["invalid_identifier"]);
    let outcome = harness.submit(&id, &[]);
    assert_eq!(error_codes(&outcome), ["required"]);
}

#[test]
fn merged_identifier_and_password_is_one_round_trip() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let text = crate::common::fixture("default-login")
        .replace("\"with_password\": false", "\"with_password\": true");
    let program = crate::common::compile_text(&text);
    let (id, first) = harness.start(&program);
    let form = first.form().unwrap();
    assert!(form.field(FIELD_PASSWORD).is_some());
    let wrong = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL), (FIELD_PASSWORD, "nope")]);
    assert_eq!(error_codes(&wrong), ["invalid_credentials"]);
    // The identifier is kept for the retry; the password never is.
    let form = wrong.form().unwrap();
    assert_eq!(
        form.field(FIELD_IDENTIFIER).unwrap().value.as_deref(),
        Some(EMAIL)
    );
    assert_eq!(form.field(FIELD_PASSWORD).unwrap().value, None);
    match harness.submit(
        &id,
        &[(FIELD_IDENTIFIER, EMAIL), (FIELD_PASSWORD, PASSWORD)],
    ) {
        Outcome::Complete { user_id, .. } => assert_eq!(user_id, Some(user)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_hash_of_another_cost_is_remade_at_the_next_sign_in() {
    use flow_engine::{Engine, HashParams, Submission, TenantId, UserDirectory as _};
    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let tenant = TenantId::default();
    let stored = |harness: &Harness| {
        harness
            .memory
            .users
            .password_hash(&tenant, &user)
            .unwrap()
            .unwrap()
    };
    let before = stored(&harness);
    assert!(before.contains("$m=1024,t=1,p=1$"), "{before}");

    // The operator raises the cost: a new engine over the same stores.
    let raised = Engine::new(
        flow_engine::EngineConfig {
            hash: HashParams {
                m_cost: 2048,
                t_cost: 2,
                p_cost: 1,
            },
            ..crate::common::test_config()
        },
        harness.memory.ports(),
    )
    .unwrap();
    let login = |password: &str| {
        let (id, _) = raised.start(&harness.login, harness.request()).unwrap();
        raised
            .resume_in(
                &tenant,
                &id,
                Submission::with_inputs([(FIELD_IDENTIFIER, EMAIL)]),
            )
            .unwrap();
        raised
            .resume_in(
                &tenant,
                &id,
                Submission::with_inputs([(FIELD_PASSWORD, password)]),
            )
            .unwrap()
    };
    // A wrong password changes nothing.
    assert_eq!(
        error_codes(&login("wrong password")),
        ["invalid_credentials"]
    );
    assert_eq!(stored(&harness), before);
    // The right one signs in with the old hash and re-makes it with the new cost.
    assert!(matches!(login(PASSWORD), Outcome::Complete { .. }));
    let after = stored(&harness);
    assert!(after.contains("$m=2048,t=2,p=1$"), "{after}");
    // The new hash signs in, and is not re-made again.
    assert!(matches!(login(PASSWORD), Outcome::Complete { .. }));
    assert_eq!(stored(&harness), after);
}
