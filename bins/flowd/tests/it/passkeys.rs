//! Passkeys on the real server, over both protocols, with webauthn-authenticator-rs's software
//! passkey as the person's authenticator (the test server's public URL is on a loopback
//! address, so the relying party is `localhost` and the origin `http://localhost`).
//!
//! WSO2: the registration flow asks for the origin (`INTERNAL_PROMPT`), then runs the ceremony
//! (`WEBAUTHN`, `data.webAuthnData` and `data.webAuthn`); the credential goes back as the
//! portal sends it (`inputs.credential`, plain JSON without `rawId`) or as the seed says
//! (`inputs.tokenResponse`, base64url). authentik: `ak-stage-authenticator-webauthn` and a
//! `webauthn` device of `ak-stage-authenticator-validate`, every challenge schema-checked.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url, WebauthnAuthenticator,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::authentik::{Browser, executor};
use crate::support::{TOKEN, TestServer};

const EXECUTE: &str = "/api/server/v1/flow/execute";
const ORIGIN: &str = "http://localhost";

/// Creates and activates a flow of `flow_type` named `name`.
async fn install(base: &str, name: &str, flow_type: &str, nodes: Value, edges: Value) {
    let client = crate::support::http();
    let flow = json!({
        "name": name, "display_name": name, "type": flow_type,
        "graph": {"nodes": nodes, "edges": edges}
    });
    let created: Value = client
        .post(format!("{base}/api/admin/flows"))
        .bearer_auth(TOKEN)
        .json(&flow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let activated = client
        .post(format!("{base}/api/admin/flows/{id}/activate"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(activated.status(), StatusCode::OK);
}

/// A registration flow: the e-mail address, then a passkey instead of a password.
pub(crate) async fn install_signup(base: &str) {
    install(
        base,
        "passkey-signup",
        "registration",
        json!([
            {"id": "start", "type": "start"},
            {"id": "identifier", "type": "identifier_input", "config": {"identifier_types": ["email"]}},
            {"id": "passkey", "type": "webauthn"},
            {"id": "done", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "identifier"},
            {"source": "identifier", "target": "passkey"},
            {"source": "passkey", "target": "done"}
        ]),
    )
    .await;
}

/// A login flow: the identifier, then a passkey, or the password as the fallback.
async fn install_login(base: &str) {
    install(
        base,
        "passkey-login",
        "login",
        json!([
            {"id": "start", "type": "start"},
            {"id": "identifier", "type": "identifier_input"},
            {"id": "passkey", "type": "webauthn"},
            {"id": "password", "type": "password_input"},
            {"id": "done", "type": "success"}
        ]),
        json!([
            {"source": "start", "target": "identifier"},
            {"source": "identifier", "target": "passkey"},
            {"source": "passkey", "target": "done"},
            {"source": "passkey", "target": "password", "condition": "fallback"},
            {"source": "password", "target": "done"}
        ]),
    )
    .await;
}

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

/// The credential a browser makes for creation options `public_key`, as JSON.
pub(crate) fn create(key: &mut SoftPasskey, public_key: &Value) -> Value {
    let options: CreationChallengeResponse =
        serde_json::from_value(json!({"publicKey": public_key})).unwrap();
    serde_json::to_value(key.do_registration(origin(), options).unwrap()).unwrap()
}

/// The assertion a browser makes for request options `public_key`, as JSON.
pub(crate) fn get(key: &mut SoftPasskey, public_key: &Value) -> Value {
    let options: RequestChallengeResponse =
        serde_json::from_value(json!({"publicKey": public_key})).unwrap();
    serde_json::to_value(key.do_authentication(origin(), options).unwrap()).unwrap()
}

async fn execute(server: &TestServer, body: Value) -> Value {
    let (status, response) = server.call_as(None, "POST", EXECUTE, Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    response
}

async fn send(server: &TestServer, step: &Value, inputs: Value) -> Value {
    execute(
        server,
        json!({"flowId": step["flowId"], "actionId": "", "inputs": inputs}),
    )
    .await
}

#[actix_web::test]
async fn passkeys_register_and_sign_in_over_wso2() {
    let server = TestServer::start().await;
    install_signup(&server.base).await;
    install_login(&server.base).await;
    let email = "passkey-wso2@example.com";
    let mut key = SoftPasskey::new(true);

    let view = execute(
        &server,
        json!({"flowType": "REGISTRATION", "flowName": "passkey-signup"}),
    )
    .await;
    let prompt = send(&server, &view, json!({"identifier": email})).await;
    assert_eq!(prompt["type"], "INTERNAL_PROMPT", "{prompt}");
    assert_eq!(prompt["data"]["requiredParams"], json!(["origin"]));
    let ceremony = send(&server, &prompt, json!({"origin": ORIGIN})).await;
    assert_eq!(ceremony["type"], "WEBAUTHN", "{ceremony}");
    assert_eq!(ceremony["flowStatus"], "INCOMPLETE");
    let data = &ceremony["data"];
    assert_eq!(data["webAuthnData"]["action"], "WEBAUTHN_CREATE");
    assert_eq!(data["requiredParams"], json!(["credential"]));
    let options = &data["webAuthnData"]["publicKeyCredentialCreationOptions"];
    assert_eq!(options, &data["webAuthn"]["publicKey"]);
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], email);

    // A credential the server cannot read: the same ceremony again, with a coded error.
    let garbage = send(&server, &ceremony, json!({"credential": "{\"id\":"})).await;
    assert_eq!(garbage["type"], "WEBAUTHN", "{garbage}");
    assert_eq!(
        garbage["data"]["additionalData"]["fieldErrors"][0]["code"],
        "credential_malformed"
    );
    let options = &garbage["data"]["webAuthnData"]["publicKeyCredentialCreationOptions"];
    assert_ne!(
        options["challenge"], data["webAuthn"]["publicKey"]["challenge"],
        "a refused answer uses up the challenge"
    );

    // The portal's shape: the credential's JSON as a string, without rawId.
    let mut credential = create(&mut key, options);
    credential.as_object_mut().unwrap().remove("rawId");
    let done = send(
        &server,
        &garbage,
        json!({"credential": credential.to_string()}),
    )
    .await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    // The account holds the passkey; the admin API lists it.
    let (_, users) = server
        .call("GET", &format!("/api/admin/users?identifier={email}"), None)
        .await;
    let user = users["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, credentials) = server
        .call("GET", &format!("/api/admin/users/{user}/credentials"), None)
        .await;
    let passkey = &credentials["items"][0];
    assert_eq!(passkey["type"], "passkey", "{credentials}");
    let credential_id = passkey["id"].as_str().unwrap().to_owned();

    // Sign in: identifier, origin, then the seed's shape (base64url under tokenResponse).
    let view = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "passkey-login"}),
    )
    .await;
    let prompt = send(&server, &view, json!({"identifier": email})).await;
    assert_eq!(prompt["type"], "INTERNAL_PROMPT", "{prompt}");
    let ceremony = send(&server, &prompt, json!({"origin": ORIGIN})).await;
    assert_eq!(ceremony["type"], "WEBAUTHN");
    assert_eq!(ceremony["data"]["webAuthnData"]["action"], "WEBAUTHN_GET");
    let options = &ceremony["data"]["webAuthnData"]["publicKeyCredentialRequestOptions"];
    assert_eq!(options["allowCredentials"][0]["id"], json!(credential_id));
    // "Use another way" is offered beside the ceremony.
    let buttons = &ceremony["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["actionId"], "fallback", "{ceremony}");
    let assertion = get(&mut key, options);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(assertion.to_string());
    let done = send(&server, &ceremony, json!({"tokenResponse": token})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");
    let user_assertion = done["data"]["additionalData"]["userAssertion"]
        .as_str()
        .unwrap();
    assert_eq!(user_assertion.split('.').count(), 3);

    // The same assertion once more, in a new sign-in: refused, recoverable.
    let view = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "passkey-login"}),
    )
    .await;
    let prompt = send(&server, &view, json!({"identifier": email})).await;
    let ceremony = send(&server, &prompt, json!({"origin": ORIGIN})).await;
    let replayed = send(
        &server,
        &ceremony,
        json!({"credential": assertion.to_string()}),
    )
    .await;
    assert_eq!(replayed["type"], "WEBAUTHN", "{replayed}");
    assert_eq!(
        replayed["data"]["messages"][0]["i18nKey"],
        "flowd.error.passkey_rejected"
    );
    // The person gives up on the passkey: the password is asked for instead.
    let other = execute(
        &server,
        json!({"flowId": replayed["flowId"], "actionId": "fallback", "inputs": {}}),
    )
    .await;
    assert_eq!(other["type"], "VIEW", "{other}");
    assert!(other.to_string().contains("\"password\""), "{other}");

    // An origin that is not allowed is refused before any ceremony.
    let view = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "passkey-login"}),
    )
    .await;
    let prompt = send(&server, &view, json!({"identifier": email})).await;
    let refused = send(&server, &prompt, json!({"origin": "https://evil.example"})).await;
    assert_eq!(refused["type"], "INTERNAL_PROMPT", "{refused}");
    assert_eq!(
        refused["data"]["additionalData"]["fieldErrors"][0]["code"],
        "origin_not_allowed"
    );

    // The default login's first VIEW offers the site's passkeys (autofill) beside the
    // identifier: a discoverable credential answers it and signs in without an identifier.
    let view = execute(&server, json!({"flowType": "AUTHENTICATION"})).await;
    assert_eq!(view["type"], "VIEW", "{view}");
    assert_eq!(view["data"]["webAuthnData"]["action"], "WEBAUTHN_GET");
    let mut options = view["data"]["webAuthnData"]["publicKeyCredentialRequestOptions"].clone();
    assert_eq!(options["allowCredentials"], json!([]));
    assert_eq!(view["data"]["webAuthn"]["mediation"], "conditional");
    // (SoftPasskey keeps no resident keys: the test names the credential and adds the user
    // handle, as a platform authenticator would.)
    options["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let mut assertion = get(&mut key, &options);
    let handle = uuid::Uuid::parse_str(&user).unwrap();
    assertion["response"]["userHandle"] =
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(handle.as_bytes()));
    let done = send(&server, &view, json!({"credential": assertion.to_string()})).await;
    assert_eq!(done["flowStatus"], "COMPLETE", "{done}");

    // The administrator removes the passkey: the login falls back to the password at once.
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/admin/users/{user}/credentials/passkey/{credential_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let view = execute(
        &server,
        json!({"flowType": "AUTHENTICATION", "flowName": "passkey-login"}),
    )
    .await;
    let next = send(&server, &view, json!({"identifier": email})).await;
    assert_eq!(next["type"], "VIEW", "{next}");
}

#[actix_web::test]
async fn passkeys_register_and_sign_in_over_the_authentik_executor() {
    let mut browser = Browser::start().await;
    install_signup(&browser.base).await;
    install_login(&browser.base).await;
    let email = "passkey-ak@example.com";
    let mut key = SoftPasskey::new(true);

    let path = executor("passkey-signup");
    let (status, challenge) = browser.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(challenge["component"], "ak-stage-prompt", "{challenge}");
    let challenge = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-prompt", "identifier": email}),
        )
        .await;
    assert_eq!(
        challenge["component"], "ak-stage-authenticator-webauthn",
        "{challenge}"
    );
    assert_eq!(challenge["pending_user"], email);
    let registration = &challenge["registration"];
    assert_eq!(registration["rp"]["id"], "localhost");

    // A response that is not a credential: an error on `response`, nothing stored.
    let wrong = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-authenticator-webauthn", "response": {"id": "x"}}),
        )
        .await;
    assert_eq!(
        wrong["response_errors"]["response"][0]["code"], "credential_malformed",
        "{wrong}"
    );
    let mut response = create(&mut key, &wrong["registration"]);
    // authentik's client sends the extensions as a JSON string.
    response["registrationClientExtensions"] = json!("{}");
    let done = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-authenticator-webauthn", "response": response}),
        )
        .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");

    // Another browser, not signed in by the registration.
    browser.new_browser();
    let path = executor("passkey-login");
    let (_, challenge) = browser.get(&path).await;
    assert_eq!(challenge["component"], "ak-stage-identification");
    let challenge = browser.identify(&path, email).await;
    assert_eq!(
        challenge["component"], "ak-stage-authenticator-validate",
        "{challenge}"
    );
    let device = &challenge["device_challenges"][0];
    assert_eq!(device["device_class"], "webauthn");
    let mut assertion = get(&mut key, &device["challenge"]);
    assertion["assertionClientExtensions"] = json!("{}");
    let done = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-authenticator-validate", "webauthn": assertion}),
        )
        .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(done["to"], "/app/");

    // The default login's identification offers the site's passkeys (`passkey_challenge`),
    // answered with `passkey`: signed in without an identifier.
    browser.new_browser();
    let path = executor("default-login");
    let (_, challenge) = browser.get(&path).await;
    assert_eq!(challenge["component"], "ak-stage-identification");
    let mut options = challenge["passkey_challenge"].clone();
    assert_eq!(options["allowCredentials"], json!([]), "{challenge}");
    let user = crate::authentik::user_id(&browser.base, email).await;
    let credentials: Value = crate::support::http()
        .get(format!(
            "{}/api/admin/users/{user}/credentials",
            browser.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential_id = credentials["items"][0]["id"].clone();
    options["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let mut assertion = get(&mut key, &options);
    let handle = uuid::Uuid::parse_str(&user).unwrap();
    assertion["response"]["userHandle"] =
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(handle.as_bytes()));
    let done = browser
        .solve(
            &path,
            &json!({"component": "ak-stage-identification", "passkey": assertion}),
        )
        .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
}
