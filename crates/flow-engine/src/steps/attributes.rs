//! The steps that write attributes: `prompt` (asking and checking answers) and `set_attribute`.

use flow_model::{IdentifierType, PromptField, PromptFieldType};
use serde_json::{Map, Value};

use crate::engine::StepResult;
use crate::forms::{self, At, required, with_errors};
use crate::{Execution, FieldError, Submission, identifier};

/// The prompt step: show the fields, then check and store the answers as attributes.
pub(super) fn prompt(
    execution: &mut Execution,
    index: usize,
    node_id: &str,
    fields: &[PromptField],
    input: Option<&Submission>,
) -> StepResult {
    let at = At::new(index, node_id).hinting(execution.identifier.as_deref());
    let Some(input) = input else {
        let attributes = &execution.attributes;
        let form = forms::prompt(&at, fields, |name| match attributes.get(name) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        });
        return StepResult::wait(form, "prompt");
    };
    let mut errors = Vec::new();
    let mut answers = Map::new();
    for field in fields {
        match answer(field, input.value(&field.name)) {
            Ok(Some(value)) => {
                answers.insert(field.name.clone(), value);
            }
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    if let Some(first) = errors.first() {
        let result = format!("rejected:{}", first.code);
        let form = forms::prompt(&at, fields, |name| input.value(name).map(str::to_owned));
        return StepResult::wait(with_errors(form, errors), result);
    }
    execution.attributes.extend(answers);
    StepResult::advance("accepted")
}

/// One prompt answer as a JSON value; `None` for an optional field left empty.
fn answer(field: &PromptField, value: Option<&str>) -> Result<Option<Value>, FieldError> {
    let name = field.name.as_str();
    let invalid = |code: &str, message: &str| Err(FieldError::on(name, code, message));
    if field.field_type == PromptFieldType::Checkbox {
        let checked = matches!(value, Some("true" | "on" | "1" | "yes"));
        if field.required && !checked {
            return Err(required(name));
        }
        return Ok(Some(Value::Bool(checked)));
    }
    let Some(value) = value else {
        return if field.required {
            Err(required(name))
        } else {
            Ok(None)
        };
    };
    if value.len() > 1024 {
        return invalid("too_long", "The answer is too long.");
    }
    match field.field_type {
        PromptFieldType::Number => match value.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Some(
                serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
            )),
            _ => invalid("invalid_number", "Enter a number."),
        },
        PromptFieldType::Email if !identifier::is_email(value) => {
            invalid("invalid_email", "Enter a valid e-mail address.")
        }
        PromptFieldType::Telephone
            if identifier::normalize(value, &[IdentifierType::Phone]).is_err() =>
        {
            invalid("invalid_phone", "Enter a valid phone number.")
        }
        PromptFieldType::Date if !is_date(value) => {
            invalid("invalid_date", "Enter a date as YYYY-MM-DD.")
        }
        PromptFieldType::Dropdown if !field.options.iter().any(|option| option == value) => {
            invalid("invalid_choice", "Choose one of the options.")
        }
        _ => Ok(Some(Value::String(value.to_owned()))),
    }
}

/// Whether `text` is a plausible `YYYY-MM-DD` date.
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let number = |part: &str, len: usize| {
        (part.len() == len && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    matches!(
        (number(year, 4), number(month, 2), number(day, 2)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

/// Sets `path` (dot-separated) in `attributes`, creating objects on the way.
pub(super) fn set_path(attributes: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = attributes;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.insert(part.to_owned(), value);
            return;
        }
        let slot = current
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            return;
        };
        current = next;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn set_path_nests_and_replaces() {
        let mut attributes = Map::new();
        set_path(&mut attributes, "a.b.c", json!(1));
        set_path(&mut attributes, "a.d", json!("x"));
        set_path(&mut attributes, "top", json!(true));
        assert_eq!(
            Value::Object(attributes.clone()),
            json!({"a": {"b": {"c": 1}, "d": "x"}, "top": true})
        );
        set_path(&mut attributes, "top.inner", json!(2));
        assert_eq!(attributes["top"], json!({"inner": 2}));
    }

    fn field(field_type: PromptFieldType, required: bool) -> PromptField {
        PromptField {
            name: "f".into(),
            field_type,
            label: None,
            placeholder: None,
            required,
            options: if field_type == PromptFieldType::Dropdown {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn answers_are_typed_and_checked() {
        use PromptFieldType::*;
        assert_eq!(answer(&field(Text, false), None), Ok(None));
        assert_eq!(
            answer(&field(Text, true), None).unwrap_err().code,
            "required"
        );
        assert_eq!(
            answer(&field(Number, true), Some("42")),
            Ok(Some(json!(42.0)))
        );
        assert_eq!(
            answer(&field(Number, true), Some("x")).unwrap_err().code,
            "invalid_number"
        );
        assert_eq!(
            answer(&field(Checkbox, false), None),
            Ok(Some(json!(false)))
        );
        assert_eq!(
            answer(&field(Checkbox, true), Some("on")),
            Ok(Some(json!(true)))
        );
        assert_eq!(
            answer(&field(Checkbox, true), None).unwrap_err().code,
            "required"
        );
        assert_eq!(
            answer(&field(Dropdown, true), Some("c")).unwrap_err().code,
            "invalid_choice"
        );
        assert_eq!(
            answer(&field(Dropdown, true), Some("b")),
            Ok(Some(json!("b")))
        );
        assert_eq!(
            answer(&field(Date, true), Some("2024-13-01"))
                .unwrap_err()
                .code,
            "invalid_date"
        );
        assert_eq!(
            answer(&field(Date, true), Some("2024-02-29")),
            Ok(Some(json!("2024-02-29")))
        );
        assert_eq!(
            answer(&field(Email, true), Some("nope")).unwrap_err().code,
            "invalid_email"
        );
    }
}
