//! Starting the real server for a test, and a small HTTP client around it; and [`skip`], the
//! one way a test says that it could not check something for want of an outside service.

use std::io::Write;

use flowd::config::Config;
use flowd::startup::Application;
use reqwest::StatusCode;
use serde_json::Value;

pub(crate) const TOKEN: &str = "integration-test-admin-token";

/// The value of the environment variable `var` that names an outside service (PostgreSQL,
/// Redis) this test needs, or `None` after [`skip`] has reported it missing.
pub(crate) fn service_env(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) => Some(value),
        Err(_) => {
            skip(&format!("{var} is not set"));
            None
        }
    }
}

/// Reports that the running test skips (some of) its checks for `reason`. With `CI=true` a
/// skip is a failure (CI provides every service). Otherwise one line `SKIPPED: <test>:
/// <reason>` goes to the process's standard error through `std::io::stderr()`, which cargo's
/// test harness does not capture (it captures only `print!`/`eprint!`), so the line shows in
/// a plain `cargo test` run, not only with `--nocapture`.
pub(crate) fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{test}: CI=true, so this test must not skip: {reason}");
    }
    // One write, so that the line is not torn apart by the harness's own output.
    let line = format!("SKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A client builder, after the process's TLS crypto provider is installed (reqwest is built
/// with `rustls-no-provider` for flow-federation, so a client cannot be made before).
pub(crate) fn http_builder() -> reqwest::ClientBuilder {
    flow_federation::install_crypto_provider();
    reqwest::Client::builder()
}

/// A plain client (see [`http_builder`]).
pub(crate) fn http() -> reqwest::Client {
    http_builder().build().unwrap()
}

/// A running server with its own SQLite file.
pub(crate) struct TestServer {
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) generated_token: Option<String>,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A fresh server on a fresh SQLite database.
    pub(crate) async fn start() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let mut server = Self::start_in(&dir, Some(TOKEN)).await;
        server._temp = Some(temp);
        server
    }

    /// A fresh server on a fresh SQLite database, with `adjust` applied to the test settings.
    pub(crate) async fn start_configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
        let mut config = Config::for_tests(&url, temp.path().join("outbox"), TOKEN);
        adjust(&mut config);
        let application = Application::build(&config)
            .await
            .unwrap_or_else(|error| panic!("server starts: {error}"));
        actix_web::rt::spawn(application.server);
        Self {
            base: format!("http://127.0.0.1:{}", application.port),
            client: crate::support::http(),
            generated_token: None,
            _temp: Some(temp),
        }
    }

    /// A server on the SQLite database in `dir` (kept between starts).
    pub(crate) async fn start_in(dir: &std::path::Path, token: Option<&str>) -> Self {
        let url = format!("sqlite://{}", dir.join("flowd.db").display());
        Self::start_with_url(&url, dir, token).await
    }

    pub(crate) async fn start_with_url(
        url: &str,
        dir: &std::path::Path,
        token: Option<&str>,
    ) -> Self {
        let mut config = Config::for_tests(url, dir.join("outbox"), token.unwrap_or(TOKEN));
        config.admin_token = token.map(str::to_owned);
        let application = Application::build(&config)
            .await
            .unwrap_or_else(|error| panic!("server starts: {error}"));
        let base = format!("http://127.0.0.1:{}", application.port);
        actix_web::rt::spawn(application.server);
        Self {
            base,
            client: crate::support::http(),
            generated_token: application.generated_admin_token,
            _temp: None,
        }
    }

    /// A fresh server on a fresh SQLite database that sends mail over SMTP to `smtp_url`.
    pub(crate) async fn start_with_smtp(smtp_url: &str) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
        let mut config = Config::for_tests(&url, temp.path().join("outbox"), TOKEN);
        config.smtp_url = Some(smtp_url.to_owned());
        let application = Application::build(&config)
            .await
            .unwrap_or_else(|error| panic!("server starts: {error}"));
        actix_web::rt::spawn(application.server);
        Self {
            base: format!("http://127.0.0.1:{}", application.port),
            client: crate::support::http(),
            generated_token: None,
            _temp: Some(temp),
        }
    }

    /// Sends a request with `token`; returns the status and the JSON body (`Null` if empty).
    pub(crate) async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    /// [`Self::call_as`] with the admin token.
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        self.call_as(Some(TOKEN), method, path, body).await
    }
}

pub(crate) fn seed(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/seed-002/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
