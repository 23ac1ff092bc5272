//! The `webhook` node's config: every rule, each bad input with its path and message.

use serde_json::{Value, json};

use super::*;
use crate::{FindingCode, Flow, validate};

fn parse(config: Value) -> Result<WebhookConfig, ConfigError> {
    match NodeKind::parse(&NodeType::Webhook, Some(&config)) {
        Some(Ok(NodeKind::Webhook(config))) => Ok(config),
        Some(Ok(other)) => panic!("not a webhook: {other:?}"),
        Some(Err(error)) => Err(error),
        None => panic!("webhook is built in"),
    }
}

/// A webhook config with `extra` merged over a valid URL.
fn with(extra: Value) -> Value {
    let mut config = json!({"url": "https://hooks.example.com/check"});
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

/// The path and message of the refusal of `config`.
fn refused(config: Value) -> (String, String) {
    let error = parse(config.clone()).expect_err(&format!("accepted {config}"));
    (error.path, error.message)
}

fn assert_refused(config: Value, path: &str, message: &str) {
    let (found_path, found_message) = refused(config.clone());
    assert_eq!(found_path, path, "{config}: {found_message}");
    assert!(
        found_message.contains(message),
        "{config}: '{found_message}' does not contain '{message}'"
    );
}

#[test]
fn defaults() {
    let config = parse(with(json!({}))).unwrap();
    assert_eq!(config.method, WebhookMethod::Post);
    assert_eq!(config.timeout_ms, DEFAULT_WEBHOOK_TIMEOUT_MS);
    assert_eq!(config.timeout_ms, 3_000);
    assert!(config.headers.is_empty());
    assert_eq!(config.body, None);
    assert!(config.response.is_empty());
    assert_eq!(config.retries, 0);
    assert_eq!(config.secret, None);
}

#[test]
fn a_full_config_reads_and_writes_back() {
    let config = with(json!({
        "method": "PUT",
        "headers": {"X-Api-Key": "k1", "Accept": "application/json"},
        "timeout_ms": 10_000,
        "body": {"email": "${user.identifier}", "note": "plan ${attributes.plan}", "n": 1},
        "response": {"risk": "response.score", "profile.tier": "response.tier"},
        "retries": 3,
        "secret": format!("whsec_{}", "A".repeat(32)),
    }));
    let parsed = parse(config.clone()).unwrap();
    assert_eq!(parsed.method, WebhookMethod::Put);
    assert_eq!(parsed.headers.len(), 2);
    let written = serde_json::to_value(NodeKind::Webhook(parsed)).unwrap();
    assert_eq!(written["config"], config);
}

#[test]
fn unknown_fields_are_refused() {
    assert_refused(
        with(json!({"methd": "GET"})),
        "methd",
        "unknown field `methd`",
    );
}

#[test]
fn url_must_be_http_or_https() {
    assert_refused(json!({}), "", "missing field `url`");
    for url in [
        "ftp://hooks.example.com",
        "https://",
        "https:///path",
        "hooks.example.com/x",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\u{7}",
    ] {
        assert_refused(
            json!({ "url": url }),
            "url",
            "must be an http:// or https:// URL",
        );
    }
    let long = format!(
        "https://hooks.example.com/{}",
        "a".repeat(MAX_WEBHOOK_URL_LEN)
    );
    assert_refused(json!({ "url": long }), "url", "at most 2048 bytes");
    assert!(parse(json!({"url": "http://10.0.0.1:8080/hook?x=1"})).is_ok());
}

#[test]
fn method_is_one_of_five_in_capitals() {
    for (name, method) in [
        ("GET", WebhookMethod::Get),
        ("POST", WebhookMethod::Post),
        ("PUT", WebhookMethod::Put),
        ("PATCH", WebhookMethod::Patch),
        ("DELETE", WebhookMethod::Delete),
    ] {
        assert_eq!(
            parse(with(json!({ "method": name }))).unwrap().method,
            method
        );
        assert_eq!(method.as_str(), name);
    }
    assert_refused(with(json!({"method": "post"})), "method", "unknown variant");
    assert_refused(with(json!({"method": "HEAD"})), "method", "unknown variant");
}

#[test]
fn headers_are_bounded_and_well_formed() {
    let many: serde_json::Map<String, Value> = (0..=MAX_WEBHOOK_HEADERS)
        .map(|index| (format!("X-H{index}"), json!("v")))
        .collect();
    assert_refused(
        with(json!({ "headers": many })),
        "headers",
        "at most 20 headers",
    );
    let twenty: serde_json::Map<String, Value> = (0..MAX_WEBHOOK_HEADERS)
        .map(|index| (format!("X-H{index}"), json!("v")))
        .collect();
    assert!(parse(with(json!({ "headers": twenty }))).is_ok());

    for name in ["", "X Api", "X-Api:", "Ünicode", "X(1)"] {
        assert_refused(
            with(json!({"headers": { name: "v" }})),
            &format!("headers.{name}"),
            "is not a valid header name",
        );
    }
    for name in RESERVED_WEBHOOK_HEADERS
        .iter()
        .map(|name| (*name).to_owned())
        .chain(["Webhook-Signature".to_owned(), "HOST".to_owned()])
    {
        assert_refused(
            with(json!({"headers": { &name: "v" }})),
            &format!("headers.{name}"),
            "is set by flowd",
        );
    }
    assert_refused(
        with(json!({"headers": {"X-Key": "a", "x-key": "b"}})),
        "headers.x-key",
        "is listed twice",
    );
    for value in ["a\r\nX-Evil: 1", "a\nb", "a\rb", "nul\u{0}", "é"] {
        assert_refused(
            with(json!({"headers": {"X-Key": value}})),
            "headers.X-Key",
            "without CR or LF",
        );
    }
    assert_refused(
        with(json!({"headers": {"X-Key": 1}})),
        "headers.X-Key",
        "expected a string",
    );
    assert!(
        parse(with(
            json!({"headers": {"Authorization": "Bearer a.b-c_d~e=\t"}})
        ))
        .is_ok()
    );
}

#[test]
fn timeout_is_between_1_and_10_000_ms() {
    assert_eq!(MAX_WEBHOOK_TIMEOUT_MS, 10_000);
    for timeout in [0, 10_001, 30_000] {
        assert_refused(
            with(json!({ "timeout_ms": timeout })),
            "timeout_ms",
            "must be between 1 and 10000",
        );
    }
    assert_refused(
        with(json!({"timeout_ms": -1})),
        "timeout_ms",
        "invalid value",
    );
    for timeout in [1, 10_000] {
        assert!(parse(with(json!({ "timeout_ms": timeout }))).is_ok());
    }
}

#[test]
fn body_templates_are_checked() {
    for method in ["GET", "DELETE"] {
        assert_refused(
            with(json!({"method": method, "body": {"a": 1}})),
            "body",
            &format!("a {method} call has no body"),
        );
    }
    assert_refused(
        with(json!({"body": {"user": {"email": "${user.identifier"}}})),
        "body.user.email",
        "without its closing '}'",
    );
    assert_refused(
        with(json!({"body": {"list": [1, "x ${ } y"]}})),
        "body.list[1]",
        "has an empty '${}'",
    );
    assert_refused(with(json!({"body": "${"})), "body", "closing");
    let many: Vec<String> = (0..=MAX_WEBHOOK_EXPRESSIONS)
        .map(|index| format!("${{attributes.a{index}}}"))
        .collect();
    assert_refused(
        with(json!({"body": { "all": many.join(" ") }})),
        "body",
        "at most 32 expressions",
    );
    // Any JSON value is a template, and `$${` is a literal.
    for body in [
        json!(null),
        json!(42),
        json!("${user.id}"),
        json!(["$${not an expression}", true]),
    ] {
        assert!(parse(with(json!({ "body": body }))).is_ok(), "{body}");
    }
}

#[test]
fn response_mappings_are_checked() {
    for path in ["", "a..b", "a b", ".a", "a.", &"x".repeat(129)] {
        assert_refused(
            with(json!({"response": { path: "response.x" }})),
            &format!("response.{path}"),
            "must be letters, digits",
        );
    }
    assert_refused(
        with(json!({"response": {"risk": "  "}})),
        "response.risk",
        "must not be empty",
    );
    assert_refused(
        with(json!({"response": {"profile": "response.p", "profile.tier": "response.t"}})),
        "response.profile.tier",
        "is inside 'profile', which is mapped too",
    );
    let many: serde_json::Map<String, Value> = (0..=MAX_WEBHOOK_EXPRESSIONS)
        .map(|index| (format!("a{index}"), json!("response.x")))
        .collect();
    assert_refused(
        with(json!({ "response": many })),
        "response",
        "at most 32 attributes",
    );
    assert_refused(
        with(json!({"response": {"risk": 1}})),
        "response.risk",
        "expected a string",
    );
    assert!(
        parse(with(
            json!({"response": {"profile.tier": "response.t", "profile.name": "response.n"}})
        ))
        .is_ok()
    );
}

#[test]
fn only_idempotent_calls_are_retried() {
    assert_refused(
        with(json!({"method": "GET", "retries": 4})),
        "retries",
        "must be between 0 and 3",
    );
    assert_refused(with(json!({"retries": 256})), "retries", "invalid value");
    for method in ["POST", "PATCH"] {
        assert_refused(
            with(json!({"method": method, "retries": 1})),
            "retries",
            &format!("only GET, PUT and DELETE calls may be retried: a {method}"),
        );
        assert!(parse(with(json!({"method": method, "retries": 0}))).is_ok());
    }
    for method in ["GET", "PUT", "DELETE"] {
        assert!(parse(with(json!({"method": method, "retries": 3}))).is_ok());
    }
}

#[test]
fn secrets_are_standard_webhooks_secrets() {
    let message = "must be 'whsec_' followed by the base64 of 24 to 64 random bytes";
    for secret in [
        "A".repeat(32),                          // no prefix
        "whsec_".to_owned(),                     // nothing after it
        format!("whsec_{}", "A".repeat(31)),     // 23 bytes
        format!("whsec_{}=", "A".repeat(31)),    // 23 bytes, padded
        format!("whsec_{}", "A".repeat(87)),     // 65 bytes
        format!("whsec_{}!", "A".repeat(32)),    // not base64
        format!("whsec_{}-_", "A".repeat(30)),   // base64url, not base64
        format!("whsec_{}", "A".repeat(33)),     // a length no base64 has
        format!("whsec_{}=", "A".repeat(32)),    // padding that does not fit
        format!("whsec_{}===", "A".repeat(29)),  // three padding characters
        format!("whsec_{}", "A".repeat(64 * 4)), // far too long
    ] {
        assert_refused(with(json!({ "secret": secret })), "secret", message);
        // The refusal never repeats the secret.
        let shown = refused(with(json!({ "secret": secret }))).1;
        assert!(secret.len() <= 6 || !shown.contains(&secret), "{shown}");
    }
    for secret in [
        format!("whsec_{}", "A".repeat(32)), // 24 bytes
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        format!("whsec_{}=", "A".repeat(43)), // 32 bytes, padded
        format!("whsec_{}", "a+/9".repeat(10) + "AAA"), // 32 bytes, unpadded
        format!("whsec_{}E", "A".repeat(42)), // 32 bytes, the last bits zero
        format!("whsec_{}Q==", "A".repeat(85)), // 64 bytes, the last bits zero
        format!("whsec_{}", "A".repeat(86)),  // 64 bytes
        format!("whsec_{}==", "A".repeat(86)), // 64 bytes, padded
    ] {
        assert!(is_webhook_secret(&secret), "{secret}");
        assert!(parse(with(json!({ "secret": secret }))).is_ok());
    }
}

#[test]
fn expressions_are_listed_with_their_paths() {
    let config = parse(with(json!({
        "body": {"user": "${user.id}", "note": "a ${attributes.a} b ${attributes.b}", "n": 1},
        "response": {"risk": "response.score"},
    })))
    .unwrap();
    assert_eq!(
        config.expressions(),
        [
            ("body.user".to_owned(), "user.id"),
            ("body.note".to_owned(), "attributes.a"),
            ("body.note".to_owned(), "attributes.b"),
            ("response.risk".to_owned(), "response.score"),
        ]
    );
}

/// A login whose webhook node `hook` has `config` and the edges `edges` (a compact spec:
/// `true`, `false` or `-` for an edge without condition, each to `ok` or `no`).
fn webhook_flow(config: Value, edges: &[(&str, &str)]) -> Flow {
    let mut all = vec![json!({"source": "s", "target": "hook"})];
    for (condition, target) in edges {
        let mut edge = json!({"source": "hook", "target": target});
        if *condition != "-" {
            edge["condition"] = json!(condition);
        }
        all.push(edge);
    }
    Flow::from_value(json!({
        "name": "t",
        "type": "login",
        "graph": {
            "nodes": [
                {"id": "s", "type": "start"},
                {"id": "hook", "type": "webhook", "config": config},
                {"id": "ok", "type": "success"},
                {"id": "no", "type": "failure"}
            ],
            "edges": all
        }
    }))
    .unwrap()
}

const BOTH: [(&str, &str); 2] = [("true", "ok"), ("false", "no")];

#[test]
fn a_webhook_with_both_edges_is_valid() {
    let config = with(json!({
        "body": {"email": "${user.identifier}"},
        "response": {"risk": "response.score", "code": "string(status)"},
    }));
    let report = validate(&webhook_flow(config, &BOTH));
    assert!(report.valid, "{report}");
    assert!(report.warnings.is_empty(), "{report}");
}

#[test]
fn a_webhook_needs_a_true_and_a_false_edge() {
    let report = validate(&webhook_flow(with(json!({})), &[("true", "ok")]));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::MissingBranch);
    assert_eq!(
        report.errors[0].message,
        "Webhook 'hook' is missing its 'false' branch"
    );
    assert_eq!(report.errors[0].node_id.as_deref(), Some("hook"));

    let report = validate(&webhook_flow(with(json!({})), &[("-", "ok")]));
    let codes: Vec<FindingCode> = report.errors.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        [
            FindingCode::InvalidEdgeCondition,
            FindingCode::MissingBranch,
            FindingCode::MissingBranch
        ],
        "{report}"
    );
    assert!(
        report.errors[0]
            .message
            .contains("leaves a webhook with no condition"),
        "{report}"
    );

    let report = validate(&webhook_flow(
        with(json!({})),
        &[("true", "ok"), ("false", "no"), ("true", "no")],
    ));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::AmbiguousEdge);
    assert_eq!(
        report.errors[0].message,
        "Webhook 'hook' has more than one 'true' edge"
    );
}

#[test]
fn a_bad_expression_is_a_config_error_at_its_path() {
    for (config, path) in [
        (
            with(json!({"body": {"user": {"id": "${user.id +}"}}})),
            "body.user.id",
        ),
        (with(json!({"body": "x ${'a' ==} y"})), "body"),
        (
            with(json!({"response": {"risk": "response.score +"}})),
            "response.risk",
        ),
    ] {
        let report = validate(&webhook_flow(config, &BOTH));
        assert_eq!(report.errors.len(), 1, "{report}");
        let finding = &report.errors[0];
        assert_eq!(finding.code, FindingCode::InvalidNodeConfig);
        assert!(
            finding.message.starts_with(&format!(
                "Node 'hook' has an invalid config: {path}: does not parse"
            )),
            "{}",
            finding.message
        );
    }
    let report = validate(&webhook_flow(with(json!({"body": {"a": "${"}})), &BOTH));
    assert_eq!(
        report.errors[0].message,
        "Node 'hook' has an invalid config: body.a: has a '${' without its closing '}' \
         (write '$${' for a literal '${')"
    );
}

#[test]
fn a_costly_expression_is_its_own_finding() {
    let costly = "attributes.a.all(x, attributes.b.all(y, attributes.c.all(z, x == y && y == z)))";
    let report = validate(&webhook_flow(
        with(json!({"response": { "risk": costly }})),
        &BOTH,
    ));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::ExpressionTooCostly);
    assert!(
        report.errors[0]
            .message
            .starts_with("Node 'hook': response.risk may cost up to"),
        "{report}"
    );
}
