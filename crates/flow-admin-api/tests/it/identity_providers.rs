//! `/api/admin/identity-providers` and the users' identity links, in process over the memory
//! ports: every answer (errors included) fits the OpenAPI document, the secret never comes
//! back, and flows that name providers that are not configured get warnings.

use actix_web::http::StatusCode;
use flow_engine::{IdentityLink, TenantId, UserId};
use serde_json::{Value, json};

use crate::openapi::{assert_documented, assert_fits, document};
use crate::support::{app_with_engine, call, seed};

const SECRET: &str = "GOCSPX-very-secret-value";

#[actix_web::test]
async fn providers_round_trip_and_every_answer_fits_the_document() {
    let doc = document().await;
    let (app, _engine) = app_with_engine().await;
    let check = |id: &'static str, (status, body): (StatusCode, Value)| {
        assert_documented(&doc, id, status, &body);
        (status, body)
    };
    const PROVIDERS: &str = "/api/admin/identity-providers";

    let (status, google) = check(
        "create_identity_provider",
        call(
            &app,
            "POST",
            PROVIDERS,
            Some(
                &json!({"id": "google", "client_id": "cid", "client_secret": SECRET,
                          "issuer": "http://127.0.0.1:9000"}),
            ),
        )
        .await,
    );
    assert_eq!(status, StatusCode::CREATED, "{google}");
    assert!(!google.to_string().contains(SECRET), "{google}");
    assert!(google.get("client_secret").is_none());
    assert_eq!(google["has_client_secret"], true);
    assert_eq!(google["type"], "oidc");
    assert_eq!(google["display_name"], "Google");
    assert_eq!(google["issuer"], "http://127.0.0.1:9000");
    assert_eq!(google["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(
        google["callback_url"],
        "https://id.example.com/source/oauth/callback/google/"
    );

    let (status, conflict) = check(
        "create_identity_provider",
        call(
            &app,
            "POST",
            PROVIDERS,
            Some(&json!({"id": "google", "client_id": "other"})),
        )
        .await,
    );
    assert_eq!(
        (status, conflict["code"].as_str()),
        (StatusCode::CONFLICT, Some("identity_provider_exists"))
    );

    let (status, missing) = check(
        "create_identity_provider",
        call(
            &app,
            "POST",
            PROVIDERS,
            Some(&json!({"id": "corp", "type": "oauth2", "client_id": "c",
                          "authorize_url": "https://corp.example/authorize",
                          "userinfo_url": "https://corp.example/me"})),
        )
        .await,
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            missing["code"].as_str(),
            missing["details"]["field"].as_str()
        ),
        (Some("missing_provider_field"), Some("token_url"))
    );

    // PUT without the secret keeps it; PUT of a new id creates.
    let path = format!("{PROVIDERS}/google");
    let (status, replaced) = check(
        "put_identity_provider",
        call(
            &app,
            "PUT",
            &path,
            Some(&json!({"client_id": "cid2", "promoted": true})),
        )
        .await,
    );
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["has_client_secret"], true);
    assert_eq!(replaced["client_id"], "cid2");
    // Replaced as a whole: the issuer is the preset's again.
    assert_eq!(replaced["issuer"], "https://accounts.google.com");
    let (status, github) = check(
        "put_identity_provider",
        call(
            &app,
            "PUT",
            &format!("{PROVIDERS}/github"),
            Some(&json!({"client_id": "gh"})),
        )
        .await,
    );
    assert_eq!(status, StatusCode::CREATED, "{github}");
    assert_eq!(github["has_client_secret"], false);
    assert_eq!(github["type"], "oauth2");
    assert_eq!(github["claims"]["subject"], "id");
    let (status, bad) = check(
        "put_identity_provider",
        call(
            &app,
            "PUT",
            &format!("{PROVIDERS}/Bad_Id"),
            Some(&json!({})),
        )
        .await,
    );
    assert_eq!(
        (status, bad["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_provider_id"))
    );

    let (status, list) = check(
        "list_identity_providers",
        call(&app, "GET", PROVIDERS, None).await,
    );
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["github", "google"]);
    assert!(!list.to_string().contains(SECRET));

    let (status, _) = check(
        "get_identity_provider",
        call(&app, "GET", &path, None).await,
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _) = check(
        "delete_identity_provider",
        call(&app, "DELETE", &path, None).await,
    );
    assert_eq!(status, StatusCode::NO_CONTENT);
    for (id, method) in [
        ("get_identity_provider", "GET"),
        ("delete_identity_provider", "DELETE"),
    ] {
        let (status, gone) = check(id, call(&app, method, &path, None).await);
        assert_eq!(
            (status, gone["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("identity_provider_not_found"))
        );
    }
}

#[actix_web::test]
async fn flows_naming_providers_that_are_not_configured_get_warnings() {
    let doc = document().await;
    let (app, _engine) = app_with_engine().await;
    let (status, created) = call(
        &app,
        "POST",
        "/api/admin/flows",
        Some(&seed("create-flow-request.json")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let flow = format!("/api/admin/flows/{}", created["id"].as_str().unwrap());

    let warned = |report: &Value| -> Vec<String> {
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "social_provider_not_configured")
            .map(|w| {
                assert_eq!(w["node_id"], "provider_select", "{w}");
                w["message"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let (status, report) = call(&app, "POST", &format!("{flow}/validate"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "validate_flow", status, &report);
    assert_eq!(report["valid"], true, "{report}");
    let messages = warned(&report);
    assert_eq!(messages.len(), 2, "{report}");
    assert!(messages[0].contains("'google'"), "{messages:?}");
    assert!(messages[1].contains("'github'"), "{messages:?}");

    let (status, _) = call(
        &app,
        "POST",
        "/api/admin/identity-providers",
        Some(&json!({"id": "google", "client_id": "cid"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, report) = call(&app, "POST", &format!("{flow}/validate"), None).await;
    let messages = warned(&report);
    assert_eq!(messages.len(), 1, "{report}");
    assert!(messages[0].contains("'github'"), "{messages:?}");
    // A warning, not an error: the flow activates with only some providers configured.
    let (status, activated) = call(&app, "POST", &format!("{flow}/activate"), None).await;
    assert_eq!(
        (status, &activated["status"]),
        (StatusCode::OK, &json!("active"))
    );

    // A flow that does not validate: the 422's report carries the warning too.
    let mut broken = seed("create-flow-request.json");
    broken["name"] = json!("broken-social");
    broken["graph"]["nodes"].as_array_mut().unwrap().remove(0);
    let (_, broken) = call(&app, "POST", "/api/admin/flows", Some(&broken)).await;
    let broken = format!("/api/admin/flows/{}", broken["id"].as_str().unwrap());
    for action in ["compile", "activate"] {
        let (status, body) = call(&app, "POST", &format!("{broken}/{action}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["code"], "invalid_flow");
        assert_documented(&doc, &format!("{action}_flow"), status, &body);
        assert_fits(
            &doc,
            &json!({"$ref": "#/components/schemas/Report"}),
            &body["details"],
            "details",
        );
        assert_eq!(warned(&body["details"]).len(), 1, "{body}");
        assert_eq!(body["details"]["valid"], false);
    }
}

#[actix_web::test]
async fn a_users_identity_links_are_shown_and_removed() {
    let doc = document().await;
    let (app, engine) = app_with_engine().await;
    let (status, created) = call(
        &app,
        "POST",
        "/api/admin/users",
        Some(&json!({"identifier": "ann@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["identity_links"], json!([]));
    let id = created["id"].as_str().unwrap().to_owned();
    // No HTTP path makes a link but a sign-in: make it through the engine's port.
    engine
        .ports()
        .identity_links
        .link(
            &TenantId::default(),
            &UserId::new(id.clone()),
            &IdentityLink {
                provider: "google".to_owned(),
                subject: "g-123".to_owned(),
                email: Some("ann@example.com".to_owned()),
                linked_at: 1_700_000_000,
            },
        )
        .unwrap();

    let user = format!("/api/admin/users/{id}");
    let (status, fetched) = call(&app, "GET", &user, None).await;
    assert_documented(&doc, "get_user", status, &fetched);
    assert_eq!(
        fetched["identity_links"],
        json!([{"provider": "google", "subject": "g-123", "email": "ann@example.com",
                "linked_at": 1_700_000_000}])
    );

    let link = format!("{user}/identity-links/google");
    let (status, body) = call(&app, "DELETE", &link, None).await;
    assert_documented(&doc, "delete_user_identity_link", status, &body);
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, fetched) = call(&app, "GET", &user, None).await;
    assert_eq!(fetched["identity_links"], json!([]));

    let (status, again) = call(&app, "DELETE", &link, None).await;
    assert_documented(&doc, "delete_user_identity_link", status, &again);
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("identity_link_not_found"))
    );
    let (status, nobody) = call(
        &app,
        "DELETE",
        "/api/admin/users/nobody/identity-links/google",
        None,
    )
    .await;
    assert_eq!(
        (status, nobody["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("user_not_found"))
    );
    // The list does not look the links up.
    let (_, list) = call(&app, "GET", "/api/admin/users", None).await;
    assert!(list["items"][0].get("identity_links").is_none(), "{list}");
}
