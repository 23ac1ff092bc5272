//! The error type of this crate's own operations (opening a database, building a mailer).
//! Port calls fail with the engine's [`PortError`](flow_engine::PortError) instead.

use std::path::PathBuf;

/// Why a [`Database`](crate::Database) could not be opened or a mailer could not be built.
///
/// Messages never contain a database password or a one-time code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH, sqlite::memory:, a plain \
         path, or postgres://..."
    )]
    UnsupportedUrl {
        /// The scheme that was given (never the whole URL, which may hold a password).
        scheme: String,
    },
    /// The directory of a SQLite file (or of an outbox) could not be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The first connection could not be established.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A connection setting (`PRAGMA`, advisory lock) was refused.
    #[error("cannot set up the database connection: {0}")]
    Setup(#[from] diesel::result::Error),
    /// The connection pool could not be built or handed out no connection.
    #[error("database connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The embedded migrations failed.
    #[error("cannot apply the database migrations: {0}")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A mailer setting (SMTP URL, sender address) is invalid.
    #[error("invalid mail setting: {0}")]
    Mail(String),
}
