//! Integration tests of the executor API in process (actix's test service) over the memory
//! ports: cookies, limits and flow availability. The full journeys over real HTTP, with
//! authentik's schema, are in `bins/flowd/tests/it/authentik.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use flow_authentik_api::{AuthentikSettings, AuthentikState, Sessions};
use flow_engine::memory::{MemoryExecutionStore, MemoryPorts};
use flow_engine::{
    Engine, EngineConfig, Execution, ExecutionId, ExecutionStore, FlowCatalog, HashParams,
    PortError, Ports, TenantId, TraceEntry,
};
use flow_model::Flow;
use serde_json::Value;

const LOGIN: &str = "/api/v3/flows/executor/default-login/";

/// An execution store whose saves fail while `broken` is set (a database outage).
struct BreakableStore {
    inner: MemoryExecutionStore,
    broken: AtomicBool,
}

impl ExecutionStore for BreakableStore {
    fn insert(&self, execution: &Execution, trace: &[TraceEntry]) -> Result<(), PortError> {
        self.inner.insert(execution, trace)
    }

    fn load(&self, tenant: &TenantId, id: &ExecutionId) -> Result<Option<Execution>, PortError> {
        self.inner.load(tenant, id)
    }

    fn save(
        &self,
        execution: &Execution,
        expected_revision: u64,
        trace: &[TraceEntry],
    ) -> Result<(), PortError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("the database is down".into()));
        }
        self.inner.save(execution, expected_revision, trace)
    }

    fn trace(
        &self,
        tenant: &TenantId,
        id: &ExecutionId,
    ) -> Result<Option<Vec<TraceEntry>>, PortError> {
        self.inner.trace(tenant, id)
    }

    fn delete_expired(&self, now_secs: i64) -> Result<usize, PortError> {
        self.inner.delete_expired(now_secs)
    }
}

fn catalog_and_state(public_url: &str) -> (Arc<FlowCatalog>, web::Data<AuthentikState>) {
    catalog_and_state_with(public_url, |_| {})
}

fn catalog_and_state_with(
    public_url: &str,
    adjust: impl FnOnce(&mut Ports),
) -> (Arc<FlowCatalog>, web::Data<AuthentikState>) {
    let memory = MemoryPorts::new();
    let config = EngineConfig {
        hash: HashParams::insecure_for_tests(),
        ..EngineConfig::recommended()
    };
    let mut ports = memory.ports();
    adjust(&mut ports);
    let engine = Arc::new(Engine::new(config, ports).unwrap());
    let catalog = Arc::new(memory.catalog());
    let path = format!(
        "{}/../../fixtures/flows/default-login.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let login = Flow::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    catalog
        .install_defaults(&TenantId::default(), &[login])
        .unwrap();
    let state = AuthentikState::new(
        engine,
        catalog.clone(),
        AuthentikSettings::new(public_url, []),
    );
    (catalog, web::Data::new(state))
}

async fn app(
    public_url: &str,
) -> (
    Arc<FlowCatalog>,
    impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
) {
    let (catalog, state) = catalog_and_state(public_url);
    let sessions = Sessions::cookie(&[7u8; 64], public_url.starts_with("https://")).unwrap();
    let app = test::init_service(
        App::new().configure(|cfg| flow_authentik_api::configure(cfg, state, &sessions)),
    )
    .await;
    (catalog, app)
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_lax_and_secure_behind_https() {
    for (public_url, secure) in [
        ("https://id.example.test", true),
        ("http://127.0.0.1", false),
    ] {
        let (_, app) = app(public_url).await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri(LOGIN).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response
            .response()
            .cookies()
            .find(|cookie| cookie.name() == flow_authentik_api::SESSION_COOKIE)
            .expect("a session cookie");
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
        assert_eq!(cookie.secure().unwrap_or(false), secure, "{public_url}");
        assert_eq!(cookie.path(), Some("/"));
        assert!(
            !cookie.value().contains("flowd.plans"),
            "the cookie is encrypted, not readable"
        );
    }
}

#[actix_web::test]
async fn short_session_keys_are_refused() {
    let error = Sessions::cookie(&[1u8; 32], false).unwrap_err();
    assert_eq!(error.code(), "session_error");
    assert!(Sessions::cookie(&[1u8; 64], false).is_ok());
}

#[actix_web::test]
async fn oversized_bodies_get_413_and_inactive_flows_404() {
    let (catalog, app) = app("http://127.0.0.1").await;
    let body = format!("{{\"uid_field\": \"{}\"}}", "a".repeat(70 * 1024));
    let request = test::TestRequest::post()
        .uri(LOGIN)
        .insert_header(("content-type", "application/json"))
        .set_payload(body)
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: Value = test::read_body_json(response).await;
    assert_eq!(error["code"], "payload_too_large");

    let tenant = TenantId::default();
    let id = catalog
        .get_by_name(&tenant, "default-login")
        .unwrap()
        .flow
        .id;
    catalog.deactivate(&tenant, &id).unwrap();
    let response = test::call_service(&app, test::TestRequest::get().uri(LOGIN).to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: Value = test::read_body_json(response).await;
    assert_eq!(
        error,
        serde_json::json!({"detail": "Not found.", "code": "not_found"})
    );
}

#[actix_web::test]
async fn a_store_failure_is_a_flow_error_challenge_and_the_next_request_starts_afresh() {
    let store = Arc::new(BreakableStore {
        inner: MemoryExecutionStore::new(),
        broken: AtomicBool::new(false),
    });
    let shared = store.clone();
    let (_, state) = catalog_and_state_with("http://127.0.0.1", |ports| {
        ports.executions = shared;
    });
    let sessions = Sessions::cookie(&[7u8; 64], false).unwrap();
    let app = test::init_service(
        App::new().configure(|cfg| flow_authentik_api::configure(cfg, state, &sessions)),
    )
    .await;
    let first = test::call_service(&app, test::TestRequest::get().uri(LOGIN).to_request()).await;
    let cookie = first
        .response()
        .cookies()
        .find(|cookie| cookie.name() == flow_authentik_api::SESSION_COOKIE)
        .unwrap()
        .into_owned();

    store.broken.store(true, Ordering::SeqCst);
    let request = test::TestRequest::post()
        .uri(LOGIN)
        .cookie(cookie.clone())
        .insert_header(("x-request-id", "req-42"))
        .set_json(serde_json::json!({"component": "ak-stage-identification", "uid_field": "a@example.com"}))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "authentik answers errors as challenges"
    );
    let cookie = response
        .response()
        .cookies()
        .find(|cookie| cookie.name() == flow_authentik_api::SESSION_COOKIE)
        .map(|cookie| cookie.into_owned())
        .unwrap_or(cookie);
    let error: Value = test::read_body_json(response).await;
    assert_eq!(error["component"], "ak-stage-flow-error");
    assert_eq!(error["request_id"], "req-42");
    assert!(error.get("error").is_none(), "no internals shown: {error}");
    assert!(!error.to_string().contains("database"), "{error}");

    store.broken.store(false, Ordering::SeqCst);
    let request = test::TestRequest::get()
        .uri(LOGIN)
        .cookie(cookie)
        .to_request();
    let again: Value = test::read_body_json(test::call_service(&app, request).await).await;
    assert_eq!(again["component"], "ak-stage-identification", "{again}");
}
