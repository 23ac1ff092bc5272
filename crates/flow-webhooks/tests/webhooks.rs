//! The webhook sender against real HTTP receivers on loopback: signatures checked by the
//! `standardwebhooks` crate (an independent implementation), egress refusals, timeouts,
//! retries, redirects, size caps and the in-flight bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Shared with flow-sms' tests and the server's: not every helper is used here.
#[allow(dead_code)]
mod receiver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_engine::{
    MAX_WEBHOOK_RESPONSE_BYTES, WebhookClient, WebhookError, WebhookRequest, WebhookResponse,
};
use flow_webhooks::{
    WebhookConfigError, WebhookOptions, WebhookSender, check_secret, generate_secret,
};
use receiver::{Received, Receiver, Reply};
use serde_json::json;
use standardwebhooks::Webhook;

const SECRET_A: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const MESSAGE_ID: &str = "msg_2b8Q0Xh4Y1cVTZ3i9s1Ew7aKfLm";

fn secret(fill: u8) -> String {
    generate_secret(|bytes| bytes.fill(fill))
}

fn sender_with(secrets: Vec<String>, allow: &[&str]) -> WebhookSender {
    WebhookSender::new(WebhookOptions {
        secrets,
        allow: allow.iter().map(|entry| (*entry).to_owned()).collect(),
        ..WebhookOptions::default()
    })
    .unwrap()
}

/// A sender with secret A that may call 127.0.0.1.
fn sender() -> WebhookSender {
    sender_with(vec![SECRET_A.to_owned()], &["127.0.0.1"])
}

fn request(url: String, method: &str) -> WebhookRequest {
    let body = matches!(method, "POST" | "PUT" | "PATCH")
        .then(|| json!({"user": {"email": "ada@example.com"}, "flow": "login"}));
    WebhookRequest {
        url,
        method: method.to_owned(),
        headers: Vec::new(),
        body,
        timeout_ms: 3_000,
        secret: None,
        message_id: MESSAGE_ID.to_owned(),
        retries: 0,
    }
}

fn verify(secret: &str, received: &Received) -> Result<(), standardwebhooks::WebhookError> {
    Webhook::new(secret)
        .unwrap()
        .verify(&received.body, &received.header_map())
}

fn ok(status: u16) -> impl Fn(usize, &Received) -> Reply + Send + Sync + 'static {
    move |_, _| Reply::json(status, r#"{"allow":true}"#)
}

fn refused(result: Result<WebhookResponse, WebhookError>) -> String {
    match result {
        Err(WebhookError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_post_is_signed_and_verifies_with_standardwebhooks() {
    let receiver = Receiver::start(ok(200));
    let mut call = request(receiver.url("/hooks/login?tenant=default"), "POST");
    call.headers = vec![
        ("X-Api-Key".into(), "k-123".into()),
        ("webhook-signature".into(), "v1,forged".into()),
        ("Webhook-Id".into(), "msg_other".into()),
        ("Content-Type".into(), "text/plain".into()),
    ];

    let answer = sender().call(&call).unwrap();

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, br#"{"allow":true}"#);
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/login?tenant=default");
    assert_eq!(got.header("webhook-id"), Some(MESSAGE_ID));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-api-key"), Some("k-123"));
    let signature = got.header("webhook-signature").unwrap();
    assert!(signature.starts_with("v1,") && !signature.contains("forged"));
    let timestamp: u64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(timestamp.abs_diff(now) <= 5);
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body, call.body.unwrap());
    verify(SECRET_A, got).unwrap();
    assert!(
        verify(&secret(1), got).is_err(),
        "another secret must not verify"
    );
}

#[test]
fn a_get_without_a_body_is_signed_over_the_empty_body() {
    let receiver = Receiver::start(ok(200));
    let answer = sender()
        .call(&request(receiver.url("/risk"), "GET"))
        .unwrap();
    assert_eq!(answer.status, 200);
    let got = &receiver.received()[0];
    assert_eq!(got.method, "GET");
    assert!(got.body.is_empty());
    assert_eq!(got.header("content-type"), None);
    verify(SECRET_A, got).unwrap();
}

#[test]
fn a_rotation_signs_with_every_secret() {
    let receiver = Receiver::start(ok(204));
    let (old, new) = (secret(1), secret(2));
    let sender = sender_with(vec![old.clone(), new.clone()], &["127.0.0.1"]);
    sender.call(&request(receiver.url("/"), "POST")).unwrap();
    let got = &receiver.received()[0];
    let signature = got.header("webhook-signature").unwrap();
    assert_eq!(signature.split(' ').count(), 2);
    verify(&old, got).unwrap();
    verify(&new, got).unwrap();
    assert!(verify(&secret(3), got).is_err());
}

#[test]
fn the_calls_own_secret_replaces_the_servers() {
    let receiver = Receiver::start(ok(200));
    let own = secret(7);
    let mut call = request(receiver.url("/"), "POST");
    call.secret = Some(own.clone());
    sender().call(&call).unwrap();
    let got = &receiver.received()[0];
    verify(&own, got).unwrap();
    assert!(verify(SECRET_A, got).is_err());
}

#[test]
fn a_call_without_any_secret_is_not_sent() {
    let receiver = Receiver::start(ok(200));
    let sender = sender_with(Vec::new(), &["127.0.0.1"]);
    assert!(!sender.has_secrets());
    let result = sender.call(&request(receiver.url("/"), "POST"));
    assert!(matches!(result, Err(WebhookError::Failed(_))), "{result:?}");
    let mut call = request(receiver.url("/"), "POST");
    call.secret = Some("whsec_short".into());
    let result = sender.call(&call);
    assert!(matches!(result, Err(WebhookError::Failed(_))), "{result:?}");
    assert!(receiver.received().is_empty());
}

#[test]
fn a_slow_receiver_is_a_timeout() {
    let receiver = Receiver::start(|_, _| Reply {
        delay: Duration::from_secs(3),
        ..Reply::status(200)
    });
    let mut call = request(receiver.url("/"), "POST");
    call.timeout_ms = 300;
    let started = Instant::now();
    assert_eq!(sender().call(&call), Err(WebhookError::Timeout));
    assert!(started.elapsed() < Duration::from_millis(1_500));
}

#[test]
fn a_500_is_an_answer_not_an_error() {
    let receiver = Receiver::start(|_, _| Reply::json(500, r#"{"error":"boom"}"#));
    let answer = sender().call(&request(receiver.url("/"), "POST")).unwrap();
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body, br#"{"error":"boom"}"#);
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn a_put_is_retried_after_a_503_with_the_same_message_id() {
    let receiver = Receiver::start(|index, _| {
        if index == 0 {
            Reply::status(503)
        } else {
            Reply::json(200, "{}")
        }
    });
    let mut call = request(receiver.url("/profile"), "PUT");
    call.retries = 2;
    let answer = sender().call(&call).unwrap();
    assert_eq!(answer.status, 200);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for got in &received {
        assert_eq!(got.method, "PUT");
        assert_eq!(got.header("webhook-id"), Some(MESSAGE_ID));
        verify(SECRET_A, got).unwrap();
    }
}

#[test]
fn a_get_is_retried_on_429_until_its_retries_are_used_up() {
    let receiver = Receiver::start(|_, _| Reply::status(429));
    let mut call = request(receiver.url("/"), "GET");
    call.retries = 2;
    let answer = sender().call(&call).unwrap();
    assert_eq!(answer.status, 429);
    assert_eq!(receiver.received().len(), 3);
}

#[test]
fn a_post_is_never_retried() {
    let receiver = Receiver::start(|_, _| Reply::status(503));
    let mut call = request(receiver.url("/"), "POST");
    call.retries = 3;
    let answer = sender().call(&call).unwrap();
    assert_eq!(answer.status, 503);
    assert_eq!(receiver.received().len(), 1);
}

#[test]
fn retries_stay_within_the_timeout() {
    let receiver = Receiver::start(|_, _| Reply::status(503));
    let mut call = request(receiver.url("/"), "DELETE");
    call.retries = 10;
    call.timeout_ms = 450;
    let started = Instant::now();
    let answer = sender().call(&call).unwrap();
    assert_eq!(answer.status, 503);
    assert!(started.elapsed() < Duration::from_millis(1_000));
    // 100 ms then 200 ms of backoff fit; 400 ms more do not (fewer on a loaded machine).
    let attempts = receiver.received().len();
    assert!((2..=3).contains(&attempts), "{attempts} attempts");
}

#[test]
fn a_connection_refused_is_a_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = sender().call(&request(
        format!("http://127.0.0.1:{port}/secret-path"),
        "GET",
    ));
    let Err(WebhookError::Failed(why)) = result else {
        panic!("expected a failure, got {result:?}");
    };
    assert!(why.starts_with("cannot connect"), "{why}");
    assert!(
        !why.contains("secret-path"),
        "the message quotes the URL: {why}"
    );
}

#[test]
fn an_oversized_answer_is_too_large() {
    let big = vec![b'x'; MAX_WEBHOOK_RESPONSE_BYTES + 1];
    let with_length = {
        let big = big.clone();
        Receiver::start(move |_, _| Reply {
            body: big.clone(),
            ..Reply::status(200)
        })
    };
    let without_length = Receiver::start(move |_, _| Reply {
        body: big.clone(),
        length: false,
        ..Reply::status(200)
    });
    let just_fits = Receiver::start(|_, _| Reply {
        body: vec![b'y'; MAX_WEBHOOK_RESPONSE_BYTES],
        length: false,
        ..Reply::status(200)
    });
    let sender = sender();
    for receiver in [&with_length, &without_length] {
        assert_eq!(
            sender.call(&request(receiver.url("/"), "POST")),
            Err(WebhookError::TooLarge)
        );
    }
    let answer = sender.call(&request(just_fits.url("/"), "POST")).unwrap();
    assert_eq!(answer.body.len(), MAX_WEBHOOK_RESPONSE_BYTES);
}

#[test]
fn loopback_is_refused_without_the_allow_list() {
    let receiver = Receiver::start(ok(200));
    let sender = sender_with(vec![SECRET_A.to_owned()], &[]);
    let why = refused(sender.call(&request(receiver.url("/"), "POST")));
    assert!(why.contains("loopback"), "{why}");
    assert!(receiver.received().is_empty());
}

#[test]
fn private_link_local_metadata_and_ipv6_loopback_are_refused() {
    let sender = sender_with(vec![SECRET_A.to_owned()], &[]);
    for url in [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://192.168.0.10/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
    ] {
        let mut call = request(url.to_owned(), "POST");
        call.timeout_ms = 500;
        refused(sender.call(&call));
    }
}

#[test]
fn a_name_resolving_to_loopback_is_refused() {
    let receiver = Receiver::start(ok(200));
    let sender = sender_with(vec![SECRET_A.to_owned()], &[]);
    let url = format!("http://localhost:{}/", receiver.addr.port());
    let why = refused(sender.call(&request(url, "POST")));
    assert!(why.contains("localhost"), "{why}");
    assert!(receiver.received().is_empty());
}

#[test]
fn an_allowed_host_name_may_resolve_to_loopback() {
    let receiver = Receiver::start(ok(200));
    let sender = sender_with(vec![SECRET_A.to_owned()], &["localhost"]);
    let url = format!("http://localhost:{}/", receiver.addr.port());
    assert_eq!(sender.call(&request(url, "POST")).unwrap().status, 200);
}

#[test]
fn a_cidr_entry_allows_its_range() {
    let receiver = Receiver::start(ok(200));
    let sender = sender_with(vec![SECRET_A.to_owned()], &["127.0.0.0/8"]);
    assert_eq!(
        sender
            .call(&request(receiver.url("/"), "POST"))
            .unwrap()
            .status,
        200
    );
    // A CIDR never opens a metadata address; only its exact address does.
    let sender = sender_with(vec![SECRET_A.to_owned()], &["169.254.0.0/16"]);
    refused(sender.call(&request("http://169.254.169.254/".into(), "GET")));
}

#[test]
fn a_redirect_to_a_refused_address_is_refused() {
    for target in [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://10.1.2.3/",
        "http://[::1]/",
    ] {
        let receiver = Receiver::start(move |_, _| Reply::redirect(302, target));
        refused(sender().call(&request(receiver.url("/"), "POST")));
        assert_eq!(receiver.received().len(), 1);
    }
}

#[test]
fn a_303_continues_as_a_get_without_the_steps_headers_elsewhere() {
    let target = Arc::new(Receiver::start(ok(200)));
    let location = target.url("/after");
    let first = Receiver::start(move |_, _| Reply::redirect(303, &location));
    let mut call = request(first.url("/before"), "POST");
    call.headers = vec![("Authorization".into(), "Bearer abc".into())];
    let answer = sender().call(&call).unwrap();
    assert_eq!(answer.status, 200);
    let got = &target.received()[0];
    assert_eq!(got.method, "GET");
    assert_eq!(got.path, "/after");
    assert!(got.body.is_empty());
    assert_eq!(
        got.header("authorization"),
        None,
        "credentials stay with the first origin"
    );
    assert_eq!(got.header("webhook-id"), Some(MESSAGE_ID));
    verify(SECRET_A, got).unwrap();
    assert_eq!(
        first.received()[0].header("authorization"),
        Some("Bearer abc")
    );
}

#[test]
fn a_307_keeps_the_method_and_the_body() {
    let target = Receiver::start(ok(200));
    let location = target.url("/moved");
    let first = Receiver::start(move |_, _| Reply::redirect(307, &location));
    sender().call(&request(first.url("/"), "POST")).unwrap();
    let got = &target.received()[0];
    assert_eq!(got.method, "POST");
    assert!(!got.body.is_empty());
    verify(SECRET_A, got).unwrap();
}

#[test]
fn at_most_three_redirects_are_followed() {
    let receiver = Receiver::start(|_, _| Reply::redirect(302, "/again"));
    let result = sender().call(&request(receiver.url("/"), "GET"));
    assert!(matches!(result, Err(WebhookError::Failed(_))), "{result:?}");
    assert_eq!(receiver.received().len(), 4);
}

#[test]
fn callers_past_the_in_flight_bound_time_out() {
    let receiver = Arc::new(Receiver::start(|index, _| Reply {
        delay: if index == 0 {
            Duration::from_millis(800)
        } else {
            Duration::ZERO
        },
        ..Reply::status(200)
    }));
    let sender = Arc::new(
        WebhookSender::new(WebhookOptions {
            secrets: vec![SECRET_A.to_owned()],
            allow: vec!["127.0.0.1".to_owned()],
            max_in_flight: 1,
        })
        .unwrap(),
    );
    let slow = {
        let (sender, receiver) = (Arc::clone(&sender), Arc::clone(&receiver));
        std::thread::spawn(move || sender.call(&request(receiver.url("/slow"), "POST")))
    };
    while receiver.received().is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut call = request(receiver.url("/second"), "POST");
    call.timeout_ms = 200;
    assert_eq!(sender.call(&call), Err(WebhookError::Timeout));
    assert_eq!(slow.join().unwrap().unwrap().status, 200);
    // The slot is free again.
    assert_eq!(
        sender
            .call(&request(receiver.url("/third"), "POST"))
            .unwrap()
            .status,
        200
    );
}

#[test]
fn bad_secrets_and_allow_entries_are_refused_at_start() {
    let new = |secrets: &[&str], allow: &[&str]| {
        WebhookSender::new(WebhookOptions {
            secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            ..WebhookOptions::default()
        })
        .map(drop)
    };
    for bad in [
        "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "whsec_not*base64",
        "whsec_c2hvcnQ=",
    ] {
        let error = new(&[SECRET_A, bad], &[]).unwrap_err();
        assert_eq!(error.code(), "invalid_webhook_secret");
        assert!(matches!(
            error,
            WebhookConfigError::InvalidSecret { position: 2, .. }
        ));
        assert!(
            !error.to_string().contains(bad),
            "the message quotes the secret"
        );
    }
    for bad in [
        "10.0.0.1/8",
        "10.0.0.0/40",
        "*.example.com",
        "https://hooks.example.com",
        "hooks.example.com:443",
    ] {
        let error = new(&[], &["127.0.0.1", bad]).unwrap_err();
        assert_eq!(error.code(), "invalid_webhook_allow", "{bad}");
    }
    let error = WebhookSender::new(WebhookOptions {
        max_in_flight: 0,
        ..WebhookOptions::default()
    })
    .unwrap_err();
    assert_eq!(error.code(), "invalid_webhook_max_in_flight");
    // Blank entries (a trailing comma in the environment) are skipped.
    new(
        &[SECRET_A, " "],
        &["", "10.0.0.0/8", "[fd00::1]", "hooks.internal"],
    )
    .unwrap();
}

#[test]
fn generated_secrets_are_standard_webhooks_secrets() {
    let mut bytes = 0u8;
    let generated = generate_secret(|buffer| {
        for byte in buffer.iter_mut() {
            bytes += 1;
            *byte = bytes;
        }
    });
    assert_eq!(bytes, 32);
    assert!(generated.starts_with("whsec_"));
    check_secret(&generated).unwrap();
    assert!(check_secret("whsec_").is_err());
    let receiver = Receiver::start(ok(200));
    sender_with(vec![generated.clone()], &["127.0.0.1"])
        .call(&request(receiver.url("/"), "POST"))
        .unwrap();
    verify(&generated, &receiver.received()[0]).unwrap();
}
