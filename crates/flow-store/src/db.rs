//! Opening a database: URL parsing, the diesel `MultiConnection` over SQLite and PostgreSQL,
//! r2d2 pools, per-connection settings and the embedded migrations.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use flow_engine::PortError;

use crate::StoreError;
use crate::group_commit::{GroupCommit, Job};
use crate::users::{IdentifierBackfill, backfill_identifiers};

/// The schema migrations, embedded in the binary and applied by [`Database::open`].
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The key of the PostgreSQL advisory lock that serializes migrations between replicas
/// starting at the same time.
const MIGRATION_LOCK_KEY: i64 = 0x0066_6c6f_7764; // "flowd" in ASCII

/// One connection to either backend; every query in this crate is written once against it.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    /// A PostgreSQL connection.
    Postgres(PgConnection),
    /// A SQLite connection.
    Sqlite(SqliteConnection),
}

/// The r2d2 pool of [`Conn`]s.
pub(crate) type Pool = r2d2::Pool<Manager>;

/// A pooled connection with a flag set when a query found it dead, so that r2d2 drops it when
/// it comes back ([`Manager::has_broken`]). With `test_on_check_out(false)` nothing else would
/// notice: diesel's own `is_broken` only looks at the transaction state, and libpq does not
/// reconnect, so a connection cut by a PostgreSQL restart would fail every request it serves.
pub(crate) struct Conn {
    inner: AnyConnection,
    broken: bool,
}

impl Conn {
    /// Runs `f` on the connection and marks it broken if the connection itself failed.
    fn run<T>(&mut self, f: impl FnOnce(&mut AnyConnection) -> Result<T, Fail>) -> Result<T, Fail> {
        let result = f(&mut self.inner);
        if let Err(Fail::Db(error)) = &result {
            self.broken |= connection_lost(error);
        }
        result
    }
}

/// Whether `error` means the connection is unusable (rather than the statement failing).
fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | Error::BrokenTransactionManager
    )
}

/// The database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (WAL).
    Sqlite,
    /// A private in-memory SQLite database (one connection; gone when the `Database` is dropped).
    SqliteMemory,
    /// A PostgreSQL server.
    Postgres,
}

/// Tuning of [`Database::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// Connections of the PostgreSQL pool, and of the SQLite *reader* pool (SQLite writes
    /// always go through one writer connection).
    pub pool_size: u32,
    /// How long SQLite waits for a lock before failing with "database is locked".
    pub busy_timeout: Duration,
    /// How long a caller waits for a pooled connection.
    pub connection_timeout: Duration,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            busy_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(10),
        }
    }
}

/// Where connections go, parsed from the database URL.
#[derive(Clone, PartialEq, Eq)]
enum Target {
    Postgres(String),
    SqliteFile(String),
    SqliteMemory,
}

impl Target {
    fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if url == "sqlite::memory:" || url == ":memory:" || url == "sqlite://:memory:" {
            return Ok(Self::SqliteMemory);
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return if path.is_empty() {
                Err(StoreError::UnsupportedUrl {
                    scheme: "sqlite".to_owned(),
                })
            } else {
                Ok(Self::SqliteFile(path.to_owned()))
            };
        }
        match url.split_once("://") {
            Some((scheme, _)) => Err(StoreError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
            None if url.is_empty() => Err(StoreError::UnsupportedUrl {
                scheme: String::new(),
            }),
            None => Ok(Self::SqliteFile(url.to_owned())),
        }
    }
}

/// What a pooled connection is for: SQLite readers are opened `query_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

/// The r2d2 connection manager: it establishes the concrete connection for the target and
/// applies the per-connection settings. (diesel's own `ConnectionManager<AnyConnection>` would
/// try every backend on every URL, so a typo in a PostgreSQL URL could end up as a SQLite file.)
pub(crate) struct Manager {
    target: Target,
    role: Role,
    busy_timeout: Duration,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it may hold a password.
        f.debug_struct("Manager")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Manager {
    fn establish(&self) -> Result<AnyConnection, StoreError> {
        match &self.target {
            Target::Postgres(url) => Ok(AnyConnection::Postgres(PgConnection::establish(url)?)),
            Target::SqliteFile(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                let mut pragmas = sqlite_pragmas(self.busy_timeout);
                pragmas.push_str(match self.role {
                    Role::Writer => "PRAGMA journal_mode = WAL;",
                    Role::Reader => "PRAGMA query_only = ON;",
                });
                conn.batch_execute(&pragmas)?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Target::SqliteMemory => {
                let mut conn = SqliteConnection::establish(":memory:")?;
                conn.batch_execute(&sqlite_pragmas(self.busy_timeout))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

fn sqlite_pragmas(busy_timeout: Duration) -> String {
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        busy_timeout.as_millis()
    )
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = StoreError;

    fn connect(&self) -> Result<Conn, StoreError> {
        Ok(Conn {
            inner: self.establish()?,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), StoreError> {
        Ok(conn.inner.ping()?)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || conn.inner.is_broken()
    }
}

/// A SQL database (SQLite or PostgreSQL) behind r2d2 pools, with the schema migrated. It
/// implements the engine's [`ExecutionStore`](flow_engine::ExecutionStore),
/// [`UserDirectory`](flow_engine::UserDirectory), [`CodeStore`](flow_engine::CodeStore),
/// [`InvitationStore`](flow_engine::InvitationStore),
/// [`LoginAttempts`](flow_engine::LoginAttempts), [`KeyStore`](flow_engine::KeyStore) and
/// [`FlowRepository`](flow_engine::FlowRepository).
///
/// Every method blocks on the database: call it from a blocking thread, never on an async
/// executor.
pub struct Database {
    backend: Backend,
    writer: Pool,
    reader: Pool,
    /// Writes waiting for the one SQLite writer (execution saves, new users), committed
    /// together.
    grouped_writes: GroupCommit<GroupedWrite>,
    backfill: IdentifierBackfill,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("writer", &self.writer.state())
            .field("reader", &self.reader.state())
            .finish()
    }
}

impl Database {
    /// Opens the database at `url` with [`DatabaseOptions::default`] and applies pending
    /// migrations. See [`Database::open_with`].
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &DatabaseOptions::default())
    }

    /// Opens the database at `url` and applies pending migrations.
    ///
    /// - `postgres://…` / `postgresql://…`: PostgreSQL; one pool of `pool_size` connections.
    /// - `sqlite::memory:` (or `:memory:`): a private in-memory SQLite database on a single
    ///   connection that is never recycled.
    /// - `sqlite://PATH`, `sqlite:PATH` or a plain path: a SQLite file (created with its
    ///   directory), WAL, `synchronous=NORMAL`, foreign keys on, `busy_timeout`. Writes go
    ///   through one writer connection; reads through a pool of `pool_size` read-only ones.
    pub fn open_with(url: &str, options: &DatabaseOptions) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let manager = |role| Manager {
            target: target.clone(),
            role,
            busy_timeout: options.busy_timeout,
        };
        let builder = || {
            r2d2::Pool::builder()
                .test_on_check_out(false)
                .connection_timeout(options.connection_timeout)
        };
        match &target {
            Target::Postgres(_) => {
                // A direct first connection fails fast with the real error (an r2d2 pool would
                // retry until its timeout).
                let mut first = manager(Role::Writer).establish()?;
                migrate(&mut first)?;
                drop(first);
                let pool = builder()
                    .max_size(options.pool_size.max(1))
                    .min_idle(Some(1))
                    .build(manager(Role::Writer))?;
                Ok(Self::ready(Backend::Postgres, pool.clone(), pool))
            }
            Target::SqliteFile(path) => {
                create_parent_dir(Path::new(path))?;
                let writer = builder()
                    .max_size(1)
                    .min_idle(Some(1))
                    .build(manager(Role::Writer))?;
                migrate(&mut writer.get()?.inner)?;
                let reader = builder()
                    .max_size(options.pool_size.max(1))
                    .min_idle(Some(1))
                    .build(manager(Role::Reader))?;
                Ok(Self::ready(Backend::Sqlite, writer, reader))
            }
            Target::SqliteMemory => {
                // Each in-memory connection is its own database: exactly one, kept forever.
                let pool = builder()
                    .max_size(1)
                    .min_idle(Some(1))
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .build(manager(Role::Writer))?;
                migrate(&mut pool.get()?.inner)?;
                Ok(Self::ready(Backend::SqliteMemory, pool.clone(), pool))
            }
        }
    }

    /// The migrated database, with the identifiers of older rows backfilled.
    fn ready(backend: Backend, writer: Pool, reader: Pool) -> Self {
        let mut database = Self {
            backend,
            writer,
            reader,
            grouped_writes: GroupCommit::default(),
            backfill: IdentifierBackfill::default(),
        };
        database.backfill = backfill_identifiers(&database);
        database
    }

    /// What opening did to users stored before identifier skeletons existed: skeletons
    /// computed, identifiers re-normalized, accounts that look alike (all kept). The binary
    /// logs a warning once when [`IdentifierBackfill::needs_attention`].
    pub fn identifier_backfill(&self) -> &IdentifierBackfill {
        &self.backfill
    }

    /// Which backend this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` on a connection meant for reads (a read-only one on SQLite files), again if
    /// SQLite answers `SQLITE_BUSY` at once (see [`retry_busy`]).
    pub(crate) fn read<T>(
        &self,
        f: impl FnMut(&mut AnyConnection) -> Result<T, Fail>,
    ) -> Result<T, PortError> {
        Self::run_on(&self.reader, f)
    }

    /// Runs `f` on the writer connection, outside a transaction (for single statements),
    /// again if SQLite answers `SQLITE_BUSY` at once (see [`retry_busy`]).
    pub(crate) fn write<T>(
        &self,
        f: impl FnMut(&mut AnyConnection) -> Result<T, Fail>,
    ) -> Result<T, PortError> {
        Self::run_on(&self.writer, f)
    }

    /// Runs `f` in a transaction on the writer connection; any error rolls it back. A
    /// transaction refused with `SQLITE_BUSY` at once is rolled back and run again (see
    /// [`retry_busy`]), so `f` must do nothing outside the database.
    pub(crate) fn transaction<T>(
        &self,
        mut f: impl FnMut(&mut AnyConnection) -> Result<T, Fail>,
    ) -> Result<T, PortError> {
        Self::run_on(&self.writer, |conn| conn.transaction(&mut f))
    }

    /// Runs `write` in a transaction of its own on PostgreSQL. On SQLite, whose one writer
    /// connection the writes of concurrent requests queue for, the writes waiting together
    /// are committed in one transaction ([`GroupCommit`]), each in a savepoint of its own, so
    /// that one that fails (a lost compare-and-swap, a taken identifier) fails alone and
    /// leaves nothing behind. `write` owns what it writes and may run more than once (see
    /// [`retry_busy`]), so it must do nothing outside the database.
    pub(crate) fn grouped_write(
        &self,
        write: impl Fn(&mut AnyConnection) -> Result<(), Fail> + Send + Sync + 'static,
    ) -> Result<(), PortError> {
        if self.backend == Backend::Postgres {
            return self.transaction(|conn| write(conn));
        }
        self.grouped_writes
            .submit(Box::new(write), |batch| self.commit_grouped(batch))
    }

    /// One transaction for a batch of grouped writes, each in a savepoint. `SQLITE_BUSY` in
    /// any of them fails the whole attempt, so that [`retry_busy`] runs the batch again rather
    /// than failing one write.
    fn commit_grouped(&self, batch: &[Arc<Job<GroupedWrite>>]) -> Vec<Result<(), PortError>> {
        if let [job] = batch {
            return vec![self.transaction(|conn| (job.write())(conn))];
        }
        match self.in_savepoints(batch, |job, conn| (job.write())(conn)) {
            Ok(results) => results,
            Err(error) => vec![Err(error); batch.len()],
        }
    }

    /// Runs `write` for each of `items` in a savepoint of one transaction, so that one that
    /// fails leaves nothing behind and fails alone: one result per item. `SQLITE_BUSY` in any
    /// of them fails the whole attempt, which [`retry_busy`] then runs again.
    pub(crate) fn in_savepoints<I>(
        &self,
        items: &[I],
        write: impl Fn(&I, &mut AnyConnection) -> Result<(), Fail>,
    ) -> Result<Vec<Result<(), PortError>>, PortError> {
        self.transaction(|conn| {
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                match conn.transaction(|conn| write(item, conn)) {
                    Err(Fail::Db(error)) if is_busy(&error) => return Err(Fail::Db(error)),
                    result => results.push(result.map_err(Fail::into_port)),
                }
            }
            Ok(results)
        })
    }

    /// Runs `f` on a connection of `pool`, taking a connection again for each attempt of
    /// [`retry_busy`].
    fn run_on<T>(
        pool: &Pool,
        mut f: impl FnMut(&mut AnyConnection) -> Result<T, Fail>,
    ) -> Result<T, PortError> {
        retry_busy(|| {
            let mut conn = pool.get().map_err(pool_error).map_err(Fail::Port)?;
            conn.run(&mut f)
        })
        .map_err(Fail::into_port)
    }
}

/// A write queued for [`Database::grouped_write`].
pub(crate) type GroupedWrite = Box<dyn Fn(&mut AnyConnection) -> Result<(), Fail> + Send + Sync>;

/// How often an attempt refused with `SQLITE_BUSY` at once is tried again before it fails.
const BUSY_RETRIES: u32 = 4;

/// A `SQLITE_BUSY` that came later than this followed a wait in SQLite's busy handler (the
/// `busy_timeout`): that is real contention, answered as it is rather than waited for again.
const IMMEDIATE_BUSY: Duration = Duration::from_millis(50);

/// Runs `attempt`, and again after a short pause when SQLite answered `SQLITE_BUSY`
/// ("database is locked") without waiting. Under load that answer came about once in 70,000
/// requests, despite the busy timeout: WAL mode gives it without calling the busy handler in
/// a few races on the wal-index (most likely a connection starting while the writer restarts
/// the WAL after a checkpoint). A failed attempt has changed nothing: a read, or a
/// transaction that was rolled back.
fn retry_busy<T>(mut attempt: impl FnMut() -> Result<T, Fail>) -> Result<T, Fail> {
    let mut tries = 0;
    loop {
        let started = std::time::Instant::now();
        match attempt() {
            Err(Fail::Db(error))
                if tries < BUSY_RETRIES
                    && is_busy(&error)
                    && started.elapsed() < IMMEDIATE_BUSY =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(u64::from(tries)));
            }
            result => return result,
        }
    }
}

/// Whether SQLite answered `SQLITE_BUSY` (diesel reports it as an unknown error with
/// SQLite's own message for that code).
fn is_busy(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::Unknown, info)
            if info.message() == "database is locked"
    )
}

fn create_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Applies pending migrations on the concrete connection (diesel's migration harness works per
/// backend). On PostgreSQL an advisory lock keeps replicas that start together from racing.
fn migrate(conn: &mut AnyConnection) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(conn) => conn
            .run_pending_migrations(MIGRATIONS)
            .map(drop)
            .map_err(StoreError::Migration),
        AnyConnection::Postgres(conn) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(conn)?;
            let result = conn
                .run_pending_migrations(MIGRATIONS)
                .map(drop)
                .map_err(StoreError::Migration);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(conn)?;
            result
        }
    }
}

fn pool_error(error: r2d2::Error) -> PortError {
    PortError::Unavailable(format!("database pool: {error}"))
}

/// The failure of a database closure: a diesel error or a port-level outcome (`NotFound`,
/// `Conflict`) decided by the code. Converted to [`PortError`] at the port boundary.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The database said no.
    Db(diesel::result::Error),
    /// The code decided the outcome.
    Port(PortError),
}

impl From<diesel::result::Error> for Fail {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error)
    }
}

impl From<PortError> for Fail {
    fn from(error: PortError) -> Self {
        Self::Port(error)
    }
}

impl Fail {
    /// A row that could not be decoded or encoded.
    pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> Self {
        Self::Port(PortError::Corrupt(format!("{what}: {error}")))
    }

    /// Maps unique violations to `Duplicate`, foreign-key violations to `NotFound` (the parent
    /// row is gone) and everything else to `Unavailable`.
    pub(crate) fn into_port(self) -> PortError {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Self::Port(error) => error,
            Self::Db(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                PortError::Duplicate
            }
            Self::Db(Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                PortError::NotFound
            }
            Self::Db(Error::NotFound) => PortError::NotFound,
            Self::Db(error) => PortError::Unavailable(format!("database: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn urls_select_the_backend() {
        let parse = |url| Target::parse(url).ok();
        assert!(matches!(
            parse("postgres://u:p@h/db"),
            Some(Target::Postgres(_))
        ));
        assert!(matches!(
            parse("postgresql://h/db"),
            Some(Target::Postgres(_))
        ));
        assert!(matches!(
            parse("sqlite::memory:"),
            Some(Target::SqliteMemory)
        ));
        assert!(matches!(parse(":memory:"), Some(Target::SqliteMemory)));
        assert!(
            matches!(parse("sqlite://data/flowd.db"), Some(Target::SqliteFile(p)) if p == "data/flowd.db")
        );
        assert!(
            matches!(parse("sqlite:///var/lib/flowd.db"), Some(Target::SqliteFile(p)) if p == "/var/lib/flowd.db")
        );
        assert!(matches!(parse("sqlite:x.db"), Some(Target::SqliteFile(p)) if p == "x.db"));
        assert!(matches!(parse("flowd.db"), Some(Target::SqliteFile(p)) if p == "flowd.db"));
        assert!(parse("mysql://h/db").is_none());
        assert!(parse("").is_none());
        assert!(parse("sqlite://").is_none());
    }

    fn busy() -> Fail {
        Fail::Db(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        ))
    }

    #[test]
    fn a_busy_read_is_tried_again() {
        let mut calls = 0;
        let result = retry_busy(|| {
            calls += 1;
            if calls < 3 { Err(busy()) } else { Ok(calls) }
        });
        assert!(matches!(result, Ok(3)));
    }

    #[test]
    fn a_read_that_stays_busy_fails_after_the_retries() {
        let mut calls = 0;
        let result: Result<(), Fail> = retry_busy(|| {
            calls += 1;
            Err(busy())
        });
        assert!(matches!(result, Err(Fail::Db(ref error)) if is_busy(error)));
        assert_eq!(calls, BUSY_RETRIES + 1);
    }

    #[test]
    fn other_errors_are_not_tried_again() {
        let mut calls = 0;
        let result: Result<(), Fail> = retry_busy(|| {
            calls += 1;
            Err(Fail::Db(diesel::result::Error::NotFound))
        });
        assert!(matches!(
            result,
            Err(Fail::Db(diesel::result::Error::NotFound))
        ));
        assert_eq!(calls, 1);
    }

    #[test]
    fn unsupported_url_errors_do_not_echo_the_url() {
        let error = Target::parse("mysql://user:secret@h/db").err().unwrap();
        assert!(!error.to_string().contains("secret"));
    }
}
