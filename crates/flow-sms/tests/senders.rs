//! The three SMS senders against real receivers: a Twilio-compatible HTTP server on loopback
//! (method, path, basic auth, form fields; refusals, outages, timeouts), the JSON webhook
//! through a real `flow_webhooks::WebhookSender` (signature checked by the `standardwebhooks`
//! crate, egress refusal), and the file outbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../../flow-webhooks/tests/receiver/mod.rs"]
mod receiver;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use flow_engine::{OutgoingMessage, PortError, SmsSender, TenantId};
use flow_sms::{
    FileSmsOutbox, JsonWebhookSms, OutboxEntry, Renderer, SMS_INVALID_NUMBER, SMS_REJECTED,
    SMS_TIMEOUT, SMS_UNAVAILABLE, TwilioSender, TwilioSettings, code_of,
};
use flow_webhooks::{WebhookOptions, WebhookSender};
use receiver::{Received, Receiver, Reply};
use serde_json::{Value, json};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "auth-token-not-for-logs";
const FROM: &str = "+15005550006";
const TO: &str = "+4915112345678";
const CODE: &str = "483920";
const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn message(to: &str) -> OutgoingMessage {
    OutgoingMessage {
        tenant: TenantId::default(),
        template: "login_code".to_owned(),
        to: to.to_owned(),
        code: Some(CODE.to_owned()),
        link: None,
        execution_id: None,
        locale: Some("de".to_owned()),
    }
}

/// A renderer like a template's, counting its calls.
fn renderer(calls: &Arc<AtomicUsize>) -> Renderer {
    let calls = Arc::clone(calls);
    Arc::new(move |message: &OutgoingMessage| {
        calls.fetch_add(1, Ordering::SeqCst);
        Ok(format!(
            "{} ist dein Code ({})",
            message.code.as_deref().unwrap_or_default(),
            message.template
        ))
    })
}

fn text() -> String {
    format!("{CODE} ist dein Code (login_code)")
}

fn twilio(receiver: &Receiver, from: &str, timeout: Duration) -> TwilioSender {
    TwilioSender::new(
        TwilioSettings {
            base_url: receiver.url(""),
            account_sid: SID.to_owned(),
            auth_token: TOKEN.to_owned(),
            from: from.to_owned(),
            timeout,
        },
        renderer(&Arc::new(AtomicUsize::new(0))),
    )
    .unwrap()
}

const CREATED: &str = r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued",
    "to": "+4915112345678", "body": "483920 ist dein Code (login_code)"}"#;

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The error's text must never hold the number, the code or the credentials.
fn assert_clean(error: &PortError) {
    let text = error.to_string();
    for secret in [TO, "15112345678", CODE, TOKEN, SID] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[test]
fn twilio_posts_the_form_with_basic_auth() {
    let receiver = Receiver::start(|_, _| Reply::json(201, CREATED));
    let sender = twilio(&receiver, FROM, Duration::from_secs(5));
    sender.send(&message("+49 151 1234-5678")).unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request: &Received = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {credentials}").as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = request.form();
    assert_eq!(field(&form, "To"), Some(TO), "normalized to E.164");
    assert_eq!(field(&form, "From"), Some(FROM));
    assert_eq!(field(&form, "Body"), Some(text().as_str()));
    assert_eq!(field(&form, "MessagingServiceSid"), None);
    assert_eq!(form.len(), 3);
}

#[test]
fn twilio_sends_a_messaging_service_instead_of_from() {
    let receiver = Receiver::start(|_, _| Reply::json(201, CREATED));
    let service = "MG0123456789abcdef0123456789abcdef";
    let sender = twilio(&receiver, service, Duration::from_secs(5));
    sender.send(&message(TO)).unwrap();
    let form = receiver.received()[0].form();
    assert_eq!(field(&form, "MessagingServiceSid"), Some(service));
    assert_eq!(field(&form, "From"), None);
    assert_eq!(field(&form, "To"), Some(TO));
}

#[test]
fn a_twilio_400_is_a_refusal_with_its_code_and_without_the_number() {
    let receiver = Receiver::start(|_, _| {
        Reply::json(
            400,
            r#"{"code": 21211, "message": "The 'To' number +4915112345678 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#,
        )
    });
    let sender = twilio(&receiver, FROM, Duration::from_secs(5));
    let error = sender.send(&message(TO)).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_REJECTED), "{error}");
    let text = error.to_string();
    assert!(text.contains("21211"), "{text}");
    assert!(text.contains("not a valid phone number"), "{text}");
    assert_clean(&error);
}

#[test]
fn an_unknown_twilio_error_is_quoted_without_numbers_or_text() {
    let receiver = Receiver::start(|_, _| {
        Reply::json(
            400,
            r#"{"code": 21999, "message": "Refused 483920 ist dein Code (login_code) to +49 151 12345678"}"#,
        )
    });
    let sender = twilio(&receiver, FROM, Duration::from_secs(5));
    let error = sender.send(&message(TO)).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_REJECTED));
    assert!(error.to_string().contains("21999"), "{error}");
    assert_clean(&error);
}

#[test]
fn a_twilio_500_or_429_is_unavailable() {
    for status in [500, 503, 429] {
        let receiver = Receiver::start(move |_, _| {
            Reply::json(
                status,
                r#"{"code": 20500, "message": "Internal Server Error"}"#,
            )
        });
        let sender = twilio(&receiver, FROM, Duration::from_secs(5));
        let error = sender.send(&message(TO)).unwrap_err();
        assert_eq!(code_of(&error), Some(SMS_UNAVAILABLE), "{status}: {error}");
        assert!(matches!(error, PortError::Unavailable(_)));
        assert_clean(&error);
    }
}

#[test]
fn a_slow_twilio_is_a_timeout() {
    let receiver = Receiver::start(|_, _| Reply {
        delay: Duration::from_secs(3),
        ..Reply::json(201, CREATED)
    });
    let sender = twilio(&receiver, FROM, Duration::from_millis(300));
    let started = Instant::now();
    let error = sender.send(&message(TO)).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_TIMEOUT), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_unreachable_twilio_is_unavailable_without_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sender = TwilioSender::new(
        TwilioSettings {
            base_url: format!("http://127.0.0.1:{port}"),
            ..TwilioSettings::new(SID, TOKEN, FROM)
        },
        renderer(&Arc::new(AtomicUsize::new(0))),
    )
    .unwrap();
    let error = sender.send(&message(TO)).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_UNAVAILABLE), "{error}");
    assert_clean(&error);
}

#[test]
fn a_number_that_is_not_e164_is_refused_without_a_call() {
    let receiver = Receiver::start(|_, _| Reply::json(201, CREATED));
    let calls = Arc::new(AtomicUsize::new(0));
    let sender = TwilioSender::new(
        TwilioSettings {
            base_url: receiver.url(""),
            ..TwilioSettings::new(SID, TOKEN, FROM)
        },
        renderer(&calls),
    )
    .unwrap();
    for bad in ["015112345678", "+0151 1234", "alice@example.com", ""] {
        let error = sender.send(&message(bad)).unwrap_err();
        assert_eq!(
            code_of(&error),
            Some(SMS_INVALID_NUMBER),
            "{bad:?}: {error}"
        );
    }
    assert!(receiver.received().is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was rendered");
}

#[test]
fn a_renderer_failure_is_passed_on_and_nothing_is_sent() {
    let receiver = Receiver::start(|_, _| Reply::json(201, CREATED));
    let failing: Renderer = Arc::new(|_| Err(PortError::NotFound));
    let sender = TwilioSender::new(
        TwilioSettings {
            base_url: receiver.url(""),
            ..TwilioSettings::new(SID, TOKEN, FROM)
        },
        failing,
    )
    .unwrap();
    assert_eq!(sender.send(&message(TO)).unwrap_err(), PortError::NotFound);
    assert!(receiver.received().is_empty());
}

fn webhook_sender(allow: &[&str]) -> Arc<WebhookSender> {
    Arc::new(
        WebhookSender::new(WebhookOptions {
            secrets: Vec::new(),
            allow: allow.iter().map(|entry| (*entry).to_owned()).collect(),
            ..WebhookOptions::default()
        })
        .unwrap(),
    )
}

fn json_webhook(url: String, client: Arc<WebhookSender>) -> JsonWebhookSms {
    JsonWebhookSms::new(
        url,
        client,
        Some(SECRET.to_owned()),
        renderer(&Arc::new(AtomicUsize::new(0))),
    )
    .unwrap()
    .with_timeout(Duration::from_secs(5))
}

#[test]
fn the_json_webhook_posts_a_signed_message() {
    let receiver = Receiver::start(|_, _| Reply::json(202, "{}"));
    let sender = json_webhook(receiver.url("/sms"), webhook_sender(&["127.0.0.1"]));
    sender.send(&message(TO)).unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/sms");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({"to": TO, "text": text(), "template": "login_code", "locale": "de"})
    );
    assert!(request.header("webhook-signature").is_some());
    assert!(request.header("webhook-id").unwrap().starts_with("msg_"));
    standardwebhooks::Webhook::new(SECRET)
        .unwrap()
        .verify(&request.body, &request.header_map())
        .expect("the signature verifies");
}

#[test]
fn the_json_webhook_maps_statuses() {
    for (status, code) in [
        (400, SMS_REJECTED),
        (503, SMS_UNAVAILABLE),
        (429, SMS_UNAVAILABLE),
    ] {
        let receiver = Receiver::start(move |_, _| Reply::json(status, r#"{"error": "x"}"#));
        let sender = json_webhook(receiver.url("/sms"), webhook_sender(&["127.0.0.1"]));
        let error = sender.send(&message(TO)).unwrap_err();
        assert_eq!(code_of(&error), Some(code), "{status}: {error}");
        assert_eq!(receiver.received().len(), 1, "a POST is not retried");
        assert_clean(&error);
    }
}

#[test]
fn the_json_webhook_is_egress_checked() {
    let receiver = Receiver::start(|_, _| Reply::json(200, "{}"));
    let sender = json_webhook(receiver.url("/sms"), webhook_sender(&[]));
    let error = sender.send(&message(TO)).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_UNAVAILABLE), "{error}");
    assert!(error.to_string().contains("not allowed"), "{error}");
    assert!(receiver.received().is_empty());
}

#[test]
fn the_json_webhook_refuses_a_bad_number_and_plain_http() {
    let receiver = Receiver::start(|_, _| Reply::json(200, "{}"));
    let sender = json_webhook(receiver.url("/sms"), webhook_sender(&["127.0.0.1"]));
    let error = sender.send(&message("0151 12345678")).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_INVALID_NUMBER));
    assert!(receiver.received().is_empty());

    let refused = JsonWebhookSms::new(
        "http://sms.example/send",
        webhook_sender(&[]),
        None,
        renderer(&Arc::new(AtomicUsize::new(0))),
    )
    .unwrap_err();
    assert_eq!(refused.setting, "url");
}

fn outbox_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn the_outbox_writes_one_parseable_file_per_message() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("sms").join("outbox");
    let outbox = FileSmsOutbox::new(&dir, renderer(&Arc::new(AtomicUsize::new(0)))).unwrap();
    assert!(dir.is_dir(), "created when missing");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    outbox.send(&message("+49 151 12345678")).unwrap();
    outbox
        .send(&OutgoingMessage {
            locale: None,
            ..message(TO)
        })
        .unwrap();

    let files = outbox_files(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(name.ends_with(".sms.json"), "{name}");
        let (millis, rest) = name.split_once('-').unwrap();
        assert!(millis.parse::<u64>().is_ok(), "{name}");
        assert_eq!(rest.len(), 16 + ".sms.json".len(), "{name}");
    }
    let first: OutboxEntry = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let second: OutboxEntry = serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    let mut entries = [first, second];
    entries.sort_by_key(|entry| entry.locale.is_none());
    assert_eq!(entries[0].to, TO);
    assert_eq!(entries[0].text, text());
    assert_eq!(entries[0].template, "login_code");
    assert_eq!(entries[0].locale.as_deref(), Some("de"));
    assert!(entries[0].sent_at >= before);
    assert_eq!(entries[1].locale, None);
    let raw: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let mut keys: Vec<&str> = raw
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["locale", "sent_at", "template", "text", "to"]);
}

#[test]
fn the_outbox_recreates_its_directory_and_refuses_bad_numbers() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("outbox");
    let outbox = FileSmsOutbox::new(&dir, renderer(&Arc::new(AtomicUsize::new(0)))).unwrap();
    std::fs::remove_dir(&dir).unwrap();
    outbox.send(&message(TO)).unwrap();
    assert_eq!(outbox_files(&dir).len(), 1);

    let error = outbox.send(&message("12345")).unwrap_err();
    assert_eq!(code_of(&error), Some(SMS_INVALID_NUMBER));
    assert_eq!(outbox_files(&dir).len(), 1);
}
