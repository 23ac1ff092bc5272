//! `/api/admin/identity-providers` on the real server over HTTP: presets with overrides, the
//! coded 400s, 409 on a duplicate, PUT keeping the secret, list and delete; the users' identity
//! links; and the validation warning for the seed's social-login flow.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, seed};

const PROVIDERS: &str = "/api/admin/identity-providers";
const SECRET: &str = "GOCSPX-integration-secret";

/// `(status, code, details.field)` of an answer.
fn coded(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>, Option<&str>) {
    (
        answer.0,
        answer.1["code"].as_str(),
        answer.1["details"]["field"].as_str(),
    )
}

#[actix_web::test]
async fn identity_providers_over_http() {
    let server = TestServer::start().await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let issuer = format!("http://127.0.0.1:{port}");

    // The google preset with the issuer pointed at a local provider.
    let (status, google) = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "google", "client_id": "local-client",
                          "client_secret": SECRET, "issuer": issuer})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{google}");
    assert!(!google.to_string().contains(SECRET), "{google}");
    assert!(google.get("client_secret").is_none(), "{google}");
    assert_eq!(google["has_client_secret"], true);
    assert_eq!(google["type"], "oidc");
    assert_eq!(google["issuer"], issuer.as_str());
    assert_eq!(google["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(google["client_id"], "local-client");
    let callback = google["callback_url"].as_str().unwrap();
    assert!(
        callback.ends_with("/source/oauth/callback/google/") && callback.starts_with("http"),
        "{callback}"
    );

    // An oauth2 provider without a preset needs all three endpoints.
    let answer = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "corp", "type": "oauth2", "client_id": "c",
                          "authorize_url": "https://sso.corp.example/authorize",
                          "userinfo_url": "https://sso.corp.example/userinfo"})),
        )
        .await;
    assert_eq!(
        coded(&answer),
        (
            StatusCode::BAD_REQUEST,
            Some("missing_provider_field"),
            Some("token_url")
        ),
        "{}",
        answer.1
    );

    // Plain http only to loopback hosts.
    let answer = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "gitlab", "client_id": "c",
                          "issuer": "http://gitlab.corp.example"})),
        )
        .await;
    assert_eq!(
        coded(&answer),
        (
            StatusCode::BAD_REQUEST,
            Some("insecure_url"),
            Some("issuer")
        ),
        "{}",
        answer.1
    );

    // A misspelt field is refused, not ignored.
    let answer = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "gitlab", "client_id": "c", "client_sercet": "x"})),
        )
        .await;
    assert_eq!(
        coded(&answer),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            Some("client_sercet")
        ),
        "{}",
        answer.1
    );
    assert!(!answer.1.to_string().contains("\"x\""));

    // POST on an existing id is a conflict; PUT replaces.
    let answer = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "google", "client_id": "another"})),
        )
        .await;
    assert_eq!(
        coded(&answer),
        (
            StatusCode::CONFLICT,
            Some("identity_provider_exists"),
            Some("id")
        ),
        "{}",
        answer.1
    );

    // PUT without the secret keeps it.
    let google_path = format!("{PROVIDERS}/google");
    let (status, edited) = server
        .call(
            "PUT",
            &google_path,
            Some(&json!({"client_id": "local-client", "issuer": issuer,
                          "display_name": "Google (local)"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["has_client_secret"], true);
    assert_eq!(edited["display_name"], "Google (local)");
    let (status, fetched) = server.call("GET", &google_path, None).await;
    assert_eq!((status, &fetched), (StatusCode::OK, &edited));

    // PUT of a new id creates it (the github preset, a public client).
    let (status, github) = server
        .call(
            "PUT",
            &format!("{PROVIDERS}/github"),
            Some(&json!({"client_id": "gh-client"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{github}");
    assert_eq!(github["has_client_secret"], false);
    assert_eq!(
        github["authorize_url"],
        "https://github.com/login/oauth/authorize"
    );

    let (status, list) = server.call("GET", PROVIDERS, None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["github", "google"], "{list}");
    assert!(!list.to_string().contains(SECRET));

    // Delete, then 404.
    let github_path = format!("{PROVIDERS}/github");
    assert_eq!(
        server.call("DELETE", &github_path, None).await.0,
        StatusCode::NO_CONTENT
    );
    for method in ["GET", "DELETE"] {
        let answer = server.call(method, &github_path, None).await;
        assert_eq!(
            coded(&answer),
            (
                StatusCode::NOT_FOUND,
                Some("identity_provider_not_found"),
                None
            ),
            "{method}: {}",
            answer.1
        );
    }
}

#[actix_web::test]
async fn the_seed_social_login_flow_warns_about_providers_that_are_not_configured() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let flow = format!("/api/admin/flows/{}", created["id"].as_str().unwrap());
    let unconfigured = |report: &Value| -> Vec<String> {
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|warning| warning["code"] == "social_provider_not_configured")
            .map(|warning| {
                assert_eq!(warning["node_id"], "provider_select", "{warning}");
                warning["message"].as_str().unwrap().to_owned()
            })
            .collect()
    };

    // Neither google nor github is configured: two warnings, still valid.
    let (status, report) = server.call("POST", &format!("{flow}/validate"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true, "{report}");
    assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
    let warnings = unconfigured(&report);
    assert_eq!(warnings.len(), 2, "{report}");
    assert!(warnings[0].contains("google"), "{warnings:?}");
    assert!(warnings[1].contains("github"), "{warnings:?}");

    // With google configured only github is warned about, and the flow activates.
    let (status, _) = server
        .call(
            "POST",
            PROVIDERS,
            Some(&json!({"id": "google", "client_id": "c", "client_secret": SECRET})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, report) = server.call("POST", &format!("{flow}/validate"), None).await;
    let warnings = unconfigured(&report);
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(warnings[0].contains("github"), "{warnings:?}");
    let (status, activated) = server.call("POST", &format!("{flow}/activate"), None).await;
    assert_eq!(
        (status, &activated["status"]),
        (StatusCode::OK, &json!("active"))
    );
}

#[actix_web::test]
async fn a_users_identity_links_over_http() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(
            "POST",
            "/api/admin/users",
            Some(&json!({"identifier": "linked@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["identity_links"], json!([]));
    let user = format!("/api/admin/users/{}", created["id"].as_str().unwrap());
    let (status, fetched) = server.call("GET", &user, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["identity_links"], json!([]));

    // Links are made by sign-ins; with none, removing one is a coded 404.
    let answer = server
        .call("DELETE", &format!("{user}/identity-links/google"), None)
        .await;
    assert_eq!(
        coded(&answer),
        (StatusCode::NOT_FOUND, Some("identity_link_not_found"), None),
        "{}",
        answer.1
    );
    let answer = server
        .call(
            "DELETE",
            "/api/admin/users/nobody/identity-links/google",
            None,
        )
        .await;
    assert_eq!(
        coded(&answer),
        (StatusCode::NOT_FOUND, Some("user_not_found"), None),
        "{}",
        answer.1
    );
}
