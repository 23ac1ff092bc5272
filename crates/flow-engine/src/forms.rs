//! The forms of the built-in input steps.

use flow_compiler::PasswordPolicy;
use flow_model::{IdentifierType, PromptField, PromptFieldType};

use crate::code::CODE_DIGITS;
use crate::federation::SocialPrompt;
use crate::identifier;
use crate::outcome::{
    ACTION_FALLBACK, ACTION_SUBMIT, FIELD_CODE, FIELD_CONFIRMATION_CODE, FIELD_CREDENTIAL,
    FIELD_IDENTIFIER, FIELD_ORIGIN, FIELD_PASSWORD, FIELD_PASSWORD_CONFIRM,
};
use crate::password::MAX_PASSWORD_BYTES;
use crate::steps::{FIELD_ERROR, FIELD_STATE};
use crate::{
    Action, CeremonyKind, Field, FieldError, FieldHints, FieldKind, Form, FormPurpose,
    PasskeyPrompt, TotpEnrollment,
};

/// Where a form is shown and what it already knows.
pub(crate) struct At<'a> {
    pub(crate) step: usize,
    pub(crate) node_id: &'a str,
    pub(crate) user_hint: Option<&'a str>,
}

impl<'a> At<'a> {
    /// Step `step`, node `node_id`, no user known yet.
    pub(crate) fn new(step: usize, node_id: &'a str) -> Self {
        Self {
            step,
            node_id,
            user_hint: None,
        }
    }

    /// The same place, showing `user_hint` (the identifier entered earlier).
    pub(crate) fn hinting(mut self, user_hint: Option<&'a str>) -> Self {
        self.user_hint = user_hint;
        self
    }

    fn form(&self, purpose: FormPurpose, fields: Vec<Field>, label: &str) -> Form {
        Form {
            node_id: self.node_id.to_owned(),
            step: self.step,
            purpose,
            user_hint: self.user_hint.map(str::to_owned),
            fields,
            actions: vec![Action {
                id: ACTION_SUBMIT.to_owned(),
                label: label.to_owned(),
                primary: true,
            }],
            errors: Vec::new(),
            totp: None,
            passkey: None,
            social: None,
        }
    }
}

fn with_hints(mut field: Field, hints: FieldHints) -> Field {
    field.hints = hints;
    field
}

fn identifier_field(accepted: &[IdentifierType], value: Option<&str>, username: bool) -> Field {
    let mut field = with_hints(
        Field::new(
            FIELD_IDENTIFIER,
            identifier::field_kind(accepted),
            &identifier::label(accepted),
            true,
        ),
        FieldHints {
            max_length: Some(254),
            autocomplete: Some(if username { "username" } else { "email" }.to_owned()),
            ..FieldHints::default()
        },
    );
    field.value = value.map(str::to_owned);
    field
}

fn password_field() -> Field {
    with_hints(
        Field::new(FIELD_PASSWORD, FieldKind::Password, "Password", true),
        FieldHints {
            autocomplete: Some("current-password".to_owned()),
            ..FieldHints::default()
        },
    )
}

fn new_password_fields(policy: PasswordPolicy) -> Vec<Field> {
    let hints = FieldHints {
        min_length: Some(policy.min_length),
        max_length: u32::try_from(MAX_PASSWORD_BYTES).ok(),
        autocomplete: Some("new-password".to_owned()),
        placeholder: None,
    };
    let mut fields = vec![with_hints(
        Field::new(FIELD_PASSWORD, FieldKind::NewPassword, "New password", true),
        hints.clone(),
    )];
    if policy.confirm {
        fields.push(with_hints(
            Field::new(
                FIELD_PASSWORD_CONFIRM,
                FieldKind::NewPassword,
                "Repeat the new password",
                true,
            ),
            hints,
        ));
    }
    fields
}

/// Identify an existing user, maybe asking for the password too.
pub(crate) fn identify(
    at: &At<'_>,
    accepted: &[IdentifierType],
    with_password: bool,
    value: Option<&str>,
) -> Form {
    let mut fields = vec![identifier_field(accepted, value, true)];
    if with_password {
        fields.push(password_field());
    }
    at.form(FormPurpose::Identify, fields, "Continue")
}

/// Verify the identified user's password.
pub(crate) fn verify_password(at: &At<'_>) -> Form {
    at.form(
        FormPurpose::VerifyPassword,
        vec![password_field()],
        "Sign in",
    )
}

/// Choose the identifier of a new account, maybe with the new password.
pub(crate) fn collect_identifier(
    at: &At<'_>,
    accepted: &[IdentifierType],
    new_password: Option<PasswordPolicy>,
    value: Option<&str>,
) -> Form {
    let username = accepted != [IdentifierType::Email];
    let mut fields = vec![identifier_field(accepted, value, username)];
    if let Some(policy) = new_password {
        fields.extend(new_password_fields(policy));
    }
    at.form(FormPurpose::CollectIdentifier, fields, "Continue")
}

/// Choose a new password.
pub(crate) fn set_password(at: &At<'_>, policy: PasswordPolicy) -> Form {
    at.form(
        FormPurpose::SetPassword,
        new_password_fields(policy),
        "Set password",
    )
}

/// Enter a one-time code.
pub(crate) fn code(at: &At<'_>, label: Option<&str>) -> Form {
    let field = with_hints(
        Field::new(
            FIELD_CODE,
            FieldKind::Code,
            label.unwrap_or("Verification code"),
            true,
        ),
        FieldHints {
            min_length: Some(CODE_DIGITS),
            max_length: Some(CODE_DIGITS),
            autocomplete: Some("one-time-code".to_owned()),
            placeholder: None,
        },
    );
    at.form(FormPurpose::VerifyCode, vec![field], "Verify")
}

/// The code field of an authenticator app's `digits`-digit codes.
fn totp_code_field(label: &str, digits: u32) -> Field {
    with_hints(
        Field::new(FIELD_CODE, FieldKind::Code, label, true),
        FieldHints {
            min_length: Some(digits),
            max_length: Some(digits),
            autocomplete: Some("one-time-code".to_owned()),
            placeholder: None,
        },
    )
}

/// Set up an authenticator app: `enrollment` says what to scan, the code proves it worked.
pub(crate) fn enroll_totp(at: &At<'_>, enrollment: TotpEnrollment) -> Form {
    let field = totp_code_field("Code from the authenticator app", enrollment.digits);
    let mut form = at.form(FormPurpose::EnrollTotp, vec![field], "Verify");
    form.totp = Some(enrollment);
    form
}

/// Enter a code of the enrolled authenticator app.
pub(crate) fn verify_mfa(at: &At<'_>, digits: u32) -> Form {
    let field = totp_code_field("Code from the authenticator app", digits);
    at.form(FormPurpose::VerifyMfa, vec![field], "Verify")
}

/// Enter the confirmation code of an invitation (usually sent along from the mailed link).
pub(crate) fn invitation_code(at: &At<'_>) -> Form {
    let field = with_hints(
        Field::new(
            FIELD_CONFIRMATION_CODE,
            FieldKind::Code,
            "Invitation code",
            true,
        ),
        FieldHints {
            max_length: u32::try_from(crate::invitation::MAX_CODE_CHARS).ok(),
            autocomplete: Some("one-time-code".to_owned()),
            ..FieldHints::default()
        },
    );
    at.form(FormPurpose::RedeemInvitation, vec![field], "Continue")
}

/// Run a passkey ceremony: `prompt` holds the options. The credential comes back in
/// `credential`; a client may state its origin first in `origin`. With `fallback`, the form
/// also offers the other way in.
pub(crate) fn passkey(at: &At<'_>, prompt: PasskeyPrompt, fallback: bool) -> Form {
    let registering = prompt.ceremony == CeremonyKind::Registration;
    let (purpose, label, other) = if registering {
        (FormPurpose::RegisterPasskey, "Create a passkey", "Skip")
    } else {
        (
            FormPurpose::AuthenticatePasskey,
            "Sign in with a passkey",
            "Use another way",
        )
    };
    let credential = with_hints(
        Field::new(FIELD_CREDENTIAL, FieldKind::Credential, "Passkey", true),
        FieldHints {
            max_length: u32::try_from(crate::MAX_CREDENTIAL_BYTES).ok(),
            autocomplete: (!registering).then(|| "webauthn".to_owned()),
            ..FieldHints::default()
        },
    );
    let origin = Field::new(FIELD_ORIGIN, FieldKind::Text, "Origin", false);
    let mut form = at.form(purpose, vec![credential, origin], label);
    if fallback {
        form.actions.push(Action {
            id: ACTION_FALLBACK.to_owned(),
            label: other.to_owned(),
            primary: false,
        });
    }
    form.passkey = Some(Box::new(prompt));
    form
}

/// `form` (an identifier prompt) also offering a sign-in with any passkey of the site: the
/// browser's autofill on the identifier field answers `prompt` in the optional `credential`.
pub(crate) fn offer_passkey(mut form: Form, prompt: PasskeyPrompt) -> Form {
    // No hints: the browser fills it, not the person (and the prompt is stored with every
    // execution that waits on it).
    form.fields.push(Field::new(
        FIELD_CREDENTIAL,
        FieldKind::Credential,
        "Passkey",
        false,
    ));
    if let Some(identifier) = form
        .fields
        .iter_mut()
        .find(|field| field.name == crate::FIELD_IDENTIFIER)
    {
        // The token that lets browsers offer passkeys in the field's autofill.
        identifier.hints.autocomplete = Some("username webauthn".to_owned());
    }
    form.passkey = Some(Box::new(prompt));
    form
}

/// Pick an identity provider: one action per provider, the first primary.
pub(crate) fn social_choice(at: &At<'_>, prompt: SocialPrompt) -> Form {
    let mut form = at.form(FormPurpose::SelectProvider, Vec::new(), "");
    form.actions = prompt
        .providers
        .iter()
        .enumerate()
        .map(|(index, provider)| Action {
            id: provider.id.clone(),
            label: format!("Continue with {}", provider.name),
            primary: index == 0,
        })
        .collect();
    form.social = Some(Box::new(prompt));
    form
}

/// Go to the provider at `prompt.redirect_url`; the callback brings `code` and `state` (or
/// the provider's `error` with `state`).
pub(crate) fn social_redirect(at: &At<'_>, prompt: SocialPrompt) -> Form {
    let fields = vec![
        Field::new(FIELD_CODE, FieldKind::Code, "Code", true),
        Field::new(FIELD_STATE, FieldKind::Text, "State", true),
        Field::new(FIELD_ERROR, FieldKind::Text, "Error", false),
    ];
    let mut form = at.form(FormPurpose::FederatedRedirect, fields, "Continue");
    // Its one action is the provider: choosing it again starts over with a fresh `state`
    // (the sources' login path does, whenever the browser comes to it).
    if let Some(provider) = &prompt.provider {
        form.actions = vec![Action {
            id: provider.clone(),
            label: "Continue".to_owned(),
            primary: true,
        }];
    }
    form.social = Some(Box::new(prompt));
    form
}

/// The password of the existing account that a provider's e-mail address named, before the
/// provider is linked to it (without one, the caller offers the account's passkeys).
pub(crate) fn social_link(at: &At<'_>, prompt: SocialPrompt, with_password: bool) -> Form {
    let password = with_hints(
        Field::new(FIELD_PASSWORD, FieldKind::Password, "Password", true),
        FieldHints {
            max_length: u32::try_from(MAX_PASSWORD_BYTES).ok(),
            autocomplete: Some("current-password".to_owned()),
            ..FieldHints::default()
        },
    );
    let fields = if with_password {
        vec![password]
    } else {
        Vec::new()
    };
    let mut form = at.form(FormPurpose::LinkAccount, fields, "Link account");
    form.social = Some(Box::new(prompt));
    form
}

/// Answer profile questions; `value_of` prefills answers.
pub(crate) fn prompt(
    at: &At<'_>,
    fields: &[PromptField],
    value_of: impl Fn(&str) -> Option<String>,
) -> Form {
    let fields = fields
        .iter()
        .map(|field| {
            let kind = match field.field_type {
                PromptFieldType::Text => FieldKind::Text,
                PromptFieldType::Email => FieldKind::Email,
                PromptFieldType::Number => FieldKind::Number,
                PromptFieldType::Telephone => FieldKind::Telephone,
                PromptFieldType::Date => FieldKind::Date,
                PromptFieldType::Checkbox => FieldKind::Checkbox,
                PromptFieldType::Dropdown => FieldKind::Choice,
            };
            let label = field.label.as_deref().unwrap_or(&field.name);
            let mut out = Field::new(&field.name, kind, label, field.required);
            out.hints.placeholder = field.placeholder.clone();
            out.options = field.options.clone();
            out.value = value_of(&field.name);
            out
        })
        .collect();
    at.form(FormPurpose::Prompt, fields, "Continue")
}

/// The error of a required field left empty.
pub(crate) fn required(field: &str) -> FieldError {
    FieldError::on(field, "required", "This field is required.")
}

/// Puts `errors` on `form`.
pub(crate) fn with_errors(mut form: Form, errors: Vec<FieldError>) -> Form {
    form.errors = errors;
    form
}
