//! Regression tests for what a security probe found, on the real server over HTTP: slow
//! bodies, connection floods, forged server-managed fields, cross-site posts, repeated keys.

use std::time::Duration;

use actix_web::rt::net::TcpStream;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TOKEN, TestServer, seed};

/// An upper bound so that a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

/// The `host:port` of a server's base URL.
fn authority(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Sends `head` (and `body`) on a fresh connection, then reads until the server closes it;
/// returns what it answered.
async fn exchange_until_closed(server: &TestServer, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(authority(server)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A request head promising a large JSON body.
fn slow_post(path: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 100000\r\n{extra}\r\n"
    )
}

#[actix_web::test]
async fn a_body_that_never_arrives_gets_408_and_the_connection_is_closed() {
    let server = TestServer::start_configured(|config| config.body_timeout_secs = 1).await;
    let bearer = format!("Authorization: Bearer {TOKEN}\r\n");
    for (path, extra) in [
        ("/api/server/v1/flow/execute", ""),
        ("/flow/execute", ""),
        ("/api/v3/flows/executor/default-login/", ""),
        ("/api/admin/flows", bearer.as_str()),
    ] {
        let answer = exchange_until_closed(&server, &slow_post(path, extra), b"{").await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{path}: {answer}"
        );
        assert!(
            answer.contains("\"code\""),
            "a coded body on {path}: {answer}"
        );
    }
    // The server still answers.
    let (status, _) = server.call("GET", "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Opens a connection and proves the server accepted it with one keep-alive request.
async fn held_connection(server: &TestServer) -> TcpStream {
    let mut stream = TcpStream::connect(authority(server)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 512];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
    stream
}

#[actix_web::test]
async fn connections_over_the_cap_are_refused_but_health_checks_answer() {
    let server =
        TestServer::start_configured(|config| config.max_connections_per_address = 2).await;
    let first = held_connection(&server).await;
    let _second = held_connection(&server).await;

    // A third connection from the same address: refused, coded, closed.
    let client = crate::support::http_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let refused = client
        .get(format!("{}/api/admin/flows", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "too_many_connections");
    for path in ["/healthz", "/readyz"] {
        let health = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK, "{path} answers when full");
    }

    // Closing a connection frees its place (the server notices the close shortly after).
    drop(first);
    let mut freed = false;
    for _ in 0..100 {
        let response = client
            .get(format!("{}/api/admin/flows", server.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            freed = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "a closed connection gives its place back");
}

#[actix_web::test]
async fn a_create_body_cannot_set_server_managed_fields() {
    let server = TestServer::start().await;
    let forged: [(&str, Value); 8] = [
        ("status", json!("active")),
        ("is_default", json!(true)),
        ("id", json!("flow_default_login")),
        ("version", json!(7)),
        ("compiled", json!(true)),
        ("compiled_at", json!(1_700_000_000)),
        ("created_at", json!(1)),
        ("updated_at", json!(1)),
    ];
    for (field, value) in forged {
        let mut body = seed("create-flow-request.json");
        body["graph"] = json!({"nodes": [], "edges": []});
        body[field] = value;
        let (status, answer) = server.call("POST", "/api/admin/flows", Some(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(answer["code"], "invalid_request");
        assert_eq!(answer["details"]["field"], field);
    }
    let (_, list) = server.call("GET", "/api/admin/flows?limit=100", None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["name"].as_str())
        .collect();
    assert!(
        !names.contains(&"social-login"),
        "nothing was created: {names:?}"
    );
    // The real default login is untouched, and starts work.
    let (status, login) = server
        .call("GET", "/api/admin/flows/flow_default_login", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    assert_eq!(login["status"], "active");
    let (status, started) = server
        .call_as(
            None,
            "POST",
            "/api/server/v1/flow/execute",
            Some(&json!({"flowType": "AUTHENTICATION"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
}

/// Posts a raw body to the executor with the given content type and origin.
async fn executor_post(
    server: &TestServer,
    content_type: &str,
    origin: Option<&str>,
) -> (StatusCode, Value) {
    let client = crate::support::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .post(format!(
            "{}/api/v3/flows/executor/default-login/",
            server.base
        ))
        .header("content-type", content_type)
        .body(r#"{"component": "ak-stage-identification", "uid_field": "ada@example.com"}"#);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn cross_site_posts_are_refused_on_the_executor_and_the_admin_api() {
    let server = TestServer::start().await;
    let (status, body) = executor_post(&server, "text/plain", None).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "unsupported_media_type");
    let (status, body) =
        executor_post(&server, "application/json", Some("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "cross_site_request");
    // The server's own origin, and no origin at all (not a browser), pass.
    let own = server.base.clone();
    for origin in [Some(own.as_str()), None] {
        let (status, body) =
            executor_post(&server, "application/json; charset=utf-8", origin).await;
        assert!(
            status == StatusCode::FOUND || status == StatusCode::OK,
            "{origin:?}: {status} {body}"
        );
    }

    let admin = crate::support::http()
        .post(format!("{}/api/admin/flows", server.base))
        .bearer_auth(TOKEN)
        .header("origin", "https://evil.example")
        .json(&seed("create-flow-request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    let body: Value = admin.json().await.unwrap();
    assert_eq!(body["code"], "cross_site_request");
    let fetch = crate::support::http()
        .delete(format!(
            "{}/api/admin/flows/flow_default_login",
            server.base
        ))
        .bearer_auth(TOKEN)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(fetch.status(), StatusCode::FORBIDDEN);
    let (status, _) = server
        .call("GET", "/api/admin/flows/flow_default_login", None)
        .await;
    assert_eq!(status, StatusCode::OK, "the refused DELETE changed nothing");
}

#[actix_web::test]
async fn repeated_keys_are_refused_by_all_three_apis() {
    let server = TestServer::start().await;
    let client = crate::support::http();
    let cases = [
        (
            "/api/server/v1/flow/execute",
            r#"{"flowType": "REGISTRATION", "flowType": "AUTHENTICATION"}"#,
            "FE-60007",
        ),
        (
            "/api/v3/flows/executor/default-login/",
            r#"{"component": "ak-stage-identification", "uid_field": "a@example.com", "uid_field": "b@example.com"}"#,
            "parse_error",
        ),
        (
            "/api/admin/flows",
            r#"{"name": "dup", "name": "dup-two", "display_name": "D", "type": "login", "graph": {"nodes": [], "edges": []}}"#,
            "invalid_json",
        ),
    ];
    for (path, body, code) in cases {
        let response = client
            .post(format!("{}{path}", server.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let answer: Value = response.json().await.unwrap();
        let text = answer.to_string();
        assert!(text.contains(code), "{path}: {text}");
        assert!(text.contains("duplicate key"), "{path}: {text}");
    }
}
