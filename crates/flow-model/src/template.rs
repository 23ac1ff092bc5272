//! Templates of webhook bodies: any JSON value in which a string may hold `${expr}`, a CEL
//! expression over the execution context.
//!
//! A string that is exactly `"${expr}"` stands for the expression's value (of whatever JSON
//! type); `${expr}` inside a longer string stands for the value's text. `$${` is a literal
//! `${`. Object keys are never templates.

use serde_json::Value;

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart<'t> {
    /// Literal text (`$${` already read as `${`).
    Text(String),
    /// The source of a CEL expression, found between `${` and its `}`.
    Expression(&'t str),
}

/// Why a template string is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A `${` without the `}` that closes it.
    #[error("has a '${{' without its closing '}}' (write '$${{' for a literal '${{')")]
    Unclosed,
    /// `${}` with nothing (or only blanks) inside.
    #[error("has an empty '${{}}'")]
    Empty,
}

/// Splits a template string into literal text and expressions.
///
/// The `}` that ends an expression is the first one outside string literals (`'…'`, `"…"`)
/// and outside braces opened within the expression, so `${ {'a': 1}.a }` is one expression.
pub fn parse_template(text: &str) -> Result<Vec<TemplatePart<'_>>, TemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let (before, after) = (&rest[..at], &rest[at + 2..]);
        if let Some(kept) = before.strip_suffix('$') {
            literal.push_str(kept);
            literal.push_str("${");
            rest = after;
            continue;
        }
        literal.push_str(before);
        let end = expression_end(after).ok_or(TemplateError::Unclosed)?;
        let expression = &after[..end];
        if expression.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
        }
        parts.push(TemplatePart::Expression(expression));
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(parts)
}

/// The byte offset of the `}` that closes an expression starting at the beginning of `text`.
fn expression_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for (index, byte) in text.bytes().enumerate() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == open {
                quote = None;
            }
            continue;
        }
        match byte {
            b'\'' | b'"' => quote = Some(byte),
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some(index),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Every string of a JSON template with its path (`body.user.id`, `body.items[0]`), in
/// document order; `root` is the path of the value itself.
pub fn template_strings<'v>(value: &'v Value, root: &str) -> Vec<(String, &'v str)> {
    let mut found = Vec::new();
    // Depth-first without recursion, children pushed in reverse to keep document order.
    let mut pending = vec![(root.to_owned(), value)];
    while let Some((path, value)) = pending.pop() {
        match value {
            Value::String(text) => found.push((path, text.as_str())),
            Value::Array(items) => pending.extend(
                items
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(index, item)| (format!("{path}[{index}]"), item)),
            ),
            Value::Object(entries) => pending.extend(
                entries
                    .iter()
                    .rev()
                    .map(|(key, item)| (format!("{path}.{key}"), item)),
            ),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;
    use TemplatePart::{Expression, Text};

    #[test]
    fn splits_text_and_expressions() {
        assert_eq!(parse_template("plain").unwrap(), [Text("plain".into())]);
        assert_eq!(parse_template("").unwrap(), []);
        assert_eq!(
            parse_template("${user.id}").unwrap(),
            [Expression("user.id")]
        );
        assert_eq!(
            parse_template("Hi ${user.identifier}, plan ${attributes.plan}!").unwrap(),
            [
                Text("Hi ".into()),
                Expression("user.identifier"),
                Text(", plan ".into()),
                Expression("attributes.plan"),
                Text("!".into())
            ]
        );
    }

    #[test]
    fn braces_and_quotes_inside_an_expression_do_not_end_it() {
        assert_eq!(
            parse_template("${ {'a': 1}.a }").unwrap(),
            [Expression(" {'a': 1}.a ")]
        );
        assert_eq!(
            parse_template("${'}' + \"}\\\"\"}x").unwrap(),
            [Expression("'}' + \"}\\\"\""), Text("x".into())]
        );
    }

    #[test]
    fn a_doubled_dollar_is_a_literal() {
        assert_eq!(
            parse_template("cost: $${price}").unwrap(),
            [Text("cost: ${price}".into())]
        );
        assert_eq!(parse_template("$5 ${a}").unwrap()[1], Expression("a"));
    }

    #[test]
    fn unclosed_and_empty_are_refused() {
        assert_eq!(parse_template("${user.id"), Err(TemplateError::Unclosed));
        assert_eq!(parse_template("${ {'a': 1}"), Err(TemplateError::Unclosed));
        assert_eq!(parse_template("a ${ } b"), Err(TemplateError::Empty));
    }

    #[test]
    fn strings_are_found_with_their_paths() {
        let template = json!({"a": "x", "b": [1, "y", {"c": "z"}], "d": true});
        let found = template_strings(&template, "body");
        assert_eq!(
            found,
            [
                ("body.a".to_owned(), "x"),
                ("body.b[1]".to_owned(), "y"),
                ("body.b[2].c".to_owned(), "z"),
            ]
        );
        assert_eq!(
            template_strings(&json!("${a}"), "body"),
            [("body".to_owned(), "${a}")]
        );
    }
}
