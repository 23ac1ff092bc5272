//! Language tags: which template languages a message's locale tries, in order.

/// The language every lookup ends with; the shipped templates always have it.
pub const FALLBACK_LANGUAGE: &str = "en";

/// A tag in the form the templates are keyed by: lowercase, `-` between subtags (`de_CH` and
/// `de-CH` are `de-ch`). `None` for anything that is not a plausible BCP 47 tag: a primary
/// subtag of 2 or 3 letters, then subtags of 1 to 8 letters or digits, 35 characters at most.
pub(crate) fn normalize(tag: &str) -> Option<String> {
    let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
    if tag.is_empty() || tag.len() > 35 {
        return None;
    }
    let mut subtags = tag.split('-');
    let primary = subtags.next()?;
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok = subtags.all(|subtag| {
        (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    (primary_ok && rest_ok).then_some(tag)
}

/// The languages to try for `locale`, most specific first, ending with
/// [`FALLBACK_LANGUAGE`]: `de-CH` gives `de-ch`, `de`, `en`; no locale (or an unusable one)
/// gives `en`.
pub(crate) fn candidates(locale: Option<&str>) -> Vec<String> {
    let mut languages = Vec::new();
    if let Some(tag) = locale.and_then(normalize) {
        let mut current = tag.as_str();
        loop {
            languages.push(current.to_owned());
            match current.rfind('-') {
                Some(end) => current = &current[..end],
                None => break,
            }
        }
    }
    if !languages
        .iter()
        .any(|language| language == FALLBACK_LANGUAGE)
    {
        languages.push(FALLBACK_LANGUAGE.to_owned());
    }
    languages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_fall_back_from_region_to_language_to_english() {
        assert_eq!(candidates(Some("de-CH")), ["de-ch", "de", "en"]);
        assert_eq!(candidates(Some("de_CH")), ["de-ch", "de", "en"]);
        assert_eq!(
            candidates(Some("zh-Hant-TW")),
            ["zh-hant-tw", "zh-hant", "zh", "en"]
        );
        assert_eq!(candidates(Some("en-GB")), ["en-gb", "en"]);
        assert_eq!(candidates(Some("EN")), ["en"]);
        assert_eq!(candidates(None), ["en"]);
    }

    #[test]
    fn implausible_tags_are_ignored() {
        for tag in [
            "",
            "*",
            "../../etc",
            "d",
            "deutsch",
            "de--ch",
            "de-",
            "en gb",
            "é",
        ] {
            assert_eq!(candidates(Some(tag)), ["en"], "{tag:?}");
        }
        assert_eq!(normalize(&"de-".repeat(20)), None);
    }
}
