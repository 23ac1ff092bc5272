//! The per-user attempt limit: failed sign-ins of one user across executions lock the user for
//! a while; a locked user is refused without the password being checked; the lock ends on
//! its own; a successful sign-in or a password reset clears the count.

use flow_engine::{
    ACCOUNT_LOCKED, EngineConfig, FIELD_CODE, FIELD_IDENTIFIER, FIELD_PASSWORD, LoginAttempts,
    Outcome, TenantId,
};

use crate::common::{Harness, assert_trace_free_of, error_codes, failure_code, test_config};

const EMAIL: &str = "lena@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// The start of the harness's clock, in seconds.
const T0_SECS: i64 = crate::common::T0_MILLIS / 1000;

/// Three failures within ten minutes lock for five minutes.
fn small_limit() -> EngineConfig {
    EngineConfig {
        user_max_failures: 3,
        user_failure_window_secs: 600,
        user_lock_secs: 300,
        ..test_config()
    }
}

fn advance(harness: &Harness, secs: i64) {
    harness.memory.clock.as_ref().unwrap().advance_secs(secs);
}

fn completed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Complete { .. })
}

#[test]
fn recommended_limit_is_ten_failures_in_fifteen_minutes_for_fifteen_minutes() {
    let config = EngineConfig::recommended();
    assert_eq!(
        (
            config.user_max_failures,
            config.user_failure_window_secs,
            config.user_lock_secs
        ),
        (10, 900, 900)
    );
}

#[test]
fn a_new_execution_per_guess_still_locks_the_user() {
    let harness = Harness::new();
    harness.register(EMAIL, PASSWORD);
    // The attacker's way around the per-execution limit: one execution per guess.
    for guess in 1..10 {
        let (_, outcome) = harness.login(EMAIL, &format!("guess {guess}"));
        assert_eq!(
            error_codes(&outcome),
            ["invalid_credentials"],
            "guess {guess}"
        );
    }
    let (id, tenth) = harness.login(EMAIL, "guess 10");
    assert_eq!(error_codes(&tenth), [ACCOUNT_LOCKED]);
    let trace = harness.engine.trace(&TenantId::default(), &id).unwrap();
    let last = trace.last().unwrap();
    assert_eq!(last.result, "rejected:account_locked");
    assert_eq!(last.detail.as_deref(), Some("user locked"));
    // Now even the right password is refused, in a fresh execution.
    let (_, right) = harness.login(EMAIL, PASSWORD);
    assert_eq!(error_codes(&right), [ACCOUNT_LOCKED]);
}

#[test]
fn failures_across_executions_lock_and_the_lock_expires() {
    let harness = Harness::with_config(small_limit());
    let user = harness.register(EMAIL, PASSWORD);
    let (first, outcome) = harness.login(EMAIL, "wrong 1");
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    let outcome = harness.submit(&first, &[(FIELD_PASSWORD, "wrong 2")]);
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    // The third failure, in another execution, reaches the limit.
    let (second, outcome) = harness.login(EMAIL, "wrong 3");
    assert_eq!(error_codes(&outcome), [ACCOUNT_LOCKED]);
    let form = outcome.form().unwrap();
    assert_eq!(form.errors[0].field.as_deref(), Some(FIELD_PASSWORD));
    assert_eq!(
        form.errors[0].message,
        "Too many failed sign-ins. Try again later."
    );
    let tenant = TenantId::default();
    let stored = harness
        .memory
        .login_attempts
        .failed_logins(&tenant, &user, T0_SECS)
        .unwrap()
        .unwrap();
    assert_eq!(stored.locked_until, Some(T0_SECS + 300));

    // The right password is refused while locked, in the same and in a new execution.
    let outcome = harness.submit(&second, &[(FIELD_PASSWORD, PASSWORD)]);
    assert_eq!(error_codes(&outcome), [ACCOUNT_LOCKED]);
    advance(&harness, 299);
    let (_, outcome) = harness.login(EMAIL, PASSWORD);
    assert_eq!(error_codes(&outcome), [ACCOUNT_LOCKED]);

    // The lock is over: the right password works, and the count starts again.
    advance(&harness, 1);
    let (_, outcome) = harness.login(EMAIL, PASSWORD);
    assert!(completed(&outcome), "{outcome:?}");
    assert_eq!(
        harness
            .memory
            .login_attempts
            .failed_logins(&tenant, &user, T0_SECS + 300)
            .unwrap(),
        None
    );
    assert_trace_free_of(&harness, &second, &[PASSWORD, "wrong 3"]);
}

#[test]
fn a_locked_user_costs_one_dummy_verification_and_looks_like_a_wrong_password() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    let (_, wrong) = harness.login(EMAIL, "wrong 1");
    harness.login(EMAIL, "wrong 2");
    harness.login(EMAIL, "wrong 3");
    let before = harness.engine.password_computations();
    let (id, locked) = harness.login(EMAIL, PASSWORD);
    // One argon2 verification, as for a wrong password or an unknown user (against the dummy
    // hash: the real one is not even read).
    assert_eq!(harness.engine.password_computations() - before, 1);
    // The same form as a wrong password; only the error's code and message differ.
    let (mut wrong, mut locked) = (
        wrong.form().unwrap().clone(),
        locked.form().unwrap().clone(),
    );
    assert_eq!(wrong.errors.len(), 1);
    assert_eq!(locked.errors.len(), 1);
    assert_eq!(wrong.errors[0].field, locked.errors[0].field);
    wrong.errors.clear();
    locked.errors.clear();
    assert_eq!(wrong, locked);
    let ops: Vec<String> = harness
        .engine
        .trace(&flow_engine::TenantId::default(), &id)
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
            "verify_password:rejected:account_locked"
        ]
    );
}

#[test]
fn refusals_while_locked_count_per_execution_but_do_not_extend_the_lock() {
    let harness = Harness::with_config(small_limit());
    let user = harness.register(EMAIL, PASSWORD);
    for guess in 1..=3 {
        harness.login(EMAIL, &format!("wrong {guess}"));
    }
    let (id, _) = harness.login(EMAIL, "locked 1");
    for attempt in 2..5 {
        let outcome = harness.submit(&id, &[(FIELD_PASSWORD, &format!("locked {attempt}"))]);
        assert_eq!(error_codes(&outcome), [ACCOUNT_LOCKED]);
    }
    // The per-execution limit still applies to refusals.
    let fifth = harness.submit(&id, &[(FIELD_PASSWORD, "locked 5")]);
    assert_eq!(failure_code(&fifth), "too_many_attempts");
    let stored = harness
        .memory
        .login_attempts
        .failed_logins(&TenantId::default(), &user, T0_SECS)
        .unwrap()
        .unwrap();
    assert_eq!(stored.locked_until, Some(T0_SECS + 300));
    assert_eq!(stored.count, 3);
}

#[test]
fn a_successful_sign_in_resets_the_count() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    harness.login(EMAIL, "wrong 1");
    harness.login(EMAIL, "wrong 2");
    assert!(completed(&harness.login(EMAIL, PASSWORD).1));
    assert!(harness.memory.login_attempts.is_empty());
    // Two more failures do not reach the limit of three.
    harness.login(EMAIL, "wrong 3");
    let (_, outcome) = harness.login(EMAIL, "wrong 4");
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    assert!(completed(&harness.login(EMAIL, PASSWORD).1));
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    harness.login(EMAIL, "wrong 1");
    harness.login(EMAIL, "wrong 2");
    advance(&harness, 600);
    let (_, outcome) = harness.login(EMAIL, "wrong 3");
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    assert!(completed(&harness.login(EMAIL, PASSWORD).1));
}

#[test]
fn unknown_identifiers_record_nothing() {
    let harness = Harness::with_config(small_limit());
    for guess in 0..6 {
        let (_, outcome) = harness.login("ghost@example.com", &format!("guess {guess}"));
        assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
    }
    assert!(harness.memory.login_attempts.is_empty());
}

#[test]
fn the_merged_identifier_and_password_step_locks_too() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    let text = crate::common::fixture("default-login")
        .replace("\"with_password\": false", "\"with_password\": true");
    let program = crate::common::compile_text(&text);
    let attempt = |password: &str| {
        let (id, _) = harness.start(&program);
        harness.submit(
            &id,
            &[(FIELD_IDENTIFIER, EMAIL), (FIELD_PASSWORD, password)],
        )
    };
    assert_eq!(error_codes(&attempt("wrong 1")), ["invalid_credentials"]);
    assert_eq!(error_codes(&attempt("wrong 2")), ["invalid_credentials"]);
    assert_eq!(error_codes(&attempt("wrong 3")), [ACCOUNT_LOCKED]);
    let locked = attempt(PASSWORD);
    assert_eq!(error_codes(&locked), [ACCOUNT_LOCKED]);
    // The identifier is kept for the retry, as after a wrong password.
    let form = locked.form().unwrap();
    assert_eq!(
        form.field(FIELD_IDENTIFIER).unwrap().value.as_deref(),
        Some(EMAIL)
    );
    advance(&harness, 300);
    assert!(completed(&attempt(PASSWORD)));
}

#[test]
fn a_password_reset_lifts_the_lock() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    for guess in 1..=3 {
        harness.login(EMAIL, &format!("wrong {guess}"));
    }
    assert_eq!(
        error_codes(&harness.login(EMAIL, PASSWORD).1),
        [ACCOUNT_LOCKED]
    );
    let (id, _) = harness.start(&harness.recovery);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    harness.submit(&id, &[(FIELD_CODE, &code)]);
    let done = harness.submit(&id, &[(FIELD_PASSWORD, "a brand new password")]);
    assert!(completed(&done), "{done:?}");
    assert!(harness.memory.login_attempts.is_empty());
    assert!(completed(&harness.login(EMAIL, "a brand new password").1));
}

#[test]
fn a_zero_limit_turns_the_per_user_limit_off() {
    let harness = Harness::with_config(EngineConfig {
        user_max_failures: 0,
        ..small_limit()
    });
    harness.register(EMAIL, PASSWORD);
    for guess in 1..=5 {
        harness.login(EMAIL, &format!("wrong {guess}"));
    }
    assert!(harness.memory.login_attempts.is_empty());
    assert!(completed(&harness.login(EMAIL, PASSWORD).1));
}

#[test]
fn housekeeping_deletes_records_whose_window_and_lock_are_over() {
    let harness = Harness::with_config(small_limit());
    harness.register(EMAIL, PASSWORD);
    for guess in 1..=3 {
        harness.login(EMAIL, &format!("wrong {guess}"));
    }
    harness.engine.delete_expired().unwrap();
    assert_eq!(harness.memory.login_attempts.len(), 1);
    advance(&harness, 300);
    harness.engine.delete_expired().unwrap();
    assert!(harness.memory.login_attempts.is_empty());
}

#[test]
fn a_disabled_user_gets_the_answer_of_a_wrong_password_even_when_disabled_mid_flow() {
    use flow_engine::UserDirectory;

    let harness = Harness::new();
    let user = harness.register(EMAIL, PASSWORD);
    let tenant = TenantId::default();
    let users = harness.memory.users.clone();

    // Disabled before the flow: the right password is refused like a wrong one.
    users.set_disabled(&tenant, &user, Some(T0_SECS)).unwrap();
    let (id, right) = harness.login(EMAIL, PASSWORD);
    assert_eq!(error_codes(&right), ["invalid_credentials"]);
    let trace = harness.engine.trace(&tenant, &id).unwrap();
    assert!(
        trace
            .iter()
            .any(|entry| entry.detail.as_deref() == Some("disabled user")),
        "{trace:?}"
    );

    // Disabled after the identifier step: still refused at the password.
    users.set_disabled(&tenant, &user, None).unwrap();
    let (id, _) = harness.start(&harness.login);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    users.set_disabled(&tenant, &user, Some(T0_SECS)).unwrap();
    let outcome = harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]);
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);

    // Enabled again, the user signs in.
    users.set_disabled(&tenant, &user, None).unwrap();
    let (_, outcome) = harness.login(EMAIL, PASSWORD);
    assert!(completed(&outcome), "{outcome:?}");
}
