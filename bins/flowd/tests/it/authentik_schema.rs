//! authentik's own OpenAPI schema (`schema.yml` of the npm package `@goauthentik/api`, fetched
//! by `scripts/fetch-authentik-schema.sh`) as a JSON-schema validator for the challenges the
//! executor tests receive. Stricter than authentik's clients: a property the schema does not
//! know is an error, so a misspelt field fails the test.
//!
//! The schema is found through `FLOWD_AUTHENTIK_SCHEMA` (required to exist when set, as in
//! `.ci/run`), else at `target/authentik-schema/schema-*.yml`; without either, validation is
//! skipped (reported once by [`crate::support::skip`], a failure with `CI=true`) and the tests
//! check the flows only; the two tests of the schema itself report their own skip.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// The loaded schema and the validators compiled from it, by schema name.
pub(crate) struct AuthentikSchema {
    root: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The schema, loaded once per test binary; `None` when it is not available.
pub(crate) fn schema() -> Option<&'static AuthentikSchema> {
    static SCHEMA: OnceLock<Option<AuthentikSchema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let path = locate()?;
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            let document: Value = yaml_serde::from_str(&text)
                .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()));
            let mut schemas = document["components"]["schemas"].clone();
            assert!(
                schemas.is_object(),
                "{} has no components.schemas",
                path.display()
            );
            to_json_schema(&mut schemas);
            Some(AuthentikSchema {
                root: json!({"components": {"schemas": schemas}}),
                validators: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
}

fn locate() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("FLOWD_AUTHENTIK_SCHEMA") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "FLOWD_AUTHENTIK_SCHEMA={} does not exist (run scripts/fetch-authentik-schema.sh)",
            path.display()
        );
        return Some(path);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/authentik-schema");
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
            .max()
    });
    if found.is_none() {
        crate::support::skip(
            "authentik schema validation, in this and every later executor test of this run \
             (run scripts/fetch-authentik-schema.sh)",
        );
    }
    found
}

/// OpenAPI 3.0 to JSON Schema: `nullable: true` becomes "or null", and object schemas that
/// list properties (and say nothing of others) refuse unknown properties.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                to_json_schema(child);
            }
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                let inner = Value::Object(std::mem::take(map));
                let mut wrapped = Map::new();
                wrapped.insert("anyOf".to_owned(), json!([inner, {"type": "null"}]));
                *map = wrapped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

impl AuthentikSchema {
    /// The validator of the schema named `name` (`SessionUser`).
    fn validator(&self, name: &str) -> Arc<jsonschema::Validator> {
        let mut validators = self.validators.lock().unwrap();
        validators
            .entry(name.to_owned())
            .or_insert_with(|| {
                let mut schema = self.root.clone();
                schema["$ref"] = json!(format!("#/components/schemas/{name}"));
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&schema)
                    .unwrap_or_else(|error| panic!("schema {name} does not compile: {error}"));
                Arc::new(validator)
            })
            .clone()
    }

    /// Panics unless `value` is valid against the schema named `name`.
    pub(crate) fn check(&self, name: &str, value: &Value) {
        let validator = self.validator(name);
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "not a valid authentik {name}:\n  {}\n{value:#}",
            errors.join("\n  ")
        );
    }

    /// Panics unless `challenge` is a member of authentik's `ChallengeTypes` union: its
    /// `component` is in the union's discriminator mapping and the body is valid against the
    /// mapped schema.
    pub(crate) fn check_challenge(&self, challenge: &Value) {
        let component = challenge["component"]
            .as_str()
            .unwrap_or_else(|| panic!("a challenge without component: {challenge}"));
        let target =
            self.root["components"]["schemas"]["ChallengeTypes"]["discriminator"]["mapping"]
                [component]
                .as_str()
                .unwrap_or_else(|| panic!("authentik has no challenge component {component:?}"));
        let name = target.rsplit('/').next().unwrap_or(target);
        self.check(name, challenge);
    }
}

/// The schema for a test that checks nothing without it: `None` after reporting the skip.
fn schema_or_skip() -> Option<&'static AuthentikSchema> {
    let found = schema();
    if found.is_none() {
        crate::support::skip(
            "authentik's schema.yml not found (run scripts/fetch-authentik-schema.sh)",
        );
    }
    found
}

/// Validates `challenge` when the schema is available.
pub(crate) fn check_challenge(challenge: &Value) {
    if let Some(schema) = schema() {
        schema.check_challenge(challenge);
    }
}

/// Validates `value` against the schema `name` when the schema is available.
pub(crate) fn check(name: &str, value: &Value) {
    if let Some(schema) = schema() {
        schema.check(name, value);
    }
}

#[test]
fn the_validator_rejects_drift() {
    let Some(schema) = schema_or_skip() else {
        return;
    };
    let good = json!({
        "component": "xak-flow-redirect",
        "to": "/",
        "flow_info": {"title": "t", "cancel_url": "/c", "layout": "stacked"}
    });
    schema.check_challenge(&good);
    for bad in [
        json!({"component": "xak-flow-redirect"}),
        json!({"component": "xak-flow-redirect", "to": "/", "tto": "/"}),
        json!({"component": "xak-flow-redirect", "to": "/", "flow_info": {"layout": "wide", "cancel_url": "/"}}),
        json!({"component": "ak-stage-password", "pending_user": "a"}),
    ] {
        let result = std::panic::catch_unwind(|| schema.check_challenge(&bad));
        assert!(result.is_err(), "{bad} must be refused");
    }
    let unknown = std::panic::catch_unwind(|| {
        schema.check_challenge(&json!({"component": "ak-stage-nonexistent"}))
    });
    assert!(unknown.is_err());
    // Nullable fields accept null.
    schema.check_challenge(&json!({
        "component": "ak-stage-identification",
        "user_fields": null,
        "password_fields": false,
        "flow_designation": "authentication",
        "primary_action": "Log in",
        "show_source_labels": false
    }));
}

/// Every component flowd can emit, with every field kind and with errors, is valid: also the
/// ones the journeys in `authentik.rs` do not reach (flow errors, custom forms, dropdowns).
#[test]
fn every_challenge_flowd_can_render_is_valid() {
    use flow_authentik_api::challenge::{Challenge, FlowErrorChallenge, RedirectChallenge};
    use flow_authentik_api::render::{FlowFacts, access_denied, form_challenge};
    use flow_engine::{
        Action, CeremonyKind, Field, FieldError, FieldKind, Form, FormPurpose, PasskeyPrompt,
        TotpEnrollment,
    };
    use flow_model::FlowType;

    let Some(schema) = schema_or_skip() else {
        return;
    };
    let facts = FlowFacts {
        title: "Sign in".to_owned(),
        flow_type: FlowType::Login,
        enroll_url: Some("/if/flow/default-registration/".to_owned()),
        recovery_url: Some("/if/flow/default-password-recovery/".to_owned()),
    };
    let kinds = [
        FieldKind::Identifier,
        FieldKind::Email,
        FieldKind::Password,
        FieldKind::NewPassword,
        FieldKind::Code,
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Telephone,
        FieldKind::Date,
        FieldKind::Checkbox,
        FieldKind::Choice,
        FieldKind::Credential,
    ];
    let mut fields: Vec<Field> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| Field::new(&format!("f{i}"), *kind, "Label", i % 2 == 0))
        .collect();
    fields[10].options = vec!["a".to_owned(), "b".to_owned()];
    fields[5].value = Some("prefilled".to_owned());
    let purposes = [
        FormPurpose::Identify,
        FormPurpose::VerifyPassword,
        FormPurpose::CollectIdentifier,
        FormPurpose::SetPassword,
        FormPurpose::VerifyCode,
        FormPurpose::RedeemInvitation,
        FormPurpose::EnrollTotp,
        FormPurpose::VerifyMfa,
        FormPurpose::Prompt,
        FormPurpose::Custom("ext".to_owned()),
        FormPurpose::RegisterPasskey,
        FormPurpose::AuthenticatePasskey,
        FormPurpose::Custom("discoverable".to_owned()),
        FormPurpose::Custom("code-or-passkey".to_owned()),
        FormPurpose::SelectProvider,
        FormPurpose::FederatedRedirect,
        FormPurpose::LinkAccount,
    ];
    for purpose in purposes {
        // The last entry stands for a sign-in without an identifier.
        let discoverable = purpose == FormPurpose::Custom("discoverable".to_owned());
        let (purpose, passkey) = match purpose {
            FormPurpose::RegisterPasskey => (
                purpose,
                Some(Box::new(PasskeyPrompt {
                    ceremony: CeremonyKind::Registration,
                    options: serde_json::json!({"publicKey": {
                        "rp": {"id": "localhost", "name": "flowd"},
                        "user": {"id": "AAEC", "name": "a@example.com", "displayName": "a@example.com"},
                        "challenge": "Y2hhbGxlbmdl",
                        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
                        "timeout": 300_000
                    }}),
                    origin: None,
                })),
            ),
            FormPurpose::AuthenticatePasskey => (
                purpose,
                Some(Box::new(PasskeyPrompt {
                    ceremony: CeremonyKind::Authentication,
                    options: serde_json::json!({"publicKey": {
                        "challenge": "Y2hhbGxlbmdl", "rpId": "localhost",
                        "allowCredentials": [{"type": "public-key", "id": "AAEC"}],
                        "userVerification": "required"
                    }}),
                    origin: None,
                })),
            ),
            _ if discoverable => (
                FormPurpose::AuthenticatePasskey,
                Some(Box::new(PasskeyPrompt {
                    ceremony: CeremonyKind::Discoverable,
                    options: serde_json::json!({"publicKey": {
                        "challenge": "Y2hhbGxlbmdl", "rpId": "localhost",
                        "allowCredentials": [], "userVerification": "required"
                    }, "mediation": "conditional"}),
                    origin: None,
                })),
            ),
            FormPurpose::Custom(name) if name == "code-or-passkey" => (
                FormPurpose::VerifyMfa,
                Some(Box::new(PasskeyPrompt {
                    ceremony: CeremonyKind::Authentication,
                    options: serde_json::json!({"publicKey": {
                        "challenge": "Y2hhbGxlbmdl", "rpId": "localhost",
                        "allowCredentials": [{"type": "public-key", "id": "AAEC"}],
                        "userVerification": "required"
                    }}),
                    origin: None,
                })),
            ),
            other => (other, None),
        };
        for (hint, errors) in [
            (None, Vec::new()),
            (
                Some("a@example.com".to_owned()),
                vec![
                    FieldError::on("f0", "required", "This field is required."),
                    FieldError {
                        field: None,
                        code: "invalid_credentials".to_owned(),
                        message: "No.".to_owned(),
                    },
                ],
            ),
        ] {
            let form = Form {
                node_id: "n".to_owned(),
                step: 0,
                purpose: purpose.clone(),
                user_hint: hint,
                fields: fields.clone(),
                actions: vec![Action {
                    id: "submit".to_owned(),
                    label: "Go".to_owned(),
                    primary: true,
                }],
                errors,
                totp: (purpose == FormPurpose::EnrollTotp).then(|| TotpEnrollment {
                    uri:
                        "otpauth://totp/flowd:a%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=flowd"
                            .to_owned(),
                    secret: "JBSWY3DPEHPK3PXP".to_owned(),
                    digits: 6,
                    period: 30,
                }),
                passkey: passkey.clone(),
                // Providers with and without an icon, one promoted.
                social: Some(Box::new(flow_engine::SocialPrompt {
                    providers: vec![
                        flow_engine::ProviderChoice {
                            id: "google".to_owned(),
                            name: "Google".to_owned(),
                            icon_url: Some("/static/google.svg".to_owned()),
                            promoted: true,
                        },
                        flow_engine::ProviderChoice {
                            id: "github".to_owned(),
                            name: "GitHub".to_owned(),
                            icon_url: None,
                            promoted: false,
                        },
                    ],
                    provider: Some("google".to_owned()),
                    redirect_url: Some("https://accounts.google.com/o/oauth2/v2/auth".to_owned()),
                })),
            };
            let value = serde_json::to_value(form_challenge(&facts, &form)).unwrap();
            schema.check_challenge(&value);
        }
    }
    for challenge in [
        Challenge::FlowError(FlowErrorChallenge {
            request_id: "r".to_owned(),
            error: None,
        }),
        Challenge::FlowError(FlowErrorChallenge {
            request_id: "r".to_owned(),
            error: Some("Another request changed this flow; reload it.".to_owned()),
        }),
        Challenge::Redirect(RedirectChallenge { to: "/".to_owned() }),
    ] {
        schema.check_challenge(&serde_json::to_value(facts.envelope(challenge)).unwrap());
    }
    schema.check_challenge(&serde_json::to_value(access_denied(&facts, "Denied.")).unwrap());
}
