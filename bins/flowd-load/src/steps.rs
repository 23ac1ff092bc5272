//! The `steps` scenario's flow: an identifier and N one-field prompts, created and activated
//! through the admin API, so that a step costs one prompt and nothing else (no argon2, no mail).

use serde_json::{Value, json};

/// The graph of a registration flow: identifier, `prompts` one-field text prompts, success.
pub(crate) fn graph(prompts: usize) -> Value {
    let mut nodes = vec![
        json!({"id": "start", "type": "start"}),
        json!({"id": "identifier", "type": "identifier_input", "config": {"identifier_types": ["email"]}}),
    ];
    let mut edges = vec![json!({"source": "start", "target": "identifier"})];
    let mut previous = "identifier".to_owned();
    for index in 0..prompts {
        let id = format!("prompt_{index}");
        nodes.push(json!({"id": id, "type": "prompt", "config": {"fields": [
            {"name": format!("answer_{index}"), "type": "text", "label": format!("Answer {index}"), "required": true}
        ]}}));
        edges.push(json!({"source": previous, "target": id}));
        previous = id;
    }
    nodes.push(json!({"id": "success", "type": "success", "config": {"auto_login": false}}));
    edges.push(json!({"source": previous, "target": "success"}));
    json!({"nodes": nodes, "edges": edges})
}

/// Creates and activates the flow through the admin API; returns its name.
pub(crate) async fn create(
    client: &reqwest::Client,
    url: &str,
    admin_token: &str,
    prompts: usize,
) -> Result<String, String> {
    let name = format!(
        "load-steps-{prompts}-{}",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    );
    let body = json!({
        "name": name,
        "display_name": format!("Load test: {prompts} prompts"),
        "type": "registration",
        "graph": graph(prompts),
    });
    let created = admin(
        client.post(format!("{url}/api/admin/flows")),
        admin_token,
        &body,
    )
    .await?;
    let id = created["id"]
        .as_str()
        .ok_or_else(|| format!("created flow without id: {created}"))?
        .to_owned();
    admin(
        client.post(format!("{url}/api/admin/flows/{id}/activate")),
        admin_token,
        &json!({}),
    )
    .await?;
    Ok(name)
}

/// Sends an admin request; a non-2xx answer is an error with its body.
async fn admin(
    request: reqwest::RequestBuilder,
    admin_token: &str,
    body: &Value,
) -> Result<Value, String> {
    let response = request
        .bearer_auth(admin_token)
        .json(body)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("admin API {status}: {value}"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_graph_chains_every_prompt() {
        let graph = super::graph(3);
        assert_eq!(graph["nodes"].as_array().map(Vec::len), Some(6));
        assert_eq!(graph["edges"].as_array().map(Vec::len), Some(5));
        assert_eq!(graph["edges"][4]["source"], "prompt_2");
        assert_eq!(graph["nodes"][4]["config"]["fields"][0]["name"], "answer_2");
    }
}
