//! Mailers: [`FileOutbox`] writes each message as an `.eml` file (development), [`SmtpMailer`]
//! delivers it over SMTP (lettre, blocking). Both render the same plain-text message from the
//! template name and the code, and neither ever logs the code.

use std::path::{Path, PathBuf};
use std::time::Duration;

use flow_engine::{Mailer, OutgoingMessage, PortError};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::StoreError;

/// The subject and text body of a message, from its template name, code and link.
///
/// Known templates get a fixed subject; any other template name is turned into words
/// (`welcome_mail` → "Welcome mail"). Localization (the message's `locale`) is future work.
pub fn render(message: &OutgoingMessage) -> (String, String) {
    let subject = match message.template.as_str() {
        "password_reset_code" => "Your password reset code".to_owned(),
        "email_verification_code" | "verification_code" => "Your verification code".to_owned(),
        "login_code" | "sign_in_code" => "Your sign-in code".to_owned(),
        "invitation" => "You are invited to create an account".to_owned(),
        "password_recovery_link" => "Reset your password".to_owned(),
        other => humanize(other),
    };
    let body = match (&message.code, &message.link) {
        (Some(code), Some(link)) => format!(
            "You have been invited to create an account.\r\n\r\nOpen this link to accept the \
             invitation:\r\n{link}\r\n\r\nOr enter this invitation code where you are asked \
             for it: {code}\r\n\r\nThe invitation can be used once and expires. If you did \
             not expect it, you can ignore this message.\r\n"
        ),
        (None, Some(link)) if message.template == "password_recovery_link" => format!(
            "An administrator asked you to choose a new password.\r\n\r\nOpen this link, \
             enter the e-mail address or username you sign in with and the code we then \
             send you, and choose a new password:\r\n{link}\r\n\r\nUntil you do, your current password keeps \
             working. If you did not expect this message, you can ignore it.\r\n"
        ),
        (None, Some(link)) => format!("{subject}\r\n\r\n{link}\r\n"),
        (Some(code), None) => format!(
            "Your code is: {code}\r\n\r\nEnter it where you asked for it. It can be used once \
             and expires soon.\r\nIf you did not ask for this code, you can ignore this \
             message.\r\n"
        ),
        (None, None) => format!("{subject}\r\n"),
    };
    (subject, body)
}

fn humanize(template: &str) -> String {
    let words = template.replace(['_', '-'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Message".to_owned(),
    }
}

/// Builds the lettre message for `message` from `from`.
fn build(from: &Mailbox, message: &OutgoingMessage) -> Result<Message, PortError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|_| PortError::Unavailable("invalid recipient address".to_owned()))?;
    let (subject, body) = render(message);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|error| PortError::Unavailable(format!("cannot build the message: {error}")))
}

fn parse_from(from: &str) -> Result<Mailbox, StoreError> {
    from.parse()
        .map_err(|error| StoreError::Mail(format!("invalid sender address: {error}")))
}

/// A [`Mailer`] that writes every message as an `.eml` file (RFC 5322, named by a random
/// UUID) into a directory, for development and tests. It creates the directory.
#[derive(Debug)]
pub struct FileOutbox {
    dir: PathBuf,
    from: Mailbox,
    transport: FileTransport,
}

impl FileOutbox {
    /// An outbox writing into `dir` (created if missing), sending as `from`
    /// (`"flowd <noreply@example.com>"`).
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            transport: FileTransport::new(&dir),
            from: parse_from(from)?,
            dir,
        })
    }

    /// The directory the messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Mailer for FileOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let email = build(&self.from, message)?;
        // The directory may have been removed since; recreate it rather than fail.
        std::fs::create_dir_all(&self.dir)
            .map_err(|error| PortError::Unavailable(format!("outbox directory: {error}")))?;
        self.transport
            .send(&email)
            .map(drop)
            .map_err(|error| PortError::Unavailable(format!("outbox: {error}")))
    }
}

/// A [`Mailer`] that delivers over SMTP with lettre's blocking transport (one connection per
/// message; the engine calls it from a blocking thread).
///
/// URLs as lettre reads them: `smtp://host:port` (plain, for development),
/// `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (implicit TLS), optionally
/// with `user:password@` for AUTH. TLS is rustls with the ring provider, which lettre selects
/// itself; no process-wide crypto provider needs to be installed.
pub struct SmtpMailer {
    from: Mailbox,
    transport: SmtpTransport,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the transport: its settings hold the SMTP password.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// The default time to wait for the SMTP server at each step.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A mailer for the server at `url`, sending as `from`.
    pub fn from_url(url: &str, from: &str) -> Result<Self, StoreError> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|error| StoreError::Mail(format!("invalid SMTP URL: {error}")))?
            .timeout(Some(Self::DEFAULT_TIMEOUT))
            .build();
        Ok(Self {
            from: parse_from(from)?,
            transport,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let email = build(&self.from, message)?;
        self.transport
            .send(&email)
            .map(drop)
            .map_err(|error| PortError::Unavailable(format!("smtp: {error}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use flow_engine::{ExecutionId, TenantId};

    use super::*;

    fn message(template: &str, code: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            tenant: TenantId::default(),
            template: template.to_owned(),
            to: "a@example.com".to_owned(),
            code: code.map(str::to_owned),
            link: None,
            execution_id: Some(ExecutionId::from_random_bytes([7; 16])),
            locale: None,
        }
    }

    #[test]
    fn templates_render_subject_and_code() {
        let (subject, body) = render(&message("password_reset_code", Some("123456")));
        assert_eq!(subject, "Your password reset code");
        assert!(body.contains("123456"));
        let (subject, body) = render(&message("welcome_mail", None));
        assert_eq!(subject, "Welcome mail");
        assert!(!body.is_empty());
        let mut invitation = message("invitation", Some("0123abcd"));
        invitation.link = Some("https://id.example.com/register?confirmationCode=0123abcd".into());
        let (subject, body) = render(&invitation);
        assert_eq!(subject, "You are invited to create an account");
        assert!(body.contains("\r\nhttps://id.example.com/register?confirmationCode=0123abcd\r\n"));
        assert!(body.contains("code where you are asked for it: 0123abcd"));
    }

    #[test]
    fn invalid_addresses_are_refused() {
        assert!(matches!(
            FileOutbox::new(std::env::temp_dir(), "not an address"),
            Err(StoreError::Mail(_))
        ));
        assert!(SmtpMailer::from_url("http://x", "a@example.com").is_err());
    }
}
