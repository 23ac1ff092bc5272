//! Reading JSON objects field by field, so that errors name the full path and unknown fields
//! survive a round trip.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ModelError;

/// Joins a parent path and a child segment (`graph` + `nodes` → `graph.nodes`).
pub(crate) fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.starts_with('[')) {
        (true, _) => child.to_owned(),
        (false, true) => format!("{parent}{child}"),
        (false, false) => format!("{parent}.{child}"),
    }
}

/// Deserializes `value` as `T`, reporting the path of the first bad field below `path`.
pub(crate) fn deserialize_at<T: DeserializeOwned>(
    value: Value,
    path: &str,
) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = if inner == "." {
            path.to_owned()
        } else {
            join(path, &inner)
        };
        ModelError::InvalidField {
            path,
            message: error.into_inner().to_string(),
        }
    })
}

/// The fields of one JSON object, taken out one by one; what is left over is kept verbatim.
pub(crate) struct Fields {
    map: Map<String, Value>,
    path: String,
}

impl Fields {
    /// Starts reading `value`, which must be an object.
    pub(crate) fn new(value: Value, path: &str) -> Result<Self, ModelError> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: path.to_owned(),
            }),
            other => Err(ModelError::InvalidField {
                path: if path.is_empty() {
                    ".".to_owned()
                } else {
                    path.to_owned()
                },
                message: format!("expected an object, found {}", kind_of(&other)),
            }),
        }
    }

    /// The path of a field of this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Takes a field that must be present and not null.
    pub(crate) fn required<T: DeserializeOwned>(&mut self, key: &str) -> Result<T, ModelError> {
        self.optional(key)?.ok_or_else(|| ModelError::MissingField {
            path: self.path_of(key),
        })
    }

    /// Takes a field that may be absent or null.
    pub(crate) fn optional<T: DeserializeOwned>(
        &mut self,
        key: &str,
    ) -> Result<Option<T>, ModelError> {
        match self.map.shift_remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => deserialize_at(value, &self.path_of(key)).map(Some),
        }
    }

    /// Takes a field as raw JSON, leaving its interpretation to the caller.
    pub(crate) fn raw(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(key).filter(|value| !value.is_null())
    }

    /// The fields nobody asked for: the caller's unknown fields, kept for writing back.
    pub(crate) fn rest(self) -> Map<String, Value> {
        self.map
    }
}

/// A short name for the JSON type of `value`, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
