//! Rendering the engine's protocol-neutral [`Outcome`] as a WSO2 `FlowExecutionResponse`, and
//! the mapping between WSO2 flow types and the engine's.
//!
//! A prompt becomes a VIEW: an optional `TYPOGRAPHY` with the user hint, then one `FORM`
//! (`id` = `form_<node id>`) holding an `INPUT` per field (`id` = field name) and a `BUTTON`
//! per action (`id` = `actionId` = action id). Ids depend only on the step, so they are stable
//! across renders of the same step.

use flow_engine::{
    CeremonyKind, Field, FieldKind, FlowType, Form, FormPurpose, Outcome, TOO_MANY_ATTEMPTS,
};
use serde_json::{Map, Value, json};

use crate::Wso2Error;
use crate::dto::{COMPLETE, Component, Data, ExecuteResponse, INCOMPLETE, Message, StepType};

/// The input the seed's clients post a WebAuthn credential under (base64url of its JSON);
/// WSO2's server and portal use `credential` (the JSON itself). Both are accepted.
pub(crate) const WEBAUTHN_PARAM: &str = "tokenResponse";

/// `webAuthnData.action` of a registration (WSO2's name).
const WEBAUTHN_CREATE: &str = "WEBAUTHN_CREATE";
/// `webAuthnData.action` of a sign-in (flowd's name; WSO2's is not documented).
const WEBAUTHN_GET: &str = "WEBAUTHN_GET";

/// The WSO2 spelling of an engine flow type: `login` is `AUTHENTICATION`, `registration`
/// `REGISTRATION`, `password_reset` `PASSWORD_RECOVERY`, `invited_registration`
/// `INVITED_USER_REGISTRATION`; types WSO2 does not have get flowd's name in upper case
/// (`MFA_SETUP`, `ACCOUNT_RECOVERY`).
pub fn wso2_flow_type(flow_type: FlowType) -> String {
    match flow_type {
        FlowType::Login => "AUTHENTICATION".to_owned(),
        FlowType::Registration => "REGISTRATION".to_owned(),
        FlowType::PasswordReset => "PASSWORD_RECOVERY".to_owned(),
        FlowType::InvitedRegistration => "INVITED_USER_REGISTRATION".to_owned(),
        other => other.as_str().to_ascii_uppercase(),
    }
}

/// The engine flow type a WSO2 `flowType` starts, `None` for an unsupported one. Matches
/// exactly (WSO2's enum is upper case); `ASK_PASSWORD`, the older name of the invited-user
/// flow, is accepted too.
pub fn engine_flow_type(wso2: &str) -> Option<FlowType> {
    match wso2 {
        "AUTHENTICATION" => Some(FlowType::Login),
        "REGISTRATION" => Some(FlowType::Registration),
        "PASSWORD_RECOVERY" => Some(FlowType::PasswordReset),
        "INVITED_USER_REGISTRATION" | "ASK_PASSWORD" => Some(FlowType::InvitedRegistration),
        _ => None,
    }
}

/// The response for `outcome` of execution `flow_id`; a failed flow is an error.
pub(crate) fn render(
    flow_id: String,
    flow_type: FlowType,
    outcome: Outcome,
    assertion: Option<String>,
) -> Result<ExecuteResponse, Wso2Error> {
    let (flow_status, step_type, data) = match outcome {
        Outcome::Prompt(form)
            if matches!(
                form.purpose,
                FormPurpose::RegisterPasskey | FormPurpose::AuthenticatePasskey
            ) =>
        {
            let (step_type, data) = passkey_step(&form);
            (INCOMPLETE, step_type, data)
        }
        Outcome::Prompt(form) if form.purpose == FormPurpose::FederatedRedirect => {
            (INCOMPLETE, StepType::Redirection, federated_redirect(&form))
        }
        Outcome::Prompt(form) => (INCOMPLETE, StepType::View, view(&form)),
        Outcome::Redirect { url } => (
            INCOMPLETE,
            StepType::Redirection,
            Data {
                url: Some(url.clone()),
                redirect_url: Some(url),
                ..Data::default()
            },
        ),
        Outcome::WebAuthn { options } => (
            INCOMPLETE,
            StepType::Webauthn,
            Data {
                web_authn: Some(options.clone()),
                web_authn_data: Some(options),
                required_params: Some(vec![WEBAUTHN_PARAM.to_owned()]),
                ..Data::default()
            },
        ),
        Outcome::InternalPrompt { parameters } => (
            INCOMPLETE,
            StepType::InternalPrompt,
            Data {
                required_params: Some(parameters),
                ..Data::default()
            },
        ),
        Outcome::Complete {
            redirect_url,
            message,
            ..
        } => match redirect_url {
            Some(url) => (
                COMPLETE,
                StepType::Redirection,
                Data {
                    url: Some(url.clone()),
                    redirect_url: Some(url),
                    ..Data::default()
                },
            ),
            None => (COMPLETE, StepType::View, completion_view(message)),
        },
        Outcome::Failed { code, message } => {
            return Err(if code == TOO_MANY_ATTEMPTS {
                Wso2Error::TooManyAttempts
            } else {
                Wso2Error::FlowFailed { code, message }
            });
        }
        _ => return Err(Wso2Error::Internal),
    };
    let mut data = data;
    if let Some(assertion) = assertion {
        data.additional_data
            .insert("userAssertion".to_owned(), json!(assertion));
        data.user_assertion = Some(assertion);
    }
    Ok(ExecuteResponse {
        flow_id,
        flow_type: wso2_flow_type(flow_type),
        flow_status,
        step_type,
        data,
    })
}

/// The text of a completion view without a message of its own.
pub(crate) const DEFAULT_COMPLETION_MESSAGE: &str = "All done.";

fn completion_view(message: Option<String>) -> Data {
    let text = message.unwrap_or_else(|| DEFAULT_COMPLETION_MESSAGE.to_owned());
    Data {
        components: Some(vec![typography("complete_message", "BODY1", &text)]),
        messages: vec![Message {
            message_type: "INFO",
            message: text,
            i18n_key: "flowd.flow.complete".to_owned(),
        }],
        ..Data::default()
    }
}

/// A VIEW of a form, with the last submission's errors.
fn view(form: &Form) -> Data {
    let mut children: Vec<Component> = form.fields.iter().map(input).collect();
    let social = form.purpose == FormPurpose::SelectProvider;
    children.extend(form.actions.iter().map(|action| button_of(action, social)));
    let mut components = Vec::new();
    if let Some(hint) = &form.user_hint {
        components.push(typography(
            &format!("{}_user_hint", form.node_id),
            "BODY1",
            hint,
        ));
    }
    if form.purpose == FormPurpose::LinkAccount {
        components.push(typography(
            &format!("{}_link_account", form.node_id),
            "BODY1",
            "An account with this e-mail address exists. Enter its password to link your sign-in to it.",
        ));
    }
    if let Some(totp) = &form.totp {
        components.push(typography(
            &format!("{}_totp_setup", form.node_id),
            "BODY1",
            &format!(
                "Add this account to your authenticator app: scan the QR code or enter the key {}, then enter the code it shows.",
                totp.secret
            ),
        ));
    }
    components.push(Component {
        id: format!("form_{}", form.node_id),
        action_id: None,
        component_type: "FORM",
        variant: None,
        components: Some(children),
        config: Map::new(),
    });
    let mut data = Data {
        components: Some(components),
        required_params: Some(
            form.fields
                .iter()
                .filter(|field| field.required)
                .map(|field| field.name.clone())
                .collect(),
        ),
        ..Data::default()
    };
    if let Some(totp) = &form.totp {
        // flowd's names: the otpauth URI to show as a QR code, and its parts.
        data.additional_data
            .insert("totpURI".to_owned(), json!(totp.uri));
        data.additional_data
            .insert("totpSecret".to_owned(), json!(totp.secret));
        data.additional_data
            .insert("totpDigits".to_owned(), json!(totp.digits));
        data.additional_data
            .insert("totpPeriod".to_owned(), json!(totp.period));
    }
    add_errors(&mut data, form);
    if let Some(prompt) = &form.passkey {
        // An identifier prompt that also takes a passkey (autofill): the request options, for
        // clients that offer it; the credential goes in the `credential` input.
        data.web_authn_data = Some(json!({
            "action": WEBAUTHN_GET,
            "publicKeyCredentialRequestOptions": prompt.options.get("publicKey"),
        }));
        data.web_authn = Some(prompt.options.clone());
    }
    data
}

/// A passkey form, the way WSO2's server runs its passkey executor: first an
/// `INTERNAL_PROMPT` for the client's `origin`, then `WEBAUTHN` with the options in both
/// `data.webAuthnData` (the server's and its portal's shape) and `data.webAuthn` (the seed's),
/// answered with `credential`. The fallback action, if any, is a `BUTTON` in `components`.
fn passkey_step(form: &Form) -> (StepType, Data) {
    let Some(prompt) = &form.passkey else {
        return (StepType::View, view(form));
    };
    let mut data = Data::default();
    add_errors(&mut data, form);
    let fallback: Vec<Component> = form
        .actions
        .iter()
        .filter(|action| !action.primary)
        .map(button)
        .collect();
    if !fallback.is_empty() {
        data.components = Some(vec![Component {
            id: format!("form_{}", form.node_id),
            action_id: None,
            component_type: "FORM",
            variant: None,
            components: Some(fallback),
            config: Map::new(),
        }]);
    }
    if prompt.origin.is_none() {
        data.required_params = Some(vec![flow_engine::FIELD_ORIGIN.to_owned()]);
        return (StepType::InternalPrompt, data);
    }
    let public_key = prompt
        .options
        .get("publicKey")
        .cloned()
        .unwrap_or(Value::Null);
    let (action, key) = if prompt.ceremony == CeremonyKind::Registration {
        (WEBAUTHN_CREATE, "publicKeyCredentialCreationOptions")
    } else {
        (WEBAUTHN_GET, "publicKeyCredentialRequestOptions")
    };
    data.web_authn_data = Some(json!({"action": action, key: public_key}));
    data.web_authn = Some(prompt.options.clone());
    data.required_params = Some(vec![flow_engine::FIELD_CREDENTIAL.to_owned()]);
    (StepType::Webauthn, data)
}

/// The redirect to an identity provider, the way WSO2's federated executors send it:
/// `data.redirectURL` (and the seed's `data.url`), with `requiredParams` naming what the client
/// brings back from the provider's callback (`code`, `state`).
fn federated_redirect(form: &Form) -> Data {
    let url = form
        .social
        .as_ref()
        .and_then(|social| social.redirect_url.clone());
    Data {
        url: url.clone(),
        redirect_url: url,
        required_params: Some(
            form.fields
                .iter()
                .filter(|field| field.required)
                .map(|field| field.name.clone())
                .collect(),
        ),
        ..Data::default()
    }
}

/// A `BUTTON` of an action.
fn button(action: &flow_engine::Action) -> Component {
    button_of(action, false)
}

/// A `BUTTON` of an action; `social` for a provider's (variant `SOCIAL`).
fn button_of(action: &flow_engine::Action, social: bool) -> Component {
    let mut config = Map::new();
    config.insert("text".to_owned(), json!(action.label));
    config.insert("type".to_owned(), json!("submit"));
    Component {
        id: action.id.clone(),
        action_id: Some(action.id.clone()),
        component_type: "BUTTON",
        variant: Some(if social {
            "SOCIAL"
        } else if action.primary {
            "PRIMARY"
        } else {
            "SECONDARY"
        }),
        components: None,
        config,
    }
}

/// The form's errors as `additionalData.error`, `additionalData.fieldErrors` and `messages`.
fn add_errors(data: &mut Data, form: &Form) {
    let Some(first) = form.errors.first() else {
        return;
    };
    data.additional_data
        .insert("error".to_owned(), json!(first.message));
    data.additional_data.insert(
        "fieldErrors".to_owned(),
        Value::Array(
            form.errors
                .iter()
                .map(|error| json!({"field": error.field, "code": error.code, "message": error.message}))
                .collect(),
        ),
    );
    data.messages = form
        .errors
        .iter()
        .map(|error| Message {
            message_type: "ERROR",
            message: error.message.clone(),
            i18n_key: format!("flowd.error.{}", error.code),
        })
        .collect();
}

fn typography(id: &str, variant: &'static str, text: &str) -> Component {
    let mut config = Map::new();
    config.insert("text".to_owned(), json!(text));
    Component {
        id: id.to_owned(),
        action_id: None,
        component_type: "TYPOGRAPHY",
        variant: Some(variant),
        components: None,
        config,
    }
}

/// The input variant and HTML input type of a field kind.
fn variant(kind: FieldKind) -> (&'static str, &'static str) {
    match kind {
        FieldKind::Identifier | FieldKind::Text => ("TEXT", "text"),
        FieldKind::Email => ("EMAIL", "email"),
        FieldKind::Password | FieldKind::NewPassword => ("PASSWORD", "password"),
        FieldKind::Code => ("OTP", "text"),
        FieldKind::Number => ("NUMBER", "number"),
        FieldKind::Telephone => ("TELEPHONE", "tel"),
        FieldKind::Date => ("DATE", "date"),
        FieldKind::Checkbox => ("CHECKBOX", "checkbox"),
        FieldKind::Choice => ("DROPDOWN", "select"),
        FieldKind::Credential => ("TEXT", "hidden"),
    }
}

fn input(field: &Field) -> Component {
    let (variant, html_type) = variant(field.kind);
    let mut config = Map::new();
    config.insert("identifier".to_owned(), json!(field.name));
    config.insert("label".to_owned(), json!(field.label));
    config.insert("required".to_owned(), json!(field.required));
    config.insert("type".to_owned(), json!(html_type));
    if let Some(placeholder) = &field.hints.placeholder {
        config.insert("placeholder".to_owned(), json!(placeholder));
    }
    if let Some(autocomplete) = &field.hints.autocomplete {
        config.insert("autocomplete".to_owned(), json!(autocomplete));
    }
    let mut conditions = Vec::new();
    if let Some(min) = field.hints.min_length {
        conditions.push(json!({"key": "min.length", "value": min.to_string()}));
    }
    if let Some(max) = field.hints.max_length {
        conditions.push(json!({"key": "max.length", "value": max.to_string()}));
    }
    if field.kind == FieldKind::Code
        && let (Some(min), Some(max)) = (field.hints.min_length, field.hints.max_length)
        && min == max
    {
        config.insert("length".to_owned(), json!(min));
    }
    if !conditions.is_empty() {
        config.insert(
            "validations".to_owned(),
            json!([{"type": "RULE", "name": "LengthValidator", "conditions": conditions}]),
        );
    }
    if !field.options.is_empty() {
        let options: Vec<Value> = field
            .options
            .iter()
            .map(|option| json!({"label": option, "key": option, "value": option}))
            .collect();
        config.insert("options".to_owned(), Value::Array(options));
    }
    if let Some(value) = &field.value {
        config.insert("defaultValue".to_owned(), json!(value));
    }
    Component {
        id: field.name.clone(),
        action_id: None,
        component_type: "INPUT",
        variant: Some(variant),
        components: None,
        config,
    }
}
