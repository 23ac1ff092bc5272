//! Configuration: built-in defaults, then an optional `flowd.toml`, then `FLOWD_*` environment
//! variables. The variable names are a contract with operators; a bad value stops start-up with
//! a message that names the setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use flow_engine::HashParams;
use serde::Deserialize;

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    /// The environment variable (or file key) that is wrong.
    pub setting: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(setting: &str, message: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            message: message.into(),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The server's settings, checked.
#[derive(Clone)]
pub struct Config {
    /// `FLOWD_LISTEN`: address and port to listen on.
    pub listen: SocketAddr,
    /// `FLOWD_DATABASE_URL`: `sqlite://file`, `sqlite::memory:` or `postgres://...`.
    pub database_url: String,
    /// `FLOWD_ADMIN_TOKEN`: the bootstrap admin bearer token, if the operator set one.
    pub admin_token: Option<String>,
    /// `FLOWD_PUBLIC_URL`: the external base URL.
    pub public_url: String,
    /// `FLOWD_SMTP_URL`: `smtp://host:port` or `smtps://...`; `None` writes mail to `outbox_dir`.
    pub smtp_url: Option<String>,
    /// `FLOWD_OUTBOX_DIR`: where mail goes without SMTP (default `./outbox`).
    pub outbox_dir: PathBuf,
    /// `FLOWD_LOG`: the log filter (`info`, `flowd=debug,info`).
    pub log: String,
    /// `FLOWD_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `FLOWD_SESSION_KEY`: the key (64 bytes or more) of the executor's session cookies;
    /// `None` uses a random key generated at the first start and kept in the database.
    pub session_key: Option<String>,
    /// `FLOWD_REDIS_URL`: keep executor sessions in Redis instead of the cookie.
    pub redis_url: Option<String>,
    /// `FLOWD_REDIRECT_ORIGINS`: comma-separated origins a finished flow may redirect to
    /// (besides relative paths and the public URL).
    pub redirect_origins: Vec<String>,
    /// `FLOWD_RATE_LIMIT_PER_MINUTE`: requests per minute one client address may make to the
    /// flow endpoints (default 300; 0 turns the limit off).
    pub rate_limit_per_minute: u32,
    /// `FLOWD_RATE_LIMIT_BURST`: how many of them may come at once (default 60).
    pub rate_limit_burst: u32,
    /// `FLOWD_EVENT_RETENTION_DAYS`: how long the event log keeps events (default 90; 0 keeps
    /// them forever).
    pub event_retention_days: u32,
    /// Seconds a request's body may take to arrive once its headers are in
    /// (`FLOWD_BODY_TIMEOUT_SECS`, default 10, 1 to 300); past that: 408 and the connection
    /// is closed.
    pub body_timeout_secs: u64,
    /// Connections open at once, in all (`FLOWD_MAX_CONNECTIONS`, default 4096; lowered to fit
    /// the process's file descriptor limit). Past it, requests get 503 except health checks.
    pub max_connections: usize,
    /// Connections open at once from one client address (`FLOWD_MAX_CONNECTIONS_PER_ADDRESS`,
    /// default 128; 0: no cap). Behind a reverse proxy every client shares its address.
    pub max_connections_per_address: usize,
    /// The argon2id cost of new password hashes: `FLOWD_PASSWORD_HASH_MEMORY_KIB` (default
    /// 19456), `FLOWD_PASSWORD_HASH_ITERATIONS` (2), `FLOWD_PASSWORD_HASH_PARALLELISM` (1).
    /// Below OWASP's minimum start-up fails, unless `FLOWD_PASSWORD_HASH_ALLOW_WEAK=true`
    /// (tests and benchmarks only).
    pub password_hash: HashParams,
    /// The hosted pages' branding: `FLOWD_PAGES_LOGO_URL` (a path on this server or an
    /// http(s) URL) and `FLOWD_PAGES_ACCENT_COLOR` (`#rgb` or `#rrggbb`).
    pub pages: flow_pages::PagesSettings,
    /// The passkeys' relying party: `FLOWD_PASSKEY_RP_ID` (default: the public URL's host;
    /// `localhost` for a loopback address), `FLOWD_PASSKEY_ORIGINS` (comma-separated; default:
    /// the public URL's origin), `FLOWD_PASSKEY_RP_NAME` (`flowd`) and
    /// `FLOWD_PASSKEY_SIGN_COUNT` (`refuse` or `report` a counter that went backwards).
    pub passkeys: flow_engine::PasskeySettings,
    /// `FLOWD_FEDERATION_TIMEOUT_MS`: how long one call to an identity provider may take
    /// (discovery, token, userinfo; default 10000, 100 to 60000).
    pub federation_timeout_ms: u64,
    /// `[[identity_providers]]` in `flowd.toml`: providers written to the default tenant at
    /// every start (replacing one with the same id), read like an admin API body.
    pub identity_providers: Vec<flow_engine::IdentityProvider>,
    /// `FLOWD_WEBHOOK_SECRET`: comma-separated `whsec_…` secrets webhook calls are signed
    /// with (several during a rotation); none: one generated for the tenant at the first
    /// start, shown by `GET /api/admin/webhooks/secret`.
    pub webhook_secrets: Vec<String>,
    /// `FLOWD_WEBHOOK_ALLOW`: comma-separated addresses, CIDRs or host names webhooks may
    /// reach although they are loopback, private, link-local or metadata addresses.
    pub webhook_allow: Vec<String>,
    /// `FLOWD_WEBHOOK_MAX_IN_FLIGHT`: webhook calls at once (default 32).
    pub webhook_max_in_flight: usize,
    /// How text messages are sent: `FLOWD_SMS_SENDER` and its settings (docs/messaging.md).
    pub sms: SmsSettings,
    /// `FLOWD_TEMPLATES_DIR`: message templates that replace the shipped ones
    /// (docs/messaging.md); unset: the shipped ones.
    pub templates_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    /// Never prints the admin token or credentials in the database URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &redact_url(&self.database_url))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("outbox_dir", &self.outbox_dir)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("session_key", &self.session_key.as_ref().map(|_| "<set>"))
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redirect_origins", &self.redirect_origins)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("event_retention_days", &self.event_retention_days)
            .field("body_timeout_secs", &self.body_timeout_secs)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("password_hash", &self.password_hash)
            .field("passkeys", &self.passkeys)
            .field("identity_providers", &self.identity_providers)
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("webhook_allow", &self.webhook_allow)
            .field("sms", &self.sms)
            .field("templates_dir", &self.templates_dir)
            .finish()
    }
}

/// The URL without its password (`postgres://user:***@host/db`).
pub fn redact_url(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, rest)), Some(at)) if at > scheme.len() => {
            let credentials = rest.get(..at - scheme.len() - 3).unwrap_or("");
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***{}", url.get(at..).unwrap_or(""))
        }
        _ => url.to_owned(),
    }
}

/// The raw layered values, before checking.
#[derive(Debug, Deserialize)]
struct Raw {
    listen: String,
    database_url: String,
    admin_token: Option<String>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    outbox_dir: String,
    log: String,
    log_format: String,
    session_key: Option<String>,
    redis_url: Option<String>,
    redirect_origins: Option<String>,
    rate_limit_per_minute: u32,
    rate_limit_burst: u32,
    event_retention_days: u32,
    body_timeout_secs: u64,
    max_connections: usize,
    max_connections_per_address: usize,
    password_hash_memory_kib: u32,
    password_hash_iterations: u32,
    password_hash_parallelism: u32,
    password_hash_allow_weak: bool,
    pages_logo_url: Option<String>,
    pages_accent_color: Option<String>,
    passkey_rp_id: Option<String>,
    passkey_origins: Option<String>,
    passkey_rp_name: String,
    passkey_sign_count: String,
    federation_timeout_ms: u64,
    webhook_secret: Option<String>,
    webhook_allow: Option<String>,
    webhook_max_in_flight: usize,
    templates_dir: Option<String>,
    sms_sender: String,
    sms_outbox_dir: Option<String>,
    sms_timeout_ms: u64,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    twilio_from: Option<String>,
    twilio_base_url: Option<String>,
    sms_webhook_url: Option<String>,
    sms_webhook_secret: Option<String>,
    /// `[[identity_providers]]` tables of the file (no environment form).
    #[serde(default)]
    identity_providers: Vec<serde_json::Value>,
}

/// The variable name of a setting, for messages.
fn var(key: &str) -> String {
    format!("FLOWD_{}", key.to_uppercase())
}

impl Config {
    /// Loads defaults, then `flowd.toml` in the working directory (or the file named by
    /// `FLOWD_CONFIG`) if it exists, then the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("FLOWD_CONFIG").unwrap_or_else(|_| "flowd.toml".to_owned());
        let production = HashParams::production();
        let builder = ::config::Config::builder()
            .set_default("listen", "127.0.0.1:8080")
            .and_then(|b| b.set_default("database_url", "sqlite://flowd.db"))
            .and_then(|b| b.set_default("outbox_dir", "outbox"))
            .and_then(|b| b.set_default("log", "info"))
            .and_then(|b| b.set_default("log_format", "text"))
            .and_then(|b| b.set_default("rate_limit_per_minute", 300))
            .and_then(|b| b.set_default("rate_limit_burst", 60))
            .and_then(|b| b.set_default("event_retention_days", 90))
            .and_then(|b| b.set_default("body_timeout_secs", 10))
            .and_then(|b| b.set_default("max_connections", 4096))
            .and_then(|b| b.set_default("max_connections_per_address", 128))
            .and_then(|b| b.set_default("password_hash_memory_kib", i64::from(production.m_cost)))
            .and_then(|b| b.set_default("password_hash_iterations", i64::from(production.t_cost)))
            .and_then(|b| b.set_default("password_hash_parallelism", i64::from(production.p_cost)))
            .and_then(|b| b.set_default("password_hash_allow_weak", false))
            .and_then(|b| b.set_default("passkey_rp_name", "flowd"))
            .and_then(|b| b.set_default("passkey_sign_count", "refuse"))
            .and_then(|b| b.set_default("federation_timeout_ms", 10_000))
            .and_then(|b| b.set_default("sms_sender", "file"))
            .and_then(|b| b.set_default("sms_timeout_ms", 10_000))
            .and_then(|b| {
                b.set_default(
                    "webhook_max_in_flight",
                    i64::try_from(flow_webhooks::DEFAULT_MAX_IN_FLIGHT).unwrap_or(32),
                )
            })
            .map_err(|error| ConfigError::new("defaults", error.to_string()))?
            .add_source(
                ::config::File::with_name(&file)
                    .format(::config::FileFormat::Toml)
                    .required(false),
            )
            .add_source(::config::Environment::with_prefix("FLOWD").ignore_empty(true));
        let raw: Raw = builder
            .build()
            .and_then(|settings| settings.try_deserialize())
            .map_err(|error| ConfigError::new(&file, error.to_string()))?;
        Self::check(raw)
    }

    fn check(raw: Raw) -> Result<Self, ConfigError> {
        let listen = raw.listen.parse::<SocketAddr>().map_err(|_| {
            ConfigError::new(
                &var("listen"),
                format!("{:?} is not an address:port", raw.listen),
            )
        })?;
        let database_url = raw.database_url.trim().to_owned();
        let known_database = ["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| database_url.starts_with(p));
        if !known_database {
            return Err(ConfigError::new(
                &var("database_url"),
                "use sqlite://FILE, sqlite::memory: or postgres://USER@HOST/DB",
            ));
        }
        let public_url = match raw.public_url {
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                    return Err(ConfigError::new(
                        &var("public_url"),
                        "must be an http:// or https:// URL",
                    ));
                }
                url
            }
            None => format!("http://{listen}"),
        };
        if let Some(smtp) = &raw.smtp_url
            && !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://"))
        {
            return Err(ConfigError::new(
                &var("smtp_url"),
                "must be smtp://HOST:PORT or smtps://HOST:PORT",
            ));
        }
        if raw
            .admin_token
            .as_deref()
            .is_some_and(|token| token.len() < 16)
        {
            return Err(ConfigError::new(
                &var("admin_token"),
                "must be at least 16 characters",
            ));
        }
        let log_format = match raw.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    &var("log_format"),
                    format!("{other:?}: use text or json"),
                ));
            }
        };
        if raw
            .session_key
            .as_deref()
            .is_some_and(|key| key.len() < flow_authentik_api::MIN_SESSION_KEY_BYTES)
        {
            return Err(ConfigError::new(
                &var("session_key"),
                "must be at least 64 characters (e.g. `openssl rand -hex 64`)",
            ));
        }
        if let Some(redis) = &raw.redis_url
            && !(redis.starts_with("redis://") || redis.starts_with("rediss://"))
        {
            return Err(ConfigError::new(
                &var("redis_url"),
                "must be redis://HOST:PORT or rediss://HOST:PORT",
            ));
        }
        let mut redirect_origins = Vec::new();
        for origin in raw.redirect_origins.as_deref().unwrap_or("").split(',') {
            let origin = origin.trim().trim_end_matches('/');
            if origin.is_empty() {
                continue;
            }
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::new(
                    &var("redirect_origins"),
                    format!("{origin:?} is not an http:// or https:// origin"),
                ));
            }
            redirect_origins.push(origin.to_owned());
        }
        if !(1..=300).contains(&raw.body_timeout_secs) {
            return Err(ConfigError::new(
                &var("body_timeout_secs"),
                "must be from 1 to 300 seconds",
            ));
        }
        if raw.max_connections < 16 {
            return Err(ConfigError::new(
                &var("max_connections"),
                "must be at least 16",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&raw.log)
            .map_err(|error| ConfigError::new(&var("log"), error.to_string()))?;
        let password_hash = HashParams {
            m_cost: raw.password_hash_memory_kib,
            t_cost: raw.password_hash_iterations,
            p_cost: raw.password_hash_parallelism,
        };
        password_hash
            .check()
            .map_err(|message| ConfigError::new(&var("password_hash_memory_kib"), message))?;
        if !password_hash.meets_owasp_minimum() && !raw.password_hash_allow_weak {
            return Err(ConfigError::new(
                &var("password_hash_memory_kib"),
                format!(
                    "m={} KiB, t={}, p={} is below OWASP's minimum for argon2id \
                     (19456 KiB with 2 iterations, 12288 with 3, 9216 with 4, 7168 with 5, \
                     47104 with 1); FLOWD_PASSWORD_HASH_ALLOW_WEAK=true allows it for tests",
                    password_hash.m_cost, password_hash.t_cost, password_hash.p_cost
                ),
            ));
        }
        let passkeys = passkey_settings(
            PasskeyVars {
                rp_id: raw.passkey_rp_id.as_deref(),
                origins: raw.passkey_origins.as_deref(),
                rp_name: &raw.passkey_rp_name,
                sign_count: &raw.passkey_sign_count,
            },
            &public_url,
        )?;
        let pages = flow_pages::PagesSettings::new(raw.pages_logo_url, raw.pages_accent_color)
            .map_err(|error| match error {
                flow_pages::PagesError::Setting { setting, message } => {
                    ConfigError::new(setting, message)
                }
                other => ConfigError::new("FLOWD_PAGES", other.to_string()),
            })?;
        if !(100..=60_000).contains(&raw.federation_timeout_ms) {
            return Err(ConfigError::new(
                &var("federation_timeout_ms"),
                "must be between 100 and 60000",
            ));
        }
        let identity_providers = identity_providers(raw.identity_providers)?;
        let list = |text: Option<&str>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let webhook_secrets = list(raw.webhook_secret.as_deref());
        let webhook_allow = list(raw.webhook_allow.as_deref());
        if let Err(error) = flow_webhooks::WebhookSender::new(flow_webhooks::WebhookOptions {
            secrets: webhook_secrets.clone(),
            allow: webhook_allow.clone(),
            max_in_flight: raw.webhook_max_in_flight,
        }) {
            let setting = match error {
                flow_webhooks::WebhookConfigError::InvalidSecret { .. } => "webhook_secret",
                flow_webhooks::WebhookConfigError::InvalidAllowEntry { .. } => "webhook_allow",
                _ => "webhook_max_in_flight",
            };
            return Err(ConfigError::new(&var(setting), error.to_string()));
        }
        let sms = sms_settings(
            SmsVars {
                sender: &raw.sms_sender,
                outbox_dir: raw.sms_outbox_dir.as_deref(),
                timeout_ms: raw.sms_timeout_ms,
                twilio_account_sid: raw.twilio_account_sid.as_deref(),
                twilio_auth_token: raw.twilio_auth_token.as_deref(),
                twilio_from: raw.twilio_from.as_deref(),
                twilio_base_url: raw.twilio_base_url.as_deref(),
                webhook_url: raw.sms_webhook_url.as_deref(),
                webhook_secret: raw.sms_webhook_secret.as_deref(),
            },
            &raw.outbox_dir,
        )?;
        Ok(Self {
            passkeys,
            sms,
            templates_dir: raw.templates_dir.map(PathBuf::from),
            identity_providers,
            webhook_secrets,
            webhook_allow,
            webhook_max_in_flight: raw.webhook_max_in_flight,
            federation_timeout_ms: raw.federation_timeout_ms,
            listen,
            database_url,
            admin_token: raw.admin_token,
            public_url,
            smtp_url: raw.smtp_url,
            outbox_dir: PathBuf::from(raw.outbox_dir),
            log: raw.log,
            log_format,
            session_key: raw.session_key,
            redis_url: raw.redis_url,
            redirect_origins,
            rate_limit_per_minute: raw.rate_limit_per_minute,
            rate_limit_burst: raw.rate_limit_burst,
            event_retention_days: raw.event_retention_days,
            body_timeout_secs: raw.body_timeout_secs,
            max_connections: raw.max_connections,
            max_connections_per_address: raw.max_connections_per_address,
            password_hash,
            pages,
        })
    }

    /// Settings for tests: an ephemeral port, the given database, a fixed token, quiet logs.
    pub fn for_tests(database_url: &str, outbox_dir: PathBuf, admin_token: &str) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.to_owned(),
            admin_token: Some(admin_token.to_owned()),
            public_url: "http://127.0.0.1".to_owned(),
            smtp_url: None,
            templates_dir: None,
            sms: SmsSettings::File(outbox_dir.clone()),
            outbox_dir,
            log: "warn".to_owned(),
            log_format: LogFormat::Text,
            session_key: None,
            redis_url: None,
            redirect_origins: Vec::new(),
            // Tests make many requests from one address; the limit has its own test.
            rate_limit_per_minute: 0,
            rate_limit_burst: 0,
            event_retention_days: 90,
            body_timeout_secs: 10,
            max_connections: 4096,
            // Tests open many connections from one address; the cap has its own test.
            max_connections_per_address: 0,
            password_hash: HashParams::production(),
            pages: flow_pages::PagesSettings::default(),
            passkeys: flow_engine::PasskeySettings::for_public_url("http://127.0.0.1"),
            federation_timeout_ms: 10_000,
            identity_providers: Vec::new(),
            webhook_secrets: Vec::new(),
            webhook_allow: Vec::new(),
            webhook_max_in_flight: 32,
        }
    }
}

/// The `[[identity_providers]]` tables, each read like an admin API body (presets, checks).
fn identity_providers(
    tables: Vec<serde_json::Value>,
) -> Result<Vec<flow_engine::IdentityProvider>, ConfigError> {
    tables
        .into_iter()
        .enumerate()
        .map(|(index, table)| {
            let setting = format!("identity_providers[{index}]");
            let serde_json::Value::Object(body) = table else {
                return Err(ConfigError::new(&setting, "must be a table"));
            };
            flow_admin_api::provider_from_settings(body)
                .map_err(|error| ConfigError::new(&setting, error.to_string()))
        })
        .collect()
}

/// How text messages are sent (`FLOWD_SMS_SENDER`).
#[derive(Clone)]
pub enum SmsSettings {
    /// `none`: `send_sms` steps fail with `unsupported_step`.
    None,
    /// `file` (the default): `.sms.json` files in `FLOWD_SMS_OUTBOX_DIR` (default: the mail
    /// outbox).
    File(PathBuf),
    /// `twilio`: `FLOWD_TWILIO_*`.
    Twilio(flow_sms::TwilioSettings),
    /// `webhook`: `FLOWD_SMS_WEBHOOK_URL`, `FLOWD_SMS_WEBHOOK_SECRET`.
    Webhook {
        /// The gateway's URL.
        url: String,
        /// Its own signing secret; `None`: the webhook secrets.
        secret: Option<String>,
        /// The timeout of one call.
        timeout: Duration,
    },
}

impl std::fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::File(dir) => f.debug_tuple("File").field(dir).finish(),
            // TwilioSettings' Debug hides the token.
            Self::Twilio(settings) => f.debug_tuple("Twilio").field(settings).finish(),
            Self::Webhook {
                url,
                secret,
                timeout,
            } => f
                .debug_struct("Webhook")
                .field("url", &redact_url(url))
                .field("secret", &secret.as_ref().map(|_| "<set>"))
                .field("timeout", timeout)
                .finish(),
        }
    }
}

/// The `FLOWD_SMS_*` and `FLOWD_TWILIO_*` variables, as read.
struct SmsVars<'a> {
    sender: &'a str,
    outbox_dir: Option<&'a str>,
    timeout_ms: u64,
    twilio_account_sid: Option<&'a str>,
    twilio_auth_token: Option<&'a str>,
    twilio_from: Option<&'a str>,
    twilio_base_url: Option<&'a str>,
    webhook_url: Option<&'a str>,
    webhook_secret: Option<&'a str>,
}

/// The text-message sender's settings, each checked (a bad one names its variable).
fn sms_settings(vars: SmsVars<'_>, mail_outbox: &str) -> Result<SmsSettings, ConfigError> {
    if !(100..=60_000).contains(&vars.timeout_ms) {
        return Err(ConfigError::new(
            &var("sms_timeout_ms"),
            "must be between 100 and 60000",
        ));
    }
    let timeout = Duration::from_millis(vars.timeout_ms);
    let required = |value: Option<&str>, key: &str| -> Result<String, ConfigError> {
        value
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ConfigError::new(
                    &var(key),
                    format!("must be set when FLOWD_SMS_SENDER={}", vars.sender),
                )
            })
    };
    match vars.sender.trim() {
        "none" => Ok(SmsSettings::None),
        "file" => Ok(SmsSettings::File(PathBuf::from(
            vars.outbox_dir.unwrap_or(mail_outbox),
        ))),
        "twilio" => {
            let settings = flow_sms::TwilioSettings {
                base_url: vars
                    .twilio_base_url
                    .unwrap_or(flow_sms::TWILIO_BASE_URL)
                    .to_owned(),
                account_sid: required(vars.twilio_account_sid, "twilio_account_sid")?,
                auth_token: required(vars.twilio_auth_token, "twilio_auth_token")?,
                from: required(vars.twilio_from, "twilio_from")?,
                timeout,
            };
            flow_sms::TwilioSender::new(settings.clone(), flow_sms::plain_text_renderer())
                .map_err(|error| {
                    let key = match error.setting {
                        "base_url" => "twilio_base_url",
                        "account_sid" => "twilio_account_sid",
                        "auth_token" => "twilio_auth_token",
                        "from" => "twilio_from",
                        _ => "sms_timeout_ms",
                    };
                    ConfigError::new(&var(key), error.reason)
                })?;
            Ok(SmsSettings::Twilio(settings))
        }
        "webhook" => {
            let url = required(vars.webhook_url, "sms_webhook_url")?;
            flow_sms::check_url(&url)
                .map_err(|error| ConfigError::new(&var("sms_webhook_url"), error.reason))?;
            let secret = vars
                .webhook_secret
                .map(str::trim)
                .filter(|secret| !secret.is_empty())
                .map(str::to_owned);
            if let Some(secret) = &secret {
                flow_webhooks::check_secret(secret).map_err(|error| {
                    ConfigError::new(&var("sms_webhook_secret"), error.to_string())
                })?;
            }
            Ok(SmsSettings::Webhook {
                url,
                secret,
                timeout,
            })
        }
        other => Err(ConfigError::new(
            &var("sms_sender"),
            format!("{other:?}: use file, twilio, webhook or none"),
        )),
    }
}

/// The `FLOWD_PASSKEY_*` values as read.
struct PasskeyVars<'a> {
    rp_id: Option<&'a str>,
    origins: Option<&'a str>,
    rp_name: &'a str,
    sign_count: &'a str,
}

/// The passkey settings: derived from the public URL unless `FLOWD_PASSKEY_RP_ID` or
/// `FLOWD_PASSKEY_ORIGINS` say otherwise. (Whether the RP id fits the origins is checked when
/// the engine starts.)
fn passkey_settings(
    raw: PasskeyVars<'_>,
    public_url: &str,
) -> Result<flow_engine::PasskeySettings, ConfigError> {
    let mut settings = flow_engine::PasskeySettings::for_public_url(public_url);
    raw.rp_name.clone_into(&mut settings.rp_name);
    settings.sign_count = flow_engine::SignCountPolicy::parse(raw.sign_count)
        .ok_or_else(|| ConfigError::new(&var("passkey_sign_count"), "use refuse or report"))?;
    if let Some(origins) = raw.origins {
        let mut parsed = Vec::new();
        for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if !(origin.starts_with("https://") || origin.starts_with("http://localhost")) {
                return Err(ConfigError::new(
                    &var("passkey_origins"),
                    format!("{origin:?}: passkeys need https:// (or http://localhost) origins"),
                ));
            }
            parsed.push(origin.trim_end_matches('/').to_owned());
        }
        settings.origins = parsed;
    }
    if let Some(rp_id) = raw.rp_id.map(str::trim) {
        if rp_id.is_empty() || rp_id.contains([':', '/']) {
            return Err(ConfigError::new(
                &var("passkey_rp_id"),
                "a domain name such as example.com",
            ));
        }
        settings.rp_id = Some(rp_id.to_owned());
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> Raw {
        Raw {
            listen: "127.0.0.1:8080".to_owned(),
            database_url: "sqlite://flowd.db".to_owned(),
            admin_token: None,
            public_url: None,
            smtp_url: None,
            outbox_dir: "outbox".to_owned(),
            log: "info".to_owned(),
            log_format: "text".to_owned(),
            session_key: None,
            redis_url: None,
            redirect_origins: None,
            rate_limit_per_minute: 300,
            rate_limit_burst: 60,
            event_retention_days: 90,
            body_timeout_secs: 10,
            max_connections: 4096,
            max_connections_per_address: 128,
            password_hash_memory_kib: 19_456,
            password_hash_iterations: 2,
            password_hash_parallelism: 1,
            password_hash_allow_weak: false,
            pages_logo_url: None,
            pages_accent_color: None,
            passkey_rp_id: None,
            passkey_origins: None,
            passkey_rp_name: "flowd".to_owned(),
            passkey_sign_count: "refuse".to_owned(),
            federation_timeout_ms: 10_000,
            webhook_secret: None,
            webhook_allow: None,
            webhook_max_in_flight: 32,
            templates_dir: None,
            sms_sender: "file".to_owned(),
            sms_outbox_dir: None,
            sms_timeout_ms: 10_000,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_base_url: None,
            sms_webhook_url: None,
            sms_webhook_secret: None,
            identity_providers: Vec::new(),
        }
    }

    #[test]
    fn password_hash_cost_below_owasp_needs_the_explicit_flag() {
        let mut weak = raw();
        weak.password_hash_memory_kib = 1024;
        weak.password_hash_iterations = 1;
        let error = Config::check(weak).map(|_| ()).unwrap_err();
        assert_eq!(error.setting, "FLOWD_PASSWORD_HASH_MEMORY_KIB");
        assert!(error.message.contains("OWASP"), "{}", error.message);
        let mut allowed = raw();
        allowed.password_hash_memory_kib = 1024;
        allowed.password_hash_iterations = 1;
        allowed.password_hash_allow_weak = true;
        assert_eq!(
            Config::check(allowed).unwrap().password_hash,
            HashParams::insecure_for_tests()
        );
        let mut stronger = raw();
        stronger.password_hash_memory_kib = 65_536;
        stronger.password_hash_iterations = 3;
        assert_eq!(
            Config::check(stronger).unwrap().password_hash.m_cost,
            65_536
        );
        // Unusable for argon2 even with the flag.
        let mut unusable = raw();
        unusable.password_hash_parallelism = 0;
        unusable.password_hash_allow_weak = true;
        let error = Config::check(unusable).map(|_| ()).unwrap_err();
        assert_eq!(error.setting, "FLOWD_PASSWORD_HASH_MEMORY_KIB");
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::check(raw()).unwrap();
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert!(config.redirect_origins.is_empty());
    }

    #[test]
    fn redirect_origins_are_a_trimmed_list() {
        let mut raw = raw();
        raw.redirect_origins = Some(" https://a.example/ ,,http://b.example:8080".to_owned());
        let config = Config::check(raw).unwrap();
        assert_eq!(
            config.redirect_origins,
            ["https://a.example", "http://b.example:8080"]
        );
    }

    #[test]
    fn each_bad_value_names_its_setting() {
        type Spoil = fn(&mut Raw);
        let cases: [(Spoil, &str); 15] = [
            (|r| r.body_timeout_secs = 0, "FLOWD_BODY_TIMEOUT_SECS"),
            (|r| r.body_timeout_secs = 301, "FLOWD_BODY_TIMEOUT_SECS"),
            (|r| r.max_connections = 1, "FLOWD_MAX_CONNECTIONS"),
            (|r| r.listen = "nowhere".to_owned(), "FLOWD_LISTEN"),
            (
                |r| r.database_url = "mysql://x".to_owned(),
                "FLOWD_DATABASE_URL",
            ),
            (
                |r| r.public_url = Some("ftp://x.example".to_owned()),
                "FLOWD_PUBLIC_URL",
            ),
            (
                |r| r.smtp_url = Some("mail.example:25".to_owned()),
                "FLOWD_SMTP_URL",
            ),
            (
                |r| r.admin_token = Some("short".to_owned()),
                "FLOWD_ADMIN_TOKEN",
            ),
            (|r| r.log_format = "xml".to_owned(), "FLOWD_LOG_FORMAT"),
            (
                |r| r.pages_logo_url = Some("javascript:alert(1)".to_owned()),
                "FLOWD_PAGES_LOGO_URL",
            ),
            (
                |r| r.pages_accent_color = Some("red".to_owned()),
                "FLOWD_PAGES_ACCENT_COLOR",
            ),
            (|r| r.log = "=[".to_owned(), "FLOWD_LOG"),
            (
                |r| r.session_key = Some("too-short".to_owned()),
                "FLOWD_SESSION_KEY",
            ),
            (
                |r| r.redis_url = Some("127.0.0.1:6379".to_owned()),
                "FLOWD_REDIS_URL",
            ),
            (
                |r| r.redirect_origins = Some("https://ok.example, ftp://x".to_owned()),
                "FLOWD_REDIRECT_ORIGINS",
            ),
        ];
        for (spoil, setting) in cases {
            let mut raw = raw();
            spoil(&mut raw);
            let error = Config::check(raw).unwrap_err();
            assert_eq!(error.setting, setting, "{error}");
        }
    }

    #[test]
    fn identity_providers_of_the_file_are_read_like_admin_bodies() {
        let mut raw = raw();
        raw.identity_providers = vec![serde_json::json!({
            "id": "google", "client_id": "cid", "client_secret": "provider-secret-xyz"
        })];
        let config = Config::check(raw).unwrap();
        let google = &config.identity_providers[0];
        assert_eq!(
            google.issuer.as_deref(),
            Some("https://accounts.google.com")
        );
        assert_eq!(google.client_secret.as_deref(), Some("provider-secret-xyz"));
        assert!(!format!("{config:?}").contains("provider-secret"));
        let mut raw = super::tests::raw();
        raw.identity_providers = vec![serde_json::json!({
            "id": "corp", "type": "oidc", "client_id": "cid", "issuer": "http://idp.example.com"
        })];
        let error = Config::check(raw).unwrap_err();
        assert!(
            error.to_string().contains("identity_providers[0]"),
            "{error}"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let mut raw = raw();
        raw.admin_token = Some("a-very-secret-admin-token".to_owned());
        raw.database_url = "postgres://app:hunter2@db.internal/flowd".to_owned();
        raw.session_key = Some("k".repeat(40) + "session-secret-value-xyz");
        let shown = format!("{:?}", Config::check(raw).unwrap());
        assert!(
            !shown.contains("a-very-secret")
                && !shown.contains("hunter2")
                && !shown.contains("session-secret"),
            "{shown}"
        );
        assert!(
            shown.contains("postgres://app:***@db.internal/flowd"),
            "{shown}"
        );
    }
}
