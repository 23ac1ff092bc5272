//! Reading the request body with a size limit and parsing it as a JSON object, with errors in
//! the API's shape (400 `FE-60007` for bad JSON, 413 `FE-60013` over the limit).

use actix_web::web;
use flow_http::BodyError;
use serde_json::{Map, Value};

use crate::Wso2Error;

/// Reads the whole body, refusing more than `limit` bytes, and parses it as a JSON object.
pub(crate) async fn read_object(
    payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, Wso2Error> {
    flow_http::read_json_object(payload, limit)
        .await
        .map_err(body_error)
}

/// Parses a body already read as a JSON object (the fuzz targets' way in).
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Wso2Error> {
    flow_http::parse_json_object(body).map_err(body_error)
}

/// The API's error for a body that is not a usable JSON object.
fn body_error(error: BodyError) -> Wso2Error {
    match error {
        BodyError::Unreadable => Wso2Error::BodyUnreadable,
        BodyError::TimedOut => Wso2Error::RequestTimeout,
        BodyError::TooLarge { limit } => Wso2Error::PayloadTooLarge { limit },
        BodyError::InvalidJson { .. } | BodyError::NotAnObject => Wso2Error::InvalidJson {
            detail: error.to_string(),
        },
    }
}
