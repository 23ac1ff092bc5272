//! The HTML of a page: one shell for every page, filled from a template in one pass; the
//! interface strings and the page's data travel as JSON data blocks, never as script.

use std::sync::LazyLock;

use serde_json::Value;

use crate::language::Language;

/// The page template; `{{name}}` marks a slot.
const TEMPLATE: &str = include_str!("../assets/shell.html");

/// What a page shows before (or without) its script.
#[derive(Debug)]
pub(crate) struct Shell<'a> {
    /// The interface language.
    pub(crate) language: Language,
    /// The page title (text, escaped here).
    pub(crate) title: &'a str,
    /// The script that runs the page (`flow.js`, `account.js`), if any.
    pub(crate) script: Option<&'static str>,
    /// Data for the script (`#flowd-page`).
    pub(crate) page: Value,
    /// The body's text before the script replaces it (escaped here).
    pub(crate) message: &'a str,
    /// A link under the message: (path, text).
    pub(crate) link: Option<(&'a str, &'a str)>,
    /// The logo URL, if one is configured (checked by [`crate::PagesSettings::new`]).
    pub(crate) logo: Option<&'a str>,
}

impl Shell<'_> {
    /// The complete document.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(TEMPLATE.len() + 4096);
        let mut rest = TEMPLATE;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return out;
            };
            self.slot(&after[..end], &mut out);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn slot(&self, name: &str, out: &mut String) {
        match name {
            "lang" => out.push_str(self.language.tag()),
            "title" => escape_html(self.title, out),
            "strings" => out.push_str(strings_block(self.language)),
            "page" => json_block(&self.page, out),
            "script" => {
                if let Some(script) = self.script {
                    out.push_str("<script src=\"/if/assets/common.js\" defer></script>\n");
                    out.push_str("<script src=\"/if/assets/");
                    out.push_str(script);
                    out.push_str("\" defer></script>");
                }
            }
            "logo" => {
                if let Some(logo) = self.logo {
                    out.push_str("<img class=\"logo\" alt=\"\" src=\"");
                    escape_html(logo, out);
                    out.push_str("\">");
                }
            }
            "body" => {
                out.push_str("<p>");
                escape_html(self.message, out);
                out.push_str("</p>");
                if let Some((href, text)) = self.link {
                    out.push_str("<p><a href=\"");
                    escape_html(href, out);
                    out.push_str("\">");
                    escape_html(text, out);
                    out.push_str("</a></p>");
                }
            }
            _ => {}
        }
    }
}

/// Appends `text` with the characters that matter in HTML text and attributes escaped.
pub(crate) fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// Appends `value` as JSON that cannot end its `<script type="application/json">` block:
/// `<`, `>` and `&` are written as `\u003c`, `\u003e`, `\u0026`.
/// The strings block of `language`, escaped once per language: it is the same on every page
/// (about 2 KB that would otherwise be copied and serialized at every render).
fn strings_block(language: Language) -> &'static str {
    static BLOCKS: LazyLock<Vec<String>> = LazyLock::new(|| {
        Language::ALL
            .iter()
            .map(|language| {
                let mut block = String::new();
                json_block(&Value::Object(language.strings().clone()), &mut block);
                block
            })
            .collect()
    });
    let index = Language::ALL
        .iter()
        .position(|known| *known == language)
        .unwrap_or(0);
    &BLOCKS[index]
}

fn json_block(value: &Value, out: &mut String) {
    let json = value.to_string();
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shell<'a>(title: &'a str, page: Value) -> Shell<'a> {
        Shell {
            language: Language::German,
            title,
            script: Some("flow.js"),
            page,
            message: "…",
            link: None,
            logo: None,
        }
    }

    #[test]
    fn text_is_escaped_and_data_cannot_close_its_block() {
        let html = shell(
            "<b>{{script}}</b>",
            json!({"slug": "</script><script>alert(1)</script>"}),
        )
        .render();
        assert!(
            html.contains("<title>&lt;b&gt;{{script}}&lt;/b&gt;</title>"),
            "{html}"
        );
        assert!(!html.contains("</script><script>alert"), "{html}");
        assert!(html.contains("\\u003c/script\\u003e"), "{html}");
        assert_eq!(html.matches("<script src=").count(), 2, "{html}");
    }

    #[test]
    fn the_page_carries_its_language_and_strings() {
        let html = shell("Anmelden", json!({})).render();
        assert!(
            html.starts_with("<!doctype html>\n<html lang=\"de\">"),
            "{html}"
        );
        assert!(html.contains("\"continue\":\"Weiter\""), "{html}");
        assert!(!html.contains("{{"), "{html}");
    }
}
