//! CEL expressions: `flow_model::parse_expression` (the validator's check), then evaluation
//! through the engine: the expression becomes a `condition` (or a `switch`) of a flow that
//! the engine starts, so the engine evaluates it over a real execution context. No input may
//! panic; what parses must compile into a flow, and starting it must give an answer (an
//! outcome or an error), never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use flow_engine::memory::MemoryPorts;
use flow_engine::{Engine, EngineConfig, HashParams, RequestContext, TenantId};
use flow_model::Flow;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// One engine for the whole run, on memory ports with a clock the target moves forward so
/// that finished executions expire and are swept.
struct Harness {
    engine: Engine,
    memory: MemoryPorts,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let memory = MemoryPorts::with_manual_clock(1_700_000_000_000);
        let config = EngineConfig {
            hash: HashParams::insecure_for_tests(),
            ..EngineConfig::recommended()
        };
        let engine = Engine::new(config, memory.ports()).expect("an engine");
        Harness { engine, memory }
    })
}

/// A registration flow that branches on `expression` right after the start.
fn flow(expression: &str, switch: bool) -> serde_json::Value {
    let (node, edges) = if switch {
        (
            json!({"id": "branch", "type": "switch", "config": {"expression": expression}}),
            json!([
                {"source": "start", "target": "branch"},
                {"source": "branch", "target": "done", "condition": "a"},
                {"source": "branch", "target": "done", "condition": "1"},
                {"source": "branch", "target": "stop", "condition": "default"},
            ]),
        )
    } else {
        (
            json!({"id": "branch", "type": "condition", "config": {"condition": expression}}),
            json!([
                {"source": "start", "target": "branch"},
                {"source": "branch", "target": "done", "condition": "true"},
                {"source": "branch", "target": "stop", "condition": "false"},
            ]),
        )
    };
    json!({
        "name": "fuzz-expression",
        "type": "registration",
        "graph": {
            "nodes": [
                {"id": "start", "type": "start"},
                node,
                {"id": "done", "type": "identifier_input"},
                {"id": "stop", "type": "failure"},
                {"id": "end", "type": "success"},
            ],
            "edges": edges.as_array().expect("edges").iter().cloned()
                .chain([json!({"source": "done", "target": "end"})])
                .collect::<Vec<_>>(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(expression) = std::str::from_utf8(rest) else {
        return;
    };
    if flow_model::parse_expression(expression).is_err() {
        return;
    }
    let flow = Flow::from_value(flow(expression, selector & 1 == 1)).expect("the flow parses");
    let program = match flow_compiler::compile(&flow) {
        Ok(program) => Arc::new(program),
        Err(report) => panic!("an expression that parses must compile: {report:?}"),
    };
    let harness = harness();
    let request = RequestContext::for_tenant(TenantId::default());
    // Any answer will do; only a panic is a failure.
    let _ = harness.engine.start(&program, request);
    if let Some(clock) = &harness.memory.clock {
        clock.advance_secs(3600);
    }
    let _ = harness.engine.delete_expired();
});
