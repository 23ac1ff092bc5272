//! Criterion benchmark: a whole sign-in through the engine on a SQLite file, to compare with
//! `flow-engine`'s memory-store figure. Cheap argon2 parameters keep the figure about the engine
//! and the store (four program steps, three compare-and-swap saves, a user lookup).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flow_engine::memory::MemoryOutbox;
use flow_engine::{
    Engine, EngineConfig, FIELD_IDENTIFIER, FIELD_PASSWORD, HashParams, NewUser, Outcome,
    RequestContext, Submission, TenantId, UserDirectory, UserId,
};
use flow_model::Flow;
use flow_store::Database;

const LOGIN: &str = include_str!("../../../fixtures/flows/default-login.json");
const PASSWORD: &str = "correct horse battery staple";

fn bench_sqlite_login(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let database = Arc::new(Database::open(dir.path().join("bench.db").to_str().unwrap()).unwrap());
    let config = EngineConfig {
        hash: HashParams::insecure_for_tests(),
        ..EngineConfig::recommended()
    };
    let engine = Engine::new(config, database.ports(Arc::new(MemoryOutbox::new()))).unwrap();
    let tenant = TenantId::default();
    database
        .create(
            &tenant,
            NewUser {
                id: UserId::new("bench-user"),
                identifier: "bench@example.com".to_owned(),
                password_hash: Some(engine.hash_password(PASSWORD).unwrap()),
                attributes: Default::default(),
                created_at: 0,
                disabled_at: None,
                password_changed_at: None,
            },
        )
        .unwrap();
    let program = Arc::new(flow_compiler::compile(&Flow::from_json(LOGIN).unwrap()).unwrap());

    let mut group = c.benchmark_group("login");
    group.throughput(Throughput::Elements(4));
    group.bench_function("sqlite_store_cheap_hash", |b| {
        b.iter(|| {
            let (id, _) = engine
                .start(&program, RequestContext::for_tenant(tenant.clone()))
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
                    Submission::with_inputs([(FIELD_PASSWORD, black_box(PASSWORD))]),
                )
                .unwrap();
            assert!(matches!(outcome, Outcome::Complete { .. }));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_sqlite_login);
criterion_main!(benches);
