//! flow-templates: the texts of every message flowd sends, as [minijinja] templates, one per
//! message and language: a subject, a plain text and an HTML part for e-mail, a plain text
//! for SMS. The mailers and SMS senders render an [`OutgoingMessage`] through [`Templates`];
//! no message text lives in Rust code.
//!
//! - **Shipped** defaults in English (`en`) and German (`de`) are compiled in
//!   ([`Templates::shipped`]); files in an operator's directory replace or add single files
//!   ([`Templates::with_overrides`]). Layout: `{lang}/{template}.subject.txt`,
//!   `{lang}/{template}.txt`, `{lang}/{template}.html`, `{lang}/{template}.sms.txt`.
//! - **Checked at start-up**: every template is parsed and rendered with sample values (with
//!   and without a code and a link) when loading, with strict undefined variables, so a typo
//!   in an override stops the server with a [`TemplateError`] naming the file.
//! - **Language** from the message's locale: `de-CH` tries `de-ch`, then `de`, then `en`. A
//!   template name none of the languages has falls back to [`GENERIC_TEMPLATE`].
//! - **Escaping**: the HTML part is auto-escaped, subject and texts are not.
//!
//! ```
//! use flow_engine::{OutgoingMessage, TenantId};
//! use flow_templates::Templates;
//!
//! # fn main() -> Result<(), flow_templates::TemplateError> {
//! let templates = Templates::shipped();
//! let message = OutgoingMessage {
//!     tenant: TenantId::default(),
//!     template: "password_reset_code".to_owned(),
//!     to: "ada@example.com".to_owned(),
//!     code: Some("493817".to_owned()),
//!     link: None,
//!     execution_id: None,
//!     locale: Some("de-CH".to_owned()),
//! };
//! let mail = templates.render_mail(&message)?;
//! assert_eq!(mail.subject, "Ihr Code zum Zurücksetzen des Passworts");
//! assert!(mail.text.starts_with("Ihr Code lautet: 493817\n"));
//! assert!(templates.render_sms(&message)?.contains("493817"));
//! # Ok(())
//! # }
//! ```
//!
//! The operator's side (the variables, the directory, examples) is `docs/messaging.md`.

mod error;
mod language;
mod shipped;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use flow_engine::OutgoingMessage;
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value, context};

pub use error::TemplateError;
pub use language::FALLBACK_LANGUAGE;

/// The template a message falls back to when no language has its own template name. It gets
/// the same variables; the shipped one makes a subject from the template name
/// (`welcome_mail` → "Welcome mail") and shows the code and the link when there are any.
pub const GENERIC_TEMPLATE: &str = "generic";

/// The languages flowd ships templates for.
pub const SHIPPED_LANGUAGES: &[&str] = &["en", "de"];

/// The template names flowd ships (in every one of [`SHIPPED_LANGUAGES`], mail and SMS).
pub const SHIPPED_TEMPLATES: &[&str] = &[
    GENERIC_TEMPLATE,
    "invitation",
    "login_code",
    "password_recovery_link",
    "password_reset_code",
    "verification_code",
];

/// Other names for shipped templates, `(alias, template)`: a message whose template name is
/// an alias uses the aliased template unless some language has a template of the alias's own
/// name.
pub const ALIASES: &[(&str, &str)] = &[
    ("email_verification_code", "verification_code"),
    ("sign_in_code", "login_code"),
];

/// One file of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Subject,
    Text,
    Html,
    Sms,
}

impl Part {
    /// The mail parts, in the order they are checked for completeness.
    const MAIL: [Part; 3] = [Part::Subject, Part::Text, Part::Html];

    fn suffix(self) -> &'static str {
        match self {
            Part::Subject => ".subject.txt",
            Part::Text => ".txt",
            Part::Html => ".html",
            Part::Sms => ".sms.txt",
        }
    }

    /// The template name and part of a file name (`invitation.subject.txt`); `None` for a
    /// name that is not `{template}{suffix}` with a template name of letters, digits, `_` and
    /// `-`.
    fn of_file(file: &str) -> Option<(&str, Part)> {
        // The longer suffixes first: `.subject.txt` and `.sms.txt` also end with `.txt`.
        [Part::Subject, Part::Sms, Part::Html, Part::Text]
            .into_iter()
            .find_map(|part| {
                let name = file.strip_suffix(part.suffix())?;
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                valid.then_some((name, part))
            })
    }
}

/// Where the text of a template file came from, and the text.
struct Source {
    text: String,
    /// A path, or `shipped:en/invitation.txt`.
    origin: String,
}

/// `(language, template, part)`.
type Key = (String, String, Part);

/// The environment's name of a template file: `en/invitation.subject.txt`.
fn entry_name(language: &str, template: &str, part: Part) -> String {
    format!("{language}/{template}{}", part.suffix())
}

/// A rendered e-mail: its subject (one line), plain text and HTML body. [`Debug`] shows the
/// subject only: the bodies carry the code and the link.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject, on one line (line breaks of the template become spaces), trimmed.
    pub subject: String,
    /// The plain-text body (`\n` line ends, ending with one).
    pub text: String,
    /// The HTML body (auto-escaped values, ending with a line end).
    pub html: String,
}

impl std::fmt::Debug for RenderedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The loaded and checked templates. Cheap to share (`Arc<Templates>`); rendering takes
/// `&self` and is safe from many threads.
pub struct Templates {
    env: Environment<'static>,
    /// `(language, template)` with all three mail parts.
    mail: BTreeSet<(String, String)>,
    /// `(language, template)` with an SMS part.
    sms: BTreeSet<(String, String)>,
    /// Environment name → where the file came from.
    origins: BTreeMap<String, String>,
    /// Files of the override directory that are not templates.
    ignored: Vec<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("mail", &self.mail.len())
            .field("sms", &self.sms.len())
            .field("ignored", &self.ignored)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// The shipped templates alone ([`SHIPPED_LANGUAGES`] × [`SHIPPED_TEMPLATES`]).
    #[expect(
        clippy::expect_used,
        reason = "the shipped files are compiled in and checked by this crate's tests: a \
                  failure is a build defect, not something an operator can cause"
    )]
    pub fn shipped() -> Self {
        Self::build(shipped_sources(), None, Vec::new()).expect("the shipped templates are valid")
    }

    /// The shipped templates with the files of `dir` laid over them: `dir/{lang}/{file}`
    /// replaces the shipped file of that name, or adds a template or a language. Every
    /// template is then parsed and rendered with sample values, so that a broken or mistyped
    /// file fails here, at start-up, naming the file.
    ///
    /// Files and folders whose names start with a dot are skipped; any other file that is not
    /// `{lang}/{template}.{subject.txt|txt|html|sms.txt}` (with `lang` a language tag such as
    /// `de` or `de-CH`) is skipped and listed in [`Templates::ignored`], for a warning.
    pub fn with_overrides(dir: &Path) -> Result<Self, TemplateError> {
        let mut sources = shipped_sources();
        let mut ignored = Vec::new();
        for folder in entries(dir)? {
            let Some(language) = file_name(&folder)
                .filter(|_| folder.is_dir())
                .and_then(language::normalize)
            else {
                ignored.push(folder);
                continue;
            };
            for file in entries(&folder)? {
                let parsed = file_name(&file).and_then(Part::of_file);
                let Some((template, part)) = parsed.filter(|_| file.is_file()) else {
                    ignored.push(file);
                    continue;
                };
                let origin = file.display().to_string();
                let text = std::fs::read_to_string(&file).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::InvalidData {
                        TemplateError::NotUtf8 {
                            file: origin.clone(),
                        }
                    } else {
                        TemplateError::Unreadable {
                            path: file.clone(),
                            source,
                        }
                    }
                })?;
                sources.insert(
                    (language.clone(), template.to_owned(), part),
                    Source { text, origin },
                );
            }
        }
        Self::build(sources, Some(dir), ignored)
    }

    /// The files of the override directory that were skipped because they are not templates
    /// (empty for [`Templates::shipped`]); worth a warning at start-up.
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// The e-mail for `message`: the template of its name (or an [`ALIASES`] target, or
    /// [`GENERIC_TEMPLATE`]) in the best language for its locale.
    pub fn render_mail(&self, message: &OutgoingMessage) -> Result<RenderedMail, TemplateError> {
        let (language, template) = self.resolve(&self.mail, message);
        let values = values(message, language);
        let subject = self.render(language, template, Part::Subject, &values)?;
        let text = self.render(language, template, Part::Text, &values)?;
        let html = self.render(language, template, Part::Html, &values)?;
        Ok(RenderedMail {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: with_final_newline(text),
            html: with_final_newline(html),
        })
    }

    /// The text message for `message`, chosen as for [`Templates::render_mail`], without
    /// trailing whitespace.
    pub fn render_sms(&self, message: &OutgoingMessage) -> Result<String, TemplateError> {
        let (language, template) = self.resolve(&self.sms, message);
        let text = self.render(language, template, Part::Sms, &values(message, language))?;
        Ok(text.trim_end().to_owned())
    }

    /// The `(language, template)` of `set` to use for `message`: its template name in the
    /// first language of its locale's chain that has it, else the alias's template, else
    /// the generic one.
    fn resolve<'a>(
        &'a self,
        set: &'a BTreeSet<(String, String)>,
        message: &OutgoingMessage,
    ) -> (&'a str, &'a str) {
        let languages = language::candidates(message.locale.as_deref());
        let alias = ALIASES
            .iter()
            .find(|(alias, _)| *alias == message.template)
            .map(|(_, template)| *template);
        let names = std::iter::once(message.template.as_str())
            .chain(alias)
            .chain(std::iter::once(GENERIC_TEMPLATE));
        for name in names {
            for language in &languages {
                if let Some((language, template)) = set.get(&(language.clone(), name.to_owned())) {
                    return (language, template);
                }
            }
        }
        // Not reached: the shipped generic template in the fallback language is always there.
        (FALLBACK_LANGUAGE, GENERIC_TEMPLATE)
    }

    fn render(
        &self,
        language: &str,
        template: &str,
        part: Part,
        values: &Value,
    ) -> Result<String, TemplateError> {
        let name = entry_name(language, template, part);
        let failed = |error: minijinja::Error| TemplateError::Render {
            file: self
                .origins
                .get(&name)
                .cloned()
                .unwrap_or_else(|| name.clone()),
            line: error.line(),
            kind: error.kind().to_string(),
        };
        self.env
            .get_template(&name)
            .and_then(|entry| entry.render(values))
            .map_err(failed)
    }

    /// Checks and compiles `sources`; `dir` is the override directory (for naming a missing
    /// file).
    fn build(
        sources: BTreeMap<Key, Source>,
        dir: Option<&Path>,
        ignored: Vec<PathBuf>,
    ) -> Result<Self, TemplateError> {
        let mut mail = BTreeSet::new();
        let mut sms = BTreeSet::new();
        for (language, template, part) in sources.keys() {
            let pair = (language.clone(), template.clone());
            match part {
                Part::Sms => {
                    sms.insert(pair);
                }
                _ => {
                    mail.insert(pair);
                }
            }
        }
        for (language, template) in &mail {
            for part in Part::MAIL {
                if !sources.contains_key(&(language.clone(), template.clone(), part)) {
                    let name = entry_name(language, template, part);
                    let file = match dir {
                        Some(dir) => dir.join(&name).display().to_string(),
                        None => format!("shipped:{name}"),
                    };
                    return Err(TemplateError::Incomplete { file });
                }
            }
        }
        let mut env = environment();
        let mut origins = BTreeMap::new();
        for ((language, template, part), source) in sources {
            let name = entry_name(&language, &template, part);
            env.add_template_owned(name.clone(), source.text)
                .map_err(|error| TemplateError::Syntax {
                    file: source.origin.clone(),
                    line: error.line(),
                    message: explain(&error),
                })?;
            origins.insert(name, source.origin);
        }
        let templates = Self {
            env,
            mail,
            sms,
            origins,
            ignored,
        };
        templates.check()?;
        Ok(templates)
    }

    /// Renders every template with sample values, with and without a code and a link.
    fn check(&self) -> Result<(), TemplateError> {
        for (name, origin) in &self.origins {
            let (language, rest) = name.split_once('/').unwrap_or((FALLBACK_LANGUAGE, name));
            let template = rest.split('.').next().unwrap_or(rest);
            let entry = self
                .env
                .get_template(name)
                .map_err(|error| TemplateError::Check {
                    file: origin.clone(),
                    line: error.line(),
                    message: explain(&error),
                })?;
            for (code, link) in [(true, true), (true, false), (false, true), (false, false)] {
                let values = context! {
                    code => code.then_some("123456"),
                    link => link.then_some(
                        "https://id.example.com/register?flowType=INVITED_USER_REGISTRATION\
                         &confirmationCode=0123456789abcdef0123456789abcdef",
                    ),
                    template => template,
                    locale => language,
                    lang => language,
                    to => "someone@example.com",
                };
                entry.render(values).map_err(|error| TemplateError::Check {
                    file: origin.clone(),
                    line: error.line(),
                    message: explain(&error),
                })?;
            }
        }
        Ok(())
    }
}

/// The variables of a template: `code`, `link`, `template`, `locale`, `lang` (the language
/// of the template chosen) and `to`. Absent ones (`code`, `link`, `locale`) are `none`:
/// defined, false in an `if`, printed as nothing.
fn values(message: &OutgoingMessage, language: &str) -> Value {
    context! {
        code => message.code.as_deref(),
        link => message.link.as_deref(),
        template => message.template.as_str(),
        locale => message.locale.as_deref(),
        lang => language,
        to => message.to.as_str(),
    }
}

/// The environment all templates share: strict undefined variables, Jinja's `trim_blocks`
/// and `lstrip_blocks` (a line holding only a block tag leaves nothing behind), the final
/// newline of a file kept, HTML auto-escaping for `.html` files only.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Errors that name the undefined variable (`cdoe` is undefined), in release builds too.
    env.set_debug(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|name| {
        if name.ends_with(Part::Html.suffix()) {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(format_value);
    env
}

/// Prints a value: `none` as nothing, and in HTML with `&`, `<`, `>`, `"` and `'` escaped
/// (minijinja's own escaping also turns `/` into `&#x2f;`, which makes links in the HTML
/// source hard to read and is not needed inside text or quoted attributes).
fn format_value(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_none() {
        return Ok(());
    }
    let text = value.to_string();
    if *state.auto_escape() != AutoEscape::Html || value.is_safe() {
        return out.write_str(&text).map_err(minijinja::Error::from);
    }
    let mut rest = text.as_str();
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest).map_err(minijinja::Error::from)
}

/// minijinja's explanation of an error (`undefined value: `cdoe` is undefined`), without its
/// own naming of the template: the file is named by [`TemplateError`].
fn explain(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

fn with_final_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn shipped_sources() -> BTreeMap<Key, Source> {
    shipped::FILES
        .iter()
        .filter_map(|(path, text)| {
            let (language, file) = path.split_once('/')?;
            let (template, part) = Part::of_file(file)?;
            Some((
                (language.to_owned(), template.to_owned(), part),
                Source {
                    text: (*text).to_owned(),
                    origin: format!("shipped:{path}"),
                },
            ))
        })
        .collect()
}

/// The entries of `dir`, sorted, without those whose names start with a dot.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, TemplateError> {
    let unreadable = |source| TemplateError::Unreadable {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if !path
            .file_name()
            .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
        {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|name| name.to_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn file_names_map_to_templates_and_parts() {
        assert_eq!(
            Part::of_file("invitation.subject.txt"),
            Some(("invitation", Part::Subject))
        );
        assert_eq!(
            Part::of_file("login_code.sms.txt"),
            Some(("login_code", Part::Sms))
        );
        assert_eq!(Part::of_file("a-b_c.txt"), Some(("a-b_c", Part::Text)));
        assert_eq!(Part::of_file("x.html"), Some(("x", Part::Html)));
        for bad in [
            ".txt",
            "invitation.txt~",
            "in vitation.txt",
            "a.b.txt",
            "x.htm",
            "x",
        ] {
            assert_eq!(Part::of_file(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_file_under_templates_is_shipped_and_complete() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        for language in entries(&root).unwrap() {
            for file in entries(&language).unwrap() {
                on_disk.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
        on_disk.sort();
        let mut shipped: Vec<String> = shipped::FILES
            .iter()
            .map(|(path, _)| (*path).to_owned())
            .collect();
        shipped.sort();
        assert_eq!(
            on_disk, shipped,
            "src/shipped.rs lists every file under templates/"
        );
        let expected = SHIPPED_LANGUAGES.len() * SHIPPED_TEMPLATES.len() * 4;
        assert_eq!(shipped_sources().len(), expected);
        for language in SHIPPED_LANGUAGES {
            for template in SHIPPED_TEMPLATES {
                for part in [Part::Subject, Part::Text, Part::Html, Part::Sms] {
                    let key = ((*language).to_owned(), (*template).to_owned(), part);
                    assert!(shipped_sources().contains_key(&key), "{key:?}");
                }
            }
        }
        for (_, target) in ALIASES {
            assert!(SHIPPED_TEMPLATES.contains(target));
        }
        assert!(Templates::shipped().ignored().is_empty());
    }

    #[test]
    fn html_escaping_covers_the_five_characters() {
        let mut env = environment();
        env.add_template("x.html", "{{ v }}|{{ v | safe }}")
            .unwrap();
        env.add_template("x.txt", "{{ v }}").unwrap();
        let v = r#"<a href="x">&'/</a>"#;
        assert_eq!(
            env.get_template("x.html")
                .unwrap()
                .render(context! { v => v })
                .unwrap(),
            format!("&lt;a href=&quot;x&quot;&gt;&amp;&#39;/&lt;/a&gt;|{v}")
        );
        assert_eq!(
            env.get_template("x.txt")
                .unwrap()
                .render(context! { v => v })
                .unwrap(),
            v
        );
    }
}
