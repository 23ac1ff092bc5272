//! The hosted pages in a real browser: Debian's Chromium, driven by `playwright-core` from
//! `tests/browser/run.mjs`, against a real flowd started here. Registration, sign-in, a
//! wrong password, password recovery with the mailed code, TOTP enrolment and sign-in, a
//! hostile `next`, passkeys, and social login at a real OpenID provider (panva's
//! `oidc-provider`, see [`OidcProvider`]) through its HTML login page; axe-core checks each page
//! state and a screenshot of each is saved under `target/browser-screenshots/`. The npm
//! packages are installed with `npm ci` when missing; without Chromium or Node.js the test says
//! it skipped, and without the provider's packages it skips the social login (either a failure
//! with `CI=true`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use flowd::config::Config;
use flowd::startup::Application;
use serde_json::json;

use crate::oidc_provider::OidcProvider;
use crate::support::{TOKEN, skip};

/// The client flowd is at the OpenID provider.
const OIDC_CLIENT_ID: &str = "flowd-browser";
const OIDC_CLIENT_SECRET: &str = "flowd-browser-secret-0123456789";

/// The browser: `FLOWD_CHROMIUM`, else Debian's.
fn chromium() -> PathBuf {
    std::env::var_os("FLOWD_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What is missing to run the browser test, if anything.
fn missing(scripts: &Path) -> Option<String> {
    if !chromium().exists() {
        return Some(format!(
            "{} is absent (apt-get install chromium, or set FLOWD_CHROMIUM)",
            chromium().display()
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".to_owned());
    }
    let installed = || {
        ["playwright-core", "axe-core"]
            .iter()
            .all(|package| scripts.join("node_modules").join(package).exists())
    };
    if !installed() {
        // The versions are pinned by package-lock.json; npm takes them from its registry.
        let npm = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(scripts)
            .status();
        if !npm.is_ok_and(|status| status.success()) || !installed() {
            return Some(format!(
                "`npm ci` in {} failed: playwright-core and axe-core are missing",
                scripts.display()
            ));
        }
    }
    None
}

#[actix_web::test]
async fn the_hosted_pages_run_every_default_flow_in_chromium() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scripts = manifest.join("tests/browser");
    if let Some(reason) = missing(&scripts) {
        skip(&reason);
        return;
    }
    let temp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
    let outbox = temp.path().join("outbox");
    let mut config = Config::for_tests(&url, outbox.clone(), TOKEN);
    // The provider sends the browser back to `{public_url}/source/oauth/callback/{id}/`, so
    // the public URL must name the port: pick a free one first.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    config.listen = SocketAddr::from(([127, 0, 0, 1], port));
    config.public_url.clone_from(&base);
    // Without Node.js's oidc-provider the run skips the social login (section 12).
    let provider = OidcProvider::start(json!({
        "clients": [{
            "client_id": OIDC_CLIENT_ID,
            "client_secret": OIDC_CLIENT_SECRET,
            "redirect_uris": [format!("{base}/source/oauth/callback/google/")],
            "token_endpoint_auth_method": "client_secret_basic",
        }],
        "accounts": {
            "sam": {"email": "sam@example.com", "email_verified": true, "name": "Sam"},
        },
    }));
    let issuer = provider
        .as_ref()
        .map(|provider| provider.issuer().to_owned())
        .unwrap_or_default();
    let application = Application::build(&config)
        .await
        .unwrap_or_else(|error| panic!("server starts on {base}: {error}"));
    assert_eq!(application.port, port);
    actix_web::rt::spawn(application.server);

    let shots = manifest.join("../../target/browser-screenshots");
    let log = shots.join("run.log");
    let output = actix_web::rt::task::spawn_blocking(move || {
        Command::new("node")
            .arg("run.mjs")
            .current_dir(&scripts)
            .env("FLOWD_BASE", &base)
            .env("FLOWD_OUTBOX", &outbox)
            .env("FLOWD_SHOTS", &shots)
            .env("FLOWD_TOKEN", TOKEN)
            .env("FLOWD_CHROMIUM", chromium())
            .env("FLOWD_OIDC_ISSUER", issuer)
            .env("FLOWD_OIDC_CLIENT_ID", OIDC_CLIENT_ID)
            .env("FLOWD_OIDC_CLIENT_SECRET", OIDC_CLIENT_SECRET)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|error| panic!("node starts: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let provider_log = provider
        .as_ref()
        .map(OidcProvider::stderr)
        .unwrap_or_default();
    assert!(
        output.status.success(),
        "the browser run failed ({}):\n{stdout}\n{stderr}\nthe OpenID provider's stderr:\n{provider_log}",
        output.status
    );
    assert!(stdout.contains("ok all page states"), "{stdout}");
    // Which states were checked, and axe's minor findings, for whoever looks at the shots.
    std::fs::write(&log, stdout.as_bytes()).unwrap();
}
