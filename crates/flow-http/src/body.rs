//! Reading a request body: [`read_json_object`] reads it with a size limit and parses it as a
//! JSON object whose keys are unique at every level.

use actix_web::web::{self, BytesMut};
use futures_util::StreamExt as _;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body is not a usable JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The connection failed while the body was read.
    #[error("the request body could not be read")]
    Unreadable,
    /// The body did not arrive within the request deadline (see [`crate::BodyDeadline`]); the
    /// answer should be 408, and the connection is closed after it.
    #[error("the request body did not arrive in time")]
    TimedOut,
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
    payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, BodyError> {
    parse_json_object(&read_body(payload, limit).await?)
}

/// Reads the whole body, refusing more than `limit` bytes (without reading further).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<BytesMut, BodyError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            if crate::deadline::is_deadline_error(&error) {
                BodyError::TimedOut
            } else {
                BodyError::Unreadable
            }
        })?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a whole body as a JSON object with unique keys: the step of [`read_json_object`]
/// after reading, public for the fuzz targets in `fuzz/`.
#[doc(hidden)]
pub fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, BodyError> {
    match serde_json::from_slice::<UniqueKeys>(body).map(|parsed| parsed.0) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BodyError::NotAnObject),
        Err(error) => Err(BodyError::InvalidJson {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }),
    }
}

/// A JSON value parsed with every object's keys unique: a repeated key is an error (serde_json
/// alone keeps the last one), so that no two readers of one body can see different values.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key \"{}\"",
                    crate::echo(&key)
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::{App, HttpResponse, test};

    use super::*;

    async fn echo(payload: web::Payload) -> HttpResponse {
        match read_json_object(payload, 64).await {
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
            call(r#"{"long": "0123456789012345678901234567890123456789012345678901234567890"}"#)
                .await
                .1,
            "TooLarge { limit: 64 }"
        );
    }

    #[actix_rt::test]
    async fn repeated_keys_are_refused_at_every_level() {
        let top = call(r#"{"a":1,"a":2}"#).await.1;
        assert!(top.contains("duplicate key"), "{top}");
        let nested = call(r#"{"b":[{"c":1,"c":1}]}"#).await.1;
        assert!(nested.contains("duplicate key"), "{nested}");
        assert_eq!(call(r#"{"a":{"a":1}}"#).await.0, 200);
    }

    #[::core::prelude::v1::test]
    fn unique_keys_parse_like_serde_json() {
        let text = r#"{"s":"x","n":-1,"u":18446744073709551615,"f":1.5,"b":true,"z":null,"l":[1,{"k":[]}]}"#;
        let ours = serde_json::from_str::<UniqueKeys>(text).unwrap().0;
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(serde_json::to_string(&ours).unwrap(), text);
    }
}
