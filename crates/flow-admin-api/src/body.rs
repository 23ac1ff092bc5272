//! Reading JSON request bodies with a size limit and errors in the admin API's shape:
//! `invalid_json` with line and column, `invalid_request` with the field path, 413 over the limit.

use actix_web::web;
use flow_http::BodyError;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::AdminError;

/// Reads the whole body, refusing more than `limit` bytes, and parses it as a JSON object.
pub(crate) async fn read_object(
    payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, AdminError> {
    flow_http::read_json_object(payload, limit)
        .await
        .map_err(body_error)
}

/// Reads the whole body as bytes, refusing more than `limit`.
pub(crate) async fn read_bytes(
    payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, AdminError> {
    flow_http::read_body(payload, limit)
        .await
        .map_err(body_error)
}

/// The admin API's error for a body that cannot be used.
fn body_error(error: BodyError) -> AdminError {
    match error {
        BodyError::Unreadable => AdminError::BodyUnreadable,
        BodyError::TimedOut => AdminError::RequestTimeout,
        BodyError::TooLarge { limit } => AdminError::PayloadTooLarge { limit },
        BodyError::InvalidJson {
            line,
            column,
            message,
        } => AdminError::InvalidJson {
            line,
            column,
            message,
        },
        BodyError::NotAnObject => AdminError::InvalidRequest {
            field: ".".to_owned(),
            message: "expected a JSON object".to_owned(),
        },
    }
}

/// Takes field `key` out of `object`; absent or `null` is `None`. Errors name the field path,
/// including the path inside the field when the model reports one (`graph.nodes[1].type`).
pub(crate) fn take<T: DeserializeOwned>(
    object: &mut Map<String, Value>,
    key: &str,
) -> Result<Option<T>, AdminError> {
    match object.shift_remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_path_to_error::deserialize(value)
            .map(Some)
            .map_err(|error| {
                let inner = error.path().to_string();
                let message = error.into_inner().to_string();
                let field = if inner == "." {
                    key.to_owned()
                } else {
                    format!("{key}.{inner}")
                };
                AdminError::InvalidRequest { field, message }
            }),
    }
}

/// Like [`take`], for a field that must be present.
pub(crate) fn require<T: DeserializeOwned>(
    object: &mut Map<String, Value>,
    key: &str,
) -> Result<T, AdminError> {
    take(object, key)?.ok_or_else(|| AdminError::InvalidRequest {
        field: key.to_owned(),
        message: "missing field".to_owned(),
    })
}
