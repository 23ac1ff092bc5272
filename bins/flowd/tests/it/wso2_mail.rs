//! The WSO2 flows that depend on mail, on the real server with `FLOWD_SMTP_URL` pointing at an
//! SMTP receiver on loopback: password recovery (the code read from the received mail) and
//! invited registration (an admin's invitation, its code read from the mailed link).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::smtp::SmtpReceiver;
use crate::support::TestServer;

const EXECUTE: &str = "/api/server/v1/flow/execute";

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{body} -> {response}");
    response
}

async fn submit(server: &TestServer, view: &Value, inputs: Value) -> Value {
    let body = json!({"flowId": view["flowId"], "flowType": view["flowType"], "inputs": inputs});
    execute(server, body).await
}

/// The `config.identifier`s of the VIEW's inputs.
fn inputs_of(view: &Value) -> Vec<String> {
    view["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|component| component["type"] == "FORM")
        .flat_map(|form| form["components"].as_array().unwrap().iter())
        .filter(|component| component["type"] == "INPUT")
        .map(|input| input["config"]["identifier"].as_str().unwrap().to_owned())
        .collect()
}

/// The i18n key of the first error message of a VIEW that asks again.
fn error_key(view: &Value) -> &str {
    assert_eq!(view["flowStatus"], "INCOMPLETE", "{view}");
    view["data"]["messages"][0]["i18nKey"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {view}"))
}

/// Signs in over WSO2 and returns the completion.
async fn sign_in(server: &TestServer, email: &str, password: &str) -> Value {
    let view = execute(server, json!({"flowType": "AUTHENTICATION"})).await;
    let view = submit(server, &view, json!({"identifier": email})).await;
    submit(server, &view, json!({"password": password})).await
}

async fn register(server: &TestServer, email: &str, password: &str) {
    let view = execute(server, json!({"flowType": "REGISTRATION"})).await;
    let view = submit(server, &view, json!({"identifier": email})).await;
    let view = submit(server, &view, json!({"password": password})).await;
    let done = submit(server, &view, json!({})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_hex(c: char) -> bool {
    c.is_ascii_hexdigit()
}

#[actix_web::test]
async fn password_recovery_reads_the_code_from_real_smtp_then_signs_in() {
    let smtp = SmtpReceiver::start();
    let server = TestServer::start_with_smtp(smtp.url()).await;
    let email = "recover-me@example.com";
    register(&server, email, "the forgotten password").await;

    let view = execute(&server, json!({"flowType": "PASSWORD_RECOVERY"})).await;
    assert_eq!(inputs_of(&view), ["identifier"]);
    let view = submit(&server, &view, json!({"identifier": email})).await;
    assert_eq!(inputs_of(&view), ["code"], "{view}");

    let mail = smtp.latest_for(email);
    assert!(
        mail.text.contains("Subject: Your password reset code"),
        "{}",
        mail.text
    );
    let code = mail.find_after("Your code is: ", 6, is_digit);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let retry = submit(&server, &view, json!({"code": wrong})).await;
    assert_eq!(error_key(&retry), "flowd.error.invalid_code");

    let view = submit(&server, &retry, json!({"code": code})).await;
    assert_eq!(inputs_of(&view), ["password"], "{view}");
    let done = submit(
        &server,
        &view,
        json!({"password": "the remembered password"}),
    )
    .await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    let old = sign_in(&server, email, "the forgotten password").await;
    assert_eq!(error_key(&old), "flowd.error.invalid_credentials");
    let new = sign_in(&server, email, "the remembered password").await;
    assert_eq!(new["flowStatus"], "COMPLETE", "{new}");
    assert!(new["data"]["userAssertion"].is_string(), "{new}");

    // An unknown identifier walks the same steps and gets no mail.
    let before = smtp.count_for("nobody@example.com");
    let view = execute(&server, json!({"flowType": "PASSWORD_RECOVERY"})).await;
    let view = submit(&server, &view, json!({"identifier": "nobody@example.com"})).await;
    assert_eq!(inputs_of(&view), ["code"]);
    assert_eq!(smtp.count_for("nobody@example.com"), before);
}

#[actix_web::test]
async fn an_invitation_mailed_by_the_admin_api_registers_the_invitee_once() {
    let smtp = SmtpReceiver::start();
    let server = TestServer::start_with_smtp(smtp.url()).await;
    let email = "invitee@example.com";

    let (status, invitation) = server
        .call(
            "POST",
            "/api/admin/invitations",
            Some(&json!({"email": "Invitee@Example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    assert_eq!(invitation["email"], email);
    assert!(invitation.get("code").is_none(), "{invitation}");

    let mail = smtp.latest_for(email);
    assert!(
        mail.text
            .contains("/register?flowType=INVITED_USER_REGISTRATION&confirmationCode="),
        "{}",
        mail.text
    );
    let code = mail.find_after("confirmationCode=", 32, is_hex);
    assert_eq!(mail.find_after("asked for it: ", 32, is_hex), code);

    // The first VIEW asks for the code; a wrong one is a recoverable mistake.
    let view = execute(&server, json!({"flowType": "INVITED_USER_REGISTRATION"})).await;
    assert_eq!(inputs_of(&view), ["confirmationCode"], "{view}");
    let retry = submit(
        &server,
        &view,
        json!({"confirmationCode": "0123456789abcdef0123456789abcdef"}),
    )
    .await;
    assert_eq!(error_key(&retry), "flowd.error.invalid_code");
    assert_eq!(inputs_of(&retry), ["confirmationCode"]);

    // The right code fixes the e-mail address: the password comes next.
    let view = submit(&server, &retry, json!({"confirmationCode": code})).await;
    assert_eq!(inputs_of(&view), ["password"], "{view}");
    let view = submit(&server, &view, json!({"password": "an invited password"})).await;
    let done = submit(&server, &view, json!({"given_name": "Ivy"})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    assert_eq!(done["flowType"], "INVITED_USER_REGISTRATION");
    assert!(done["data"]["userAssertion"].is_string(), "{done}");

    let signed_in = sign_in(&server, email, "an invited password").await;
    assert_eq!(signed_in["flowStatus"], "COMPLETE", "{signed_in}");

    // The code was used: refused, also when a client starts from the link with the code.
    let reused = execute(
        &server,
        json!({"flowType": "INVITED_USER_REGISTRATION", "inputs": {"confirmationCode": code}}),
    )
    .await;
    assert_eq!(error_key(&reused), "flowd.error.invitation_used");

    let (status, list) = server.call("GET", "/api/admin/invitations", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["status"], "used", "{list}");
}

#[actix_web::test]
async fn invitation_codes_from_the_link_revoked_and_unknown() {
    let smtp = SmtpReceiver::start();
    let server = TestServer::start_with_smtp(smtp.url()).await;

    // A client that starts from the link sends the code with the start request.
    server
        .call(
            "POST",
            "/api/admin/invitations",
            Some(&json!({"email": "linked@example.com", "expires_in": 3600})),
        )
        .await;
    let code = smtp
        .latest_for("linked@example.com")
        .find_after("confirmationCode=", 32, is_hex);
    let view = execute(
        &server,
        json!({"flowType": "INVITED_USER_REGISTRATION", "inputs": {"confirmationCode": code}}),
    )
    .await;
    assert_eq!(inputs_of(&view), ["password"], "{view}");

    // A revoked invitation's code is refused like an unknown one.
    let (_, revoked) = server
        .call(
            "POST",
            "/api/admin/invitations",
            Some(&json!({"email": "revoked@example.com"})),
        )
        .await;
    let code = smtp
        .latest_for("revoked@example.com")
        .find_after("confirmationCode=", 32, is_hex);
    let (status, answer) = server
        .call(
            "DELETE",
            &format!("/api/admin/invitations/{}", revoked["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("revoked"))
    );
    let refused = execute(
        &server,
        json!({"flowType": "INVITED_USER_REGISTRATION", "inputs": {"confirmationCode": code}}),
    )
    .await;
    assert_eq!(error_key(&refused), "flowd.error.invalid_code");

    // Unknown codes count as wrong attempts: the fifth ends the execution.
    let mut view = execute(&server, json!({"flowType": "INVITED_USER_REGISTRATION"})).await;
    for _ in 0..4 {
        view = submit(&server, &view, json!({"confirmationCode": "not-a-code"})).await;
        assert_eq!(error_key(&view), "flowd.error.invalid_code");
    }
    let body = json!({"flowId": view["flowId"], "inputs": {"confirmationCode": "not-a-code"}});
    let (status, error) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
}
