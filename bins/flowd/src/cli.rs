//! The command line: `flowd [serve]`, `flowd migrate`, `flowd flows validate|import|export`,
//! `flowd users import|export`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

/// flowd: an identity flow server.
#[derive(Debug, Parser)]
#[command(name = "flowd", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Work with flow files.
    #[command(subcommand)]
    Flows(FlowsCommand),
    /// Import or export users (migrations).
    #[command(subcommand)]
    Users(UsersCommand),
}

/// `flowd users ...`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Import users with their password hashes from a JSON lines file (`-` for standard
    /// input); prints the report, exits 9 when some lines were refused (the others are
    /// imported). Users that exist are left as they are, so it can run again.
    Import {
        /// The JSON lines file.
        file: PathBuf,
    },
    /// Print every user as JSON lines that `users import` reads back.
    Export {
        /// Include each user's password hash.
        #[arg(long)]
        password_hashes: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `flowd flows ...`.
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Validate a flow file; prints the report, exits 1 when the flow is invalid (3 when the
    /// file cannot be read or is not a flow document).
    Validate {
        /// The flow JSON file.
        file: PathBuf,
    },
    /// Import a flow file, or every `.json` file of a directory, as drafts: all or nothing.
    Import {
        /// A flow JSON file or a directory of them.
        path: PathBuf,
    },
    /// Print one flow as a file that `flows import` reads back.
    Export {
        /// The flow's name.
        name: String,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// The `.json` files to import from `path` (the file itself, or a directory's files, sorted).
pub fn flow_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| file.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    Ok(files)
}

/// Why a command failed, as its process exit code: one distinct code per kind, so that a
/// script can tell an invalid flow from a missing file or a database that is down. The
/// table in `docs/operating.md` lists them; `2` is clap's own code for a usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The flow does not validate (`flows validate`).
    InvalidFlow,
    /// A file or directory cannot be read, is not JSON, or is not a flow document.
    UnreadableInput,
    /// A flow name is taken, in the store or by another file of the same import.
    Conflict,
    /// A setting is wrong (configuration file or environment, mailer, session key, listen
    /// address).
    Configuration,
    /// The database cannot be opened, migrated or used.
    StoreUnavailable,
    /// No flow has the name that was asked for (`flows export`).
    NotFound,
    /// Anything else (a broken built-in flow, the server stopped with an error).
    Other,
    /// Some lines of a `users import` were refused; the others are imported.
    RefusedLines,
}

impl FailureKind {
    /// The process exit code of this kind of failure.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::InvalidFlow => 1,
            Self::UnreadableInput => 3,
            Self::Conflict => 4,
            Self::Configuration => 5,
            Self::StoreUnavailable => 6,
            Self::NotFound => 7,
            Self::Other => 8,
            Self::RefusedLines => 9,
        }
    }
}

/// A failed command: its kind (the exit code) and what to tell the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which exit code.
    pub kind: FailureKind,
    /// The message for standard error (one or more lines).
    pub message: String,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<crate::startup::StartError> for Failure {
    fn from(error: crate::startup::StartError) -> Self {
        use crate::startup::StartError;
        let kind = match &error {
            StartError::Database(flow_store::StoreError::UnsupportedUrl { .. })
            | StartError::Mail(_)
            | StartError::Sessions(_)
            | StartError::Webhooks(_)
            | StartError::Sms(_)
            | StartError::Templates(_)
            | StartError::Listen { .. } => FailureKind::Configuration,
            StartError::Database(_) | StartError::Port(_) => FailureKind::StoreUnavailable,
            StartError::Catalog(_) | StartError::Model(_) | StartError::Engine(_) => {
                FailureKind::Other
            }
        };
        Self::new(kind, error.to_string())
    }
}

impl From<&flow_engine::CatalogError> for FailureKind {
    fn from(error: &flow_engine::CatalogError) -> Self {
        use flow_engine::CatalogError;
        match error {
            CatalogError::NotFound => Self::NotFound,
            CatalogError::NameTaken(_) => Self::Conflict,
            CatalogError::Invalid(_) => Self::InvalidFlow,
            CatalogError::Store(_) => Self::StoreUnavailable,
            // Inactive, NoDefault and variants added later: not reachable from these commands.
            _ => Self::Other,
        }
    }
}
