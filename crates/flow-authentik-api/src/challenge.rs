//! authentik's challenge envelopes as typed values: one variant per `component` flowd emits,
//! with authentik's exact field spelling. Serializing a [`ChallengeEnvelope`] gives the JSON
//! body of a challenge; `schema.yml` of `@goauthentik/api` is the reference the tests hold it to.

use std::collections::BTreeMap;

use serde::Serialize;

/// The component a challenge is rendered as; clients switch on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "component")]
pub enum Challenge {
    /// Ask who the user is (and maybe the password in the same form).
    #[serde(rename = "ak-stage-identification")]
    Identification(IdentificationChallenge),
    /// Ask for the pending user's password.
    #[serde(rename = "ak-stage-password")]
    Password(PasswordChallenge),
    /// Ask for arbitrary fields (profile, new identifier, new password).
    #[serde(rename = "ak-stage-prompt")]
    Prompt(PromptChallenge),
    /// Ask for a one-time code of a device (a code sent by e-mail, an authenticator app).
    #[serde(rename = "ak-stage-authenticator-validate")]
    AuthenticatorValidation(AuthenticatorValidationChallenge),
    /// Set up an authenticator app: show the `otpauth://` URI, ask for a first code.
    #[serde(rename = "ak-stage-authenticator-totp")]
    AuthenticatorTotp(AuthenticatorTotpChallenge),
    /// Create a passkey: `registration` holds the creation options.
    #[serde(rename = "ak-stage-authenticator-webauthn")]
    AuthenticatorWebauthn(AuthenticatorWebauthnChallenge),
    /// The flow refused the user.
    #[serde(rename = "ak-stage-access-denied")]
    AccessDenied(AccessDeniedChallenge),
    /// Something went wrong on the server's side.
    #[serde(rename = "ak-stage-flow-error")]
    FlowError(FlowErrorChallenge),
    /// Go to `to`: the flow is done (or hands over to another page).
    #[serde(rename = "xak-flow-redirect")]
    Redirect(RedirectChallenge),
}

impl Challenge {
    /// The `component` string of this challenge.
    pub fn component(&self) -> &'static str {
        match self {
            Self::Identification(_) => "ak-stage-identification",
            Self::Password(_) => "ak-stage-password",
            Self::Prompt(_) => "ak-stage-prompt",
            Self::AuthenticatorValidation(_) => "ak-stage-authenticator-validate",
            Self::AuthenticatorTotp(_) => "ak-stage-authenticator-totp",
            Self::AuthenticatorWebauthn(_) => "ak-stage-authenticator-webauthn",
            Self::AccessDenied(_) => "ak-stage-access-denied",
            Self::FlowError(_) => "ak-stage-flow-error",
            Self::Redirect(_) => "xak-flow-redirect",
        }
    }
}

/// A challenge with the envelope every challenge carries: `flow_info` and the errors of the
/// last response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengeEnvelope {
    /// The stage's part, including `component`.
    #[serde(flatten)]
    pub challenge: Challenge,
    /// Title, background, cancel URL and layout of the flow.
    pub flow_info: FlowInfo,
    /// Errors of the last response, by field (`non_field_errors` for the form as a whole).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub response_errors: BTreeMap<String, Vec<ErrorDetail>>,
}

/// authentik's `ContextualFlowInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowInfo {
    /// The flow's title (flowd: its display name).
    pub title: String,
    /// The background image URL.
    pub background: String,
    /// Where "cancel" goes: it drops the session's executions.
    pub cancel_url: String,
    /// Page layout; flowd always says `stacked`.
    pub layout: Layout,
}

/// authentik's `ContextualFlowInfoLayoutEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Everything in one column.
    Stacked,
}

/// DRF's error detail: `{string, code}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    /// The message for the user.
    pub string: String,
    /// A stable code (`invalid`, `required`, flowd's engine codes).
    pub code: String,
}

/// authentik's `FlowDesignationEnum`, derived from the flow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowDesignation {
    /// Sign-in flows.
    Authentication,
    /// Registration and invitation flows.
    Enrollment,
    /// Password reset and account recovery flows.
    Recovery,
    /// Flows that set up an authenticator.
    StageConfiguration,
}

/// `ak-stage-identification`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentificationChallenge {
    /// What the identifier may be: `username`, `email`.
    pub user_fields: Vec<String>,
    /// Whether the password is asked in the same form.
    pub password_fields: bool,
    /// Whether the UI may offer to reveal the password.
    pub allow_show_password: bool,
    /// Why the flow runs.
    pub flow_designation: FlowDesignation,
    /// Label of the submit button.
    pub primary_action: String,
    /// Social login sources (none yet).
    pub sources: Vec<serde_json::Value>,
    /// Whether source buttons show their names.
    pub show_source_labels: bool,
    /// Link to the registration flow, when one is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enroll_url: Option<String>,
    /// Link to the recovery flow, when one is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_url: Option<String>,
    /// Whether to offer "remember me" (flowd: no).
    pub enable_remember_me: bool,
    /// Request options of a sign-in with any passkey of this site (autofill), answered with
    /// `passkey`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkey_challenge: Option<serde_json::Value>,
}

/// `ak-stage-password`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasswordChallenge {
    /// Who is signing in, as they identified themselves.
    pub pending_user: String,
    /// Their avatar URL.
    pub pending_user_avatar: String,
    /// Link to the recovery flow, when one is active.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_url: Option<String>,
    /// Whether the UI may offer to reveal the password.
    pub allow_show_password: bool,
}

/// `ak-stage-prompt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptChallenge {
    /// The fields, in order.
    pub fields: Vec<StagePrompt>,
}

/// One field of a prompt (`StagePrompt`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StagePrompt {
    /// The key the response must use.
    pub field_key: String,
    /// The label.
    pub label: String,
    /// The input type.
    #[serde(rename = "type")]
    pub field_type: PromptType,
    /// Whether a value is required.
    pub required: bool,
    /// Placeholder text.
    pub placeholder: String,
    /// Prefilled value.
    pub initial_value: String,
    /// Position.
    pub order: u32,
    /// Help text under the field.
    pub sub_text: String,
    /// Choices of a dropdown; `null` otherwise.
    pub choices: Option<Vec<PromptChoice>>,
}

/// One choice of a dropdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptChoice {
    /// The value sent back.
    pub value: String,
    /// The text shown.
    pub label: String,
}

/// authentik's `PromptTypeEnum`, the members flowd uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptType {
    /// Free text.
    Text,
    /// A username (authentik checks it is not taken; flowd's engine does).
    Username,
    /// An e-mail address.
    Email,
    /// A password.
    Password,
    /// A number.
    Number,
    /// A yes/no box.
    Checkbox,
    /// One of `choices`.
    Dropdown,
    /// A date.
    Date,
}

/// `ak-stage-authenticator-validate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthenticatorValidationChallenge {
    /// Who is verifying.
    pub pending_user: String,
    /// Their avatar URL.
    pub pending_user_avatar: String,
    /// The devices a code may come from.
    pub device_challenges: Vec<DeviceChallenge>,
    /// Authenticator setup stages offered (none).
    pub configuration_stages: Vec<serde_json::Value>,
}

/// `ak-stage-authenticator-totp`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthenticatorTotpChallenge {
    /// Who is setting up the app.
    pub pending_user: String,
    /// Their avatar URL.
    pub pending_user_avatar: String,
    /// The `otpauth://totp/...` URI, to show as a QR code.
    pub config_url: String,
}

/// `ak-stage-authenticator-webauthn`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthenticatorWebauthnChallenge {
    /// Who is creating the passkey.
    pub pending_user: String,
    /// Their avatar URL.
    pub pending_user_avatar: String,
    /// The `PublicKeyCredentialCreationOptions`, binary values base64url-encoded.
    pub registration: serde_json::Value,
}

/// One device of an authenticator-validate challenge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceChallenge {
    /// `email`, `sms`, `totp`, ...
    pub device_class: String,
    /// The device's id.
    pub device_uid: String,
    /// Device-specific data (empty for codes).
    pub challenge: serde_json::Map<String, serde_json::Value>,
    /// When it was last used (unknown: `null`).
    pub last_used: Option<String>,
}

/// `ak-stage-access-denied`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessDeniedChallenge {
    /// Who was refused, if known (else empty).
    pub pending_user: String,
    /// Their avatar URL.
    pub pending_user_avatar: String,
    /// Why.
    pub error_message: String,
}

/// `ak-stage-flow-error`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowErrorChallenge {
    /// The request id to quote to an operator (also in the logs).
    pub request_id: String,
    /// A short, secret-free explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `xak-flow-redirect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedirectChallenge {
    /// Where to go.
    pub to: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn an_envelope_serializes_flat_with_its_component() {
        let envelope = ChallengeEnvelope {
            challenge: Challenge::Redirect(RedirectChallenge { to: "/".into() }),
            flow_info: FlowInfo {
                title: "Welcome".into(),
                background: String::new(),
                cancel_url: "/flows/-/cancel/".into(),
                layout: Layout::Stacked,
            },
            response_errors: BTreeMap::new(),
        };
        assert_eq!(envelope.challenge.component(), "xak-flow-redirect");
        assert_eq!(
            serde_json::to_value(&envelope).unwrap(),
            json!({
                "component": "xak-flow-redirect",
                "to": "/",
                "flow_info": {
                    "title": "Welcome",
                    "background": "",
                    "cancel_url": "/flows/-/cancel/",
                    "layout": "stacked"
                }
            })
        );
    }

    #[test]
    fn response_errors_appear_only_when_present() {
        let mut envelope = ChallengeEnvelope {
            challenge: Challenge::Password(PasswordChallenge {
                pending_user: "a@example.com".into(),
                pending_user_avatar: "/a.png".into(),
                recovery_url: None,
                allow_show_password: false,
            }),
            flow_info: FlowInfo {
                title: String::new(),
                background: String::new(),
                cancel_url: String::new(),
                layout: Layout::Stacked,
            },
            response_errors: BTreeMap::new(),
        };
        envelope.response_errors.insert(
            "password".into(),
            vec![ErrorDetail {
                string: "Invalid password".into(),
                code: "invalid".into(),
            }],
        );
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(value["component"], json!("ak-stage-password"));
        assert_eq!(
            value["response_errors"]["password"][0],
            json!({"string": "Invalid password", "code": "invalid"})
        );
        assert!(value.get("recovery_url").is_none());
    }
}
