//! `GET /api/admin/events` on the real server: a registration, sign-ins over WSO2 (wrong and
//! right password), a lockout and the administrator's changes are events, with the client's
//! address and user agent; filters, paging, bad queries; a counter per kind in `/metrics`.
//! On SQLite, and on PostgreSQL when configured.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TOKEN, TestServer};
use crate::users::sign_in;

const PASSWORD: &str = "correct horse battery staple";

/// `kind outcome reason` of each event of a page, oldest first.
fn summary(page: &Value) -> Vec<String> {
    let mut lines: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            format!(
                "{} {} {}",
                event["kind"].as_str().unwrap(),
                event["outcome"].as_str().unwrap(),
                event["reason"].as_str().unwrap_or("-")
            )
        })
        .collect();
    lines.reverse();
    lines
}

async fn events(server: &TestServer, query: &str) -> Value {
    let (status, page) = server
        .call("GET", &format!("/api/admin/events?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

async fn event_log(server: &TestServer) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("e{unique}@example.com");
    crate::authentik::register_over_wso2(&server.base, &email, PASSWORD).await;
    let (_, found) = server
        .call("GET", &format!("/api/admin/users?identifier={email}"), None)
        .await;
    let user = found["items"][0]["id"].as_str().unwrap().to_owned();

    assert_ne!(
        sign_in(server, &email, "not the password at all").await["flowStatus"],
        "COMPLETE"
    );
    assert_eq!(
        sign_in(server, &email, PASSWORD).await["flowStatus"],
        "COMPLETE"
    );
    // Ten failures lock the user.
    for _ in 0..10 {
        sign_in(server, &email, "still not the password").await;
    }
    // An administrator (with its own user agent) unlocks, disables and removes the password.
    let admin = |method: &str, path: String| {
        server
            .client
            .request(method.parse().unwrap(), format!("{}{path}", server.base))
            .bearer_auth(TOKEN)
            .header("user-agent", "events-admin/2.0")
            .send()
    };
    for (method, action) in [
        ("POST", "unlock"),
        ("POST", "disable"),
        ("DELETE", "credentials/password"),
    ] {
        let response = admin(method, format!("/api/admin/users/{user}/{action}"))
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{action}: {}",
            response.status()
        );
    }

    let page = events(server, &format!("user_id={user}&limit=100")).await;
    let mut expected = vec![
        "registration success -".to_owned(),
        "sign_in failure invalid_credentials".to_owned(),
        "sign_in success -".to_owned(),
    ];
    expected.extend(std::iter::repeat_n(
        "sign_in failure invalid_credentials".to_owned(),
        9,
    ));
    expected.extend(
        [
            "sign_in failure account_locked",
            "lockout failure too_many_failures",
            "admin success user_unlocked",
            "admin success user_disabled",
            "credential_removed success password",
            "admin success credential_removed",
        ]
        .map(str::to_owned),
    );
    assert_eq!(summary(&page), expected, "{page}");
    let items = page["items"].as_array().unwrap();
    let signed_in = &items[items.len() - 3];
    assert_eq!(signed_in["identifier"], email.as_str());
    assert_eq!(signed_in["client_address"], "127.0.0.1");
    assert!(signed_in["execution_id"].is_string() && signed_in["flow_id"].is_string());
    assert_eq!(items[0]["user_agent"], "events-admin/2.0");
    assert!(!page.to_string().contains(PASSWORD));

    // Filters and paging: the failures of this user, three at a time, newest first.
    let mut query = format!("user_id={user}&kind=sign_in&outcome=failure&limit=3");
    let mut seen = 0;
    loop {
        let page = events(server, &query).await;
        let items = page["items"].as_array().unwrap();
        assert!(
            items
                .iter()
                .all(|event| event["kind"] == "sign_in" && event["outcome"] == "failure")
        );
        seen += items.len();
        match page["cursor"].as_str() {
            Some(cursor) => {
                query =
                    format!("user_id={user}&kind=sign_in&outcome=failure&limit=3&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seen, 11);
    let future = events(server, &format!("user_id={user}&from=99999999999")).await;
    assert_eq!(future["items"], json!([]));

    for bad in [
        "kind=login",
        "outcome=maybe",
        "from=yesterday",
        "limit=0",
        "cursor=zz",
        "colour=red",
    ] {
        let (status, error) = server
            .call("GET", &format!("/api/admin/events?{bad}"), None)
            .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{bad}: {error}"
        );
    }
    let (status, _) = server.call_as(None, "GET", "/api/admin/events", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("flowd_events_total{")
                && line.contains("kind=\"sign_in\"")
                && line.contains("outcome=\"failure\"")),
        "{metrics}"
    );
}

#[actix_web::test]
async fn flow_outcomes_and_admin_changes_are_events_on_sqlite() {
    let server = TestServer::start().await;
    event_log(&server).await;
}

#[actix_web::test]
async fn flow_outcomes_and_admin_changes_are_events_on_postgres() {
    let Some(url) = crate::support::service_env("FLOWD_TEST_DATABASE_URL") else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_with_url(&url, temp.path(), Some(TOKEN)).await;
    event_log(&server).await;
}
