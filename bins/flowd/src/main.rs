//! The flowd binary: parses the command line and configuration, then composes and runs.
//! Business logic lives in the library crates; this crate only wires them.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: flows, programs and executions are many small
/// allocations, and glibc's allocator made compiling a 100k-node flow 2.5 times slower
/// (`docs/performance.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use flow_engine::TenantId;
use flowd::cli::{self, Cli, Command, FlowsCommand};
use flowd::config::{self, Config};
use flowd::startup::{Application, Services};
use flowd::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("flowd: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config),
        Command::Migrate => Services::open(&config)
            .map(|_| {
                eprintln!(
                    "flowd: database is up to date ({})",
                    config::redact_url(&config.database_url)
                );
            })
            .map_err(|error| error.to_string()),
        Command::Flows(command) => flows(&config, command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("flowd: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: &Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let application = Application::build(config)
            .await
            .map_err(|error| error.to_string())?;
        let address = format!("http://{}:{}", config.listen.ip(), application.port);
        eprintln!("flowd listening on {address}");
        eprintln!("  admin API:  {address}/api/admin/flows  (Authorization: Bearer <admin token>)");
        eprintln!("  API docs:   {address}/api/admin/docs/");
        eprintln!("  WSO2 flows: POST {address}/api/server/v1/flow/execute");
        eprintln!("  authentik:  {address}/api/v3/flows/executor/default-login/");
        eprintln!("  health:     {address}/healthz, {address}/readyz");
        if let Some(token) = &application.generated_admin_token {
            eprintln!();
            eprintln!("  Generated admin token (shown only this once; only its hash is stored):");
            eprintln!("  {token}");
            eprintln!("  Set FLOWD_ADMIN_TOKEN to choose your own.");
        }
        application.server.await.map_err(|error| error.to_string())
    })
}

#[allow(clippy::print_stdout)]
fn flows(config: &Config, command: FlowsCommand) -> Result<(), String> {
    match command {
        FlowsCommand::Validate { file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let flow = flow_model::Flow::from_json(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let report = flow_model::validate(&flow);
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
            if report.valid {
                Ok(())
            } else {
                Err(format!("{} is invalid", file.display()))
            }
        }
        FlowsCommand::Import { path } => {
            let services = Services::open(config).map_err(|e| e.to_string())?;
            let tenant = TenantId::default();
            for file in cli::flow_files(&path).map_err(|e| format!("{}: {e}", path.display()))? {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let flow = flow_model::Flow::from_json(&text)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let stored = services
                    .catalog
                    .import(&tenant, flow)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                println!(
                    "imported {} as {} (draft)",
                    stored.flow.name, stored.flow.id
                );
            }
            Ok(())
        }
        FlowsCommand::Export { name, output } => {
            let services = Services::open(config).map_err(|e| e.to_string())?;
            let tenant = TenantId::default();
            let stored = services
                .catalog
                .get_by_name(&tenant, &name)
                .map_err(|e| format!("{name}: {e}"))?;
            let flow = services
                .catalog
                .export(&tenant, &stored.flow.id)
                .map_err(|e| e.to_string())?;
            let text = serde_json::to_string_pretty(&flow).map_err(|e| e.to_string())?;
            match output {
                Some(file) => std::fs::write(&file, text + "\n")
                    .map_err(|e| format!("{}: {e}", file.display())),
                None => {
                    println!("{text}");
                    Ok(())
                }
            }
        }
    }
}
