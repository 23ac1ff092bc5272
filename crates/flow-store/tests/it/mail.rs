//! The mailers against real receivers: `FileOutbox` writes an `.eml` file, `SmtpMailer`
//! delivers to an SMTP server listening on loopback inside the test.

use std::sync::Arc;
use std::time::Duration;

use flow_engine::{ExecutionId, Mailer, OutgoingMessage, PortError, TenantId};
use flow_store::{FileOutbox, SmtpMailer};
use flow_templates::Templates;

use crate::support::smtp_receiver;

const CODE: &str = "493817";

fn shipped() -> Arc<Templates> {
    Arc::new(Templates::shipped())
}

fn message(to: &str) -> OutgoingMessage {
    OutgoingMessage {
        tenant: TenantId::default(),
        template: "password_reset_code".to_owned(),
        to: to.to_owned(),
        code: Some(CODE.to_owned()),
        link: None,
        execution_id: Some(ExecutionId::from_random_bytes([3; 16])),
        locale: None,
    }
}

#[test]
fn file_outbox_writes_one_eml_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let outbox_dir = dir.path().join("outbox");
    let outbox = FileOutbox::new(&outbox_dir, "flowd <noreply@example.com>", shipped()).unwrap();
    assert!(outbox_dir.is_dir());
    outbox.send(&message("ada@example.com")).unwrap();
    outbox.send(&message("grace@example.com")).unwrap();

    let mut files: Vec<_> = std::fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(
        files
            .iter()
            .all(|path| path.extension().is_some_and(|ext| ext == "eml"))
    );
    let texts: Vec<String> = files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    let ada = texts
        .iter()
        .find(|text| text.contains("To: ada@example.com"))
        .unwrap();
    assert!(ada.contains("From: flowd <noreply@example.com>"), "{ada}");
    assert!(ada.contains("Subject: Your password reset code"), "{ada}");
    // Text first, then HTML; the code verbatim in the text (tests and docs grep for it).
    let text = ada.find("Content-Type: text/plain").unwrap();
    let html = ada.find("Content-Type: text/html").unwrap();
    assert!(text < html, "{ada}");
    let code_line = format!("Your code is: {CODE}\r\n");
    assert_eq!(
        ada.find(&code_line).map(|at| at < html),
        Some(true),
        "{ada}"
    );
    assert!(ada[html..].contains(CODE), "{ada}");
}

#[test]
fn file_outbox_renders_the_configured_templates() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("templates");
    std::fs::create_dir_all(overrides.join("en")).unwrap();
    std::fs::write(
        overrides.join("en/password_reset_code.subject.txt"),
        "Example Corp: your code",
    )
    .unwrap();
    let templates = Arc::new(Templates::with_overrides(&overrides).unwrap());
    let outbox_dir = dir.path().join("outbox");
    let outbox = FileOutbox::new(&outbox_dir, "noreply@example.com", templates).unwrap();
    outbox.send(&message("ada@example.com")).unwrap();
    let mut german = message("grace@example.com");
    german.locale = Some("de-DE".to_owned());
    outbox.send(&german).unwrap();
    let texts: Vec<String> = std::fs::read_dir(&outbox_dir)
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    let ada = texts.iter().find(|text| text.contains("ada@")).unwrap();
    assert!(
        ada.contains("Subject: Example Corp: your code\r\n"),
        "{ada}"
    );
    let grace = texts.iter().find(|text| text.contains("grace@")).unwrap();
    // German (quoted-printable, the code intact); the English override does not apply.
    assert!(grace.contains("Ihr Code lautet: 493817"), "{grace}");
    assert!(!grace.contains("Example Corp"), "{grace}");
}

#[test]
fn file_outbox_refuses_a_bad_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = FileOutbox::new(dir.path(), "noreply@example.com", shipped()).unwrap();
    assert!(matches!(
        outbox.send(&message("not an address")),
        Err(PortError::Unavailable(_))
    ));
}

#[test]
fn smtp_mailer_delivers_to_a_real_receiver() {
    let (address, received) = smtp_receiver(1);
    let mailer = SmtpMailer::from_url(
        &format!("smtp://{}:{}", address.ip(), address.port()),
        "flowd <noreply@example.com>",
        shipped(),
    )
    .unwrap();
    mailer.send(&message("ada@example.com")).unwrap();
    let data = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(data.contains("To: ada@example.com"), "{data}");
    assert!(data.contains("Subject: Your password reset code"), "{data}");
    assert!(
        data.contains("Content-Type: multipart/alternative"),
        "{data}"
    );
    assert!(data.contains(&format!("Your code is: {CODE}")), "{data}");
}

#[test]
fn smtp_mailer_reports_an_unreachable_server() {
    // Bind and drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::from_url(
        &format!("smtp://127.0.0.1:{port}"),
        "noreply@example.com",
        shipped(),
    )
    .unwrap();
    let error = mailer.send(&message("ada@example.com")).unwrap_err();
    assert!(matches!(&error, PortError::Unavailable(text) if !text.contains(CODE)));
}

#[test]
fn smtps_urls_build_a_tls_transport() {
    // Building needs the rustls (ring) configuration; no connection is made.
    SmtpMailer::from_url(
        "smtps://user:pass@mail.example.com:465",
        "noreply@example.com",
        shipped(),
    )
    .unwrap();
    SmtpMailer::from_url(
        "smtp://mail.example.com:587?tls=required",
        "noreply@example.com",
        shipped(),
    )
    .unwrap();
}
