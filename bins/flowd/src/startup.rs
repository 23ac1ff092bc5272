//! Wiring: open the database, seed the default flows, build the engine and the catalog, mount
//! the HTTP surfaces. `main` and the integration tests share this one path.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use flow_admin_api::{AdminState, AdminToken, DEFAULT_BODY_LIMIT};
use flow_authentik_api::{AuthentikSettings, AuthentikState, Sessions};
use flow_engine::{
    Engine, EngineConfig, FederationSettings, FlowCatalog, FlowQuery, Mailer, OsRandom, Random,
    SmsSender, SystemClock, TenantId, WebhookClient,
};
use flow_federation::{FederationOptions, HttpFederation};
use flow_sms::{FileSmsOutbox, JsonWebhookSms, TwilioSender};
use flow_store::{Database, FileOutbox, SmtpMailer};
use flow_webhooks::{WebhookOptions, WebhookSender};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::{Config, SmsSettings};
use crate::defaults::default_flows;
use crate::ratelimit::RateLimit;

/// The settings key under which a generated admin token's digest is stored.
const ADMIN_TOKEN_SETTING: &str = "admin_token_sha256";
/// The settings key under which the generated session key is stored (hex).
const SESSION_KEY_SETTING: &str = "session_key";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] flow_store::StoreError),
    /// The default flows could not be installed.
    #[error("default flows: {0}")]
    Catalog(#[from] flow_engine::CatalogError),
    /// A default flow file is broken (a build problem).
    #[error("default flows: {0}")]
    Model(#[from] flow_model::ModelError),
    /// A port call failed (a setting could not be read or written).
    #[error("database: {0}")]
    Port(#[from] flow_engine::PortError),
    /// The engine refused its settings.
    #[error("engine: {0}")]
    Engine(#[from] flow_engine::EngineError),
    /// The mailer could not be set up.
    #[error("mail: {0}")]
    Mail(String),
    /// The message templates could not be loaded (`FLOWD_TEMPLATES_DIR`).
    #[error("templates: {0}")]
    Templates(#[from] flow_templates::TemplateError),
    /// The text-message sender could not be set up.
    #[error("sms: {0}")]
    Sms(String),
    /// The webhook sender could not be set up (its secret).
    #[error("webhooks: {0}")]
    Webhooks(String),
    /// The executor's sessions could not be set up (key, Redis).
    #[error("sessions: {0}")]
    Sessions(#[from] flow_authentik_api::AuthentikError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The composed services, before any HTTP.
pub struct Services {
    /// The database (also the flow repository and the engine's stores).
    pub database: Arc<Database>,
    /// The flow catalog.
    pub catalog: Arc<FlowCatalog>,
    /// The engine.
    pub engine: Arc<Engine>,
    /// The webhook signing secret this server generated and keeps in the database (no
    /// `FLOWD_WEBHOOK_SECRET`), for the admin API to show.
    pub webhook_secret: Option<String>,
}

impl Services {
    /// Opens the database (applying migrations) and builds catalog and engine.
    pub fn open(config: &Config) -> Result<Self, StartError> {
        let database = Arc::new(Database::open(&config.database_url)?);
        warn_about_identifiers(&database);
        let catalog = Arc::new(FlowCatalog::new(
            database.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
        ));
        let templates = Arc::new(match &config.templates_dir {
            Some(dir) => flow_templates::Templates::with_overrides(dir)?,
            None => flow_templates::Templates::shipped(),
        });
        for path in templates.ignored() {
            tracing::warn!(file = %path.display(), "FLOWD_TEMPLATES_DIR: not a template file, ignored");
        }
        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(
                SmtpMailer::from_url(url, "flowd@localhost", templates.clone())
                    .map_err(|e| StartError::Mail(e.to_string()))?,
            ),
            None => Arc::new(
                FileOutbox::new(&config.outbox_dir, "flowd@localhost", templates.clone())
                    .map_err(|e| StartError::Mail(e.to_string()))?,
            ),
        };
        let engine_config = EngineConfig {
            hash: config.password_hash,
            event_retention_secs: i64::from(config.event_retention_days).saturating_mul(86_400),
            passkeys: config.passkeys.clone(),
            federation: FederationSettings::for_public_url(&config.public_url),
            ..EngineConfig::recommended()
        };
        let mut ports = database.ports(mailer);
        ports.federation = Some(Arc::new(HttpFederation::new(FederationOptions {
            timeout: Duration::from_millis(config.federation_timeout_ms),
        })));
        let (webhook_secrets, webhook_secret) = webhook_secrets(&database, config)?;
        let webhooks = Arc::new(
            WebhookSender::new(WebhookOptions {
                secrets: webhook_secrets,
                allow: config.webhook_allow.clone(),
                max_in_flight: config.webhook_max_in_flight,
            })
            .map_err(|error| StartError::Webhooks(error.to_string()))?,
        );
        ports.webhooks = Some(webhooks.clone());
        ports.sms = sms_sender(&config.sms, webhooks, templates)?;
        // The file's providers are the default tenant's, as written there (admin API changes
        // to them last until the next start).
        for provider in &config.identity_providers {
            ports
                .identity_providers
                .put(&TenantId::default(), provider)?;
        }
        let engine = Arc::new(Engine::new(engine_config, ports)?);
        Ok(Self {
            database,
            catalog,
            engine,
            webhook_secret,
        })
    }

    /// Installs the default flows when the tenant has no flows at all (a first start): an
    /// operator who deletes a default flow does not get it back on the next start.
    pub fn seed_defaults(&self, tenant: &TenantId) -> Result<usize, StartError> {
        let existing = self.catalog.list(
            tenant,
            &FlowQuery {
                flow_type: None,
                status: None,
                after: None,
                limit: 1,
            },
        )?;
        if existing.total > 0 {
            return Ok(0);
        }
        Ok(self
            .catalog
            .install_defaults(tenant, &default_flows()?)?
            .len())
    }

    /// The admin token: `FLOWD_ADMIN_TOKEN` if set; else the digest stored at an earlier start;
    /// else a new random token whose digest is stored. Returns the token and, when it was just
    /// generated, its clear text (to be shown once).
    pub fn admin_token(&self, config: &Config) -> Result<(AdminToken, Option<String>), StartError> {
        if let Some(token) = &config.admin_token {
            return Ok((AdminToken::from_token(token), None));
        }
        if let Some(digest) = self
            .database
            .setting(&TenantId::default(), ADMIN_TOKEN_SETTING)?
            .as_deref()
            .and_then(decode_digest)
        {
            return Ok((AdminToken::from_digest(digest), None));
        }
        let token = format!("fdt_{}", uuid::Uuid::new_v4().simple());
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if self.database.insert_setting(
            &TenantId::default(),
            ADMIN_TOKEN_SETTING,
            &hex::encode(digest),
        )? {
            Ok((AdminToken::from_digest(digest), Some(token)))
        } else {
            // Another replica generated one at the same moment: use theirs.
            let stored = self
                .database
                .setting(&TenantId::default(), ADMIN_TOKEN_SETTING)?;
            let digest = stored.as_deref().and_then(decode_digest).unwrap_or(digest);
            Ok((AdminToken::from_digest(digest), None))
        }
    }
}

impl Services {
    /// The executor's session key: `FLOWD_SESSION_KEY` if set; else the key stored at an
    /// earlier start; else 64 random bytes, stored (hex) so that restarts and replicas share
    /// sessions.
    pub fn session_key(&self, config: &Config) -> Result<Vec<u8>, StartError> {
        if let Some(key) = &config.session_key {
            return Ok(key.as_bytes().to_vec());
        }
        let tenant = TenantId::default();
        let stored = |database: &Database| -> Result<Option<Vec<u8>>, StartError> {
            Ok(database
                .setting(&tenant, SESSION_KEY_SETTING)?
                .and_then(|text| hex::decode(text).ok())
                .filter(|key| key.len() >= flow_authentik_api::MIN_SESSION_KEY_BYTES))
        };
        if let Some(key) = stored(&self.database)? {
            return Ok(key);
        }
        let mut key = vec![0u8; 64];
        self.engine.ports().random.fill(&mut key);
        if self
            .database
            .insert_setting(&tenant, SESSION_KEY_SETTING, &hex::encode(&key))?
        {
            return Ok(key);
        }
        // Another replica stored one at the same moment: use theirs.
        Ok(stored(&self.database)?.unwrap_or(key))
    }

    /// The executor's session configuration: Redis when `FLOWD_REDIS_URL` is set, else the
    /// encrypted cookie.
    pub async fn sessions(&self, config: &Config) -> Result<Sessions, StartError> {
        let key = self.session_key(config)?;
        let secure = config.public_url.starts_with("https://");
        Ok(match &config.redis_url {
            Some(url) => Sessions::redis(url, &key, secure).await?,
            None => Sessions::cookie(&key, secure)?,
        })
    }
}

/// The text-message sender `FLOWD_SMS_SENDER` names, with the texts of the message
/// templates; the SMS webhook shares the webhook nodes' sender (its secrets, allow list and
/// in-flight limit).
fn sms_sender(
    settings: &SmsSettings,
    webhooks: Arc<WebhookSender>,
    templates: Arc<flow_templates::Templates>,
) -> Result<Option<Arc<dyn SmsSender>>, StartError> {
    let renderer: flow_sms::Renderer = Arc::new(move |message| {
        templates
            .render_sms(message)
            .map_err(|error| flow_engine::PortError::Unavailable(format!("sms template: {error}")))
    });
    let failed = |error: flow_sms::SmsConfigError| StartError::Sms(error.to_string());
    let sender: Arc<dyn SmsSender> = match settings {
        SmsSettings::None => return Ok(None),
        SmsSettings::File(dir) => Arc::new(FileSmsOutbox::new(dir, renderer).map_err(failed)?),
        SmsSettings::Twilio(twilio) => {
            Arc::new(TwilioSender::new(twilio.clone(), renderer).map_err(failed)?)
        }
        SmsSettings::Webhook {
            url,
            secret,
            timeout,
        } => {
            let client: Arc<dyn WebhookClient> = webhooks;
            Arc::new(
                JsonWebhookSms::new(url.clone(), client, secret.clone(), renderer)
                    .map_err(failed)?
                    .with_timeout(*timeout),
            )
        }
    };
    Ok(Some(sender))
}

/// The setting that keeps a generated webhook secret.
const WEBHOOK_SECRET_SETTING: &str = "webhook_secret";

/// The secrets webhook calls are signed with: `FLOWD_WEBHOOK_SECRET`'s; else the one kept in
/// the database, generated at the first start (of two replicas starting together, one
/// generates it and both use it). The second value is the generated one, to show.
fn webhook_secrets(
    database: &Database,
    config: &Config,
) -> Result<(Vec<String>, Option<String>), StartError> {
    if !config.webhook_secrets.is_empty() {
        return Ok((config.webhook_secrets.clone(), None));
    }
    let tenant = TenantId::default();
    let secret = match database.setting(&tenant, WEBHOOK_SECRET_SETTING)? {
        Some(secret) => secret,
        None => {
            let generated = flow_webhooks::generate_secret(|bytes| OsRandom.fill(bytes));
            if database.insert_setting(&tenant, WEBHOOK_SECRET_SETTING, &generated)? {
                generated
            } else {
                database
                    .setting(&tenant, WEBHOOK_SECRET_SETTING)?
                    .ok_or_else(|| StartError::Webhooks("the webhook secret vanished".into()))?
            }
        }
    };
    Ok((vec![secret.clone()], Some(secret)))
}

fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text, &mut digest).ok()?;
    Some(digest)
}

/// A running server: its port and the future that runs it.
pub struct Application {
    /// The port it listens on (useful with port 0).
    pub port: u16,
    /// The server; await it to run until shutdown (SIGINT/SIGTERM stop it gracefully).
    pub server: Server,
    /// The admin token, if it was generated by this start (shown once, never logged).
    pub generated_admin_token: Option<String>,
}

impl Application {
    /// Opens everything and binds the listener. Async because the Redis session store
    /// connects on creation.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        crate::metrics::install();
        let services = Services::open(config)?;
        let tenant = TenantId::default();
        let seeded = services.seed_defaults(&tenant)?;
        if seeded > 0 {
            tracing::info!(flows = seeded, "installed the default flows");
        }
        let (token, generated_admin_token) = services.admin_token(config)?;
        let sessions = services.sessions(config).await?;
        tracing::info!(store = sessions.backend_name(), "executor sessions");
        let listener = TcpListener::bind(config.listen).map_err(|source| StartError::Listen {
            address: config.listen.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map(|address| address.port())
            .unwrap_or(0);
        let admin = web::Data::new(AdminState {
            webhook_secret: services.webhook_secret.clone(),
            catalog: services.catalog.clone(),
            engine: Some(services.engine.clone()),
            invitations: Some(Arc::new(flow_engine::InvitationService::new(
                services.engine.ports(),
                invitation_link(&config.public_url),
            ))),
            accounts: Some(Arc::new(flow_engine::Accounts::new(
                services.engine.clone(),
            ))),
            token,
            body_limit: DEFAULT_BODY_LIMIT,
            origins: flow_http::OriginPolicy::allowing(
                std::iter::once(config.public_url.as_str())
                    .chain(config.redirect_origins.iter().map(String::as_str)),
            ),
            public_url: config.public_url.clone(),
        });
        let wso2 = web::Data::new(
            flow_wso2_api::Wso2State::new(
                services.engine.clone(),
                services.catalog.clone(),
                flow_wso2_api::Wso2Settings::new(config.public_url.clone()),
            )
            .with_key_store(services.database.clone()),
        );
        let authentik_settings = AuthentikSettings::new(
            config.public_url.clone(),
            config.redirect_origins.iter().map(String::as_str),
        );
        let pages = web::Data::new(flow_pages::PagesState::new(
            services.catalog.clone(),
            config.pages.clone(),
            authentik_settings.origins.clone(),
        ));
        let authentik = web::Data::new(AuthentikState::new(
            services.engine.clone(),
            services.catalog.clone(),
            authentik_settings,
        ));
        let database = web::Data::from(services.database.clone());
        let rate_limit = web::Data::new(RateLimit::new(
            config.rate_limit_per_minute,
            config.rate_limit_burst,
        ));
        actix_web::rt::spawn(housekeeping(services.engine.clone(), rate_limit.clone()));
        let budget = ConnectionBudget::for_config(config);
        let limits = Arc::new(
            flow_http::ConnectionLimits::new(config.max_connections_per_address, budget.total)
                .exempting(["/healthz", "/readyz"]),
        );
        let deadline = web::Data::new(flow_http::BodyDeadline(Duration::from_secs(
            config.body_timeout_secs,
        )));
        let server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::from_fn(flow_http::enforce_body_deadline))
                .wrap(middleware::from_fn(flow_http::refuse_over_limit))
                .wrap(middleware::from_fn(crate::ratelimit::enforce))
                .wrap(middleware::from_fn(crate::telemetry::request_span))
                .app_data(database.clone())
                .app_data(rate_limit.clone())
                .app_data(deadline.clone())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(crate::metrics::render))
                .configure(|cfg| flow_admin_api::configure(cfg, admin.clone()))
                .configure(|cfg| flow_wso2_api::configure(cfg, wso2.clone()))
                .configure(|cfg| flow_authentik_api::configure(cfg, authentik.clone(), &sessions))
                .configure(|cfg| flow_pages::configure(cfg, pages.clone(), &sessions))
                .default_service(web::to(not_found))
        })
        .workers(budget.workers)
        .max_connections(budget.per_worker)
        .on_connect(move |connection, extensions| limits.on_connect(connection, extensions))
        .listen(listener)
        .map_err(|source| StartError::Listen {
            address: config.listen.to_string(),
            source,
        })?
        .run();
        Ok(Self {
            port,
            server,
            generated_admin_token,
        })
    }
}

/// File descriptors kept for everything but client connections (database pool, SQLite's WAL
/// files, Redis, mail, logs).
const RESERVED_FDS: usize = 128;
/// Connections accepted beyond the total cap, so that health checks still reach a full server.
const HEALTH_ROOM: usize = 64;

/// How many connections the server accepts: the configured total cap, lowered to fit the
/// process's file descriptor limit (raised to its hard limit first), with room above it for
/// health checks; and the per-worker accept limit that keeps `accept()` from failing.
struct ConnectionBudget {
    workers: usize,
    total: usize,
    per_worker: usize,
}

impl ConnectionBudget {
    fn for_config(config: &Config) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let descriptors = rlimit::increase_nofile_limit(u64::MAX)
            .ok()
            .and_then(|limit| usize::try_from(limit).ok())
            .unwrap_or(1024);
        let usable = descriptors
            .saturating_sub(RESERVED_FDS)
            .max(HEALTH_ROOM * 2);
        let total = config.max_connections.min(usable - HEALTH_ROOM);
        if total < config.max_connections {
            tracing::warn!(
                configured = config.max_connections,
                used = total,
                descriptors,
                "FLOWD_MAX_CONNECTIONS is above what the file descriptor limit allows; lowered"
            );
        }
        Self {
            workers,
            total,
            per_worker: (total + HEALTH_ROOM).div_ceil(workers),
        }
    }
}

/// The link mailed with an invitation: where a client application serves invited
/// registration, with WSO2's query parameters (see `docs/wso2-api.md`).
fn invitation_link(public_url: &str) -> String {
    format!(
        "{}/register?flowType=INVITED_USER_REGISTRATION&confirmationCode={}",
        public_url.trim_end_matches('/'),
        flow_engine::CODE_PLACEHOLDER
    )
}

/// How often expired executions and one-time codes are deleted.
const HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(300);

/// Deletes expired executions and one-time codes every [`HOUSEKEEPING_PERIOD`], for as long as
/// the server runs, and forgets idle addresses of the rate limiter. Expired records are refused
/// anyway; this only keeps the tables small. Every replica may run it: the deletes are
/// idempotent.
async fn housekeeping(engine: Arc<Engine>, rate_limit: web::Data<RateLimit>) {
    let start = actix_web::rt::time::Instant::now() + HOUSEKEEPING_PERIOD;
    let mut ticks = actix_web::rt::time::interval_at(start, HOUSEKEEPING_PERIOD);
    loop {
        ticks.tick().await;
        rate_limit.forget_idle();
        let engine = engine.clone();
        match web::block(move || engine.delete_expired()).await {
            Ok(Ok((executions, codes))) if executions + codes > 0 => {
                tracing::info!(executions, codes, "deleted expired records");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "housekeeping failed"),
            Err(error) => tracing::warn!(%error, "housekeeping did not run"),
        }
    }
}

/// Alive: the process answers.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready: the database answers.
async fn readyz(database: web::Data<Database>) -> HttpResponse {
    let database = database.into_inner();
    match web::block(move || database.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ready"})),
        _ => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "code": "database_unavailable"})),
    }
}

/// Any path no surface serves.
async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"code": "not_found", "message": "no such endpoint"}))
}

/// Logs, once at start, what the identifier backfill of older users needs an operator to know
/// (accounts that look alike, identifiers left unnormalized, a backfill that failed). User ids
/// only: identifiers are personal data.
fn warn_about_identifiers(database: &Database) {
    let report = database.identifier_backfill();
    if report.skeletons > 0 {
        tracing::info!(
            skeletons = report.skeletons,
            renormalized = report.renormalized,
            "identifier skeletons computed for existing users"
        );
    }
    if !report.needs_attention() {
        return;
    }
    let ids = |pairs: &[(flow_engine::TenantId, flow_engine::UserId)]| {
        pairs
            .iter()
            .map(|(tenant, id)| format!("{tenant}/{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    tracing::warn!(
        look_alikes = %ids(&report.look_alikes),
        kept_unnormalized = %ids(&report.kept),
        error = report.error.as_deref().unwrap_or(""),
        "existing users have look-alike or unnormalizable identifiers; all accounts are kept, \
         new look-alikes are refused (docs/operating.md, \"Identifiers\")"
    );
}
