//! The admin API over real HTTP: the seed-002 examples in order, and the auth challenge.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, seed};

#[actix_web::test]
async fn the_seed_examples_over_http() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for (field, value) in seed("create-flow-response.json").as_object().unwrap() {
        if field != "id" && field != "created_at" {
            assert_eq!(&created[field], value, "{field}");
        }
    }
    let id = created["id"].as_str().unwrap().to_owned();
    let flow_path = format!("/api/admin/flows/{id}");

    let (status, flow) = server.call("GET", &flow_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flow["graph"], seed("create-flow-request.json")["graph"]);

    let (status, updated) = server
        .call("PUT", &flow_path, Some(&seed("update-flow-request.json")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["display_name"], "Social Login Flow (Updated)");

    let (status, report) = server
        .call("POST", &format!("{flow_path}/validate"), None)
        .await;
    assert_eq!((status, &report["valid"]), (StatusCode::OK, &json!(true)));

    let (status, compiled) = server
        .call("POST", &format!("{flow_path}/compile"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&compiled["compiled"], &compiled["version"]),
        (&json!(true), &json!(2))
    );

    let (status, activated) = server
        .call("POST", &format!("{flow_path}/activate"), None)
        .await;
    assert_eq!(
        (status, &activated["status"]),
        (StatusCode::OK, &json!("active"))
    );
    let (status, deactivated) = server
        .call("POST", &format!("{flow_path}/deactivate"), None)
        .await;
    assert_eq!(
        (status, &deactivated["status"]),
        (StatusCode::OK, &json!("inactive"))
    );

    let (status, list) = server
        .call("GET", "/api/admin/flows?type=login", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["total"], 2,
        "the default login flow and social-login: {list}"
    );

    assert_eq!(
        server.call("DELETE", &flow_path, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server.call("GET", &flow_path, None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn the_admin_api_wants_the_token() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(format!("{}/api/admin/flows", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let (status, body) = server
        .call_as(
            Some("wrong-token-of-some-length"),
            "GET",
            "/api/admin/flows",
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

/// The admin API's error paths over real HTTP: each is the JSON error shape with its status.
#[actix_web::test]
async fn the_error_paths_over_http() {
    let server = TestServer::start().await;
    let flows = format!("{}/api/admin/flows", server.base);
    let token = crate::support::TOKEN;

    let response = server
        .client
        .post(&flows)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_json");
    assert!(body["details"]["line"].is_number() && body["details"]["column"].is_number());

    let huge = json!({"name": "huge", "description": "x".repeat(2 * 1024 * 1024)});
    let (status, body) = server.call("POST", "/api/admin/flows", Some(&huge)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );

    let mut bad_name = seed("create-flow-request.json");
    bad_name["name"] = json!("Not A Slug");
    let (status, body) = server
        .call("POST", "/api/admin/flows", Some(&bad_name))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_name"))
    );

    let (status, _) = server
        .call(
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = server
        .call(
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken"))
    );

    let (status, body) = server.call("GET", "/api/admin/flows?limit=101", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );

    let (status, body) = server
        .call("GET", "/api/admin/flows/flow_unknown", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("flow_not_found"))
    );

    let broken = json!({
        "name": "broken", "display_name": "Broken", "type": "login",
        "graph": {"nodes": [{"id": "done", "type": "success"}], "edges": []}
    });
    let (_, created) = server.call("POST", "/api/admin/flows", Some(&broken)).await;
    let id = created["id"].as_str().unwrap();
    let (status, body) = server
        .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_flow"))
    );
    assert_eq!(body["details"]["errors"][0]["code"], "missing_start_node");
}

/// A store outage is a 503 with a code, never a 404 that would say the execution is gone.
#[actix_web::test]
async fn a_trace_lookup_during_a_store_outage_is_503_not_404() {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(temp.path(), Some(crate::support::TOKEN)).await;
    let (status, view) = server
        .call_as(
            None,
            "POST",
            "/api/server/v1/flow/execute",
            Some(&json!({"flowType": "AUTHENTICATION"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let trace_path = format!(
        "/api/admin/executions/{}/trace",
        view["flowId"].as_str().unwrap()
    );
    assert_eq!(
        server.call("GET", &trace_path, None).await.0,
        StatusCode::OK
    );

    // The outage: the executions table disappears under the running server.
    let path = temp.path().join("flowd.db");
    let mut connection = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("DROP TABLE executions")
        .execute(&mut connection)
        .unwrap();

    let (status, body) = server.call("GET", &trace_path, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "store_unavailable");
    assert!(
        !body["message"].as_str().unwrap().contains("executions"),
        "the cause is for the log, not the client: {body}"
    );
}
