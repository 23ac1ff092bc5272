//! The `userAssertion` JWT of auto-login completions and the JWKS that verifies it, across a
//! key rotation, a restart and replicas sharing one key store.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::test;
use flow_engine::memory::MemoryKeyStore;
use flow_engine::{KeyStore, TenantId};
use flow_wso2_api::{AssertionClaims, JWKS_PATH, WELL_KNOWN_JWKS_PATH};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::flows::register;
use crate::support::{PUBLIC_URL, app, setup, setup_with_key_store};

async fn jwks<S>(app: &S, path: &str) -> JwkSet
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let response = test::call_service(app, test::TestRequest::get().uri(path).to_request()).await;
    assert!(response.status().is_success());
    serde_json::from_slice(&test::read_body(response).await).unwrap()
}

fn verify(set: &JwkSet, token: &str) -> AssertionClaims {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("a kid");
    let jwk = set.find(&kid).expect("the kid is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[PUBLIC_URL]);
    validation.set_issuer(&[PUBLIC_URL]);
    jsonwebtoken::decode::<AssertionClaims>(
        token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

fn assertion(done: &Value) -> String {
    let token = done["data"]["userAssertion"]
        .as_str()
        .expect("data.userAssertion");
    assert_eq!(done["data"]["additionalData"]["userAssertion"], token);
    token.to_owned()
}

#[actix_rt::test]
async fn registration_with_auto_login_carries_a_verifiable_assertion() {
    let setup = setup();
    let app = app(&setup).await;
    let done = register(&app, "ana@example.com", "anas long password").await;
    assert_eq!(done["flowStatus"], "COMPLETE");
    let token = assertion(&done);
    let set = jwks(&app, JWKS_PATH).await;
    let claims = verify(&set, &token);
    assert_eq!(claims.exp - claims.iat, 2);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(claims.flow_type, "REGISTRATION");
    assert!(!claims.sub.is_empty());
    assert_eq!(claims.jti.len(), 36);
    assert_eq!(jwks(&app, WELL_KNOWN_JWKS_PATH).await, set);
}

#[actix_rt::test]
async fn a_rotation_keeps_old_assertions_verifiable() {
    let setup = setup();
    let app = app(&setup).await;
    let first = assertion(&register(&app, "bo@example.com", "bos long password").await);
    setup.state.assertions().rotate().unwrap();
    let second = assertion(&register(&app, "cy@example.com", "cys long password").await);
    let set = jwks(&app, JWKS_PATH).await;
    assert_eq!(set.keys.len(), 2);
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid;
    assert_ne!(kid(&first), kid(&second));
    verify(&set, &first);
    verify(&set, &second);
}

#[actix_rt::test]
async fn servers_sharing_a_key_store_sign_with_the_same_key() {
    let keys = Arc::new(MemoryKeyStore::new());
    let first = setup_with_key_store(keys.clone());
    let first_app = app(&first).await;
    let token = assertion(&register(&first_app, "di@example.com", "dis long password").await);
    let stored = keys.keys(&TenantId::default()).unwrap();
    assert_eq!(
        stored.len(),
        1,
        "the key lives in the given store, default tenant"
    );

    // A second server (another replica, or the same one after a restart) over the same store.
    let second = setup_with_key_store(keys.clone());
    let second_app = app(&second).await;
    let set = jwks(&second_app, JWKS_PATH).await;
    assert_eq!(set.keys.len(), 1);
    verify(&set, &token);
    let other = assertion(&register(&second_app, "ed@example.com", "eds long password").await);
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid;
    assert_eq!(kid(&other), kid(&token));
    assert_eq!(kid(&token).as_deref(), Some(stored[0].kid.as_str()));
    assert_eq!(keys.keys(&TenantId::default()).unwrap(), stored);
}
