//! Social login without a way to reach providers: the engine offers nothing it cannot run.
//! (Sign-ins against a real OpenID provider are the server's tests: bins/flowd/tests/it.)

use flow_engine::{IdentityProvider, IdentityProviderStore, Outcome, ProviderProtocol, TenantId};

use crate::common::{Harness, compile_text};

fn seed_flow() -> std::sync::Arc<flow_compiler::Program> {
    compile_text(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/seed-002/create-flow-request.json"
        ))
        .unwrap(),
    )
}

fn failure(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { code, .. } => code,
        other => panic!("not a failure: {other:?}"),
    }
}

#[test]
fn without_a_federation_client_the_node_offers_no_provider() {
    let harness = Harness::new();
    let google = IdentityProvider::new("google", ProviderProtocol::Oidc, "client");
    harness
        .memory
        .identity_providers
        .put(&TenantId::default(), &google)
        .unwrap();
    let (_, outcome) = harness.start(&seed_flow());
    assert_eq!(failure(&outcome), "social_providers_unavailable");
}
