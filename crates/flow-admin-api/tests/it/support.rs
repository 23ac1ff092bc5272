//! The test app and small request helpers.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use flow_admin_api::{AdminState, AdminToken, DEFAULT_BODY_LIMIT};
use flow_engine::memory::MemoryPorts;
use flow_engine::{Accounts, Engine, EngineConfig, HashParams, InvitationService};
use serde_json::Value;

pub(crate) const TOKEN: &str = "test-admin-token";

pub(crate) async fn app()
-> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    app_with_limit(DEFAULT_BODY_LIMIT).await
}

pub(crate) async fn app_with_limit(
    body_limit: usize,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    let memory = MemoryPorts::new();
    let state = web::Data::new(AdminState {
        webhook_secret: None,
        catalog: Arc::new(memory.catalog()),
        engine: None,
        invitations: Some(Arc::new(InvitationService::new(
            &memory.ports(),
            "https://id.example.com/register?confirmationCode={code}",
        ))),
        accounts: None,
        token: AdminToken::from_token(TOKEN),
        body_limit,
        origins: flow_http::OriginPolicy::default(),
        public_url: "https://id.example.com".to_owned(),
    });
    test::init_service(App::new().configure(|cfg| flow_admin_api::configure(cfg, state))).await
}

/// The test app with an engine and the accounts service over the same memory ports: the
/// identity providers, the users and their links. The engine comes along for the tests to
/// reach its ports.
pub(crate) async fn app_with_engine() -> (
    impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    Arc<Engine>,
) {
    let memory = MemoryPorts::new();
    let config = EngineConfig {
        hash: HashParams {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
        ..EngineConfig::recommended()
    };
    let engine = Arc::new(Engine::new(config, memory.ports()).unwrap());
    let state = web::Data::new(AdminState {
        webhook_secret: None,
        catalog: Arc::new(memory.catalog()),
        engine: Some(engine.clone()),
        invitations: None,
        accounts: Some(Arc::new(Accounts::new(engine.clone()))),
        token: AdminToken::from_token(TOKEN),
        body_limit: DEFAULT_BODY_LIMIT,
        origins: flow_http::OriginPolicy::default(),
        public_url: "https://id.example.com/".to_owned(),
    });
    let app =
        test::init_service(App::new().configure(|cfg| flow_admin_api::configure(cfg, state))).await;
    (app, engine)
}

pub(crate) fn seed(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/seed-002/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Sends a request with the admin token; returns status and JSON body (`Null` when empty).
pub(crate) async fn call<S>(
    app: &S,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let request = test::TestRequest::default()
        .method(method.parse().unwrap())
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {TOKEN}")));
    let request = match body {
        Some(body) => request.set_json(body),
        None => request,
    };
    send(app, request).await
}

pub(crate) async fn send<S>(app: &S, request: test::TestRequest) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// Asserts that every field of `expected` is in `actual` with the same value, except the fields
/// named in `varying` (ids and timestamps), which must merely be present.
pub(crate) fn assert_fields(expected: &Value, actual: &Value, varying: &[&str]) {
    for (key, value) in expected.as_object().unwrap() {
        let got = actual
            .get(key)
            .unwrap_or_else(|| panic!("missing {key} in {actual}"));
        if !varying.contains(&key.as_str()) {
            assert_eq!(got, value, "field {key} in {actual}");
        }
    }
}
