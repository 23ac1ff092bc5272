//! WSO2 execute request bodies: bytes → JSON object → `ExecuteRequest`, exactly as the
//! handler reads them. No input may panic; a refused body is a 4xx error with a `FE-6xxxx`
//! code; an accepted one written back reads as the same request.
#![no_main]

use flow_wso2_api::fuzzing::execute_body;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match execute_body(data) {
        Ok(object) => {
            let text = serde_json::to_vec(&object).expect("an object serialises");
            let again = execute_body(&text).expect("a written request reads back");
            assert_eq!(
                object, again,
                "parse → serialise → parse changed the request"
            );
            if let Some(flow_type) = object.get("flowType").and_then(|value| value.as_str()) {
                if let Some(engine_type) = flow_wso2_api::engine_flow_type(flow_type) {
                    let wso2 = flow_wso2_api::wso2_flow_type(engine_type);
                    assert_eq!(flow_wso2_api::engine_flow_type(&wso2), Some(engine_type));
                }
            }
            if let Some(flow_id) = object.get("flowId").and_then(|value| value.as_str()) {
                if let Some(id) = flow_engine::ExecutionId::parse(flow_id) {
                    let shown = id.to_string();
                    assert_eq!(flow_engine::ExecutionId::parse(&shown), Some(id));
                }
            }
        }
        Err(error) => {
            assert!(error.code().starts_with("FE-6"), "code {}", error.code());
            let status = error.to_response(None).status();
            assert!(status.is_client_error(), "a body mistake answered {status}");
        }
    }
});
