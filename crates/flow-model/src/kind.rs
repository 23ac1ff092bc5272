//! Node kinds: a node's type together with its typed, checked configuration.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::NodeType;
use crate::template::{TemplatePart, parse_template, template_strings};

/// A node's type and typed configuration, read from its `type` and `config` fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "config", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeKind {
    /// Where every execution begins.
    Start,
    /// A successful end.
    Success(SuccessConfig),
    /// An unsuccessful end.
    Failure(FailureConfig),
    /// A two-way branch.
    Condition(ConditionConfig),
    /// A many-way branch.
    Switch(SwitchConfig),
    /// Asks for an identifier.
    IdentifierInput(IdentifierInputConfig),
    /// Asks for a password.
    PasswordInput(PasswordInputConfig),
    /// Lets the user pick a social provider.
    SocialProviderSelect(SocialProviderSelectConfig),
    /// Asks for a second factor.
    MfaVerification(MfaVerificationConfig),
    /// Asks for a one-time code.
    OtpInput(OtpInputConfig),
    /// Sends an e-mail.
    SendEmail(MessageConfig),
    /// Sends an SMS.
    SendSms(MessageConfig),
    /// Calls a webhook.
    Webhook(WebhookConfig),
    /// Sets an attribute.
    SetAttribute(SetAttributeConfig),
    /// A passkey ceremony.
    Webauthn(WebauthnConfig),
    /// Asks for profile fields.
    Prompt(PromptConfig),
    /// Enrols a TOTP authenticator.
    TotpSetup(TotpSetupConfig),
    /// A node type registered by an embedder; its config is the embedder's business.
    Custom {
        /// The registered type name.
        node_type: String,
        /// The raw configuration.
        config: Value,
    },
}

/// Why a node's configuration was refused: a path inside `config` and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Path inside the config (`identifier_types[1]`), empty for the config as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn at(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl NodeKind {
    /// Reads the typed configuration of a built-in node type.
    ///
    /// Returns `None` for [`NodeType::Other`]: whether such a type exists is the validator's
    /// question (it consults the registry of custom types), not the parser's.
    pub fn parse(
        node_type: &NodeType,
        config: Option<&Value>,
    ) -> Option<Result<Self, ConfigError>> {
        let empty = Value::Object(serde_json::Map::new());
        let config = config.unwrap_or(&empty);
        let kind = match node_type {
            NodeType::Start => read::<EmptyConfig>(config).map(|_| Self::Start),
            NodeType::Success => read(config).map(Self::Success),
            NodeType::Failure => read(config).map(Self::Failure),
            NodeType::Condition => read(config).map(Self::Condition),
            NodeType::Switch => read(config).map(Self::Switch),
            NodeType::IdentifierInput => read(config).map(Self::IdentifierInput),
            NodeType::PasswordInput => read(config).map(Self::PasswordInput),
            NodeType::SocialProviderSelect => read(config).map(Self::SocialProviderSelect),
            NodeType::MfaVerification => read(config).map(Self::MfaVerification),
            NodeType::OtpInput => read(config).map(Self::OtpInput),
            NodeType::SendEmail => read(config).map(Self::SendEmail),
            NodeType::SendSms => read(config).map(Self::SendSms),
            NodeType::Webhook => read(config).map(Self::Webhook),
            NodeType::SetAttribute => read(config).map(Self::SetAttribute),
            NodeType::Webauthn => read(config).map(Self::Webauthn),
            NodeType::Prompt => read(config).map(Self::Prompt),
            NodeType::TotpSetup => read(config).map(Self::TotpSetup),
            NodeType::Other(_) => return None,
        };
        Some(kind)
    }

    /// The type this kind was read from.
    pub fn node_type(&self) -> NodeType {
        match self {
            Self::Start => NodeType::Start,
            Self::Success(_) => NodeType::Success,
            Self::Failure(_) => NodeType::Failure,
            Self::Condition(_) => NodeType::Condition,
            Self::Switch(_) => NodeType::Switch,
            Self::IdentifierInput(_) => NodeType::IdentifierInput,
            Self::PasswordInput(_) => NodeType::PasswordInput,
            Self::SocialProviderSelect(_) => NodeType::SocialProviderSelect,
            Self::MfaVerification(_) => NodeType::MfaVerification,
            Self::OtpInput(_) => NodeType::OtpInput,
            Self::SendEmail(_) => NodeType::SendEmail,
            Self::SendSms(_) => NodeType::SendSms,
            Self::Webhook(_) => NodeType::Webhook,
            Self::SetAttribute(_) => NodeType::SetAttribute,
            Self::Webauthn(_) => NodeType::Webauthn,
            Self::Prompt(_) => NodeType::Prompt,
            Self::TotpSetup(_) => NodeType::TotpSetup,
            Self::Custom { node_type, .. } => NodeType::Other(node_type.clone()),
        }
    }

    /// The CEL expressions of the node's config, each with its path in the config
    /// (`condition`, `body.user.id`, `response.risk`), for the validator to compile.
    pub fn expressions(&self) -> Vec<(Cow<'static, str>, &str)> {
        match self {
            Self::Condition(config) => {
                vec![(Cow::Borrowed("condition"), config.condition.as_str())]
            }
            Self::Switch(config) => vec![(Cow::Borrowed("expression"), config.expression.as_str())],
            Self::Webhook(config) => config
                .expressions()
                .into_iter()
                .map(|(path, expression)| (Cow::Owned(path), expression))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Deserializes a config and runs its own checks.
fn read<T: Config>(config: &Value) -> Result<T, ConfigError> {
    // Read without path tracking first: it is the common case and several times cheaper. Only a
    // config that fails is read again to find the path of the problem.
    let parsed = T::deserialize(config).map_err(|_| {
        let tracked: Result<T, _> = serde_path_to_error::deserialize(config);
        match tracked {
            Err(error) => ConfigError {
                path: error.path().to_string().trim_start_matches('.').to_owned(),
                message: error.into_inner().to_string(),
            },
            Ok(_) => ConfigError::at("", "does not fit the node type"),
        }
    })?;
    parsed.check()?;
    Ok(parsed)
}

/// A node configuration: serde reads the shape, `check` the rules serde cannot express.
trait Config: serde::de::DeserializeOwned {
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The config of nodes that take none: only `{}` (or no config) is accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmptyConfig {}

impl Config for EmptyConfig {}

/// Settings of a `success` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SuccessConfig {
    /// Where the client goes when the flow completes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Sign the user in when a registration completes (defaults to on for registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_login: Option<bool>,
    /// A message shown on completion when there is no redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Config for SuccessConfig {}

/// Settings of a `failure` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FailureConfig {
    /// A stable machine code for the failure (defaults to `flow_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message shown to the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Config for FailureConfig {}

/// Settings of a `condition` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// A CEL expression over `user`, `inputs`, `attributes`, `flow` and `request`.
    pub condition: String,
}

impl Config for ConditionConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_blank("condition", &self.condition)
    }
}

/// Settings of a `switch` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchConfig {
    /// A CEL expression whose value picks the edge whose `condition` equals it.
    pub expression: String,
}

impl Config for SwitchConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_blank("expression", &self.expression)
    }
}

/// The kinds of identifier a user may type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierType {
    /// An e-mail address.
    Email,
    /// A username.
    Username,
    /// A phone number.
    Phone,
}

/// Settings of an `identifier_input` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentifierInputConfig {
    /// Which identifiers are accepted.
    pub identifier_types: Vec<IdentifierType>,
    /// Ask for the password in the same prompt; the next node must be a `password_input`.
    pub with_password: bool,
    /// In a login flow, also offer a sign-in with any passkey of this site (the browser's
    /// autofill on the identifier field); such a sign-in skips the password and second-factor
    /// steps that follow.
    pub passkey: bool,
}

impl Default for IdentifierInputConfig {
    fn default() -> Self {
        Self {
            identifier_types: vec![IdentifierType::Email, IdentifierType::Username],
            with_password: false,
            passkey: false,
        }
    }
}

impl Config for IdentifierInputConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_empty_unique("identifier_types", &self.identifier_types)
    }
}

/// The shortest password policy flowd allows.
pub const MIN_PASSWORD_LENGTH: u32 = 8;
/// The longest minimum a policy may ask for.
pub const MAX_PASSWORD_LENGTH: u32 = 256;

/// The lowest strength score a policy may ask for: score 0 means "guessed in about a thousand
/// tries" (`password`, `12345678`), which NIST SP 800-63B says must always be refused.
pub const MIN_PASSWORD_SCORE: u8 = 1;
/// The highest strength score of the estimator (more than 10^10 guesses).
pub const MAX_PASSWORD_SCORE: u8 = 4;
/// The strength score asked for when a node does not say (at least 10^8 guesses).
pub const DEFAULT_PASSWORD_SCORE: u8 = 3;

/// Settings of a `password_input` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordInputConfig {
    /// Minimum length of a new password (ignored where the password is verified).
    pub min_length: u32,
    /// Minimum strength score (1 to 4) of a new password, as the strength estimator rates it.
    pub min_score: u8,
    /// Ask for a new password twice.
    pub confirm: bool,
}

impl Default for PasswordInputConfig {
    fn default() -> Self {
        Self {
            min_length: MIN_PASSWORD_LENGTH,
            min_score: DEFAULT_PASSWORD_SCORE,
            confirm: false,
        }
    }
}

impl Config for PasswordInputConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if !(MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&self.min_length) {
            return Err(ConfigError::at(
                "min_length",
                format!("must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}"),
            ));
        }
        if !(MIN_PASSWORD_SCORE..=MAX_PASSWORD_SCORE).contains(&self.min_score) {
            return Err(ConfigError::at(
                "min_score",
                format!("must be between {MIN_PASSWORD_SCORE} and {MAX_PASSWORD_SCORE}"),
            ));
        }
        Ok(())
    }
}

/// Settings of a `social_provider_select` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialProviderSelectConfig {
    /// Provider slugs offered (`google`, `github`).
    pub providers: Vec<String>,
}

impl Config for SocialProviderSelectConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_empty_unique("providers", &self.providers)?;
        for (index, provider) in self.providers.iter().enumerate() {
            non_blank(&format!("providers[{index}]"), provider)?;
        }
        Ok(())
    }
}

/// Second factors a user may present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    /// A code from an authenticator app.
    Totp,
    /// A code sent by SMS.
    Sms,
    /// A code sent by e-mail.
    Email,
    /// A passkey or security key.
    Webauthn,
    /// A single-use recovery code.
    RecoveryCode,
}

/// Settings of an `mfa_verification` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaVerificationConfig {
    /// Accepted methods, in the order they are offered.
    pub methods: Vec<MfaMethod>,
}

impl Default for MfaVerificationConfig {
    fn default() -> Self {
        Self {
            methods: vec![MfaMethod::Totp],
        }
    }
}

impl Config for MfaVerificationConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_empty_unique("methods", &self.methods)
    }
}

/// Settings of an `otp_input` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OtpInputConfig {
    /// The label shown above the code field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Config for OtpInputConfig {}

/// Settings of `send_email` and `send_sms` nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageConfig {
    /// The message template's name.
    pub template: String,
    /// Generate a one-time code, include it in the message and expect it at a later `otp_input`.
    #[serde(default)]
    pub with_code: bool,
}

impl Config for MessageConfig {
    fn check(&self) -> Result<(), ConfigError> {
        non_blank("template", &self.template)
    }
}

/// The longest a webhook may be waited for, in milliseconds.
pub const MAX_WEBHOOK_TIMEOUT_MS: u32 = 10_000;
/// How long a webhook is waited for when its node does not say, in milliseconds.
pub const DEFAULT_WEBHOOK_TIMEOUT_MS: u32 = 3_000;
/// The most extra headers a webhook call may carry.
pub const MAX_WEBHOOK_HEADERS: usize = 20;
/// The most retries of a failed webhook call.
pub const MAX_WEBHOOK_RETRIES: u8 = 3;
/// The most expressions a webhook body template may hold, and the most attributes its
/// response mapping may set.
pub const MAX_WEBHOOK_EXPRESSIONS: usize = 32;
/// The longest webhook URL accepted, in bytes.
pub const MAX_WEBHOOK_URL_LEN: usize = 2048;
/// Headers a webhook node cannot set: the Standard Webhooks signature headers (flowd signs)
/// and those the HTTP client owns.
pub const RESERVED_WEBHOOK_HEADERS: [&str; 5] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "host",
    "content-length",
];
/// The prefix of a Standard Webhooks signing secret.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// The HTTP method of a webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum WebhookMethod {
    /// `GET`: no body.
    Get,
    /// `POST` (the default).
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`: no body.
    Delete,
}

impl WebhookMethod {
    /// The method's name (`POST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether sending the call twice has the effect of sending it once (RFC 9110 §9.2.2),
    /// so that it may be retried.
    pub fn is_idempotent(self) -> bool {
        matches!(self, Self::Get | Self::Put | Self::Delete)
    }

    /// Whether the call carries a JSON body.
    pub fn has_body(self) -> bool {
        matches!(self, Self::Post | Self::Put | Self::Patch)
    }
}

impl std::fmt::Display for WebhookMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings of a `webhook` node: an HTTP call to the operator's own systems, whose answer
/// picks the node's `true` edge (a 2xx answer, its mapping applied) or its `false` edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The `http://` or `https://` URL to call.
    pub url: String,
    /// The HTTP method (`POST`).
    #[serde(default)]
    pub method: WebhookMethod,
    /// Extra request headers, name to value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// How long to wait for an answer, 1 to [`MAX_WEBHOOK_TIMEOUT_MS`] ms.
    #[serde(default = "default_webhook_timeout")]
    pub timeout_ms: u32,
    /// The JSON body as a template (see [`parse_template`](crate::parse_template)); without
    /// one, a `POST`, `PUT` or `PATCH` sends the default body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Attributes set from a 2xx answer: attribute path to a CEL expression over `response`
    /// (the parsed JSON answer), `status` and the usual context.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response: BTreeMap<String, String>,
    /// How many times a failed call may be retried (idempotent methods only).
    #[serde(default)]
    pub retries: u8,
    /// The Standard Webhooks signing secret (`whsec_` + base64 of 24 to 64 bytes); without
    /// one, the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn default_webhook_timeout() -> u32 {
    DEFAULT_WEBHOOK_TIMEOUT_MS
}

impl WebhookConfig {
    /// The CEL expressions of the config with their paths (`body.user.id`,
    /// `response.risk`): those of the body template, then those of the response mapping.
    pub fn expressions(&self) -> Vec<(String, &str)> {
        let mut found = Vec::new();
        if let Some(body) = &self.body {
            for (path, text) in template_strings(body, "body") {
                let Ok(parts) = parse_template(text) else {
                    continue;
                };
                found.extend(parts.into_iter().filter_map(|part| match part {
                    TemplatePart::Expression(expression) => Some((path.clone(), expression)),
                    TemplatePart::Text(_) => None,
                }));
            }
        }
        found.extend(
            self.response.iter().map(|(attribute, expression)| {
                (format!("response.{attribute}"), expression.as_str())
            }),
        );
        found
    }
}

impl Config for WebhookConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let has_scheme = self.url.starts_with("https://") || self.url.starts_with("http://");
        let host = self.url.split_once("://").map_or("", |(_, rest)| rest);
        if !has_scheme
            || host.is_empty()
            || host.starts_with('/')
            || self
                .url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError::at("url", "must be an http:// or https:// URL"));
        }
        if self.url.len() > MAX_WEBHOOK_URL_LEN {
            return Err(ConfigError::at(
                "url",
                format!("must be at most {MAX_WEBHOOK_URL_LEN} bytes"),
            ));
        }
        check_headers(&self.headers)?;
        if !(1..=MAX_WEBHOOK_TIMEOUT_MS).contains(&self.timeout_ms) {
            return Err(ConfigError::at(
                "timeout_ms",
                format!("must be between 1 and {MAX_WEBHOOK_TIMEOUT_MS}"),
            ));
        }
        if let Some(body) = &self.body {
            check_body(self.method, body)?;
        }
        check_mapping(&self.response)?;
        if self.retries > MAX_WEBHOOK_RETRIES {
            return Err(ConfigError::at(
                "retries",
                format!("must be between 0 and {MAX_WEBHOOK_RETRIES}"),
            ));
        }
        if self.retries > 0 && !self.method.is_idempotent() {
            return Err(ConfigError::at(
                "retries",
                format!(
                    "only GET, PUT and DELETE calls may be retried: a {} that reached the \
                     receiver could be applied twice",
                    self.method
                ),
            ));
        }
        if let Some(secret) = &self.secret
            && !is_webhook_secret(secret)
        {
            return Err(ConfigError::at(
                "secret",
                "must be 'whsec_' followed by the base64 of 24 to 64 random bytes",
            ));
        }
        Ok(())
    }
}

fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    if headers.len() > MAX_WEBHOOK_HEADERS {
        return Err(ConfigError::at(
            "headers",
            format!("must have at most {MAX_WEBHOOK_HEADERS} headers"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (name, value) in headers {
        let path = format!("headers.{name}");
        // RFC 9110 §5.6.2: a field name is a token.
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            return Err(ConfigError::at(&path, "is not a valid header name"));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_WEBHOOK_HEADERS.contains(&lower.as_str()) {
            return Err(ConfigError::at(
                &path,
                "is set by flowd and cannot be configured",
            ));
        }
        if !seen.insert(lower) {
            return Err(ConfigError::at(
                &path,
                "is listed twice (header names ignore case)",
            ));
        }
        // Visible ASCII, spaces and tabs: no CR or LF (header injection), nothing the HTTP
        // client would refuse at the time of the call.
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(ConfigError::at(
                &path,
                "must be printable ASCII, without CR or LF",
            ));
        }
    }
    Ok(())
}

fn check_body(method: WebhookMethod, body: &Value) -> Result<(), ConfigError> {
    if !method.has_body() {
        return Err(ConfigError::at(
            "body",
            format!("a {method} call has no body"),
        ));
    }
    let mut expressions = 0usize;
    for (path, text) in template_strings(body, "body") {
        let parts =
            parse_template(text).map_err(|error| ConfigError::at(&path, error.to_string()))?;
        expressions += parts
            .iter()
            .filter(|part| matches!(part, TemplatePart::Expression(_)))
            .count();
    }
    if expressions > MAX_WEBHOOK_EXPRESSIONS {
        return Err(ConfigError::at(
            "body",
            format!("must hold at most {MAX_WEBHOOK_EXPRESSIONS} expressions"),
        ));
    }
    Ok(())
}

fn check_mapping(response: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    if response.len() > MAX_WEBHOOK_EXPRESSIONS {
        return Err(ConfigError::at(
            "response",
            format!("must set at most {MAX_WEBHOOK_EXPRESSIONS} attributes"),
        ));
    }
    for (attribute, expression) in response {
        let path = format!("response.{attribute}");
        if !is_attribute_path(attribute) {
            return Err(ConfigError::at(&path, ATTRIBUTE_PATH_RULE));
        }
        non_blank(&path, expression)?;
        // `a` and `a.b` both mapped: which wins would depend on the order they are applied.
        let inside = attribute
            .match_indices('.')
            .map(|(at, _)| &attribute[..at])
            .find(|outer| response.contains_key(*outer));
        if let Some(outer) = inside {
            return Err(ConfigError::at(
                &path,
                format!("is inside '{outer}', which is mapped too"),
            ));
        }
    }
    Ok(())
}

/// Whether `secret` is a Standard Webhooks secret: [`WEBHOOK_SECRET_PREFIX`], then the
/// base64 (standard alphabet, padding optional) of 24 to 64 bytes.
pub fn is_webhook_secret(secret: &str) -> bool {
    secret
        .strip_prefix(WEBHOOK_SECRET_PREFIX)
        .and_then(base64_decoded_len)
        .is_some_and(|len| (24..=64).contains(&len))
}

/// The number of bytes `text` decodes to as standard base64, if it is base64.
fn base64_decoded_len(text: &str) -> Option<usize> {
    let data = text.trim_end_matches('=');
    let padding = text.len() - data.len();
    let alphabet = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !alphabet || padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
        return None;
    }
    // Bits of the last character beyond the last byte are ignored, as the HTTP adapter's
    // decoder does.
    match data.len() % 4 {
        1 => None,
        rest => Some(data.len() / 4 * 3 + rest.saturating_sub(1)),
    }
}

/// Settings of a `set_attribute` node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAttributeConfig {
    /// The attribute's name: letters, digits, `_`, `-` and `.` for nesting.
    pub attribute: String,
    /// The JSON value to store.
    pub value: Value,
}

impl Config for SetAttributeConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if is_attribute_path(&self.attribute) {
            Ok(())
        } else {
            Err(ConfigError::at("attribute", ATTRIBUTE_PATH_RULE))
        }
    }
}

/// What [`is_attribute_path`] asks of an attribute path, as the message of a refusal.
const ATTRIBUTE_PATH_RULE: &str = "must be letters, digits, '_' and '-', with '.' between parts";

/// Whether `path` names an attribute: at most 128 bytes of letters, digits, `_` and `-`, with
/// `.` between non-empty parts (for nesting).
fn is_attribute_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 128
        && path.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

/// How strongly a passkey ceremony asks for user verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UserVerification {
    /// Verification is required.
    Required,
    /// Verification is asked for where the authenticator can.
    #[default]
    Preferred,
    /// Verification is not asked for.
    Discouraged,
}

/// Settings of a `webauthn` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnConfig {
    /// The user-verification requirement.
    pub user_verification: UserVerification,
}

impl Config for WebauthnConfig {}

/// The input types a `prompt` field can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFieldType {
    /// Free text.
    Text,
    /// An e-mail address.
    Email,
    /// A number.
    Number,
    /// A phone number.
    Telephone,
    /// A calendar date.
    Date,
    /// A yes/no box.
    Checkbox,
    /// One of `options`.
    Dropdown,
}

/// One field of a `prompt` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptField {
    /// The attribute the answer is stored under.
    pub name: String,
    /// The input type.
    #[serde(rename = "type", default = "default_prompt_field_type")]
    pub field_type: PromptFieldType,
    /// The label shown; defaults to the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Placeholder text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Whether an answer is required.
    #[serde(default)]
    pub required: bool,
    /// The choices of a dropdown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

fn default_prompt_field_type() -> PromptFieldType {
    PromptFieldType::Text
}

/// Settings of a `prompt` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptConfig {
    /// The fields asked for, in order.
    pub fields: Vec<PromptField>,
}

impl Config for PromptConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.fields.is_empty() || self.fields.len() > MAX_LIST_LEN {
            return Err(ConfigError::at(
                "fields",
                format!("must have 1 to {MAX_LIST_LEN} fields"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (index, field) in self.fields.iter().enumerate() {
            let path = format!("fields[{index}]");
            let well_formed = !field.name.is_empty()
                && field.name.len() <= 64
                && field
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !well_formed {
                return Err(ConfigError::at(
                    &format!("{path}.name"),
                    "must be 1 to 64 letters, digits, '_' and '-'",
                ));
            }
            if !seen.insert(field.name.as_str()) {
                return Err(ConfigError::at(&format!("{path}.name"), "is used twice"));
            }
            if (field.field_type == PromptFieldType::Dropdown) == field.options.is_empty() {
                return Err(ConfigError::at(
                    &format!("{path}.options"),
                    "a dropdown needs options, and only a dropdown takes them",
                ));
            }
        }
        Ok(())
    }
}

/// Settings of a `totp_setup` node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TotpSetupConfig {
    /// The issuer shown in authenticator apps (defaults to the server's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Code length: 6 or 8.
    pub digits: u8,
    /// Code period in seconds: 30 or 60.
    pub period: u32,
}

impl Default for TotpSetupConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            digits: 6,
            period: 30,
        }
    }
}

impl Config for TotpSetupConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if !matches!(self.digits, 6 | 8) {
            return Err(ConfigError::at("digits", "must be 6 or 8"));
        }
        if !matches!(self.period, 30 | 60) {
            return Err(ConfigError::at("period", "must be 30 or 60"));
        }
        Ok(())
    }
}

/// The longest list a node config may hold (providers, methods, identifier types).
pub const MAX_LIST_LEN: usize = 64;

fn non_blank(path: &str, text: &str) -> Result<(), ConfigError> {
    if text.trim().is_empty() {
        Err(ConfigError::at(path, "must not be empty"))
    } else {
        Ok(())
    }
}

fn non_empty_unique<T: PartialEq>(path: &str, items: &[T]) -> Result<(), ConfigError> {
    if items.is_empty() {
        return Err(ConfigError::at(path, "must not be empty"));
    }
    if items.len() > MAX_LIST_LEN {
        return Err(ConfigError::at(
            path,
            format!("must have at most {MAX_LIST_LEN} items"),
        ));
    }
    for (index, item) in items.iter().enumerate() {
        if items[..index].contains(item) {
            return Err(ConfigError::at(
                &format!("{path}[{index}]"),
                "is listed twice",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod webhook_tests;
