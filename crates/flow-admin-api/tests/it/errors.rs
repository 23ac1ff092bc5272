//! Every error path: one JSON shape `{code, message, details?}`, the right status, never a 500.

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::json;

use crate::support::{TOKEN, app, app_with_limit, call, seed, send};

#[actix_web::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let app = app().await;
    for header in [
        None,
        Some("Bearer wrong"),
        Some(format!("Basic {TOKEN}").as_str()),
        Some("Bearer"),
    ] {
        let mut request = test::TestRequest::get().uri("/api/admin/flows");
        if let Some(value) = header {
            request = request.insert_header(("Authorization", value.to_owned()));
        }
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["code"], "unauthorized");
    }
}

#[actix_web::test]
async fn malformed_json_is_400_with_its_position() {
    let app = app().await;
    let request = test::TestRequest::post()
        .uri("/api/admin/flows")
        .insert_header(("Authorization", format!("Bearer {TOKEN}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\n  \"name\": \"x\",\n  oops\n}");
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_json");
    assert_eq!(body["details"], json!({"line": 3, "column": 3}));
}

#[actix_web::test]
async fn bad_fields_are_400_naming_the_field() {
    let app = app().await;
    let mut request = seed("create-flow-request.json");
    request["type"] = json!("teleportation");
    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(body["details"]["field"], "type");

    let mut request = seed("create-flow-request.json");
    request["graph"]["nodes"][1]["type"] = json!(3);
    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("nodes[1].type"),
        "{body}"
    );

    let mut request = seed("create-flow-request.json");
    request.as_object_mut().unwrap().remove("graph");
    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["details"]["field"], "graph");

    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&json!([1, 2]))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

#[actix_web::test]
async fn names_must_be_slugs_and_unique() {
    let app = app().await;
    for bad in ["Social", "has space", "", "under_score", &"a".repeat(65)] {
        let mut request = seed("create-flow-request.json");
        request["name"] = json!(bad);
        let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_name")),
            "{bad:?}"
        );
    }
    let request = seed("create-flow-request.json");
    assert_eq!(
        call(&app, "POST", "/api/admin/flows", Some(&request))
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken"))
    );
}

#[actix_web::test]
async fn list_query_errors() {
    let app = app().await;
    for (query, parameter) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("type=teleport", "type"),
        ("status=gone", "status"),
        ("cursor=nonsense", "cursor"),
    ] {
        let (status, body) = call(&app, "GET", &format!("/api/admin/flows?{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["code"], "invalid_query");
        assert_eq!(body["details"]["parameter"], parameter);
    }
    assert_eq!(
        call(&app, "GET", "/api/admin/flows?limit=100", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn an_oversized_body_is_413() {
    let app = app_with_limit(256).await;
    let mut request = seed("create-flow-request.json");
    request["description"] = json!("x".repeat(1000));
    let (status, body) = call(&app, "POST", "/api/admin/flows", Some(&request)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "payload_too_large");
}

#[actix_web::test]
async fn unknown_ids_routes_and_read_only_fields() {
    let app = app().await;
    for (method, path) in [
        ("GET", "/api/admin/flows/flow_nope"),
        ("DELETE", "/api/admin/flows/flow_nope"),
        ("POST", "/api/admin/flows/flow_nope/validate"),
        ("POST", "/api/admin/flows/flow_nope/compile"),
        ("POST", "/api/admin/flows/flow_nope/activate"),
        ("POST", "/api/admin/flows/flow_nope/deactivate"),
        ("GET", "/api/admin/flows/flow_nope/export"),
    ] {
        let (status, body) = call(&app, method, path, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("flow_not_found")),
            "{method} {path}"
        );
    }
    let (status, body) = call(
        &app,
        "PUT",
        "/api/admin/flows/flow_nope",
        Some(&json!({"display_name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(&app, "GET", "/api/admin/nothing-here", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = call(&app, "GET", "/api/admin/executions/not-a-uuid/trace", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("execution_not_found"))
    );

    let (_, created) = call(
        &app,
        "POST",
        "/api/admin/flows",
        Some(&seed("create-flow-request.json")),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let (status, body) = call(
        &app,
        "PUT",
        &format!("/api/admin/flows/{id}"),
        Some(&json!({"status": "active"})),
    )
    .await;
    assert_eq!(
        (status, body["details"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status"))
    );
}
