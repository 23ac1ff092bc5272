//! E.164 phone numbers: the only recipients the senders accept.

/// The recipient as E.164 (`+` and 8 to 15 digits, the first not 0), after removing the
/// separators people write (spaces, `-`, `.`, `(`, `)`), or `None`.
///
/// A national number (`030 123456`, no country code) is refused: which country it belongs to
/// is not known here.
pub fn e164(text: &str) -> Option<String> {
    let compact: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+')?;
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then_some(compact)
}

#[cfg(test)]
mod tests {
    use super::e164;

    #[test]
    fn e164_numbers_pass_with_separators_removed() {
        assert_eq!(e164("+15005550006").as_deref(), Some("+15005550006"));
        assert_eq!(e164(" +49 (30) 123-456 ").as_deref(), Some("+4930123456"));
        assert_eq!(e164("+44.20.7946.0018").as_deref(), Some("+442079460018"));
        assert_eq!(e164("+12345678").as_deref(), Some("+12345678"));
        assert_eq!(
            e164("+123456789012345").as_deref(),
            Some("+123456789012345")
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "",
            "+",
            "15005550006",
            "030 123456",
            "+1234567",
            "+1234567890123456",
            "+0123456789",
            "+1500555000a",
            "++15005550006",
            "+１５００５５５０００６",
            "alice@example.com",
            "+1500\u{200b}5550006",
        ] {
            assert_eq!(e164(bad), None, "{bad:?}");
        }
    }
}
