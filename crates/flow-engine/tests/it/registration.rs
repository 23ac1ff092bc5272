//! The default registration flow: creating users, password policy, duplicates.

use flow_engine::{
    ExecutionStatus, FIELD_IDENTIFIER, FIELD_PASSWORD, FieldKind, FormPurpose, Outcome, TenantId,
    UserDirectory,
};
use flow_model::FlowType;
use serde_json::json;

use crate::common::{Harness, assert_trace_free_of, error_codes};

#[test]
fn registration_creates_the_user_with_hash_and_attributes() {
    let harness = Harness::new();
    let (id, first) = harness.start(&harness.registration);
    let form = first.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::CollectIdentifier);
    assert_eq!(form.field(FIELD_IDENTIFIER).unwrap().kind, FieldKind::Email);

    let second = harness.submit(&id, &[(FIELD_IDENTIFIER, "Bob@Example.com")]);
    let form = second.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::SetPassword);
    let password = form.field(FIELD_PASSWORD).unwrap();
    assert_eq!(password.kind, FieldKind::NewPassword);
    assert_eq!(password.hints.min_length, Some(8));

    let third = harness.submit(&id, &[(FIELD_PASSWORD, "a fine passphrase")]);
    let form = third.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::Prompt);
    assert_eq!(form.fields.len(), 2);

    let done = harness.submit(&id, &[("given_name", "Bob"), ("family_name", "")]);
    let Outcome::Complete {
        user_id: Some(user_id),
        flow_type,
        attributes,
        sign_in,
        ..
    } = done
    else {
        panic!("{done:?}")
    };
    assert_eq!(flow_type, FlowType::Registration);
    assert!(sign_in);
    assert_eq!(attributes.get("given_name"), Some(&json!("Bob")));
    assert_eq!(attributes.get("family_name"), None);

    let tenant = TenantId::default();
    let user = harness
        .memory
        .users
        .get(&tenant, &user_id)
        .unwrap()
        .unwrap();
    assert_eq!(user.identifier, "bob@example.com");
    assert_eq!(
        user.attributes.get("email"),
        Some(&json!("bob@example.com"))
    );
    assert_eq!(user.attributes.get("given_name"), Some(&json!("Bob")));
    let hash = harness
        .memory
        .users
        .password_hash(&tenant, &user_id)
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    // Nothing secret stays behind in the finished execution.
    let execution = harness.engine.execution(&TenantId::default(), &id).unwrap();
    assert_eq!(execution.status, ExecutionStatus::Completed);
    assert_eq!(execution.new_password_hash, None);
    assert_trace_free_of(&harness, &id, &["a fine passphrase"]);
}

#[test]
fn password_policy_errors() {
    let harness = Harness::new();
    let (id, _) = harness.start(&harness.registration);
    harness.submit(&id, &[(FIELD_IDENTIFIER, "carol@example.com")]);
    let short = harness.submit(&id, &[(FIELD_PASSWORD, "short")]);
    assert_eq!(error_codes(&short), ["password_too_short"]);
    let same = harness.submit(&id, &[(FIELD_PASSWORD, "Carol@Example.com")]);
    assert_eq!(error_codes(&same), ["password_matches_identifier"]);
    let empty = harness.submit(&id, &[]);
    assert_eq!(error_codes(&empty), ["required"]);
    let ok = harness.submit(&id, &[(FIELD_PASSWORD, "long enough now")]);
    assert_eq!(ok.form().unwrap().purpose, FormPurpose::Prompt);
}

#[test]
fn confirmation_must_match_when_the_policy_asks() {
    let harness = Harness::new();
    let text = crate::common::fixture("default-registration")
        .replace("\"min_length\": 8", "\"min_length\": 8, \"confirm\": true");
    let program = crate::common::compile_text(&text);
    let (id, _) = harness.start(&program);
    let form = harness.submit(&id, &[(FIELD_IDENTIFIER, "dan@example.com")]);
    assert!(form.form().unwrap().field("password_confirm").is_some());
    let mismatch = harness.submit(
        &id,
        &[
            (FIELD_PASSWORD, "long enough now"),
            ("password_confirm", "long enough no"),
        ],
    );
    assert_eq!(error_codes(&mismatch), ["password_mismatch"]);
    let ok = harness.submit(
        &id,
        &[
            (FIELD_PASSWORD, "long enough now"),
            ("password_confirm", "long enough now"),
        ],
    );
    assert_eq!(ok.form().unwrap().purpose, FormPurpose::Prompt);
}

#[test]
fn a_taken_identifier_is_a_field_error() {
    let harness = Harness::new();
    harness.register("erin@example.com", "fennel orbit marble cascade");
    let (id, _) = harness.start(&harness.registration);
    let taken = harness.submit(&id, &[(FIELD_IDENTIFIER, "ERIN@example.com")]);
    assert_eq!(error_codes(&taken), ["identifier_taken"]);
    // The execution stays alive and accepts another identifier.
    let next = harness.submit(&id, &[(FIELD_IDENTIFIER, "erin2@example.com")]);
    assert_eq!(next.form().unwrap().purpose, FormPurpose::SetPassword);
}

#[test]
fn look_alikes_and_invisible_characters_are_field_errors() {
    let harness = Harness::new();
    harness.register("gwen@example.com", "fennel orbit marble cascade");
    let (id, _) = harness.start(&harness.registration);
    for (typed, code) in [
        ("gw\u{435}n@example.com", "identifier_taken"),
        ("\u{ff47}wen@example.com", "identifier_taken"),
        ("gwen@\u{435}xample.com", "identifier_taken"),
        ("gw\u{200b}en@example.com", "identifier_invalid_characters"),
        ("gwen@example.com\u{feff}", "identifier_invalid_characters"),
        ("gw\u{202e}en@example.com", "identifier_invalid_characters"),
    ] {
        let refused = harness.submit(&id, &[(FIELD_IDENTIFIER, typed)]);
        assert_eq!(error_codes(&refused), [code], "{typed:?}");
    }
    // The execution stays alive and accepts a name of its own.
    let next = harness.submit(&id, &[(FIELD_IDENTIFIER, "gwendolyn@example.com")]);
    assert_eq!(next.form().unwrap().purpose, FormPurpose::SetPassword);
}

#[test]
fn a_look_alike_at_creation_goes_back_to_the_identifier_step() {
    let harness = Harness::new();
    // A Latin and a Cyrillic spelling pass the identifier step before either finishes.
    let (first, _) = harness.start(&harness.registration);
    let (second, _) = harness.start(&harness.registration);
    for (id, typed) in [
        (&first, "hugo@example.com"),
        (&second, "hug\u{43e}@example.com"),
    ] {
        harness.submit(id, &[(FIELD_IDENTIFIER, typed)]);
        harness.submit(id, &[(FIELD_PASSWORD, "falcon prism juniper tundra")]);
    }
    assert!(matches!(
        harness.submit(&first, &[]),
        Outcome::Complete { .. }
    ));
    let lost = harness.submit(&second, &[]);
    assert_eq!(error_codes(&lost), ["identifier_taken"]);
}

#[test]
fn a_duplicate_at_creation_goes_back_to_the_identifier_step() {
    let harness = Harness::new();
    // Two registrations of the same address pass the identifier step before either finishes.
    let (first, _) = harness.start(&harness.registration);
    let (second, _) = harness.start(&harness.registration);
    for id in [&first, &second] {
        harness.submit(id, &[(FIELD_IDENTIFIER, "frank@example.com")]);
        harness.submit(id, &[(FIELD_PASSWORD, "falcon prism juniper tundra")]);
    }
    assert!(matches!(
        harness.submit(&first, &[]),
        Outcome::Complete { .. }
    ));
    let lost = harness.submit(&second, &[]);
    assert_eq!(error_codes(&lost), ["identifier_taken"]);
    let form = lost.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::CollectIdentifier);
    assert_eq!(form.node_id, "identifier");
    let execution = harness
        .engine
        .execution(&TenantId::default(), &second)
        .unwrap();
    assert_eq!(execution.status, ExecutionStatus::Waiting);
    // A different address completes the registration from there.
    harness.submit(&second, &[(FIELD_IDENTIFIER, "frank2@example.com")]);
    harness.submit(&second, &[(FIELD_PASSWORD, "falcon prism juniper tundra")]);
    assert!(matches!(
        harness.submit(&second, &[]),
        Outcome::Complete { .. }
    ));
}

#[test]
fn registered_users_are_per_tenant() {
    let harness = Harness::new();
    harness.register("gina@example.com", "garnet willow sonar meadow");
    let other = TenantId::new("other");
    assert!(
        harness
            .memory
            .users
            .find_by_identifier(&other, "gina@example.com")
            .unwrap()
            .is_none()
    );
    // Logging in at another tenant finds nobody.
    let (id, _) = harness
        .engine
        .start(
            &harness.login,
            flow_engine::RequestContext::for_tenant(other.clone()),
        )
        .unwrap();
    let submit = |inputs: &[(&str, &str)]| {
        harness
            .engine
            .resume_in(
                &other,
                &id,
                flow_engine::Submission::with_inputs(inputs.iter().copied()),
            )
            .unwrap()
    };
    submit(&[(FIELD_IDENTIFIER, "gina@example.com")]);
    let outcome = submit(&[(FIELD_PASSWORD, "garnet willow sonar meadow")]);
    assert_eq!(error_codes(&outcome), ["invalid_credentials"]);
}
