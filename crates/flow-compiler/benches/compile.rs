//! Criterion benchmark: validate and compile generated flows of 1k, 10k and 100k nodes.
//!
//! The generated flow is a chain of blocks, each an `otp_input` prompt, a `set_attribute`
//! action and a `condition` that goes on to the next block or back to the prompt, with a
//! success node at the end: every node kind the validator treats differently (input, action,
//! branch, terminal), loops through input, and a program with jumps.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

/// The allocator the flowd server runs with (`bins/flowd/src/main.rs`), so that the figures are
/// the server's. With glibc's allocator the 100k-node figure is about 2.5 times higher (see
/// `docs/performance.md`): each step owns small strings, and glibc's malloc is the bottleneck.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flow_compiler::compile;
use flow_model::{Flow, validate};
use serde_json::{Value, json};

/// A valid login flow with about `nodes` nodes.
fn generated_flow(nodes: usize) -> Flow {
    let blocks = nodes.saturating_sub(2) / 3;
    let mut node_list: Vec<Value> = vec![json!({"id": "start", "type": "start"})];
    let mut edges: Vec<Value> = Vec::with_capacity(blocks * 4 + 1);
    let block_entry = |block: usize| {
        if block == blocks {
            "success".to_owned()
        } else {
            format!("otp{block}")
        }
    };
    edges.push(json!({"source": "start", "target": block_entry(0)}));
    for block in 0..blocks {
        let (otp, set, check) = (
            format!("otp{block}"),
            format!("set{block}"),
            format!("check{block}"),
        );
        node_list.push(json!({"id": otp, "type": "otp_input"}));
        node_list.push(json!({"id": set, "type": "set_attribute", "config": {"attribute": "step", "value": block}}));
        node_list.push(json!({
            "id": check,
            "type": "condition",
            "config": {"condition": format!("attributes.step > {}", block % 16)}
        }));
        edges.push(json!({"source": otp, "target": set}));
        edges.push(json!({"source": set, "target": check}));
        edges.push(json!({"source": check, "target": block_entry(block + 1), "condition": "true"}));
        edges.push(json!({"source": check, "target": otp, "condition": "false"}));
    }
    node_list.push(json!({"id": "success", "type": "success"}));
    let flow = Flow::from_value(json!({
        "name": "generated",
        "type": "login",
        "graph": {"nodes": node_list, "edges": edges}
    }))
    .expect("generated flow parses");
    assert!(validate(&flow).valid, "generated flow is valid");
    flow
}

fn bench_validate_and_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("flow");
    for size in [1_000usize, 10_000, 100_000] {
        let flow = generated_flow(size);
        group.throughput(Throughput::Elements(flow.graph.nodes.len() as u64));
        if size >= 100_000 {
            group.sample_size(10);
        }
        group.bench_with_input(BenchmarkId::new("validate", size), &flow, |b, flow| {
            b.iter(|| validate(black_box(flow)))
        });
        group.bench_with_input(
            BenchmarkId::new("validate+compile", size),
            &flow,
            // Freeing the finished program is the caller's business (a server keeps it), so it
            // is left out of the timing.
            |b, flow| b.iter_with_large_drop(|| compile(black_box(flow)).expect("compiles")),
        );
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let text = serde_json::to_string(&generated_flow(10_000)).expect("serializes");
    c.bench_function("parse/10000", |b| {
        b.iter(|| Flow::from_json(black_box(&text)).expect("parses"))
    });
}

fn bench_expression(c: &mut Criterion) {
    c.bench_function("expression/parse", |b| {
        b.iter(|| {
            flow_model::parse_expression(black_box("user.mfa_enabled && attributes.step > 3"))
        })
    });
}

criterion_group!(
    benches,
    bench_validate_and_compile,
    bench_parse,
    bench_expression
);
criterion_main!(benches);
