//! The WSO2 Flow Execution API on the real server: register, then sign in, over HTTP and a
//! SQLite file, as a WSO2 client would (no cookies; `flowId` in every call).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::TestServer;

const EXECUTE: &str = "/api/server/v1/flow/execute";

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    response
}

async fn submit(server: &TestServer, view: &Value, inputs: Value) -> Value {
    let body = json!({"flowId": view["flowId"], "flowType": view["flowType"], "inputs": inputs});
    execute(server, body).await
}

#[actix_web::test]
async fn register_then_sign_in_over_wso2() {
    let server = TestServer::start().await;
    let (email, password) = ("wso2-client@example.com", "a long enough password");

    let view = execute(&server, json!({"flowType": "REGISTRATION"})).await;
    assert_eq!(
        (view["flowStatus"].as_str(), view["type"].as_str()),
        (Some("INCOMPLETE"), Some("VIEW"))
    );
    let view = submit(&server, &view, json!({"identifier": email})).await;
    let view = submit(&server, &view, json!({"password": password})).await;
    let done = submit(&server, &view, json!({})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    let view = execute(&server, json!({"flowType": "AUTHENTICATION"})).await;
    let view = submit(&server, &view, json!({"identifier": email})).await;
    let wrong = submit(&server, &view, json!({"password": "not the password"})).await;
    assert_eq!(
        wrong["flowStatus"], "INCOMPLETE",
        "a wrong password keeps the flow alive: {wrong}"
    );
    let done = submit(&server, &wrong, json!({"password": password})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let assertion = done["data"]["userAssertion"]
        .as_str()
        .expect("a userAssertion");
    assert_eq!(assertion.split('.').count(), 3);
    assert_eq!(done["data"]["additionalData"]["userAssertion"], assertion);

    let (status, jwks) = server.call_as(None, "GET", "/oauth2/jwks", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");

    let (status, error) = server
        .call_as(
            None,
            "POST",
            EXECUTE,
            Some(&json!({"flowId": done["flowId"], "inputs": {}})),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("FE-60001")),
        "a completed flowId cannot be replayed"
    );
}
