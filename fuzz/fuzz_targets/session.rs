//! Session data the authentik executor reads: the session state (the string map that the
//! cookie or Redis store hands to actix-session, values being JSON texts) read through
//! `FlowSession`. No state may panic; whatever is read, a plan set is read back, a plan
//! cleared is gone, and a signed-in user written reads back as written.
#![no_main]

use std::collections::HashMap;

use actix_session::SessionExt;
use actix_web::test::TestRequest;
use flow_authentik_api::session::{FlowSession, SignedIn};
use flow_engine::ExecutionId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(state) = serde_json::from_slice::<HashMap<String, String>>(data) else {
        return;
    };
    let request = TestRequest::default().to_srv_request();
    let session = request.get_session();
    // The store hands actix-session a map of JSON texts; `insert` of a raw JSON value puts
    // the text there unchanged (a text that is not JSON would fail every read anyway).
    for (key, text) in state {
        if let Ok(raw) = serde_json::value::RawValue::from_string(text) {
            session.insert(key, raw).expect("a raw value is stored");
        }
    }
    let flows = FlowSession::new(&session);

    for slug in ["default-login", "default-registration", ""] {
        let _ = flows.plan(slug);
    }
    let signed_in = flows.signed_in();

    let id = ExecutionId::from_random_bytes([7; 16]);
    flows.set_plan("fuzz-flow", id).expect("a plan is stored");
    assert_eq!(
        flows.plan("fuzz-flow"),
        Some(id),
        "a plan set is not read back"
    );
    flows.clear_plan("fuzz-flow").expect("a plan is cleared");
    assert_eq!(
        flows.plan("fuzz-flow"),
        None,
        "a cleared plan is still there"
    );

    let user = signed_in.unwrap_or_else(|| SignedIn {
        user_id: "usr_fuzz".to_owned(),
        methods: vec!["pwd".to_owned()],
        at: 0,
        flow: "default-login".to_owned(),
    });
    flows.sign_in(&user).expect("a user signs in");
    assert_eq!(flows.signed_in(), Some(user), "the signed-in user changed");
    flows.clear_plans();
});
