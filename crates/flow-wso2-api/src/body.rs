//! Reading the request body with a size limit and parsing it as a JSON object, with errors in
//! the API's shape (400 `FE-60007` for bad JSON, 413 `FE-60013` over the limit).

use actix_web::web;
use serde_json::{Map, Value};

use crate::Wso2Error;

/// Reads the whole body, refusing more than `limit` bytes, and parses it as a JSON object.
pub(crate) async fn read_object(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, Wso2Error> {
    use actix_web::web::BytesMut;
    use futures_util::StreamExt as _;

    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Wso2Error::BodyUnreadable)?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(Wso2Error::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value = serde_json::from_slice(&body).map_err(|error| Wso2Error::InvalidJson {
        detail: format!("line {}, column {}: {error}", error.line(), error.column()),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(Wso2Error::InvalidJson {
            detail: "the body must be a JSON object".to_owned(),
        }),
    }
}
