//! HTTP plumbing the protocol adapters share, so that each reads request bodies the same way:
//! [`read_json_object`] reads a body with a size limit and parses it as a JSON object. Each
//! adapter turns a [`BodyError`] into its own error shape; nothing here knows a protocol.

use actix_web::web::{self, BytesMut};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

/// Why a body is not a usable JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The connection failed while the body was read.
    #[error("the request body could not be read")]
    Unreadable,
    /// The body is longer than the limit.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("line {line}, column {column}: {message}")]
    InvalidJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's message.
        message: String,
    },
    /// The body is JSON, but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
}

/// Reads the whole body, refusing more than `limit` bytes (without reading further), and
/// parses it as a JSON object.
pub async fn read_json_object(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, BodyError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    parse_json_object(&body)
}

/// Parses a whole body as a JSON object: the step of [`read_json_object`] after reading,
/// public for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BodyError::NotAnObject),
        Err(error) => Err(BodyError::InvalidJson {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::{App, HttpResponse, test};

    use super::*;

    async fn echo(payload: web::Payload) -> HttpResponse {
        match read_json_object(payload, 16).await {
            Ok(map) => HttpResponse::Ok().json(map),
            Err(error) => HttpResponse::BadRequest().body(format!("{error:?}")),
        }
    }

    async fn call(body: &'static str) -> (u16, String) {
        let app = test::init_service(App::new().route("/", web::post().to(echo))).await;
        let request = test::TestRequest::post()
            .uri("/")
            .set_payload(body)
            .to_request();
        let response = test::call_service(&app, request).await;
        let status = response.status().as_u16();
        let text = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        (status, text)
    }

    #[actix_rt::test]
    async fn objects_pass_and_everything_else_says_why() {
        assert_eq!(call(r#"{"a": 1}"#).await, (200, r#"{"a":1}"#.to_owned()));
        assert_eq!(call("[1]").await.1, "NotAnObject");
        assert!(
            call("{nope")
                .await
                .1
                .starts_with("InvalidJson { line: 1, column: 2")
        );
        assert_eq!(
            call(r#"{"long": "0123456789"}"#).await.1,
            "TooLarge { limit: 16 }"
        );
    }
}
