//! Embedder node types, and control-flow ops on hand-written programs.

use std::sync::Arc;

use flow_compiler::{Completion, Op, PROGRAM_FORMAT, Program, Step, SwitchCase};
use flow_engine::memory::MemoryPorts;
use flow_engine::{
    Action, Engine, EngineError, FIELD_IDENTIFIER, FIELD_PASSWORD, Field, FieldKind, Form,
    FormPurpose, HandlerContext, HandlerOutcome, NodeHandler, Outcome, RequestContext, Submission,
};
use flow_model::{CustomNodeSpec, Flow, FlowType, NodeRegistry};
use serde_json::{Value, json};

use crate::common::{Harness, T0_MILLIS, error_codes, failure_code, test_config};

/// Asks the user to accept terms; declining fails the flow.
struct AcceptTerms;

impl NodeHandler for AcceptTerms {
    fn run(
        &self,
        context: &mut HandlerContext<'_>,
        config: &Value,
        submission: Option<&Submission>,
    ) -> Result<HandlerOutcome, EngineError> {
        let version = config["version"].as_str().unwrap_or("1").to_owned();
        let Some(submission) = submission else {
            return Ok(HandlerOutcome::Prompt(Form {
                node_id: String::new(),
                step: 0,
                purpose: FormPurpose::Custom("accept_terms".into()),
                user_hint: None,
                fields: vec![Field::new("accept", FieldKind::Checkbox, "I accept", true)],
                actions: vec![
                    Action {
                        id: "accept".into(),
                        label: "Accept".into(),
                        primary: true,
                    },
                    Action {
                        id: "decline".into(),
                        label: "Decline".into(),
                        primary: false,
                    },
                ],
                errors: Vec::new(),
                totp: None,
                passkey: None,
                social: None,
            }));
        };
        if submission.action_id.as_deref() == Some("decline") {
            return Ok(HandlerOutcome::Fail {
                code: "terms_declined".into(),
                message: "You must accept the terms.".into(),
            });
        }
        context
            .attributes
            .insert("terms_version".into(), Value::String(version));
        Ok(HandlerOutcome::Continue)
    }
}

fn terms_login() -> Arc<Program> {
    let flow = json!({
        "name": "terms-login",
        "type": "login",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "identifier", "type": "identifier_input", "config": {"with_password": true}},
                {"id": "password", "type": "password_input"},
                {"id": "terms", "type": "accept_terms", "config": {"version": "2024-01"}},
                {"id": "success", "type": "success"}
            ],
            "edges": [
                {"source": "start", "target": "identifier"},
                {"source": "identifier", "target": "password"},
                {"source": "password", "target": "terms"},
                {"source": "terms", "target": "success"}
            ]
        }
    });
    let flow = Flow::from_value(flow).unwrap();
    let mut registry = NodeRegistry::default();
    registry.register(
        "accept_terms",
        CustomNodeSpec {
            waits_for_input: true,
        },
    );
    Arc::new(flow_compiler::compile_with(&flow, &registry).unwrap_or_else(|r| panic!("{r:?}")))
}

#[test]
fn embedders_add_node_types() {
    let memory = MemoryPorts::with_manual_clock(T0_MILLIS);
    let mut engine = Engine::new(test_config(), memory.ports()).unwrap();
    engine.register_handler("accept_terms", Arc::new(AcceptTerms));
    let harness = Harness::new();
    let harness = Harness {
        engine,
        memory,
        ..harness
    };
    harness.register("jo@example.com", "jade walrus copper lantern");
    let program = terms_login();

    let (id, _) = harness.start(&program);
    let credentials = [
        (FIELD_IDENTIFIER, "jo@example.com"),
        (FIELD_PASSWORD, "jade walrus copper lantern"),
    ];
    let terms = harness.submit(&id, &credentials);
    let form = terms.form().unwrap();
    assert_eq!(form.purpose, FormPurpose::Custom("accept_terms".into()));
    assert_eq!(form.node_id, "terms");
    let accepted = harness
        .engine
        .resume(
            &id,
            Submission {
                action_id: Some("accept".into()),
                inputs: [("accept".to_owned(), "on".to_owned())].into(),
            },
        )
        .unwrap();
    match accepted {
        Outcome::Complete { attributes, .. } => {
            assert_eq!(attributes.get("terms_version"), Some(&json!("2024-01")));
        }
        other => panic!("{other:?}"),
    }

    let (id, _) = harness.start(&program);
    harness.submit(&id, &credentials);
    let declined = harness
        .engine
        .resume(
            &id,
            Submission {
                action_id: Some("decline".into()),
                inputs: Default::default(),
            },
        )
        .unwrap();
    assert_eq!(failure_code(&declined), "terms_declined");
}

#[test]
fn custom_nodes_without_a_handler_are_unsupported() {
    let harness = Harness::new();
    harness.register("kim@example.com", "kestrel maple ivory canyon");
    let (id, _) = harness.start(&terms_login());
    let outcome = harness.submit(
        &id,
        &[
            (FIELD_IDENTIFIER, "kim@example.com"),
            (FIELD_PASSWORD, "kestrel maple ivory canyon"),
        ],
    );
    assert_eq!(failure_code(&outcome), "unsupported_step");
}

fn hand_written(steps: Vec<(&str, Op)>) -> Arc<Program> {
    Arc::new(Program {
        format: PROGRAM_FORMAT,
        flow_id: "flow_test".into(),
        flow_name: "test".into(),
        flow_type: FlowType::Login,
        version: 1,
        content_hash: "test".into(),
        steps: steps
            .into_iter()
            .map(|(node_id, op)| Step {
                node_id: node_id.into(),
                op,
            })
            .collect(),
    })
}

fn fail(code: &str) -> Op {
    Op::Fail {
        code: code.into(),
        message: None,
    }
}

#[test]
fn attributes_branches_and_switches() {
    let harness = Harness::new();
    let program = hand_written(vec![
        (
            "set",
            Op::SetAttribute {
                attribute: "account.plan".into(),
                value: json!("pro"),
            },
        ),
        (
            "broken",
            Op::Branch {
                condition: "attributes.no_such.field".into(),
                if_true: 5,
                if_false: 2,
            },
        ),
        (
            "by_plan",
            Op::Switch {
                expression: "attributes.account.plan".into(),
                cases: vec![SwitchCase {
                    value: "pro".into(),
                    target: 4,
                }],
                default: 3,
            },
        ),
        ("free", fail("free_plan")),
        (
            "pro",
            Op::Branch {
                condition: "flow.type == 'login' && request.tenant == 'default'".into(),
                if_true: 6,
                if_false: 5,
            },
        ),
        ("wrong", fail("wrong_branch")),
        ("end", fail("pro_plan")),
    ]);
    let (id, outcome) = harness.start(&program);
    assert_eq!(failure_code(&outcome), "pro_plan");
    let trace = harness
        .engine
        .trace(&flow_engine::TenantId::default(), &id)
        .unwrap();
    let results: Vec<&str> = trace.iter().map(|entry| entry.result.as_str()).collect();
    assert_eq!(
        results,
        ["set", "false", "case:pro", "true", "failed:pro_plan"]
    );
    // The broken condition counted as false, with the reason in the trace.
    assert!(
        trace[1]
            .detail
            .as_deref()
            .unwrap()
            .contains("condition error")
    );
}

#[test]
fn runaway_loops_are_stopped() {
    let harness = Harness::new();
    let program = hand_written(vec![("loop", Op::Jump { target: 0 })]);
    let (_, outcome) = harness.start(&program);
    assert_eq!(failure_code(&outcome), "step_limit");
}

#[test]
fn running_off_the_end_fails_cleanly() {
    let harness = Harness::new();
    let program = hand_written(vec![(
        "set",
        Op::SetAttribute {
            attribute: "a".into(),
            value: json!(1),
        },
    )]);
    let (_, outcome) = harness.start(&program);
    assert_eq!(failure_code(&outcome), "invalid_program");
}

#[test]
fn success_without_authentication_is_refused() {
    let harness = Harness::new();
    let program = hand_written(vec![(
        "success",
        Op::Succeed {
            completion: Completion::Authenticate,
            sign_in: true,
            redirect_url: None,
            message: None,
        },
    )]);
    let (_, outcome) = harness.start(&program);
    assert_eq!(failure_code(&outcome), "not_authenticated");
    // Nor does identifying a user without verifying anything sign anyone in.
    harness.register("lee@example.com", "lunar thistle ember gravel");
    let program = hand_written(vec![
        (
            "identifier",
            Op::IdentifyUser {
                identifier_types: vec![flow_model::IdentifierType::Email],
                verify_password: None,
                passkey: false,
            },
        ),
        (
            "success",
            Op::Succeed {
                completion: Completion::Authenticate,
                sign_in: true,
                redirect_url: None,
                message: None,
            },
        ),
    ]);
    let (id, _) = harness.start(&program);
    let outcome = harness.submit(&id, &[(FIELD_IDENTIFIER, "lee@example.com")]);
    assert_eq!(failure_code(&outcome), "not_authenticated");
}

#[test]
fn prompts_validate_and_store_typed_answers() {
    let harness = Harness::new();
    let fields: Vec<flow_model::PromptField> = serde_json::from_value(json!([
        {"name": "age", "type": "number", "required": true},
        {"name": "plan", "type": "dropdown", "options": ["free", "pro"], "required": true},
        {"name": "news", "type": "checkbox"}
    ]))
    .unwrap();
    let program = hand_written(vec![
        ("profile", Op::Prompt { fields }),
        (
            "check",
            Op::Branch {
                condition:
                    "attributes.age >= 18.0 && attributes.plan == 'pro' && inputs.plan == 'pro'"
                        .into(),
                if_true: 3,
                if_false: 2,
            },
        ),
        ("no", fail("no")),
        ("yes", fail("yes")),
    ]);
    let (id, _) = harness.start(&program);
    let bad = harness.submit(&id, &[("age", "old"), ("plan", "gold")]);
    assert_eq!(error_codes(&bad), ["invalid_number", "invalid_choice"]);
    // What was typed is shown again.
    assert_eq!(
        bad.form().unwrap().field("plan").unwrap().value.as_deref(),
        Some("gold")
    );
    let done = harness.submit(&id, &[("age", "42"), ("plan", "pro")]);
    assert_eq!(failure_code(&done), "yes");
    let attributes = harness
        .engine
        .execution(&flow_engine::TenantId::default(), &id)
        .unwrap()
        .attributes;
    assert_eq!(attributes["news"], json!(false));
}

#[test]
fn starting_needs_no_tenant_setup() {
    let harness = Harness::new();
    let (_, outcome) = harness
        .engine
        .start(&harness.login, RequestContext::default())
        .unwrap();
    assert!(outcome.form().is_some());
    assert_eq!(RequestContext::default().tenant.as_str(), "default");
}
