//! Property tests: random graphs never panic the validator or the compiler, and every program
//! compiled from a valid graph stays in bounds and always reaches a terminal or an input step.

use flow_compiler::{Program, compile};
use flow_model::{Flow, FlowType, validate};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const NODE_TYPES: [&str; 18] = [
    "start",
    "success",
    "failure",
    "condition",
    "switch",
    "identifier_input",
    "password_input",
    "social_provider_select",
    "mfa_verification",
    "otp_input",
    "send_email",
    "send_sms",
    "webhook",
    "set_attribute",
    "webauthn",
    "prompt",
    "totp_setup",
    "teleport",
];

const CONDITIONS: [Option<&str>; 6] = [
    None,
    None,
    Some("true"),
    Some("false"),
    Some("default"),
    Some("x"),
];

fn config_for(node_type: &str) -> Option<Value> {
    Some(match node_type {
        "condition" => json!({"condition": "user.mfa_enabled"}),
        "switch" => json!({"expression": "user.locale"}),
        "set_attribute" => json!({"attribute": "a", "value": 1}),
        "send_email" | "send_sms" => json!({"template": "t", "with_code": true}),
        "social_provider_select" => json!({"providers": ["google"]}),
        "webhook" => json!({"url": "https://hooks.example/x"}),
        "prompt" => json!({"fields": [{"name": "nickname"}]}),
        _ => return None,
    })
}

/// A graph shaped mostly like a real flow (start first, success last, one edge per ordinary
/// node, both branches on conditions) and then perturbed, so that many samples are valid and
/// the rest fail in varied ways.
fn arb_flow() -> impl Strategy<Value = Flow> {
    (2usize..12)
        .prop_flat_map(|count| {
            (
                Just(count),
                proptest::collection::vec(0..NODE_TYPES.len(), count),
                proptest::collection::vec((0..count, 0..count + 1), count * 2),
                proptest::option::weighted(0.3, (0..count + 1, 0..count + 1, 0..CONDITIONS.len())),
                0..FlowType::ALL.len(),
                proptest::bool::weighted(0.2),
            )
        })
        .prop_map(|(count, types, targets, extra, flow_type, drop_one)| {
            let id = |index: usize| if index == count { "ghost".to_owned() } else { format!("n{index}") };
            let mut nodes = Vec::new();
            let mut edges = Vec::new();
            for index in 0..count {
                let node_type = match index {
                    0 => "start",
                    _ if index == count - 1 => "success",
                    _ => NODE_TYPES[types[index]],
                };
                let mut node = json!({"id": id(index), "type": node_type});
                if let Some(config) = config_for(node_type) {
                    node["config"] = config;
                }
                nodes.push(node);
                let (near, far) = targets[index * 2];
                let next = (index + 1).min(count - 1);
                match node_type {
                    "success" | "failure" => {}
                    "condition" | "webhook" => {
                        edges.push(json!({"source": id(index), "target": id(next), "condition": "true"}));
                        edges.push(json!({"source": id(index), "target": id(near), "condition": "false"}));
                    }
                    "switch" => {
                        edges.push(json!({"source": id(index), "target": id(near), "condition": "en"}));
                        edges.push(json!({"source": id(index), "target": id(next), "condition": "default"}));
                    }
                    _ if far == count => edges.push(json!({"source": id(index), "target": id(near)})),
                    _ => edges.push(json!({"source": id(index), "target": id(next)})),
                }
            }
            if let Some((source, target, condition)) = extra {
                let mut edge = json!({"source": id(source), "target": id(target)});
                if let Some(condition) = CONDITIONS[condition] {
                    edge["condition"] = json!(condition);
                }
                edges.push(edge);
            }
            if drop_one && edges.len() > 1 {
                edges.remove(edges.len() / 2);
            }
            Flow::from_value(json!({
                "name": "random",
                "type": FlowType::ALL[flow_type].as_str(),
                "graph": {"nodes": nodes, "edges": edges}
            }))
            .expect("generated flows parse")
        })
}

/// Checks the program invariants; returns a description of the first violation.
fn program_violation(program: &Program) -> Option<String> {
    let len = program.steps.len();
    if len == 0 {
        return Some("empty program".to_owned());
    }
    let successors = |index: usize| -> Vec<usize> {
        let op = &program.steps[index].op;
        let mut next = op.targets();
        if op.falls_through() {
            next.push(index + 1);
        }
        next
    };
    for index in 0..len {
        if let Some(bad) = successors(index).into_iter().find(|&target| target >= len) {
            return Some(format!("step {index} continues at {bad}, outside 0..{len}"));
        }
    }
    // From every step, control must reach a terminal or an input step: a cycle made only of
    // server-side steps would spin forever. Depth-first search with colours over those steps.
    let stops = |index: usize| {
        let op = &program.steps[index].op;
        op.is_terminal() || op.waits_for_input()
    };
    let mut colour = vec![0u8; len];
    for root in 0..len {
        if colour[root] != 0 || stops(root) {
            continue;
        }
        let mut stack = vec![(root, false)];
        while let Some((index, done)) = stack.pop() {
            if done {
                colour[index] = 2;
                continue;
            }
            if colour[index] != 0 {
                continue;
            }
            colour[index] = 1;
            stack.push((index, true));
            for next in successors(index) {
                if stops(next) {
                    continue;
                }
                match colour[next] {
                    0 => stack.push((next, false)),
                    1 => {
                        return Some(format!(
                            "steps cycle through {next} without waiting for input"
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(Config { cases: 2000, ..Config::default() })]

    #[test]
    fn validator_and_compiler_never_panic_and_programs_are_sound(flow in arb_flow()) {
        let report = validate(&flow);
        match compile(&flow) {
            Ok(program) => {
                prop_assert!(report.valid, "compiled an invalid flow: {report}");
                prop_assert_eq!(program_violation(&program), None, "{}", program);
                prop_assert_eq!(compile(&flow).ok(), Some(program));
            }
            Err(refused) => {
                prop_assert!(!report.valid);
                prop_assert_eq!(refused, report);
            }
        }
    }
}

/// The property above means little if the generator rarely makes a valid flow.
#[test]
fn generator_makes_valid_and_invalid_flows() {
    let mut runner = TestRunner::deterministic();
    let strategy = arb_flow();
    let (mut valid, total) = (0, 500);
    for _ in 0..total {
        let flow = strategy.new_tree(&mut runner).expect("sample").current();
        if validate(&flow).valid {
            valid += 1;
        }
    }
    assert!(
        valid * 10 >= total,
        "only {valid} of {total} generated flows are valid"
    );
    assert!(valid < total, "every generated flow is valid");
}

#[test]
fn the_checker_catches_a_spinning_program() {
    let program: Program = serde_json::from_value(json!({
        "format": 1, "flow_id": "f", "flow_name": "f", "flow_type": "login", "version": 1,
        "content_hash": "",
        "steps": [
            {"node_id": "a", "op": "set_attribute", "attribute": "x", "value": 1},
            {"node_id": "a", "op": "jump", "target": 0}
        ]
    }))
    .expect("program");
    assert!(
        program_violation(&program)
            .expect("violation")
            .contains("cycle")
    );
    let mut off_end = program.clone();
    off_end.steps.truncate(1);
    assert!(
        program_violation(&off_end)
            .expect("violation")
            .contains("outside")
    );
}
