//! Compiler unit tests: layout, meaning by flow type, merging, determinism.

use flow_model::Flow;
use serde_json::{Value, json};

use super::*;

fn flow(flow_type: &str, nodes: Value, edges: Value) -> Flow {
    Flow::from_value(
        json!({"name": "t", "type": flow_type, "graph": {"nodes": nodes, "edges": edges}}),
    )
    .expect("test flow parses")
}

fn listing(program: &Program) -> String {
    program.to_string()
}

fn mfa_login() -> Flow {
    flow(
        "login",
        json!([
            {"id": "start", "type": "start"},
            {"id": "identifier", "type": "identifier_input"},
            {"id": "password", "type": "password_input"},
            {"id": "mfa_check", "type": "condition", "config": {"condition": "user.mfa_enabled"}},
            {"id": "mfa_verify", "type": "mfa_verification", "config": {"methods": ["totp", "sms"]}},
            {"id": "success", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "identifier"},
            {"source": "identifier", "target": "password"},
            {"source": "password", "target": "mfa_check"},
            {"source": "mfa_check", "target": "mfa_verify", "condition": "true"},
            {"source": "mfa_check", "target": "success", "condition": "false"},
            {"source": "mfa_verify", "target": "success"}
        ]),
    )
}

#[test]
fn seed_mfa_login_compiles_to_a_linear_program() {
    let program = compile(&mfa_login()).expect("valid");
    assert_eq!(
        listing(&program),
        "  0 identifier       identify_user\n  \
           1 password         verify_password\n  \
           2 mfa_check        branch \"user.mfa_enabled\" ? 3 : 4\n  \
           3 mfa_verify       verify_mfa\n  \
           4 success          succeed Authenticate sign_in=true\n"
    );
    assert_eq!(program.flow_type, FlowType::Login);
    assert_eq!(program.flow_id, "flow_t");
    assert_eq!(program.version, 1);
    assert_eq!(program.content_hash.len(), 64);
}

#[test]
fn nodes_mean_what_the_flow_type_says() {
    let nodes = json!([
        {"id": "s", "type": "start"},
        {"id": "id", "type": "identifier_input"},
        {"id": "pw", "type": "password_input", "config": {"min_length": 12, "min_score": 4}},
        {"id": "ok", "type": "success"}
    ]);
    let edges = json!([{"source": "s", "target": "id"}, {"source": "id", "target": "pw"}, {"source": "pw", "target": "ok"}]);
    let ops = |flow_type: &str| -> Vec<Op> {
        compile(&flow(flow_type, nodes.clone(), edges.clone()))
            .expect("valid")
            .steps
            .into_iter()
            .map(|step| step.op)
            .collect()
    };
    let login = ops("login");
    assert!(matches!(login[0], Op::IdentifyUser { .. }));
    assert_eq!(login[1], Op::VerifyPassword);
    assert!(matches!(
        login[2],
        Op::Succeed {
            completion: Completion::Authenticate,
            sign_in: true,
            ..
        }
    ));

    let registration = ops("registration");
    assert!(matches!(registration[0], Op::CollectIdentifier { .. }));
    assert_eq!(
        registration[1],
        Op::SetPassword(PasswordPolicy {
            min_length: 12,
            min_score: 4,
            confirm: false
        })
    );
    assert!(matches!(
        registration[2],
        Op::Succeed {
            completion: Completion::CreateUser,
            sign_in: true,
            ..
        }
    ));

    let reset = ops("password_reset");
    assert!(matches!(reset[0], Op::IdentifyUser { .. }));
    assert!(matches!(reset[1], Op::SetPassword(_)));
    assert!(matches!(
        reset[2],
        Op::Succeed {
            completion: Completion::UpdatePassword,
            sign_in: false,
            ..
        }
    ));

    let recovery = ops("account_recovery");
    assert!(matches!(
        recovery[2],
        Op::Succeed {
            completion: Completion::UpdatePassword,
            ..
        }
    ));

    let setup = ops("mfa_setup");
    assert_eq!(setup[1], Op::VerifyPassword);
    assert!(matches!(
        setup[2],
        Op::Succeed {
            completion: Completion::StoreFactor,
            sign_in: false,
            ..
        }
    ));
}

#[test]
fn registration_auto_login_can_be_switched_off() {
    let program = compile(&flow(
        "registration",
        json!([{"id": "s", "type": "start"}, {"id": "ok", "type": "success", "config": {"auto_login": false, "redirect_url": "/welcome"}}]),
        json!([{"source": "s", "target": "ok"}]),
    ))
    .expect("valid");
    assert_eq!(
        program.steps[0].op,
        Op::Succeed {
            completion: Completion::CreateUser,
            sign_in: false,
            redirect_url: Some("/welcome".to_owned()),
            message: None
        }
    );
}

#[test]
fn identifier_with_password_is_one_prompt() {
    let nodes = json!([
        {"id": "s", "type": "start"},
        {"id": "id", "type": "identifier_input", "config": {"with_password": true}},
        {"id": "pw", "type": "password_input"},
        {"id": "ok", "type": "success"}
    ]);
    let edges = json!([{"source": "s", "target": "id"}, {"source": "id", "target": "pw"}, {"source": "pw", "target": "ok"}]);
    let login = compile(&flow("login", nodes.clone(), edges.clone())).expect("valid");
    assert_eq!(
        listing(&login),
        "  0 id               identify_user +password(pw)\n  1 ok               succeed Authenticate sign_in=true\n"
    );
    let registration = compile(&flow("registration", nodes, edges)).expect("valid");
    assert!(matches!(
        &registration.steps[0].op,
        Op::CollectIdentifier { new_password: Some(MergedPassword { node_id, .. }), .. } if node_id == "pw"
    ));
    assert_eq!(registration.steps.len(), 2);
}

#[test]
fn a_loop_back_compiles_to_an_explicit_jump() {
    let program = compile(&flow(
        "login",
        json!([
            {"id": "s", "type": "start"},
            {"id": "otp", "type": "otp_input"},
            {"id": "c", "type": "condition", "config": {"condition": "attributes.otp_ok"}},
            {"id": "a", "type": "set_attribute", "config": {"attribute": "tries", "value": 1}},
            {"id": "ok", "type": "success"}
        ]),
        json!([
            {"source": "s", "target": "otp"},
            {"source": "otp", "target": "c"},
            {"source": "c", "target": "ok", "condition": "true"},
            {"source": "c", "target": "a", "condition": "false"},
            {"source": "a", "target": "otp"}
        ]),
    ))
    .expect("valid");
    assert_eq!(
        listing(&program),
        "  0 otp              verify_otp\n  \
           1 c                branch \"attributes.otp_ok\" ? 2 : 3\n  \
           2 ok               succeed Authenticate sign_in=true\n  \
           3 a                set_attribute\n  \
           4 a                jump -> 0\n"
    );
}

#[test]
fn invited_registration_starts_by_redeeming_the_invitation_and_jumps_still_land() {
    let program = compile(&flow(
        "invited_registration",
        json!([
            {"id": "s", "type": "start"},
            {"id": "id", "type": "identifier_input"},
            {"id": "c", "type": "condition", "config": {"condition": "attributes.ok"}},
            {"id": "a", "type": "set_attribute", "config": {"attribute": "tries", "value": 1}},
            {"id": "ok", "type": "success"}
        ]),
        json!([
            {"source": "s", "target": "id"},
            {"source": "id", "target": "c"},
            {"source": "c", "target": "ok", "condition": "true"},
            {"source": "c", "target": "a", "condition": "false"},
            {"source": "a", "target": "id"}
        ]),
    ))
    .expect("valid");
    assert_eq!(
        listing(&program),
        "  0 invitation       redeem_invitation\n  \
           1 id               collect_identifier\n  \
           2 c                branch \"attributes.ok\" ? 3 : 4\n  \
           3 ok               succeed CreateUser sign_in=true\n  \
           4 a                set_attribute\n  \
           5 a                jump -> 1\n"
    );
    assert!(Op::RedeemInvitation.waits_for_input());
    // Other flow types never get the step.
    let registration = compile(&flow(
        "registration",
        json!([{"id": "s", "type": "start"}, {"id": "id", "type": "identifier_input"}, {"id": "ok", "type": "success"}]),
        json!([{"source": "s", "target": "id"}, {"source": "id", "target": "ok"}]),
    ))
    .expect("valid");
    assert!(
        !registration
            .steps
            .iter()
            .any(|step| step.op == Op::RedeemInvitation)
    );
}

#[test]
fn switch_cases_in_edge_order_default_last() {
    let program = compile(&flow(
        "login",
        json!([
            {"id": "s", "type": "start"},
            {"id": "sw", "type": "switch", "config": {"expression": "request.country"}},
            {"id": "de", "type": "failure", "config": {"code": "blocked"}},
            {"id": "fr", "type": "success"},
            {"id": "other", "type": "success"}
        ]),
        json!([
            {"source": "s", "target": "sw"},
            {"source": "sw", "target": "other", "condition": "default"},
            {"source": "sw", "target": "de", "condition": "DE"},
            {"source": "sw", "target": "fr", "condition": "FR"}
        ]),
    ))
    .expect("valid");
    assert_eq!(
        listing(&program),
        "  0 sw               switch \"request.country\" \"DE\"->1 \"FR\"->2 default->3\n  \
           1 de               fail blocked\n  \
           2 fr               succeed Authenticate sign_in=true\n  \
           3 other            succeed Authenticate sign_in=true\n"
    );
}

#[test]
fn unreachable_nodes_are_not_compiled() {
    let program = compile(&flow(
        "login",
        json!([{"id": "s", "type": "start"}, {"id": "ok", "type": "success"}, {"id": "fallback", "type": "failure"}]),
        json!([{"source": "s", "target": "ok"}]),
    ))
    .expect("valid despite the warning");
    assert_eq!(program.steps.len(), 1);
}

#[test]
fn invalid_graph_is_refused_with_the_report() {
    let report = compile(&flow(
        "login",
        json!([{"id": "ok", "type": "success"}]),
        json!([]),
    ))
    .expect_err("invalid");
    assert!(report.has(flow_model::FindingCode::MissingStartNode));
}

#[test]
fn deterministic_and_position_independent() {
    let first = serde_json::to_vec(&compile(&mfa_login()).expect("valid")).expect("serializes");
    let second = serde_json::to_vec(&compile(&mfa_login()).expect("valid")).expect("serializes");
    assert_eq!(first, second);

    let mut moved = mfa_login();
    moved.graph.nodes[1].position =
        Some(serde_json::from_value(json!({"x": 5, "y": 7})).expect("position"));
    assert_eq!(
        compile(&moved).expect("valid").content_hash,
        compile(&mfa_login()).expect("valid").content_hash
    );

    let mut changed = mfa_login();
    changed.graph.nodes[3].config = Some(json!({"condition": "!user.mfa_enabled"}));
    assert_ne!(
        compile(&changed).expect("valid").content_hash,
        compile(&mfa_login()).expect("valid").content_hash
    );
}

#[test]
fn program_round_trips_through_json() {
    let program = compile(&mfa_login()).expect("valid");
    let text = serde_json::to_string(&program).expect("serializes");
    assert_eq!(Program::from_json(&text).expect("decodes"), program);
    let future = text.replacen("\"format\":1", "\"format\":2", 1);
    assert_eq!(
        Program::from_json(&future),
        Err(crate::CompileError::UnsupportedFormat(2))
    );
    assert!(matches!(
        Program::from_json("{}"),
        Err(crate::CompileError::Decode(_))
    ));
}

#[test]
fn a_stored_password_policy_without_a_score_asks_for_the_default_score() {
    let policy: PasswordPolicy =
        serde_json::from_value(json!({"min_length": 8, "confirm": false})).expect("reads");
    assert_eq!(policy.min_score, flow_model::DEFAULT_PASSWORD_SCORE);
}

fn webhook_login(config: Value) -> Flow {
    flow(
        "login",
        json!([
            {"id": "s", "type": "start"},
            {"id": "identifier", "type": "identifier_input"},
            {"id": "hook", "type": "webhook", "config": config},
            {"id": "password", "type": "password_input"},
            {"id": "denied", "type": "failure", "config": {"code": "not_allowed"}},
            {"id": "ok", "type": "success"}
        ]),
        json!([
            {"source": "s", "target": "identifier"},
            // The false edge first: the layout still follows the true edge.
            {"source": "hook", "target": "denied", "condition": "false"},
            {"source": "identifier", "target": "hook"},
            {"source": "hook", "target": "password", "condition": "true"},
            {"source": "password", "target": "ok"}
        ]),
    )
}

#[test]
fn a_webhook_compiles_to_a_call_with_both_targets() {
    let config = json!({
        "url": "https://hooks.example.com/allowed",
        "method": "PUT",
        "headers": {"X-Api-Key": "k"},
        "timeout_ms": 1500,
        "body": {"email": "${user.identifier}"},
        "response": {"risk": "response.score"},
        "retries": 2,
        "secret": format!("whsec_{}", "A".repeat(32)),
    });
    let program = compile(&webhook_login(config)).expect("valid");
    assert_eq!(
        listing(&program),
        "  0 identifier       identify_user\n  \
           1 hook             call_webhook PUT ? 2 : 4\n  \
           2 password         verify_password\n  \
           3 ok               succeed Authenticate sign_in=true\n  \
           4 denied           fail not_allowed\n"
    );
    let Op::CallWebhook(call) = &program.steps[1].op else {
        panic!("not a webhook call: {:?}", program.steps[1].op);
    };
    assert_eq!(
        **call,
        WebhookCall {
            url: "https://hooks.example.com/allowed".into(),
            method: flow_model::WebhookMethod::Put,
            headers: [("X-Api-Key".to_owned(), "k".to_owned())].into(),
            timeout_ms: 1500,
            body: Some(json!({"email": "${user.identifier}"})),
            response: [("risk".to_owned(), "response.score".to_owned())].into(),
            retries: 2,
            secret: Some(format!("whsec_{}", "A".repeat(32))),
            if_true: 2,
            if_false: 4,
        }
    );
    assert_eq!(program.steps[1].op.targets(), [2, 4]);
    assert!(!program.steps[1].op.falls_through());
    assert!(!program.steps[1].op.waits_for_input());

    // Stored and read back unchanged, as one flat step.
    let text = serde_json::to_string(&program).expect("serializes");
    assert_eq!(Program::from_json(&text).expect("decodes"), program);
    let step = serde_json::to_value(&program.steps[1]).expect("serializes");
    assert_eq!(step["op"], "call_webhook");
    assert_eq!(step["if_true"], 2);
    assert_eq!(step["method"], "PUT");
}

#[test]
fn a_minimal_webhook_stores_only_what_it_sets() {
    let program = compile(&webhook_login(
        json!({"url": "https://hooks.example.com/x"}),
    ))
    .expect("valid");
    let step = serde_json::to_value(&program.steps[1]).expect("serializes");
    assert_eq!(
        step,
        json!({
            "node_id": "hook", "op": "call_webhook", "url": "https://hooks.example.com/x",
            "method": "POST", "timeout_ms": 3000, "if_true": 2, "if_false": 4
        })
    );
}
