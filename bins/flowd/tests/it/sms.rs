//! Text messages on the real server: a sign-in by a code sent as a text message, through the
//! development outbox (`FLOWD_SMS_SENDER=file`) and through a Twilio-compatible receiver on
//! loopback (`FLOWD_SMS_SENDER=twilio` with `FLOWD_TWILIO_BASE_URL`), and a number the
//! provider refuses as a coded failure of the flow, not a server error.

use reqwest::StatusCode;
use serde_json::{Value, json};

use flowd::config::SmsSettings;

use crate::receiver::{Receiver, Reply};

use crate::support::TestServer;

const EXECUTE: &str = "/api/server/v1/flow/execute";
const PHONE: &str = "+15551234567";

/// A user whose identifier is `PHONE`, and a login flow: the phone number, a code by text
/// message, the code.
async fn prepare(server: &TestServer) {
    let (status, user) = server
        .call(
            "POST",
            "/api/admin/users",
            Some(&json!({"identifier": PHONE})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let flow = json!({
        "name": "sms-login", "display_name": "SMS login", "type": "login",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "phone", "type": "identifier_input",
                    "config": {"identifier_types": ["phone"]}},
                {"id": "send", "type": "send_sms",
                    "config": {"template": "login_code", "with_code": true}},
                {"id": "code", "type": "otp_input"},
                {"id": "done", "type": "success"}
            ],
            "edges": [
                {"source": "start", "target": "phone"},
                {"source": "phone", "target": "send"},
                {"source": "send", "target": "code"},
                {"source": "code", "target": "done"}
            ]
        }
    });
    let (status, created) = server.call("POST", "/api/admin/flows", Some(&flow)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (status, activated) = server
        .call("POST", &format!("/api/admin/flows/{id}/activate"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
}

async fn execute(server: &TestServer, body: &Value) -> (StatusCode, Value) {
    server.call_as(None, "POST", EXECUTE, Some(body)).await
}

/// Starts the flow and enters the phone number; the answer after it.
async fn ask_for_code(server: &TestServer) -> (Value, StatusCode, Value) {
    let (status, view) = execute(
        server,
        &json!({"flowType": "AUTHENTICATION", "flowName": "sms-login"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (status, next) = execute(
        server,
        &json!({"flowId": view["flowId"], "inputs": {"identifier": "+1 555 123 4567"}}),
    )
    .await;
    (view, status, next)
}

/// The six-digit code in `text`.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

#[actix_web::test]
async fn a_code_by_text_message_from_the_outbox_signs_in() {
    let outbox = tempfile::tempdir().unwrap();
    let dir = outbox.path().to_owned();
    let server = TestServer::start_configured(|config| config.sms = SmsSettings::File(dir)).await;
    prepare(&server).await;
    let (view, status, prompt) = ask_for_code(&server).await;
    assert_eq!(status, StatusCode::OK, "{prompt}");
    assert_eq!(
        prompt["data"]["requiredParams"],
        json!(["code"]),
        "{prompt}"
    );
    let files: Vec<_> = std::fs::read_dir(outbox.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one text message");
    let path = files[0].as_ref().unwrap().path();
    assert!(path.to_string_lossy().ends_with(".sms.json"), "{path:?}");
    let entry: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(entry["to"], PHONE, "{entry}");
    assert_eq!(entry["template"], "login_code");
    let code = code_in(entry["text"].as_str().unwrap());
    let (status, done) = execute(
        &server,
        &json!({"flowId": view["flowId"], "inputs": {"code": code}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
}

#[actix_web::test]
async fn a_twilio_compatible_provider_gets_the_message_and_its_refusal_is_coded() {
    let accepting = Receiver::start(|_, _| {
        Reply::json(
            201,
            r#"{"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"}"#,
        )
    });
    let base = accepting.url("");
    let twilio = |base: String| {
        SmsSettings::Twilio(flow_sms::TwilioSettings {
            base_url: base,
            account_sid: "AC0123456789abcdef0123456789abcdef".to_owned(),
            auth_token: "twilio-test-token-0123456789".to_owned(),
            from: "+15550000000".to_owned(),
            timeout: std::time::Duration::from_secs(5),
        })
    };
    let settings = twilio(base.trim_end_matches('/').to_owned());
    let server = TestServer::start_configured(move |config| config.sms = settings).await;
    prepare(&server).await;
    let (view, status, prompt) = ask_for_code(&server).await;
    assert_eq!(status, StatusCode::OK, "{prompt}");
    let calls = accepting.received();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.path,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    let form = call.form();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    assert_eq!(field("To"), PHONE);
    assert_eq!(field("From"), "+15550000000");
    let code = code_in(&field("Body"));
    let (_, done) = execute(
        &server,
        &json!({"flowId": view["flowId"], "inputs": {"code": code}}),
    )
    .await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    // The provider refuses the number: the flow fails with a code, the server stays healthy.
    let refusing = Receiver::start(|_, _| {
        Reply::json(
            400,
            r#"{"code": 21211, "message": "The 'To' number +15551234567 is not a valid phone number.", "status": 400}"#,
        )
    });
    let settings = twilio(refusing.url("").trim_end_matches('/').to_owned());
    let server = TestServer::start_configured(move |config| config.sms = settings).await;
    prepare(&server).await;
    let (_, status, failed) = ask_for_code(&server).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{failed}");
    assert_eq!(
        failed["code"], "FE-60006",
        "a flow failure, not a store outage: {failed}"
    );
    assert!(!failed.to_string().contains("5551234567"), "{failed}");
    assert_eq!(refusing.received().len(), 1);
}
