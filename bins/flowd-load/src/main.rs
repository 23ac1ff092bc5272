//! flowd-load: drives N concurrent users through registration and then login over the WSO2 Flow
//! Execution API (or authentik's flow executor, `--protocol authentik`) of a running flowd, and
//! reports flows/s, steps/s and step latency percentiles.
//!
//! Only loopback targets are meant: it is a tool for measuring a server on this machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use std::sync::{Mutex, PoisonError};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "flowd-load",
    about = "Concurrent registration and login flows against flowd"
)]
struct Options {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// How many users run at the same time.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How many users in all (each registers, then signs in).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// The protocol the users speak.
    #[arg(long, value_enum, default_value_t = Protocol::Wso2)]
    protocol: Protocol,
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
    step_latencies: Vec<Duration>,
    flows: usize,
    failures: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let options = Options::parse();
    let client = reqwest::Client::new();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency.max(1))
        .map(|_| {
            let (client, tally, next) = (client.clone(), tally.clone(), next.clone());
            let (url, users, protocol) = (options.url.clone(), options.users, options.protocol);
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < users {
                    let outcome = match protocol {
                        Protocol::Wso2 => user_journey(&client, &url).await,
                        Protocol::Authentik => authentik_journey(&url).await,
                    };
                    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    match outcome {
                        Ok(latencies) => {
                            tally.flows += 2;
                            tally.step_latencies.extend(latencies);
                        }
                        Err(_) => tally.failures += 1,
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    tally.step_latencies.sort();
    let steps = tally.step_latencies.len();
    let percentile = |p: f64| {
        let index = ((steps as f64 - 1.0) * p).round() as usize;
        tally
            .step_latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let report = json!({
        "protocol": format!("{:?}", options.protocol).to_lowercase(),
        "users": options.users,
        "concurrency": options.concurrency,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "flows": tally.flows,
        "failed_users": tally.failures,
        "flows_per_second": (tally.flows as f64 / elapsed * 10.0).round() / 10.0,
        "steps_per_second": (steps as f64 / elapsed * 10.0).round() / 10.0,
        "step_latency_ms": {"p50": percentile(0.50), "p95": percentile(0.95), "p99": percentile(0.99)},
    });
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    }
    if tally.failures == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

/// Registers a fresh user, then signs them in; returns the latency of every request.
async fn user_journey(client: &reqwest::Client, url: &str) -> Result<Vec<Duration>, String> {
    let email = format!("load-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "load test password 123";
    let mut latencies = Vec::with_capacity(7);
    let registration = [
        json!({"identifier": email}),
        json!({"password": password}),
        json!({}),
    ];
    run_flow(client, url, "REGISTRATION", &registration, &mut latencies).await?;
    let login = [json!({"identifier": email}), json!({"password": password})];
    run_flow(client, url, "AUTHENTICATION", &login, &mut latencies).await?;
    Ok(latencies)
}

/// Starts a flow and submits `steps` in order; the last answer must be COMPLETE.
async fn run_flow(
    client: &reqwest::Client,
    url: &str,
    flow_type: &str,
    steps: &[Value],
    latencies: &mut Vec<Duration>,
) -> Result<(), String> {
    let endpoint = format!("{url}/api/server/v1/flow/execute");
    let mut view = post(
        client,
        &endpoint,
        &json!({"flowType": flow_type}),
        latencies,
    )
    .await?;
    for inputs in steps {
        let body = json!({"flowId": view["flowId"], "flowType": flow_type, "inputs": inputs});
        view = post(client, &endpoint, &body, latencies).await?;
    }
    if view["flowStatus"] == "COMPLETE" {
        Ok(())
    } else {
        Err(format!("{flow_type} ended with {view}"))
    }
}

async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    body: &Value,
    latencies: &mut Vec<Duration>,
) -> Result<Value, String> {
    let started = Instant::now();
    let response = client
        .post(endpoint)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| e.to_string())?;
    latencies.push(started.elapsed());
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{status}: {value}"))
    }
}

/// Registers a fresh user and signs them in over authentik's executor, each flow in a fresh
/// browser (a new cookie jar: registration signs in, and a signed-in session's login flow
/// would end at once); returns the latency of every request, the 302s' GETs included.
async fn authentik_journey(url: &str) -> Result<Vec<Duration>, String> {
    let email = format!("load-{}@example.com", uuid::Uuid::new_v4().simple());
    let password = "load test password 123";
    let mut latencies = Vec::with_capacity(12);
    let answer = |challenge: &Value| -> Value {
        match challenge["component"].as_str() {
            Some("ak-stage-identification") => {
                json!({"component": "ak-stage-identification", "uid_field": email})
            }
            Some("ak-stage-password") => {
                json!({"component": "ak-stage-password", "password": password})
            }
            _ => {
                let mut body = json!({"component": "ak-stage-prompt"});
                for field in challenge["fields"].as_array().into_iter().flatten() {
                    let key = field["field_key"].as_str().unwrap_or_default();
                    body[key] = match key {
                        "identifier" => json!(email),
                        "password" | "password_confirm" => json!(password),
                        _ => json!(""),
                    };
                }
                body
            }
        }
    };
    for slug in ["default-registration", "default-login"] {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let executor = format!("{url}/api/v3/flows/executor/{slug}/?query=next%3D%252F");
        let mut challenge = timed(&mut latencies, client.get(&executor)).await?.1;
        for _ in 0..8 {
            match challenge["component"].as_str() {
                Some("xak-flow-redirect") => break,
                Some("ak-stage-identification" | "ak-stage-password" | "ak-stage-prompt") => {}
                _ => return Err(format!("{slug}: {challenge}")),
            }
            let body = answer(&challenge);
            let (status, response) =
                timed(&mut latencies, client.post(&executor).json(&body)).await?;
            challenge = if status == reqwest::StatusCode::FOUND {
                timed(&mut latencies, client.get(&executor)).await?.1
            } else {
                response
            };
        }
        if challenge["component"] != "xak-flow-redirect" {
            return Err(format!("{slug} ended with {challenge}"));
        }
    }
    Ok(latencies)
}

/// Sends `request`, records its latency, and returns the status and the JSON body (`Null`
/// when empty); a 4xx or 5xx is an error.
async fn timed(
    latencies: &mut Vec<Duration>,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Value), String> {
    let started = Instant::now();
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    latencies.push(started.elapsed());
    if status.is_client_error() || status.is_server_error() {
        return Err(format!("{status}: {text}"));
    }
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    };
    Ok((status, value))
}
