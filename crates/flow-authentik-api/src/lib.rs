//! flow-authentik-api's crate root: settings, state, sessions and `configure` (the crate
//! documentation is README.md).
#![doc = include_str!("../README.md")]

pub mod challenge;
mod error;
pub mod executor;
pub mod redirect;
pub mod render;
mod routes;
pub mod session;
mod sources;

use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
use actix_web::cookie::{Key, SameSite};
use actix_web::web;
use flow_engine::{Engine, FlowCatalog};
use flow_http::OriginPolicy;

pub use error::AuthentikError;
pub use redirect::RedirectPolicy;

/// The name executions started here carry ([`flow_engine::Engine::start_via`]): they are
/// continued through this protocol only.
pub const CHANNEL: &str = "authentik";
/// The executor's path prefix; the flow's slug follows.
pub const EXECUTOR_PREFIX: &str = "/api/v3/flows/executor/";
/// authentik's session cookie name.
pub const SESSION_COOKIE: &str = "authentik_session";
/// The largest request body accepted by default (64 KiB: a challenge response is small).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// The shortest session key accepted, in bytes (signing and encryption keys are derived
/// from it).
pub const MIN_SESSION_KEY_BYTES: usize = 64;

/// Settings of the executor API.
#[derive(Debug, Clone)]
pub struct AuthentikSettings {
    /// The server's public URL (`FLOWD_PUBLIC_URL`): the base of `{link}`, and an allowed
    /// redirect origin. An `https` URL makes the session cookie `Secure`.
    pub public_url: String,
    /// Where finished flows may redirect.
    pub redirects: RedirectPolicy,
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Origins whose pages may post to the executor besides flowd's own (the same list as
    /// redirects): a browser request from any other origin gets 403.
    pub origins: OriginPolicy,
}

impl AuthentikSettings {
    /// Settings for `public_url`, allowing redirects to it and to `allowed_origins`.
    pub fn new<'a>(
        public_url: impl Into<String>,
        allowed_origins: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let public_url = public_url.into();
        let mut origins: Vec<&str> = allowed_origins.into_iter().collect();
        origins.push(&public_url);
        let redirects = RedirectPolicy::allowing(origins.iter().copied());
        let origins = OriginPolicy::allowing(origins);
        Self {
            public_url,
            redirects,
            origins,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Whether the session cookie must be `Secure`.
    pub fn secure_cookie(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// What the handlers need: the engine, the catalog (slug → flow) and the settings.
#[derive(Debug)]
pub struct AuthentikState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) catalog: Arc<FlowCatalog>,
    pub(crate) settings: AuthentikSettings,
}

impl AuthentikState {
    /// The state over `engine` and `catalog`.
    pub fn new(
        engine: Arc<Engine>,
        catalog: Arc<FlowCatalog>,
        settings: AuthentikSettings,
    ) -> Self {
        Self {
            engine,
            catalog,
            settings,
        }
    }
}

/// Where sessions live.
#[derive(Clone)]
enum Backend {
    /// In the cookie itself, signed and encrypted.
    Cookie,
    /// In Redis; the cookie holds a signed session id.
    Redis(RedisSessionStore),
}

/// The session configuration: the key and the store.
#[derive(Clone)]
pub struct Sessions {
    key: Key,
    backend: Backend,
    secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Cookie => "cookie",
            Backend::Redis(_) => "redis",
        };
        f.debug_struct("Sessions")
            .field("backend", &backend)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions in an encrypted, signed cookie, with keys derived from `key` (at least
    /// [`MIN_SESSION_KEY_BYTES`] bytes).
    pub fn cookie(key: &[u8], secure: bool) -> Result<Self, AuthentikError> {
        Ok(Self {
            key: session_key(key)?,
            backend: Backend::Cookie,
            secure,
        })
    }

    /// Sessions in Redis at `url`; the cookie holds only a signed session id.
    pub async fn redis(url: &str, key: &[u8], secure: bool) -> Result<Self, AuthentikError> {
        let key = session_key(key)?;
        let store = RedisSessionStore::new(url)
            .await
            .map_err(|error| AuthentikError::SessionStore(error.to_string()))?;
        Ok(Self {
            key,
            backend: Backend::Redis(store),
            secure,
        })
    }

    /// `redis` or `cookie`, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Cookie => "cookie",
            Backend::Redis(_) => "redis",
        }
    }

    /// The middleware over `store`: `authentik_session`, `HttpOnly`, `SameSite=Lax`, `Secure`
    /// behind https, a browser-session cookie.
    fn middleware<S: SessionStore>(&self, store: S) -> SessionMiddleware<S> {
        SessionMiddleware::builder(store, self.key.clone())
            .cookie_name(SESSION_COOKIE.to_owned())
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_secure(self.secure)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(BrowserSession::default())
            .build()
    }
}

impl Sessions {
    /// Mounts `scope` behind this session middleware, so that its handlers read and write the
    /// executor's session (the hosted pages share the `authentik_session` cookie).
    pub fn mount_scope(&self, cfg: &mut web::ServiceConfig, scope: actix_web::Scope) {
        match &self.backend {
            Backend::Cookie => {
                cfg.service(scope.wrap(self.middleware(CookieSessionStore::default())));
            }
            Backend::Redis(store) => {
                cfg.service(scope.wrap(self.middleware(store.clone())));
            }
        }
    }

    /// Mounts `resource` behind this session middleware (see [`Sessions::mount_scope`]).
    pub fn mount_resource(&self, cfg: &mut web::ServiceConfig, resource: actix_web::Resource) {
        match &self.backend {
            Backend::Cookie => {
                cfg.service(resource.wrap(self.middleware(CookieSessionStore::default())));
            }
            Backend::Redis(store) => {
                cfg.service(resource.wrap(self.middleware(store.clone())));
            }
        }
    }
}

fn session_key(key: &[u8]) -> Result<Key, AuthentikError> {
    if key.len() < MIN_SESSION_KEY_BYTES {
        return Err(AuthentikError::SessionKey);
    }
    Key::try_from(key).map_err(|_| AuthentikError::SessionKey)
}

/// Mounts the executor (`GET`/`POST /api/v3/flows/executor/{slug}/`, the trailing slash
/// optional), `GET /api/v3/flows/instances/{slug}/execute/`, `GET /api/v3/core/users/me/`
/// and the cancel URL `GET /flows/-/cancel/`, all behind the session middleware.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    state: web::Data<AuthentikState>,
    sessions: &Sessions,
) {
    match &sessions.backend {
        Backend::Cookie => mount(cfg, state, || {
            sessions.middleware(CookieSessionStore::default())
        }),
        Backend::Redis(store) => mount(cfg, state, || sessions.middleware(store.clone())),
    }
}

fn mount<S: SessionStore + 'static>(
    cfg: &mut web::ServiceConfig,
    state: web::Data<AuthentikState>,
    middleware: impl Fn() -> SessionMiddleware<S>,
) {
    cfg.service(
        web::scope("/api/v3")
            .app_data(state.clone())
            .wrap(middleware())
            .service(
                web::resource(["/flows/executor/{slug}/", "/flows/executor/{slug}"])
                    .route(web::get().to(routes::executor_get))
                    .route(web::post().to(routes::executor_post)),
            )
            .service(
                web::resource([
                    "/flows/instances/{slug}/execute/",
                    "/flows/instances/{slug}/execute",
                ])
                .route(web::get().to(routes::instance_execute)),
            )
            .service(
                web::resource(["/core/users/me/", "/core/users/me"])
                    .route(web::get().to(routes::me)),
            )
            .default_service(web::to(routes::not_found)),
    )
    .service(
        web::resource("/source/oauth/login/{provider}/")
            .app_data(state.clone())
            .wrap(middleware())
            .route(web::get().to(sources::login)),
    )
    .service(
        web::resource("/source/oauth/callback/{provider}/")
            .app_data(state.clone())
            .wrap(middleware())
            .route(web::get().to(sources::callback)),
    )
    .service(
        web::resource(render::CANCEL_PATH)
            .app_data(state)
            .wrap(middleware())
            .route(web::get().to(routes::cancel)),
    );
}
