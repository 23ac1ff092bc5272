//! The execute request, read field by field from the JSON object so that each mistake gets its
//! own code: `{flowType?, flowName?, applicationId?, flowId?, actionId?, inputs?}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Wso2Error;

/// The most inputs one submission may carry.
pub(crate) const MAX_INPUTS: usize = 64;

/// A parsed execute request. Blank strings count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExecuteRequest {
    /// Continue this execution; absent means start one.
    pub(crate) flow_id: Option<String>,
    /// The WSO2 flow type to start (ignored when continuing: real clients resend it).
    pub(crate) flow_type: Option<String>,
    /// Extension: start the active flow with this name.
    pub(crate) flow_name: Option<String>,
    /// The button the user pressed; absent means the step's primary action.
    pub(crate) action_id: Option<String>,
    /// The inputs by `config.identifier`.
    pub(crate) inputs: BTreeMap<String, String>,
}

impl ExecuteRequest {
    /// Reads the request from the body's JSON object. Unknown fields (`applicationId`, ...)
    /// are ignored.
    pub(crate) fn from_object(mut object: Map<String, Value>) -> Result<Self, Wso2Error> {
        let action_id = match object.shift_remove("actionId") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text).filter(|text| !text.trim().is_empty()),
            Some(other) => return Err(Wso2Error::InvalidAction(other.to_string())),
        };
        Ok(Self {
            flow_id: string(&mut object, "flowId")?,
            flow_type: string(&mut object, "flowType")?,
            flow_name: string(&mut object, "flowName")?,
            action_id,
            inputs: inputs(object.shift_remove("inputs"))?,
        })
    }
}

impl ExecuteRequest {
    /// The request written back as the JSON object that reads as it (the fuzz targets'
    /// round trip).
    pub(crate) fn to_object(&self) -> Map<String, Value> {
        let mut object = Map::new();
        let fields = [
            ("flowId", &self.flow_id),
            ("flowType", &self.flow_type),
            ("flowName", &self.flow_name),
            ("actionId", &self.action_id),
        ];
        for (field, value) in fields {
            if let Some(text) = value {
                object.insert(field.to_owned(), Value::String(text.clone()));
            }
        }
        if !self.inputs.is_empty() {
            let inputs = self
                .inputs
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect();
            object.insert("inputs".to_owned(), Value::Object(inputs));
        }
        object
    }
}

/// An optional string field; blank is absent.
fn string(
    object: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, Wso2Error> {
    match object.shift_remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            Ok(Some(text.trim().to_owned()).filter(|text| !text.is_empty()))
        }
        Some(_) => Err(Wso2Error::InvalidField {
            field,
            expected: "a string",
        }),
    }
}

/// `inputs`: an object whose values are all strings, as WSO2 requires.
fn inputs(value: Option<Value>) -> Result<BTreeMap<String, String>, Wso2Error> {
    let object = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(Wso2Error::InvalidInputs(
                "inputs must be an object of strings".to_owned(),
            ));
        }
    };
    if object.len() > MAX_INPUTS {
        return Err(Wso2Error::InvalidInputs(format!(
            "at most {MAX_INPUTS} inputs are accepted"
        )));
    }
    object
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            _ => Err(Wso2Error::InvalidInputs(format!(
                "the value of input {key:?} must be a string"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<ExecuteRequest, Wso2Error> {
        match value {
            Value::Object(object) => ExecuteRequest::from_object(object),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn reads_every_field_and_treats_blank_as_absent() {
        let request = parse(json!({
            "flowId": " 5f31ce20-872d-4334-8f9f-3572710dbc57 ",
            "flowType": "REGISTRATION",
            "actionId": "",
            "applicationId": "ignored",
            "inputs": {"email": "a@b.c"}
        }))
        .unwrap();
        assert_eq!(
            request.flow_id.as_deref(),
            Some("5f31ce20-872d-4334-8f9f-3572710dbc57")
        );
        assert_eq!(request.flow_type.as_deref(), Some("REGISTRATION"));
        assert_eq!(request.action_id, None);
        assert_eq!(request.inputs["email"], "a@b.c");
    }

    #[test]
    fn wrong_types_get_their_own_errors() {
        assert_eq!(parse(json!({"flowId": 7})).unwrap_err().code(), "FE-60007");
        assert_eq!(
            parse(json!({"actionId": 7})).unwrap_err().code(),
            "FE-60009"
        );
        assert_eq!(parse(json!({"inputs": []})).unwrap_err().code(), "FE-60008");
        assert_eq!(
            parse(json!({"inputs": {"age": 42}})).unwrap_err().code(),
            "FE-60008"
        );
        assert_eq!(
            parse(json!({"inputs": {"nested": {"a": "b"}}}))
                .unwrap_err()
                .code(),
            "FE-60008"
        );
    }
}
