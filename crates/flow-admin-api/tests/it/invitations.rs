//! `/api/admin/invitations`: create (the code never in the answer), list, revoke, and the
//! error answers in the admin API's shape.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::support::{app, call, send};

#[actix_web::test]
async fn invitations_are_created_listed_and_revoked_without_their_code() {
    let app = app().await;
    let (status, created) = call(
        &app,
        "POST",
        "/api/admin/invitations",
        Some(&json!({"email": " Ada@Example.com ", "expires_in": 3600})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["email"], "ada@example.com");
    assert_eq!(created["status"], "pending");
    assert_eq!(
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap(),
        3600
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("inv_"), "{id}");
    let fields: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert_eq!(
        fields,
        ["id", "email", "status", "created_at", "expires_at"],
        "no code, no hash"
    );

    let (status, default) = call(
        &app,
        "POST",
        "/api/admin/invitations",
        Some(&json!({"email": "grace@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        default["expires_at"].as_i64().unwrap() - default["created_at"].as_i64().unwrap(),
        7 * 24 * 3600
    );

    let (status, list) = call(&app, "GET", "/api/admin/invitations", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    let path = format!("/api/admin/invitations/{id}");
    let (status, revoked) = call(&app, "DELETE", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let (status, again) = call(&app, "DELETE", &path, None).await;
    assert_eq!(
        (status, &again["revoked_at"]),
        (StatusCode::OK, &revoked["revoked_at"])
    );
}

#[actix_web::test]
async fn invitation_mistakes_are_coded_errors() {
    let app = app().await;
    let cases = [
        (json!({}), "invalid_request"),
        (json!({"email": 7}), "invalid_request"),
        (json!({"email": "not-an-address"}), "invalid_email"),
        (
            json!({"email": "a@example.com", "expires_in": 10}),
            "invalid_expiry",
        ),
        (
            json!({"email": "a@example.com", "expires_in": 40 * 24 * 3600}),
            "invalid_expiry",
        ),
        (
            json!({"email": "a@example.com", "expires_in": "soon"}),
            "invalid_request",
        ),
    ];
    for (body, code) in cases {
        let (status, error) = call(&app, "POST", "/api/admin/invitations", Some(&body)).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body}"
        );
    }
    let (_, error) = call(
        &app,
        "POST",
        "/api/admin/invitations",
        Some(&json!({"email": "a@example.com", "expires_in": 1})),
    )
    .await;
    assert_eq!(
        error["details"],
        json!({"field": "expires_in", "min": 60, "max": 2_592_000})
    );
    let (status, error) = call(&app, "DELETE", "/api/admin/invitations/inv_nope", None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("invitation_not_found"))
    );
    let (status, _) = send(
        &app,
        actix_web::test::TestRequest::post()
            .uri("/api/admin/invitations")
            .set_json(json!({"email": "a@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
