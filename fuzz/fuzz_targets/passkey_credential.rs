//! Passkey credentials as clients send them (JSON, or base64url of it; with or without
//! `rawId`; WSO2's `{credential: ...}` wrapper): no input may panic, and a refused one is
//! always `credential_malformed` — the server's own checks (webauthn-rs) come after reading.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for read in flow_engine::fuzzing::passkey_credential(text) {
        match read {
            Ok(id) => assert!(!id.contains(['+', '/', '=']), "ids are base64url: {id}"),
            Err(code) => assert_eq!(code, "credential_malformed"),
        }
    }
});
