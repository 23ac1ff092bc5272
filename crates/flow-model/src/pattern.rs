//! The patterns of `matches()`: CEL compiles a regular expression at every call, and the
//! `regex` crate accepts programs of up to 10 MiB, which take a tenth of a second to build
//! (`"a".matches("\\w{1000}")`, with an 8-byte pattern). So a pattern must be a string literal
//! whose program fits in [`REGEX_SIZE_LIMIT`], and what it costs to compile is charged by the
//! size of its program, not by its length.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use cel::common::ast::{CallExpr, Expr, LiteralValue};

/// The largest compiled program a pattern may have, in bytes: compiling one that size takes
/// about half a millisecond on this project's reference machine.
pub const REGEX_SIZE_LIMIT: usize = 64 << 10;

/// The program sizes tried in turn; the first one a pattern fits in bounds its compile cost.
const SIZE_STEPS: [usize; 4] = [1 << 10, 4 << 10, 16 << 10, REGEX_SIZE_LIMIT];

/// Most patterns whose size bound is remembered; past that the memory starts over.
const REMEMBERED_PATTERNS: usize = 1024;

/// The literal pattern of a `matches` call: `text.matches(p)` or `matches(text, p)`.
/// `None` when the call is not `matches`; `Some(None)` when its pattern is not a literal.
pub(crate) fn literal_pattern(call: &CallExpr) -> Option<Option<&str>> {
    if call.func_name != "matches" {
        return None;
    }
    let pattern = if call.target.is_some() {
        call.args.first()
    } else {
        call.args.get(1)
    };
    Some(pattern.and_then(|pattern| match &pattern.expr {
        Expr::Literal(LiteralValue::String(text)) => Some(text.inner()),
        _ => None,
    }))
}

/// The smallest of [`SIZE_STEPS`] that `pattern`'s compiled program fits in, or why the
/// pattern is refused (not a regular expression, or larger than [`REGEX_SIZE_LIMIT`]).
/// Remembered per pattern, because cost estimates run at every evaluation.
pub(crate) fn size_bound(pattern: &str) -> Result<usize, String> {
    static BOUNDS: OnceLock<Mutex<HashMap<String, Result<usize, String>>>> = OnceLock::new();
    let bounds = BOUNDS.get_or_init(Mutex::default);
    if let Some(known) = bounds
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(pattern)
    {
        return known.clone();
    }
    let bound = measure(pattern);
    let mut bounds = bounds.lock().unwrap_or_else(PoisonError::into_inner);
    if bounds.len() >= REMEMBERED_PATTERNS {
        bounds.clear();
    }
    bounds.insert(pattern.to_owned(), bound.clone());
    bound
}

fn measure(pattern: &str) -> Result<usize, String> {
    let mut last_error = String::new();
    for limit in SIZE_STEPS {
        match regex::RegexBuilder::new(pattern).size_limit(limit).build() {
            Ok(_) => return Ok(limit),
            Err(regex::Error::CompiledTooBig(_)) => {
                last_error = format!(
                    "its pattern compiles to more than {} KiB (a Unicode class such as \\w \
                     repeated many times is large; an ASCII class such as [a-zA-Z0-9_] is not)",
                    REGEX_SIZE_LIMIT >> 10
                );
            }
            Err(error) => return Err(format!("its pattern is not a regular expression: {error}")),
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn small_patterns_have_small_bounds() {
        assert_eq!(size_bound("^admin"), Ok(1 << 10));
        assert_eq!(
            size_bound(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"),
            Ok(1 << 10)
        );
    }

    #[test]
    fn bounds_grow_with_the_program_not_the_text() {
        let short_but_big = size_bound(r"\p{L}").unwrap();
        let long_but_small = size_bound("^(alpha|beta|gamma|delta|epsilon)-[0-9]+$").unwrap();
        assert!(
            short_but_big > long_but_small,
            "{short_but_big} {long_but_small}"
        );
    }

    #[test]
    fn huge_and_invalid_patterns_are_refused() {
        for pattern in [
            r"\w{1000}",
            r"(\w{100}){100}",
            r"((((\w{9}){9}){9}){9})",
            "(a{100}){100}",
        ] {
            let error = size_bound(pattern).unwrap_err();
            assert!(error.contains("64 KiB"), "{pattern}: {error}");
        }
        assert!(size_bound(r"\w{10}").is_err());
        assert!(size_bound(r"[a-zA-Z0-9_]{10}").is_ok());
        assert!(size_bound(r"\p{L}+").is_ok());
        let error = size_bound("(unclosed").unwrap_err();
        assert!(error.contains("not a regular expression"), "{error}");
    }
}
