//! Mailers: [`FileOutbox`] writes each message as an `.eml` file (development), [`SmtpMailer`]
//! delivers it over SMTP (lettre, blocking). Both render the message through
//! [`flow_templates::Templates`] (subject, plain text, HTML) and send it as
//! `multipart/alternative`, the text part first; neither ever logs the code or the link.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flow_engine::{Mailer, OutgoingMessage, PortError};
use flow_templates::{RenderedMail, Templates};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::StoreError;

/// The subject, text and HTML of `message` as the mailers send it, from `templates`. A
/// template that fails for this message is [`PortError::Unavailable`] naming the template
/// file, never a value.
pub fn render(templates: &Templates, message: &OutgoingMessage) -> Result<RenderedMail, PortError> {
    templates
        .render_mail(message)
        .map_err(|error| PortError::Unavailable(format!("mail template: {error}")))
}

/// The longest line RFC 5322 allows, without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// The body of one MIME part, with CRLF line ends. Text that is ASCII with lines of at most
/// 998 octets goes as it is (`7bit`), so that the `.eml` file and the SMTP data carry the code
/// and the link verbatim (lettre's own choice would quote-print any line over 76 characters,
/// such as an invitation link, and break it with soft line breaks); anything else (German
/// umlauts, very long lines) is encoded as lettre chooses (quoted-printable or base64).
fn part_body(text: &str) -> Body {
    let crlf = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    let plain = crlf.is_ascii()
        && !crlf.contains('\0')
        && crlf.split("\r\n").all(|line| line.len() <= MAX_LINE_OCTETS);
    if plain {
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(crlf)
    }
}

/// Builds the lettre message for `message` from `from`: `multipart/alternative` with the
/// plain text first and the HTML second (clients show the last part they can display).
fn build(
    templates: &Templates,
    from: &Mailbox,
    message: &OutgoingMessage,
) -> Result<Message, PortError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|_| PortError::Unavailable("invalid recipient address".to_owned()))?;
    let mail = render(templates, message)?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(part_body(&mail.text)),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(part_body(&mail.html)),
                ),
        )
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
    templates: Arc<Templates>,
}

impl FileOutbox {
    /// An outbox writing into `dir` (created if missing), sending as `from`
    /// (`"flowd <noreply@example.com>"`), with the texts of `templates`.
    pub fn new(
        dir: impl Into<PathBuf>,
        from: &str,
        templates: Arc<Templates>,
    ) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(Self {
            transport: FileTransport::new(&dir),
            from: parse_from(from)?,
            dir,
            templates,
        })
    }

    /// The directory the messages go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Mailer for FileOutbox {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let email = build(&self.templates, &self.from, message)?;
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
    templates: Arc<Templates>,
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

    /// A mailer for the server at `url`, sending as `from`, with the texts of `templates`.
    pub fn from_url(url: &str, from: &str, templates: Arc<Templates>) -> Result<Self, StoreError> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|error| StoreError::Mail(format!("invalid SMTP URL: {error}")))?
            .timeout(Some(Self::DEFAULT_TIMEOUT))
            .build();
        Ok(Self {
            from: parse_from(from)?,
            transport,
            templates,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, message: &OutgoingMessage) -> Result<(), PortError> {
        let email = build(&self.templates, &self.from, message)?;
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

    fn formatted(message: &OutgoingMessage) -> String {
        let from = parse_from("flowd <noreply@example.com>").unwrap();
        let email = build(&Templates::shipped(), &from, message).unwrap();
        String::from_utf8(email.formatted()).unwrap()
    }

    #[test]
    fn mails_are_text_then_html_with_the_code_and_link_verbatim() {
        let mut invitation = message("invitation", Some("0123abcd"));
        let link = "https://id.example.com/register?flowType=INVITED_USER_REGISTRATION\
                    &confirmationCode=0123456789abcdef0123456789abcdef";
        invitation.link = Some(link.into());
        let raw = formatted(&invitation);
        assert!(
            raw.contains("Subject: You are invited to create an account\r\n"),
            "{raw}"
        );
        assert!(
            raw.contains("Content-Type: multipart/alternative;"),
            "{raw}"
        );
        let text = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(text < html, "{raw}");
        assert!(
            !raw.contains("quoted-printable") && !raw.contains("base64"),
            "{raw}"
        );
        assert!(raw.contains("Content-Transfer-Encoding: 7bit"), "{raw}");
        // The link on a line of its own (longer than 76 characters, yet not folded), the code.
        assert!(
            raw[text..html].contains(&format!("\r\n{link}\r\n")),
            "{raw}"
        );
        assert!(raw[text..html].contains("code where you are asked for it: 0123abcd\r\n"));
        assert!(raw[html..].contains(&link.replace('&', "&amp;")), "{raw}");
    }

    #[test]
    fn non_ascii_text_is_encoded_and_the_code_stays_readable() {
        let mut german = message("password_reset_code", Some("493817"));
        german.locale = Some("de-CH".into());
        let raw = formatted(&german);
        // The subject is encoded (RFC 2047), the parts are quoted-printable: the digits stay.
        assert!(raw.contains("Subject: Ihr Code zum =?utf-8?"), "{raw}");
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable"),
            "{raw}"
        );
        assert!(raw.contains("Ihr Code lautet: 493817"), "{raw}");
        assert!(raw.is_ascii());
    }

    #[test]
    fn bodies_get_crlf_line_ends_and_overlong_lines_are_encoded() {
        let body = part_body("a\nb\r\nc\rd\n");
        assert_eq!(body.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(body.as_ref(), b"a\r\nb\r\nc\r\nd\r\n");
        let long = "x".repeat(MAX_LINE_OCTETS + 1);
        assert_ne!(
            part_body(&long).encoding(),
            ContentTransferEncoding::SevenBit
        );
        assert_eq!(
            part_body(&"x".repeat(MAX_LINE_OCTETS)).encoding(),
            ContentTransferEncoding::SevenBit
        );
    }

    #[test]
    fn invalid_addresses_are_refused() {
        let templates = Arc::new(Templates::shipped());
        assert!(matches!(
            FileOutbox::new(std::env::temp_dir(), "not an address", templates.clone()),
            Err(StoreError::Mail(_))
        ));
        assert!(SmtpMailer::from_url("http://x", "a@example.com", templates).is_err());
        let from = parse_from("a@example.com").unwrap();
        let mut bad = message("login_code", Some("1"));
        bad.to = "not an address".into();
        assert!(matches!(
            build(&Templates::shipped(), &from, &bad),
            Err(PortError::Unavailable(_))
        ));
    }
}
