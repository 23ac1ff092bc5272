//! Identifiers users type (e-mail address, username, phone number): recognizing and
//! normalizing them so that lookups and uniqueness do not depend on case, spacing or the
//! Unicode spelling of a character, and their confusable skeletons (UTS #39), so that an
//! account cannot be registered beside another one that merely looks like it.
//!
//! Every path where an identifier enters (sign-in, registration, recovery, invitations) goes
//! through [`normalize`]; the stores compute [`identifier_skeleton`] of what they keep.

use caseless::default_case_fold_str;
use flow_model::IdentifierType;
use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// The longest identifier accepted, in bytes (before and after normalization).
const MAX_IDENTIFIER_BYTES: usize = 254;

/// Why a typed identifier is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It is none of the accepted kinds (not an e-mail address, username or phone number).
    Invalid,
    /// It contains a control, format or other invisible character (zero-width space,
    /// joiners, bidi overrides, soft hyphen, byte order mark, ...).
    InvisibleCharacters,
}

/// Normalizes `input` as the first accepted kind it looks like.
///
/// The input is trimmed, refused if it holds an invisible character ([`is_invisible`]), then
/// brought to NFKC, case folded (full folding: `ß` becomes `ss`) and brought to NFKC again
/// (Unicode's NFKC_Casefold, less the removal of ignorables, which are refused instead), so
/// `ＡLICE@Example.COM` and `alice@example.com` are one identifier. Phone numbers also lose
/// spaces, dashes and parentheses.
pub(crate) fn normalize(input: &str, accepted: &[IdentifierType]) -> Result<String, Refusal> {
    let folded = checked_fold(input)?;
    accepted
        .iter()
        .find_map(|kind| match kind {
            IdentifierType::Email => is_email(&folded).then(|| folded.clone()),
            IdentifierType::Username => is_username(&folded).then(|| folded.clone()),
            IdentifierType::Phone => phone(&folded),
        })
        .ok_or(Refusal::Invalid)
}

/// The kind-independent part of [`normalize`]: trimmed, invisible characters refused, NFKC,
/// full case folding, NFKC. Public for stores that re-normalize identifiers they kept from
/// older versions (whose normalization only lowercased); `None` when the text is empty, too
/// long or holds an invisible character.
pub fn canonical_identifier(input: &str) -> Option<String> {
    checked_fold(input).ok()
}

fn checked_fold(input: &str) -> Result<String, Refusal> {
    let input = input.trim();
    if input.is_empty() || input.len() > MAX_IDENTIFIER_BYTES {
        return Err(Refusal::Invalid);
    }
    if input.chars().any(is_invisible) {
        return Err(Refusal::InvisibleCharacters);
    }
    let folded = fold(input);
    if folded.chars().any(is_invisible) {
        return Err(Refusal::InvisibleCharacters);
    }
    if folded.is_empty() || folded.len() > MAX_IDENTIFIER_BYTES {
        return Err(Refusal::Invalid);
    }
    Ok(folded)
}

/// NFKC, full case folding, NFKC.
fn fold(text: &str) -> String {
    let compatible: String = text.nfkc().collect();
    default_case_fold_str(&compatible).nfkc().collect()
}

/// The confusable skeleton (UTS #39) of a normalized identifier, folded again
/// ([`canonical_identifier`]'s NFKC and case folding) so that it is stable: two identifiers
/// that look alike (a Latin `a` and a Cyrillic `а`, `rn` and `m`) have one skeleton. A new
/// account whose identifier's skeleton is an existing account's is refused like a taken
/// identifier. Skeletons are for that comparison only, never shown or used to sign in.
pub fn identifier_skeleton(normalized: &str) -> String {
    let skeleton: String = unicode_security::skeleton(normalized).collect();
    fold(&skeleton)
}

/// Whether `c` is refused in identifiers: control characters (Cc), format characters (Cf:
/// zero-width space, ZWNJ, ZWJ, bidi controls and overrides, soft hyphen, byte order mark,
/// tags, ...), line and paragraph separators, and the other default-ignorable code points
/// (Unicode's `Default_Ignorable_Code_Point`: variation selectors, the combining grapheme
/// joiner, Hangul fillers, ...), which render as nothing.
fn is_invisible(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    ) || is_default_ignorable(c)
}

/// Unicode 16's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt).
fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
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
            Ok("alice@example.com")
        );
        assert_eq!(
            normalize("Bob_1", &[Email, Username]).as_deref(),
            Ok("bob_1")
        );
    }

    #[test]
    fn only_accepted_kinds_pass() {
        assert_eq!(normalize("bob", &[Email]), Err(Refusal::Invalid));
        assert_eq!(normalize("a@b", &[Email]), Err(Refusal::Invalid));
        assert_eq!(
            normalize("a b@example.com", &[Email]),
            Err(Refusal::Invalid)
        );
        assert_eq!(normalize("", &[Email, Username]), Err(Refusal::Invalid));
        assert_eq!(
            normalize("+49 (30) 123-456", &[Email, Phone]).as_deref(),
            Ok("+4930123456")
        );
    }

    #[test]
    fn full_width_forms_become_ascii() {
        assert_eq!(
            normalize("ａlice@example.com", &[Email]).as_deref(),
            Ok("alice@example.com")
        );
        assert_eq!(
            normalize("ＡＬＩＣＥ@ｅｘａｍｐｌｅ．ｃｏｍ", &[Email]).as_deref(),
            Ok("alice@example.com")
        );
        assert_eq!(
            normalize("＋４９ ３０ １２３４５６", &[Phone]).as_deref(),
            Ok("+4930123456")
        );
    }

    #[test]
    fn case_is_folded_fully() {
        assert_eq!(
            normalize("STRAẞE@Example.com", &[Email]).as_deref(),
            Ok("strasse@example.com")
        );
        assert_eq!(
            normalize("ΣΊΣΥΦΟΣ", &[Username]),
            normalize("σίσυφος", &[Username])
        );
        assert_eq!(normalize("ﬁle", &[Username]).as_deref(), Ok("file"));
        // Idempotent: a stored identifier normalizes to itself.
        let once = normalize("Ｓtraße@Example.com", &[Email]).unwrap_or_default();
        assert_eq!(normalize(&once, &[Email]).as_deref(), Ok(once.as_str()));
    }

    #[test]
    fn invisible_and_control_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{202E}',
            '\u{2066}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2060}',
            '\u{180E}',
            '\u{034F}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{0000}',
            '\u{0007}',
            '\u{007F}',
        ] {
            for typed in [
                format!("ali{c}ce@example.com"),
                format!("alice@example.com{c}"),
                format!("{c}alice@example.com"),
            ] {
                assert_eq!(
                    normalize(&typed, &[Email, Username, Phone]),
                    Err(Refusal::InvisibleCharacters),
                    "U+{:04X}",
                    u32::from(c)
                );
            }
        }
        assert_eq!(canonical_identifier("ali\u{200D}ce"), None);
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        let latin = identifier_skeleton("alice@example.com");
        // Cyrillic а (U+0430) in the local part and in the domain.
        let cyrillic = normalize("\u{0430}lice@example.com", &[Email]).unwrap_or_default();
        assert_ne!(cyrillic, "alice@example.com");
        assert_eq!(identifier_skeleton(&cyrillic), latin);
        let domain = normalize("alice@ex\u{0430}mple.com", &[Email]).unwrap_or_default();
        assert_eq!(identifier_skeleton(&domain), latin);
        assert_eq!(identifier_skeleton("rnary"), identifier_skeleton("mary"));
        assert_ne!(identifier_skeleton("bob@example.com"), latin);
        // Stable: the skeleton of a skeleton is itself.
        assert_eq!(identifier_skeleton(&latin), latin);
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(label(&[Email, Username]), "E-mail address or username");
        assert_eq!(field_kind(&[Email]), crate::FieldKind::Email);
        assert_eq!(field_kind(&[Email, Username]), crate::FieldKind::Identifier);
    }
}
