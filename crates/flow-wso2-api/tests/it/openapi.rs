//! The OpenAPI document: served open, it parses, lists every route, and the answers of a
//! registration and of refused requests conform to its schemas.

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::{Value, json};

use crate::support::{app, post, post_raw, setup, start, submit};

/// The document as the server serves it.
async fn served<S>(app: &S) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    let request = test::TestRequest::get()
        .uri(flow_wso2_api::OPENAPI_PATH)
        .to_request();
    let response = test::call_service(app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

/// Checks `instance` against the document's component schema `name`.
fn conforms(document: &Value, name: &str, instance: &Value) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": document["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{instance}");
}

#[actix_rt::test]
async fn the_document_parses_and_lists_every_path() {
    let setup = setup();
    let app = app(&setup).await;
    let document = served(&app).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/api/server/v1/flow/execute",
        "/flow/execute",
        "/oauth2/jwks",
        "/.well-known/jwks.json",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    assert!(document["paths"]["/flow/execute"]["post"]["requestBody"].is_object());
    for schema in ["ExecuteResponse", "ErrorBody", "Component", "Data"] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
}

#[actix_rt::test]
async fn every_answer_of_a_registration_and_every_error_conforms() {
    let setup = setup();
    let app = app(&setup).await;
    let document = served(&app).await;

    let view = start(&app, "REGISTRATION").await;
    conforms(&document, "ExecuteResponse", &view);
    let view = submit(&app, &view, json!({"identifier": "openapi@example.com"})).await;
    conforms(&document, "ExecuteResponse", &view);
    // A correctable mistake: the same view with the error.
    let retry = submit(&app, &view, json!({"password": "short"})).await;
    conforms(&document, "ExecuteResponse", &retry);
    let view = submit(&app, &view, json!({"password": "MyP@ssw0rd!-long-enough"})).await;
    conforms(&document, "ExecuteResponse", &view);
    let done = submit(
        &app,
        &view,
        json!({"given_name": "Open", "family_name": "Api"}),
    )
    .await;
    conforms(&document, "ExecuteResponse", &done);

    for body in [
        "[1]",
        "{nope",
        r#"{"flowId": 7}"#,
        r#"{"flowType": "NOPE"}"#,
        r#"{"flowId": "not-a-uuid"}"#,
        r#"{"inputs": []}"#,
        "{}",
    ] {
        let (status, error) = post_raw(&app, flow_wso2_api::EXECUTE_PATH, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
        conforms(&document, "ErrorBody", &error);
    }
    let (status, error) = post(&app, &json!({"flowId": done["flowId"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    conforms(&document, "ErrorBody", &error);
}
