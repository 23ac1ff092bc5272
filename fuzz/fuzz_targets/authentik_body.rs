//! authentik executor bodies: a challenge response (a JSON object) read against the form the
//! execution waits on, exactly as `Executor::submit` reads it. The forms are the real first
//! prompts of the default flows (and the password prompt of a registration); the first byte
//! picks one. No input may panic; a refused response has a code; the engine
//! inputs of an accepted one, sent again as a response, read as the same inputs.
#![no_main]

use std::sync::{Arc, OnceLock};

use flow_authentik_api::executor::parse_response;
use flow_engine::memory::MemoryPorts;
use flow_engine::{
    Engine, EngineConfig, FIELD_IDENTIFIER, Form, HashParams, Outcome, RequestContext, Submission,
    TenantId,
};
use flow_model::Flow;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const FLOWS: [&str; 5] = [
    include_str!("../../fixtures/flows/default-login.json"),
    include_str!("../../fixtures/flows/default-registration.json"),
    include_str!("../../fixtures/flows/default-password-recovery.json"),
    include_str!("../../fixtures/flows/default-invited-registration.json"),
    include_str!("../../fixtures/flows/default-mfa-setup.json"),
];

/// The forms: each default flow's first prompt, then the prompt after an identifier.
fn forms() -> &'static [Form] {
    static FORMS: OnceLock<Vec<Form>> = OnceLock::new();
    FORMS.get_or_init(|| {
        let memory = MemoryPorts::new();
        let config = EngineConfig {
            hash: HashParams::insecure_for_tests(),
            ..EngineConfig::recommended()
        };
        let engine = Engine::new(config, memory.ports()).expect("an engine");
        let tenant = TenantId::default();
        let mut forms = Vec::new();
        for text in FLOWS {
            let flow = Flow::from_json(text).expect("a default flow parses");
            let program = Arc::new(flow_compiler::compile(&flow).expect("a default flow compiles"));
            let (id, outcome) = engine
                .start(&program, RequestContext::for_tenant(tenant.clone()))
                .expect("a default flow starts");
            let Outcome::Prompt(form) = outcome else {
                continue;
            };
            forms.push(form);
            let next = Submission::with_inputs([(FIELD_IDENTIFIER, "fuzz@example.com")]);
            if let Ok(Outcome::Prompt(form)) = engine.resume_in(&tenant, &id, next) {
                forms.push(form);
            }
        }
        forms
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let forms = forms();
    let form = &forms[usize::from(selector) % forms.len()];
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    match parse_response(form, body) {
        Ok(submission) => {
            assert_eq!(submission.action_id, None);
            let again: Map<String, Value> = submission
                .inputs
                .iter()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect();
            let reread = parse_response(form, again).expect("engine inputs read back");
            assert_eq!(submission, reread, "inputs changed when sent again");
        }
        // The field is the offending key as sent, which may be "" (the first long run's
        // artifact: `{"": {}}`).
        Err((_field, detail)) => {
            assert!(!detail.code.is_empty(), "an error without a code");
        }
    }
});
