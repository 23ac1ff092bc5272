//! Conditions and switch expressions in CEL (the `cel` crate), compiled once per expression
//! text and cached; evaluated over the variables `user`, `inputs`, `attributes`, `flow` and
//! `request`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::lock;

/// Most distinct expressions kept compiled; past that the cache starts over (a deployment has
/// a few dozen flows, so this only guards against unbounded growth).
const CACHE_LIMIT: usize = 1024;

/// The values an expression can see, by variable name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variables {
    pub(crate) user: Value,
    pub(crate) inputs: Value,
    pub(crate) attributes: Value,
    pub(crate) flow: Value,
    pub(crate) request: Value,
}

/// Compiles and evaluates expressions, caching compiled programs by their text.
#[derive(Default)]
pub(crate) struct Expressions {
    cache: Mutex<HashMap<String, Arc<cel::Program>>>,
}

impl std::fmt::Debug for Expressions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expressions")
            .field("cached", &lock(&self.cache).len())
            .finish()
    }
}

impl Expressions {
    fn compiled(&self, expression: &str) -> Result<Arc<cel::Program>, String> {
        if let Some(program) = lock(&self.cache).get(expression) {
            return Ok(program.clone());
        }
        // The validator bounds length and nesting before a flow compiles; check again here
        // because programs may come from storage.
        flow_model::parse_expression(expression)?;
        let program = Arc::new(
            cel::Program::compile(expression)
                .map_err(|error| format!("does not parse: {}", error.to_string().trim()))?,
        );
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(expression.to_owned(), program.clone());
        Ok(program)
    }

    /// Evaluates `expression` to a CEL value.
    fn evaluate(&self, expression: &str, variables: &Variables) -> Result<cel::Value, String> {
        let program = self.compiled(expression)?;
        let mut context = cel::Context::default();
        for (name, value) in [
            ("user", &variables.user),
            ("inputs", &variables.inputs),
            ("attributes", &variables.attributes),
            ("flow", &variables.flow),
            ("request", &variables.request),
        ] {
            context
                .add_variable(name, value)
                .map_err(|error| format!("variable {name}: {error}"))?;
        }
        program
            .execute(&context)
            .map_err(|error| format!("evaluation failed: {error}"))
    }

    /// Evaluates a condition; anything but a boolean is an error.
    pub(crate) fn condition(
        &self,
        expression: &str,
        variables: &Variables,
    ) -> Result<bool, String> {
        match self.evaluate(expression, variables)? {
            cel::Value::Bool(value) => Ok(value),
            other => Err(format!("expected a boolean, got {:?}", other.type_of())),
        }
    }

    /// Evaluates a switch expression to the string its cases are compared with: strings as
    /// they are, numbers and booleans in their usual text form.
    pub(crate) fn switch_value(
        &self,
        expression: &str,
        variables: &Variables,
    ) -> Result<String, String> {
        match self.evaluate(expression, variables)? {
            cel::Value::String(text) => Ok(text.as_str().to_owned()),
            cel::Value::Int(number) => Ok(number.to_string()),
            cel::Value::UInt(number) => Ok(number.to_string()),
            cel::Value::Float(number) => Ok(number.to_string()),
            cel::Value::Bool(value) => Ok(value.to_string()),
            cel::Value::Null => Ok("null".to_owned()),
            other => Err(format!(
                "expected a string, number or boolean, got {:?}",
                other.type_of()
            )),
        }
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        lock(&self.cache).len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn variables() -> Variables {
        Variables {
            user: json!({"mfa_enabled": true, "mfa_methods": ["totp"], "exists": true}),
            inputs: json!({"country": "DE"}),
            attributes: json!({"plan": "pro", "age": 42}),
            flow: json!({"type": "login"}),
            request: json!({"origin": "https://app.example.com"}),
        }
    }

    #[test]
    fn conditions_see_every_variable() {
        let expressions = Expressions::default();
        let vars = variables();
        for expression in [
            "user.mfa_enabled",
            "user.mfa_enabled && 'totp' in user.mfa_methods",
            "inputs.country == 'DE'",
            "attributes.age > 40",
            "flow.type == 'login'",
            "request.origin.endsWith('example.com')",
            "has(attributes.plan)",
        ] {
            assert_eq!(
                expressions.condition(expression, &vars),
                Ok(true),
                "{expression}"
            );
        }
        assert_eq!(expressions.condition("!user.mfa_enabled", &vars), Ok(false));
    }

    #[test]
    fn errors_are_errors_not_panics() {
        let expressions = Expressions::default();
        let vars = variables();
        assert!(expressions.condition("user.no_such_field", &vars).is_err());
        assert!(expressions.condition("attributes.plan", &vars).is_err());
        assert!(expressions.condition("(((", &vars).is_err());
        assert!(expressions.condition(&"(".repeat(100), &vars).is_err());
    }

    #[test]
    fn switch_values_are_text() {
        let expressions = Expressions::default();
        let vars = variables();
        assert_eq!(
            expressions.switch_value("attributes.plan", &vars).unwrap(),
            "pro"
        );
        assert_eq!(
            expressions.switch_value("attributes.age", &vars).unwrap(),
            "42"
        );
        assert_eq!(
            expressions.switch_value("user.exists", &vars).unwrap(),
            "true"
        );
    }

    #[test]
    fn programs_are_compiled_once() {
        let expressions = Expressions::default();
        let vars = variables();
        for _ in 0..3 {
            expressions.condition("user.mfa_enabled", &vars).unwrap();
        }
        assert_eq!(expressions.cached(), 1);
    }
}
