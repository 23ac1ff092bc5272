//! The graph of a flow: nodes and edges in seed 002's JSON shape, unknown fields kept.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use crate::fields::{Fields, deserialize_at, join, kind_of};
use crate::{ModelError, NodeType};

/// The nodes and edges of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Graph {
    /// The nodes, in the order the editor saved them.
    pub nodes: Vec<Node>,
    /// The edges, in the order the editor saved them.
    pub edges: Vec<Edge>,
    /// Fields this version of flowd does not know, kept for writing back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Graph {
    /// Reads a graph from a JSON value; errors name paths below `graph`.
    pub fn from_value(value: Value) -> Result<Self, ModelError> {
        Self::from_value_at(value, "graph")
    }

    pub(crate) fn from_value_at(value: Value, path: &str) -> Result<Self, ModelError> {
        let mut fields = Fields::new(value, path)?;
        let nodes = list_at(&mut fields, "nodes", Node::from_value_at)?;
        let edges = list_at(&mut fields, "edges", Edge::from_value_at)?;
        Ok(Self {
            nodes,
            edges,
            extra: fields.rest(),
        })
    }
}

/// Reads the array field `key` item by item with `read`, so item errors carry their index.
fn list_at<T>(
    fields: &mut Fields,
    key: &str,
    read: fn(Value, &str) -> Result<T, ModelError>,
) -> Result<Vec<T>, ModelError> {
    let path = fields.path_of(key);
    match fields.raw(key) {
        None => Err(ModelError::MissingField { path }),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| read(item, &join(&path, &format!("[{index}]"))))
            .collect(),
        Some(other) => Err(ModelError::InvalidField {
            path,
            message: format!("expected an array, found {}", kind_of(&other)),
        }),
    }
}

/// One step of a flow as the editor draws it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    /// Unique id within the graph; edges refer to it.
    pub id: String,
    /// What the node does; unknown type names are kept so the validator can report them.
    #[serde(rename = "type")]
    pub node_type: NodeType,
    /// The type's settings, kept verbatim; [`crate::NodeKind::parse`] reads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Where the editor placed the node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Fields this version of flowd does not know, kept for writing back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Node {
    fn from_value_at(value: Value, path: &str) -> Result<Self, ModelError> {
        let mut fields = Fields::new(value, path)?;
        let id = fields.required("id")?;
        let node_type = fields.required("type")?;
        let config = fields.raw("config");
        let position = fields.optional("position")?;
        Ok(Self {
            id,
            node_type,
            config,
            position,
            extra: fields.rest(),
        })
    }
}

/// A node's place on the editor's canvas; numbers are kept exactly as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Horizontal coordinate.
    pub x: Number,
    /// Vertical coordinate.
    pub y: Number,
}

/// A directed connection between two nodes, optionally labelled with a branch condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// Id of the node the edge leaves.
    pub source: String,
    /// Id of the node the edge enters.
    pub target: String,
    /// The branch this edge takes: `true`/`false` from a condition, a case value or `default`
    /// from a switch; absent on the single edge of an ordinary node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Fields this version of flowd does not know, kept for writing back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Edge {
    fn from_value_at(value: Value, path: &str) -> Result<Self, ModelError> {
        let mut fields = Fields::new(value, path)?;
        let source = fields.required("source")?;
        let target = fields.required("target")?;
        let condition = fields
            .raw("condition")
            .map(|raw| condition_text(raw, &fields.path_of("condition")))
            .transpose()?;
        Ok(Self {
            source,
            target,
            condition,
            extra: fields.rest(),
        })
    }

    /// `source->target`, the way messages name an edge.
    pub fn label(&self) -> String {
        format!("{}->{}", self.source, self.target)
    }
}

/// Edge conditions are strings on the wire; editors also write bare `true`/`false`, which mean
/// the same branch.
fn condition_text(raw: Value, path: &str) -> Result<String, ModelError> {
    match raw {
        Value::Bool(flag) => Ok(flag.to_string()),
        other => deserialize_at(other, path),
    }
}

macro_rules! deserialize_via_value {
    ($type:ty, $path:literal) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = Value::deserialize(deserializer)?;
                Self::from_value_at(value, $path).map_err(serde::de::Error::custom)
            }
        }
    };
}

deserialize_via_value!(Graph, "");
deserialize_via_value!(Node, "");
deserialize_via_value!(Edge, "");
