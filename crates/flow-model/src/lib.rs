#![doc = include_str!("../README.md")]

mod error;
mod fields;
mod flow;
mod graph;
mod kind;
mod node_type;
mod report;
mod validate;

pub use error::ModelError;
pub use flow::{
    FLOW_FIELDS, Flow, FlowName, FlowStatus, FlowType, InvalidFlowName, MAX_FLOW_NAME_LEN,
};
pub use graph::{Edge, Graph, Node, Position};
pub use kind::*;
pub use node_type::{NodeCategory, NodeType};
pub use report::{EdgeRef, Finding, FindingCode, Report, Severity};
pub use validate::{
    CustomNodeSpec, DEFAULT_BRANCH, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LEN, NodeRegistry,
    Successor, Successors, ValidNode, ValidatedGraph, allowed_in, check, parse_expression,
    validate,
};
