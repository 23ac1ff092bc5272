//! flow-wso2-api's crate root: state, settings and `configure` (the crate documentation is README.md).
#![doc = include_str!("../README.md")]

mod body;
pub mod dto;
mod error;
mod keys;
mod openapi;
mod render;
mod request;
mod routes;

use std::sync::Arc;

use actix_web::web;
use flow_engine::memory::MemoryKeyStore;
use flow_engine::{Engine, FlowCatalog, KeyStore};

pub use error::Wso2Error;
pub use keys::{ASSERTION_TTL_SECS, AssertionClaims, Assertions};
pub use openapi::{OPENAPI_PATH, openapi};
pub use render::{engine_flow_type, wso2_flow_type};

/// The name executions started here carry ([`flow_engine::Engine::start_via`]): they are
/// continued through this protocol only.
pub const CHANNEL: &str = "wso2";
/// Entry points for the fuzz targets in `fuzz/` (see `docs/reliability.md`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::{Map, Value};

    use crate::Wso2Error;
    use crate::request::ExecuteRequest;

    /// Reads an execute request body the way the handler does (a JSON object, then field by
    /// field). `Ok` holds the request written back as the JSON object that reads as it;
    /// `Err` the error the client would get.
    pub fn execute_body(body: &[u8]) -> Result<Map<String, Value>, Wso2Error> {
        let object = crate::body::parse_object(body)?;
        Ok(ExecuteRequest::from_object(object)?.to_object())
    }
}

/// The path WSO2 Identity Server serves the Flow Execution API at.
pub const EXECUTE_PATH: &str = "/api/server/v1/flow/execute";
/// The short path WSO2's SDKs and the seed's curl examples also call.
pub const SHORT_EXECUTE_PATH: &str = "/flow/execute";
/// The largest request body accepted by default (64 KiB: a step's inputs are small).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The JWKS path (WSO2's).
pub const JWKS_PATH: &str = "/oauth2/jwks";
/// The well-known JWKS path.
pub const WELL_KNOWN_JWKS_PATH: &str = "/.well-known/jwks.json";

/// Settings of the WSO2-style API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wso2Settings {
    /// The server's public URL (`FLOWD_PUBLIC_URL`), e.g. `https://id.example.com`: the
    /// issuer and audience of user assertions.
    pub public_url: String,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
}

impl Wso2Settings {
    /// Settings for `public_url` with the default body limit.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

/// What the handlers need: the engine that runs executions, the catalog that says which
/// program a new execution runs, and the settings.
#[derive(Debug)]
pub struct Wso2State {
    pub(crate) engine: Arc<Engine>,
    pub(crate) catalog: Arc<FlowCatalog>,
    pub(crate) settings: Wso2Settings,
    pub(crate) assertions: Assertions,
}

impl Wso2State {
    /// The state over `engine` and `catalog`, with signing keys in memory (lost on restart;
    /// call [`Wso2State::with_key_store`] with a persistent store in production).
    pub fn new(engine: Arc<Engine>, catalog: Arc<FlowCatalog>, settings: Wso2Settings) -> Self {
        let assertions = Assertions::new(
            Arc::new(MemoryKeyStore::new()),
            engine.ports().random.clone(),
            engine.ports().clock.clone(),
        );
        Self {
            engine,
            catalog,
            settings,
            assertions,
        }
    }

    /// Keeps signing keys in `store` instead of memory: a persistent store (flow-store's
    /// `Database`) keeps them across restarts and shares them between replicas.
    pub fn with_key_store(mut self, store: Arc<dyn KeyStore>) -> Self {
        self.assertions = Assertions::new(
            store,
            self.engine.ports().random.clone(),
            self.engine.ports().clock.clone(),
        );
        self
    }

    /// The assertion signer (to rotate keys: [`Assertions::rotate`]).
    pub fn assertions(&self) -> &Assertions {
        &self.assertions
    }

    /// The settings.
    pub fn settings(&self) -> &Wso2Settings {
        &self.settings
    }
}

/// Mounts `POST /api/server/v1/flow/execute` and `POST /flow/execute` (the same handler), the
/// JWKS at `GET /oauth2/jwks` and `GET /.well-known/jwks.json`, and this API's OpenAPI
/// document at `GET /api/server/v1/flow/openapi.json`, on an actix app or scope.
/// All are open: no authorization header, no cookies; the `flowId` in the body carries the
/// state.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<Wso2State>) {
    cfg.service(
        web::resource(EXECUTE_PATH)
            .app_data(state.clone())
            .route(web::post().to(routes::execute)),
    )
    .service(
        web::resource(SHORT_EXECUTE_PATH)
            .app_data(state.clone())
            .route(web::post().to(routes::execute)),
    )
    .service(
        web::resource(JWKS_PATH)
            .app_data(state.clone())
            .route(web::get().to(routes::jwks)),
    )
    .service(
        web::resource(WELL_KNOWN_JWKS_PATH)
            .app_data(state)
            .route(web::get().to(routes::jwks)),
    )
    .service(web::resource(OPENAPI_PATH).route(web::get().to(openapi::openapi_json)));
}
