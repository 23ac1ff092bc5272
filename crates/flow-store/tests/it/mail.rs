//! The mailers against real receivers: `FileOutbox` writes an `.eml` file, `SmtpMailer`
//! delivers to an SMTP server listening on loopback inside the test.

use std::time::Duration;

use flow_engine::{ExecutionId, Mailer, OutgoingMessage, PortError, TenantId};
use flow_store::{FileOutbox, SmtpMailer};

use crate::support::smtp_receiver;

const CODE: &str = "493817";

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
    let outbox = FileOutbox::new(&outbox_dir, "flowd <noreply@example.com>").unwrap();
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
    assert!(ada.contains(CODE), "{ada}");
}

#[test]
fn file_outbox_refuses_a_bad_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = FileOutbox::new(dir.path(), "noreply@example.com").unwrap();
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
    )
    .unwrap();
    mailer.send(&message("ada@example.com")).unwrap();
    let data = received.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(data.contains("To: ada@example.com"), "{data}");
    assert!(data.contains("Subject: Your password reset code"), "{data}");
    assert!(data.contains(CODE), "{data}");
}

#[test]
fn smtp_mailer_reports_an_unreachable_server() {
    // Bind and drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer =
        SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), "noreply@example.com").unwrap();
    let error = mailer.send(&message("ada@example.com")).unwrap_err();
    assert!(matches!(&error, PortError::Unavailable(text) if !text.contains(CODE)));
}

#[test]
fn smtps_urls_build_a_tls_transport() {
    // Building needs the rustls (ring) configuration; no connection is made.
    SmtpMailer::from_url(
        "smtps://user:pass@mail.example.com:465",
        "noreply@example.com",
    )
    .unwrap();
    SmtpMailer::from_url(
        "smtp://mail.example.com:587?tls=required",
        "noreply@example.com",
    )
    .unwrap();
}
