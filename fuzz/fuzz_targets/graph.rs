//! Graph JSON → parse → validate → compile. No input may panic; a parsed flow written back
//! reads as the same flow; a valid flow compiles, deterministically, to a program whose jumps
//! stay inside it and that reads back from its own JSON.
#![no_main]

use flow_compiler::Program;
use flow_model::Flow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(flow) = Flow::from_json(text) else {
        return;
    };
    let written = serde_json::to_string(&flow).expect("a flow serialises");
    let again = Flow::from_json(&written).expect("a written flow reads back");
    assert_eq!(flow, again, "parse → serialise → parse changed the flow");

    let report = flow_model::validate(&flow);
    match flow_compiler::compile(&flow) {
        Ok(program) => {
            assert!(report.valid, "compiled a flow the validator refuses");
            let len = program.steps.len();
            for step in &program.steps {
                for target in step.op.targets() {
                    assert!(target < len, "jump to {target} outside {len} steps");
                }
            }
            let twice = flow_compiler::compile(&flow).expect("compiles twice");
            assert_eq!(program, twice, "the compiler is not deterministic");
            let json = serde_json::to_string(&program).expect("a program serialises");
            let back = Program::from_json(&json).expect("a program reads back");
            assert_eq!(program, back, "program JSON round trip changed it");
        }
        Err(refused) => assert!(!refused.valid, "refused a flow the validator accepts"),
    }
});
