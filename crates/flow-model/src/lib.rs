#![doc = include_str!("../README.md")]

mod cost;
mod error;
mod expression;
mod fields;
mod flow;
mod graph;
mod kind;
mod node_type;
mod pattern;
mod report;
mod template;
mod validate;

pub use cost::{ASSUMED_VALUE_SIZE, EXPRESSION_COST_LIMIT, Size, VariableSizes, estimate_cost};
pub use error::ModelError;
pub use expression::{
    ExpressionError, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LEN, MAX_TREE_DEPTH, compile_expression,
    parse_expression,
};
pub use flow::{
    FLOW_FIELDS, Flow, FlowName, FlowStatus, FlowType, InvalidFlowName, MAX_FLOW_NAME_LEN,
};
pub use graph::{Edge, Graph, Node, Position};
pub use kind::*;
pub use node_type::{NodeCategory, NodeType};
pub use pattern::REGEX_SIZE_LIMIT;
pub use report::{EdgeRef, Finding, FindingCode, Report, Severity};
pub use template::{TemplateError, TemplatePart, parse_template, template_strings};
pub use validate::{
    CustomNodeSpec, DEFAULT_BRANCH, FALLBACK_BRANCH, NodeRegistry, Successor, Successors,
    ValidNode, ValidatedGraph, allowed_in, check, validate,
};
