//! A real OpenID provider for the social login tests: panva's `oidc-provider` (npm, pinned by
//! `tests/oidc/package-lock.json`), started by `tests/oidc/provider.mjs` on an ephemeral port
//! of 127.0.0.1 and killed when the [`OidcProvider`] is dropped. [`OidcProvider::sign_in`] and
//! [`OidcProvider::deny`] play the user's browser over plain HTTP, from an authorization URL to
//! the redirect back to the client's `redirect_uri`.
//!
//! The configuration is one JSON value (see the head of `provider.mjs`):
//! `{"clients": [{"client_id", "client_secret", "redirect_uris": [...]}], "accounts": {"alice":
//! {"email", "email_verified", "name"}}, "mode": {"wrong_jwks", "token_delay_ms", "code_ttl_s",
//! "claims_in_id_token", "pkce_required"}}`. What the provider does by default:
//! - PKCE with S256 is required of every client; `iss` comes back with the code (RFC 9207);
//! - an ID token from the code grant carries `sub` (the login name) but not `email` or `name`
//!   unless the mode says `"claims_in_id_token": true`: those are at the userinfo endpoint
//!   (`/me`, which wants an access token with the `openid` scope);
//! - consent is granted together with the login, so no consent page appears;
//! - `GET /oauth/user` answers the account's claims for any access token (a plain OAuth2,
//!   GitHub-like user endpoint, for clients that do not ask for `openid`).
//!
//! Without Node.js or without `tests/oidc/node_modules` (`npm ci` there) a test says it skipped,
//! which fails with `CI=true` (see [`skip`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use reqwest::{StatusCode, Url, header};
use serde_json::{Value, json};

use crate::support::skip;

/// How long the provider may take to print its issuer (it generates RSA keys first).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Redirects followed by [`OidcProvider::sign_in`] before it gives up.
const MAX_HOPS: usize = 10;

/// A running `oidc-provider`, killed on drop.
pub(crate) struct OidcProvider {
    issuer: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

/// Where the provider sent the user back: the redirect to the client's `redirect_uri`.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    /// The whole redirect target, query included.
    pub(crate) url: String,
}

impl Callback {
    fn parse(url: &str) -> Self {
        Self {
            code: Self::query(url, "code"),
            state: Self::query(url, "state"),
            error: Self::query(url, "error"),
            url: url.to_owned(),
        }
    }

    /// Any other query parameter of the callback (`iss`, `error_description`).
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        Self::query(&self.url, name)
    }

    fn query(url: &str, name: &str) -> Option<String> {
        Url::parse(url)
            .ok()?
            .query_pairs()
            .find_map(|(key, value)| (key == name).then(|| value.into_owned()))
    }
}

/// What to do at the provider's interaction (login) page.
enum Interaction<'a> {
    Login(&'a str),
    Abort,
}

/// An `application/x-www-form-urlencoded` body (reqwest's `form` feature is not enabled).
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

/// What is missing to run the provider, if anything.
fn missing(scripts: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed (needed for the OpenID provider in tests/oidc)".into());
    }
    if !scripts.join("node_modules/oidc-provider").exists() {
        return Some(format!(
            "{} is missing: run npm ci in bins/flowd/tests/oidc",
            scripts.join("node_modules/oidc-provider").display()
        ));
    }
    None
}

impl OidcProvider {
    /// Starts a provider configured by `config`; `None` after [`skip`] when Node.js or the npm
    /// packages are missing (a panic with `CI=true`).
    pub(crate) fn start(config: Value) -> Option<Self> {
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        if let Some(reason) = missing(&scripts) {
            skip(&reason);
            return None;
        }
        let mut child = Command::new("node")
            .arg(scripts.join("provider.mjs"))
            .arg(config.to_string())
            .current_dir(&scripts)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("node starts provider.mjs: {error}"));

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next());
            // Keep draining, so that the provider never blocks on a full pipe.
            for _ in lines {}
        });

        let mut provider = Self {
            issuer: String::new(),
            child,
            stderr,
        };
        let line = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => panic!(
                "provider.mjs printed no issuer within {START_TIMEOUT:?} ({other:?}); stderr:\n{}",
                provider.stderr()
            ),
        };
        let issuer = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|value| value["issuer"].as_str().map(str::to_owned))
            .unwrap_or_else(|| {
                panic!(
                    "provider.mjs printed {line:?}, not {{\"issuer\": ...}}; stderr:\n{}",
                    provider.stderr()
                )
            });
        provider.issuer = issuer;
        Some(provider)
    }

    /// The issuer, `http://127.0.0.1:PORT` (no trailing slash); discovery is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the provider wrote to its standard error so far (oidc-provider's warnings, errors).
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Signs `login` in at the provider for `authorization_url` (an authorization request to
    /// this provider): follows the redirects, posts the login and stops at the redirect to the
    /// request's `redirect_uri`. An authorization request the provider rejects outright (no
    /// PKCE, say) comes back as a callback with `error`; one it cannot redirect (an unknown
    /// client or redirect_uri) panics with the provider's answer, as does an unknown login.
    pub(crate) async fn sign_in(&self, authorization_url: &str, login: &str) -> Callback {
        self.drive(authorization_url, &Interaction::Login(login))
            .await
    }

    /// Cancels the sign-in for `authorization_url` at the provider's login page: the provider
    /// redirects to the `redirect_uri` with `error=access_denied` and the request's `state`.
    pub(crate) async fn deny(&self, authorization_url: &str) -> Callback {
        self.drive(authorization_url, &Interaction::Abort).await
    }

    async fn drive(&self, authorization_url: &str, interaction: &Interaction<'_>) -> Callback {
        let redirect_uri = Callback::query(authorization_url, "redirect_uri")
            .unwrap_or_else(|| panic!("{authorization_url} has no redirect_uri"));
        let client = crate::support::http_builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut url = Url::parse(authorization_url)
            .unwrap_or_else(|error| panic!("authorization URL {authorization_url}: {error}"));
        let mut post: Option<String> = None;
        for _ in 0..MAX_HOPS {
            let request = match post.take() {
                Some(body) => client
                    .post(url.clone())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body),
                None => client.get(url.clone()),
            };
            let response = request
                .send()
                .await
                .unwrap_or_else(|error| panic!("{url}: {error}"));
            let status = response.status();
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                let body = response.text().await.unwrap_or_default();
                panic!(
                    "the provider answered {url} with {status}, not a redirect: {body}\nstderr:\n{}",
                    self.stderr()
                );
            };
            let target = url
                .join(&location)
                .unwrap_or_else(|error| panic!("redirect {location} from {url}: {error}"));
            if target.as_str().starts_with(&redirect_uri) {
                return Callback::parse(target.as_str());
            }
            let interaction_page = target.origin() == url.origin()
                && target
                    .path()
                    .strip_prefix("/interaction/")
                    .is_some_and(|uid| !uid.is_empty() && !uid.contains('/'));
            url = target;
            if interaction_page {
                let (action, body) = match interaction {
                    Interaction::Login(login) => ("login", form(&[("login", login)])),
                    Interaction::Abort => ("abort", String::new()),
                };
                url = Url::parse(&format!("{url}/{action}")).unwrap();
                post = Some(body);
            }
        }
        panic!(
            "no redirect to {redirect_uri} after {MAX_HOPS} hops from {authorization_url}, last \
             at {url}"
        );
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The S256 PKCE challenge of `verifier`.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn test_config() -> Value {
    json!({
        "clients": [{
            "client_id": "flowd-test",
            "client_secret": "flowd-test-secret",
            "redirect_uris": [REDIRECT_URI],
        }],
        "accounts": {
            "alice": {"email": "alice@example.com", "email_verified": true, "name": "Alice"},
        },
    })
}

async fn discovery(provider: &OidcProvider) -> Value {
    let url = format!("{}/.well-known/openid-configuration", provider.issuer());
    crate::support::http()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn authorization_url(discovery: &Value, state: &str) -> String {
    let endpoint = discovery["authorization_endpoint"].as_str().unwrap();
    let challenge = pkce_challenge(VERIFIER);
    Url::parse_with_params(
        endpoint,
        [
            ("client_id", "flowd-test"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", state),
            ("nonce", "nonce-1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap()
    .to_string()
}

#[test]
fn the_pkce_challenge_is_rfc_7636s_example() {
    assert_eq!(
        pkce_challenge(VERIFIER),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test]
async fn oidc_provider_issues_a_code_for_a_pkce_request() {
    let Some(provider) = OidcProvider::start(test_config()) else {
        return;
    };
    let discovery = discovery(&provider).await;
    assert_eq!(discovery["issuer"], provider.issuer());

    let callback = provider
        .sign_in(&authorization_url(&discovery, "state-1"), "alice")
        .await;
    assert_eq!(callback.error, None, "{}", callback.url);
    assert_eq!(callback.state.as_deref(), Some("state-1"));
    assert_eq!(callback.param("iss").as_deref(), Some(provider.issuer()));
    let code = callback.code.expect("a code");

    let client = crate::support::http();
    let response = client
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("flowd-test", Some("flowd-test-secret"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let access_token = tokens["access_token"].as_str().expect("an access_token");
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    assert_eq!(tokens["token_type"], "Bearer");

    use base64::Engine as _;
    let payload = id_token.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], "flowd-test");
    assert_eq!(claims["nonce"], "nonce-1");

    let userinfo: Value = client
        .get(discovery["userinfo_endpoint"].as_str().unwrap())
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["sub"], "alice");
    assert_eq!(userinfo["email"], "alice@example.com");
    assert_eq!(userinfo["email_verified"], true);
}

#[tokio::test]
async fn oidc_provider_answers_access_denied_when_the_user_cancels() {
    let Some(provider) = OidcProvider::start(test_config()) else {
        return;
    };
    let discovery = discovery(&provider).await;
    let callback = provider
        .deny(&authorization_url(&discovery, "state-2"))
        .await;
    assert_eq!(
        callback.error.as_deref(),
        Some("access_denied"),
        "{}",
        callback.url
    );
    assert_eq!(callback.state.as_deref(), Some("state-2"));
    assert_eq!(callback.code, None);
    assert!(callback.url.starts_with(REDIRECT_URI), "{}", callback.url);
}
