//! Rate limits per client address on the flow endpoints, on the real server.

use flowd::config::Config;
use flowd::startup::Application;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TOKEN;

#[actix_web::test]
async fn an_address_over_its_limit_gets_429_on_flow_endpoints_only() {
    let temp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", temp.path().join("flowd.db").display());
    let mut config = Config::for_tests(&url, temp.path().join("outbox"), TOKEN);
    config.rate_limit_per_minute = 6;
    config.rate_limit_burst = 3;
    let application = Application::build(&config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port);
    actix_web::rt::spawn(application.server);
    let client = crate::support::http();
    let execute = format!("{base}/api/server/v1/flow/execute");

    for _ in 0..3 {
        let response = client.post(&execute).body("{}").send().await.unwrap();
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    // The bucket is per address, shared by both protocols.
    let limited = client
        .get(format!("{base}/api/v3/flows/executor/default-login/"))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=11).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("retry"))
    );

    for path in ["/healthz", "/metrics", "/oauth2/jwks"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path} is not limited");
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("flowd_rate_limited_total"), "{metrics}");
}
