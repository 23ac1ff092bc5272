//! One smallest graph per finding code, written in a compact notation.

use serde_json::{Value, json};

use super::*;
use crate::{DEFAULT_PASSWORD_SCORE, FindingCode, PasswordInputConfig, parse_expression};

/// Builds a flow from `id:type` nodes and `a->b` / `a-[cond]->b` edges.
fn flow(flow_type: &str, nodes: &[&str], edges: &[&str]) -> Flow {
    flow_with(
        flow_type,
        nodes.iter().map(|spec| node(spec, None)).collect(),
        edges,
    )
}

fn flow_with(flow_type: &str, nodes: Vec<Value>, edges: &[&str]) -> Flow {
    let edges: Vec<Value> = edges
        .iter()
        .map(|spec| {
            let (source, rest) = spec.split_once('-').expect("edge spec");
            match rest.strip_prefix('[') {
                Some(rest) => {
                    let (condition, target) =
                        rest.split_once("]->").expect("conditional edge spec");
                    json!({"source": source, "target": target, "condition": condition})
                }
                None => json!({"source": source, "target": rest.trim_start_matches('>')}),
            }
        })
        .collect();
    Flow::from_value(
        json!({"name": "t", "type": flow_type, "graph": {"nodes": nodes, "edges": edges}}),
    )
    .expect("test flow parses")
}

fn node(spec: &str, config: Option<Value>) -> Value {
    let (id, node_type) = spec.split_once(':').expect("node spec");
    match config {
        Some(config) => json!({"id": id, "type": node_type, "config": config}),
        None => json!({"id": id, "type": node_type}),
    }
}

/// The codes of all findings, errors first, in report order.
fn codes(flow: &Flow) -> Vec<FindingCode> {
    let report = validate(flow);
    assert_eq!(report.valid, report.errors.is_empty());
    report
        .errors
        .iter()
        .chain(&report.warnings)
        .map(|f| f.code)
        .collect()
}

const LINEAR: [&str; 4] = [
    "s:start",
    "id:identifier_input",
    "pw:password_input",
    "ok:success",
];

#[test]
fn linear_login_is_valid() {
    let flow = flow("login", &LINEAR, &["s->id", "id->pw", "pw->ok"]);
    let report = validate(&flow);
    assert!(report.valid, "{report}");
    assert!(report.warnings.is_empty());
}

#[test]
fn seed_error_example_codes_and_messages() {
    let flow = flow("login", &["pw:password_input", "x:failure"], &["pw->mfa"]);
    let report = validate(&flow);
    assert!(!report.valid);
    let first: Vec<(FindingCode, &str)> = report
        .errors
        .iter()
        .map(|f| (f.code, f.message.as_str()))
        .take(3)
        .collect();
    assert_eq!(
        first,
        [
            (
                FindingCode::MissingStartNode,
                "Flow is missing a start node"
            ),
            (FindingCode::UnreachableSuccess, "No path to success node"),
            (
                FindingCode::InvalidEdge,
                "Edge 'pw->mfa' target node does not exist"
            ),
        ]
    );
    let edge = report.errors[2].edge.as_ref().expect("edge ref");
    assert_eq!((edge.source.as_str(), edge.target.as_str()), ("pw", "mfa"));
}

#[test]
fn missing_start_node() {
    assert_eq!(
        codes(&flow("login", &["ok:success"], &[])),
        [
            FindingCode::MissingStartNode,
            FindingCode::UnreachableSuccess
        ]
    );
}

#[test]
fn multiple_start_nodes() {
    let found = codes(&flow(
        "login",
        &["a:start", "b:start", "ok:success"],
        &["a->ok", "b->ok"],
    ));
    assert_eq!(
        found,
        [FindingCode::MultipleStartNodes, FindingCode::UnusedNode]
    );
    let report = validate(&flow(
        "login",
        &["a:start", "b:start", "ok:success"],
        &["a->ok", "b->ok"],
    ));
    assert_eq!(report.errors[0].node_id.as_deref(), Some("b"));
}

#[test]
fn duplicate_node_id() {
    let found = codes(&flow(
        "login",
        &["s:start", "ok:success", "ok:failure"],
        &["s->ok"],
    ));
    assert_eq!(found, [FindingCode::DuplicateNodeId]);
}

#[test]
fn unknown_node_type() {
    let found = codes(&flow(
        "login",
        &["s:start", "x:teleport", "ok:success"],
        &["s->x", "x->ok"],
    ));
    assert_eq!(found, [FindingCode::UnknownNodeType]);
    let report = validate(&flow(
        "login",
        &["s:start", "x:teleport", "ok:success"],
        &["s->x", "x->ok"],
    ));
    assert_eq!(
        report.errors[0].message,
        "Node 'x' has unknown type 'teleport'"
    );
}

#[test]
fn registered_custom_node_type_is_known() {
    let flow = flow(
        "login",
        &["s:start", "x:captcha", "ok:success"],
        &["s->x", "x->ok"],
    );
    let mut registry = NodeRegistry::default();
    registry.register(
        "captcha",
        CustomNodeSpec {
            waits_for_input: true,
        },
    );
    let (report, graph) = check(&flow, &registry);
    assert!(report.valid, "{report}");
    assert!(matches!(
        graph.expect("valid").nodes()[1].kind,
        NodeKind::Custom { .. }
    ));
}

#[test]
fn invalid_node_config_names_the_config_path() {
    let nodes = vec![
        node("s:start", None),
        node(
            "id:identifier_input",
            Some(json!({"identifier_types": ["email", "fax"]})),
        ),
        node("ok:success", None),
    ];
    let report = validate(&flow_with("login", nodes, &["s->id", "id->ok"]));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::InvalidNodeConfig);
    assert!(
        report.errors[0].message.contains("identifier_types[1]"),
        "{}",
        report.errors[0].message
    );
}

#[test]
fn password_min_score_is_checked_like_min_length() {
    let report_for = |config: Value| {
        let nodes = vec![
            node("s:start", None),
            node("id:identifier_input", None),
            node("pw:password_input", Some(config)),
            node("ok:success", None),
        ];
        validate(&flow_with(
            "registration",
            nodes,
            &["s->id", "id->pw", "pw->ok"],
        ))
    };
    for score in [1, 4] {
        let report = report_for(json!({"min_score": score}));
        assert!(report.valid, "min_score {score}: {report}");
    }
    for bad in [json!(0), json!(5), json!(-1), json!("3")] {
        let report = report_for(json!({"min_score": bad}));
        assert_eq!(report.errors.len(), 1, "min_score {bad}: {report}");
        assert_eq!(report.errors[0].code, FindingCode::InvalidNodeConfig);
        assert!(
            report.errors[0].message.contains("min_score"),
            "{}",
            report.errors[0].message
        );
    }
    // Without a score the node asks for the default one.
    let default = PasswordInputConfig::default();
    assert_eq!(default.min_score, DEFAULT_PASSWORD_SCORE);
    assert_eq!(DEFAULT_PASSWORD_SCORE, 3);
}

#[test]
fn unknown_config_key_is_invalid_config() {
    let nodes = vec![
        node("s:start", None),
        node("ok:success", Some(json!({"redirect": "/"}))),
    ];
    assert_eq!(
        codes(&flow_with("login", nodes, &["s->ok"])),
        [FindingCode::InvalidNodeConfig]
    );
}

#[test]
fn condition_that_does_not_parse_is_invalid_config() {
    let nodes = vec![
        node("s:start", None),
        node(
            "c:condition",
            Some(json!({"condition": "user.mfa_enabled &&"})),
        ),
        node("ok:success", None),
    ];
    let found = codes(&flow_with(
        "login",
        nodes,
        &["s->c", "c-[true]->ok", "c-[false]->ok"],
    ));
    assert_eq!(found, [FindingCode::InvalidNodeConfig]);
}

#[test]
fn a_costly_condition_is_its_own_finding() {
    let list = "[0,1,2,3,4,5,6,7,8,9]";
    let mut condition = "true".to_owned();
    for level in 0..6 {
        condition = format!("{list}.all(v{level}, {condition})");
    }
    let nodes = vec![
        node("s:start", None),
        node("c:condition", Some(json!({ "condition": condition }))),
        node("ok:success", None),
    ];
    let flow = flow_with("login", nodes, &["s->c", "c-[true]->ok", "c-[false]->ok"]);
    assert_eq!(codes(&flow), [FindingCode::ExpressionTooCostly]);
    let report = validate(&flow);
    let finding = &report.errors[0];
    assert_eq!(finding.node_id.as_deref(), Some("c"));
    assert!(
        finding.message.contains("limit of 50000"),
        "{}",
        finding.message
    );
}

#[test]
fn deeply_nested_expression_is_refused_without_parsing() {
    let deep = format!("{}true{}", "(".repeat(5000), ")".repeat(5000));
    assert!(parse_expression(&deep).is_err());
    let nested = format!("{}true{}", "(".repeat(40), ")".repeat(40));
    assert!(
        parse_expression(&nested)
            .unwrap_err()
            .contains("nests deeper")
    );
}

#[test]
fn invalid_edge_source() {
    let found = codes(&flow(
        "login",
        &["s:start", "ok:success"],
        &["s->ok", "ghost->ok"],
    ));
    assert_eq!(found, [FindingCode::InvalidEdge]);
}

#[test]
fn unreachable_success() {
    let found = codes(&flow(
        "login",
        &["s:start", "f:failure", "ok:success"],
        &["s->f"],
    ));
    assert_eq!(
        found,
        [FindingCode::UnreachableSuccess, FindingCode::UnusedNode]
    );
}

#[test]
fn unused_node_is_a_warning_with_the_seed_message() {
    let report = validate(&flow(
        "login",
        &["s:start", "ok:success", "fallback:failure"],
        &["s->ok"],
    ));
    assert!(report.valid);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].code, FindingCode::UnusedNode);
    assert_eq!(report.warnings[0].message, "Node 'fallback' is unreachable");
    assert_eq!(report.warnings[0].node_id.as_deref(), Some("fallback"));
}

#[test]
fn dead_end() {
    let found = codes(&flow(
        "login",
        &["s:start", "id:identifier_input", "ok:success"],
        &["s->ok", "s->id"],
    ));
    assert!(found.contains(&FindingCode::DeadEnd), "{found:?}");
    let found = codes(&flow(
        "login",
        &["s:start", "pw:password_input", "ok:success"],
        &["s->pw"],
    ));
    assert_eq!(
        found,
        [
            FindingCode::UnreachableSuccess,
            FindingCode::DeadEnd,
            FindingCode::UnusedNode
        ]
    );
}

#[test]
fn missing_branch() {
    let nodes = vec![
        node("s:start", None),
        node("c:condition", Some(json!({"condition": "true"}))),
        node("ok:success", None),
    ];
    let report = validate(&flow_with("login", nodes, &["s->c", "c-[true]->ok"]));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::MissingBranch);
    assert_eq!(
        report.errors[0].message,
        "Condition 'c' is missing its 'false' branch"
    );
}

#[test]
fn condition_edges_take_true_or_false_only() {
    let nodes = vec![
        node("s:start", None),
        node("c:condition", Some(json!({"condition": "true"}))),
        node("ok:success", None),
    ];
    let found = codes(&flow_with(
        "login",
        nodes,
        &["s->c", "c-[true]->ok", "c-[false]->ok", "c-[maybe]->ok"],
    ));
    assert_eq!(found, [FindingCode::InvalidEdgeCondition]);
}

#[test]
fn missing_default() {
    let nodes = vec![
        node("s:start", None),
        node("sw:switch", Some(json!({"expression": "user.locale"}))),
        node("ok:success", None),
    ];
    assert_eq!(
        codes(&flow_with("login", nodes, &["s->sw", "sw-[en]->ok"])),
        [FindingCode::MissingDefault]
    );
}

#[test]
fn switch_with_default_and_cases_is_valid() {
    let nodes = vec![
        node("s:start", None),
        node("sw:switch", Some(json!({"expression": "user.locale"}))),
        node("ok:success", None),
        node("no:failure", None),
    ];
    let found = codes(&flow_with(
        "login",
        nodes,
        &["s->sw", "sw-[en]->ok", "sw-[default]->no"],
    ));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn ambiguous_edge() {
    let found = codes(&flow(
        "login",
        &["s:start", "ok:success", "no:failure"],
        &["s->ok", "s->no"],
    ));
    assert_eq!(found, [FindingCode::AmbiguousEdge]);
}

#[test]
fn edge_condition_on_an_ordinary_node() {
    let found = codes(&flow(
        "login",
        &["s:start", "ok:success"],
        &["s-[true]->ok"],
    ));
    assert_eq!(found, [FindingCode::InvalidEdgeCondition]);
}

#[test]
fn loop_without_input() {
    let nodes = vec![
        node("s:start", None),
        node(
            "a:set_attribute",
            Some(json!({"attribute": "n", "value": 1})),
        ),
        node("c:condition", Some(json!({"condition": "true"}))),
        node("ok:success", None),
    ];
    let report = validate(&flow_with(
        "login",
        nodes,
        &["s->a", "a->c", "c-[true]->a", "c-[false]->ok"],
    ));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::LoopWithoutInput);
    assert_eq!(
        report.errors[0].message,
        "Loop through 'a', 'c' never waits for input"
    );
}

#[test]
fn loop_through_an_input_is_fine() {
    let nodes = vec![
        node("s:start", None),
        node("pw:password_input", None),
        node("c:condition", Some(json!({"condition": "attributes.ok"}))),
        node("ok:success", None),
    ];
    let found = codes(&flow_with(
        "login",
        nodes,
        &["s->pw", "pw->c", "c-[false]->pw", "c-[true]->ok"],
    ));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn self_loop_without_input() {
    let nodes = vec![
        node("s:start", None),
        node("sw:switch", Some(json!({"expression": "1"}))),
        node("ok:success", None),
    ];
    let found = codes(&flow_with(
        "login",
        nodes,
        &["s->sw", "sw-[1]->sw", "sw-[default]->ok"],
    ));
    assert_eq!(found, [FindingCode::LoopWithoutInput]);
}

#[test]
fn node_not_allowed() {
    let nodes = vec![
        node("s:start", None),
        node(
            "p:social_provider_select",
            Some(json!({"providers": ["google"]})),
        ),
        node("ok:success", None),
    ];
    let report = validate(&flow_with("password_reset", nodes, &["s->p", "p->ok"]));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::NodeNotAllowed);
    assert_eq!(
        report.errors[0].message,
        "Node 'p' of type 'social_provider_select' is not allowed in a password_reset flow"
    );
}

#[test]
fn terminal_has_outgoing_edge() {
    let found = codes(&flow(
        "login",
        &["s:start", "ok:success", "no:failure"],
        &["s->ok", "ok->no"],
    ));
    assert_eq!(found, [FindingCode::TerminalHasOutgoingEdge]);
}

#[test]
fn with_password_needs_a_password_node_next() {
    let nodes = vec![
        node("s:start", None),
        node("id:identifier_input", Some(json!({"with_password": true}))),
        node("ok:success", None),
    ];
    assert_eq!(
        codes(&flow_with("login", nodes, &["s->id", "id->ok"])),
        [FindingCode::InvalidNodeConfig]
    );
}

#[test]
fn every_code_has_a_test_above() {
    let source = include_str!("validate_tests.rs");
    for code in FindingCode::ALL {
        let variant = format!("{code:?}");
        assert!(
            source.contains(&format!("FindingCode::{variant}")),
            "no test asserts {code}"
        );
    }
}

#[test]
fn a_server_side_cycle_inside_a_larger_loop_with_input_is_found() {
    // n2 and n3 bounce between each other without asking anything, although the larger loop
    // through the start and the identifier prompt does wait for input (found by proptest).
    let nodes = vec![
        node("n0:start", None),
        node("n1:identifier_input", None),
        node(
            "n2:condition",
            Some(json!({"condition": "user.mfa_enabled"})),
        ),
        node(
            "n3:condition",
            Some(json!({"condition": "user.mfa_enabled"})),
        ),
        node("n4:success", None),
    ];
    let edges = [
        "n0->n1",
        "n1->n2",
        "n2-[true]->n3",
        "n2-[false]->n0",
        "n3-[true]->n4",
        "n3-[false]->n2",
    ];
    let report = validate(&flow_with("login", nodes, &edges));
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.errors[0].code, FindingCode::LoopWithoutInput);
    assert_eq!(
        report.errors[0].message,
        "Loop through 'n2', 'n3' never waits for input"
    );
}

#[test]
fn a_very_long_chain_of_server_side_steps_does_not_exhaust_the_stack() {
    // Recursive graph walks overflow on graphs like this one; every walk here must be iterative.
    let count = 50_000;
    let mut nodes = vec![node("s:start", None)];
    let mut edges = vec!["s->a0".to_owned()];
    for index in 0..count {
        nodes.push(node(
            &format!("a{index}:set_attribute"),
            Some(json!({"attribute": "n", "value": index})),
        ));
        let next = if index + 1 == count {
            "ok".to_owned()
        } else {
            format!("a{}", index + 1)
        };
        edges.push(format!("a{index}->{next}"));
    }
    nodes.push(node("ok:success", None));
    let edges: Vec<&str> = edges.iter().map(String::as_str).collect();
    let chain = flow_with("login", nodes.clone(), &edges);
    assert!(validate(&chain).valid);

    // Closing the chain into a loop is found, still without recursion.
    let mut looped = edges.clone();
    looped.pop();
    looped.push("a49999->a0");
    let report = validate(&flow_with("login", nodes, &looped));
    assert!(report.has(FindingCode::LoopWithoutInput), "{report}");
}
