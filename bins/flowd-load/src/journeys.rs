//! The journeys the load tool's clients make over flowd's two protocols: each returns the
//! latency of every request it made, or why it did not end as expected.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The password every load user gets (strong enough for the default policy).
pub(crate) const PASSWORD: &str = "load test password 123";

/// A fresh identifier for a load user.
pub(crate) fn fresh_email() -> String {
    format!("load-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Registers `email` through the default registration flow (WSO2 API).
pub(crate) async fn signup(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    latencies: &mut Vec<Duration>,
) -> Result<(), String> {
    let registration = [
        json!({"identifier": email}),
        json!({"password": PASSWORD}),
        json!({}),
    ];
    run_flow(
        client,
        url,
        &json!({"flowType": "REGISTRATION"}),
        &registration,
        latencies,
    )
    .await
}

/// Signs `email` in through the default login flow (WSO2 API).
pub(crate) async fn login(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    latencies: &mut Vec<Duration>,
) -> Result<(), String> {
    let login = [json!({"identifier": email}), json!({"password": PASSWORD})];
    run_flow(
        client,
        url,
        &json!({"flowType": "AUTHENTICATION"}),
        &login,
        latencies,
    )
    .await
}

/// Runs the flow `name` of the steps scenario: an identifier, then `prompts` one-field
/// prompts (WSO2 API).
pub(crate) async fn prompts(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    prompts: usize,
    latencies: &mut Vec<Duration>,
) -> Result<(), String> {
    let mut steps = vec![json!({"identifier": fresh_email()})];
    steps.extend((0..prompts).map(|index| json!({ format!("answer_{index}"): "yes" })));
    run_flow(client, url, &json!({"flowName": name}), &steps, latencies).await
}

/// Registers a fresh user, then signs them in (WSO2 API).
pub(crate) async fn register_then_login(
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<Duration>, String> {
    let email = fresh_email();
    let mut latencies = Vec::with_capacity(7);
    signup(client, url, &email, &mut latencies).await?;
    login(client, url, &email, &mut latencies).await?;
    Ok(latencies)
}

/// Starts a flow with `start` (its `flowType` or `flowName`) and submits `steps` in order;
/// the last answer must be COMPLETE.
async fn run_flow(
    client: &reqwest::Client,
    url: &str,
    start: &Value,
    steps: &[Value],
    latencies: &mut Vec<Duration>,
) -> Result<(), String> {
    let endpoint = format!("{url}/api/server/v1/flow/execute");
    let mut view = post(client, &endpoint, start, latencies).await?;
    for inputs in steps {
        let body = json!({"flowId": view["flowId"], "inputs": inputs});
        view = post(client, &endpoint, &body, latencies).await?;
    }
    if view["flowStatus"] == "COMPLETE" {
        Ok(())
    } else {
        Err(format!("{start} ended with {view}"))
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
pub(crate) async fn authentik_journey(url: &str) -> Result<Vec<Duration>, String> {
    let email = fresh_email();
    let password = PASSWORD;
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
