//! Embedding the engine: register a user with the default registration flow, then sign in with
//! the default login flow, in-process on the memory store. Run it with
//! `cargo run -p flow-engine --example embedded_login`.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::sync::Arc;

use flow_compiler::Program;
use flow_engine::memory::MemoryPorts;
use flow_engine::{
    Engine, EngineConfig, FIELD_IDENTIFIER, FIELD_PASSWORD, Outcome, RequestContext, Submission,
    TenantId, UserId,
};
use flow_model::Flow;

const REGISTRATION: &str = include_str!("../../../fixtures/flows/default-registration.json");
const LOGIN: &str = include_str!("../../../fixtures/flows/default-login.json");

/// Parses, validates and compiles a flow definition.
fn program(json: &str) -> Result<Arc<Program>, Box<dyn Error>> {
    let flow = Flow::from_json(json)?;
    let program = flow_compiler::compile(&flow)
        .map_err(|report| format!("the flow does not validate: {report:?}"))?;
    Ok(Arc::new(program))
}

/// Submits the primary action of the current prompt with `inputs`.
fn submit(
    engine: &Engine,
    id: &flow_engine::ExecutionId,
    inputs: &[(&str, &str)],
) -> Result<Outcome, Box<dyn Error>> {
    let submission = Submission::with_inputs(inputs.iter().copied());
    Ok(engine.resume_in(&TenantId::default(), id, submission)?)
}

/// What the walk-through ends with.
#[derive(Debug)]
pub(crate) struct Signed {
    /// The user created by registration.
    pub registered: UserId,
    /// The user signed in by login.
    pub signed_in: UserId,
    /// The methods the login used.
    pub methods: Vec<String>,
}

/// Registers `alice@example.com` and signs her in. `config` decides the argon2 cost.
pub(crate) fn run(config: EngineConfig) -> Result<Signed, Box<dyn Error>> {
    let memory = MemoryPorts::new();
    let engine = Engine::new(config, memory.ports())?;
    let request = RequestContext::for_tenant(TenantId::default());
    let (email, password) = ("alice@example.com", "correct horse battery staple");

    // Registration: identifier, then password, then the optional profile prompt.
    let registration = program(REGISTRATION)?;
    let (id, outcome) = engine.start(&registration, request.clone())?;
    println!("registration asks for: {:?}", field_names(&outcome));
    submit(&engine, &id, &[(FIELD_IDENTIFIER, email)])?;
    submit(&engine, &id, &[(FIELD_PASSWORD, password)])?;
    let outcome = submit(&engine, &id, &[("given_name", "Alice")])?;
    let Outcome::Complete {
        user_id: Some(registered),
        ..
    } = outcome
    else {
        return Err(format!("registration did not complete: {outcome:?}").into());
    };
    println!("registered {email} as user {registered}");

    // Login: identifier, then password; no MFA for a fresh user.
    let login = program(LOGIN)?;
    let (id, outcome) = engine.start(&login, request)?;
    println!("login asks for: {:?}", field_names(&outcome));
    submit(&engine, &id, &[(FIELD_IDENTIFIER, email)])?;
    let outcome = submit(&engine, &id, &[(FIELD_PASSWORD, password)])?;
    let Outcome::Complete {
        user_id: Some(signed_in),
        methods,
        sign_in: true,
        ..
    } = outcome
    else {
        return Err(format!("login did not complete: {outcome:?}").into());
    };
    println!("signed in user {signed_in} with {methods:?}");
    for entry in engine.trace(&TenantId::default(), &id)? {
        println!(
            "  trace: step {} {} {} -> {}",
            entry.step, entry.node_id, entry.op, entry.result
        );
    }
    Ok(Signed {
        registered,
        signed_in,
        methods,
    })
}

fn field_names(outcome: &Outcome) -> Vec<String> {
    outcome
        .form()
        .map(|form| form.fields.iter().map(|field| field.name.clone()).collect())
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn Error>> {
    // Production argon2 parameters, as a real embedder would use them.
    let signed = run(EngineConfig::recommended())?;
    if signed.registered != signed.signed_in || signed.methods != ["password"] {
        return Err(format!("unexpected sign-in: {signed:?}").into());
    }
    println!("ok");
    Ok(())
}
