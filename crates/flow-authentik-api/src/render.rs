//! From the engine's protocol-neutral [`Form`] to authentik's challenges, and from a
//! challenge response back to the engine's field names. Which component a form becomes is
//! decided here, in one table ([`Stage::of`]).

use std::collections::BTreeMap;

use flow_engine::{CeremonyKind, FieldError, FieldKind, FlowType, Form, FormPurpose};

use crate::challenge::{
    AccessDeniedChallenge, AuthenticatorTotpChallenge, AuthenticatorValidationChallenge,
    AuthenticatorWebauthnChallenge, Challenge, ChallengeEnvelope, DeviceChallenge, ErrorDetail,
    FlowDesignation, FlowInfo, IdentificationChallenge, Layout, PasswordChallenge, PromptChallenge,
    PromptChoice, PromptType, StagePrompt,
};

/// authentik's default avatar, shown for `pending_user` (flowd keeps no avatars).
pub const DEFAULT_AVATAR: &str = "/static/dist/assets/images/user_default.png";
/// authentik's default flow background.
pub const DEFAULT_BACKGROUND: &str = "/static/dist/assets/images/flow_background.jpg";
/// Where `flow_info.cancel_url` points: drops the session's executions.
pub const CANCEL_PATH: &str = "/flows/-/cancel/";
/// The key of errors that concern the whole form (DRF's).
pub const NON_FIELD_ERRORS: &str = "non_field_errors";
/// The identification stage's name for the identifier.
const UID_FIELD: &str = "uid_field";

/// What a challenge shows of the flow it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFacts {
    /// The flow's display name (`flow_info.title`).
    pub title: String,
    /// The flow's type (gives `flow_designation`).
    pub flow_type: FlowType,
    /// The executor link of the active registration flow, if any.
    pub enroll_url: Option<String>,
    /// The executor link of the active recovery flow, if any.
    pub recovery_url: Option<String>,
}

impl FlowFacts {
    /// The envelope's `flow_info`.
    pub fn flow_info(&self) -> FlowInfo {
        FlowInfo {
            title: self.title.clone(),
            background: DEFAULT_BACKGROUND.to_owned(),
            cancel_url: CANCEL_PATH.to_owned(),
            layout: Layout::Stacked,
        }
    }

    /// Wraps `challenge` in the envelope, without errors.
    pub fn envelope(&self, challenge: Challenge) -> ChallengeEnvelope {
        ChallengeEnvelope {
            challenge,
            flow_info: self.flow_info(),
            response_errors: BTreeMap::new(),
        }
    }
}

/// authentik's designation of a flow type: login → authentication, registration and
/// invitations → enrollment, reset and recovery → recovery, MFA setup → stage_configuration.
pub fn designation(flow_type: FlowType) -> FlowDesignation {
    match flow_type {
        FlowType::Registration | FlowType::InvitedRegistration => FlowDesignation::Enrollment,
        FlowType::PasswordReset | FlowType::AccountRecovery => FlowDesignation::Recovery,
        FlowType::MfaSetup => FlowDesignation::StageConfiguration,
        _ => FlowDesignation::Authentication,
    }
}

/// The authentik stage a form is shown as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `ak-stage-identification`: identify an existing user.
    Identification,
    /// `ak-stage-password`: the identified user's password.
    Password,
    /// `ak-stage-authenticator-validate`: a one-time code sent by e-mail.
    CodeValidation,
    /// `ak-stage-authenticator-validate`: a code of the user's authenticator app.
    MfaValidation,
    /// `ak-stage-authenticator-totp`: set up an authenticator app.
    TotpSetup,
    /// `ak-stage-authenticator-webauthn`: create a passkey.
    PasskeySetup,
    /// `ak-stage-authenticator-validate`: a passkey of the identified user.
    PasskeyValidation,
    /// `ak-stage-identification` with only `passkey_challenge`: any passkey of this site.
    PasskeyIdentification,
    /// `ak-stage-identification` with only `sources`: sign in with an identity provider.
    SourceSelection,
    /// `xak-flow-redirect` to an identity provider; its callback comes back to
    /// `/source/oauth/callback/{provider}/`, not to the executor.
    SourceRedirect,
    /// `ak-stage-prompt`: anything else (new identifier, new password, profile fields).
    Prompt,
}

/// The response key of the `fallback` action (a flowd extension: authentik has no such
/// stage response): `true` takes the flow's other way in.
pub const FALLBACK_KEY: &str = "fallback";

impl Stage {
    /// The stage for `form`.
    pub fn of(form: &Form) -> Self {
        match form.purpose {
            FormPurpose::Identify => Self::Identification,
            FormPurpose::VerifyPassword => Self::Password,
            FormPurpose::VerifyCode => Self::CodeValidation,
            FormPurpose::VerifyMfa => Self::MfaValidation,
            FormPurpose::EnrollTotp => Self::TotpSetup,
            FormPurpose::RegisterPasskey => Self::PasskeySetup,
            FormPurpose::AuthenticatePasskey
                if form
                    .passkey
                    .as_ref()
                    .is_some_and(|prompt| prompt.ceremony == CeremonyKind::Discoverable) =>
            {
                Self::PasskeyIdentification
            }
            FormPurpose::AuthenticatePasskey => Self::PasskeyValidation,
            FormPurpose::SelectProvider => Self::SourceSelection,
            FormPurpose::FederatedRedirect => Self::SourceRedirect,
            // An account without a password is proven with one of its passkeys.
            FormPurpose::LinkAccount
                if form.field(flow_engine::FIELD_PASSWORD).is_none() && form.passkey.is_some() =>
            {
                Self::PasskeyValidation
            }
            FormPurpose::LinkAccount => Self::Password,
            _ => Self::Prompt,
        }
    }

    /// The `component` of this stage's challenge (and of its responses).
    pub fn component(self) -> &'static str {
        match self {
            Self::Identification | Self::PasskeyIdentification | Self::SourceSelection => {
                "ak-stage-identification"
            }
            Self::SourceRedirect => "xak-flow-redirect",
            Self::Password => "ak-stage-password",
            Self::CodeValidation | Self::MfaValidation | Self::PasskeyValidation => {
                "ak-stage-authenticator-validate"
            }
            Self::TotpSetup => "ak-stage-authenticator-totp",
            Self::PasskeySetup => "ak-stage-authenticator-webauthn",
            Self::Prompt => "ak-stage-prompt",
        }
    }

    /// The engine's name of a response field (`uid_field` is the identifier).
    pub fn engine_field(self, wire: &str) -> &str {
        match (self, wire) {
            (Self::Identification, UID_FIELD) => flow_engine::FIELD_IDENTIFIER,
            (stage, key) if stage.credential_key() == Some(key) => flow_engine::FIELD_CREDENTIAL,
            _ => wire,
        }
    }

    /// The response key that carries a passkey ceremony's credential (an object), if this
    /// stage runs one.
    pub fn credential_key(self) -> Option<&'static str> {
        match self {
            Self::PasskeySetup => Some("response"),
            Self::PasskeyValidation => Some("webauthn"),
            Self::PasskeyIdentification | Self::Identification => Some("passkey"),
            // A second factor's code, or one of the user's passkeys.
            Self::MfaValidation => Some("webauthn"),
            _ => None,
        }
    }

    /// The response field an engine error is reported on.
    fn wire_field(self, engine: Option<&str>) -> String {
        match (self, engine) {
            (_, None) => NON_FIELD_ERRORS.to_owned(),
            (Self::Identification, Some(flow_engine::FIELD_IDENTIFIER)) => UID_FIELD.to_owned(),
            (stage, Some(flow_engine::FIELD_CREDENTIAL)) if stage.credential_key().is_some() => {
                stage
                    .credential_key()
                    .unwrap_or(NON_FIELD_ERRORS)
                    .to_owned()
            }
            (_, Some(name)) if form_level_in(self, name) => NON_FIELD_ERRORS.to_owned(),
            (_, Some(name)) => name.to_owned(),
        }
    }
}

/// Whether an error on `name` has no field of its own in the stage's challenge (the password
/// stage shows only `password`, the code stage only `code`).
fn form_level_in(stage: Stage, name: &str) -> bool {
    match stage {
        Stage::Password => name != flow_engine::FIELD_PASSWORD,
        Stage::CodeValidation | Stage::MfaValidation | Stage::TotpSetup => {
            name != flow_engine::FIELD_CODE
        }
        Stage::PasskeySetup | Stage::PasskeyValidation | Stage::PasskeyIdentification => {
            name != flow_engine::FIELD_CREDENTIAL
        }
        _ => false,
    }
}

/// The challenge of a form, with the form's errors as `response_errors`.
pub fn form_challenge(facts: &FlowFacts, form: &Form) -> ChallengeEnvelope {
    let stage = Stage::of(form);
    let pending_user = form.user_hint.clone().unwrap_or_default();
    let challenge = match stage {
        Stage::Identification => Challenge::Identification(identification(
            facts,
            user_fields(form),
            form.field(flow_engine::FIELD_PASSWORD).is_some(),
            form.passkey.is_some().then(|| public_key_options(form)),
        )),
        Stage::PasskeyIdentification => Challenge::Identification(identification(
            facts,
            Vec::new(),
            false,
            Some(public_key_options(form)),
        )),
        Stage::SourceSelection => {
            let mut challenge = identification(facts, Vec::new(), false, None);
            challenge.sources = sources(form);
            challenge.show_source_labels = true;
            Challenge::Identification(challenge)
        }
        // Through the source's login path, which sends the browser on to the provider.
        Stage::SourceRedirect => Challenge::Redirect(crate::challenge::RedirectChallenge {
            to: form
                .social
                .as_ref()
                .and_then(|social| social.provider.as_deref())
                .map(source_login_path)
                .unwrap_or_default(),
        }),
        Stage::PasskeySetup => Challenge::AuthenticatorWebauthn(AuthenticatorWebauthnChallenge {
            pending_user,
            pending_user_avatar: DEFAULT_AVATAR.to_owned(),
            registration: public_key_options(form),
        }),
        Stage::PasskeyValidation => {
            Challenge::AuthenticatorValidation(AuthenticatorValidationChallenge {
                pending_user,
                pending_user_avatar: DEFAULT_AVATAR.to_owned(),
                device_challenges: vec![webauthn_device(form)],
                configuration_stages: Vec::new(),
            })
        }
        Stage::Password => Challenge::Password(PasswordChallenge {
            pending_user,
            pending_user_avatar: DEFAULT_AVATAR.to_owned(),
            recovery_url: facts.recovery_url.clone(),
            allow_show_password: false,
        }),
        Stage::CodeValidation | Stage::MfaValidation => {
            let device_class = if stage == Stage::MfaValidation {
                "totp"
            } else {
                "email"
            };
            let mut device_challenges = vec![DeviceChallenge {
                device_class: device_class.to_owned(),
                device_uid: form.node_id.clone(),
                challenge: serde_json::Map::new(),
                last_used: None,
            }];
            if form.passkey.is_some() {
                device_challenges.push(webauthn_device(form));
            }
            Challenge::AuthenticatorValidation(AuthenticatorValidationChallenge {
                pending_user,
                pending_user_avatar: DEFAULT_AVATAR.to_owned(),
                device_challenges,
                configuration_stages: Vec::new(),
            })
        }
        Stage::TotpSetup => Challenge::AuthenticatorTotp(AuthenticatorTotpChallenge {
            pending_user,
            pending_user_avatar: DEFAULT_AVATAR.to_owned(),
            config_url: form
                .totp
                .as_ref()
                .map(|totp| totp.uri.clone())
                .unwrap_or_default(),
        }),
        Stage::Prompt => Challenge::Prompt(PromptChallenge {
            fields: form
                .fields
                .iter()
                .zip(0u32..)
                .map(|(field, order)| StagePrompt {
                    field_key: field.name.clone(),
                    label: field.label.clone(),
                    field_type: prompt_type(field.kind),
                    required: field.required,
                    placeholder: field.hints.placeholder.clone().unwrap_or_default(),
                    initial_value: field.value.clone().unwrap_or_default(),
                    order,
                    sub_text: String::new(),
                    choices: (field.kind == FieldKind::Choice).then(|| {
                        field
                            .options
                            .iter()
                            .map(|option| PromptChoice {
                                value: option.clone(),
                                label: option.clone(),
                            })
                            .collect()
                    }),
                })
                .collect(),
        }),
    };
    let mut envelope = facts.envelope(challenge);
    envelope.response_errors = response_errors(stage, &form.errors);
    envelope
}

/// An identification challenge asking for `user_fields` (and the password), or offering a
/// sign-in with any passkey of this site (`passkey_challenge`).
fn identification(
    facts: &FlowFacts,
    user_fields: Vec<String>,
    password_fields: bool,
    passkey_challenge: Option<serde_json::Value>,
) -> IdentificationChallenge {
    IdentificationChallenge {
        user_fields,
        password_fields,
        allow_show_password: false,
        flow_designation: designation(facts.flow_type),
        primary_action: "Log in".to_owned(),
        sources: Vec::new(),
        show_source_labels: false,
        enroll_url: facts.enroll_url.clone(),
        recovery_url: facts.recovery_url.clone(),
        enable_remember_me: false,
        passkey_challenge,
    }
}

/// The path that sends the browser to an identity provider (authentik's OAuth source login).
pub fn source_login_path(provider: &str) -> String {
    format!("/source/oauth/login/{provider}/")
}

/// The `sources` of an identification challenge: one per offered provider, each a redirect to
/// its login path (promoted ones first, as authentik lists them).
fn sources(form: &Form) -> Vec<serde_json::Value> {
    let Some(social) = &form.social else {
        return Vec::new();
    };
    let mut providers: Vec<_> = social.providers.iter().collect();
    providers.sort_by_key(|provider| !provider.promoted);
    providers
        .into_iter()
        .map(|provider| {
            serde_json::json!({
                "name": provider.name,
                "icon_url": provider.icon_url,
                "promoted": provider.promoted,
                "challenge": {
                    "component": "xak-flow-redirect",
                    "to": source_login_path(&provider.id),
                },
            })
        })
        .collect()
}

/// The `webauthn` device of a validation challenge: all the user's passkeys in one request.
fn webauthn_device(form: &Form) -> DeviceChallenge {
    let challenge = match public_key_options(form) {
        serde_json::Value::Object(options) => options,
        _ => serde_json::Map::new(),
    };
    DeviceChallenge {
        device_class: "webauthn".to_owned(),
        device_uid: format!("{}-passkeys", form.node_id),
        challenge,
        last_used: None,
    }
}

/// The `publicKey` part of a passkey form's options (what authentik's challenges carry).
fn public_key_options(form: &Form) -> serde_json::Value {
    form.passkey
        .as_ref()
        .and_then(|prompt| prompt.options.get("publicKey").cloned())
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()))
}

/// `ak-stage-access-denied` with `message`.
pub fn access_denied(facts: &FlowFacts, message: &str) -> ChallengeEnvelope {
    facts.envelope(Challenge::AccessDenied(AccessDeniedChallenge {
        pending_user: String::new(),
        pending_user_avatar: DEFAULT_AVATAR.to_owned(),
        error_message: message.to_owned(),
    }))
}

/// The identifier kinds of an identification form, as authentik's `user_fields`.
fn user_fields(form: &Form) -> Vec<String> {
    let kind = form
        .field(flow_engine::FIELD_IDENTIFIER)
        .map(|field| field.kind);
    let fields: &[&str] = match kind {
        Some(FieldKind::Email) => &["email"],
        Some(FieldKind::Telephone) => &["username"],
        _ => &["username", "email"],
    };
    fields.iter().map(|&field| field.to_owned()).collect()
}

/// The prompt input type of a field kind.
fn prompt_type(kind: FieldKind) -> PromptType {
    match kind {
        FieldKind::Identifier => PromptType::Username,
        FieldKind::Email => PromptType::Email,
        FieldKind::Password | FieldKind::NewPassword => PromptType::Password,
        FieldKind::Number => PromptType::Number,
        FieldKind::Checkbox => PromptType::Checkbox,
        FieldKind::Choice => PromptType::Dropdown,
        FieldKind::Date => PromptType::Date,
        FieldKind::Code | FieldKind::Text | FieldKind::Telephone | FieldKind::Credential => {
            PromptType::Text
        }
    }
}

/// The engine's errors as DRF's `{field: [{string, code}]}`.
fn response_errors(stage: Stage, errors: &[FieldError]) -> BTreeMap<String, Vec<ErrorDetail>> {
    let mut out: BTreeMap<String, Vec<ErrorDetail>> = BTreeMap::new();
    for error in errors {
        out.entry(stage.wire_field(error.field.as_deref()))
            .or_default()
            .push(ErrorDetail {
                string: error.message.clone(),
                code: error.code.clone(),
            });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use flow_engine::{Action, Field};
    use serde_json::json;

    use super::*;

    fn facts(flow_type: FlowType) -> FlowFacts {
        FlowFacts {
            title: "Sign in".into(),
            flow_type,
            enroll_url: Some("/if/flow/default-registration/".into()),
            recovery_url: None,
        }
    }

    fn form(purpose: FormPurpose, fields: Vec<Field>) -> Form {
        Form {
            node_id: "n1".into(),
            step: 1,
            purpose,
            user_hint: Some("alice@example.com".into()),
            fields,
            actions: vec![Action {
                id: "submit".into(),
                label: "Go".into(),
                primary: true,
            }],
            errors: Vec::new(),
            totp: None,
            passkey: None,
            social: None,
        }
    }

    #[test]
    fn designations_follow_the_flow_type() {
        let cases = [
            (FlowType::Login, "authentication"),
            (FlowType::Registration, "enrollment"),
            (FlowType::InvitedRegistration, "enrollment"),
            (FlowType::PasswordReset, "recovery"),
            (FlowType::AccountRecovery, "recovery"),
            (FlowType::MfaSetup, "stage_configuration"),
        ];
        for (flow_type, expected) in cases {
            assert_eq!(
                serde_json::to_value(designation(flow_type)).unwrap(),
                json!(expected)
            );
        }
    }

    #[test]
    fn identification_with_password_maps_fields_and_errors() {
        let mut form = form(
            FormPurpose::Identify,
            vec![
                Field::new("identifier", FieldKind::Email, "E-mail", true),
                Field::new("password", FieldKind::Password, "Password", true),
            ],
        );
        form.errors = vec![
            FieldError::on("identifier", "required", "This field is required."),
            FieldError {
                field: None,
                code: "invalid_credentials".into(),
                message: "Failed to authenticate.".into(),
            },
        ];
        let value = serde_json::to_value(form_challenge(&facts(FlowType::Login), &form)).unwrap();
        assert_eq!(value["component"], json!("ak-stage-identification"));
        assert_eq!(value["user_fields"], json!(["email"]));
        assert_eq!(value["password_fields"], json!(true));
        assert_eq!(value["flow_designation"], json!("authentication"));
        assert_eq!(value["enroll_url"], json!("/if/flow/default-registration/"));
        assert_eq!(
            value["response_errors"]["uid_field"][0]["code"],
            json!("required")
        );
        assert_eq!(
            value["response_errors"]["non_field_errors"][0]["string"],
            json!("Failed to authenticate.")
        );
        assert_eq!(
            Stage::Identification.engine_field("uid_field"),
            "identifier"
        );
        assert_eq!(Stage::Identification.engine_field("password"), "password");
    }

    #[test]
    fn new_passwords_and_profiles_become_prompts_with_ordered_fields() {
        let mut choice = Field::new("country", FieldKind::Choice, "Country", false);
        choice.options = vec!["fr".into(), "de".into()];
        choice.value = Some("de".into());
        let form = form(
            FormPurpose::SetPassword,
            vec![
                Field::new("password", FieldKind::NewPassword, "New password", true),
                choice,
            ],
        );
        let value =
            serde_json::to_value(form_challenge(&facts(FlowType::PasswordReset), &form)).unwrap();
        assert_eq!(value["component"], json!("ak-stage-prompt"));
        let fields = value["fields"].as_array().unwrap();
        assert_eq!(fields[0]["field_key"], json!("password"));
        assert_eq!(fields[0]["type"], json!("password"));
        assert_eq!(fields[0]["choices"], json!(null));
        assert_eq!(fields[1]["order"], json!(1));
        assert_eq!(fields[1]["type"], json!("dropdown"));
        assert_eq!(fields[1]["initial_value"], json!("de"));
        assert_eq!(
            fields[1]["choices"][1],
            json!({"value": "de", "label": "de"})
        );
        assert!(value.get("response_errors").is_none());
    }

    #[test]
    fn codes_are_validated_as_an_email_device_and_odd_errors_go_to_the_form() {
        let mut form = form(
            FormPurpose::VerifyCode,
            vec![Field::new("code", FieldKind::Code, "Code", true)],
        );
        form.errors = vec![
            FieldError::on("code", "invalid_code", "Wrong code."),
            FieldError::on("other", "x", "Other."),
        ];
        let value =
            serde_json::to_value(form_challenge(&facts(FlowType::PasswordReset), &form)).unwrap();
        assert_eq!(value["component"], json!("ak-stage-authenticator-validate"));
        assert_eq!(value["pending_user"], json!("alice@example.com"));
        assert_eq!(
            value["device_challenges"][0]["device_class"],
            json!("email")
        );
        assert_eq!(value["device_challenges"][0]["last_used"], json!(null));
        assert_eq!(
            value["response_errors"]["code"][0]["code"],
            json!("invalid_code")
        );
        assert_eq!(
            value["response_errors"]["non_field_errors"][0]["code"],
            json!("x")
        );
    }

    #[test]
    fn password_stage_shows_the_pending_user() {
        let form = form(
            FormPurpose::VerifyPassword,
            vec![Field::new(
                "password",
                FieldKind::Password,
                "Password",
                true,
            )],
        );
        let value = serde_json::to_value(form_challenge(&facts(FlowType::Login), &form)).unwrap();
        assert_eq!(value["component"], json!("ak-stage-password"));
        assert_eq!(value["pending_user"], json!("alice@example.com"));
        assert_eq!(value["pending_user_avatar"], json!(DEFAULT_AVATAR));
        assert_eq!(value["flow_info"]["cancel_url"], json!(CANCEL_PATH));
    }
}
