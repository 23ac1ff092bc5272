//! Checks the JSON fixtures against `flow-model`: the default flows parse and validate clean, seed
//! 002's examples round-trip and its validate responses fit our `Report`, every broken flow raises
//! the finding it is named after, and malformed documents give errors that name the field path.

// clippy.toml allows these in `#[test]` functions only; the helpers below are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};

use flow_model::{Finding, FindingCode, Flow, Graph, ModelError, Report, validate};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");

/// The `*.json` files of a fixture folder, sorted, with their stems.
fn json_files(folder: &str) -> Vec<(String, PathBuf)> {
    let dir = Path::new(FIXTURES).join(folder);
    let mut files: Vec<(String, PathBuf)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (stem, path)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn seed(name: &str) -> Value {
    let path = Path::new(FIXTURES).join("seed-002").join(name);
    serde_json::from_str(&read_text(&path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn all_findings(report: &Report) -> impl Iterator<Item = &Finding> {
    report.errors.iter().chain(&report.warnings)
}

/// Asserts that every field of `original` is present in `written` with an equal value, walking
/// objects recursively; `written` may have more fields. Arrays must match item by item.
fn assert_superset(original: &Value, written: &Value) {
    superset_at(original, written, "$");
}

fn superset_at(original: &Value, written: &Value, path: &str) {
    match (original, written) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let child = format!("{path}.{key}");
                let found = have
                    .get(key)
                    .unwrap_or_else(|| panic!("{child} is missing from the written JSON"));
                superset_at(value, found, &child);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            assert_eq!(
                want.len(),
                have.len(),
                "{path}: array length differs: {want:?} vs {have:?}"
            );
            for (index, (a, b)) in want.iter().zip(have).enumerate() {
                superset_at(a, b, &format!("{path}[{index}]"));
            }
        }
        _ => assert_eq!(original, written, "{path} differs"),
    }
}

#[test]
fn assert_superset_allows_extra_fields_only() {
    let original = json!({"a": 1, "b": {"c": [1, {"d": true}]}});
    assert_superset(
        &original,
        &json!({"a": 1, "x": 0, "b": {"c": [1, {"d": true, "e": 2}]}}),
    );
    for written in [
        json!({"a": 1}),
        json!({"a": 2, "b": {"c": [1, {"d": true}]}}),
        json!({"a": 1, "b": {"c": [1]}}),
        json!({"a": 1, "b": {"c": [1, {"d": false}]}}),
    ] {
        let result = std::panic::catch_unwind(|| assert_superset(&original, &written));
        assert!(result.is_err(), "{written} should not pass as a superset");
    }
}

// ---------------------------------------------------------------------------------------------
// Default flows

const DEFAULT_FLOWS: [&str; 5] = [
    "default-invited-registration",
    "default-login",
    "default-mfa-setup",
    "default-password-recovery",
    "default-registration",
];

#[test]
fn default_flows_are_exactly_the_expected_files() {
    let stems: Vec<String> = json_files("flows").into_iter().map(|(s, _)| s).collect();
    assert_eq!(stems, DEFAULT_FLOWS);
}

#[test]
fn default_flows_parse_validate_clean_and_are_named_after_their_file() {
    for (stem, path) in json_files("flows") {
        let text = read_text(&path);
        let flow = Flow::from_json(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(
            flow.name.as_str(),
            stem,
            "{stem}: name differs from file name"
        );
        let report = validate(&flow);
        assert!(report.valid, "{stem} is invalid:\n{report}");
        assert!(report.errors.is_empty(), "{stem} has errors:\n{report}");
        assert!(report.warnings.is_empty(), "{stem} has warnings:\n{report}");
        // Written back, a default flow keeps everything it said.
        let original: Value = serde_json::from_str(&text).unwrap();
        assert_superset(&original, &serde_json::to_value(&flow).unwrap());
    }
}

#[test]
fn default_flows_have_the_expected_types() {
    let expected = [
        ("default-invited-registration", "invited_registration"),
        ("default-login", "login"),
        ("default-mfa-setup", "mfa_setup"),
        ("default-password-recovery", "password_reset"),
        ("default-registration", "registration"),
    ];
    for (name, flow_type) in expected {
        let path = Path::new(FIXTURES)
            .join("flows")
            .join(format!("{name}.json"));
        let flow = Flow::from_json(&read_text(&path)).unwrap();
        assert_eq!(flow.flow_type.as_str(), flow_type, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Seed 002 examples

#[test]
fn seed_examples_are_all_present() {
    let stems: Vec<String> = json_files("seed-002").into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        stems,
        [
            "activate-flow-response",
            "compile-flow-response",
            "create-flow-request",
            "create-flow-response",
            "deactivate-flow-response",
            "get-flow-response",
            "list-flows-response",
            "update-flow-request",
            "validate-flow-response-error",
            "validate-flow-response-success",
        ]
    );
}

#[test]
fn seed_get_response_round_trips() {
    let original = seed("get-flow-response.json");
    let flow = Flow::from_value(original.clone()).unwrap();
    assert_eq!(flow.id, "flow_login_mfa");
    assert_eq!(flow.graph.nodes.len(), 6);
    assert_eq!(flow.graph.edges.len(), 6);
    let written = serde_json::to_value(&flow).unwrap();
    assert_superset(&original, &written);
    // Nothing was invented: the seed's flow object already has every field we write.
    assert_eq!(written, original);
}

#[test]
fn seed_create_request_round_trips() {
    let original = seed("create-flow-request.json");
    let flow = Flow::from_value(original.clone()).unwrap();
    let written = serde_json::to_value(&flow).unwrap();
    assert_superset(&original, &written);
    // The defaults of a freshly imported flow.
    assert_eq!(written["id"], "flow_social_login");
    assert_eq!(written["status"], "draft");
    assert_eq!(written["version"], 1);
    assert_eq!(written["compiled"], false);
}

#[test]
fn seed_update_request_graph_round_trips() {
    let original = seed("update-flow-request.json");
    let graph = Graph::from_value(original["graph"].clone()).unwrap();
    assert_superset(&original["graph"], &serde_json::to_value(&graph).unwrap());

    // The update request is a partial flow; laid over the create request it is a whole one.
    let mut merged = seed("create-flow-request.json");
    for (key, value) in original.as_object().unwrap() {
        merged[key] = value.clone();
    }
    let flow = Flow::from_value(merged).unwrap();
    assert_eq!(flow.display_name, "Social Login Flow (Updated)");
    assert_superset(&original, &serde_json::to_value(&flow).unwrap());
}

#[test]
fn seed_flows_validate_clean() {
    for name in ["get-flow-response.json", "create-flow-request.json"] {
        let flow = Flow::from_value(seed(name)).unwrap();
        let report = validate(&flow);
        assert!(report.valid, "{name}:\n{report}");
        assert!(report.warnings.is_empty(), "{name}:\n{report}");
    }
}

#[test]
fn seed_list_items_are_summaries_named_like_flows() {
    let list = seed("list-flows-response.json");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for item in items {
        // A summary has no graph, so it is not a Flow; its name and type still are ours.
        let name = item["name"].as_str().unwrap();
        assert!(flow_model::FlowName::parse(name).is_ok(), "{name}");
        serde_json::from_value::<flow_model::FlowType>(item["type"].clone()).unwrap();
        serde_json::from_value::<flow_model::FlowStatus>(item["status"].clone()).unwrap();
        let error = Flow::from_value(item.clone()).unwrap_err();
        assert_eq!(error.path(), Some("graph"));
    }
}

#[test]
fn unknown_fields_survive_a_round_trip() {
    let original = json!({
        "name": "with-extras",
        "type": "login",
        "editor_meta": {"zoom": 1.5, "tags": ["a", "b"]},
        "graph": {
            "viewport": {"x": -10, "y": 20},
            "nodes": [
                {"id": "start", "type": "start", "editor_meta": {"color": "#00ff00", "locked": true}},
                {"id": "ok", "type": "success", "position": {"x": 200.5, "y": -3}, "note": null}
            ],
            "edges": [
                {"source": "start", "target": "ok", "editor_meta": {"label": "go", "points": [[0, 0], [1, 2]]}}
            ]
        }
    });
    let flow = Flow::from_value(original.clone()).unwrap();
    let written = serde_json::to_value(&flow).unwrap();
    assert_superset(&original, &written);
    assert_eq!(written["editor_meta"], original["editor_meta"]);
    assert_eq!(written["graph"]["viewport"], original["graph"]["viewport"]);
    assert_eq!(
        written["graph"]["nodes"][0]["editor_meta"],
        original["graph"]["nodes"][0]["editor_meta"]
    );
    assert_eq!(
        written["graph"]["edges"][0]["editor_meta"],
        original["graph"]["edges"][0]["editor_meta"]
    );
    // Read again, it is the same flow.
    assert_eq!(Flow::from_value(written).unwrap(), flow);
}

// ---------------------------------------------------------------------------------------------
// Validate responses

/// Seed 002's validate responses leave out an empty list; our `Report` always writes both.
fn with_both_lists(mut response: Value) -> Value {
    for key in ["errors", "warnings"] {
        if response.get(key).is_none() {
            response[key] = json!([]);
        }
    }
    response
}

#[test]
fn seed_validate_responses_fit_our_report() {
    for (name, valid, errors, warnings) in [
        (
            "validate-flow-response-success.json",
            true,
            &[][..],
            &["unused_node"][..],
        ),
        (
            "validate-flow-response-error.json",
            false,
            &["missing_start_node", "unreachable_success", "invalid_edge"][..],
            &[][..],
        ),
    ] {
        let original = seed(name);
        // Every code the seed uses is one of ours.
        for finding in original["errors"]
            .as_array()
            .into_iter()
            .chain(original["warnings"].as_array())
            .flatten()
        {
            let code: FindingCode =
                serde_json::from_value(finding["code"].clone()).unwrap_or_else(|e| {
                    panic!("{name}: {} is not a FindingCode: {e}", finding["code"])
                });
            assert_eq!(code.as_str(), finding["code"]);
        }
        // The seed omits an empty list; it reads as a Report as it is, and writes back with the
        // omitted list present and empty.
        let filled = with_both_lists(original.clone());
        let report: Report = serde_json::from_value(original.clone())
            .unwrap_or_else(|e| panic!("{name} is not a Report: {e}"));
        assert_eq!(report.valid, valid, "{name}");
        let codes = |list: &[Finding]| list.iter().map(|f| f.code.as_str()).collect::<Vec<_>>();
        assert_eq!(codes(&report.errors), errors, "{name}");
        assert_eq!(codes(&report.warnings), warnings, "{name}");
        let written = serde_json::to_value(&report).unwrap();
        assert_superset(&original, &written);
        assert_eq!(written, filled, "{name}");
    }
}

#[test]
fn our_report_always_writes_valid_errors_and_warnings() {
    let flow = Flow::from_value(seed("create-flow-request.json")).unwrap();
    let written = serde_json::to_value(validate(&flow)).unwrap();
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["valid", "errors", "warnings"]);
    assert_eq!(written["valid"], true);
}

#[test]
fn seed_validate_success_example_is_reproduced() {
    // The seed's success example: the social-login flow plus an unreachable 'fallback' node.
    let mut value = seed("create-flow-request.json");
    value["graph"]["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "fallback", "type": "failure"}));
    let report = validate(&Flow::from_value(value).unwrap());
    let expected = seed("validate-flow-response-success.json");
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        with_both_lists(expected)
    );
}

// ---------------------------------------------------------------------------------------------
// Broken flows

#[test]
fn broken_flows_raise_the_finding_they_are_named_after() {
    for (stem, path) in json_files("broken") {
        let code: FindingCode = serde_json::from_value(Value::String(stem.clone()))
            .unwrap_or_else(|e| panic!("{stem} is not a finding code: {e}"));
        let flow = Flow::from_json(&read_text(&path)).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let report = validate(&flow);
        assert!(!report.valid, "{stem} validates as valid");
        assert!(
            all_findings(&report).any(|f| f.code.as_str() == stem),
            "{stem} does not raise {code}:\n{report}"
        );
    }
}

#[test]
fn broken_flows_cover_the_usual_mistakes() {
    let stems: Vec<String> = json_files("broken").into_iter().map(|(s, _)| s).collect();
    for code in [
        "missing_start_node",
        "invalid_edge",
        "unreachable_success",
        "loop_without_input",
        "dead_end",
        "missing_branch",
        "node_not_allowed",
        "unknown_node_type",
    ] {
        assert!(stems.iter().any(|s| s == code), "no broken/{code}.json");
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed documents

#[test]
fn node_type_of_the_wrong_json_type_names_its_path() {
    let text = r#"{"name": "bad", "type": "login", "graph": {
        "nodes": [{"id": "start", "type": "start"}, {"id": "x", "type": 42}],
        "edges": []
    }}"#;
    let error = Flow::from_json(text).unwrap_err();
    assert!(
        matches!(error, ModelError::InvalidField { .. }),
        "{error:?}"
    );
    assert_eq!(error.path(), Some("graph.nodes[1].type"));
    assert!(
        error.to_string().starts_with("graph.nodes[1].type"),
        "{error}"
    );
}

#[test]
fn missing_graph_names_graph() {
    let error = Flow::from_json(r#"{"name": "bad", "type": "login"}"#).unwrap_err();
    assert!(
        matches!(error, ModelError::MissingField { .. }),
        "{error:?}"
    );
    assert_eq!(error.path(), Some("graph"));
}

#[test]
fn other_malformed_fields_name_their_path() {
    let graph = json!({"nodes": [{"id": "start", "type": "start"}], "edges": []});
    let cases = [
        (json!({"type": "login", "graph": graph}), "name"),
        (
            json!({"name": "Not A Slug", "type": "login", "graph": graph}),
            "name",
        ),
        (
            json!({"name": "ok", "type": "logon", "graph": graph}),
            "type",
        ),
        (json!({"name": "ok", "type": "login", "graph": []}), "graph"),
        (
            json!({"name": "ok", "type": "login", "graph": {"nodes": []}}),
            "graph.edges",
        ),
        (
            json!({"name": "ok", "type": "login", "graph": {"nodes": [{"type": "start"}], "edges": []}}),
            "graph.nodes[0].id",
        ),
        (
            json!({"name": "ok", "type": "login", "graph": {
                "nodes": [{"id": "s", "type": "start", "position": {"x": "left", "y": 0}}],
                "edges": []
            }}),
            "graph.nodes[0].position.x",
        ),
        (
            json!({"name": "ok", "type": "login", "graph": {
                "nodes": [],
                "edges": [{"source": "a", "target": "b"}, {"source": "a"}]
            }}),
            "graph.edges[1].target",
        ),
        (
            json!({"name": "ok", "type": "login", "graph": {
                "nodes": [],
                "edges": [{"source": "a", "target": "b", "condition": 1}]
            }}),
            "graph.edges[0].condition",
        ),
    ];
    for (value, path) in cases {
        let error = Flow::from_value(value.clone()).unwrap_err();
        assert_eq!(error.path(), Some(path), "{value}: {error}");
    }
}

#[test]
fn bad_json_syntax_is_a_syntax_error() {
    let error = Flow::from_json("{\"name\": \"bad\",\n  \"type\": }").unwrap_err();
    match error {
        ModelError::Syntax { line, column, .. } => {
            assert_eq!(line, 2);
            assert!(column > 0);
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert_eq!(
        Flow::from_json("{\"name\": \"bad\"").unwrap_err().path(),
        None
    );
}

/// Found by the `graph` fuzz target (docs/reliability.md): without serde_json's
/// `float_roundtrip`, `2.2222222222222223e92` read back as `2.2222222222222225e92`, so a flow
/// changed a little each time it was stored and loaded.
#[test]
fn numbers_survive_a_round_trip_exactly() {
    let original = json!({
        "name": "floats",
        "type": "login",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start", "position": {"x": 0, "y": 2.2222222222222223e92}},
                {"id": "ok", "type": "success", "position": {"x": 0.1, "y": 1e-300}}
            ],
            "edges": [{"source": "start", "target": "ok"}]
        }
    });
    let flow = Flow::from_json(&original.to_string()).unwrap();
    let written = serde_json::to_string(&flow).unwrap();
    assert_eq!(Flow::from_json(&written).unwrap(), flow);
}
