//! Whole flows over the API: registration then login, a wrong password that keeps the
//! execution, password recovery with the mailed code, completion by redirection, the short path.

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use flow_engine::TenantId;
use flow_model::Flow;
use serde_json::{Value, json};

use crate::support::{
    app, assert_error, components, input_identifiers, post, post_raw, setup, start, submit,
};

const EMAIL: &str = "sasha@example.com";
const PASSWORD: &str = "MyP@ssw0rd!-long";

/// Registers `email` with `password` over the API; returns the completion response.
pub(crate) async fn register<S>(app: &S, email: &str, password: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let view = start(app, "REGISTRATION").await;
    let view = submit(app, &view, json!({"identifier": email})).await;
    let view = submit(app, &view, json!({"password": password})).await;
    submit(app, &view, json!({"given_name": "Sasha"})).await
}

/// Signs in; returns the last response.
async fn login<S>(app: &S, email: &str, password: &str) -> Value
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let view = start(app, "AUTHENTICATION").await;
    let view = submit(app, &view, json!({"identifier": email})).await;
    submit(app, &view, json!({"password": password})).await
}

fn ids(view: &Value) -> Vec<String> {
    components(view)
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_rt::test]
async fn registration_start_has_the_seeds_shape() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    assert!(flow_engine::ExecutionId::parse(view["flowId"].as_str().unwrap()).is_some());
    assert_eq!(view["flowType"], "REGISTRATION");
    assert_eq!(view["flowStatus"], "INCOMPLETE");
    assert_eq!(view["type"], "VIEW");
    let form = &view["data"]["components"][0];
    assert_eq!(form["type"], "FORM");
    let input = &form["components"][0];
    assert_eq!(input["type"], "INPUT");
    assert_eq!(input["variant"], "EMAIL");
    assert_eq!(input["id"], "identifier");
    assert_eq!(input["config"]["identifier"], "identifier");
    assert_eq!(input["config"]["required"], true);
    assert!(input["config"]["label"].is_string());
    let button = form["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BUTTON")
        .unwrap();
    assert_eq!(button["variant"], "PRIMARY");
    assert_eq!(button["actionId"], button["id"]);
    assert!(button["config"]["text"].is_string());
    assert_eq!(view["data"]["requiredParams"], json!(["identifier"]));
    // No error on first display.
    assert!(view["data"].get("additionalData").is_none());
    assert!(view["data"].get("messages").is_none());
}

#[actix_rt::test]
async fn registration_then_login_complete_over_the_api() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    let view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    assert_eq!(input_identifiers(&view), ["password"]);
    let password = components(&view)
        .into_iter()
        .find(|c| c["id"] == "password")
        .unwrap();
    assert_eq!(password["variant"], "PASSWORD");
    assert_eq!(
        password["config"]["validations"][0]["conditions"][0],
        json!({"key": "min.length", "value": "8"})
    );
    let view = submit(&app, &view, json!({"password": PASSWORD})).await;
    assert_eq!(input_identifiers(&view), ["given_name", "family_name"]);
    let done = submit(&app, &view, json!({"given_name": "Sasha"})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(done["flowType"], "REGISTRATION");
    assert_eq!(done["type"], "VIEW");
    assert_eq!(done["data"]["components"][0]["type"], "TYPOGRAPHY");

    let done = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(done["flowType"], "AUTHENTICATION");
}

#[actix_rt::test]
async fn a_wrong_password_keeps_the_execution_with_the_error() {
    let setup = setup();
    let app = app(&setup).await;
    register(&app, EMAIL, PASSWORD).await;
    let view = start(&app, "AUTHENTICATION").await;
    let asked = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let wrong = submit(&app, &asked, json!({"password": "not the password"})).await;
    assert_eq!(wrong["flowStatus"], "INCOMPLETE");
    assert_eq!(wrong["type"], "VIEW");
    assert_eq!(wrong["flowId"], view["flowId"]);
    let error = wrong["data"]["additionalData"]["error"].as_str().unwrap();
    assert!(!error.is_empty());
    let message = &wrong["data"]["messages"][0];
    assert_eq!(message["type"], "ERROR");
    assert_eq!(message["message"], error);
    assert_eq!(message["i18nKey"], "flowd.error.invalid_credentials");
    // The same step, with the same component ids.
    assert_eq!(ids(&wrong), ids(&asked));

    let done = submit(&app, &wrong, json!({"password": PASSWORD})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
}

#[actix_rt::test]
async fn an_empty_required_input_is_a_retry_not_an_error() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "REGISTRATION").await;
    let again = submit(&app, &view, json!({"identifier": ""})).await;
    assert_eq!(again["flowStatus"], "INCOMPLETE");
    assert!(
        again["data"]["additionalData"]["error"].is_string(),
        "{again}"
    );
    assert_eq!(ids(&again), ids(&view));
}

#[actix_rt::test]
async fn a_completed_flow_id_cannot_be_replayed() {
    let setup = setup();
    let app = app(&setup).await;
    let done = register(&app, EMAIL, PASSWORD).await;
    assert_eq!(done["flowStatus"], "COMPLETE");
    let (status, body) = post(
        &app,
        &json!({"flowId": done["flowId"], "actionId": "submit", "inputs": {"given_name": "X"}}),
    )
    .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "FE-60001");
    assert_eq!(body["flowType"], "REGISTRATION");
}

#[actix_rt::test]
async fn password_recovery_with_the_mailed_code() {
    let setup = setup();
    let app = app(&setup).await;
    register(&app, EMAIL, PASSWORD).await;
    let view = start(&app, "PASSWORD_RECOVERY").await;
    assert_eq!(view["flowType"], "PASSWORD_RECOVERY");
    let code_view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let code_input = components(&code_view)
        .into_iter()
        .find(|c| c["type"] == "INPUT")
        .unwrap();
    assert_eq!(code_input["variant"], "OTP");
    let code = setup
        .memory
        .outbox
        .last_to(EMAIL)
        .expect("a mail")
        .code
        .expect("a code");
    let identifier = code_input["config"]["identifier"].as_str().unwrap();
    let wrong = submit(&app, &code_view, json!({identifier: "000000x"})).await;
    assert!(wrong["data"]["additionalData"]["error"].is_string());
    let new_password_view = submit(&app, &code_view, json!({identifier: code})).await;
    assert_eq!(input_identifiers(&new_password_view), ["password"]);
    let new_password = "an entirely new password";
    let done = submit(&app, &new_password_view, json!({"password": new_password})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(done["flowType"], "PASSWORD_RECOVERY");

    assert_eq!(
        login(&app, EMAIL, new_password).await["flowStatus"],
        "COMPLETE"
    );
    let old = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(old["flowStatus"], "INCOMPLETE");
}

#[actix_rt::test]
async fn an_unknown_identifier_gets_the_same_recovery_answers_and_no_mail() {
    let setup = setup();
    let app = app(&setup).await;
    let view = start(&app, "PASSWORD_RECOVERY").await;
    let code_view = submit(&app, &view, json!({"identifier": "nobody@example.com"})).await;
    assert_eq!(code_view["flowStatus"], "INCOMPLETE");
    assert_eq!(code_view["type"], "VIEW");
    assert!(setup.memory.outbox.last_to("nobody@example.com").is_none());
}

#[actix_rt::test]
async fn a_named_flow_with_a_completion_url_ends_in_a_redirection() {
    let setup = setup();
    let mut document: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../../fixtures/flows/default-registration.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    document["name"] = json!("signup-redirect");
    for node in document["graph"]["nodes"].as_array_mut().unwrap() {
        if node["type"] == "success" {
            node["config"]["redirect_url"] = json!("https://app.example.test/welcome");
        }
    }
    let flow = Flow::from_json(&document.to_string()).unwrap();
    let tenant = TenantId::default();
    let stored = setup.catalog.import(&tenant, flow).unwrap();
    setup.catalog.activate(&tenant, &stored.flow.id).unwrap();

    let app = app(&setup).await;
    let (status, view) = post(&app, &json!({"flowName": "signup-redirect"})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["flowType"], "REGISTRATION");
    let view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let view = submit(&app, &view, json!({"password": PASSWORD})).await;
    let done = submit(&app, &view, json!({})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(done["type"], "REDIRECTION");
    assert_eq!(done["data"]["url"], "https://app.example.test/welcome");
    assert_eq!(
        done["data"]["redirectURL"],
        "https://app.example.test/welcome"
    );
}

#[actix_rt::test]
async fn the_short_path_and_inputs_on_the_first_call_work() {
    let setup = setup();
    let app = app(&setup).await;
    let (status, view) = post_raw(
        &app,
        flow_wso2_api::SHORT_EXECUTE_PATH,
        &json!({"flowType": "REGISTRATION", "inputs": {"identifier": EMAIL}}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(input_identifiers(&view), ["password"]);
}

#[actix_rt::test]
async fn password_recovery_does_not_sign_in() {
    let setup = setup();
    let app = app(&setup).await;
    register(&app, EMAIL, PASSWORD).await;
    let view = start(&app, "PASSWORD_RECOVERY").await;
    let view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let code = setup.memory.outbox.last_to(EMAIL).unwrap().code.unwrap();
    let view = submit(&app, &view, json!({"code": code})).await;
    let done = submit(&app, &view, json!({"password": "yet another password"})).await;
    assert_eq!(done["flowStatus"], "COMPLETE");
    assert!(done["data"].get("userAssertion").is_none(), "{done}");
}

/// The code the authenticator app set up from `uri` shows `offset` seconds from now.
fn app_code(uri: &str, offset: u64) -> String {
    let app = totp_rs::Totp::from_url(uri).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    app.generate(now + offset).to_string()
}

#[actix_rt::test]
async fn an_authenticator_app_set_up_here_is_asked_for_after_the_password() {
    let setup = setup();
    // Over this API there is no session: the MFA setup flow signs the user in itself.
    let document = json!({
        "name": "mfa-setup-with-password",
        "display_name": "Set up an authenticator app",
        "type": "mfa_setup",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "identifier", "type": "identifier_input", "config": {"identifier_types": ["email"]}},
                {"id": "password", "type": "password_input"},
                {"id": "totp", "type": "totp_setup", "config": {"digits": 6, "period": 30}},
                {"id": "success", "type": "success"}
            ],
            "edges": [
                {"source": "start", "target": "identifier"},
                {"source": "identifier", "target": "password"},
                {"source": "password", "target": "totp"},
                {"source": "totp", "target": "success"}
            ]
        }
    });
    let tenant = TenantId::default();
    let stored = setup
        .catalog
        .import(&tenant, Flow::from_json(&document.to_string()).unwrap())
        .unwrap();
    setup.catalog.activate(&tenant, &stored.flow.id).unwrap();
    let app = app(&setup).await;
    register(&app, EMAIL, PASSWORD).await;

    let (status, view) = post(&app, &json!({"flowName": "mfa-setup-with-password"})).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let enrol = submit(&app, &view, json!({"password": PASSWORD})).await;
    assert_eq!(input_identifiers(&enrol), ["code"], "{enrol}");
    let uri = enrol["data"]["additionalData"]["totpURI"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = enrol["data"]["additionalData"]["totpSecret"]
        .as_str()
        .unwrap();
    assert!(
        ids(&enrol).contains(&"totp_totp_setup".to_owned()),
        "{enrol}"
    );
    assert!(
        components(&enrol).iter().any(|c| c["config"]["text"]
            .as_str()
            .is_some_and(|t| t.contains(secret))),
        "the key is shown in words too: {enrol}"
    );
    let done = submit(&app, &enrol, json!({"code": app_code(uri, 0)})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    let view = start(&app, "AUTHENTICATION").await;
    let view = submit(&app, &view, json!({"identifier": EMAIL})).await;
    let otp = submit(&app, &view, json!({"password": PASSWORD})).await;
    assert_eq!(otp["flowStatus"], "INCOMPLETE");
    assert_eq!(input_identifiers(&otp), ["code"], "{otp}");
    let wrong = submit(&app, &otp, json!({"code": "000000"})).await;
    assert_eq!(wrong["flowStatus"], "INCOMPLETE", "{wrong}");
    let done = submit(&app, &wrong, json!({"code": app_code(uri, 30)})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert!(done["data"]["userAssertion"].is_string(), "{done}");
}
