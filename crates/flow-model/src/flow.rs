//! A flow: the named, typed, versioned container of one graph (seed 002's flow object).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::fields::Fields;
use crate::{Graph, ModelError};

/// One flow definition as the admin API shows it: identity, metadata, status and its graph.
///
/// Unknown top-level fields are kept in [`Flow::extra`] and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    /// Stable id in the seed's style (`flow_login_default`).
    pub id: String,
    /// Unique slug per tenant; the `:slug` of the authentik executor.
    pub name: FlowName,
    /// Human-readable name.
    pub display_name: String,
    /// Optional longer description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What journey this flow implements.
    #[serde(rename = "type")]
    pub flow_type: FlowType,
    /// Lifecycle status.
    pub status: FlowStatus,
    /// Version number, starting at 1; each compile makes a new one.
    pub version: u32,
    /// The nodes and edges.
    pub graph: Graph,
    /// Whether the current graph has been compiled.
    pub compiled: bool,
    /// When the current graph was compiled (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiled_at: Option<i64>,
    /// Creation time (Unix seconds).
    pub created_at: i64,
    /// Last update time (Unix seconds).
    pub updated_at: i64,
    /// Fields this version of flowd does not know, kept for writing back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The top-level fields a flow document defines. [`Flow::extra`] never holds one of these
/// names (see [`Flow::drop_shadowing_extras`]), so a stored document has each key once.
pub const FLOW_FIELDS: [&str; 12] = [
    "id",
    "name",
    "display_name",
    "description",
    "type",
    "status",
    "version",
    "graph",
    "compiled",
    "compiled_at",
    "created_at",
    "updated_at",
];

impl Flow {
    /// Removes extra fields named like a defined field: serialised, they would make a second
    /// copy of that key, and a reader taking the last copy would see a forged value.
    pub fn drop_shadowing_extras(&mut self) {
        for field in FLOW_FIELDS {
            self.extra.shift_remove(field);
        }
    }

    /// Parses a flow from JSON text; errors name the line and column or the field path.
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ModelError::from_syntax(&e))?;
        Self::from_value(value)
    }

    /// Reads a flow from a JSON value.
    ///
    /// `name`, `type` and `graph` are required. The rest default as a freshly imported flow:
    /// `id` is `flow_` + the name with `_` for `-`, `display_name` is the name, `status` is
    /// `draft`, `version` is 1, `compiled` is false and timestamps are 0.
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        let mut fields = Fields::new(value, "")?;
        let name: FlowName = fields.required("name")?;
        let id = fields
            .optional("id")?
            .unwrap_or_else(|| format!("flow_{}", name.as_str().replace('-', "_")));
        let display_name = fields
            .optional("display_name")?
            .unwrap_or_else(|| name.as_str().to_owned());
        let description = fields.optional("description")?;
        let flow_type = fields.required("type")?;
        let status = fields.optional("status")?.unwrap_or(FlowStatus::Draft);
        let version = fields.optional("version")?.unwrap_or(1);
        let graph_path = fields.path_of("graph");
        let graph = fields
            .raw("graph")
            .ok_or_else(|| ModelError::MissingField {
                path: graph_path.clone(),
            })
            .and_then(|raw| Graph::from_value_at(raw, &graph_path))?;
        let compiled = fields.optional("compiled")?.unwrap_or(false);
        let compiled_at = fields.optional("compiled_at")?;
        let created_at = fields.optional("created_at")?.unwrap_or(0);
        let updated_at = fields.optional("updated_at")?.unwrap_or(0);
        Ok(Self {
            id,
            name,
            display_name,
            description,
            flow_type,
            status,
            version,
            graph,
            compiled,
            compiled_at,
            created_at,
            updated_at,
            extra: fields.rest(),
        })
    }
}

impl<'de> Deserialize<'de> for Flow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// A flow's name: 1 to 64 lowercase ASCII letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FlowName(String);

/// The longest flow name accepted.
pub const MAX_FLOW_NAME_LEN: usize = 64;

impl FlowName {
    /// Checks `name` and wraps it.
    pub fn parse(name: &str) -> Result<Self, InvalidFlowName> {
        let well_formed = (1..=MAX_FLOW_NAME_LEN).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidFlowName)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a flow name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a flow name is 1 to 64 lowercase letters, digits and hyphens")]
pub struct InvalidFlowName;

impl TryFrom<String> for FlowName {
    type Error = InvalidFlowName;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse(&name)
    }
}

impl From<FlowName> for String {
    fn from(name: FlowName) -> Self {
        name.0
    }
}

impl AsRef<str> for FlowName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FlowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The journey a flow implements; it decides what some nodes mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FlowType {
    /// Sign an existing user in.
    Login,
    /// Create a new user.
    Registration,
    /// Set a new password for a user who forgot theirs.
    PasswordReset,
    /// Enrol a new authentication factor for a user.
    MfaSetup,
    /// Regain access to an account.
    AccountRecovery,
    /// Create a user from an invitation.
    InvitedRegistration,
}

impl FlowType {
    /// Every flow type, in a stable order.
    pub const ALL: [FlowType; 6] = [
        Self::Login,
        Self::Registration,
        Self::PasswordReset,
        Self::MfaSetup,
        Self::AccountRecovery,
        Self::InvitedRegistration,
    ];

    /// The wire spelling (`password_reset`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Registration => "registration",
            Self::PasswordReset => "password_reset",
            Self::MfaSetup => "mfa_setup",
            Self::AccountRecovery => "account_recovery",
            Self::InvitedRegistration => "invited_registration",
        }
    }

    /// The flow type spelled `text` on the wire (the inverse of [`FlowType::as_str`]).
    pub fn from_wire(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|flow_type| flow_type.as_str() == text)
    }

    /// Whether this flow creates a new user (and so collects rather than looks up identifiers).
    pub fn creates_user(self) -> bool {
        matches!(self, Self::Registration | Self::InvitedRegistration)
    }

    /// Whether this flow ends by setting a new password for an existing user.
    pub fn resets_password(self) -> bool {
        matches!(self, Self::PasswordReset | Self::AccountRecovery)
    }
}

impl fmt::Display for FlowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flow's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowStatus {
    /// Being edited; may hold an invalid graph; cannot be executed.
    Draft,
    /// Compiled and executable.
    Active,
    /// Switched off; executions in flight finish, new ones cannot start.
    Inactive,
}

impl FlowStatus {
    /// The wire spelling (`active`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }

    /// The status spelled `text` on the wire (the inverse of [`FlowStatus::as_str`]).
    pub fn from_wire(text: &str) -> Option<Self> {
        [Self::Draft, Self::Active, Self::Inactive]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}
