//! Stored execution records: `executions.body` as flow-store decodes it on every resume. No
//! input may panic; a record that decodes, encoded again, decodes to the same execution, and
//! its encoding is stable; a format this version does not know is refused.
#![no_main]

use flow_store::fuzzing::{decode_execution, encode_execution};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(execution) = decode_execution(2, body) else {
        return;
    };
    // Format 1 (the program inline) is still read; both read the same body the same way.
    assert_eq!(
        decode_execution(1, body).as_ref().ok(),
        Some(&execution),
        "the two readable formats disagree"
    );
    assert!(
        decode_execution(3, body).is_err(),
        "an unknown format decoded"
    );
    let (format, encoded) = encode_execution(&execution).expect("an execution encodes");
    let again = decode_execution(format, &encoded).expect("an encoded execution decodes");
    assert_eq!(
        execution, again,
        "decode → encode → decode changed the execution"
    );
    let (_, twice) = encode_execution(&again).expect("encodes again");
    assert_eq!(encoded, twice, "the encoding is not stable");
});
