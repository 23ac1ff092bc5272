//! `POST /api/admin/users/import` and `GET /api/admin/users/export` on the real server: users
//! with the password hashes of Django, Keycloak, pyca/bcrypt, argon2-cffi and hashlib
//! (`fixtures/imported-hashes/`) sign in over the WSO2 API and are re-hashed with argon2id;
//! every refused line has its code; an import runs again without harm; export reads back.
//! On SQLite, and on PostgreSQL when configured.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TOKEN, TestServer};
use crate::users::sign_in;

/// The verifiable vectors (name, password, hash or Keycloak credential).
pub(crate) fn verifiable() -> Vec<Value> {
    fixture("verifiable.json")
}

fn fixture(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/../../fixtures/imported-hashes/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The import line of a vector for `identifier`.
pub(crate) fn line_of(vector: &Value, identifier: &str) -> Value {
    let hash = vector
        .get("hash")
        .cloned()
        .unwrap_or_else(|| vector["keycloak"].clone());
    json!({"identifier": identifier, "password_hash": hash,
           "attributes": {"migrated_from": vector["name"]}})
}

/// Posts `body` to the import endpoint.
pub(crate) async fn import(server: &TestServer, body: String) -> (StatusCode, Value) {
    let response = server
        .client
        .post(format!("{}/api/admin/users/import", server.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The export as parsed lines.
async fn export(server: &TestServer, query: &str) -> (StatusCode, String) {
    let response = server
        .client
        .get(format!("{}/api/admin/users/export{query}", server.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    }
    (status, response.text().await.unwrap())
}

/// The export lines of the users whose identifier starts with `prefix`.
async fn exported(server: &TestServer, prefix: &str, hashes: bool) -> Vec<Value> {
    let query = if hashes { "?password_hashes=true" } else { "" };
    let (status, text) = export(server, query).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| {
            record["identifier"]
                .as_str()
                .is_some_and(|identifier| identifier.starts_with(prefix))
        })
        .collect()
}

async fn import_and_sign_in(server: &TestServer) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("m{unique}");
    let vectors = verifiable();
    let identifier = |name: &str| format!("{prefix}-{name}@example.com");
    let mut lines: Vec<String> = vectors
        .iter()
        .map(|vector| line_of(vector, &identifier(vector["name"].as_str().unwrap())).to_string())
        .collect();
    // The refused lines, each with the code it must get.
    let mut expected_errors: Vec<(usize, String)> = Vec::new();
    let mut refuse = |lines: &mut Vec<String>, line: String, code: &str| {
        lines.push(line);
        expected_errors.push((lines.len(), code.to_owned()));
    };
    for vector in fixture("refused.json") {
        let line = json!({"identifier": identifier(vector["name"].as_str().unwrap()),
                          "password_hash": vector["hash"]});
        refuse(
            &mut lines,
            line.to_string(),
            vector["code"].as_str().unwrap(),
        );
    }
    refuse(&mut lines, "{\"identifier\": ".to_owned(), "invalid_json");
    refuse(
        &mut lines,
        json!({"identifier": identifier("x"), "pasword_hash": "typo"}).to_string(),
        "invalid_json",
    );
    refuse(
        &mut lines,
        json!({"identifier": "not an identifier!"}).to_string(),
        "invalid_identifier",
    );
    refuse(
        &mut lines,
        json!({"identifier": identifier("future"), "created_at": 99_999_999_999_i64}).to_string(),
        "invalid_created_at",
    );
    refuse(
        &mut lines,
        json!({"identifier": identifier("badid"), "id": "../etc"}).to_string(),
        "invalid_user_id",
    );
    refuse(&mut lines, "x".repeat(70_000), "line_too_long");
    // A blank line is skipped; the same identifier in another case exists already.
    lines.push("   ".to_owned());
    lines.push(
        json!({"identifier": identifier("bcrypt-2b").to_uppercase(), "disabled": true}).to_string(),
    );
    lines.push(
        json!({"identifier": identifier("disabled"), "disabled": true, "created_at": 1_600_000_000})
            .to_string(),
    );
    let body = lines.join("\n") + "\n";

    let (status, report) = import(server, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let errors: Vec<(usize, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                usize::try_from(error["line"].as_u64().unwrap()).unwrap(),
                error["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors, expected_errors, "{report}");
    assert_eq!(report["created"], vectors.len() + 1, "{report}");
    assert_eq!(report["existing"], 1, "{report}");
    assert_eq!(report["failed"], expected_errors.len(), "{report}");
    // No secret comes back in the report.
    assert!(!report.to_string().contains("$2b$"), "{report}");

    // Idempotent: the same file again creates nothing and changes nothing.
    let (status, again) = import(server, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&again["created"], &again["existing"], &again["failed"]),
        (&json!(0), &json!(vectors.len() + 2), &report["failed"]),
        "{again}"
    );

    // The disabled user is disabled, with its creation time.
    let users = exported(server, &prefix, false).await;
    let disabled = users
        .iter()
        .find(|user| user["identifier"] == identifier("disabled"))
        .unwrap();
    assert_eq!(
        (&disabled["disabled"], &disabled["created_at"]),
        (&json!(true), &json!(1_600_000_000))
    );
    // Without the flag, no hash leaves; the identifiers come sorted.
    assert!(users.iter().all(|user| user.get("password_hash").is_none()));
    let names: Vec<&str> = users
        .iter()
        .map(|user| user["identifier"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);

    // Every imported user signs in with its old password over WSO2's API; a wrong one fails.
    for vector in &vectors {
        let name = vector["name"].as_str().unwrap();
        let password = vector["password"].as_str().unwrap();
        let wrong = sign_in(server, &identifier(name), "not the migrated password").await;
        assert_ne!(wrong["flowStatus"], "COMPLETE", "{name}: {wrong}");
        let done = sign_in(server, &identifier(name), password).await;
        assert_eq!(done["flowStatus"], "COMPLETE", "{name}: {done}");
    }
    // ... and its hash is now flowd's own argon2id, which the old password still opens.
    let hashed = exported(server, &prefix, true).await;
    for vector in &vectors {
        let name = vector["name"].as_str().unwrap();
        let record = hashed
            .iter()
            .find(|user| user["identifier"] == identifier(name))
            .unwrap();
        let hash = record["password_hash"].as_str().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{name}: {hash}"
        );
    }
    let bcrypt = identifier("bcrypt-2y");
    let done = sign_in(server, &bcrypt, "migrated horse 42").await;
    assert_eq!(done["flowStatus"], "COMPLETE", "re-hashed: {done}");

    // An export (with hashes) imports into the same server as existing users.
    let text: String = hashed.iter().map(|record| format!("{record}\n")).collect();
    let (_, round) = import(server, text).await;
    assert_eq!(
        (&round["created"], &round["existing"], &round["failed"]),
        (&json!(0), &json!(hashed.len()), &json!(0)),
        "{round}"
    );

    let (status, error) = export(server, "?password_hashes=yes").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let (status, _) = server
        .call_as(None, "POST", "/api/admin/users/import", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn imported_users_sign_in_with_their_old_hashes_on_sqlite() {
    let server = TestServer::start().await;
    import_and_sign_in(&server).await;
}

#[actix_web::test]
async fn imported_users_sign_in_with_their_old_hashes_on_postgres() {
    let Some(url) = crate::support::service_env("FLOWD_TEST_DATABASE_URL") else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_url(&url, temp.path(), Some(TOKEN)).await;
    import_and_sign_in(&server).await;
}
