//! Every error path: the code, the status, the body's shape, and that a client's mistake is
//! never a 500.

use actix_web::http::StatusCode;
use flow_engine::{ExecutionId, ExecutionStatus, ExecutionStore, TenantId};
use flow_model::FlowType;
use serde_json::json;

use crate::flows::register;
use crate::support::{
    app, assert_error, post, post_raw, primary_action, setup, setup_with_limit, start, submit,
};

#[actix_rt::test]
async fn unknown_and_malformed_flow_ids_are_fe_60001() {
    let setup = setup();
    let app = app(&setup).await;
    let unknown = "5f31ce20-872d-4334-8f9f-3572710dbc57";
    let (status, body) = post(&app, &json!({"flowId": unknown, "inputs": {}})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60001");
    assert!(body["description"].as_str().unwrap().contains(unknown));
    let (status, body) = post(&app, &json!({"flowId": "not-a-uuid"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60001");
}

#[actix_rt::test]
async fn two_errors_have_different_trace_ids() {
    let setup = setup();
    let app = app(&setup).await;
    let (_, first) = post(&app, &json!({"flowType": "NOPE"})).await;
    let (_, second) = post(&app, &json!({"flowType": "NOPE"})).await;
    assert_ne!(first["traceId"], second["traceId"]);
}

#[actix_rt::test]
async fn an_invalid_action_id_is_fe_60009_and_the_execution_survives() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    let (status, body) = post(
        &app,
        &json!({"flowId": view["flowId"], "actionId": "no-such-button", "inputs": {"identifier": "a@example.com"}}),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60009");
    assert_eq!(body["flowType"], "REGISTRATION");
    let next = submit(&app, &view, json!({"identifier": "a@example.com"})).await;
    assert_eq!(next["flowStatus"], "INCOMPLETE");
    assert_ne!(primary_action(&next), "");
}

#[actix_rt::test]
async fn flow_type_errors() {
    let setup = setup();
    let app = app(&setup).await;
    let (status, body) = post(&app, &json!({"flowType": "SELF_DESTRUCT"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60103");
    assert!(body.get("flowType").is_none(), "{body}");
    let (status, body) = post(&app, &json!({"flowType": "registration"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60103");
    let (status, body) = post(&app, &json!({})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60011");
    let (status, body) = post(&app, &json!({"flowName": "no-such-flow"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60105");
    let (status, body) = post(
        &app,
        &json!({"flowName": "default-login", "flowType": "REGISTRATION"}),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60103");
}

#[actix_rt::test]
async fn a_disabled_flow_is_fe_60104() {
    let setup = setup();
    let tenant = TenantId::default();
    let login = setup
        .catalog
        .active_by_type(&tenant, FlowType::Login)
        .unwrap();
    setup
        .catalog
        .deactivate(&tenant, &login.flow.flow.id)
        .unwrap();
    let app = app(&setup).await;
    let (status, body) = post(&app, &json!({"flowType": "AUTHENTICATION"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60104");
    assert_eq!(body["flowType"], "AUTHENTICATION");
    let (status, body) = post(&app, &json!({"flowName": "default-login"})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60104");
}

#[actix_rt::test]
async fn bodies_that_are_not_json_objects_are_fe_60007() {
    let setup = setup();
    let app = app(&setup).await;
    let path = flow_wso2_api::EXECUTE_PATH;
    for body in ["{\"flowType\": ", "", "[1,2]", "\"REGISTRATION\""] {
        let (status, error) = post_raw(&app, path, body).await;
        assert_error(status, &error, StatusCode::BAD_REQUEST, "FE-60007");
    }
    let (status, error) = post(&app, &json!({"flowType": 42})).await;
    assert_error(status, &error, StatusCode::BAD_REQUEST, "FE-60007");
}

#[actix_rt::test]
async fn inputs_that_are_not_strings_are_fe_60008() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    for inputs in [
        json!({"identifier": 42}),
        json!({"identifier": {"nested": "x"}}),
        json!(["identifier"]),
    ] {
        let (status, body) = post(
            &app,
            &json!({"flowId": view["flowId"], "actionId": "submit", "inputs": inputs}),
        )
        .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60008");
    }
}

#[actix_rt::test]
async fn an_oversized_body_is_413() {
    let setup = setup_with_limit(256);
    let app = app(&setup).await;
    let big = "x".repeat(1024);
    let (status, body) = post(
        &app,
        &json!({"flowType": "REGISTRATION", "inputs": {"identifier": big}}),
    )
    .await;
    assert_error(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "FE-60013");
}

#[actix_rt::test]
async fn a_concurrent_submission_is_409() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    // Simulate another request running this execution's server steps right now.
    let id = ExecutionId::parse(view["flowId"].as_str().unwrap()).unwrap();
    let mut execution = setup
        .memory
        .executions
        .load(&TenantId::default(), &id)
        .unwrap()
        .unwrap();
    let revision = execution.revision;
    execution.status = ExecutionStatus::Running;
    execution.revision += 1;
    setup
        .memory
        .executions
        .save(&execution, revision, &[])
        .unwrap();
    let (status, body) = post(
        &app,
        &json!({"flowId": view["flowId"], "inputs": {"identifier": "a@example.com"}}),
    )
    .await;
    assert_error(status, &body, StatusCode::CONFLICT, "FE-60014");
    assert_eq!(body["flowType"], "REGISTRATION");
}

#[actix_rt::test]
async fn the_attempt_limit_ends_the_execution_with_429() {
    let setup = setup();
    let app = app(&setup).await;
    register(&app, "kim@example.com", "kims long password").await;
    let view = start(&app, "AUTHENTICATION").await;
    let view = submit(&app, &view, json!({"identifier": "kim@example.com"})).await;
    let mut last = None;
    for _ in 0..10 {
        let (status, body) = post(
            &app,
            &json!({"flowId": view["flowId"], "actionId": primary_action(&view), "inputs": {"password": "wrong password"}}),
        )
        .await;
        if status != StatusCode::OK {
            last = Some((status, body));
            break;
        }
    }
    let (status, body) = last.expect("the limit was reached");
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "FE-60015");
    let (status, body) = post(
        &app,
        &json!({"flowId": view["flowId"], "inputs": {"password": "kims long password"}}),
    )
    .await;
    assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "FE-60015");
}

#[actix_rt::test]
async fn an_execution_started_over_another_protocol_is_not_continued_here() {
    let setup = setup();
    let app = app(&setup).await;
    // Another adapter (the authentik executor) on the same store, as in one server.
    let engine = flow_engine::Engine::new(
        flow_engine::EngineConfig {
            hash: flow_engine::HashParams::insecure_for_tests(),
            ..flow_engine::EngineConfig::recommended()
        },
        setup.memory.ports(),
    )
    .unwrap();
    let program = setup
        .catalog
        .program_for_name(&TenantId::default(), "default-registration")
        .unwrap();
    let request = flow_engine::RequestContext::for_tenant(TenantId::default());
    let (foreign, _) = engine.start_via("authentik", &program, request).unwrap();
    let (status, body) = post(
        &app,
        &json!({"flowId": foreign.to_string(), "actionId": "", "inputs": {}}),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60001");
    // Its own executions still continue.
    let view = start(&app, "REGISTRATION").await;
    let (status, _) = post(&app, &json!({"flowId": view["flowId"], "inputs": {}})).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn echoed_input_is_cut_and_repeated_keys_are_refused() {
    let setup = setup();
    let app = app(&setup).await;
    let long_id = "x".repeat(60_000);
    let (status, body) = post(&app, &json!({"flowId": long_id})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60001");
    let description = body["description"].as_str().unwrap();
    assert!(description.chars().count() < 200, "{description}");
    let (status, body) = post(&app, &json!({"flowType": "x".repeat(10_000)})).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60103");
    assert!(body["description"].as_str().unwrap().chars().count() < 200);

    let (status, body) = post_raw(
        &app,
        flow_wso2_api::EXECUTE_PATH,
        r#"{"flowType": "REGISTRATION", "flowType": "AUTHENTICATION"}"#,
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60007");
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("duplicate key \"flowType\""),
        "{body}"
    );
}
