//! Identifiers users type (e-mail address, username, phone number): recognizing and
//! normalizing them so that lookups and uniqueness do not depend on case or spacing.

use flow_model::IdentifierType;

/// The longest identifier accepted, in bytes.
const MAX_IDENTIFIER_BYTES: usize = 254;

/// Normalizes `input` as the first accepted kind it looks like; `None` if it is none of them.
///
/// E-mail addresses and usernames are lowercased (identifiers are case-insensitive); phone
/// numbers lose spaces, dashes and parentheses.
pub(crate) fn normalize(input: &str, accepted: &[IdentifierType]) -> Option<String> {
    let input = input.trim();
    if input.is_empty() || input.len() > MAX_IDENTIFIER_BYTES {
        return None;
    }
    accepted.iter().find_map(|kind| match kind {
        IdentifierType::Email => is_email(input).then(|| input.to_lowercase()),
        IdentifierType::Username => is_username(input).then(|| input.to_lowercase()),
        IdentifierType::Phone => phone(input),
    })
}

/// Whether `text` looks like an e-mail address: one `@`, a local part, a dotted domain.
pub(crate) fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_username(text: &str) -> bool {
    text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn phone(text: &str) -> Option<String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    let plausible = (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then_some(compact)
}

/// The field kind that fits the accepted identifier kinds.
pub(crate) fn field_kind(accepted: &[IdentifierType]) -> crate::FieldKind {
    match accepted {
        [IdentifierType::Email] => crate::FieldKind::Email,
        [IdentifierType::Phone] => crate::FieldKind::Telephone,
        _ => crate::FieldKind::Identifier,
    }
}

/// A label such as "E-mail address or username".
pub(crate) fn label(accepted: &[IdentifierType]) -> String {
    let names: Vec<&str> = accepted
        .iter()
        .map(|kind| match kind {
            IdentifierType::Email => "e-mail address",
            IdentifierType::Username => "username",
            IdentifierType::Phone => "phone number",
        })
        .collect();
    let text = names.join(" or ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Identifier".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentifierType::{Email, Phone, Username};

    #[test]
    fn emails_and_usernames_are_lowercased() {
        assert_eq!(
            normalize("  Alice@Example.COM ", &[Email, Username]).as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalize("Bob_1", &[Email, Username]).as_deref(),
            Some("bob_1")
        );
    }

    #[test]
    fn only_accepted_kinds_pass() {
        assert_eq!(normalize("bob", &[Email]), None);
        assert_eq!(normalize("a@b", &[Email]), None);
        assert_eq!(normalize("a b@example.com", &[Email]), None);
        assert_eq!(normalize("", &[Email, Username]), None);
        assert_eq!(
            normalize("+49 (30) 123-456", &[Email, Phone]).as_deref(),
            Some("+4930123456")
        );
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(label(&[Email, Username]), "E-mail address or username");
        assert_eq!(field_kind(&[Email]), crate::FieldKind::Email);
        assert_eq!(field_kind(&[Email, Username]), crate::FieldKind::Identifier);
    }
}
