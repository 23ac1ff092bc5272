//! The wire types of the Flow Execution API, spelled as the seed and WSO2's generated model
//! spell them (camelCase, `flowId`, `flowStatus`, `requiredParams`, ...). Where the seed's
//! documentation and the real server differ, both spellings are emitted (`url` and
//! `redirectURL`, `webAuthn` and `webAuthnData`).

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `flowStatus` of an execution that waits for the client.
pub const INCOMPLETE: &str = "INCOMPLETE";
/// `flowStatus` of an execution that ended successfully.
pub const COMPLETE: &str = "COMPLETE";

/// The answer to a successful execute call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResponse {
    /// The execution's id; the client sends it with every later call.
    pub flow_id: String,
    /// The WSO2 flow type (`REGISTRATION`, `PASSWORD_RECOVERY`, ...).
    pub flow_type: String,
    /// `INCOMPLETE` or `COMPLETE`.
    #[schema(value_type = String, pattern = "^(INCOMPLETE|COMPLETE)$")]
    pub flow_status: &'static str,
    /// `VIEW`, `REDIRECTION`, `WEBAUTHN` or `INTERNAL_PROMPT`.
    #[serde(rename = "type")]
    pub step_type: StepType,
    /// The payload of the type.
    pub data: Data,
}

/// How the client proceeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepType {
    /// Render `data.components` and submit with a button's `actionId`.
    View,
    /// Send the browser to `data.url` / `data.redirectURL`.
    Redirection,
    /// Run the WebAuthn ceremony in `data.webAuthn` / `data.webAuthnData`.
    Webauthn,
    /// Send the `data.requiredParams` without asking the user.
    InternalPrompt,
}

/// The `data` object; empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    /// The view's components (VIEW, and COMPLETE views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
    /// The redirect URL, as the seed spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The redirect URL, as WSO2's server and its clients spell it.
    #[serde(rename = "redirectURL", skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// The inputs the client must send (VIEW, INTERNAL_PROMPT, WEBAUTHN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_params: Option<Vec<String>>,
    /// WebAuthn options, as the seed spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub web_authn: Option<Value>,
    /// WebAuthn options, as WSO2's server spells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub web_authn_data: Option<Value>,
    /// The signed user assertion, as the seed spells it (auto-login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_assertion: Option<String>,
    /// Extra data: `error` (the last submission's error text), `fieldErrors` (ours, per
    /// field), `userAssertion` (as real clients read it).
    #[serde(skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub additional_data: Map<String, Value>,
    /// Messages to show (`ERROR` for the last submission's errors, `INFO` on completion).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// A message to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// `ERROR`, `INFO` or `WARNING`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub message_type: &'static str,
    /// The text.
    pub message: String,
    /// A translation key, `flowd.error.<code>` for errors.
    pub i18n_key: String,
}

/// A component of a view: `FORM`, `INPUT`, `BUTTON`, `TYPOGRAPHY`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Component {
    /// Stable across renders of the same step.
    pub id: String,
    /// The action a `BUTTON` submits (equal to its id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    /// `FORM`, `INPUT`, `BUTTON`, `TYPOGRAPHY`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub component_type: &'static str,
    /// `EMAIL`, `PASSWORD`, `PRIMARY`, `H3`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub variant: Option<&'static str>,
    /// Children of a `FORM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub components: Option<Vec<Component>>,
    /// Settings: `identifier`, `label`, `required`, `placeholder`, `validations`, `options`,
    /// `defaultValue` for inputs; `text` for buttons and typography.
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

/// The body of every error: `{code, message, description, traceId, flowType}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// `FE-6xxxx`.
    #[schema(value_type = String, pattern = "^FE-6[0-9]{4}$")]
    pub code: &'static str,
    /// A short message.
    #[schema(value_type = String)]
    pub message: &'static str,
    /// The detail.
    pub description: String,
    /// A fresh UUID per error, also in the server's log.
    pub trace_id: String,
    /// The WSO2 flow type, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<String>,
}
