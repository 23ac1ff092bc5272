//! The protocol-neutral result of a start or resume: a form to fill in, a redirect, a completed
//! or failed flow. Protocol adapters render these; the engine never knows the wire format.

use flow_model::FlowType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::UserId;

/// What the client has to do next, or how the flow ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Show a form and submit it.
    Prompt(Form),
    /// Send the user agent to `url` (social login, external steps).
    Redirect {
        /// Where to go.
        url: String,
    },
    /// Run a WebAuthn ceremony with these options (reserved: no built-in step emits it yet).
    WebAuthn {
        /// `PublicKeyCredentialCreationOptions` or `...RequestOptions`, as JSON.
        options: Value,
    },
    /// Supply client-side parameters without user interaction, e.g. the origin (reserved).
    InternalPrompt {
        /// Names of the parameters to send back as inputs.
        parameters: Vec<String>,
    },
    /// The flow ended successfully.
    Complete {
        /// The authenticated, created or updated user.
        user_id: Option<UserId>,
        /// The type of the flow that ran.
        flow_type: FlowType,
        /// Authentication methods completed (`password`, `email_otp`).
        methods: Vec<String>,
        /// Attributes collected during the flow.
        attributes: Map<String, Value>,
        /// Whether the adapter should sign the user in (start a session, issue tokens).
        sign_in: bool,
        /// Where the client goes next, if the flow says.
        redirect_url: Option<String>,
        /// A message for the completion page.
        message: Option<String>,
    },
    /// The flow ended unsuccessfully.
    Failed {
        /// Stable machine code (`too_many_attempts`, `unsupported_step`, a `failure` node's code).
        code: String,
        /// Message for the user.
        message: String,
    },
}

impl Outcome {
    /// The form, if this outcome is a prompt.
    pub fn form(&self) -> Option<&Form> {
        match self {
            Self::Prompt(form) => Some(form),
            _ => None,
        }
    }

    /// Whether the execution has ended with this outcome.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Complete { .. } | Self::Failed { .. })
    }
}

/// What a form is for, so that adapters can pick a matching component (authentik's
/// identification, password or prompt stage; WSO2's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FormPurpose {
    /// Identify an existing user (maybe with the password in the same form).
    Identify,
    /// Verify the identified user's password.
    VerifyPassword,
    /// Choose the identifier of a new account (maybe with the new password).
    CollectIdentifier,
    /// Choose a new password.
    SetPassword,
    /// Enter a one-time code.
    VerifyCode,
    /// Enter the code of an invitation (the first step of an invited registration).
    RedeemInvitation,
    /// Answer profile questions.
    Prompt,
    /// Set up an authenticator app: scan the URI, then enter a code.
    EnrollTotp,
    /// Enter a code of an enrolled second factor.
    VerifyMfa,
    /// Create a passkey (`navigator.credentials.create` with [`Form::passkey`]'s options).
    RegisterPasskey,
    /// Sign in with a passkey (`navigator.credentials.get` with [`Form::passkey`]'s options).
    AuthenticatePasskey,
    /// Pick an identity provider (one action per provider, [`Form::social`] lists them).
    SelectProvider,
    /// Go to the provider at [`SocialPrompt::redirect_url`](crate::SocialPrompt) and come
    /// back with its `code` and `state`.
    FederatedRedirect,
    /// Enter the password of the existing account a provider's e-mail address named, so that
    /// the provider is linked to it.
    LinkAccount,
    /// A form of an embedder's node type.
    Custom(String),
}

/// A form: typed fields, actions and the errors of the last submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Form {
    /// The graph node that asks.
    pub node_id: String,
    /// The program step that asks.
    pub step: usize,
    /// What the form is for.
    pub purpose: FormPurpose,
    /// The identifier the user entered earlier, to show who is signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_hint: Option<String>,
    /// The fields, in order.
    pub fields: Vec<Field>,
    /// The actions; exactly one is primary.
    pub actions: Vec<Action>,
    /// Errors of the last submission; empty on first display.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The authenticator app to set up; only on [`FormPurpose::EnrollTotp`] forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpEnrollment>,
    /// The passkey ceremony to run; on [`FormPurpose::RegisterPasskey`] and
    /// [`FormPurpose::AuthenticatePasskey`] forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<Box<PasskeyPrompt>>,
    /// The providers to offer, or the one chosen and where to go; on
    /// [`FormPurpose::SelectProvider`], [`FormPurpose::FederatedRedirect`] and
    /// [`FormPurpose::LinkAccount`] forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub social: Option<Box<crate::SocialPrompt>>,
}

/// What a client needs to run a passkey ceremony, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyPrompt {
    /// Registration, or a sign-in with or without an identifier.
    pub ceremony: crate::CeremonyKind,
    /// The options for the browser: `{"publicKey": {...}}` (creation or request options,
    /// binary values base64url-encoded), with `"mediation": "conditional"` for a sign-in
    /// without an identifier.
    pub options: Value,
    /// The origin the client stated (WSO2's internal prompt asks for it first); `None` until
    /// it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// What an authenticator app needs to be set up: shown (usually as a QR code of `uri`) by an
/// [`FormPurpose::EnrollTotp`] form. It holds the new secret: [`Debug`] does not print it, and
/// nothing may log it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    /// `otpauth://totp/{issuer}:{identifier}?secret=…&issuer=…&digits=…&period=…`.
    pub uri: String,
    /// The secret in base32, for typing it in by hand.
    pub secret: String,
    /// Code length (6 or 8).
    pub digits: u32,
    /// Code period in seconds (30 or 60).
    pub period: u32,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollment")
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Form {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// Whether an error with `code` is present.
    pub fn has_error(&self, code: &str) -> bool {
        self.errors.iter().any(|error| error.code == code)
    }
}

/// The kind of a form field; adapters map it to an input type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// An identifier that may be an e-mail address, username or phone number.
    Identifier,
    /// An e-mail address.
    Email,
    /// An existing password.
    Password,
    /// A password being chosen.
    NewPassword,
    /// A one-time code.
    Code,
    /// Free text.
    Text,
    /// A number.
    Number,
    /// A phone number.
    Telephone,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// A yes/no box.
    Checkbox,
    /// One of the field's options.
    Choice,
    /// A WebAuthn credential (JSON) that a client's passkey ceremony produced.
    Credential,
}

impl FieldKind {
    /// Whether values of this kind are secret: never stored as attributes, echoed or traced.
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Self::Password | Self::NewPassword | Self::Code | Self::Credential
        )
    }
}

/// Validation hints for clients; the engine enforces them itself as well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldHints {
    /// Minimum length in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Maximum length in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// An HTML `autocomplete` token (`username`, `current-password`, `one-time-code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autocomplete: Option<String>,
    /// Placeholder text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
}

impl FieldHints {
    /// Whether no hint is given.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One input of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The input name the submission must use.
    pub name: String,
    /// The kind of input.
    pub kind: FieldKind,
    /// The label to show.
    pub label: String,
    /// Whether a value is required.
    pub required: bool,
    /// Validation hints.
    #[serde(default, skip_serializing_if = "FieldHints::is_empty")]
    pub hints: FieldHints,
    /// The choices of a [`FieldKind::Choice`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A value to prefill (never for secret kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Field {
    /// A field with no hints, options or value.
    pub fn new(name: &str, kind: FieldKind, label: &str, required: bool) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            label: label.to_owned(),
            required,
            hints: FieldHints::default(),
            options: Vec::new(),
            value: None,
        }
    }
}

/// A button of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The id a submission names in `action_id`.
    pub id: String,
    /// The button label.
    pub label: String,
    /// Whether this is the default action.
    pub primary: bool,
}

/// An error of the last submission, on one field or on the whole form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field concerned; `None` for the form as a whole.
    pub field: Option<String>,
    /// Stable code (`required`, `invalid_credentials`, `identifier_taken`, ...).
    pub code: String,
    /// Message for the user.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn on(field: &str, code: &str, message: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// Name of the identifier field of identification and registration forms.
pub const FIELD_IDENTIFIER: &str = "identifier";
/// Name of the password field (existing or new password).
pub const FIELD_PASSWORD: &str = "password";
/// Name of the field that repeats a new password when the policy asks for confirmation.
pub const FIELD_PASSWORD_CONFIRM: &str = "password_confirm";
/// Name of the one-time code field.
pub const FIELD_CODE: &str = "code";
/// Name of the field of an invitation's confirmation code (WSO2's name for it).
pub const FIELD_CONFIRMATION_CODE: &str = "confirmationCode";
/// Name of the field of a passkey ceremony's credential (JSON, or base64url of it).
pub const FIELD_CREDENTIAL: &str = "credential";
/// Name of the field in which a client states its origin before a passkey ceremony.
pub const FIELD_ORIGIN: &str = "origin";
/// Id of the primary action of the built-in forms.
pub const ACTION_SUBMIT: &str = "submit";
/// Id of the action that takes a flow's other way in (a `webauthn` node's `fallback` edge):
/// no passkey on this device, or the ceremony failed or was cancelled.
pub const ACTION_FALLBACK: &str = "fallback";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn outcomes_serialize_with_a_type_tag_and_round_trip() {
        let mut form = Form {
            node_id: "password".into(),
            step: 1,
            purpose: FormPurpose::VerifyPassword,
            user_hint: Some("a@example.com".into()),
            fields: vec![Field::new(
                FIELD_PASSWORD,
                FieldKind::Password,
                "Password",
                true,
            )],
            actions: vec![Action {
                id: ACTION_SUBMIT.into(),
                label: "Sign in".into(),
                primary: true,
            }],
            errors: Vec::new(),
            totp: None,
            passkey: None,
            social: None,
        };
        form.errors
            .push(FieldError::on(FIELD_PASSWORD, "invalid_credentials", "No."));
        let outcome = Outcome::Prompt(form);
        let value = serde_json::to_value(&outcome).unwrap();
        assert_eq!(value["type"], json!("prompt"));
        assert_eq!(value["purpose"], json!("verify_password"));
        assert_eq!(value["fields"][0]["kind"], json!("password"));
        let back: Outcome = serde_json::from_value(value).unwrap();
        assert_eq!(back, outcome);

        let failed = Outcome::Failed {
            code: "too_many_attempts".into(),
            message: "Too many.".into(),
        };
        assert!(failed.is_final());
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"type": "failed", "code": "too_many_attempts", "message": "Too many."})
        );
        assert!(FieldKind::Code.is_secret() && !FieldKind::Email.is_secret());
    }
}
