//! The flowd binary: parses the command line and configuration, then composes and runs.
//! Business logic lives in the library crates; this crate only wires them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: flows, programs and executions are many small
/// allocations, and glibc's allocator made compiling a 100k-node flow 2.5 times slower
/// (`docs/performance.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use flow_engine::TenantId;
use flowd::cli::{self, Cli, Command, Failure, FailureKind, FlowsCommand, UsersCommand};
use flowd::config::{self, Config};
use flowd::startup::{Application, Services};
use flowd::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            return fail(&Failure::new(
                FailureKind::Configuration,
                format!("configuration error: {error}"),
            ));
        }
    };
    telemetry::init(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config),
        Command::Migrate => Services::open(&config).map_err(Failure::from).map(|_| {
            eprintln!(
                "flowd: database is up to date ({})",
                config::redact_url(&config.database_url)
            );
        }),
        Command::Flows(command) => flows(&config, command),
        Command::Users(command) => users(&config, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

/// Reports `failure` on standard error and gives its exit code.
fn fail(failure: &Failure) -> ExitCode {
    for line in failure.message.lines() {
        eprintln!("flowd: {line}");
    }
    ExitCode::from(failure.kind.exit_code())
}

fn serve(config: &Config) -> Result<(), Failure> {
    actix_web::rt::System::new().block_on(async {
        let application = Application::build(config).await?;
        let address = format!("http://{}:{}", config.listen.ip(), application.port);
        eprintln!("flowd listening on {address}");
        eprintln!("  admin API:  {address}/api/admin/flows  (Authorization: Bearer <admin token>)");
        eprintln!("  API docs:   {address}/api/admin/docs/");
        eprintln!("  WSO2 flows: POST {address}/api/server/v1/flow/execute");
        eprintln!("  authentik:  {address}/api/v3/flows/executor/default-login/");
        eprintln!("  health:     {address}/healthz, {address}/readyz");
        match &application.generated_admin_token {
            Some(token) => {
                eprintln!();
                eprintln!(
                    "  Generated admin token (shown only this once; only its hash is stored):"
                );
                eprintln!("  {token}");
                eprintln!("  Set FLOWD_ADMIN_TOKEN to choose your own.");
            }
            None if config.admin_token.is_none() => {
                eprintln!(
                    "  admin token: the one generated at the first start (only its hash is \
                     stored); lost it? Restart with FLOWD_ADMIN_TOKEN set to a new one \
                     (docs/operating.md, \"The admin token\")."
                );
            }
            None => {}
        }
        application
            .server
            .await
            .map_err(|error| Failure::new(FailureKind::Other, error.to_string()))
    })
}

/// Reads and parses one flow file.
fn read_flow(file: &Path) -> Result<flow_model::Flow, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(
            FailureKind::UnreadableInput,
            format!("{}: {e}", file.display()),
        )
    })?;
    flow_model::Flow::from_json(&text).map_err(|e| {
        Failure::new(
            FailureKind::UnreadableInput,
            format!("{}: {e}", file.display()),
        )
    })
}

fn catalog_failure(what: &str, error: &flow_engine::CatalogError) -> Failure {
    Failure::new(FailureKind::from(error), format!("{what}: {error}"))
}

#[allow(clippy::print_stdout)]
fn flows(config: &Config, command: FlowsCommand) -> Result<(), Failure> {
    match command {
        FlowsCommand::Validate { file } => {
            let flow = read_flow(&file)?;
            let report = flow_model::validate(&flow);
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
            println!("{text}");
            if report.valid {
                Ok(())
            } else {
                Err(Failure::new(
                    FailureKind::InvalidFlow,
                    format!("{} is invalid", file.display()),
                ))
            }
        }
        FlowsCommand::Import { path } => import(config, &path),
        FlowsCommand::Export { name, output } => {
            let services = Services::open(config)?;
            let tenant = TenantId::default();
            let stored = services
                .catalog
                .get_by_name(&tenant, &name)
                .map_err(|e| catalog_failure(&name, &e))?;
            let flow = services
                .catalog
                .export(&tenant, &stored.flow.id)
                .map_err(|e| catalog_failure(&name, &e))?;
            let text = serde_json::to_string_pretty(&flow)
                .map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
            match output {
                Some(file) => std::fs::write(&file, text + "\n").map_err(|e| {
                    Failure::new(
                        FailureKind::UnreadableInput,
                        format!("{}: {e}", file.display()),
                    )
                }),
                None => {
                    println!("{text}");
                    Ok(())
                }
            }
        }
    }
}

/// `users import FILE` and `users export`, on the default tenant.
#[allow(clippy::print_stdout)]
fn users(config: &Config, command: UsersCommand) -> Result<(), Failure> {
    let services = Services::open(config)?;
    let accounts = flow_engine::Accounts::new(services.engine.clone());
    let tenant = TenantId::default();
    let account_failure = |error: flow_engine::AccountError| {
        Failure::new(FailureKind::StoreUnavailable, error.to_string())
    };
    let unreadable = |file: &Path, error: std::io::Error| {
        Failure::new(
            FailureKind::UnreadableInput,
            format!("{}: {error}", file.display()),
        )
    };
    match command {
        UsersCommand::Import { file } => {
            let report = if file.as_os_str() == "-" {
                accounts.import(&tenant, std::io::stdin().lock())
            } else {
                let input = std::fs::File::open(&file).map_err(|e| unreadable(&file, e))?;
                accounts.import(&tenant, std::io::BufReader::new(input))
            }
            .map_err(account_failure)?;
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
            println!("{text}");
            if report.failed > 0 {
                return Err(Failure::new(
                    FailureKind::RefusedLines,
                    format!(
                        "{} of the lines were refused (the report lists them); the other users are imported",
                        report.failed
                    ),
                ));
            }
            Ok(())
        }
        UsersCommand::Export {
            password_hashes,
            output,
        } => {
            use std::io::Write;
            let mut sink: Box<dyn Write> = match &output {
                Some(file) => {
                    // Readable by its owner only: it may hold password hashes.
                    use std::os::unix::fs::OpenOptionsExt as _;
                    let created = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .mode(0o600)
                        .open(file)
                        .map_err(|e| unreadable(file, e))?;
                    Box::new(std::io::BufWriter::new(created))
                }
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            accounts.log_export(&tenant, password_hashes);
            let mut after = None;
            loop {
                let (records, next) = accounts
                    .export_page(&tenant, after, 500, password_hashes)
                    .map_err(account_failure)?;
                for record in &records {
                    let line = serde_json::to_string(record)
                        .map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
                    writeln!(sink, "{line}")
                        .map_err(|e| unreadable(output.as_deref().unwrap_or(Path::new("-")), e))?;
                }
                match next {
                    Some(identifier) => after = Some(identifier),
                    None => break,
                }
            }
            sink.flush()
                .map_err(|e| unreadable(output.as_deref().unwrap_or(Path::new("-")), e))
        }
    }
}

/// `flows import FILE|DIR`, all or nothing: every file is read, parsed and checked for a name
/// taken in the store or by another file before anything is stored; then all are imported.
/// Any failure imports nothing and reports every failing file in file order (the exit code
/// is the first one's). Should a store call fail half-way (a concurrent writer took a name meanwhile, the
/// database went away), the flows imported so far are deleted again.
#[allow(clippy::print_stdout)]
fn import(config: &Config, path: &Path) -> Result<(), Failure> {
    let files = cli::flow_files(path).map_err(|e| {
        Failure::new(
            FailureKind::UnreadableInput,
            format!("{}: {e}", path.display()),
        )
    })?;
    if files.is_empty() {
        return Err(Failure::new(
            FailureKind::UnreadableInput,
            format!("{}: no .json files to import", path.display()),
        ));
    }
    // Failures by the index of their file, so that they are reported in file order.
    let mut failures: Vec<(usize, Failure)> = Vec::new();
    let mut flows = Vec::new();
    for (index, file) in files.iter().enumerate() {
        match read_flow(file) {
            Ok(flow) => flows.push((index, file, flow)),
            Err(failure) => failures.push((index, failure)),
        }
    }
    let services = Services::open(config)?;
    let tenant = TenantId::default();
    let mut first_file_of_name: HashMap<String, &PathBuf> = HashMap::new();
    for (index, file, flow) in &flows {
        let name = flow.name.as_str();
        if let Some(other) = first_file_of_name.get(name) {
            failures.push((
                *index,
                Failure::new(
                    FailureKind::Conflict,
                    format!(
                        "{}: the flow name {name:?} is also in {}",
                        file.display(),
                        other.display()
                    ),
                ),
            ));
            continue;
        }
        first_file_of_name.insert(name.to_owned(), file);
        match services.catalog.get_by_name(&tenant, name) {
            Err(flow_engine::CatalogError::NotFound) => {}
            Ok(_) => failures.push((
                *index,
                Failure::new(
                    FailureKind::Conflict,
                    format!("{}: a flow named {name:?} already exists", file.display()),
                ),
            )),
            Err(error) => return Err(catalog_failure(&file.display().to_string(), &error)),
        }
    }
    failures.sort_by_key(|(index, _)| *index);
    if let Some((_, first)) = failures.first() {
        let mut message: Vec<String> = failures.iter().map(|(_, f)| f.message.clone()).collect();
        message.push(format!(
            "nothing imported: {} of {} files failed",
            failures.len(),
            files.len()
        ));
        return Err(Failure::new(first.kind, message.join("\n")));
    }
    let mut imported = Vec::new();
    for (_, file, flow) in flows {
        match services.catalog.import(&tenant, flow) {
            Ok(stored) => imported.push(stored),
            Err(error) => {
                let mut message = catalog_failure(&file.display().to_string(), &error);
                for stored in &imported {
                    if let Err(undo) = services.catalog.delete(&tenant, &stored.flow.id) {
                        message.message.push_str(&format!(
                            "\ncould not remove the already imported {} ({}): {undo}",
                            stored.flow.name, stored.flow.id
                        ));
                    }
                }
                message.message.push_str("\nnothing imported");
                return Err(message);
            }
        }
    }
    for stored in imported {
        println!(
            "imported {} as {} (draft)",
            stored.flow.name, stored.flow.id
        );
    }
    Ok(())
}
