//! Social login on the real server against a real OpenID provider (panva's `oidc-provider`,
//! started on loopback by [`OidcProvider`]), over both protocols: seed 002's own
//! `social-login` example, account creation and linking, and every bad input the issue names
//! (state, nonce, another signing key, a replayed code, `access_denied`, a provider that is
//! down or too slow), each a coded step error after which nothing was created or linked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::authentik::{Browser, executor};
use crate::oidc_provider::{Callback, OidcProvider};
use crate::support::{TestServer, seed};

const EXECUTE: &str = "/api/server/v1/flow/execute";
/// Where the provider sends API (WSO2) clients back to: the client application's page.
const APP_CALLBACK: &str = "http://127.0.0.1:9/app/callback";
/// The server's own callback for `google` (the test server's public URL has no port).
const SERVER_CALLBACK: &str = "http://127.0.0.1/source/oauth/callback/google/";
const CLIENT_ID: &str = "flowd-test";
const CLIENT_SECRET: &str = "flowd-test-secret-0123456789";

/// A provider with the accounts the tests sign in as.
fn provider(mode: Value) -> Option<OidcProvider> {
    OidcProvider::start(json!({
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [APP_CALLBACK, SERVER_CALLBACK,
                "http://127.0.0.1/source/oauth/callback/octo/"],
            "token_endpoint_auth_method": "client_secret_basic",
        }, {
            "client_id": "flowd-oauth2",
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [APP_CALLBACK],
            "token_endpoint_auth_method": "client_secret_post",
        }],
        "accounts": {
            "alice": {"email": "alice@example.com", "email_verified": true, "name": "Alice"},
            "carol": {"email": "carol@example.com", "email_verified": true, "name": "Carol"},
            "dave": {"email": "dave@example.com", "email_verified": false, "name": "Dave"},
        },
        "mode": mode,
    }))
}

/// Configures `google` at `issuer` through the admin API.
async fn configure_google(server_call: &impl Admin, issuer: &str, extra: Value) {
    let mut body = json!({
        "id": "google",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "issuer": issuer,
        "redirect_uri": APP_CALLBACK,
    });
    merge(&mut body, extra);
    let (status, created) = server_call
        .admin("PUT", "/api/admin/identity-providers/google", Some(&body))
        .await;
    assert!(status.is_success(), "{status}: {created}");
    assert!(created.get("client_secret").is_none(), "{created}");
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// The seed's example flow (providers google and github), created and activated.
async fn install_seed_flow(server: &impl Admin) {
    let (status, created) = server
        .admin(
            "POST",
            "/api/admin/flows",
            Some(&seed("create-flow-request.json")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, activated) = server
        .admin("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
}

/// What the tests need of a server: admin calls.
trait Admin {
    async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value);
}

impl Admin for TestServer {
    async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.call(method, path, body).await
    }
}

impl Admin for Browser {
    async fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = crate::support::http()
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(crate::support::TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    response
}

/// Starts the seed's flow over WSO2's API.
async fn start(server: &TestServer) -> Value {
    execute(
        server,
        json!({"flowType": "AUTHENTICATION", "flowName": "social-login"}),
    )
    .await
}

/// The client's call after the provider's callback: `code` and `state` (or `error`).
async fn come_back(server: &TestServer, step: &Value, callback: &Callback) -> Value {
    let mut inputs = serde_json::Map::new();
    for (key, value) in [
        ("code", &callback.code),
        ("state", &callback.state),
        ("error", &callback.error),
    ] {
        if let Some(value) = value {
            inputs.insert(key.to_owned(), json!(value));
        }
    }
    execute(
        server,
        json!({"flowId": step["flowId"], "actionId": "", "inputs": inputs}),
    )
    .await
}

/// The redirect step's provider URL, checked for the wire shape.
fn redirect_url(step: &Value) -> String {
    assert_eq!(step["type"], "REDIRECTION", "{step}");
    assert_eq!(step["flowStatus"], "INCOMPLETE");
    assert_eq!(step["data"]["requiredParams"], json!(["code", "state"]));
    let url = step["data"]["redirectURL"].as_str().unwrap().to_owned();
    assert_eq!(step["data"]["url"], json!(url), "the seed's data.url too");
    url
}

/// The code of the step error on a view.
fn error_code(step: &Value) -> &str {
    assert_eq!(step["type"], "VIEW", "{step}");
    step["data"]["additionalData"]["fieldErrors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {step}"))
}

async fn users_named(server: &TestServer, identifier: &str) -> Vec<Value> {
    let (status, users) = server
        .call(
            "GET",
            &format!("/api/admin/users?identifier={identifier}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["identifier"] == identifier)
        .cloned()
        .collect()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(key, old)| {
            let kept = if key == name {
                value.to_owned()
            } else {
                old.into_owned()
            };
            (key.into_owned(), kept)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[actix_web::test]
async fn seed_social_login_signs_in_creates_and_links_over_wso2() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let server = TestServer::start().await;
    install_seed_flow(&server).await;
    configure_google(&server, idp.issuer(), json!({})).await;

    // Only google is configured: the flow goes straight to it, PKCE S256, state and nonce.
    let step = start(&server).await;
    let url = redirect_url(&step);
    assert!(url.starts_with(idp.issuer()), "{url}");
    assert_eq!(
        query_param(&url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&url, "redirect_uri").as_deref(),
        Some(APP_CALLBACK)
    );
    assert!(query_param(&url, "nonce").is_some_and(|nonce| nonce.len() >= 32));
    let scope = query_param(&url, "scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "openid"), "{scope}");

    let callback = idp.sign_in(&url, "alice").await;
    assert_eq!(callback.state, query_param(&url, "state"));
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert!(
        done["data"]["additionalData"]["userAssertion"].is_string(),
        "{done}"
    );
    let alice = users_named(&server, "alice@example.com").await;
    assert_eq!(alice.len(), 1, "a user was created");
    let alice_id = alice[0]["id"].as_str().unwrap().to_owned();
    let (_, record) = server
        .call("GET", &format!("/api/admin/users/{alice_id}"), None)
        .await;
    assert_eq!(record["attributes"]["email_verified"], true, "{record}");
    assert_eq!(
        record["identity_links"][0]["provider"], "google",
        "{record}"
    );
    assert_eq!(record["identity_links"][0]["subject"], "alice", "{record}");

    // The second time, the link finds the same user.
    let step = start(&server).await;
    let callback = idp.sign_in(&redirect_url(&step), "alice").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(users_named(&server, "alice@example.com").await.len(), 1);

    // A code used once is refused the second time (another execution, its own state).
    let step = start(&server).await;
    let replay = Callback {
        state: query_param(&redirect_url(&step), "state"),
        ..callback
    };
    let refused = come_back(&server, &step, &replay).await;
    assert_eq!(error_code(&refused), "social_code_rejected", "{refused}");
    // The error view offers the provider again, as a SOCIAL button named by its id.
    let button = &refused["data"]["components"][0]["components"][0];
    assert_eq!(button["type"], "BUTTON", "{refused}");
    assert_eq!(button["variant"], "SOCIAL");
    assert_eq!(button["actionId"], "google");

    // state mismatch: refused; picking the provider again starts over with a new state.
    let step = start(&server).await;
    let url = redirect_url(&step);
    let mut callback = idp.sign_in(&url, "dave").await;
    callback.state = Some("not-the-state".to_owned());
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(error_code(&refused), "social_state_mismatch");
    let again = execute(
        &server,
        json!({"flowId": step["flowId"], "actionId": "google", "inputs": {}}),
    )
    .await;
    let second = redirect_url(&again);
    assert_ne!(query_param(&second, "state"), query_param(&url, "state"));
    assert!(users_named(&server, "dave@example.com").await.is_empty());
    // Each refusal is one of the execution's attempts: the fifth ends it.
    for attempt in 2..=5 {
        let forged = json!({"flowId": step["flowId"], "actionId": "",
            "inputs": {"code": "x", "state": "forged"}});
        let (status, answer) = server.call_as(None, "POST", EXECUTE, Some(&forged)).await;
        if attempt < 5 {
            assert_eq!(error_code(&answer), "social_state_mismatch", "{answer}");
            let picked = execute(
                &server,
                json!({"flowId": step["flowId"], "actionId": "google", "inputs": {}}),
            )
            .await;
            redirect_url(&picked);
        } else {
            assert_ne!(status, StatusCode::OK, "{answer}");
            assert_eq!(answer["code"], "FE-60015", "{answer}");
        }
    }

    // The person declines at the provider: access_denied.
    let step = start(&server).await;
    let denied = idp.deny(&redirect_url(&step)).await;
    assert_eq!(denied.error.as_deref(), Some("access_denied"));
    let refused = come_back(&server, &step, &denied).await;
    assert_eq!(error_code(&refused), "social_access_denied");

    // An ID token whose nonce is not the execution's.
    let step = start(&server).await;
    let tampered = with_param(
        &redirect_url(&step),
        "nonce",
        "another-nonce-0123456789abcdef0123",
    );
    let callback = idp.sign_in(&tampered, "dave").await;
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(error_code(&refused), "social_invalid_token", "{refused}");
    assert!(users_named(&server, "dave@example.com").await.is_empty());

    // An unverified e-mail address creates an account named by the provider's user name.
    let step = start(&server).await;
    let callback = idp.sign_in(&redirect_url(&step), "dave").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert!(users_named(&server, "dave@example.com").await.is_empty());
    assert_eq!(users_named(&server, "dave").await.len(), 1);
}

#[actix_web::test]
async fn an_existing_account_is_linked_only_after_its_password() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let server = TestServer::start().await;
    install_seed_flow(&server).await;
    configure_google(&server, idp.issuer(), json!({})).await;
    let (status, carol) = server
        .call(
            "POST",
            "/api/admin/users",
            Some(&json!({"identifier": "carol@example.com", "password": "Sunflower meadow 8791 kites"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{carol}");

    let step = start(&server).await;
    let callback = idp.sign_in(&redirect_url(&step), "carol").await;
    let prove = come_back(&server, &step, &callback).await;
    assert_eq!(prove["type"], "VIEW", "{prove}");
    assert_eq!(
        prove["data"]["requiredParams"],
        json!(["password"]),
        "{prove}"
    );
    let wrong = execute(
        &server,
        json!({"flowId": step["flowId"], "inputs": {"password": "not it at all"}}),
    )
    .await;
    assert_eq!(error_code(&wrong), "invalid_credentials");
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/admin/users/{}", carol["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        record["identity_links"],
        json!([]),
        "nothing linked yet: {record}"
    );
    let done = execute(
        &server,
        json!({"flowId": step["flowId"], "inputs": {"password": "Sunflower meadow 8791 kites"}}),
    )
    .await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/admin/users/{}", carol["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        record["identity_links"][0]["provider"], "google",
        "{record}"
    );
    assert_eq!(users_named(&server, "carol@example.com").await.len(), 1);

    // With `link_by_email: verified`, a verified address links at once.
    let server = TestServer::start().await;
    install_seed_flow(&server).await;
    configure_google(&server, idp.issuer(), json!({"link_by_email": "verified"})).await;
    let (status, _) = server
        .call(
            "POST",
            "/api/admin/users",
            Some(&json!({"identifier": "carol@example.com", "password": "Sunflower meadow 8791 kites"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let step = start(&server).await;
    let callback = idp.sign_in(&redirect_url(&step), "carol").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
}

#[actix_web::test]
async fn another_signing_key_a_slow_or_a_missing_provider_are_step_errors() {
    let Some(wrong_keys) = provider(json!({"wrong_jwks": true})) else {
        return;
    };
    let Some(slow) = provider(json!({"token_delay_ms": 3000})) else {
        return;
    };
    let server = TestServer::start_configured(|config| config.federation_timeout_ms = 1000).await;
    install_seed_flow(&server).await;

    configure_google(&server, wrong_keys.issuer(), json!({})).await;
    let step = start(&server).await;
    let callback = wrong_keys.sign_in(&redirect_url(&step), "alice").await;
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(error_code(&refused), "social_invalid_token", "{refused}");
    assert!(users_named(&server, "alice@example.com").await.is_empty());

    // A code redeemed after it expired.
    let Some(short) = provider(json!({"code_ttl_s": 1})) else {
        return;
    };
    configure_google(&server, short.issuer(), json!({})).await;
    let step = start(&server).await;
    let callback = short.sign_in(&redirect_url(&step), "alice").await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(error_code(&refused), "social_code_rejected", "{refused}");
    assert!(users_named(&server, "alice@example.com").await.is_empty());

    configure_google(&server, slow.issuer(), json!({})).await;
    let step = start(&server).await;
    let callback = slow.sign_in(&redirect_url(&step), "alice").await;
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(
        error_code(&refused),
        "social_provider_unavailable",
        "{refused}"
    );
    assert!(users_named(&server, "alice@example.com").await.is_empty());

    // Nothing listens at the issuer: the choice comes with the error, nothing to follow.
    configure_google(&server, "http://127.0.0.1:9", json!({})).await;
    let step = start(&server).await;
    assert_eq!(error_code(&step), "social_provider_unavailable", "{step}");
}

#[actix_web::test]
async fn a_plain_oauth2_provider_signs_in_through_userinfo() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let server = TestServer::start().await;
    let issuer = idp.issuer();
    let (status, created) = server
        .call(
            "POST",
            "/api/admin/identity-providers",
            Some(&json!({
                "id": "octo",
                "type": "oauth2",
                "display_name": "Octo",
                "client_id": "flowd-oauth2",
                "client_secret": CLIENT_SECRET,
                "authorize_url": format!("{issuer}/auth"),
                "token_url": format!("{issuer}/token"),
                "userinfo_url": format!("{issuer}/oauth/user"),
                "emails_url": format!("{issuer}/oauth/user/emails"),
                "scopes": ["email"],
                "redirect_uri": APP_CALLBACK,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut flow = seed("create-flow-request.json");
    flow["name"] = json!("octo-login");
    flow["graph"]["nodes"][1]["config"]["providers"] = json!(["octo"]);
    let (status, created) = server.call("POST", "/api/admin/flows", Some(&flow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, _) = server
        .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let step = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "octo-login"}),
    )
    .await;
    let url = redirect_url(&step);
    assert_eq!(query_param(&url, "nonce"), None, "no nonce without OpenID");
    let callback = idp.sign_in(&url, "alice").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    // The user endpoint gives no address: the e-mail list's primary one, verified, is it.
    let alice = users_named(&server, "alice@example.com").await;
    assert_eq!(alice.len(), 1);
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/admin/users/{}", alice[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(record["attributes"]["email_verified"], true, "{record}");
    assert_eq!(record["identity_links"][0]["provider"], "octo", "{record}");

    // dave's primary address is not verified: the account is named by the user name.
    let step = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "octo-login"}),
    )
    .await;
    let callback = idp.sign_in(&redirect_url(&step), "dave").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(users_named(&server, "dave").await.len(), 1);
}

#[actix_web::test]
async fn sources_sign_in_over_the_authentik_executor() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let browser = Browser::start().await;
    install_seed_flow(&browser).await;
    configure_google(&browser, idp.issuer(), json!({})).await;
    let (status, _) = browser
        .admin(
            "PUT",
            "/api/admin/identity-providers/github",
            Some(&json!({"client_id": "flowd-oauth2", "client_secret": CLIENT_SECRET})),
        )
        .await;
    assert!(status.is_success(), "{status}");

    // Two providers: the identification stage lists them as sources.
    let path = executor("social-login");
    let (status, challenge) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        challenge["component"], "ak-stage-identification",
        "{challenge}"
    );
    assert_eq!(challenge["user_fields"], json!([]));
    let sources = challenge["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{challenge}");
    assert_eq!(sources[0]["name"], "Google");
    assert_eq!(sources[0]["challenge"]["component"], "xak-flow-redirect");
    assert_eq!(sources[0]["challenge"]["to"], "/source/oauth/login/google/");
    assert_eq!(sources[1]["challenge"]["to"], "/source/oauth/login/github/");

    // The source's login path sends the browser to the provider, back to the server's own
    // callback.
    let (status, location, _) = browser
        .send(
            browser
                .client
                .get(format!("{}/source/oauth/login/google/", browser.base)),
        )
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let url = location.unwrap();
    assert!(url.starts_with(idp.issuer()), "{url}");
    assert_eq!(
        query_param(&url, "redirect_uri").as_deref(),
        Some(SERVER_CALLBACK)
    );
    let callback = idp.sign_in(&url, "alice").await;
    let back = callback
        .url
        .replace("http://127.0.0.1/", &format!("{}/", browser.base));
    let (status, location, _) = browser.send(browser.client.get(back)).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        location.as_deref(),
        Some("/"),
        "the flow is done: to the default destination"
    );
    let (status, me) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["username"], "alice@example.com", "{me}");

    // A bad state comes back to the flow's page, which shows the error on the sources.
    let mut browser = browser;
    browser.new_browser();
    let (_, challenge) = browser.get(&path).await;
    assert_eq!(challenge["component"], "ak-stage-identification");
    let (_, location, _) = browser
        .send(
            browser
                .client
                .get(format!("{}/source/oauth/login/google/", browser.base)),
        )
        .await;
    let callback = idp.sign_in(&location.unwrap(), "alice").await;
    let back = with_param(&callback.url, "state", "forged")
        .replace("http://127.0.0.1/", &format!("{}/", browser.base));
    let (status, location, _) = browser.send(browser.client.get(back)).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/if/flow/social-login/"));
    let (_, challenge) = browser.get(&path).await;
    assert_eq!(
        challenge["response_errors"]["non_field_errors"][0]["code"], "social_state_mismatch",
        "{challenge}"
    );
}

#[actix_web::test]
async fn a_registration_flow_creates_the_account_and_links_it() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let server = TestServer::start().await;
    configure_google(&server, idp.issuer(), json!({})).await;
    let flow = json!({
        "name": "social-signup", "display_name": "Sign up", "type": "registration",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "social", "type": "social_provider_select",
                    "config": {"providers": ["google"]}},
                {"id": "done", "type": "success"}
            ],
            "edges": [
                {"source": "start", "target": "social"},
                {"source": "social", "target": "done"}
            ]
        }
    });
    let (status, created) = server.call("POST", "/api/admin/flows", Some(&flow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, _) = server
        .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let register = || {
        execute(
            &server,
            json!({"flowType": "REGISTRATION", "flowName": "social-signup"}),
        )
    };

    let step = register().await;
    let callback = idp.sign_in(&redirect_url(&step), "alice").await;
    let done = come_back(&server, &step, &callback).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let alice = users_named(&server, "alice@example.com").await;
    assert_eq!(alice.len(), 1);
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/admin/users/{}", alice[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(record["identity_links"][0]["subject"], "alice", "{record}");
    assert_eq!(record["attributes"]["name"], "Alice", "{record}");

    // Registering again with the same provider account: refused, nothing created.
    let step = register().await;
    let callback = idp.sign_in(&redirect_url(&step), "alice").await;
    let refused = come_back(&server, &step, &callback).await;
    assert_eq!(error_code(&refused), "social_account_exists", "{refused}");
    assert_eq!(users_named(&server, "alice@example.com").await.len(), 1);
}

#[actix_web::test]
async fn an_account_without_a_password_is_proven_with_its_passkey() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let server = TestServer::start().await;
    install_seed_flow(&server).await;
    configure_google(&server, idp.issuer(), json!({})).await;
    crate::passkeys::install_signup(&server.base).await;
    let mut key = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let next = |step: &Value, inputs: Value| {
        execute(
            &server,
            json!({"flowId": step["flowId"], "actionId": "", "inputs": inputs}),
        )
    };

    // An account with a passkey and no password.
    let view = execute(
        &server,
        json!({"flowType": "REGISTRATION", "flowName": "passkey-signup"}),
    )
    .await;
    let prompt = next(&view, json!({"identifier": "carol@example.com"})).await;
    let ceremony = next(&prompt, json!({"origin": "http://localhost"})).await;
    let options = &ceremony["data"]["webAuthnData"]["publicKeyCredentialCreationOptions"];
    let credential = crate::passkeys::create(&mut key, options);
    let done = next(&ceremony, json!({"credential": credential.to_string()})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    // The provider names that account: its passkey proves it.
    let step = start(&server).await;
    let callback = idp.sign_in(&redirect_url(&step), "carol").await;
    let prove = come_back(&server, &step, &callback).await;
    assert_eq!(prove["type"], "VIEW", "{prove}");
    assert_eq!(prove["data"]["requiredParams"], json!([]), "{prove}");
    assert_eq!(prove["data"]["webAuthnData"]["action"], "WEBAUTHN_GET");
    let request = &prove["data"]["webAuthnData"]["publicKeyCredentialRequestOptions"];
    assert_eq!(
        request["allowCredentials"].as_array().map(Vec::len),
        Some(1)
    );
    let assertion = crate::passkeys::get(&mut key, request);
    let done = next(&step, json!({"credential": assertion.to_string()})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let carol = users_named(&server, "carol@example.com").await;
    assert_eq!(carol.len(), 1);
    let (_, record) = server
        .call(
            "GET",
            &format!("/api/admin/users/{}", carol[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        record["identity_links"][0]["provider"], "google",
        "{record}"
    );
}

#[actix_web::test]
async fn with_one_provider_the_executor_goes_straight_to_it() {
    let Some(idp) = provider(json!({})) else {
        return;
    };
    let browser = Browser::start().await;
    install_seed_flow(&browser).await;
    configure_google(&browser, idp.issuer(), json!({})).await;
    let path = executor("social-login");
    let (_, challenge) = browser.get(&path).await;
    assert_eq!(challenge["component"], "xak-flow-redirect", "{challenge}");
    assert_eq!(challenge["to"], "/source/oauth/login/google/");
    // Each visit of the login path sends the browser to the provider with a fresh state.
    let mut states = Vec::new();
    for _ in 0..2 {
        let (status, location, _) = browser
            .send(
                browser
                    .client
                    .get(format!("{}/source/oauth/login/google/", browser.base)),
            )
            .await;
        assert_eq!(status, StatusCode::FOUND);
        let url = location.unwrap();
        assert!(url.starts_with(idp.issuer()), "{url}");
        states.push(query_param(&url, "state"));
    }
    assert_ne!(states[0], states[1]);
    // A login path for a provider no execution of this session offers: back to the root.
    let (status, location, _) = browser
        .send(
            browser
                .client
                .get(format!("{}/source/oauth/login/octo/", browser.base)),
        )
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(location.as_deref(), Some("/"));
}
