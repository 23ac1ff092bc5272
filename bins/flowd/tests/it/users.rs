//! `/api/admin/users` on the real server over HTTP: create (the user then signs in over the
//! WSO2 API with the password set here), the one normalization of identifiers, paging, every
//! error code, unlock after a lockout, delete. On SQLite, and on PostgreSQL when configured.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TOKEN, TestServer};

const EXECUTE: &str = "/api/server/v1/flow/execute";
const PASSWORD: &str = "correct horse battery staple";

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    response
}

/// Signs `identifier` in with `password` over WSO2's API; the last answer.
pub(crate) async fn sign_in(server: &TestServer, identifier: &str, password: &str) -> Value {
    let view = execute(server, json!({"flowType": "AUTHENTICATION"})).await;
    let view = execute(
        server,
        json!({"flowId": view["flowId"], "inputs": {"identifier": identifier}}),
    )
    .await;
    execute(
        server,
        json!({"flowId": view["flowId"], "inputs": {"password": password}}),
    )
    .await
}

async fn create(server: &TestServer, body: Value) -> (StatusCode, Value) {
    server.call("POST", "/api/admin/users", Some(&body)).await
}

/// The whole surface on one server.
async fn users_api(server: &TestServer) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let ann = format!("u{unique}-ann@example.com");

    // Create: the identifier is normalized, the password hashed, the answer has no secret.
    let (status, created) = create(
        server,
        json!({"identifier": format!("  {}  ", ann.to_uppercase()), "password": PASSWORD,
               "attributes": {"given_name": "Ann"}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["identifier"], ann.as_str());
    assert_eq!(created["attributes"]["given_name"], "Ann");
    let text = created.to_string();
    assert!(
        !text.contains("argon2") && !text.contains(PASSWORD),
        "{text}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, fetched) = server
        .call("GET", &format!("/api/admin/users/{id}"), None)
        .await;
    assert_eq!((status, &fetched), (StatusCode::OK, &created));

    // The user signs in with the password set over the admin API, typed in another case.
    let done = sign_in(server, &ann.to_uppercase(), PASSWORD).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    // One user per identifier: another case or spacing is the same one.
    let (status, taken) = create(server, json!({"identifier": ann.to_uppercase()})).await;
    assert_eq!(
        (
            status,
            taken["code"].as_str(),
            taken["details"]["field"].as_str()
        ),
        (
            StatusCode::CONFLICT,
            Some("identifier_taken"),
            Some("identifier")
        ),
        "{taken}"
    );

    // Bad input: each a coded 400, and nothing is created.
    for (body, code) in [
        (
            json!({"identifier": "not an identifier!"}),
            "invalid_identifier",
        ),
        (
            json!({"identifier": format!("u{unique}-bob@example.com"), "password": "short"}),
            "password_too_short",
        ),
        (
            json!({"identifier": format!("u{unique}-bob@example.com"), "password": "password123"}),
            "password_too_weak",
        ),
        (
            json!({"identifier": format!("u{unique}-bob@example.com"), "passwrd": PASSWORD}),
            "invalid_request",
        ),
        (json!({"password": PASSWORD}), "invalid_request"),
        (json!({"identifier": 42}), "invalid_request"),
        (
            json!({"identifier": format!("u{unique}-bob@example.com"), "attributes": []}),
            "invalid_request",
        ),
    ] {
        let (status, error) = create(server, body.clone()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{body} -> {error}"
        );
    }
    let response = server
        .client
        .post(format!("{}/api/admin/users", server.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"identifier\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "invalid_json", "{error}");

    // Listing: by prefix (normalized), in identifier order, in pages.
    for name in ["carol", "bob", "dave"] {
        let (status, body) = create(
            server,
            json!({"identifier": format!("u{unique}-{name}@example.org")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, page) = server
        .call(
            "GET",
            &format!("/api/admin/users?identifier=U{unique}-BOB&limit=100"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let identifiers = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["identifier"].as_str().unwrap().to_owned())
            .filter(|identifier| identifier.contains(&unique))
            .collect()
    };
    assert_eq!(identifiers(&page), [format!("u{unique}-bob@example.org")]);
    let mut seen = Vec::new();
    let mut path = format!("/api/admin/users?limit=2&identifier=u{unique}");
    loop {
        let (status, page) = server.call("GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(identifiers(&page));
        match page["cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/admin/users?limit=2&identifier=u{unique}&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            ann.clone(),
            format!("u{unique}-bob@example.org"),
            format!("u{unique}-carol@example.org"),
            format!("u{unique}-dave@example.org"),
        ]
    );
    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=nonsense",
        "cursor=c1zz",
        "status=locked",
        "created_from=yesterday",
        "created_before=1.5",
    ] {
        let (status, error) = server
            .call("GET", &format!("/api/admin/users?{query}"), None)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{query}: {error}"
        );
    }

    // Disable: the right password gets exactly the answer of a wrong one (the same user's,
    // once enabled again); the identifier stays taken; enable lets the user in again.
    let (status, eve) = create(
        server,
        json!({"identifier": format!("u{unique}-eve@example.com"), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{eve}");
    let eve_id = eve["id"].as_str().unwrap();
    let eve_identifier = eve["identifier"].as_str().unwrap();
    assert_eq!(eve["status"], "active");
    let (status, disabled) = server
        .call("POST", &format!("/api/admin/users/{eve_id}/disable"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["status"], "disabled");
    assert!(disabled["disabled_at"].is_i64(), "{disabled}");
    let (_, again) = server
        .call("POST", &format!("/api/admin/users/{eve_id}/disable"), None)
        .await;
    assert_eq!(
        again["disabled_at"], disabled["disabled_at"],
        "the first time is kept"
    );
    let mut refused = sign_in(server, eve_identifier, PASSWORD).await;
    assert_ne!(refused["flowStatus"], "COMPLETE", "{refused}");
    let (status, taken) = create(server, json!({"identifier": eve_identifier})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");
    let (status, enabled) = server
        .call("POST", &format!("/api/admin/users/{eve_id}/enable"), None)
        .await;
    assert_eq!(
        (status, enabled["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    assert_eq!(enabled["disabled_at"], Value::Null);
    let mut wrong = sign_in(server, eve_identifier, "not the password at all").await;
    for answer in [&mut refused, &mut wrong] {
        answer.as_object_mut().unwrap().remove("flowId");
    }
    assert_eq!(
        refused, wrong,
        "a disabled user is told what a wrong password is told"
    );
    let done = sign_in(server, eve_identifier, PASSWORD).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "enabled again: {done}");
    for action in ["disable", "enable"] {
        let (status, error) = server
            .call("POST", &format!("/api/admin/users/nobody/{action}"), None)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("user_not_found"))
        );
    }

    // Credentials: the password is listed (never its hash); removed, it signs in no more.
    let credentials = format!("/api/admin/users/{eve_id}/credentials");
    let (status, list) = server.call("GET", &credentials, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list, json!({"items": [{"type": "password"}]}));
    for kind in ["totp", "webauthn"] {
        let (status, error) = server
            .call("DELETE", &format!("{credentials}/{kind}"), None)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("credential_not_found")),
            "{kind}: {error}"
        );
    }
    let (status, _) = server
        .call("DELETE", &format!("{credentials}/password"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.call("GET", &credentials, None).await.1,
        json!({"items": []})
    );
    let refused = sign_in(server, eve_identifier, PASSWORD).await;
    assert_ne!(refused["flowStatus"], "COMPLETE", "no password: {refused}");
    let (status, error) = server
        .call("GET", "/api/admin/users/nobody/credentials", None)
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("user_not_found"))
    );

    // Attributes: merged, `null` removes one; the list filters by status and creation time.
    let (status, patched) = server
        .call(
            "PATCH",
            &format!("/api/admin/users/{id}"),
            Some(&json!({"attributes": {"family_name": "Lovelace", "given_name": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["attributes"], json!({"family_name": "Lovelace"}));
    for body in [
        json!({}),
        json!({"attributes": "x"}),
        json!({"attributes": {}, "id": "x"}),
    ] {
        let (status, error) = server
            .call("PATCH", &format!("/api/admin/users/{id}"), Some(&body))
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{body}: {error}"
        );
    }
    server
        .call("POST", &format!("/api/admin/users/{eve_id}/disable"), None)
        .await;
    let (_, page) = server
        .call(
            "GET",
            &format!("/api/admin/users?status=disabled&identifier=u{unique}"),
            None,
        )
        .await;
    assert_eq!(identifiers(&page), [eve_identifier]);
    let (_, page) = server
        .call(
            "GET",
            &format!("/api/admin/users?status=active&identifier=u{unique}"),
            None,
        )
        .await;
    assert_eq!(identifiers(&page).len(), 4, "{page}");
    let created_at = created["created_at"].as_i64().unwrap();
    let (_, page) = server
        .call(
            "GET",
            &format!("/api/admin/users?created_before={created_at}&identifier=u{unique}"),
            None,
        )
        .await;
    assert!(identifiers(&page).is_empty(), "{page}");

    // Unlock: ten wrong passwords lock the user (the right one is refused too), unlock lifts it.
    for _ in 0..10 {
        let wrong = sign_in(server, &ann, "not the password at all").await;
        assert_ne!(wrong["flowStatus"], "COMPLETE", "{wrong}");
    }
    let locked = sign_in(server, &ann, PASSWORD).await;
    assert_ne!(locked["flowStatus"], "COMPLETE", "locked: {locked}");
    let (status, body) = server
        .call("POST", &format!("/api/admin/users/{id}/unlock"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let done = sign_in(server, &ann, PASSWORD).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "after unlock: {done}");

    // Delete: gone, its identifier free again, its password no longer signs in.
    let path = format!("/api/admin/users/{id}");
    assert_eq!(
        server.call("DELETE", &path, None).await.0,
        StatusCode::NO_CONTENT
    );
    for (method, path) in [
        ("GET", path.clone()),
        ("DELETE", path.clone()),
        ("POST", format!("{path}/unlock")),
        ("POST", format!("{path}/disable")),
    ] {
        let (status, error) = server.call(method, &path, None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("user_not_found")),
            "{method} {path}: {error}"
        );
    }
    let refused = sign_in(server, &ann, PASSWORD).await;
    assert_ne!(refused["flowStatus"], "COMPLETE", "{refused}");
    let (status, again) = create(server, json!({"identifier": ann})).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");

    // Without the token nothing is answered.
    let (status, error) = server.call_as(None, "GET", "/api/admin/users", None).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
}

#[actix_web::test]
async fn users_are_administered_over_http_on_sqlite() {
    let server = TestServer::start().await;
    users_api(&server).await;
}

#[actix_web::test]
async fn users_are_administered_over_http_on_postgres() {
    let Some(url) = crate::support::service_env("FLOWD_TEST_DATABASE_URL") else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_url(&url, temp.path(), Some(TOKEN)).await;
    users_api(&server).await;
}

/// A user's passkeys in the credentials list (id, name, last use, backup state; never the
/// key), removed one at a time or all at once. The passkeys are put in the database the
/// server runs on, as a flow that enrols one would.
#[actix_web::test]
async fn passkeys_are_listed_and_removed_one_by_one() {
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(temp.path(), Some(TOKEN)).await;
    let (_, user) = create(&server, json!({"identifier": "pia@example.com"})).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
    let database = flow_store::Database::open(&url).unwrap();
    let tenant = flow_engine::TenantId::default();
    for (credential_id, name, created_at) in [("cred-a", "Laptop", 100), ("cred-b", "Phone", 200)] {
        let passkey = flow_engine::StoredPasskey {
            credential_id: credential_id.to_owned(),
            name: name.to_owned(),
            data: "{\"secret\":\"public key material\"}".to_owned(),
            sign_count: 0,
            backup_eligible: true,
            backup_state: credential_id == "cred-b",
            created_at,
            last_used_at: None,
        };
        flow_engine::UserDirectory::add_passkey(
            &database,
            &tenant,
            &flow_engine::UserId::new(id.clone()),
            &passkey,
        )
        .unwrap();
    }
    let credentials = format!("/api/admin/users/{id}/credentials");
    let (status, list) = server.call("GET", &credentials, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list["items"],
        json!([
            {"type": "passkey", "created_at": 100, "id": "cred-a", "name": "Laptop", "backup_state": false, "sign_count": 0},
            {"type": "passkey", "created_at": 200, "id": "cred-b", "name": "Phone", "backup_state": true, "sign_count": 0},
        ])
    );
    assert!(!list.to_string().contains("public key material"));

    let one = format!("{credentials}/passkey/cred-a");
    assert_eq!(
        server.call("DELETE", &one, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, gone) = server.call("DELETE", &one, None).await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("credential_not_found"))
    );
    let (_, list) = server.call("GET", &credentials, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let all = format!("{credentials}/passkey");
    assert_eq!(
        server.call("DELETE", &all, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, list) = server.call("GET", &credentials, None).await;
    assert_eq!(list["items"], json!([]));
    let (_, events) = server
        .call(
            "GET",
            &format!("/api/admin/events?user_id={id}&kind=credential_removed"),
            None,
        )
        .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 2, "{events}");
}
