//! The test app over memory ports with the default flows installed, and request helpers.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, test, web};
use flow_engine::memory::MemoryPorts;
use flow_engine::{Engine, EngineConfig, FlowCatalog, HashParams, KeyStore, TenantId};
use flow_model::Flow;
use flow_wso2_api::{Wso2Settings, Wso2State};
use serde_json::{Value, json};

pub(crate) const PUBLIC_URL: &str = "https://id.example.test";

pub(crate) fn fixture(name: &str) -> Flow {
    let path = format!(
        "{}/../../fixtures/flows/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Flow::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub(crate) struct Setup {
    pub(crate) memory: MemoryPorts,
    pub(crate) catalog: Arc<FlowCatalog>,
    pub(crate) state: web::Data<Wso2State>,
}

pub(crate) fn setup_with_limit(body_limit: usize) -> Setup {
    setup_with(body_limit, None)
}

/// A setup whose signing keys live in `keys` (shared with other setups, as replicas share a
/// database, or kept across a "restart").
pub(crate) fn setup_with_key_store(keys: Arc<dyn KeyStore>) -> Setup {
    setup_with(flow_wso2_api::DEFAULT_BODY_LIMIT, Some(keys))
}

fn setup_with(body_limit: usize, keys: Option<Arc<dyn KeyStore>>) -> Setup {
    let memory = MemoryPorts::new();
    let config = EngineConfig {
        hash: HashParams::insecure_for_tests(),
        ..EngineConfig::recommended()
    };
    let engine = Arc::new(Engine::new(config, memory.ports()).unwrap());
    let catalog = Arc::new(memory.catalog());
    let defaults: Vec<Flow> = [
        "default-login",
        "default-registration",
        "default-password-recovery",
        "default-mfa-setup",
        "default-invited-registration",
    ]
    .into_iter()
    .map(fixture)
    .collect();
    catalog
        .install_defaults(&TenantId::default(), &defaults)
        .unwrap();
    let settings = Wso2Settings {
        body_limit,
        ..Wso2Settings::new(PUBLIC_URL)
    };
    let mut state = Wso2State::new(engine, catalog.clone(), settings);
    if let Some(keys) = keys {
        state = state.with_key_store(keys);
    }
    let state = web::Data::new(state);
    Setup {
        memory,
        catalog,
        state,
    }
}

pub(crate) fn setup() -> Setup {
    setup_with_limit(flow_wso2_api::DEFAULT_BODY_LIMIT)
}

pub(crate) async fn app(
    setup: &Setup,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    let state = setup.state.clone();
    test::init_service(App::new().configure(|cfg| flow_wso2_api::configure(cfg, state))).await
}

/// Posts `body` (raw bytes) to `path`; returns status and JSON body.
pub(crate) async fn post_raw<S>(app: &S, path: &str, body: &str) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let request = test::TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_owned())
        .to_request();
    let response = test::call_service(app, request).await;
    let status = response.status();
    let bytes = test::read_body(response).await;
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// Posts JSON to the long path.
pub(crate) async fn post<S>(app: &S, body: &Value) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    post_raw(app, flow_wso2_api::EXECUTE_PATH, &body.to_string()).await
}

/// Starts `flow_type`; asserts a 200.
pub(crate) async fn start<S>(app: &S, flow_type: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let (status, body) = post(app, &json!({"flowType": flow_type})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Submits the primary button of `view` with `inputs` (and the resent flow type, as real
/// clients do); asserts a 200.
pub(crate) async fn submit<S>(app: &S, view: &Value, inputs: Value) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let (status, body) = post(
        app,
        &json!({
            "flowId": view["flowId"],
            "flowType": view["flowType"],
            "actionId": primary_action(view),
            "inputs": inputs,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Every component of a view, depth first.
pub(crate) fn components(view: &Value) -> Vec<Value> {
    fn walk(list: &Value, out: &mut Vec<Value>) {
        for component in list.as_array().into_iter().flatten() {
            out.push(component.clone());
            walk(&component["components"], out);
        }
    }
    let mut out = Vec::new();
    walk(&view["data"]["components"], &mut out);
    out
}

/// The `actionId` of the view's PRIMARY button.
pub(crate) fn primary_action(view: &Value) -> String {
    components(view)
        .into_iter()
        .find(|c| c["type"] == "BUTTON" && c["variant"] == "PRIMARY")
        .unwrap_or_else(|| panic!("no primary button in {view}"))["actionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `config.identifier`s of the view's inputs.
pub(crate) fn input_identifiers(view: &Value) -> Vec<String> {
    components(view)
        .into_iter()
        .filter(|c| c["type"] == "INPUT")
        .map(|c| c["config"]["identifier"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts the error body's shape and code; returns it.
pub(crate) fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    for key in ["message", "description", "traceId"] {
        assert!(body[key].is_string(), "{key} in {body}");
    }
    assert!(
        uuid_like(body["traceId"].as_str().unwrap()),
        "traceId {body}"
    );
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}
