//! The extension point for embedders: a [`NodeHandler`] runs the steps of a custom node type
//! (`Op::Custom`), registered by type name.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{EngineError, ExecutionId, Form, RequestContext, Submission, TenantId, UserId};

/// What a handler sees of the execution, and may change.
#[derive(Debug)]
pub struct HandlerContext<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The execution.
    pub execution_id: &'a ExecutionId,
    /// The graph node being run.
    pub node_id: &'a str,
    /// The program step being run (use it in the [`Form`] the handler returns).
    pub step: usize,
    /// The identified user, if any.
    pub user_id: Option<&'a UserId>,
    /// The request that started the execution.
    pub request: &'a RequestContext,
    /// The execution's attributes; changes are persisted with the step.
    pub attributes: &'a mut Map<String, Value>,
    /// Authentication methods completed; a handler that authenticates adds its method.
    pub methods: &'a mut Vec<String>,
    /// Now (Unix seconds).
    pub now_secs: i64,
}

/// What a handler decided.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HandlerOutcome {
    /// The step is done; continue with the next one.
    Continue,
    /// Wait for the user: show this form, then call the handler again with the submission.
    Prompt(Form),
    /// End the execution unsuccessfully.
    Fail {
        /// Stable machine code.
        code: String,
        /// Message for the user.
        message: String,
    },
}

/// Runs the steps of one custom node type.
///
/// The engine calls [`NodeHandler::run`] with `submission: None` when the step is reached, and
/// again with the user's submission after the handler returned [`HandlerOutcome::Prompt`].
/// Handlers run synchronously on the engine's thread, like the ports (see the crate docs).
pub trait NodeHandler: Send + Sync {
    /// Runs the step with the node's `config`.
    fn run(
        &self,
        context: &mut HandlerContext<'_>,
        config: &Value,
        submission: Option<&Submission>,
    ) -> Result<HandlerOutcome, EngineError>;
}

/// Handlers by node type name.
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    handlers: HashMap<String, Arc<dyn NodeHandler>>,
}

impl std::fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("HandlerRegistry")
            .field("node_types", &names)
            .finish()
    }
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the handler of `node_type`.
    pub fn register(&mut self, node_type: &str, handler: Arc<dyn NodeHandler>) -> &mut Self {
        self.handlers.insert(node_type.to_owned(), handler);
        self
    }

    /// The handler of `node_type`.
    pub fn get(&self, node_type: &str) -> Option<&Arc<dyn NodeHandler>> {
        self.handlers.get(node_type)
    }
}
