//! The `webhook` node on the memory ports, with a scripted client in place of HTTP: which
//! edge each answer takes, what the mapping sets (and never half-sets), what the request
//! holds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use flow_compiler::Program;
use flow_engine::memory::{MemoryExecutionStore, MemoryPorts};
use flow_engine::{
    Engine, ExecutionId, ExecutionStore, FIELD_IDENTIFIER, FIELD_PASSWORD,
    MAX_WEBHOOK_RESPONSE_BYTES, Outcome, TenantId, TraceEntry, WEBHOOK_UNAVAILABLE, WebhookClient,
    WebhookError, WebhookRequest, WebhookResponse,
};
use serde_json::{Map, Value, json};

use crate::common::{Harness, T0_MILLIS, compile_text, test_config};

const EMAIL: &str = "jo@example.com";
const PASSWORD: &str = "jade walrus copper lantern";

/// Records every request and answers from a script (then fails: nothing scripted). Also
/// notes where the stored execution stood when the call was made.
struct ScriptedHooks {
    requests: Mutex<Vec<WebhookRequest>>,
    answers: Mutex<VecDeque<Result<WebhookResponse, WebhookError>>>,
    store: Arc<MemoryExecutionStore>,
    stored_pc: Mutex<Vec<Option<usize>>>,
    /// The execution the test runs (its id is not in the body: see `correlation`).
    watched: Mutex<Option<ExecutionId>>,
}

impl WebhookClient for ScriptedHooks {
    fn call(&self, request: &WebhookRequest) -> Result<WebhookResponse, WebhookError> {
        self.requests.lock().unwrap().push(request.clone());
        let watched = *self.watched.lock().unwrap();
        let stored = watched.and_then(|id| {
            self.store
                .load(&TenantId::default(), &id)
                .unwrap()
                .map(|execution| execution.pc)
        });
        self.stored_pc.lock().unwrap().push(stored);
        self.answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Err(WebhookError::Failed("nothing scripted".into())))
    }
}

/// What a default body says of execution `id`: a digest of the id (the id itself continues
/// the flow over WSO2's API), computed here independently of the engine's code path.
fn correlation(id: &ExecutionId) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("flowd-webhook:{id}").as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn answer(status: u16, body: &str) -> Result<WebhookResponse, WebhookError> {
    Ok(WebhookResponse {
        status,
        body: body.as_bytes().to_vec(),
    })
}

struct Hooked {
    harness: Harness,
    hooks: Arc<ScriptedHooks>,
}

impl Hooked {
    fn new(answers: Vec<Result<WebhookResponse, WebhookError>>) -> Self {
        let mut memory = MemoryPorts::with_manual_clock(T0_MILLIS);
        let hooks = Arc::new(ScriptedHooks {
            requests: Mutex::default(),
            answers: Mutex::new(answers.into()),
            store: memory.executions.clone(),
            stored_pc: Mutex::default(),
            watched: Mutex::default(),
        });
        memory.webhooks = Some(hooks.clone());
        let engine = Engine::new(test_config(), memory.ports()).unwrap();
        let harness = Harness {
            engine,
            memory,
            ..Harness::new()
        };
        Self { harness, hooks }
    }

    fn requests(&self) -> Vec<WebhookRequest> {
        self.hooks.requests.lock().unwrap().clone()
    }
}

/// A registration that sets `plan: free`, then calls the webhook `hook` with `config`: its
/// `true` edge creates the account, its `false` edge asks for a nickname first.
fn hooked_registration(config: Value) -> Arc<Program> {
    let flow = json!({
        "name": "hooked",
        "type": "registration",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "identifier", "type": "identifier_input", "config": {"with_password": true}},
                {"id": "password", "type": "password_input"},
                {"id": "plan", "type": "set_attribute", "config": {"attribute": "plan", "value": "free"}},
                {"id": "hook", "type": "webhook", "config": config},
                {"id": "more", "type": "prompt", "config": {"fields": [{"name": "nickname"}]}},
                {"id": "ok", "type": "success"}
            ],
            "edges": [
                {"source": "start", "target": "identifier"},
                {"source": "identifier", "target": "password"},
                {"source": "password", "target": "plan"},
                {"source": "plan", "target": "hook"},
                {"source": "hook", "target": "ok", "condition": "true"},
                {"source": "hook", "target": "more", "condition": "false"},
                {"source": "more", "target": "ok"}
            ]
        }
    });
    compile_text(&flow.to_string())
}

const MAPPING: &str = r#"{
    "url": "https://hooks.example.com/allowed",
    "response": {
        "risk": "response.score",
        "plan": "response.plan",
        "profile.tier": "response.profile.tier",
        "code": "status"
    }
}"#;

fn mapping() -> Value {
    serde_json::from_str(MAPPING).unwrap()
}

/// Starts the flow and sends the identifier and password: the webhook runs right after.
fn run(hooked: &Hooked, program: &Arc<Program>) -> (ExecutionId, Outcome) {
    run_as(hooked, program, EMAIL)
}

fn run_as(hooked: &Hooked, program: &Arc<Program>, email: &str) -> (ExecutionId, Outcome) {
    let (id, _) = hooked.harness.start(program);
    *hooked.hooks.watched.lock().unwrap() = Some(id);
    let outcome = hooked.harness.submit(
        &id,
        &[(FIELD_IDENTIFIER, email), (FIELD_PASSWORD, PASSWORD)],
    );
    (id, outcome)
}

fn hook_entry(harness: &Harness, id: &ExecutionId) -> TraceEntry {
    harness
        .engine
        .trace(&TenantId::default(), id)
        .unwrap()
        .into_iter()
        .find(|entry| entry.node_id == "hook")
        .expect("the webhook step ran")
}

fn attributes(harness: &Harness, id: &ExecutionId) -> Map<String, Value> {
    harness
        .engine
        .execution(&TenantId::default(), id)
        .unwrap()
        .attributes
}

/// The flow took the `false` edge: it waits at the nickname prompt.
fn assert_took_false(outcome: &Outcome) {
    let form = outcome
        .form()
        .unwrap_or_else(|| panic!("not a prompt: {outcome:?}"));
    assert_eq!(form.node_id, "more");
}

#[test]
fn a_2xx_answer_sets_the_mapped_attributes_and_takes_the_true_edge() {
    let hooked = Hooked::new(vec![answer(
        200,
        r#"{"score": 12, "plan": "pro", "profile": {"tier": "gold"}, "ignored": true}"#,
    )]);
    let program = hooked_registration(mapping());
    let (id, outcome) = run(&hooked, &program);
    let Outcome::Complete { attributes, .. } = outcome else {
        panic!("not complete: {outcome:?}");
    };
    assert_eq!(
        Value::Object(attributes),
        json!({"plan": "pro", "risk": 12, "profile": {"tier": "gold"}, "code": 200})
    );
    let entry = hook_entry(&hooked.harness, &id);
    assert_eq!(entry.op, "call_webhook");
    assert_eq!(entry.result, "true");
    assert_eq!(entry.detail.as_deref(), Some("status 200"));

    // One call, with the default body of a POST.
    let requests = hooked.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.url, "https://hooks.example.com/allowed");
    assert_eq!(request.method, "POST");
    assert_eq!(request.timeout_ms, 3_000);
    assert_eq!(request.retries, 0);
    assert_eq!(request.secret, None);
    assert!(request.headers.is_empty());
    assert_eq!(
        request.body,
        Some(json!({
            "flow": {"id": "flow_hooked", "type": "registration", "node": "hook"},
            "execution": correlation(&id),
            "user": {"id": null, "identifier": EMAIL},
            "attributes": {"plan": "free"},
        }))
    );
    // The run was saved up to the webhook step before the call reached outside.
    let hook_step = program
        .steps
        .iter()
        .position(|step| step.node_id == "hook")
        .unwrap();
    assert_eq!(*hooked.hooks.stored_pc.lock().unwrap(), [Some(hook_step)]);
}

#[test]
fn a_500_takes_the_false_edge_and_leaves_the_attributes_alone() {
    let hooked = Hooked::new(vec![answer(500, r#"{"score": 99, "plan": "secret-plan"}"#)]);
    let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
    assert_took_false(&outcome);
    assert_eq!(
        Value::Object(attributes(&hooked.harness, &id)),
        json!({"plan": "free"})
    );
    let entry = hook_entry(&hooked.harness, &id);
    assert_eq!(entry.result, "false");
    assert_eq!(entry.detail.as_deref(), Some("status 500"));
    crate::common::assert_trace_free_of(&hooked.harness, &id, &["secret-plan"]);

    // Other statuses too: a redirect is not followed by the engine, a 404 is no answer.
    for status in [101, 302, 404] {
        let hooked = Hooked::new(vec![answer(status, "{}")]);
        let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
        assert_took_false(&outcome);
        assert_eq!(
            hook_entry(&hooked.harness, &id).detail,
            Some(format!("status {status}"))
        );
    }
}

#[test]
fn a_mapping_error_takes_the_false_edge_and_sets_nothing() {
    // `code` is set first (key order), then `plan` fails: neither is kept.
    let hooked = Hooked::new(vec![answer(
        200,
        r#"{"score": 12, "profile": {"tier": "gold"}}"#,
    )]);
    let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
    assert_took_false(&outcome);
    assert_eq!(
        Value::Object(attributes(&hooked.harness, &id)),
        json!({"plan": "free"})
    );
    let entry = hook_entry(&hooked.harness, &id);
    assert_eq!(entry.result, "false");
    assert_eq!(
        entry.detail.as_deref(),
        Some("webhook_mapping_failed: response.plan failed (status 200)")
    );
    crate::common::assert_trace_free_of(&hooked.harness, &id, &["gold"]);
}

#[test]
fn a_2xx_answer_must_be_json_and_may_be_empty_only_without_a_mapping() {
    for (body, detail) in [
        (
            "<html>Sign in</html>",
            "webhook_invalid_response: not JSON (status 200)",
        ),
        ("", "webhook_invalid_response: empty body (status 200)"),
        ("  \n", "webhook_invalid_response: empty body (status 200)"),
    ] {
        let hooked = Hooked::new(vec![answer(200, body)]);
        let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
        assert_took_false(&outcome);
        assert_eq!(
            hook_entry(&hooked.harness, &id).detail.as_deref(),
            Some(detail)
        );
        assert_eq!(
            Value::Object(attributes(&hooked.harness, &id)),
            json!({"plan": "free"})
        );
    }
    let plain = json!({"url": "https://hooks.example.com/allowed"});
    for (status, body, took_true) in [
        (204, "", true),
        (200, "", true),
        (200, "{\"anything\": 1}", true),
        (200, "OK", false),
    ] {
        let hooked = Hooked::new(vec![answer(status, body)]);
        let (id, outcome) = run(&hooked, &hooked_registration(plain.clone()));
        assert_eq!(
            matches!(outcome, Outcome::Complete { .. }),
            took_true,
            "{status} {body:?}: {outcome:?}"
        );
        let entry = hook_entry(&hooked.harness, &id);
        assert_eq!(entry.result, if took_true { "true" } else { "false" });
    }
}

#[test]
fn failed_calls_take_the_false_edge_with_their_code() {
    for (error, code) in [
        (WebhookError::Timeout, "webhook_timeout"),
        (WebhookError::TooLarge, "webhook_response_too_large"),
        (
            WebhookError::Refused("10.0.0.7 is private".into()),
            "webhook_address_refused",
        ),
        (
            WebhookError::Failed("connection refused".into()),
            "webhook_failed",
        ),
    ] {
        let hooked = Hooked::new(vec![Err(error)]);
        let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
        assert_took_false(&outcome);
        let entry = hook_entry(&hooked.harness, &id);
        assert_eq!(entry.detail.as_deref(), Some(code));
        crate::common::assert_trace_free_of(&hooked.harness, &id, &["10.0.0.7"]);
    }
    // An answer larger than the limit is refused even if the adapter let it through.
    let large = format!(
        "{{\"pad\": \"{}\"}}",
        "x".repeat(MAX_WEBHOOK_RESPONSE_BYTES)
    );
    let hooked = Hooked::new(vec![answer(200, &large)]);
    let (id, outcome) = run(&hooked, &hooked_registration(mapping()));
    assert_took_false(&outcome);
    assert_eq!(
        hook_entry(&hooked.harness, &id).detail.as_deref(),
        Some("webhook_response_too_large (status 200)")
    );
}

#[test]
fn without_a_client_the_false_edge_is_taken() {
    let harness = Harness::new();
    let (id, _) = harness.start(&hooked_registration(mapping()));
    let outcome = harness.submit(
        &id,
        &[(FIELD_IDENTIFIER, EMAIL), (FIELD_PASSWORD, PASSWORD)],
    );
    assert_took_false(&outcome);
    let entry = hook_entry(&harness, &id);
    assert_eq!(entry.result, "false");
    assert_eq!(entry.detail.as_deref(), Some(WEBHOOK_UNAVAILABLE));
    // The flow goes on along the false edge.
    let done = harness.submit(&id, &[("nickname", "jo")]);
    assert!(matches!(done, Outcome::Complete { .. }), "{done:?}");
}

#[test]
fn the_body_template_renders_values_from_the_execution() {
    let hooked = Hooked::new(vec![answer(200, r#"{"ok": true}"#)]);
    let config = json!({
        "url": "https://hooks.example.com/profile",
        "method": "PUT",
        "headers": {"X-Api-Key": "k-123", "Accept": "application/json"},
        "timeout_ms": 1500,
        "retries": 2,
        "secret": format!("whsec_{}", "A".repeat(32)),
        "body": {
            "email": "${user.identifier}",
            "known": "${user.exists}",
            "plan": "${attributes.plan}",
            "summary": "${flow.type} of ${user.identifier} on plan ${attributes.plan}",
            "tags": ["${attributes.plan}", 1, null, {"nested": "${size(attributes)}"}],
            "literal": "$${not.an.expression}",
            "fixed": 7
        },
        "response": {"accepted": "response.ok && status == 200"}
    });
    let (_, outcome) = run(&hooked, &hooked_registration(config));
    let Outcome::Complete { attributes, .. } = outcome else {
        panic!("not complete: {outcome:?}");
    };
    assert_eq!(attributes["accepted"], json!(true));
    let request = hooked.requests().remove(0);
    assert_eq!(request.method, "PUT");
    assert_eq!(request.timeout_ms, 1500);
    assert_eq!(request.retries, 2);
    assert_eq!(request.secret, Some(format!("whsec_{}", "A".repeat(32))));
    assert_eq!(
        request.headers,
        [
            ("Accept".to_owned(), "application/json".to_owned()),
            ("X-Api-Key".to_owned(), "k-123".to_owned())
        ]
    );
    assert_eq!(
        request.body,
        Some(json!({
            "email": EMAIL,
            "known": false,
            "plan": "free",
            "summary": format!("registration of {EMAIL} on plan free"),
            "tags": ["free", 1, null, {"nested": 1}],
            "literal": "${not.an.expression}",
            "fixed": 7
        }))
    );
}

#[test]
fn a_body_that_cannot_be_rendered_calls_nothing() {
    let hooked = Hooked::new(vec![answer(200, "{}")]);
    let config = json!({
        "url": "https://hooks.example.com/x",
        "body": {"who": {"name": "${attributes.missing}"}}
    });
    let (id, outcome) = run(&hooked, &hooked_registration(config));
    assert_took_false(&outcome);
    assert!(hooked.requests().is_empty());
    let detail = hook_entry(&hooked.harness, &id).detail.unwrap();
    assert!(
        detail.starts_with("webhook_body_failed: body.who.name: evaluation failed"),
        "{detail}"
    );
}

#[test]
fn get_and_delete_send_no_body() {
    for method in ["GET", "DELETE"] {
        let hooked = Hooked::new(vec![answer(200, r#"{"allowed": true}"#)]);
        let config = json!({
            "url": "https://hooks.example.com/allowed",
            "method": method,
            "retries": 1,
            "response": {"allowed": "response.allowed"}
        });
        let (_, outcome) = run(&hooked, &hooked_registration(config));
        assert!(matches!(outcome, Outcome::Complete { .. }), "{outcome:?}");
        let request = hooked.requests().remove(0);
        assert_eq!(request.method, method);
        assert_eq!(request.body, None);
        assert_eq!(request.retries, 1);
    }
}

#[test]
fn message_ids_are_msg_and_26_url_safe_characters() {
    let hooked = Hooked::new(vec![answer(200, "{}"), answer(200, "{}")]);
    let program = hooked_registration(json!({"url": "https://hooks.example.com/x"}));
    run_as(&hooked, &program, "one@example.com");
    run_as(&hooked, &program, "two@example.com");
    let ids: Vec<String> = hooked
        .requests()
        .into_iter()
        .map(|request| request.message_id)
        .collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let random = id.strip_prefix("msg_").unwrap_or_else(|| panic!("{id}"));
        assert_eq!(random.len(), 26, "{id}");
        assert!(
            random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
    }
    assert_ne!(ids[0], ids[1]);
    // The request's debug form shows the id but no URL, header, body or secret.
    let shown = format!("{:?}", hooked.requests()[0]);
    assert!(
        shown.contains(&ids[0]) && !shown.contains("hooks.example.com"),
        "{shown}"
    );
}
