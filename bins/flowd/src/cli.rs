//! The command line: `flowd [serve]`, `flowd migrate`, `flowd flows validate|import|export`.

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
}

/// `flowd flows ...`.
#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// Validate a flow file; prints the report, exits 1 when the flow is invalid.
    Validate {
        /// The flow JSON file.
        file: PathBuf,
    },
    /// Import a flow file, or every `.json` file of a directory, as drafts.
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
