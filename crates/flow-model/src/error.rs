//! The one error type of `flow-model`: why a JSON document is not a flow.

/// A document that cannot be read as a flow, graph, node or edge.
///
/// Every variant that concerns a field names its path (`graph.nodes[2].type`), so an editor can
/// point at the exact place that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The text is not JSON at all.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser saw.
        message: String,
    },
    /// A required field is absent.
    #[error("{path}: missing field")]
    MissingField {
        /// Path of the missing field.
        path: String,
    },
    /// A field is present but has the wrong shape or value.
    #[error("{path}: {message}")]
    InvalidField {
        /// Path of the offending field.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ModelError {
    /// The path of the field this error is about, if it is about one.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Syntax { .. } => None,
            Self::MissingField { path } | Self::InvalidField { path, .. } => Some(path),
        }
    }

    pub(crate) fn from_syntax(error: &serde_json::Error) -> Self {
        Self::Syntax {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }
    }
}
