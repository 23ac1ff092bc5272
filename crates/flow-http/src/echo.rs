//! Input quoted back in an error message is cut to a bounded length, so that a 60 KB field
//! does not come back whole (nor fill a log line).

use std::borrow::Cow;

/// The most characters of client input an error message quotes.
pub const MAX_ECHO_CHARS: usize = 128;

/// `input` as an error message may quote it: at most [`MAX_ECHO_CHARS`] characters, with `…`
/// marking a cut.
pub fn echo(input: &str) -> Cow<'_, str> {
    match input.char_indices().nth(MAX_ECHO_CHARS) {
        None => Cow::Borrowed(input),
        Some((cut, _)) => Cow::Owned(format!("{}…", &input[..cut])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_quoted_whole_and_long_input_is_cut() {
        assert_eq!(echo("flow_123"), "flow_123");
        let exact = "x".repeat(MAX_ECHO_CHARS);
        assert_eq!(echo(&exact), exact.as_str());
        let long = "é".repeat(60_000);
        let quoted = echo(&long);
        assert_eq!(quoted.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(quoted.ends_with('…'));
    }
}
