//! [`TemplateError`]: coded errors of loading and rendering templates, each naming the file.

use std::path::PathBuf;

/// Why templates could not be loaded or a message could not be rendered. Every variant has a
/// stable [`code`](TemplateError::code) and names the file concerned.
///
/// Errors of loading ([`Templates::with_overrides`](crate::Templates::with_overrides)) may
/// carry minijinja's full explanation, since only sample values were rendered; errors of
/// rendering a real message ([`TemplateError::Render`]) carry only the kind of failure, never
/// a value, so that a code or link cannot reach a log through them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The override directory, or a folder or file in it, could not be read.
    #[error("templates_unreadable: cannot read {}: {source}", path.display())]
    Unreadable {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A template file is not UTF-8.
    #[error("template_not_utf8: {file} is not UTF-8 text")]
    NotUtf8 {
        /// The file.
        file: String,
    },
    /// A template does not parse.
    #[error("template_syntax: {file}{}: {message}", at_line(*line))]
    Syntax {
        /// The file.
        file: String,
        /// The line of the error, when known.
        line: Option<usize>,
        /// minijinja's explanation.
        message: String,
    },
    /// A template parses but fails when rendered with sample values at start-up: an undefined
    /// variable (a typo such as `{{ cdoe }}`), an unknown filter, a type error.
    #[error("template_check: {file}{}: {message}", at_line(*line))]
    Check {
        /// The file.
        file: String,
        /// The line of the error, when known.
        line: Option<usize>,
        /// minijinja's explanation.
        message: String,
    },
    /// A mail template lacks one of its three files (subject, text, HTML).
    #[error(
        "template_incomplete: {file} is missing: a mail template needs a subject \
         (.subject.txt), a text (.txt) and an HTML (.html) part"
    )]
    Incomplete {
        /// The missing file.
        file: String,
    },
    /// Rendering a message failed (a template that passed the start-up check but fails for
    /// this message's values).
    #[error("template_render: {file}{}: {kind}", at_line(*line))]
    Render {
        /// The file.
        file: String,
        /// The line of the error, when known.
        line: Option<usize>,
        /// The kind of failure (`undefined value`), never a value.
        kind: String,
    },
}

impl TemplateError {
    /// The stable code: `templates_unreadable`, `template_not_utf8`, `template_syntax`,
    /// `template_check`, `template_incomplete` or `template_render`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable { .. } => "templates_unreadable",
            Self::NotUtf8 { .. } => "template_not_utf8",
            Self::Syntax { .. } => "template_syntax",
            Self::Check { .. } => "template_check",
            Self::Incomplete { .. } => "template_incomplete",
            Self::Render { .. } => "template_render",
        }
    }

    /// The file the error is about (a path, or `shipped:en/invitation.txt` for a shipped one).
    pub fn file(&self) -> String {
        match self {
            Self::Unreadable { path, .. } => path.display().to_string(),
            Self::NotUtf8 { file }
            | Self::Syntax { file, .. }
            | Self::Check { file, .. }
            | Self::Incomplete { file }
            | Self::Render { file, .. } => file.clone(),
        }
    }
}

fn at_line(line: Option<usize>) -> String {
    line.map(|line| format!(", line {line}"))
        .unwrap_or_default()
}
