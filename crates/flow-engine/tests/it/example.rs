//! Runs the `embedded_login` example's code path with cheap argon2 parameters.

#[allow(dead_code)]
#[path = "../../examples/embedded_login.rs"]
mod embedded_login;

#[test]
fn the_embedded_login_example_works() {
    let signed = embedded_login::run(crate::common::test_config()).unwrap();
    assert_eq!(signed.registered, signed.signed_in);
    assert_eq!(signed.methods, vec!["password".to_owned()]);
}
