//! The names of node types, as written in a graph's `type` field.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A node's `type`. Names flowd does not know stay as [`NodeType::Other`] so that a draft with
/// a typo (or an embedder's own node type) still loads and the validator can say what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum NodeType {
    /// Where every execution begins.
    Start,
    /// A successful end; what it does depends on the flow type.
    Success,
    /// An unsuccessful end.
    Failure,
    /// A two-way branch on an expression.
    Condition,
    /// A many-way branch on an expression's value.
    Switch,
    /// Asks for the user's identifier (e-mail, username, phone).
    IdentifierInput,
    /// Asks for a password (verified in login, set in registration and resets).
    PasswordInput,
    /// Lets the user pick a social login provider.
    SocialProviderSelect,
    /// Asks for a second factor.
    MfaVerification,
    /// Asks for a one-time code sent earlier in the flow.
    OtpInput,
    /// Sends an e-mail (optionally with a one-time code).
    SendEmail,
    /// Sends an SMS (optionally with a one-time code).
    SendSms,
    /// Calls an HTTP endpoint.
    Webhook,
    /// Sets an attribute of the execution.
    SetAttribute,
    /// A passkey ceremony (registration or authentication, by flow type).
    Webauthn,
    /// Asks for arbitrary profile fields.
    Prompt,
    /// Enrols a TOTP authenticator.
    TotpSetup,
    /// A type name flowd does not know itself.
    Other(String),
}

/// Every built-in node type with its wire name, in catalogue order.
const BUILT_IN: [(NodeType, &str); 17] = [
    (NodeType::Start, "start"),
    (NodeType::Success, "success"),
    (NodeType::Failure, "failure"),
    (NodeType::Condition, "condition"),
    (NodeType::Switch, "switch"),
    (NodeType::IdentifierInput, "identifier_input"),
    (NodeType::PasswordInput, "password_input"),
    (NodeType::SocialProviderSelect, "social_provider_select"),
    (NodeType::MfaVerification, "mfa_verification"),
    (NodeType::OtpInput, "otp_input"),
    (NodeType::SendEmail, "send_email"),
    (NodeType::SendSms, "send_sms"),
    (NodeType::Webhook, "webhook"),
    (NodeType::SetAttribute, "set_attribute"),
    (NodeType::Webauthn, "webauthn"),
    (NodeType::Prompt, "prompt"),
    (NodeType::TotpSetup, "totp_setup"),
];

/// Broad families of node types, as seed 002's catalogue groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeCategory {
    /// Waits for the user.
    Input,
    /// Steers the execution.
    Control,
    /// Does something on the server.
    Action,
}

impl NodeType {
    /// Every built-in node type, in catalogue order.
    pub fn built_in() -> impl Iterator<Item = NodeType> {
        BUILT_IN.iter().map(|(node_type, _)| node_type.clone())
    }

    /// Reads a wire name; unknown names become [`NodeType::Other`].
    pub fn from_name(name: &str) -> Self {
        BUILT_IN.iter().find(|(_, wire)| *wire == name).map_or_else(
            || Self::Other(name.to_owned()),
            |(node_type, _)| node_type.clone(),
        )
    }

    /// The wire name (`identifier_input`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => BUILT_IN
                .iter()
                .find(|(node_type, _)| node_type == known)
                .map_or("", |(_, wire)| wire),
        }
    }

    /// The family of a built-in type; `None` for [`NodeType::Other`].
    pub fn category(&self) -> Option<NodeCategory> {
        Some(match self {
            Self::Start | Self::Success | Self::Failure | Self::Condition | Self::Switch => {
                NodeCategory::Control
            }
            Self::IdentifierInput
            | Self::PasswordInput
            | Self::SocialProviderSelect
            | Self::MfaVerification
            | Self::OtpInput
            | Self::Webauthn
            | Self::Prompt
            | Self::TotpSetup => NodeCategory::Input,
            Self::SendEmail | Self::SendSms | Self::Webhook | Self::SetAttribute => {
                NodeCategory::Action
            }
            Self::Other(_) => return None,
        })
    }

    /// Whether a node of this type ends the execution.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Success | Self::Failure)
    }
}

impl fmt::Display for NodeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for NodeType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NodeType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::from_name(&name))
    }
}
