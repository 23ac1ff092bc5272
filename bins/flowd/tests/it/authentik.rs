//! The authentik-style flow executor on the real server, driven as authentik's clients drive
//! it: a cookie jar, `?query=` on every call, a POST answered by a 302 that is followed with a
//! GET. Every challenge received is validated against authentik's own `schema.yml`.

use std::sync::Arc;

use flowd::config::Config;
use flowd::startup::Application;
use reqwest::StatusCode;
use reqwest::cookie::CookieStore as _;
use serde_json::{Value, json};

use crate::authentik_schema;
use crate::smtp::SmtpReceiver;
use crate::support::TOKEN;

const EMAIL: &str = "ak-client@example.com";
const PASSWORD: &str = "a long enough password";
/// `?query=next=/app/` as authentik's web executor sends it.
const QUERY: &str = "?query=next%3D%252Fapp%252F";

/// A running server and a cookie-keeping client that does not follow redirects.
pub(crate) struct Browser {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    outbox: std::path::PathBuf,
    _temp: tempfile::TempDir,
}

impl Browser {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
        let outbox = temp.path().join("outbox");
        let mut config = Config::for_tests(&url, outbox.clone(), TOKEN);
        adjust(&mut config);
        let application = Application::build(&config)
            .await
            .unwrap_or_else(|error| panic!("server starts: {error}"));
        let base = format!("http://127.0.0.1:{}", application.port);
        actix_web::rt::spawn(application.server);
        let jar = Arc::new(reqwest::cookie::Jar::default());
        Self {
            base,
            client: Self::client(&jar),
            jar,
            outbox,
            _temp: temp,
        }
    }

    fn client(jar: &Arc<reqwest::cookie::Jar>) -> reqwest::Client {
        crate::support::http_builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Forgets every cookie (a new browser on the same server).
    pub(crate) fn new_browser(&mut self) {
        self.jar = Arc::new(reqwest::cookie::Jar::default());
        self.client = Self::client(&self.jar);
    }

    /// The `Cookie` header the jar would send.
    pub(crate) fn cookies(&self) -> String {
        let url = self.base.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (StatusCode, Option<String>, Value) {
        let response = request
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status == StatusCode::OK && body.get("component").is_some() {
            authentik_schema::check_challenge(&body);
        }
        (status, location, body)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self
            .send(self.client.get(format!("{}{path}", self.base)))
            .await;
        (status, body)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Option<String>, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(body))
            .await
    }

    /// POSTs a response and, on authentik's 302 back to the executor, GETs the next challenge
    /// from the redirect's target, as the clients do.
    pub(crate) async fn solve(&self, path: &str, body: &Value) -> Value {
        let (status, location, response) = self.post(path, body).await;
        match status {
            StatusCode::OK => response,
            StatusCode::FOUND => {
                let location = location.unwrap();
                assert_eq!(location, path, "the 302 goes back to the same URL");
                assert_eq!(response, Value::Null, "a 302 has an empty body");
                let (status, next) = self.get(&location).await;
                assert_eq!(status, StatusCode::OK, "{next}");
                next
            }
            other => panic!("unexpected {other}: {response}"),
        }
    }

    /// Answers an identification challenge with `uid`.
    pub(crate) async fn identify(&self, path: &str, uid: &str) -> Value {
        self.solve(
            path,
            &json!({"component": "ak-stage-identification", "uid_field": uid}),
        )
        .await
    }

    /// Answers a password challenge with `password`.
    async fn password(&self, path: &str, password: &str) -> Value {
        self.solve(
            path,
            &json!({"component": "ak-stage-password", "password": password}),
        )
        .await
    }

    /// The latest code mailed to `to`, from the file outbox.
    fn mailed_code(&self, to: &str) -> String {
        let mut mails: Vec<_> = std::fs::read_dir(&self.outbox)
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
            .filter(|text| text.contains(to))
            .collect();
        mails.sort();
        let mail = mails.last().unwrap_or_else(|| panic!("no mail to {to}"));
        let start = mail.find("Your code is: ").unwrap() + "Your code is: ".len();
        mail[start..start + 6].to_owned()
    }
}

pub(crate) fn executor(slug: &str) -> String {
    format!("/api/v3/flows/executor/{slug}/{QUERY}")
}

/// Answers every field of a prompt challenge from `values` (by `field_key`; others empty).
fn fill(challenge: &Value, values: &[(&str, &str)]) -> Value {
    let mut body = json!({"component": "ak-stage-prompt"});
    for field in challenge["fields"].as_array().unwrap() {
        let key = field["field_key"].as_str().unwrap();
        let value = values
            .iter()
            .find(|(name, _)| *name == key)
            .map_or("", |(_, value)| *value);
        body[key] = json!(value);
    }
    body
}

/// Registers `email` through the executor's registration flow, answering prompts until done.
pub(crate) async fn register_here(browser: &Browser, email: &str, password: &str) -> Value {
    let path = executor("default-registration");
    let (status, mut challenge) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let values = [
        ("identifier", email),
        ("password", password),
        ("password_confirm", password),
        ("given_name", "Ada"),
        ("family_name", "Lovelace"),
    ];
    for _ in 0..5 {
        if challenge["component"] != "ak-stage-prompt" {
            break;
        }
        assert!(challenge.get("response_errors").is_none(), "{challenge}");
        challenge = browser.solve(&path, &fill(&challenge, &values)).await;
    }
    challenge
}

/// Registers over the WSO2 Flow Execution API (no cookies, `flowId` in every call).
pub(crate) async fn register_over_wso2(base: &str, email: &str, password: &str) {
    let client = crate::support::http();
    let url = format!("{base}/api/server/v1/flow/execute");
    let mut view: Value = client
        .post(&url)
        .json(&json!({"flowType": "REGISTRATION"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for _ in 0..5 {
        if view["flowStatus"] == "COMPLETE" {
            return;
        }
        let inputs =
            json!({"identifier": email, "password": password, "password_confirm": password});
        view = client
            .post(&url)
            .json(&json!({"flowId": view["flowId"], "flowType": "REGISTRATION", "inputs": inputs}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    panic!("registration over WSO2 did not complete: {view}");
}

/// The id of the user with `email`, from the admin API.
pub(crate) async fn user_id(base: &str, email: &str) -> String {
    let users: Value = crate::support::http()
        .get(format!("{base}/api/admin/users?identifier={email}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    users["items"][0]["id"].as_str().unwrap().to_owned()
}

/// Signs in through the login flow at `path`; returns the final challenge.
async fn sign_in_here(browser: &Browser, path: &str, email: &str, password: &str) -> Value {
    let (status, identification) = browser.get(path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(identification["component"], "ak-stage-identification");
    let challenge = browser.identify(path, email).await;
    assert_eq!(challenge["component"], "ak-stage-password", "{challenge}");
    browser.password(path, password).await
}

#[actix_web::test]
async fn registered_over_wso2_signs_in_here_and_the_session_knows_the_user() {
    let browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;

    let (status, denied) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{denied}");
    assert_eq!(denied["code"], "not_authenticated");

    let path = executor("default-login");
    let (status, identification) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(identification["component"], "ak-stage-identification");
    assert_eq!(identification["flow_designation"], "authentication");
    assert_eq!(identification["password_fields"], false);
    assert_eq!(identification["flow_info"]["title"], "Default Login Flow");
    assert_eq!(identification["flow_info"]["layout"], "stacked");
    assert_eq!(
        identification["enroll_url"],
        "/if/flow/default-registration/"
    );
    assert_eq!(
        identification["recovery_url"],
        "/if/flow/default-password-recovery/"
    );
    let before = browser.cookies();
    assert!(before.contains("authentik_session="), "{before}");

    let password = browser.identify(&path, EMAIL).await;
    assert_eq!(password["component"], "ak-stage-password");
    assert_eq!(password["pending_user"], EMAIL);

    let (status, location, wrong) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-password", "password": "not the password"}),
        )
        .await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert_eq!(wrong["component"], "ak-stage-password", "{wrong}");
    assert!(
        wrong["response_errors"]["password"][0]["string"].is_string()
            || wrong["response_errors"]["non_field_errors"][0]["string"].is_string(),
        "a wrong password is a response error: {wrong}"
    );

    let done = browser.password(&path, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(done["to"], "/app/", "next from the query");
    assert_ne!(
        browser.cookies(),
        before,
        "the session is renewed on sign-in"
    );

    let (status, me) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["username"], EMAIL);
    assert_eq!(me["user"]["email"], EMAIL);
    authentik_schema::check("SessionUser", &me);

    // A signed-in session's login flow is done at once, as in authentik.
    let (_, again) = browser.get(&path).await;
    assert_eq!(again["component"], "xak-flow-redirect", "{again}");
}

#[actix_web::test]
async fn registered_here_signs_in_over_wso2() {
    let browser = Browser::start().await;
    let done = register_here(&browser, EMAIL, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(done["to"], "/app/");
    let (status, me) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK, "registration signs in: {me}");
    assert_eq!(me["user"]["name"], "Ada Lovelace");

    let client = crate::support::http();
    let url = format!("{}/api/server/v1/flow/execute", browser.base);
    let call = |body: Value| {
        let request = client.post(&url).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let view = call(json!({"flowType": "AUTHENTICATION"})).await;
    let view = call(json!({"flowId": view["flowId"], "inputs": {"identifier": EMAIL}})).await;
    let done = call(json!({"flowId": view["flowId"], "inputs": {"password": PASSWORD}})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
}

#[actix_web::test]
async fn a_duplicate_registration_is_a_response_error_on_the_same_prompt() {
    let mut browser = Browser::start().await;
    register_here(&browser, EMAIL, PASSWORD).await;
    browser.new_browser();
    let path = executor("default-registration");
    let (_, prompt) = browser.get(&path).await;
    assert_eq!(prompt["component"], "ak-stage-prompt");
    assert_eq!(prompt["flow_info"]["title"], "Default Registration Flow");
    let values = [
        ("identifier", EMAIL),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    let (status, location, taken) = browser.post(&path, &fill(&prompt, &values)).await;
    assert_eq!((status, location), (StatusCode::OK, None), "{taken}");
    assert_eq!(taken["component"], "ak-stage-prompt");
    assert!(
        taken["response_errors"]
            .as_object()
            .is_some_and(|errors| !errors.is_empty()),
        "{taken}"
    );
}

#[actix_web::test]
async fn recovery_mails_a_code_and_sets_a_new_password() {
    let mut browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let path = executor("default-password-recovery");
    let (_, identification) = browser.get(&path).await;
    assert_eq!(identification["component"], "ak-stage-identification");
    assert_eq!(identification["flow_designation"], "recovery");
    let code_challenge = browser.identify(&path, EMAIL).await;
    assert_eq!(
        code_challenge["component"], "ak-stage-authenticator-validate",
        "{code_challenge}"
    );
    assert_eq!(
        code_challenge["device_challenges"][0]["device_class"],
        "email"
    );

    let (_, _, wrong) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-authenticator-validate", "code": "000000"}),
        )
        .await;
    let code = browser.mailed_code(EMAIL);
    if code != "000000" {
        assert_eq!(wrong["component"], "ak-stage-authenticator-validate");
        assert!(wrong["response_errors"]["code"].is_array(), "{wrong}");
    }
    let new_password = "an entirely new password";
    let prompt = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-authenticator-validate", "code": code}),
        )
        .await;
    assert_eq!(prompt["component"], "ak-stage-prompt", "{prompt}");
    let done = browser
        .solve(
            &path,
            &fill(
                &prompt,
                &[
                    ("password", new_password),
                    ("password_confirm", new_password),
                ],
            ),
        )
        .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    let (status, _) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "recovery does not sign in");

    browser.new_browser();
    let done = sign_in_here(&browser, &executor("default-login"), EMAIL, new_password).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
}

#[actix_web::test]
async fn bad_requests_get_clear_answers_and_never_skip_a_step() {
    let mut browser = Browser::start().await;
    let (status, missing) = browser.get("/api/v3/flows/executor/no-such-flow/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["code"], "not_found");
    let (status, _) = browser.get("/api/v3/flows/nothing-here/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without the trailing slash too.
    let (status, challenge) = browser.get("/api/v3/flows/executor/default-login").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(challenge["component"], "ak-stage-identification");

    let path = executor("default-login");
    let response = browser
        .client
        .post(format!("{}{path}", browser.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "parse_error");

    // A response for another stage is refused with the current challenge.
    let (status, _, wrong) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-password", "password": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(wrong["component"], "ak-stage-identification");
    assert_eq!(
        wrong["response_errors"]["non_field_errors"][0]["code"],
        "invalid_component"
    );
    let (_, _, nested) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-identification", "uid_field": {"a": 1}}),
        )
        .await;
    assert_eq!(nested["response_errors"]["uid_field"][0]["code"], "invalid");

    // A POST without a session starts the flow and shows its first step.
    browser.new_browser();
    let (status, location, first) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-password", "password": PASSWORD}),
        )
        .await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert_eq!(first["component"], "ak-stage-identification", "{first}");

    // Cancel forgets the execution: the next GET starts again.
    browser
        .solve(
            &path,
            &json!({"component": "ak-stage-identification", "uid_field": "x@example.com"}),
        )
        .await;
    let (status, location, _) = browser
        .send(
            browser
                .client
                .get(format!("{}/flows/-/cancel/", browser.base)),
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::FOUND, Some("/"))
    );
    let (_, restarted) = browser.get(&path).await;
    assert_eq!(restarted["component"], "ak-stage-identification");

    let (status, link) = browser
        .get("/api/v3/flows/instances/default-login/execute/")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        link["link"]
            .as_str()
            .unwrap()
            .ends_with("/api/v3/flows/executor/default-login/"),
        "{link}"
    );
}

#[actix_web::test]
async fn next_never_leaves_for_a_foreign_origin() {
    let mut browser = Browser::start_with(|config| {
        config.redirect_origins = vec!["https://app.example.com".into()]
    })
    .await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    for (next, expected) in [
        ("https%3A%2F%2Fevil.example%2F", "/"),
        ("%2F%2Fevil.example%2F", "/"),
        (
            "https%3A%2F%2Fapp.example.com%2Fcb",
            "https://app.example.com/cb",
        ),
    ] {
        browser.new_browser();
        let path = format!("/api/v3/flows/executor/default-login/?query=next%3D{next}");
        let done = sign_in_here(&browser, &path, EMAIL, PASSWORD).await;
        assert_eq!(done["component"], "xak-flow-redirect");
        assert_eq!(done["to"], expected, "next={next}");
    }
}

#[actix_web::test]
async fn too_many_wrong_passwords_deny_access() {
    let browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let path = executor("default-login");
    browser.get(&path).await;
    browser.identify(&path, EMAIL).await;
    let mut last = Value::Null;
    for _ in 0..20 {
        last = browser
            .solve(
                &path,
                &json!({"component": "ak-stage-password", "password": "wrong password"}),
            )
            .await;
        if last["component"] != "ak-stage-password" {
            break;
        }
    }
    assert_eq!(last["component"], "ak-stage-access-denied", "{last}");
    assert!(
        last["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // The denied execution is forgotten: the next GET starts afresh.
    let (_, again) = browser.get(&path).await;
    assert_eq!(again["component"], "ak-stage-identification");
}

/// Sessions in Redis (`FLOWD_REDIS_URL`): the cookie holds only an id, and a second server on
/// the same database and Redis continues the same execution.
#[actix_web::test]
async fn sessions_in_redis_serve_any_replica_and_get_a_new_id_on_sign_in() {
    let Some(redis_url) = crate::support::service_env("FLOWD_TEST_REDIS_URL") else {
        return;
    };
    let browser = Browser::start_with(|config| config.redis_url = Some(redis_url.clone())).await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let path = executor("default-login");
    browser.get(&path).await;
    let password = browser.identify(&path, EMAIL).await;
    assert_eq!(password["component"], "ak-stage-password");
    let cookie = browser.cookies();
    let cookie_before_sign_in = cookie.clone();
    assert!(
        cookie.len() < 200,
        "the Redis session cookie holds only an id: {cookie}"
    );

    // A second replica: the same database file and Redis, the same session key.
    let database = browser._temp.path().join("flowd.db");
    let url = format!("sqlite://{}", database.display());
    let mut config = Config::for_tests(&url, browser.outbox.clone(), TOKEN);
    config.redis_url = Some(redis_url);
    let replica = Application::build(&config).await.unwrap();
    let replica_base = format!("http://127.0.0.1:{}", replica.port);
    actix_web::rt::spawn(replica.server);
    let response = crate::support::http()
        .get(format!("{replica_base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let challenge: Value = response.json().await.unwrap();
    assert_eq!(challenge["component"], "ak-stage-password", "{challenge}");

    // Signing in moves the session to a new id: the id from before (which an attacker might
    // have planted) does not become signed in.
    let done = browser.password(&path, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    let me = |cookie: String| {
        let request = crate::support::http()
            .get(format!("{}/api/v3/core/users/me/", browser.base))
            .header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(me(browser.cookies()).await, StatusCode::OK);
    assert_ne!(browser.cookies(), cookie_before_sign_in);
    assert_eq!(me(cookie_before_sign_in).await, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn an_invitation_link_registers_the_invitee_here_once() {
    const INVITEE: &str = "invitee@example.com";
    let smtp = SmtpReceiver::start();
    let mut browser =
        Browser::start_with(|config| config.smtp_url = Some(smtp.url().to_owned())).await;
    let response = crate::support::http()
        .post(format!("{}/api/admin/invitations", browser.base))
        .bearer_auth(TOKEN)
        .json(&json!({"email": INVITEE}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let code = smtp
        .latest_for(INVITEE)
        .find_after("confirmationCode=", 32, |c| c.is_ascii_hexdigit());

    // Without the link's token, the first challenge asks for the code.
    let path = executor("default-invited-registration");
    let (_, first) = browser.get(&path).await;
    assert_eq!(first["component"], "ak-stage-prompt", "{first}");
    assert_eq!(first["flow_designation"], Value::Null);
    assert_eq!(first["fields"][0]["field_key"], "confirmationCode");
    let (_, _, wrong) = browser
        .post(
            &path,
            &json!({"component": "ak-stage-prompt", "confirmationCode": "0123456789abcdef0123456789abcdef"}),
        )
        .await;
    assert_eq!(
        wrong["response_errors"]["confirmationCode"][0]["code"], "invalid_code",
        "{wrong}"
    );

    // authentik's invitation links carry the code as `itoken`: the flow starts past it.
    browser.new_browser();
    let path = format!(
        "/api/v3/flows/executor/default-invited-registration/?query=itoken%3D{code}%26next%3D%252Fwelcome"
    );
    let (_, mut challenge) = browser.get(&path).await;
    let values = [("password", PASSWORD), ("password_confirm", PASSWORD)];
    for _ in 0..4 {
        if challenge["component"] != "ak-stage-prompt" {
            break;
        }
        let keys: Vec<&str> = challenge["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|field| field["field_key"].as_str())
            .collect();
        assert!(
            !keys.contains(&"confirmationCode") && !keys.contains(&"identifier"),
            "the invitation fixed the address: {challenge}"
        );
        challenge = browser.solve(&path, &fill(&challenge, &values)).await;
    }
    assert_eq!(challenge["component"], "xak-flow-redirect", "{challenge}");
    assert_eq!(challenge["to"], "/welcome");
    let (status, me) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["username"], INVITEE);

    // The link works once.
    browser.new_browser();
    let (_, reused) = browser.get(&path).await;
    assert_eq!(
        reused["response_errors"]["confirmationCode"][0]["code"], "invitation_used",
        "{reused}"
    );
    browser.new_browser();
    let done = sign_in_here(&browser, &executor("default-login"), INVITEE, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
}

/// The code an authenticator app set up from `config_url` shows `offset` seconds from now.
fn app_code(config_url: &str, offset: u64) -> String {
    let app = totp_rs::Totp::from_url(config_url).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    app.generate(now + offset).to_string()
}

#[actix_web::test]
async fn a_signed_in_user_sets_up_an_authenticator_app_and_then_signs_in_with_it() {
    let mut browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let setup = executor("default-mfa-setup");

    // Without a signed-in session there is nobody to set up an app for.
    let (_, denied) = browser.get(&setup).await;
    assert_eq!(denied["component"], "ak-stage-access-denied", "{denied}");

    let done = sign_in_here(&browser, &executor("default-login"), EMAIL, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect");
    let (_, passkey) = browser.get(&setup).await;
    assert_eq!(
        passkey["component"], "ak-stage-authenticator-webauthn",
        "a passkey is offered first: {passkey}"
    );
    let totp = browser
        .solve(
            &setup,
            &json!({"component": "ak-stage-authenticator-webauthn", "fallback": true}),
        )
        .await;
    assert_eq!(totp["component"], "ak-stage-authenticator-totp", "{totp}");
    assert_eq!(totp["pending_user"], EMAIL);
    let config_url = totp["config_url"].as_str().unwrap().to_owned();
    assert!(config_url.starts_with("otpauth://totp/"), "{config_url}");

    let (_, _, wrong) = browser
        .post(
            &setup,
            &json!({"component": "ak-stage-authenticator-totp", "code": "not a code"}),
        )
        .await;
    assert_eq!(wrong["component"], "ak-stage-authenticator-totp");
    assert!(wrong["response_errors"]["code"].is_array(), "{wrong}");
    // As a JSON number, as older authentik clients send it: leading zeros come back.
    let code: u64 = app_code(&config_url, 0).parse().unwrap();
    let enrolled = browser
        .solve(
            &setup,
            &json!({"component": "ak-stage-authenticator-totp", "code": code}),
        )
        .await;
    assert_eq!(enrolled["component"], "xak-flow-redirect", "{enrolled}");

    // A new browser: the password is followed by the app's code.
    browser.new_browser();
    let login = executor("default-login");
    browser.get(&login).await;
    browser.identify(&login, EMAIL).await;
    let validate = browser.password(&login, PASSWORD).await;
    assert_eq!(
        validate["component"], "ak-stage-authenticator-validate",
        "{validate}"
    );
    assert_eq!(validate["device_challenges"][0]["device_class"], "totp");
    // The code used for the setup cannot sign in; the app's next code can.
    let (_, _, replayed) = browser
        .post(
            &login,
            &json!({"component": "ak-stage-authenticator-validate", "code": format!("{code:06}")}),
        )
        .await;
    assert_eq!(
        replayed["response_errors"]["code"][0]["code"], "invalid_code",
        "{replayed}"
    );
    let done = browser
        .solve(
            &login,
            &json!({"component": "ak-stage-authenticator-validate", "code": app_code(&config_url, 30)}),
        )
        .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    let (status, _) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn a_guessable_password_is_refused_alike_over_both_protocols() {
    let browser = Browser::start().await;
    // The executor: answer the registration prompts with "password" until one refuses it.
    let path = executor("default-registration");
    let (_, mut challenge) = browser.get(&path).await;
    let values = [
        ("identifier", EMAIL),
        ("password", "password"),
        ("password_confirm", "password"),
    ];
    for _ in 0..3 {
        if challenge.get("response_errors").is_some() {
            break;
        }
        challenge = browser.solve(&path, &fill(&challenge, &values)).await;
    }
    let executor_error = &challenge["response_errors"]["password"][0];
    assert_eq!(executor_error["code"], "password_too_weak", "{challenge}");

    // WSO2: the same code and message on the re-shown view.
    let client = crate::support::http();
    let url = format!("{}/api/server/v1/flow/execute", browser.base);
    let mut view: Value = client
        .post(&url)
        .json(&json!({"flowType": "REGISTRATION"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for _ in 0..3 {
        if view["data"]["additionalData"]["fieldErrors"].is_array() {
            break;
        }
        let inputs = json!({"identifier": "other@example.com", "password": "password", "password_confirm": "password"});
        view = client
            .post(&url)
            .json(&json!({"flowId": view["flowId"], "inputs": inputs}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    let wso2_error = &view["data"]["additionalData"]["fieldErrors"][0];
    assert_eq!(view["flowStatus"], "INCOMPLETE", "{view}");
    assert_eq!(wso2_error["code"], "password_too_weak", "{view}");
    assert_eq!(wso2_error["message"], executor_error["string"]);
}

/// Creates `graph` as a flow named `name` of `flow_type` over the admin API; returns the
/// status and body of its activation.
async fn create_and_activate(
    browser: &Browser,
    name: &str,
    flow_type: &str,
    graph: Value,
) -> (StatusCode, Value) {
    let admin = crate::support::http();
    let body = json!({"name": name, "display_name": name, "type": flow_type, "graph": graph});
    let created = admin
        .post(format!("{}/api/admin/flows", browser.base))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let activated = admin
        .post(format!("{}/api/admin/flows/{id}/activate", browser.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = activated.status();
    (status, activated.json().await.unwrap())
}

/// A login-type flow: a one-field prompt, then a condition on the answer.
fn prompt_then_condition(condition: &str) -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "prompt", "config": {"fields": [
                {"name": "note", "type": "text", "label": "Note", "required": true}
            ]}},
            {"id": "check", "type": "condition", "config": {"condition": condition}},
            {"id": "yes", "type": "success"},
            {"id": "no", "type": "failure", "config": {"message": "No."}}
        ],
        "edges": [
            {"source": "start", "target": "ask"},
            {"source": "ask", "target": "check"},
            {"source": "check", "target": "yes", "condition": "true"},
            {"source": "check", "target": "no", "condition": "false"}
        ]
    })
}

#[actix_web::test]
async fn a_costly_condition_is_refused_before_it_runs_and_bounded_when_it_runs() {
    let mut browser = Browser::start().await;
    // The probe's shape: nested `.all` over ten-element lists, 10^8 steps.
    let ten = "[0,1,2,3,4,5,6,7,8,9]";
    let mut nested = "true".to_owned();
    for level in 0..8 {
        nested = format!("{ten}.all(v{level}, {nested})");
    }
    let (status, refused) =
        create_and_activate(&browser, "costly", "login", prompt_then_condition(&nested)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let codes: Vec<&str> = refused["details"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("a report: {refused}"))
        .iter()
        .filter_map(|finding| finding["code"].as_str())
        .collect();
    assert_eq!(codes, ["expression_too_costly"], "{refused}");

    // Cheap with the sizes the validator assumes, costly with a 1,000-byte answer: a long
    // pattern matched against a long text.
    let pattern = format!("^({}z)$", "x|".repeat(250));
    let condition = format!("inputs.note.matches('{pattern}')");
    let (status, activated) = create_and_activate(
        &browser,
        "bounded",
        "login",
        prompt_then_condition(&condition),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{activated}");

    let path = executor("bounded");
    let (_, prompt) = browser.get(&path).await;
    assert_eq!(prompt["component"], "ak-stage-prompt", "{prompt}");
    let short = browser.solve(&path, &fill(&prompt, &[("note", "z")])).await;
    // A short note matches: the flow takes the true branch to its success node, which (a
    // login that identified nobody) denies access, but not with the false branch's "No.".
    assert_eq!(short["component"], "ak-stage-access-denied", "{short}");
    assert_ne!(
        short["error_message"], "No.",
        "a short note matches: {short}"
    );

    browser.new_browser();
    let (_, prompt) = browser.get(&path).await;
    let long = "y".repeat(1000);
    let ended = browser
        .solve(&path, &fill(&prompt, &[("note", &long)]))
        .await;
    // Not evaluated: the flow ends (code expression_too_costly) instead of spending the CPU.
    assert_eq!(ended["component"], "ak-stage-access-denied", "{ended}");
    assert_eq!(
        ended["error_message"],
        "This step could not be completed. Please contact the site's administrator.",
        "{ended}"
    );
    assert!(
        !ended.to_string().contains(&long),
        "the answer is not echoed: {ended}"
    );
}

#[actix_web::test]
async fn a_pattern_that_compiles_to_a_huge_program_is_refused() {
    let browser = Browser::start().await;
    // An 8-byte pattern, but with the regex crate's default limit CEL spent 130 ms refusing it
    // at each evaluation; a pattern taken from the inputs could not be checked at all.
    for (name, condition, expected) in [
        ("huge", "inputs.note.matches('\\\\w{1000}')", "64 KiB"),
        (
            "dynamic",
            "'a'.matches(inputs.note)",
            "not a string literal",
        ),
    ] {
        let (status, refused) =
            create_and_activate(&browser, name, "login", prompt_then_condition(condition)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let findings = refused["details"]["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("a report: {refused}"));
        assert!(
            findings
                .iter()
                .any(|finding| finding["code"] == "invalid_node_config"
                    && finding["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(expected))),
            "{name}: {refused}"
        );
    }
}

/// An administrator disables a signed-in user: its session no longer counts, and signing in
/// again with the right password gets the answer of a wrong one; enabled, it signs in again.
#[actix_web::test]
async fn a_disabled_user_loses_its_session_and_is_told_what_a_wrong_password_is_told() {
    let mut browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let path = executor("default-login");
    let done = sign_in_here(&browser, &path, EMAIL, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(
        browser.get("/api/v3/core/users/me/").await.0,
        StatusCode::OK
    );

    let admin = crate::support::http();
    let id = user_id(&browser.base, EMAIL).await;
    let base = browser.base.clone();
    let set = |action: &'static str| {
        let request = admin
            .post(format!("{base}/api/admin/users/{id}/{action}"))
            .bearer_auth(TOKEN);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(set("disable").await, StatusCode::OK);

    let (status, denied) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(
        (status, denied["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_authenticated")),
        "{denied}"
    );
    browser.new_browser();
    let refused = sign_in_here(&browser, &path, EMAIL, PASSWORD).await;
    assert_eq!(set("enable").await, StatusCode::OK);
    browser.new_browser();
    let wrong = sign_in_here(&browser, &path, EMAIL, "not the password at all").await;
    assert_eq!(refused["component"], "ak-stage-password", "{refused}");
    assert_eq!(refused["response_errors"], wrong["response_errors"]);
    authentik_schema::check("PasswordChallenge", &refused);

    browser.new_browser();
    let done = sign_in_here(&browser, &path, EMAIL, PASSWORD).await;
    assert_eq!(
        done["component"], "xak-flow-redirect",
        "enabled again: {done}"
    );
}

/// A password removed by an administrator ends the user's browser sessions: the session no
/// longer counts at its next request, and a login flow asks for the identifier again.
#[actix_web::test]
async fn a_password_change_ends_the_users_sessions() {
    let browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let path = executor("default-login");
    let done = sign_in_here(&browser, &path, EMAIL, PASSWORD).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(
        browser.get("/api/v3/core/users/me/").await.0,
        StatusCode::OK
    );
    // Changes count from the next second on (sessions keep their sign-in time in seconds).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let admin = crate::support::http();
    let id = user_id(&browser.base, EMAIL).await;
    let removed = admin
        .delete(format!(
            "{}/api/admin/users/{id}/credentials/password",
            browser.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let (status, denied) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(
        (status, denied["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_authenticated")),
        "{denied}"
    );
    // The login flow is no longer done at once for this session: it asks who you are.
    let (status, challenge) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        challenge["component"], "ak-stage-identification",
        "{challenge}"
    );
}

/// An administrator mails a user the link to the recovery page: the mail holds no code, its
/// link opens the hosted recovery page, and the old password keeps working until the user
/// sets a new one. A disabled user, or an unknown id, is refused.
#[actix_web::test]
async fn an_administrator_sends_a_recovery_mail_that_links_the_recovery_page() {
    let browser = Browser::start().await;
    register_over_wso2(&browser.base, EMAIL, PASSWORD).await;
    let admin = crate::support::http();
    let id = user_id(&browser.base, EMAIL).await;
    let send = |id: String| {
        admin
            .post(format!("{}/api/admin/users/{id}/recovery", browser.base))
            .bearer_auth(TOKEN)
            .send()
    };
    let sent = send(id.clone()).await.unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let sent: Value = sent.json().await.unwrap();
    assert_eq!(sent["sent_to"], EMAIL);

    let mail = std::fs::read_dir(&browser.outbox)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
        .find(|text| text.contains("Reset your password"))
        .expect("a recovery mail");
    assert!(
        mail.contains(EMAIL) && !mail.contains("Your code is"),
        "{mail}"
    );
    let link = "http://127.0.0.1/if/flow/default-password-recovery/";
    assert!(mail.contains(link), "{mail}");
    let page = browser
        .client
        .get(format!(
            "{}/if/flow/default-password-recovery/",
            browser.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let done = sign_in_here(&browser, &executor("default-login"), EMAIL, PASSWORD).await;
    assert_eq!(
        done["component"], "xak-flow-redirect",
        "the old password works: {done}"
    );

    let unknown = send("no-such-user".to_owned()).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let disabled = admin
        .post(format!("{}/api/admin/users/{id}/disable", browser.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::OK);
    let refused: Value = send(id).await.unwrap().json().await.unwrap();
    assert_eq!(refused["code"], "user_disabled", "{refused}");
}

/// A user imported with a Django PBKDF2 hash (made by Django) signs in through the executor
/// with its old password, and its hash is then flowd's argon2id.
#[actix_web::test]
async fn an_imported_user_signs_in_here_and_is_rehashed() {
    let browser = Browser::start().await;
    let vectors = crate::user_import::verifiable();
    let vector = vectors
        .iter()
        .find(|vector| vector["name"] == "django-pbkdf2-sha256")
        .unwrap();
    let line = crate::user_import::line_of(vector, EMAIL).to_string();
    let imported: Value = crate::support::http()
        .post(format!("{}/api/admin/users/import", browser.base))
        .bearer_auth(TOKEN)
        .body(line)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(imported["created"], 1, "{imported}");
    let old_password = vector["password"].as_str().unwrap();
    let path = executor("default-login");
    let done = sign_in_here(&browser, &path, EMAIL, old_password).await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    let export = crate::support::http()
        .get(format!(
            "{}/api/admin/users/export?password_hashes=true",
            browser.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let record: Value = serde_json::from_str(export.lines().next().unwrap()).unwrap();
    assert!(
        record["password_hash"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$"),
        "{record}"
    );
}
