//! The default password recovery flow: a code by e-mail, then a new password.

use flow_engine::{
    FIELD_CODE, FIELD_IDENTIFIER, FIELD_PASSWORD, FormPurpose, Outcome, UserDirectory,
};
use flow_model::FlowType;

use crate::common::{Harness, assert_trace_free_of, error_codes, failure_code};

const EMAIL: &str = "hana@example.com";
const OLD: &str = "the old password";
const NEW: &str = "the new password";

fn wrong_code(code: &str) -> String {
    let first = code.as_bytes()[0];
    let changed = if first == b'9' {
        '0'
    } else {
        char::from(first + 1)
    };
    format!("{changed}{}", &code[1..])
}

#[test]
fn recovery_code_is_mailed_verified_and_the_password_changes() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, OLD);
    let (id, first) = harness.start(&harness.recovery);
    assert_eq!(first.form().unwrap().purpose, FormPurpose::Identify);

    let code_prompt = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(code_prompt.form().unwrap().purpose, FormPurpose::VerifyCode);
    let message = harness.memory.outbox.last_to(EMAIL).expect("a mail");
    assert_eq!(message.template, "password_reset_code");
    assert_eq!(message.execution_id, Some(id));
    let code = message.code.expect("a code");
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let wrong = harness.submit(&id, &[(FIELD_CODE, &wrong_code(&code))]);
    assert_eq!(error_codes(&wrong), ["invalid_code"]);
    let set = harness.submit(&id, &[(FIELD_CODE, &code)]);
    assert_eq!(set.form().unwrap().purpose, FormPurpose::SetPassword);

    let short = harness.submit(&id, &[(FIELD_PASSWORD, "short")]);
    assert_eq!(error_codes(&short), ["password_too_short"]);
    let same = harness.submit(&id, &[(FIELD_PASSWORD, EMAIL)]);
    assert_eq!(error_codes(&same), ["password_matches_identifier"]);
    match harness.submit(&id, &[(FIELD_PASSWORD, NEW)]) {
        Outcome::Complete {
            user_id,
            flow_type,
            methods,
            sign_in,
            ..
        } => {
            assert_eq!(user_id, Some(user.clone()));
            assert_eq!(flow_type, FlowType::PasswordReset);
            assert_eq!(methods, vec!["email_otp".to_owned()]);
            assert!(!sign_in);
        }
        other => panic!("{other:?}"),
    }
    assert_trace_free_of(&harness, &id, &[&code, NEW]);

    // The new password works, the old one no longer does.
    assert!(matches!(
        harness.login(EMAIL, NEW).1,
        Outcome::Complete { .. }
    ));
    assert_eq!(
        error_codes(&harness.login(EMAIL, OLD).1),
        ["invalid_credentials"]
    );
    let hash = harness
        .memory
        .users
        .password_hash(&flow_engine::TenantId::default(), &user)
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
}

#[test]
fn unknown_users_see_the_same_steps_but_get_no_mail() {
    let harness = Harness::new();
    harness.register(EMAIL, OLD);
    let (id, _) = harness.start(&harness.recovery);
    let prompt = harness.submit(&id, &[(FIELD_IDENTIFIER, "nobody@example.com")]);
    assert_eq!(prompt.form().unwrap().purpose, FormPurpose::VerifyCode);
    assert!(harness.memory.outbox.messages().is_empty());
    let wrong = harness.submit(&id, &[(FIELD_CODE, "000000")]);
    assert_eq!(error_codes(&wrong), ["invalid_code"]);
}

#[test]
fn codes_are_attempt_limited() {
    let harness = Harness::new();
    harness.register(EMAIL, OLD);
    let (id, _) = harness.start(&harness.recovery);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    let wrong = wrong_code(&code);
    for _ in 1..5 {
        assert_eq!(
            error_codes(&harness.submit(&id, &[(FIELD_CODE, &wrong)])),
            ["invalid_code"]
        );
    }
    let last = harness.submit(&id, &[(FIELD_CODE, &wrong)]);
    assert_eq!(failure_code(&last), "too_many_attempts");
}

#[test]
fn codes_expire() {
    let harness = Harness::new();
    harness.register(EMAIL, OLD);
    let (id, _) = harness.start(&harness.recovery);
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    // Past the code's 10 minutes, within the execution's 15.
    harness.memory.clock.as_ref().unwrap().advance_secs(601);
    let expired = harness.submit(&id, &[(FIELD_CODE, &code)]);
    assert_eq!(error_codes(&expired), ["code_expired"]);
}

#[test]
fn a_disabled_user_sees_the_same_steps_but_gets_no_mail() {
    let harness = Harness::new();
    let user = harness.register(EMAIL, OLD);
    let tenant = flow_engine::TenantId::default();
    harness
        .memory
        .users
        .set_disabled(&tenant, &user, Some(1))
        .unwrap();
    let (id, _) = harness.start(&harness.recovery);
    let prompt = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(prompt.form().unwrap().purpose, FormPurpose::VerifyCode);
    assert!(harness.memory.outbox.messages().is_empty());
}

/// A password changed by a recovery ends the user's other executions: a sign-in begun
/// before it cannot finish, even with the new password; one begun after signs in.
#[test]
fn a_password_change_ends_the_users_other_executions() {
    let harness = Harness::new();
    harness.register(EMAIL, OLD);
    let (login, _) = harness.start(&harness.login);
    harness.submit(&login, &[(FIELD_IDENTIFIER, EMAIL)]);
    harness.memory.clock.as_ref().unwrap().advance_secs(2);

    let (recovery, _) = harness.start(&harness.recovery);
    harness.submit(&recovery, &[(FIELD_IDENTIFIER, EMAIL)]);
    let code = harness.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    harness.submit(&recovery, &[(FIELD_CODE, &code)]);
    let reset = harness.submit(&recovery, &[(FIELD_PASSWORD, NEW)]);
    assert!(matches!(reset, Outcome::Complete { .. }), "{reset:?}");
    harness.memory.clock.as_ref().unwrap().advance_secs(1);

    let ended = harness.submit(&login, &[(FIELD_PASSWORD, NEW)]);
    assert_eq!(failure_code(&ended), flow_engine::CREDENTIALS_CHANGED);
    assert!(matches!(
        harness.login(EMAIL, NEW).1,
        Outcome::Complete { .. }
    ));
}
