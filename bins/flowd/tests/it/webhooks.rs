//! The `webhook` node on the real server, calling real HTTP receivers on loopback (allowed by
//! `FLOWD_WEBHOOK_ALLOW`): signed with the secret the admin API shows, verified with the
//! `standardwebhooks` crate (an independent implementation); a 2xx takes the `true` edge with
//! the reply mapped into attributes, anything else the `false` edge; a metadata address is
//! refused without being called.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::receiver::{Received, Receiver, Reply};

use crate::support::TestServer;

const EXECUTE: &str = "/api/server/v1/flow/execute";

/// A registration flow: the identifier, then the webhook; `true` → success, `false` → a
/// failure node with the code `blocked`.
async fn install(server: &TestServer, name: &str, url: &str) {
    let flow = json!({
        "name": name, "display_name": name, "type": "registration",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "identifier", "type": "identifier_input"},
                {"id": "hook", "type": "webhook", "config": {
                    "url": url,
                    "headers": {"X-Api-Key": "k-123"},
                    "response": {"plan": "response.plan"}
                }},
                {"id": "done", "type": "success"},
                {"id": "blocked", "type": "failure",
                    "config": {"code": "blocked", "message": "Not allowed."}}
            ],
            "edges": [
                {"source": "start", "target": "identifier"},
                {"source": "identifier", "target": "hook"},
                {"source": "hook", "target": "done", "condition": "true"},
                {"source": "hook", "target": "blocked", "condition": "false"}
            ]
        }
    });
    let (status, created) = server.call("POST", "/api/admin/flows", Some(&flow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, activated) = server
        .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
}

/// Registers `email` through flow `name`; the last answer.
async fn register(server: &TestServer, name: &str, email: &str) -> (StatusCode, Value) {
    let start = json!({"flowType": "REGISTRATION", "flowName": name});
    let (status, view) = server.call_as(None, "POST", EXECUTE, Some(&start)).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let next = json!({"flowId": view["flowId"], "inputs": {"identifier": email}});
    server.call_as(None, "POST", EXECUTE, Some(&next)).await
}

fn verify(secret: &str, received: &Received) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&received.body, &received.header_map())
}

#[actix_web::test]
async fn webhooks_are_signed_and_branch_on_the_answer() {
    let server = TestServer::start_configured(|config| {
        config.webhook_allow = vec!["127.0.0.1".to_owned()];
    })
    .await;
    let (status, shown) = server.call("GET", "/api/admin/webhooks/secret", None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["source"], "generated");
    let secret = shown["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    // 200 with a plan: the true edge, the plan mapped into the new account's attributes.
    let allowed = Receiver::start(|_, _| Reply::json(200, r#"{"plan": "pro"}"#));
    install(&server, "hooked", &allowed.url("/check")).await;
    let (status, done) = register(&server, "hooked", "hook-ok@example.com").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let calls = allowed.received();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.path, "/check");
    assert_eq!(call.header("x-api-key"), Some("k-123"));
    verify(&secret, call).unwrap();
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["user"]["identifier"], "hook-ok@example.com", "{body}");
    assert_eq!(body["flow"]["node"], "hook");
    assert_ne!(
        body["execution"], done["flowId"],
        "the flowId is never sent"
    );
    let (_, users) = server
        .call(
            "GET",
            "/api/admin/users?identifier=hook-ok@example.com",
            None,
        )
        .await;
    assert_eq!(users["items"][0]["attributes"]["plan"], "pro", "{users}");

    // 403: the false edge; nothing is created.
    let refusing = Receiver::start(|_, _| Reply::json(403, r#"{"plan": "pro"}"#));
    install(&server, "refused", &refusing.url("/check")).await;
    let (status, failed) = register(&server, "refused", "hook-no@example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{failed}");
    assert_eq!(refusing.received().len(), 1);
    let (_, users) = server
        .call(
            "GET",
            "/api/admin/users?identifier=hook-no@example.com",
            None,
        )
        .await;
    assert_eq!(users["items"], json!([]), "{users}");

    // The cloud metadata address is never called: the false edge at once.
    install(
        &server,
        "metadata",
        "http://169.254.169.254/latest/meta-data/",
    )
    .await;
    let (status, failed) = register(&server, "metadata", "hook-meta@example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{failed}");
    let (_, users) = server
        .call(
            "GET",
            "/api/admin/users?identifier=hook-meta@example.com",
            None,
        )
        .await;
    assert_eq!(users["items"], json!([]), "{users}");
}
