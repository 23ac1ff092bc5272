//! The hosted pages over HTTP: redirects, the account page and sign-out, the security
//! headers, languages, assets and the QR endpoint (the browser itself: `browser.rs`).

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::authentik::{Browser, register_here};

const EMAIL: &str = "pages@example.com";
const PASSWORD: &str = "a long enough password";

/// A GET without following redirects: status, headers and body text.
async fn fetch(
    browser: &Browser,
    path: &str,
    language: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut request = browser.client.get(format!("{}{path}", browser.base));
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

/// The headers every page answer carries.
fn assert_secured(headers: &HeaderMap) {
    let csp = header(headers, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(headers, "referrer-policy"), "same-origin");
    assert_eq!(header(headers, "x-frame-options"), "DENY");
}

/// Every `<script>` of a page loads a file or is a JSON data block: nothing inline runs.
fn assert_no_inline_script(html: &str) {
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains(" src=\"/if/assets/") || open.contains("type=\"application/json\""),
            "inline script: <script{open}>"
        );
    }
    assert!(!html.contains(" style="), "inline style in {html}");
}

#[actix_web::test]
async fn root_sends_new_browsers_to_login_and_signed_in_ones_to_their_account() {
    let browser = Browser::start().await;
    let (status, headers, _) = fetch(&browser, "/?next=%2Fapp", None).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        header(&headers, "location"),
        "/if/flow/default-login/?next=%2Fapp"
    );
    assert_secured(&headers);
    let (status, headers, _) = fetch(&browser, "/if/user/", None).await;
    assert_eq!(
        status,
        StatusCode::FOUND,
        "no account page without a sign-in"
    );
    assert_eq!(header(&headers, "location"), "/");

    // Registration ends signed in.
    register_here(&browser, EMAIL, PASSWORD).await;
    let (status, headers, _) = fetch(&browser, "/", None).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(header(&headers, "location"), "/if/user/");
    let (status, headers, html) = fetch(&browser, "/if/user/", Some("de")).await;
    assert_eq!(status, StatusCode::OK);
    assert_secured(&headers);
    assert_no_inline_script(&html);
    assert!(html.contains("<title>Ihr Konto</title>"), "{html}");
    assert!(html.contains("/if/assets/account.js"), "{html}");
    assert!(
        html.contains(r#""mfa_url":"/if/flow/default-mfa-setup/?next=/if/user/""#),
        "{html}"
    );

    // Sign-out from another site's page is refused and changes nothing.
    let sign_out = format!("{}/if/user/sign-out", browser.base);
    let response = browser
        .client
        .post(&sign_out)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, me) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["username"], EMAIL);

    let response = browser
        .client
        .post(&sign_out)
        .header("origin", &browser.base)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header(response.headers(), "location"), "/");
    let (status, _) = browser.get("/api/v3/core/users/me/").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "signed out");
    let (_, headers, _) = fetch(&browser, "/", None).await;
    assert_eq!(header(&headers, "location"), "/if/flow/default-login/");
}

#[actix_web::test]
async fn a_flow_page_carries_its_title_language_and_headers() {
    let browser = Browser::start().await;
    let (status, headers, html) = fetch(
        &browser,
        "/if/flow/default-login/",
        Some("fr, de-CH;q=0.8, en;q=0.5"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_secured(&headers);
    assert_no_inline_script(&html);
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert!(html.contains(r#"<html lang="de">"#), "{html}");
    assert!(html.contains("<title>Default Login Flow</title>"), "{html}");
    assert!(html.contains(r#""continue":"Weiter""#), "{html}");
    assert!(
        html.contains(r#""executor":"/api/v3/flows/executor/default-login/""#),
        "{html}"
    );

    let (_, _, english) = fetch(&browser, "/if/flow/default-registration/", None).await;
    assert!(english.contains(r#"<html lang="en">"#), "{english}");
    assert!(english.contains(r#""continue":"Continue""#), "{english}");

    let (status, headers, _) = fetch(&browser, "/if/flow/default-login?next=%2Fa", None).await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header(&headers, "location"),
        "/if/flow/default-login/?next=%2Fa"
    );

    // A draft has no page.
    let draft = browser
        .client
        .post(format!("{}/api/admin/flows", browser.base))
        .bearer_auth(crate::support::TOKEN)
        .json(
            &json!({"name": "a-draft", "display_name": "A Draft", "type": "login",
            "graph": {"nodes": [], "edges": []}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(draft.status(), StatusCode::CREATED);
    let (status, _, html) = fetch(&browser, "/if/flow/a-draft/", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("A Draft"), "{html}");

    // A page path asked with another method: 405, with the same headers.
    let response = browser
        .client
        .get(format!("{}/if/qr", browser.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_secured(response.headers());

    for missing in [
        "/if/flow/no-such-flow/",
        "/if/flow/a%20b/",
        "/if/flow/%3Cx%3E",
        "/if/else",
    ] {
        let (status, headers, html) = fetch(&browser, missing, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_secured(&headers);
        assert!(
            html.contains("There is no flow with this name."),
            "{missing}: {html}"
        );
        assert!(!html.contains("<x>"), "{html}");
    }
}

#[actix_web::test]
async fn assets_come_from_the_binary_with_validators_and_the_brand_from_settings() {
    let browser = Browser::start_with(|config| {
        config.pages =
            flow_pages::PagesSettings::new(Some("/logo.svg".into()), Some("#0a7".into())).unwrap();
    })
    .await;
    for (name, kind) in [
        ("common.js", "text/javascript"),
        ("flow.js", "text/javascript"),
        ("account.js", "text/javascript"),
        ("pages.css", "text/css"),
        ("favicon.svg", "image/svg+xml"),
        ("brand.css", "text/css"),
    ] {
        let path = format!("/if/assets/{name}");
        let (status, headers, body) = fetch(&browser, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(header(&headers, "content-type").starts_with(kind), "{name}");
        assert_secured(&headers);
        assert!(!body.is_empty());
        let etag = header(&headers, "etag").to_owned();
        let response = browser
            .client
            .get(format!("{}{path}", browser.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{name}");
    }
    let (_, _, brand) = fetch(&browser, "/if/assets/brand.css", None).await;
    assert!(brand.contains("--accent: #0a7;"), "{brand}");
    let (_, _, html) = fetch(&browser, "/if/flow/default-login/", None).await;
    assert!(
        html.contains(r#"<img class="logo" alt="" src="/logo.svg">"#),
        "{html}"
    );
    let (status, _, _) = fetch(&browser, "/if/assets/secret.txt", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = fetch(&browser, "/if/assets/..%2FCargo.toml", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn the_qr_endpoint_draws_otpauth_uris_for_this_origin_only() {
    let browser = Browser::start().await;
    let qr = format!("{}/if/qr", browser.base);
    let uri = "otpauth://totp/flowd:pages%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=flowd";
    let response = browser
        .client
        .post(&qr)
        .header("origin", &browser.base)
        .json(&json!({"uri": uri}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "content-type"), "image/svg+xml");
    assert_eq!(header(response.headers(), "cache-control"), "no-store");
    let svg = response.text().await.unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    assert!(!svg.contains("JBSWY3DPEHPK3PXP"));

    let refused = |origin: Option<&'static str>, body: String| {
        let mut request = browser
            .client
            .post(&qr)
            .header("content-type", "application/json")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            (status, body["code"].as_str().unwrap().to_owned())
        }
    };
    let body = json!({"uri": uri}).to_string();
    assert_eq!(
        refused(Some("https://evil.example"), body).await,
        (StatusCode::FORBIDDEN, "cross_site_request".to_owned())
    );
    for (body, status, code) in [
        (
            json!({"uri": "https://example.com/"}).to_string(),
            400,
            "invalid_uri",
        ),
        (json!({"url": uri}).to_string(), 400, "invalid_uri"),
        ("[]".to_owned(), 400, "invalid_body"),
        ("{".to_owned(), 400, "invalid_body"),
        (
            json!({"uri": "x".repeat(2048)}).to_string(),
            413,
            "body_too_large",
        ),
    ] {
        assert_eq!(
            refused(None, body.clone()).await,
            (StatusCode::from_u16(status).unwrap(), code.to_owned()),
            "{body:.60}"
        );
    }
}
