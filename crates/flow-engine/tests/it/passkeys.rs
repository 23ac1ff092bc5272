//! Passkeys end to end on the memory ports, with webauthn-authenticator-rs's software passkey
//! as the person's authenticator: enrolment in MFA setup and registration, sign-in after the
//! identifier and without one, the fallback edge, and every refused answer.

use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::{
    ACTION_FALLBACK, CeremonyKind, Clock, EngineConfig, ExecutionId, FIELD_CREDENTIAL,
    FIELD_IDENTIFIER, FIELD_ORIGIN, FIELD_PASSWORD, Form, FormPurpose, Outcome, PasskeySettings,
    RequestContext, SessionUser, SignCountPolicy, Submission, TenantId, UserDirectory, UserId,
};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::common::{Harness, compile_text, error_codes, failure_code, test_config};

const ORIGIN: &str = "https://login.example.com";
const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn config(sign_count: SignCountPolicy) -> EngineConfig {
    EngineConfig {
        passkeys: PasskeySettings {
            sign_count,
            ..PasskeySettings::for_public_url(ORIGIN)
        },
        ..test_config()
    }
}

fn harness() -> Harness {
    Harness::with_config(config(SignCountPolicy::Refuse))
}

/// A flow of `flow_type` whose nodes run in a line from start to success, with extra edges.
fn flow(flow_type: &str, nodes: Value, edges: Value) -> Arc<Program> {
    compile_text(
        &json!({
            "name": format!("passkeys-{}", flow_type.replace('_', "-")),
            "type": flow_type,
            "graph": {"nodes": nodes, "edges": edges}
        })
        .to_string(),
    )
}

/// MFA setup: a passkey, skippable.
fn enrol_flow() -> Arc<Program> {
    flow(
        "mfa_setup",
        json!([
            {"id": "start", "type": "start"},
            {"id": "passkey", "type": "webauthn"},
            {"id": "done", "type": "success"},
            {"id": "skipped", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "passkey"},
            {"source": "passkey", "target": "done"},
            {"source": "passkey", "target": "skipped", "condition": "fallback"}
        ]),
    )
}

/// Login: the identifier, then a passkey, or the password as the fallback.
fn login_flow() -> Arc<Program> {
    flow(
        "login",
        json!([
            {"id": "start", "type": "start"},
            {"id": "identifier", "type": "identifier_input"},
            {"id": "passkey", "type": "webauthn"},
            {"id": "password", "type": "password_input"},
            {"id": "done", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "identifier"},
            {"source": "identifier", "target": "passkey"},
            {"source": "passkey", "target": "done"},
            {"source": "passkey", "target": "password", "condition": "fallback"},
            {"source": "password", "target": "done"}
        ]),
    )
}

/// Login with nothing but a passkey, no identifier first.
fn usernameless_flow() -> Arc<Program> {
    flow(
        "login",
        json!([
            {"id": "start", "type": "start"},
            {"id": "passkey", "type": "webauthn"},
            {"id": "done", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "passkey"},
            {"source": "passkey", "target": "done"}
        ]),
    )
}

/// The person's authenticator, used from `origin`.
struct Device {
    key: SoftPasskey,
    origin: Url,
}

impl Device {
    fn new() -> Self {
        Self::at(ORIGIN)
    }

    fn at(origin: &str) -> Self {
        Self {
            key: SoftPasskey::new(true),
            origin: Url::parse(origin).unwrap(),
        }
    }

    /// The credential JSON a browser would send for `form`'s registration options.
    fn create(&mut self, form: &Form) -> String {
        let options: CreationChallengeResponse =
            serde_json::from_value(options(form, CeremonyKind::Registration)).unwrap();
        let credential = self
            .key
            .do_registration(self.origin.clone(), options)
            .unwrap();
        serde_json::to_string(&credential).unwrap()
    }

    /// The assertion JSON for `form`'s request options. For a sign-in without an identifier
    /// (empty allow list), `discoverable` names the credential and the user handle, which a
    /// platform authenticator would find by itself.
    fn get(&mut self, form: &Form, discoverable: Option<(&str, &UserId)>) -> String {
        let kind = form.passkey.as_ref().unwrap().ceremony;
        let mut options = options(form, kind);
        if let Some((credential_id, _)) = discoverable {
            options["publicKey"]["allowCredentials"] =
                json!([{"type": "public-key", "id": credential_id}]);
        }
        // A look-alike site relays the challenge under its own name (the authenticator would
        // refuse an RP id that is not its origin's).
        let host = self.origin.host_str().unwrap_or_default();
        if !host.ends_with("example.com") {
            options["publicKey"]["rpId"] = json!(host);
        }
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let assertion = self
            .key
            .do_authentication(self.origin.clone(), options)
            .unwrap();
        let mut json = serde_json::to_value(&assertion).unwrap();
        if let Some((_, user)) = discoverable {
            let handle = uuid::Uuid::parse_str(user.as_str()).unwrap();
            json["response"]["userHandle"] = json!(base64url(handle.as_bytes()));
        }
        json.to_string()
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The options of a passkey form, checking the ceremony kind.
fn options(form: &Form, kind: CeremonyKind) -> Value {
    let prompt = form.passkey.as_ref().expect("a passkey form");
    assert_eq!(prompt.ceremony, kind);
    prompt.options.clone()
}

fn form(outcome: &Outcome) -> &Form {
    outcome
        .form()
        .unwrap_or_else(|| panic!("expected a form, got {outcome:?}"))
}

fn answer(harness: &Harness, id: &ExecutionId, credential: &str) -> Outcome {
    harness.submit(id, &[(FIELD_CREDENTIAL, credential)])
}

fn signed_in(harness: &Harness, user: &UserId) -> RequestContext {
    harness.request().with_user(SessionUser {
        id: user.clone(),
        methods: vec!["password".to_owned()],
        signed_in_at: None,
    })
}

fn tenant() -> TenantId {
    TenantId::default()
}

/// Registers Alice with a password and enrols `device`'s passkey in MFA setup.
fn enrolled(harness: &Harness, device: &mut Device) -> UserId {
    let user = harness.register(EMAIL, PASSWORD);
    let (id, first) = harness
        .engine
        .start(&enrol_flow(), signed_in(harness, &user))
        .unwrap();
    let first = form(&first);
    assert_eq!(first.purpose, FormPurpose::RegisterPasskey);
    assert!(
        first
            .actions
            .iter()
            .any(|action| action.id == ACTION_FALLBACK)
    );
    let public = &first.passkey.as_ref().unwrap().options["publicKey"];
    assert_eq!(public["rp"]["id"], "login.example.com");
    assert_eq!(public["authenticatorSelection"]["residentKey"], "preferred");
    let credential = device.create(first);
    let done = answer(harness, &id, &credential);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
    user
}

#[test]
fn a_passkey_enrolled_in_mfa_setup_signs_in_after_the_identifier() {
    let harness = harness();
    let mut device = Device::new();
    let user = enrolled(&harness, &mut device);
    let users = harness.memory.users.as_ref();
    let stored = users.passkeys(&tenant(), &user).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "Passkey 1");
    assert_eq!(stored[0].last_used_at, None);
    let found = users.get(&tenant(), &user).unwrap().unwrap();
    assert!(found.mfa_methods.contains(&"webauthn".to_owned()));

    let (id, _) = harness.start(&login_flow());
    let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let challenge = form(&challenge);
    assert_eq!(challenge.purpose, FormPurpose::AuthenticatePasskey);
    let allowed = &challenge.passkey.as_ref().unwrap().options["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], json!(stored[0].credential_id));
    let assertion = device.get(challenge, None);
    match answer(&harness, &id, &assertion) {
        Outcome::Complete {
            user_id, methods, ..
        } => {
            assert_eq!(user_id, Some(user.clone()));
            assert_eq!(methods, vec!["webauthn".to_owned()]);
        }
        other => panic!("expected a sign-in, got {other:?}"),
    }
    let used = &users.passkeys(&tenant(), &user).unwrap()[0];
    assert!(used.last_used_at.is_some());
    assert!(used.sign_count >= 1, "{used:?}");

    // The same assertion again, in a new sign-in: its challenge was another one.
    let (replay, _) = harness.start(&login_flow());
    harness.submit(&replay, &[(FIELD_IDENTIFIER, EMAIL)]);
    let refused = answer(&harness, &replay, &assertion);
    assert_eq!(error_codes(&refused), vec!["passkey_rejected"]);
    // And the challenge it got instead is a fresh one that still works.
    let fresh = device.get(form(&refused), None);
    assert!(matches!(
        answer(&harness, &replay, &fresh),
        Outcome::Complete { .. }
    ));
}

#[test]
fn a_user_without_passkeys_and_the_fallback_action_take_the_password() {
    let harness = harness();
    harness.register(EMAIL, PASSWORD);
    let (id, _) = harness.start(&login_flow());
    let next = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(form(&next).purpose, FormPurpose::VerifyPassword);
    assert!(matches!(
        harness.submit(&id, &[(FIELD_PASSWORD, PASSWORD)]),
        Outcome::Complete { .. }
    ));
    // An unknown identifier goes the same way: nothing tells the two apart.
    let (id, _) = harness.start(&login_flow());
    let next = harness.submit(&id, &[(FIELD_IDENTIFIER, "nobody@example.com")]);
    assert_eq!(form(&next).purpose, FormPurpose::VerifyPassword);

    // With a passkey, "use another way" leads to the password as well.
    let harness = self::harness();
    let mut device = Device::new();
    enrolled(&harness, &mut device);
    let (id, _) = harness.start(&login_flow());
    harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let other = harness
        .engine
        .resume_in(
            &tenant(),
            &id,
            Submission {
                action_id: Some(ACTION_FALLBACK.to_owned()),
                ..Submission::default()
            },
        )
        .unwrap();
    assert_eq!(form(&other).purpose, FormPurpose::VerifyPassword);
}

#[test]
fn refused_answers_are_coded_recoverable_and_spend_attempts() {
    let harness = harness();
    let mut device = Device::new();
    let alice = enrolled(&harness, &mut device);
    let (id, _) = harness.start(&login_flow());
    let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let good = device.get(form(&challenge), None);

    for garbage in [
        "not json",
        "{\"id\": 1}",
        &good[..good.len() / 2],
        "eyJpZCI6",
    ] {
        let refused = answer(&harness, &id, garbage);
        assert_eq!(
            error_codes(&refused),
            vec!["credential_malformed"],
            "{garbage}"
        );
    }
    // The answer to the first challenge no longer counts: each refusal issued a new one.
    let stale = answer(&harness, &id, &good);
    assert_eq!(failure_code(&stale), "too_many_attempts");

    // From another site: webauthn-rs refuses the origin.
    let (id, _) = harness.start(&login_flow());
    let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let mut phished = Device::at("https://login.example.net");
    phished.key = device.key;
    let refused = answer(&harness, &id, &phished.get(form(&challenge), None));
    assert_eq!(error_codes(&refused), vec!["passkey_rejected"]);
    device.key = phished.key;

    // Bob's passkey presented for Alice's account.
    let mut bobs = Device::new();
    let bob = harness.register("bob@example.com", PASSWORD);
    let (enrol, first) = harness
        .engine
        .start(&enrol_flow(), signed_in(&harness, &bob))
        .unwrap();
    let credential = bobs.create(form(&first));
    answer(&harness, &enrol, &credential);
    let (bobs_login, _) = harness.start(&login_flow());
    let bobs_challenge = harness.submit(&bobs_login, &[(FIELD_IDENTIFIER, "bob@example.com")]);
    let bobs_assertion = bobs.get(form(&bobs_challenge), None);
    let refused = answer(&harness, &id, &bobs_assertion);
    assert_eq!(error_codes(&refused), vec!["passkey_unknown"]);

    // A challenge of another execution (Bob's, answered by Bob's key) in Alice's.
    let (alices, _) = harness.start(&login_flow());
    let alices_challenge = harness.submit(&alices, &[(FIELD_IDENTIFIER, EMAIL)]);
    let (other, _) = harness.start(&login_flow());
    let others_challenge = harness.submit(&other, &[(FIELD_IDENTIFIER, EMAIL)]);
    let for_other = device.get(form(&others_challenge), None);
    assert_eq!(
        error_codes(&answer(&harness, &alices, &for_other)),
        vec!["passkey_rejected"]
    );
    let _ = alices_challenge;

    // Nothing was stored for any of it: Alice still has her one passkey.
    let users = harness.memory.users.as_ref();
    assert_eq!(users.passkeys(&tenant(), &alice).unwrap().len(), 1);
}

#[test]
fn an_origin_stated_first_must_be_allowed() {
    let harness = harness();
    let mut device = Device::new();
    enrolled(&harness, &mut device);
    let (id, _) = harness.start(&login_flow());
    let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(form(&challenge).passkey.as_ref().unwrap().origin, None);
    let refused = harness.submit(&id, &[(FIELD_ORIGIN, "https://evil.example")]);
    assert_eq!(error_codes(&refused), vec!["origin_not_allowed"]);
    let stated = harness.submit(&id, &[(FIELD_ORIGIN, ORIGIN)]);
    let stated = form(&stated);
    assert_eq!(
        stated.passkey.as_ref().unwrap().origin.as_deref(),
        Some(ORIGIN)
    );
    assert!(stated.errors.is_empty());
    let assertion = device.get(stated, None);
    assert!(matches!(
        answer(&harness, &id, &assertion),
        Outcome::Complete { .. }
    ));
}

#[test]
fn a_passkey_made_in_registration_signs_in_without_an_identifier() {
    let harness = harness();
    let registration = flow(
        "registration",
        json!([
            {"id": "start", "type": "start"},
            {"id": "identifier", "type": "identifier_input"},
            {"id": "passkey", "type": "webauthn"},
            {"id": "done", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "identifier"},
            {"source": "identifier", "target": "passkey"},
            {"source": "passkey", "target": "done"}
        ]),
    );
    let mut device = Device::new();
    let (id, _) = harness.start(&registration);
    let create = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(form(&create).purpose, FormPurpose::RegisterPasskey);
    // No fallback edge: no other action.
    assert_eq!(form(&create).actions.len(), 1);
    let handle = form(&create).passkey.as_ref().unwrap().options["publicKey"]["user"]["id"].clone();
    let credential = device.create(form(&create));
    let user = match answer(&harness, &id, &credential) {
        Outcome::Complete {
            user_id: Some(user),
            ..
        } => user,
        other => panic!("expected a new account, got {other:?}"),
    };
    // The account's id is the passkey's user handle.
    let uuid = uuid::Uuid::parse_str(user.as_str()).unwrap();
    assert_eq!(handle, json!(base64url(uuid.as_bytes())));
    let users = harness.memory.users.as_ref();
    let stored = users.passkeys(&tenant(), &user).unwrap();
    assert_eq!(stored.len(), 1);

    let (id, first) = harness.start(&usernameless_flow());
    let first = form(&first);
    let prompt = first.passkey.as_ref().unwrap();
    assert_eq!(prompt.ceremony, CeremonyKind::Discoverable);
    assert_eq!(prompt.options["mediation"], "conditional");
    assert_eq!(prompt.options["publicKey"]["allowCredentials"], json!([]));
    let assertion = device.get(first, Some((&stored[0].credential_id, &user)));
    match answer(&harness, &id, &assertion) {
        Outcome::Complete { user_id, .. } => assert_eq!(user_id, Some(user.clone())),
        other => panic!("expected a sign-in, got {other:?}"),
    }

    // An assertion whose user handle names someone else is refused.
    let (id, first) = harness.start(&usernameless_flow());
    let stranger = UserId::new(uuid::Uuid::new_v4().to_string());
    let forged = device.get(form(&first), Some((&stored[0].credential_id, &stranger)));
    assert_eq!(
        error_codes(&answer(&harness, &id, &forged)),
        vec!["passkey_unknown"]
    );
}

/// Pretends the stored counter is far ahead of the authenticator's (as after a clone).
fn push_counter_ahead(harness: &Harness, user: &UserId) {
    let users = harness.memory.users.as_ref();
    let mut passkey = users.passkeys(&tenant(), user).unwrap().remove(0);
    let mut data: Value = serde_json::from_str(&passkey.data).unwrap();
    data["cred"]["counter"] = json!(1000);
    passkey.data = data.to_string();
    passkey.sign_count = 1000;
    users.record_passkey_use(&tenant(), user, &passkey).unwrap();
}

#[test]
fn a_counter_that_went_backwards_is_refused_or_reported_by_policy() {
    for (policy, accepted) in [
        (SignCountPolicy::Refuse, false),
        (SignCountPolicy::Report, true),
    ] {
        let harness = Harness::with_config(config(policy));
        let mut device = Device::new();
        let user = enrolled(&harness, &mut device);
        push_counter_ahead(&harness, &user);
        let (id, _) = harness.start(&login_flow());
        let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
        let outcome = answer(&harness, &id, &device.get(form(&challenge), None));
        if accepted {
            assert!(matches!(outcome, Outcome::Complete { .. }), "{outcome:?}");
            let trace = harness.engine.trace(&tenant(), &id).unwrap();
            assert!(
                trace.iter().any(|entry| entry
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains("counter"))),
                "{trace:?}"
            );
            // The stored counter does not go back either.
            let stored = &harness
                .memory
                .users
                .as_ref()
                .passkeys(&tenant(), &user)
                .unwrap()[0];
            assert_eq!(stored.sign_count, 1000);
        } else {
            assert_eq!(error_codes(&outcome), vec!["passkey_counter_regressed"]);
        }
    }
}

#[test]
fn settings_derive_from_the_public_url_and_refuse_what_cannot_work() {
    let local = PasskeySettings::for_public_url("http://127.0.0.1:8080");
    assert_eq!(local.rp_id.as_deref(), Some("localhost"));
    assert_eq!(local.origins, vec!["http://localhost:8080".to_owned()]);
    let public = PasskeySettings::for_public_url("https://id.example.com/base");
    assert_eq!(public.rp_id.as_deref(), Some("id.example.com"));
    assert_eq!(public.origins, vec!["https://id.example.com".to_owned()]);
    assert_eq!(
        PasskeySettings::for_public_url("http://10.1.2.3:8080").rp_id,
        None
    );

    // Passkeys off: a step with a fallback takes it, one without fails with a code.
    let harness = Harness::with_config(EngineConfig {
        passkeys: PasskeySettings::for_public_url("http://10.1.2.3"),
        ..test_config()
    });
    harness.register(EMAIL, PASSWORD);
    let (id, _) = harness.start(&login_flow());
    let next = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    assert_eq!(form(&next).purpose, FormPurpose::VerifyPassword);
    let (_, outcome) = harness.start(&usernameless_flow());
    assert_eq!(failure_code(&outcome), "passkeys_unavailable");

    // An origin outside the RP id is a start-up error.
    let memory = flow_engine::memory::MemoryPorts::with_manual_clock(0);
    let wrong = EngineConfig {
        passkeys: PasskeySettings {
            rp_id: Some("example.com".to_owned()),
            origins: vec!["https://example.org".to_owned()],
            ..PasskeySettings::for_public_url(ORIGIN)
        },
        ..test_config()
    };
    assert!(flow_engine::Engine::new(wrong, memory.ports()).is_err());
}

#[test]
fn the_default_flows_enrol_a_passkey_and_sign_in_with_its_autofill() {
    let harness = harness();
    let user = harness.register(EMAIL, PASSWORD);
    let mut device = Device::new();
    // The default MFA setup offers a passkey first.
    let (id, first) = harness
        .engine
        .start(
            &crate::common::program("default-mfa-setup"),
            signed_in(&harness, &user),
        )
        .unwrap();
    assert_eq!(form(&first).purpose, FormPurpose::RegisterPasskey);
    let credential = device.create(form(&first));
    assert!(matches!(
        answer(&harness, &id, &credential),
        Outcome::Complete { .. }
    ));
    let stored = harness
        .memory
        .users
        .as_ref()
        .passkeys(&tenant(), &user)
        .unwrap();

    // The default login's identifier prompt carries a sign-in with any passkey (autofill).
    let (id, first) = harness.start(&harness.login);
    let first = form(&first);
    assert_eq!(first.purpose, FormPurpose::Identify);
    let identifier = first.field(FIELD_IDENTIFIER).unwrap();
    assert_eq!(
        identifier.hints.autocomplete.as_deref(),
        Some("username webauthn")
    );
    assert!(!first.field(FIELD_CREDENTIAL).unwrap().required);
    assert_eq!(
        first.passkey.as_ref().unwrap().ceremony,
        CeremonyKind::Discoverable
    );
    // A refused answer keeps the identifier prompt, with a new challenge.
    let refused = answer(&harness, &id, "{}");
    assert_eq!(error_codes(&refused), vec!["credential_malformed"]);
    assert_eq!(form(&refused).purpose, FormPurpose::Identify);
    assert_ne!(
        form(&refused).passkey.as_ref().unwrap().options["publicKey"]["challenge"],
        first.passkey.as_ref().unwrap().options["publicKey"]["challenge"]
    );
    // The passkey signs in: no password, and no second factor (the user has MFA now).
    let assertion = device.get(form(&refused), Some((&stored[0].credential_id, &user)));
    match answer(&harness, &id, &assertion) {
        Outcome::Complete {
            user_id, methods, ..
        } => {
            assert_eq!(user_id, Some(user.clone()));
            assert_eq!(methods, vec!["webauthn".to_owned()]);
        }
        other => panic!("expected a sign-in, got {other:?}"),
    }
    // The password still works, and then the passkey is the second factor.
    let (id, second) = harness.login(EMAIL, PASSWORD);
    assert_eq!(form(&second).purpose, FormPurpose::AuthenticatePasskey);
    let assertion = device.get(form(&second), None);
    match answer(&harness, &id, &assertion) {
        Outcome::Complete { methods, .. } => {
            assert_eq!(methods, vec!["password".to_owned(), "webauthn".to_owned()]);
        }
        other => panic!("expected a sign-in, got {other:?}"),
    }
}

#[test]
fn a_user_with_an_app_and_a_passkey_gives_either_as_the_second_factor() {
    let harness = harness();
    let mut device = Device::new();
    let user = enrolled(&harness, &mut device);
    // And an authenticator app, through the default MFA setup's other way.
    let (id, _) = harness
        .engine
        .start(
            &crate::common::program("default-mfa-setup"),
            signed_in(&harness, &user),
        )
        .unwrap();
    let totp = harness
        .engine
        .resume_in(
            &tenant(),
            &id,
            Submission {
                action_id: Some(ACTION_FALLBACK.to_owned()),
                ..Submission::default()
            },
        )
        .unwrap();
    let enrollment = form(&totp).totp.clone().unwrap();
    let now = harness.memory.clock.as_ref().unwrap().now_secs();
    let code = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&enrollment.secret).unwrap())
        .build()
        .unwrap()
        .generate(u64::try_from(now).unwrap())
        .to_string();
    assert!(matches!(
        harness.submit(&id, &[(flow_engine::FIELD_CODE, &code)]),
        Outcome::Complete { .. }
    ));

    let (id, second) = harness.login(EMAIL, PASSWORD);
    let second = form(&second);
    assert_eq!(second.purpose, FormPurpose::VerifyMfa);
    assert!(second.field(flow_engine::FIELD_CODE).unwrap().required);
    let offered = second.passkey.as_ref().unwrap();
    assert_eq!(offered.ceremony, CeremonyKind::Authentication);
    // A refused passkey keeps the code form, with a new challenge.
    let refused = answer(&harness, &id, "garbage");
    assert_eq!(error_codes(&refused), vec!["credential_malformed"]);
    assert_eq!(form(&refused).purpose, FormPurpose::VerifyMfa);
    let assertion = device.get(form(&refused), None);
    match answer(&harness, &id, &assertion) {
        Outcome::Complete { methods, .. } => {
            assert_eq!(methods, vec!["password".to_owned(), "webauthn".to_owned()]);
        }
        other => panic!("expected a sign-in, got {other:?}"),
    }
}

#[test]
fn an_expired_challenge_is_refused_and_replaced() {
    let harness = harness();
    let mut device = Device::new();
    enrolled(&harness, &mut device);
    let (id, _) = harness.start(&login_flow());
    let challenge = harness.submit(&id, &[(FIELD_IDENTIFIER, EMAIL)]);
    let late = device.get(form(&challenge), None);
    harness.memory.clock.as_ref().unwrap().advance_secs(301);
    let refused = answer(&harness, &id, &late);
    assert_eq!(error_codes(&refused), vec!["challenge_expired"]);
    let fresh = device.get(form(&refused), None);
    assert!(matches!(
        answer(&harness, &id, &fresh),
        Outcome::Complete { .. }
    ));
}
