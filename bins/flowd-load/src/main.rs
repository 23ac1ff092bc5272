//! flowd-load: drives concurrent clients through flows of a running flowd and reports flows/s,
//! steps/s, step latency percentiles and, given the server's pid, its CPU per step. With
//! `--baseline` it also starts a bare actix-web + diesel SQLite server doing one `SELECT` and
//! one revision-checked `UPDATE` per request, drives it with the same concurrency, and reports
//! flowd's figures as ratios of the baseline's: one invocation, one machine state.
//!
//! Only loopback targets are meant: it is a tool for measuring a server on this machine.

mod baseline;
mod cpu;
mod import;
mod journeys;
mod steps;
mod verify;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "flowd-load",
    about = "Concurrent flows against flowd, next to a bare SQLite baseline"
)]
struct Options {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// How many clients run at the same time.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How many journeys in all (users for the user scenarios, executions for `steps`).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// What each client does.
    #[arg(long, value_enum, default_value_t = Scenario::RegisterLogin)]
    scenario: Scenario,
    /// The protocol of the `register-login` scenario (the others use the WSO2 API).
    #[arg(long, value_enum, default_value_t = Protocol::Wso2)]
    protocol: Protocol,
    /// One-field prompts in the `steps` scenario's flow (after its identifier).
    #[arg(long, default_value_t = 3)]
    prompts: usize,
    /// The admin bearer token (the `steps` scenario creates its flow through the admin API).
    #[arg(long, env = "FLOWD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The server's process id: its CPU time per step is read from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also measure the built-in baseline server with the same concurrency.
    #[arg(long)]
    baseline: bool,
    /// With `login`: also measure the two-thread argon2id verify rate with the server's
    /// hashing parameters (below) and report sign-ins per second as a ratio of it.
    #[arg(long)]
    verify_rate: bool,
    /// The server's argon2id memory in KiB (flowd's variable and default).
    #[arg(long, env = "FLOWD_PASSWORD_HASH_MEMORY_KIB", default_value_t = 19_456)]
    hash_memory_kib: u32,
    /// The server's argon2id iterations.
    #[arg(long, env = "FLOWD_PASSWORD_HASH_ITERATIONS", default_value_t = 2)]
    hash_iterations: u32,
    /// The server's argon2id parallelism.
    #[arg(long, env = "FLOWD_PASSWORD_HASH_PARALLELISM", default_value_t = 1)]
    hash_parallelism: u32,
    /// The hash the `import` scenario's users bring.
    #[arg(long, value_enum, default_value_t = import::ImportedHash::Bcrypt)]
    import_hash: import::ImportedHash,
    /// How many of the imported users the `import` scenario signs in (twice each).
    #[arg(long, default_value_t = 1000)]
    sign_ins: usize,
    /// Internal: serve the baseline with this SQLite file and print its port.
    #[arg(long, hide = true)]
    serve_baseline: Option<PathBuf>,
}

/// What a client does, journey after journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// Register a fresh user, then sign them in (7 requests over WSO2, 10 over authentik).
    RegisterLogin,
    /// Register a fresh user (4 requests).
    Signup,
    /// Sign in users registered beforehand, untimed (3 requests).
    Login,
    /// Run a flow of an identifier and `--prompts` one-field prompts (2 + prompts requests).
    Steps,
    /// Import `--users` users with an `--import-hash` through the admin API, then sign in
    /// `--sign-ins` of them twice (the first re-hashes).
    Import,
}

/// The client protocols flowd serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
    /// WSO2's Flow Execution API: `flowId` in every call.
    Wso2,
    /// authentik's flow executor: a cookie jar, 302s followed with a GET.
    Authentik,
}

/// What one run measured.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    journeys: usize,
    failures: usize,
    first_failure: Option<String>,
}

/// A measured run: the tally, the wall time, and the server's CPU time if known.
struct Measured {
    tally: Tally,
    elapsed: Duration,
    cpu: Option<Duration>,
}

impl Measured {
    fn requests_per_second(&self) -> f64 {
        self.tally.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn cpu_per_request_us(&self) -> Option<f64> {
        let requests = self.tally.latencies.len().max(1) as f64;
        self.cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / requests)
    }

    /// p50/p95/p99 in milliseconds.
    fn percentiles(&mut self) -> Value {
        self.tally.latencies.sort();
        let latencies = &self.tally.latencies;
        let at = |p: f64| {
            let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
            latencies
                .get(index)
                .map_or(0.0, |d| round(d.as_secs_f64() * 1000.0, 2))
        };
        json!({"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)})
    }
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// Runs `journeys` journeys on `concurrency` clients; `journey(index)` is one of them.
async fn measure<F, Fut>(
    concurrency: usize,
    journeys: usize,
    server_pid: Option<u32>,
    journey: F,
) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<Duration>, String>> + Send,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(AtomicUsize::new(0));
    let journey = Arc::new(journey);
    let cpu_before = server_pid.and_then(cpu::used);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (tally, next, journey) = (tally.clone(), next.clone(), journey.clone());
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= journeys {
                        break;
                    }
                    let outcome = journey(index).await;
                    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    match outcome {
                        Ok(latencies) => {
                            tally.journeys += 1;
                            tally.latencies.extend(latencies);
                        }
                        Err(error) => {
                            tally.failures += 1;
                            tally.first_failure.get_or_insert(error);
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed();
    let cpu = cpu_before
        .zip(server_pid.and_then(cpu::used))
        .map(|(before, after)| after.saturating_sub(before));
    let tally = Arc::try_unwrap(tally)
        .map(|mutex| mutex.into_inner().unwrap_or_else(PoisonError::into_inner))
        .unwrap_or_default();
    Measured {
        tally,
        elapsed,
        cpu,
    }
}

/// Runs the chosen scenario against flowd.
async fn measure_flowd(options: &Options, client: &reqwest::Client) -> Result<Measured, String> {
    let url = options.url.clone();
    let (concurrency, users, pid) = (options.concurrency, options.users, options.server_pid);
    let measured = match (options.scenario, options.protocol) {
        (Scenario::RegisterLogin, Protocol::Authentik) => {
            measure(concurrency, users, pid, move |_| {
                let url = url.clone();
                async move { journeys::authentik_journey(&url).await }
            })
            .await
        }
        (Scenario::RegisterLogin, Protocol::Wso2) => {
            let client = client.clone();
            measure(concurrency, users, pid, move |_| {
                let (client, url) = (client.clone(), url.clone());
                async move { journeys::register_then_login(&client, &url).await }
            })
            .await
        }
        (Scenario::Signup, _) => {
            let client = client.clone();
            measure(concurrency, users, pid, move |_| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let mut latencies = Vec::with_capacity(4);
                    journeys::signup(&client, &url, &journeys::fresh_email(), &mut latencies)
                        .await?;
                    Ok(latencies)
                }
            })
            .await
        }
        (Scenario::Login, _) => {
            let emails: Arc<Vec<String>> =
                Arc::new((0..users).map(|_| journeys::fresh_email()).collect());
            // The accounts are registered first, untimed and not counted.
            let (setup_client, setup_url, setup_emails) =
                (client.clone(), url.clone(), emails.clone());
            let setup = measure(concurrency, users, None, move |index| {
                let (client, url, emails) = (
                    setup_client.clone(),
                    setup_url.clone(),
                    setup_emails.clone(),
                );
                async move {
                    let mut ignored = Vec::new();
                    let email = emails.get(index).ok_or("no such user")?;
                    journeys::signup(&client, &url, email, &mut ignored).await?;
                    Ok(Vec::new())
                }
            })
            .await;
            if let Some(error) = setup.tally.first_failure {
                return Err(format!("registering the login users failed: {error}"));
            }
            let client = client.clone();
            measure(concurrency, users, pid, move |index| {
                let (client, url, emails) = (client.clone(), url.clone(), emails.clone());
                async move {
                    let mut latencies = Vec::with_capacity(3);
                    let email = emails.get(index).ok_or("no such user")?;
                    journeys::login(&client, &url, email, &mut latencies).await?;
                    Ok(latencies)
                }
            })
            .await
        }
        (Scenario::Import, _) => return Err("the import scenario has its own report".into()),
        (Scenario::Steps, _) => {
            let token = options
                .admin_token
                .clone()
                .ok_or("the steps scenario needs --admin-token (or FLOWD_ADMIN_TOKEN)")?;
            let name = Arc::new(steps::create(client, &url, &token, options.prompts).await?);
            let (client, prompts) = (client.clone(), options.prompts);
            measure(concurrency, users, pid, move |_| {
                let (client, url, name) = (client.clone(), url.clone(), name.clone());
                async move {
                    let mut latencies = Vec::with_capacity(prompts + 2);
                    journeys::prompts(&client, &url, &name, prompts, &mut latencies).await?;
                    Ok(latencies)
                }
            })
            .await
        }
    };
    Ok(measured)
}

/// The baseline server as a child process: started, measured with `requests` requests on
/// `concurrency` clients, stopped.
async fn measure_baseline(
    concurrency: usize,
    requests: usize,
    client: &reqwest::Client,
) -> Result<Measured, String> {
    use std::io::BufRead as _;
    let dir = std::env::temp_dir().join(format!(
        "flowd-load-baseline-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut child = std::process::Command::new(exe)
        .arg("--serve-baseline")
        .arg(dir.join("baseline.db"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| error.to_string())?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|error| error.to_string())?;
    }
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("the baseline did not start: {line:?}"))?;
    let url = format!("http://127.0.0.1:{port}");
    let rows = usize::try_from(baseline::ROWS).unwrap_or(1);
    let next_row = Arc::new(AtomicUsize::new(0));
    let client = client.clone();
    let measured = measure(concurrency, requests, Some(child.id()), move |_| {
        let (client, url) = (client.clone(), url.clone());
        // Each request its own row in turn, as each flowd step its own execution.
        let row = next_row.fetch_add(1, Ordering::Relaxed) % rows;
        async move {
            let started = Instant::now();
            let response = client
                .post(format!("{url}/step/{row}"))
                .send()
                .await
                .map_err(|error| error.to_string())?;
            let status = response.status();
            let _ = response.bytes().await.map_err(|error| error.to_string())?;
            if !status.is_success() {
                return Err(format!("baseline answered {status}"));
            }
            Ok(vec![started.elapsed()])
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(measured)
}

/// The `import` scenario: the import's rate, then the first and second sign-ins.
async fn run_import(options: &Options, client: &reqwest::Client) -> Result<Value, String> {
    let token = options
        .admin_token
        .clone()
        .ok_or("the import scenario needs --admin-token (or FLOWD_ADMIN_TOKEN)")?;
    let cost = verify::HashCost {
        memory_kib: options.hash_memory_kib,
        iterations: options.hash_iterations,
        parallelism: options.hash_parallelism,
    };
    let hash = import::hash_of(options.import_hash, cost)?;
    let prefix = format!("imp{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let body = import::body(&prefix, options.users, &hash);
    let bytes = body.len();
    let cpu_before = options.server_pid.and_then(cpu::used);
    let (report, took) = import::post(client, &options.url, &token, body).await?;
    let import_cpu = cpu_before
        .zip(options.server_pid.and_then(cpu::used))
        .map(|(before, after)| after.saturating_sub(before));
    if report["created"] != json!(options.users) {
        return Err(format!("the import did not create every user: {report}"));
    }
    let sign_ins = options.sign_ins.min(options.users);
    let mut rounds = Vec::new();
    for pass in ["first", "second"] {
        let (client, url, prefix) = (client.clone(), options.url.clone(), prefix.clone());
        let mut measured = measure(
            options.concurrency,
            sign_ins,
            options.server_pid,
            move |index| {
                let (client, url, email) = (
                    client.clone(),
                    url.clone(),
                    import::identifier(&prefix, index),
                );
                async move {
                    let mut latencies = Vec::with_capacity(3);
                    journeys::login(&client, &url, &email, &mut latencies).await?;
                    Ok(latencies)
                }
            },
        )
        .await;
        if let Some(error) = &measured.tally.first_failure {
            return Err(format!("the {pass} sign-ins failed: {error}"));
        }
        rounds.push(json!({
            "round": pass,
            "sign_ins": measured.tally.journeys,
            "sign_ins_per_second": round(measured.tally.journeys as f64 / measured.elapsed.as_secs_f64().max(1e-9), 1),
            "request_latency_ms": measured.percentiles(),
            "server_cpu_us_per_request": measured.cpu_per_request_us().map(|us| round(us, 1)),
        }));
    }
    Ok(json!({
        "scenario": "import",
        "hash": format!("{:?}", options.import_hash).to_lowercase(),
        "users": options.users,
        "body_bytes": bytes,
        "import_seconds": round(took.as_secs_f64(), 2),
        "imported_per_second": round(options.users as f64 / took.as_secs_f64().max(1e-9), 1),
        "import_server_cpu_seconds": import_cpu.map(|cpu| round(cpu.as_secs_f64(), 2)),
        "concurrency": options.concurrency,
        "sign_ins": rounds,
    }))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn run(options: Options) -> Result<Value, String> {
    let client = reqwest::Client::new();
    if options.scenario == Scenario::Import {
        return run_import(&options, &client).await;
    }
    let mut flowd = measure_flowd(&options, &client).await?;
    let mut report = json!({
        "scenario": format!("{:?}", options.scenario).to_lowercase(),
        "protocol": format!("{:?}", options.protocol).to_lowercase(),
        "users": options.users,
        "concurrency": options.concurrency,
        "seconds": round(flowd.elapsed.as_secs_f64(), 2),
        "flows": flowd.tally.journeys * if options.scenario == Scenario::RegisterLogin { 2 } else { 1 },
        "failed": flowd.tally.failures,
        "first_failure": flowd.tally.first_failure.clone(),
        "flows_per_second": round(flowd.tally.journeys as f64 / flowd.elapsed.as_secs_f64().max(1e-9), 1),
        "steps_per_second": round(flowd.requests_per_second(), 1),
        "step_latency_ms": flowd.percentiles(),
        "server_cpu_us_per_step": flowd.cpu_per_request_us().map(|us| round(us, 1)),
    });
    if options.baseline {
        let requests = flowd.tally.latencies.len().max(1000);
        let mut baseline = measure_baseline(options.concurrency, requests, &client).await?;
        report["baseline"] = json!({
            "requests": baseline.tally.latencies.len(),
            "failed": baseline.tally.failures,
            "requests_per_second": round(baseline.requests_per_second(), 1),
            "latency_ms": baseline.percentiles(),
            "cpu_us_per_request": baseline.cpu_per_request_us().map(|us| round(us, 1)),
        });
        report["ratio"] = json!({
            "steps_per_baseline_request": round(flowd.requests_per_second() / baseline.requests_per_second().max(1e-9), 2),
            "cpu_per_step_over_baseline": flowd
                .cpu_per_request_us()
                .zip(baseline.cpu_per_request_us())
                .map(|(flowd, baseline)| round(flowd / baseline.max(1e-9), 2)),
        });
        if baseline.tally.failures > 0 {
            return Err(format!("the baseline failed: {report}"));
        }
    }
    if options.verify_rate && options.scenario == Scenario::Login {
        let cost = verify::HashCost {
            memory_kib: options.hash_memory_kib,
            iterations: options.hash_iterations,
            parallelism: options.hash_parallelism,
        };
        // Measured after the run, on the same machine state, while the server idles.
        let rate = tokio::task::spawn_blocking(move || verify::rate(cost, Duration::from_secs(5)))
            .await
            .map_err(|error| format!("the verify-rate thread: {error}"))??;
        let sign_ins = flowd.tally.journeys as f64 / flowd.elapsed.as_secs_f64().max(1e-9);
        report["verify"] = json!({
            "threads": verify::THREADS,
            "memory_kib": cost.memory_kib,
            "iterations": cost.iterations,
            "parallelism": cost.parallelism,
            "verifies_per_second": round(rate, 1),
        });
        report["ratio"]["sign_ins_per_verify"] = json!(round(sign_ins / rate.max(1e-9), 2));
    }
    if flowd.tally.failures > 0 {
        return Err(format!(
            "{} journeys failed: {report}",
            flowd.tally.failures
        ));
    }
    Ok(report)
}

// The report goes to standard output and errors to standard error: this is a command-line tool.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> std::process::ExitCode {
    // reqwest may be built with `rustls-no-provider` (the workspace's flow-federation asks
    // for it): a client needs the process's crypto provider first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = Options::parse();
    if let Some(path) = &options.serve_baseline {
        return match baseline::serve(path) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("baseline: {error}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run(options) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("flowd-load: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
