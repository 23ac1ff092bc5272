//! The interface strings: one catalogue per language (`strings/*.json`), and the choice of
//! one from `Accept-Language`.

use std::sync::LazyLock;

use serde_json::{Map, Value};

/// A language the pages are shipped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// English, the default.
    English,
    /// German.
    German,
}

impl Language {
    /// Every shipped language, the default first.
    pub const ALL: [Language; 2] = [Language::English, Language::German];

    /// The language's tag (`lang` of the page).
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::German => "de",
        }
    }

    /// The catalogue source of this language.
    fn source(self) -> &'static str {
        match self {
            Self::English => include_str!("../strings/en.json"),
            Self::German => include_str!("../strings/de.json"),
        }
    }

    /// This language's strings, key → text.
    pub fn strings(self) -> &'static Map<String, Value> {
        static CATALOGUES: LazyLock<Vec<Map<String, Value>>> = LazyLock::new(|| {
            Language::ALL
                .iter()
                // The catalogues are part of the source; the unit tests parse every one.
                .map(|language| serde_json::from_str(language.source()).unwrap_or_default())
                .collect()
        });
        let index = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        &CATALOGUES[index]
    }

    /// The text of `key` (the key itself if the catalogue lacks it, which a test prevents).
    pub fn text(self, key: &str) -> &'static str {
        match self.strings().get(key) {
            Some(Value::String(text)) => text,
            _ => Language::English
                .strings()
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("?"),
        }
    }
}

/// The language to answer in for an `Accept-Language` header: the shipped language with the
/// highest quality (the first of equals), matched on the primary subtag (`de-CH` is German);
/// `q=0` excludes; English when nothing matches or the header is absent or malformed.
pub fn negotiate(header: Option<&str>) -> Language {
    let Some(header) = header else {
        return Language::English;
    };
    let mut best: Option<(Language, f32)> = None;
    for item in header.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let quality = parts
            .find_map(|param| param.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .filter(|q| (0.0..=1.0).contains(q));
        let Some(quality) = quality.filter(|q| *q > 0.0) else {
            continue;
        };
        let primary = tag.split('-').next().unwrap_or_default();
        let language = if primary == "*" {
            Some(Language::English)
        } else {
            Language::ALL
                .into_iter()
                .find(|language| language.tag().eq_ignore_ascii_case(primary))
        };
        if let Some(language) = language
            && best.is_none_or(|(_, q)| quality > q)
        {
            best = Some((language, quality));
        }
    }
    best.map_or(Language::English, |(language, _)| language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_has_the_same_non_empty_keys() {
        let keys = |language: Language| {
            let strings: Map<String, Value> = serde_json::from_str(language.source())
                .unwrap_or_else(|error| panic!("{}: {error}", language.tag()));
            for (key, value) in &strings {
                assert!(
                    value.as_str().is_some_and(|text| !text.trim().is_empty()),
                    "{}: {key} is not a non-empty string",
                    language.tag()
                );
            }
            strings.keys().cloned().collect::<Vec<_>>()
        };
        let english = keys(Language::English);
        for language in Language::ALL {
            assert_eq!(keys(language), english, "keys of {}", language.tag());
            assert_eq!(language.text("lang"), language.tag());
        }
    }

    #[test]
    fn the_best_quality_wins_and_primary_subtags_match() {
        assert_eq!(negotiate(Some("de-CH, en;q=0.5")), Language::German);
        assert_eq!(negotiate(Some("en;q=0.4, de;q=0.9")), Language::German);
        assert_eq!(negotiate(Some("fr, de;q=0.1")), Language::German);
        assert_eq!(negotiate(Some("fr, en;q=0.2, de;q=0.1")), Language::English);
        assert_eq!(negotiate(Some("DE")), Language::German);
    }

    #[test]
    fn unknown_excluded_or_malformed_headers_fall_back_to_english() {
        assert_eq!(negotiate(None), Language::English);
        assert_eq!(negotiate(Some("fr, ja")), Language::English);
        assert_eq!(negotiate(Some("de;q=0")), Language::English);
        assert_eq!(negotiate(Some("de;q=2")), Language::English);
        assert_eq!(negotiate(Some("de;q=abc")), Language::English);
        assert_eq!(negotiate(Some(";;;,,,")), Language::English);
        assert_eq!(negotiate(Some("*")), Language::English);
    }
}
