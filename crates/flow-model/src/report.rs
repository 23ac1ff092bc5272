//! The validator's findings: stable codes, readable messages, and where they point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The result of validating a flow: `valid` is true exactly when there are no errors.
///
/// Both lists are always present on the wire, so clients need no special case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    /// True when the flow can be compiled.
    pub valid: bool,
    /// Problems that stop compilation (absent on the wire means none).
    #[serde(default)]
    pub errors: Vec<Finding>,
    /// Problems worth knowing about that do not stop compilation (absent means none).
    #[serde(default)]
    pub warnings: Vec<Finding>,
}

impl Report {
    /// Files a finding under errors or warnings according to its code's severity.
    pub(crate) fn push(&mut self, finding: Finding) {
        match finding.code.severity() {
            Severity::Error => self.errors.push(finding),
            Severity::Warning => self.warnings.push(finding),
        }
        self.valid = self.errors.is_empty();
    }

    /// Whether any finding (error or warning) has `code`.
    pub fn has(&self, code: FindingCode) -> bool {
        self.errors
            .iter()
            .chain(&self.warnings)
            .any(|f| f.code == code)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in self.errors.iter().chain(&self.warnings) {
            writeln!(f, "{}: {}", finding.code, finding.message)?;
        }
        Ok(())
    }
}

/// One thing the validator found, pointing at a node or an edge where it can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The stable machine code.
    pub code: FindingCode,
    /// A sentence for people.
    pub message: String,
    /// The node concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The edge concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<EdgeRef>,
}

impl Finding {
    pub(crate) fn new(code: FindingCode, message: String) -> Self {
        Self {
            code,
            message,
            node_id: None,
            edge: None,
        }
    }

    pub(crate) fn on_node(mut self, node_id: &str) -> Self {
        self.node_id = Some(node_id.to_owned());
        self
    }

    pub(crate) fn on_edge(mut self, source: &str, target: &str) -> Self {
        self.edge = Some(EdgeRef {
            source: source.to_owned(),
            target: target.to_owned(),
        });
        self
    }
}

/// An edge named by its endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeRef {
    /// The node the edge leaves.
    pub source: String,
    /// The node the edge enters.
    pub target: String,
}

/// Whether a finding stops compilation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Stops compilation.
    Error,
    /// Reported only.
    Warning,
}

/// The stable codes of validation findings; their spelling is part of the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingCode {
    /// No node of type `start`.
    MissingStartNode,
    /// More than one `start` node.
    MultipleStartNodes,
    /// Two nodes share an id.
    DuplicateNodeId,
    /// A node's type is neither built in nor registered.
    UnknownNodeType,
    /// A node's config does not fit its type.
    InvalidNodeConfig,
    /// An edge's source or target does not exist.
    InvalidEdge,
    /// An edge's `condition` is not one its source node can produce.
    InvalidEdgeCondition,
    /// No success node can be reached from the start.
    UnreachableSuccess,
    /// A node cannot be reached from the start (warning).
    UnusedNode,
    /// A node that is not a terminal has no way out.
    DeadEnd,
    /// A condition or a webhook lacks its `true` or `false` edge.
    MissingBranch,
    /// A switch lacks its `default` edge.
    MissingDefault,
    /// A node has more than one edge for the same outcome.
    AmbiguousEdge,
    /// A cycle that could spin forever without asking the user anything.
    LoopWithoutInput,
    /// A node type that makes no sense in this flow type.
    NodeNotAllowed,
    /// A success or failure node has an outgoing edge.
    TerminalHasOutgoingEdge,
    /// An expression (of a condition, a switch, a webhook's body or mapping) may cost more to
    /// evaluate than the limit allows.
    ExpressionTooCostly,
}

impl FindingCode {
    /// Every code, in documentation order.
    pub const ALL: [FindingCode; 17] = [
        Self::MissingStartNode,
        Self::MultipleStartNodes,
        Self::DuplicateNodeId,
        Self::UnknownNodeType,
        Self::InvalidNodeConfig,
        Self::InvalidEdge,
        Self::InvalidEdgeCondition,
        Self::UnreachableSuccess,
        Self::UnusedNode,
        Self::DeadEnd,
        Self::MissingBranch,
        Self::MissingDefault,
        Self::AmbiguousEdge,
        Self::LoopWithoutInput,
        Self::NodeNotAllowed,
        Self::TerminalHasOutgoingEdge,
        Self::ExpressionTooCostly,
    ];

    /// Whether this code is an error or a warning.
    pub fn severity(self) -> Severity {
        match self {
            Self::UnusedNode => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// The wire spelling (`missing_start_node`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingStartNode => "missing_start_node",
            Self::MultipleStartNodes => "multiple_start_nodes",
            Self::DuplicateNodeId => "duplicate_node_id",
            Self::UnknownNodeType => "unknown_node_type",
            Self::InvalidNodeConfig => "invalid_node_config",
            Self::InvalidEdge => "invalid_edge",
            Self::InvalidEdgeCondition => "invalid_edge_condition",
            Self::UnreachableSuccess => "unreachable_success",
            Self::UnusedNode => "unused_node",
            Self::DeadEnd => "dead_end",
            Self::MissingBranch => "missing_branch",
            Self::MissingDefault => "missing_default",
            Self::AmbiguousEdge => "ambiguous_edge",
            Self::LoopWithoutInput => "loop_without_input",
            Self::NodeNotAllowed => "node_not_allowed",
            Self::TerminalHasOutgoingEdge => "terminal_has_outgoing_edge",
            Self::ExpressionTooCostly => "expression_too_costly",
        }
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
