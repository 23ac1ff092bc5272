//! Conditions, switch expressions and webhook templates and mappings in CEL (the `cel`
//! crate), compiled once per expression text and cached; evaluated over the variables `user`,
//! `inputs`, `attributes`, `flow` and `request` (and a webhook's `response` and `status`),
//! each time under the cost limit with the sizes of the values at hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use flow_model::{EXPRESSION_COST_LIMIT, Size, VariableSizes, estimate_cost};
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

/// Why an expression gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExprError {
    /// It does not compile or its evaluation failed (a missing field, a wrong type); the
    /// flow treats it as false (conditions) or the default branch (switches), visibly.
    Failed(String),
    /// With the values at hand it would cost more than the limit; it was not evaluated and
    /// the flow ends with the code [`ExprError::TOO_COSTLY`].
    TooCostly(String),
}

impl ExprError {
    /// The code a flow ends with when an expression is too costly to evaluate.
    pub(crate) const TOO_COSTLY: &'static str = "expression_too_costly";
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Failed(message) | Self::TooCostly(message) => f.write_str(message),
        }
    }
}

/// Compiles and evaluates expressions, caching compiled programs by their text.
pub(crate) struct Expressions {
    cache: Mutex<HashMap<String, Arc<cel::Program>>>,
    /// CEL's standard functions and macros, built once: building them for each evaluation
    /// (what `cel::Context::default` does) was 7 % of the CPU of a whole login.
    stdlib: Arc<cel::Env>,
}

impl Default for Expressions {
    fn default() -> Self {
        Self {
            cache: Mutex::default(),
            stdlib: Arc::new(cel::Env::stdlib()),
        }
    }
}

impl std::fmt::Debug for Expressions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expressions")
            .field("cached", &lock(&self.cache).len())
            .finish()
    }
}

impl Expressions {
    fn compiled(&self, expression: &str) -> Result<Arc<cel::Program>, ExprError> {
        if let Some(program) = lock(&self.cache).get(expression) {
            return Ok(program.clone());
        }
        // The validator checks length, nesting and cost before a flow compiles; check again
        // here because programs may come from storage.
        let program =
            Arc::new(
                flow_model::compile_expression(expression).map_err(|error| match error {
                    flow_model::ExpressionError::TooCostly { .. } => {
                        ExprError::TooCostly(error.to_string())
                    }
                    _ => ExprError::Failed(error.to_string()),
                })?,
            );
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(expression.to_owned(), program.clone());
        Ok(program)
    }

    /// Evaluates `expression` to a CEL value, after estimating its cost with the sizes of
    /// these variables: over the limit, it is not evaluated at all.
    fn evaluate(&self, expression: &str, variables: &Variables) -> Result<cel::Value, ExprError> {
        self.evaluate_with(expression, variables, &[])
    }

    /// [`Expressions::evaluate`] with `extra` variables besides the execution's (a webhook's
    /// `response` and `status`).
    fn evaluate_with(
        &self,
        expression: &str,
        variables: &Variables,
        extra: &[(&str, &Value)],
    ) -> Result<cel::Value, ExprError> {
        let program = self.compiled(expression)?;
        let named = [
            ("user", &variables.user),
            ("inputs", &variables.inputs),
            ("attributes", &variables.attributes),
            ("flow", &variables.flow),
            ("request", &variables.request),
        ];
        let mut sizes = VariableSizes::assumed();
        for &(name, value) in named.iter().chain(extra) {
            sizes.set(name, Size::of(value));
        }
        let cost = estimate_cost(program.expression(), &sizes);
        if cost > EXPRESSION_COST_LIMIT {
            return Err(ExprError::TooCostly(format!(
                "with the values of this execution it may cost up to {cost} units, more \
                 than the limit of {EXPRESSION_COST_LIMIT}"
            )));
        }
        let mut context = cel::Context::with_env(self.stdlib.clone());
        for &(name, value) in named.iter().chain(extra) {
            context
                .add_variable(name, value)
                .map_err(|error| ExprError::Failed(format!("variable {name}: {error}")))?;
        }
        program
            .execute(&context)
            .map_err(|error| ExprError::Failed(format!("evaluation failed: {error}")))
    }

    /// Evaluates `expression`, with `extra` variables, to a JSON value (a body template's or a
    /// response mapping's).
    pub(crate) fn json_value(
        &self,
        expression: &str,
        variables: &Variables,
        extra: &[(&str, &Value)],
    ) -> Result<Value, ExprError> {
        let value = self.evaluate_with(expression, variables, extra)?;
        value
            .json()
            .map_err(|_| ExprError::Failed(format!("a {:?} is not a JSON value", value.type_of())))
    }

    /// Evaluates a condition; anything but a boolean is an error.
    pub(crate) fn condition(
        &self,
        expression: &str,
        variables: &Variables,
    ) -> Result<bool, ExprError> {
        match self.evaluate(expression, variables)? {
            cel::Value::Bool(value) => Ok(value),
            other => Err(ExprError::Failed(format!(
                "expected a boolean, got {:?}",
                other.type_of()
            ))),
        }
    }

    /// Evaluates a switch expression to the string its cases are compared with: strings as
    /// they are, numbers and booleans in their usual text form.
    pub(crate) fn switch_value(
        &self,
        expression: &str,
        variables: &Variables,
    ) -> Result<String, ExprError> {
        match self.evaluate(expression, variables)? {
            cel::Value::String(text) => Ok(text.as_str().to_owned()),
            cel::Value::Int(number) => Ok(number.to_string()),
            cel::Value::UInt(number) => Ok(number.to_string()),
            cel::Value::Float(number) => Ok(number.to_string()),
            cel::Value::Bool(value) => Ok(value.to_string()),
            cel::Value::Null => Ok("null".to_owned()),
            other => Err(ExprError::Failed(format!(
                "expected a string, number or boolean, got {:?}",
                other.type_of()
            ))),
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
    fn the_cost_limit_holds_with_the_values_at_hand() {
        let expressions = Expressions::default();
        let nested = "attributes.tags.exists(t, t in ['c', 'd', 'e'] && t.startsWith('c'))";
        let mut vars = variables();
        vars.attributes = json!({"tags": ["a", "b", "c"]});
        assert_eq!(expressions.condition(nested, &vars), Ok(true));
        let many: Vec<String> = (0..10_000).map(|i| format!("tag-{i}")).collect();
        vars.attributes = json!({ "tags": many });
        assert!(matches!(
            expressions.condition(nested, &vars),
            Err(ExprError::TooCostly(_))
        ));
        // Refused when compiled too, whatever the values: ten nested `.all`.
        let ten = "[0,1,2,3,4,5,6,7,8,9]";
        let mut costly = "true".to_owned();
        for level in 0..10 {
            costly = format!("{ten}.all(v{level}, {costly})");
        }
        assert!(matches!(
            expressions.condition(&costly, &variables()),
            Err(ExprError::TooCostly(_))
        ));
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
