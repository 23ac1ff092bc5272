//! Test support: the backends under test (with isolation per test), builders of engine values,
//! and a tiny SMTP receiver.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::thread;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use flow_compiler::{PROGRAM_FORMAT, Program};
use flow_engine::memory::MemoryPorts;
use flow_engine::{
    CodeStore, Execution, ExecutionId, ExecutionStatus, ExecutionStore, FlowRepository,
    IdentityLinks, IdentityProviderStore, InvitationStore, KeyStore, LoginAttempts, RequestContext,
    TenantId, UserDirectory,
};
use flow_model::{Flow, FlowType};
use flow_store::Database;
use serde_json::{Map, json};

/// The environment variable naming the PostgreSQL server for tests.
pub(crate) const PG_ENV: &str = "FLOWD_TEST_DATABASE_URL";

/// A store under test: every port, plus whatever must live as long as it.
pub(crate) struct Backend {
    pub(crate) executions: Arc<dyn ExecutionStore>,
    pub(crate) users: Arc<dyn UserDirectory>,
    pub(crate) codes: Arc<dyn CodeStore>,
    pub(crate) flows: Arc<dyn FlowRepository>,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) invitations: Arc<dyn InvitationStore>,
    pub(crate) login_attempts: Arc<dyn LoginAttempts>,
    pub(crate) events: Arc<dyn flow_engine::EventLog>,
    pub(crate) identity_providers: Arc<dyn IdentityProviderStore>,
    /// The user directory's links to provider accounts (on the memory backend the directory
    /// itself, so that deleting a user removes its links).
    pub(crate) identity_links: Arc<dyn IdentityLinks>,
    /// Unique per test, so tests never see each other's rows even in a shared database.
    pub(crate) tenant: TenantId,
    /// The same prefix, another tenant.
    pub(crate) other_tenant: TenantId,
    /// The database, for SQL backends.
    pub(crate) database: Option<Arc<Database>>,
    /// Where a raw connection to the database goes, for SQL backends that can be opened
    /// twice (not a private in-memory SQLite database).
    raw: Option<RawTarget>,
    _keep: Keep,
}

/// The database of a raw connection ([`Backend::raw_sql`]).
enum RawTarget {
    /// A SQLite file at this path.
    Sqlite(String),
    /// PostgreSQL at this URL (with the test's schema as search path).
    Postgres(String),
}

/// What a backend keeps alive (held only for its `Drop`): a temporary directory or a
/// PostgreSQL schema to drop.
#[allow(dead_code)]
enum Keep {
    Nothing,
    Dir(tempfile::TempDir),
    Schema(SchemaGuard),
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn tenants() -> (TenantId, TenantId) {
    let base = unique("t");
    (
        TenantId::new(format!("{base}-a")),
        TenantId::new(format!("{base}-b")),
    )
}

impl Backend {
    fn sql(database: Database, raw: Option<RawTarget>, keep: Keep) -> Self {
        let database = Arc::new(database);
        let (tenant, other_tenant) = tenants();
        Self {
            executions: database.clone(),
            users: database.clone(),
            codes: database.clone(),
            flows: database.clone(),
            keys: database.clone(),
            invitations: database.clone(),
            login_attempts: database.clone(),
            events: database.clone(),
            identity_providers: database.clone(),
            identity_links: database.clone(),
            tenant,
            other_tenant,
            database: Some(database),
            raw,
            _keep: keep,
        }
    }

    /// flow-engine's memory adapters.
    pub(crate) fn memory() -> Self {
        let memory = MemoryPorts::new();
        let (tenant, other_tenant) = tenants();
        Self {
            executions: memory.executions.clone(),
            users: memory.users.clone(),
            codes: memory.codes.clone(),
            flows: memory.flows.clone(),
            keys: memory.keys.clone(),
            invitations: memory.invitations.clone(),
            login_attempts: memory.login_attempts.clone(),
            events: memory.events.clone(),
            identity_providers: memory.identity_providers.clone(),
            identity_links: memory.users.clone(),
            tenant,
            other_tenant,
            database: None,
            raw: None,
            _keep: Keep::Nothing,
        }
    }

    /// A SQLite file in a fresh temporary directory (in a subdirectory that open creates).
    pub(crate) fn sqlite_file() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/flowd.db").display().to_string();
        let database = Database::open(&format!("sqlite://{path}")).unwrap();
        Self::sql(database, Some(RawTarget::Sqlite(path)), Keep::Dir(dir))
    }

    /// A private in-memory SQLite database.
    pub(crate) fn sqlite_memory() -> Self {
        Self::sql(
            Database::open("sqlite::memory:").unwrap(),
            None,
            Keep::Nothing,
        )
    }

    /// A fresh schema on the PostgreSQL server of `FLOWD_TEST_DATABASE_URL`, or `None` (with a
    /// message) when it is not set.
    pub(crate) fn postgres() -> Option<Self> {
        let (url, guard) = postgres_schema()?;
        let database = Database::open(&url).unwrap();
        Some(Self::sql(
            database,
            Some(RawTarget::Postgres(url)),
            Keep::Schema(guard),
        ))
    }

    /// Runs `statement` on a connection of its own to the backend's database and returns the
    /// rows it changed; `None` on backends without one (memory, in-memory SQLite).
    pub(crate) fn raw_sql(&self, statement: &str) -> Option<usize> {
        use diesel::{RunQueryDsl, SqliteConnection};

        Some(match self.raw.as_ref()? {
            RawTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).unwrap();
                conn.batch_execute("PRAGMA busy_timeout = 5000").unwrap();
                diesel::sql_query(statement).execute(&mut conn).unwrap()
            }
            RawTarget::Postgres(url) => {
                let mut conn = PgConnection::establish(url).unwrap();
                diesel::sql_query(statement).execute(&mut conn).unwrap()
            }
        })
    }
}

/// Drops its PostgreSQL schema when the test ends (also when it panics).
pub(crate) struct SchemaGuard {
    base_url: String,
    schema: String,
}

impl SchemaGuard {
    /// The schema's name.
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.base_url) {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// Reports that the running test skips for `reason`: with `CI=true` a failure (CI provides
/// every service); otherwise one line `SKIPPED: <test>: <reason>` written through
/// `std::io::stderr()`, which cargo's test harness does not capture (it captures only
/// `print!`/`eprint!`), so it shows in a plain `cargo test` run.
pub(crate) fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{test}: CI=true, so this test must not skip: {reason}");
    }
    // One write, so that the line is not torn apart by the harness's own output.
    let line = format!("SKIPPED: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Creates a fresh schema and returns a URL whose connections use it (libpq `options`), with
/// the guard that drops it; `None` (after [`skip`]) when `FLOWD_TEST_DATABASE_URL` is not set.
pub(crate) fn postgres_schema() -> Option<(String, SchemaGuard)> {
    let Ok(base_url) = std::env::var(PG_ENV) else {
        skip(&format!("{PG_ENV} is not set"));
        return None;
    };
    let schema = unique("flowd_test_");
    let mut conn = PgConnection::establish(&base_url).unwrap();
    conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
    Some((url, SchemaGuard { base_url, schema }))
}

/// A small program (no steps) for executions and versions.
pub(crate) fn program(flow_id: &str, version: u32) -> Arc<Program> {
    Arc::new(Program {
        format: PROGRAM_FORMAT,
        flow_id: flow_id.to_owned(),
        flow_name: flow_id.replace('_', "-"),
        flow_type: FlowType::Login,
        version,
        content_hash: format!("hash-{flow_id}-{version}"),
        steps: Vec::new(),
    })
}

/// A fresh waiting execution in `tenant` that expires at `expires_at`.
pub(crate) fn execution(tenant: &TenantId, expires_at: i64) -> Execution {
    let mut attributes = Map::new();
    attributes.insert("given_name".to_owned(), json!("Ada"));
    Execution {
        id: ExecutionId::from_random_bytes(*uuid::Uuid::new_v4().as_bytes()),
        tenant: tenant.clone(),
        program: flow_engine::ProgramRef::of(&program("flow_login", 1)),
        pc: 1,
        status: ExecutionStatus::Waiting,
        request: RequestContext::for_tenant(tenant.clone()),
        channel: None,
        identifier: Some("ada@example.com".to_owned()),
        user_id: None,
        attributes,
        inputs: Map::new(),
        methods: Vec::new(),
        attempts: Default::default(),
        new_password_hash: None,
        pending_code: None,
        totp_secret: None,
        passkey: None,
        new_passkey: None,
        federation: None,
        new_user_id: None,
        invitation: None,
        prompt: None,
        failure: None,
        created_at: 10,
        updated_at: 10,
        expires_at,
        revision: 0,
        traced: 0,
    }
}

/// A minimal flow with this id, name and type.
pub(crate) fn flow(id: &str, name: &str, flow_type: &str, status: &str) -> Flow {
    Flow::from_value(json!({
        "id": id,
        "name": name,
        "display_name": format!("Flow {name}"),
        "type": flow_type,
        "status": status,
        "version": 1,
        "graph": {
            "nodes": [
                { "id": "start", "type": "start", "position": { "x": 0, "y": 0 } },
                { "id": "done", "type": "success", "config": { "custom": true } }
            ],
            "edges": [{ "source": "start", "target": "done" }]
        },
        "created_at": 100,
        "updated_at": 100,
        "x_unknown_field": { "kept": true }
    }))
    .unwrap()
}

/// A hand-written SMTP receiver on 127.0.0.1:0 that accepts `count` connections, answers
/// 220/250/354/221 and hands over the DATA of every message.
pub(crate) fn smtp_receiver(count: usize) -> (SocketAddr, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, receiver) = channel();
    thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            let mut reply = |text: &str| {
                writer.write_all(text.as_bytes()).unwrap();
                writer.flush().unwrap();
            };
            reply("220 localhost test SMTP\r\n");
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let command = line.trim_end().to_ascii_uppercase();
                if command.starts_with("EHLO") || command.starts_with("HELO") {
                    reply("250-localhost\r\n250 8BITMIME\r\n");
                } else if command.starts_with("DATA") {
                    reply("354 end with <CRLF>.<CRLF>\r\n");
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                            break;
                        }
                        data.push_str(&line);
                    }
                    let _ = sender.send(data);
                    reply("250 queued\r\n");
                } else if command.starts_with("QUIT") {
                    reply("221 bye\r\n");
                    break;
                } else {
                    // MAIL FROM, RCPT TO, RSET, NOOP.
                    reply("250 ok\r\n");
                }
            }
        }
    });
    (address, receiver)
}
