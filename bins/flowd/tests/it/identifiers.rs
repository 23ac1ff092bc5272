//! Look-alike identifiers over the WSO2 Flow Execution API on the real server: beside
//! `alice@example.com`, registering a Cyrillic, full-width, zero-width or case-changed spelling
//! of it is refused (taken, or invalid), and signing in with a full-width spelling reaches
//! alice's own account.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestServer;

const EXECUTE: &str = "/api/server/v1/flow/execute";
const PASSWORD: &str = "a long enough password";

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    response
}

async fn submit(server: &TestServer, view: &Value, inputs: Value) -> Value {
    let body = json!({"flowId": view["flowId"], "flowType": view["flowType"], "inputs": inputs});
    execute(server, body).await
}

/// The field error codes of a VIEW.
fn error_codes(view: &Value) -> Vec<String> {
    view["data"]["additionalData"]["fieldErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `sub` of a signed-in flow's user assertion (a JWT; its payload is base64url JSON).
fn subject(done: &Value) -> String {
    let assertion = done["data"]["userAssertion"]
        .as_str()
        .expect("an assertion");
    let payload = assertion.split('.').nth(1).expect("a payload");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in payload.bytes() {
        let value = alphabet.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sub"].as_str().expect("a sub").to_owned()
}

async fn sign_in(server: &TestServer, identifier: &str) -> Value {
    let view = execute(server, json!({"flowType": "AUTHENTICATION"})).await;
    let view = submit(server, &view, json!({"identifier": identifier})).await;
    submit(server, &view, json!({"password": PASSWORD})).await
}

#[actix_web::test]
async fn look_alike_identifiers_are_not_new_accounts() {
    let server = TestServer::start().await;

    let view = execute(&server, json!({"flowType": "REGISTRATION"})).await;
    let view = submit(&server, &view, json!({"identifier": "alice@example.com"})).await;
    let view = submit(&server, &view, json!({"password": PASSWORD})).await;
    let done = submit(&server, &view, json!({})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    for (look_alike, expected) in [
        ("\u{430}lice@example.com", "identifier_taken"),
        ("\u{ff41}lice@example.com", "identifier_taken"),
        ("al\u{200b}ice@example.com", "identifier_invalid_characters"),
        ("alice@example.com\u{200d}", "identifier_invalid_characters"),
        ("alice@ex\u{430}mple.com", "identifier_taken"),
        ("ALICE@Example.COM", "identifier_taken"),
    ] {
        let view = execute(&server, json!({"flowType": "REGISTRATION"})).await;
        let refused = submit(&server, &view, json!({"identifier": look_alike})).await;
        assert_eq!(
            (refused["flowStatus"].as_str(), refused["type"].as_str()),
            (Some("INCOMPLETE"), Some("VIEW")),
            "{look_alike:?}: {refused}"
        );
        assert_eq!(
            error_codes(&refused),
            [expected],
            "{look_alike:?}: {refused}"
        );
    }

    let alice = sign_in(&server, "alice@example.com").await;
    assert_eq!(alice["flowStatus"], "COMPLETE", "{alice}");
    let full_width = sign_in(&server, "\u{ff21}LICE@example.com").await;
    assert_eq!(full_width["flowStatus"], "COMPLETE", "{full_width}");
    assert_eq!(subject(&full_width), subject(&alice));

    let cyrillic = sign_in(&server, "\u{430}lice@example.com").await;
    assert_eq!(
        cyrillic["flowStatus"], "INCOMPLETE",
        "a look-alike is no account: {cyrillic}"
    );
}
