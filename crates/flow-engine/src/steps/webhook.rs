//! The `call_webhook` step: asks the operator's own systems mid-flow and takes the node's
//! `true` edge on a 2xx answer whose mapping applied, its `false` edge on anything else.
//!
//! The step never waits for input and never fails the flow by itself: a missing client, a
//! body that cannot be rendered, no answer, another status, an answer that is not JSON, a
//! mapping that cannot be evaluated, all take the `false` edge, with the reason in the
//! trace (a code, a status, a config path; never the body or the headers). The mapping is
//! evaluated completely before any attribute is set, so a failure leaves the execution as it
//! was.

use flow_compiler::WebhookCall;
use flow_model::TemplatePart;
use serde_json::{Value, json};

use crate::engine::{Next, StepResult};
use crate::expr::{ExprError, Expressions, Variables};
use crate::webhooks::{
    MAX_WEBHOOK_RESPONSE_BYTES, MAX_WEBHOOK_TIMEOUT_MS, WEBHOOK_BODY_FAILED,
    WEBHOOK_INVALID_RESPONSE, WEBHOOK_MAPPING_FAILED, WEBHOOK_UNAVAILABLE,
};
use crate::{Engine, EngineError, Execution, WebhookRequest};

use super::attributes::set_path;

/// The prefix of a webhook message id (`msg_` + 26 random URL-safe characters).
const MESSAGE_ID_PREFIX: &str = "msg_";
/// How many random characters follow [`MESSAGE_ID_PREFIX`].
const MESSAGE_ID_CHARS: usize = 26;
/// The characters of message ids: 64 of them, so each random byte picks one uniformly.
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A 2xx answer whose mapping was evaluated: the attributes to set, and the status.
struct Accepted {
    mapped: Vec<(String, Value)>,
    status: u16,
}

impl Engine {
    /// Runs a `call_webhook` step: always continues, at `if_true` or `if_false`.
    pub(super) fn call_webhook(
        &self,
        execution: &mut Execution,
        node_id: &str,
        call: &WebhookCall,
    ) -> Result<StepResult, EngineError> {
        let (taken, detail) = match self.webhook_answer(execution, node_id, call)? {
            Ok(Accepted { mapped, status }) => {
                for (path, value) in mapped {
                    set_path(&mut execution.attributes, &path, value);
                }
                (true, format!("status {status}"))
            }
            Err(reason) => (false, reason),
        };
        let (target, result) = if taken {
            (call.if_true, "true")
        } else {
            (call.if_false, "false")
        };
        metrics::counter!("flowd_webhook_calls_total", "outcome" => result).increment(1);
        Ok(StepResult::new(Next::Goto(target), result).with_detail(detail))
    }

    /// Calls the webhook and evaluates the mapping: the attributes to set and the status, or
    /// why the `false` edge is taken (the trace detail). Changes nothing.
    fn webhook_answer(
        &self,
        execution: &Execution,
        node_id: &str,
        call: &WebhookCall,
    ) -> Result<Result<Accepted, String>, EngineError> {
        let Some(client) = &self.ports.webhooks else {
            return Ok(Err(WEBHOOK_UNAVAILABLE.to_owned()));
        };
        let variables = self.variables(execution)?;
        let body = match (call.method.has_body(), &call.body) {
            (false, _) => None,
            (true, None) => Some(default_body(execution, node_id)),
            (true, Some(template)) => match render(&self.expressions, template, "body", &variables)
            {
                Ok(body) => Some(body),
                Err(reason) => return Ok(Err(format!("{WEBHOOK_BODY_FAILED}: {reason}"))),
            },
        };
        let request = WebhookRequest {
            url: call.url.clone(),
            method: call.method.as_str().to_owned(),
            headers: call
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body,
            timeout_ms: call.timeout_ms.clamp(1, MAX_WEBHOOK_TIMEOUT_MS),
            secret: call.secret.clone(),
            message_id: self.webhook_message_id(),
            retries: call.retries,
        };
        let answer = match client.call(&request) {
            Ok(answer) => answer,
            Err(error) => return Ok(Err(error.code().to_owned())),
        };
        let status = answer.status;
        if !(200..300).contains(&status) {
            return Ok(Err(format!("status {status}")));
        }
        if answer.body.len() > MAX_WEBHOOK_RESPONSE_BYTES {
            return Ok(Err(format!(
                "{} (status {status})",
                crate::WebhookError::TooLarge.code()
            )));
        }
        let response = if answer.body.iter().all(u8::is_ascii_whitespace) {
            if !call.response.is_empty() {
                return Ok(Err(format!(
                    "{WEBHOOK_INVALID_RESPONSE}: empty body (status {status})"
                )));
            }
            Value::Null
        } else {
            match serde_json::from_slice(&answer.body) {
                Ok(response) => response,
                Err(_) => {
                    return Ok(Err(format!(
                        "{WEBHOOK_INVALID_RESPONSE}: not JSON (status {status})"
                    )));
                }
            }
        };
        let status_value = Value::from(status);
        let extra = [("response", &response), ("status", &status_value)];
        let mut mapped = Vec::with_capacity(call.response.len());
        for (path, expression) in &call.response {
            match self.expressions.json_value(expression, &variables, &extra) {
                Ok(value) => mapped.push((path.clone(), value)),
                // Only the path and the kind of failure: an evaluation error may quote values
                // of the answer.
                Err(failure) => {
                    return Ok(Err(format!(
                        "{WEBHOOK_MAPPING_FAILED}: response.{path} {} (status {status})",
                        match failure {
                            ExprError::Failed(_) => "failed",
                            ExprError::TooCostly(_) => "is too costly",
                        }
                    )));
                }
            }
        }
        Ok(Ok(Accepted { mapped, status }))
    }

    /// A fresh Standard Webhooks message id: `msg_` and 26 random URL-safe characters.
    fn webhook_message_id(&self) -> String {
        let mut bytes = [0u8; MESSAGE_ID_CHARS];
        self.ports.random.fill(&mut bytes);
        let mut id = String::with_capacity(MESSAGE_ID_PREFIX.len() + MESSAGE_ID_CHARS);
        id.push_str(MESSAGE_ID_PREFIX);
        id.extend(bytes.iter().map(|byte| {
            char::from(
                URL_SAFE
                    .get(usize::from(byte & 63))
                    .copied()
                    .unwrap_or(b'A'),
            )
        }));
        id
    }
}

/// A stable id of the execution for receivers to correlate its calls: a digest of its id,
/// which does not let anyone continue it.
fn correlation_id(execution: &Execution) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("flowd-webhook:{}", execution.id).as_bytes());
    hex::encode(&digest[..16])
}

/// The body of a call whose node has no template.
fn default_body(execution: &Execution, node_id: &str) -> Value {
    let user = match (&execution.user_id, &execution.identifier) {
        (None, None) => Value::Null,
        (id, identifier) => json!({"id": id, "identifier": identifier}),
    };
    json!({
        "flow": {
            "id": execution.program.flow_id,
            "type": execution.program.flow_type.as_str(),
            "node": node_id,
        },
        // Not the execution id itself: with WSO2's API it is the `flowId`, enough to continue
        // the flow, and it would land in the receiver's logs.
        "execution": correlation_id(execution),
        "user": user,
        "attributes": execution.attributes,
    })
}

/// Renders a body template at `path`: every string holding `${expr}` gets the expression's
/// value (the whole string) or its text (inside a longer string). The error is the path and
/// why.
fn render(
    expressions: &Expressions,
    template: &Value,
    path: &str,
    variables: &Variables,
) -> Result<Value, String> {
    Ok(match template {
        Value::String(text) => render_string(expressions, text, path, variables)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    render(expressions, item, &format!("{path}[{index}]"), variables)
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, item)| {
                    Ok((
                        key.clone(),
                        render(expressions, item, &format!("{path}.{key}"), variables)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) => template.clone(),
    })
}

fn render_string(
    expressions: &Expressions,
    text: &str,
    path: &str,
    variables: &Variables,
) -> Result<Value, String> {
    if !text.contains("${") {
        return Ok(Value::String(text.to_owned()));
    }
    let parts = flow_model::parse_template(text).map_err(|error| format!("{path}: {error}"))?;
    let value_of = |expression: &str| {
        expressions
            .json_value(expression, variables, &[])
            .map_err(|failure| format!("{path}: {failure}"))
    };
    if let [TemplatePart::Expression(expression)] = parts.as_slice() {
        return value_of(expression);
    }
    let mut rendered = String::with_capacity(text.len());
    for part in &parts {
        match part {
            TemplatePart::Text(literal) => rendered.push_str(literal),
            TemplatePart::Expression(expression) => match value_of(expression)? {
                Value::String(value) => rendered.push_str(&value),
                other => rendered.push_str(&other.to_string()),
            },
        }
    }
    Ok(Value::String(rendered))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn variables() -> Variables {
        Variables {
            user: json!({"id": "u1", "identifier": "jo@example.com"}),
            inputs: json!({}),
            attributes: json!({"plan": "pro", "age": 42, "tags": ["a", "b"]}),
            flow: json!({"type": "login"}),
            request: json!({"locale": "de"}),
        }
    }

    #[test]
    fn templates_render_values_and_text() {
        let template = json!({
            "email": "${user.identifier}",
            "age": "${attributes.age}",
            "tags": "${attributes.tags}",
            "line": "${user.identifier} (${attributes.age}, ${attributes.tags})",
            "literal": "$${user.id}",
            "nested": [{"locale": "${request.locale}"}, 7, null, true],
            "map": "${ {'a': attributes.plan} }",
        });
        assert_eq!(
            render(&Expressions::default(), &template, "body", &variables()).unwrap(),
            json!({
                "email": "jo@example.com",
                "age": 42,
                "tags": ["a", "b"],
                "line": "jo@example.com (42, [\"a\",\"b\"])",
                "literal": "${user.id}",
                "nested": [{"locale": "de"}, 7, null, true],
                "map": {"a": "pro"},
            })
        );
    }

    #[test]
    fn a_failing_expression_names_its_path() {
        let error = render(
            &Expressions::default(),
            &json!({"a": [1, "x ${attributes.missing}"]}),
            "body",
            &variables(),
        )
        .unwrap_err();
        assert!(error.starts_with("body.a[1]: evaluation failed"), "{error}");
    }

    #[test]
    fn the_cost_limit_holds_with_the_values_at_hand() {
        let many: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
        let response = json!({ "items": many });
        let any = "response.items.exists(a, a.startsWith('x'))";
        assert!(matches!(
            Expressions::default().json_value(any, &variables(), &[("response", &response)]),
            Err(ExprError::TooCostly(_))
        ));
        let small = json!({"items": ["a", "b"]});
        assert_eq!(
            Expressions::default()
                .json_value(any, &variables(), &[("response", &small)])
                .unwrap(),
            json!(false)
        );
    }
}
