//! The server itself: health, readiness, default flows, the admin token, unknown paths,
//! restarts on the same database, and PostgreSQL when it is configured.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TOKEN, TestServer};

#[actix_web::test]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    assert_eq!(
        server.call_as(None, "GET", "/healthz", None).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        server.call_as(None, "GET", "/readyz", None).await,
        (StatusCode::OK, json!({"status": "ready"}))
    );
    let response = server
        .client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID request id: {id}");
}

#[actix_web::test]
async fn unknown_paths_are_json_404() {
    let server = TestServer::start().await;
    let (status, body) = server.call_as(None, "GET", "/nothing/here", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[actix_web::test]
async fn a_first_start_installs_the_default_flows_active_and_default() {
    let server = TestServer::start().await;
    let (status, list) = server.call("GET", "/api/admin/flows?limit=100", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 5);
    let mut names: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            assert_eq!(item["status"], "active", "{item}");
            assert_eq!(item["is_default"], true, "{item}");
            (
                item["name"].as_str().unwrap().to_owned(),
                item["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("default-invited-registration", "invited_registration"),
            ("default-login", "login"),
            ("default-mfa-setup", "mfa_setup"),
            ("default-password-recovery", "password_reset"),
            ("default-registration", "registration"),
        ]
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
    );
}

#[actix_web::test]
async fn a_restart_keeps_flows_and_does_not_reinstall_deleted_defaults() {
    let temp = tempfile::tempdir().unwrap();
    let first = TestServer::start_in(temp.path(), Some(TOKEN)).await;
    let (_, login) = first.call("GET", "/api/admin/flows?type=login", None).await;
    let id = login["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first
            .call("DELETE", &format!("/api/admin/flows/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let second = TestServer::start_in(temp.path(), Some(TOKEN)).await;
    let (_, list) = second.call("GET", "/api/admin/flows?limit=100", None).await;
    assert_eq!(list["total"], 4, "{list}");
}

#[actix_web::test]
async fn without_a_configured_token_one_is_generated_once_and_only_its_hash_is_kept() {
    let temp = tempfile::tempdir().unwrap();
    let first = TestServer::start_in(temp.path(), None).await;
    let token = first.generated_token.clone().expect("a generated token");
    assert!(token.starts_with("fdt_") && token.len() > 30, "{token}");
    assert_eq!(
        first
            .call_as(Some(&token), "GET", "/api/admin/flows", None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        first
            .call_as(Some(TOKEN), "GET", "/api/admin/flows", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    let second = TestServer::start_in(temp.path(), None).await;
    assert_eq!(second.generated_token, None, "shown only once");
    assert_eq!(
        second
            .call_as(Some(&token), "GET", "/api/admin/flows", None)
            .await
            .0,
        StatusCode::OK
    );
    let database = std::fs::read(temp.path().join("flowd.db")).unwrap();
    assert!(
        !database
            .windows(token.len())
            .any(|window| window == token.as_bytes()),
        "the clear token must not be stored"
    );
}

#[actix_web::test]
async fn postgres_when_configured() {
    let Some(url) = crate::support::service_env("FLOWD_TEST_DATABASE_URL") else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_url(&url, temp.path(), Some(TOKEN)).await;
    assert_eq!(
        server.call_as(None, "GET", "/readyz", None).await.0,
        StatusCode::OK
    );
    let name = format!("pg-smoke-{}", uuid::Uuid::new_v4().simple());
    let body = json!({
        "name": name, "display_name": "PG", "type": "login",
        "graph": {"nodes": [{"id": "s", "type": "start"}, {"id": "ok", "type": "success"}], "edges": [{"source": "s", "target": "ok"}]}
    });
    let (status, created) = server.call("POST", "/api/admin/flows", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        server
            .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/api/admin/flows/{id}"), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let server = TestServer::start().await;
    server
        .call("GET", "/api/admin/flows/flow_does_not_exist", None)
        .await;
    let response = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.contains("flowd_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/admin/flows/{id}\""), "{text}");
    assert!(
        !text.contains("flow_does_not_exist"),
        "raw paths must not become labels"
    );
}
