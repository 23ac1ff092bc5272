//! Criterion benchmark: engine throughput for the default login flow on the memory store.
//!
//! One iteration is a whole sign-in: start (runs to the identifier prompt), submit the
//! identifier, submit the password (argon2 verify, the condition, success): four program steps
//! and three persisted saves. Cheap argon2 parameters keep the figure about the engine; the
//! production cost of a hash is measured separately in `argon2/hash_production`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_engine::memory::MemoryPorts;
use flow_engine::ports::UserDirectory;
use flow_engine::{
    Engine, EngineConfig, FIELD_IDENTIFIER, FIELD_PASSWORD, HashParams, NewUser, Outcome,
    RequestContext, Submission, TenantId, UserId,
};
use flow_model::Flow;

const LOGIN: &str = include_str!("../../../fixtures/flows/default-login.json");
const PASSWORD: &str = "correct horse battery staple";

fn engine_with_user(hash: HashParams) -> (Engine, Arc<flow_compiler::Program>) {
    let memory = MemoryPorts::new();
    let config = EngineConfig {
        hash,
        ..EngineConfig::recommended()
    };
    let engine = Engine::new(config, memory.ports()).unwrap();
    let hash = engine.hash_password(PASSWORD).unwrap();
    memory
        .users
        .create(
            &TenantId::default(),
            NewUser {
                id: UserId::new("bench-user"),
                identifier: "bench@example.com".to_owned(),
                password_hash: Some(hash),
                attributes: Default::default(),
                created_at: 0,
                disabled_at: None,
                password_changed_at: None,
            },
        )
        .unwrap();
    let flow = Flow::from_json(LOGIN).unwrap();
    (engine, Arc::new(flow_compiler::compile(&flow).unwrap()))
}

fn sign_in(engine: &Engine, program: &Arc<flow_compiler::Program>) {
    let tenant = TenantId::default();
    let (id, _) = engine
        .start(program, RequestContext::for_tenant(tenant.clone()))
        .unwrap();
    engine
        .resume_in(
            &tenant,
            &id,
            Submission::with_inputs([(FIELD_IDENTIFIER, "bench@example.com")]),
        )
        .unwrap();
    let outcome = engine
        .resume_in(
            &tenant,
            &id,
            Submission::with_inputs([(FIELD_PASSWORD, PASSWORD)]),
        )
        .unwrap();
    assert!(matches!(outcome, Outcome::Complete { .. }), "{outcome:?}");
}

fn bench_login(c: &mut Criterion) {
    let (engine, program) = engine_with_user(HashParams::insecure_for_tests());
    let mut group = c.benchmark_group("login");
    group.throughput(Throughput::Elements(4));
    group.bench_function("memory_store_cheap_hash", |b| {
        b.iter(|| sign_in(black_box(&engine), &program))
    });
    group.finish();

    let (engine, _) = engine_with_user(HashParams::production());
    let mut group = c.benchmark_group("argon2");
    group.sample_size(20);
    group.bench_function("hash_production", |b| {
        b.iter(|| engine.hash_password(black_box(PASSWORD)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_login);
criterion_main!(benches);
