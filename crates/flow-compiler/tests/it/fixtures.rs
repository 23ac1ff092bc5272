//! The default flows in `fixtures/flows/` compile, and what they compile to.

use flow_compiler::{Completion, Op, compile};
use flow_model::Flow;

fn default_flow(name: &str) -> Flow {
    let path = format!(
        "{}/../../fixtures/flows/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Flow::from_json(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn default_login_compiles_as_documented() {
    let program = compile(&default_flow("default-login")).expect("valid");
    let listing = program.to_string();
    let documented = include_str!("../../../../docs/flow-model.md");
    assert!(
        documented.contains(&listing),
        "docs/flow-model.md does not show:\n{listing}"
    );
}

#[test]
fn every_default_flow_compiles_linearly_to_its_completion() {
    let cases = [
        ("default-login", Completion::Authenticate, true),
        ("default-registration", Completion::CreateUser, true),
        ("default-invited-registration", Completion::CreateUser, true),
        (
            "default-password-recovery",
            Completion::UpdatePassword,
            false,
        ),
        ("default-mfa-setup", Completion::StoreFactor, false),
    ];
    for (name, expected_completion, expected_sign_in) in cases {
        let program =
            compile(&default_flow(name)).unwrap_or_else(|report| panic!("{name}: {report}"));
        assert!(
            !program
                .steps
                .iter()
                .any(|step| matches!(step.op, Op::Jump { .. })),
            "{name} needs no jumps:\n{program}"
        );
        let last = &program.steps.last().expect("steps").op;
        assert!(
            matches!(last, Op::Succeed { completion, sign_in, .. } if *completion == expected_completion && *sign_in == expected_sign_in),
            "{name} ends with {last:?}"
        );
    }
}

#[test]
fn password_recovery_sends_a_code_then_checks_it_then_sets_the_password() {
    let program = compile(&default_flow("default-password-recovery")).expect("valid");
    let ops: Vec<&str> = program.steps.iter().map(|step| step.op.name()).collect();
    assert_eq!(
        ops,
        [
            "identify_user",
            "send_email",
            "verify_otp",
            "set_password",
            "succeed"
        ]
    );
}
