//! The shipped templates, compiled into the binary: every file under `templates/`.

/// One shipped file.
macro_rules! shipped {
    ($($lang:literal / $file:literal),* $(,)?) => {
        &[$((
            concat!($lang, "/", $file),
            include_str!(concat!("../templates/", $lang, "/", $file)),
        )),*]
    };
}

/// `(lang/file, source)` of every shipped template file (a test checks that this list and the
/// `templates/` directory agree).
pub(crate) const FILES: &[(&str, &str)] = shipped![
    "de" / "generic.html",
    "de" / "generic.sms.txt",
    "de" / "generic.subject.txt",
    "de" / "generic.txt",
    "de" / "invitation.html",
    "de" / "invitation.sms.txt",
    "de" / "invitation.subject.txt",
    "de" / "invitation.txt",
    "de" / "login_code.html",
    "de" / "login_code.sms.txt",
    "de" / "login_code.subject.txt",
    "de" / "login_code.txt",
    "de" / "password_recovery_link.html",
    "de" / "password_recovery_link.sms.txt",
    "de" / "password_recovery_link.subject.txt",
    "de" / "password_recovery_link.txt",
    "de" / "password_reset_code.html",
    "de" / "password_reset_code.sms.txt",
    "de" / "password_reset_code.subject.txt",
    "de" / "password_reset_code.txt",
    "de" / "verification_code.html",
    "de" / "verification_code.sms.txt",
    "de" / "verification_code.subject.txt",
    "de" / "verification_code.txt",
    "en" / "generic.html",
    "en" / "generic.sms.txt",
    "en" / "generic.subject.txt",
    "en" / "generic.txt",
    "en" / "invitation.html",
    "en" / "invitation.sms.txt",
    "en" / "invitation.subject.txt",
    "en" / "invitation.txt",
    "en" / "login_code.html",
    "en" / "login_code.sms.txt",
    "en" / "login_code.subject.txt",
    "en" / "login_code.txt",
    "en" / "password_recovery_link.html",
    "en" / "password_recovery_link.sms.txt",
    "en" / "password_recovery_link.subject.txt",
    "en" / "password_recovery_link.txt",
    "en" / "password_reset_code.html",
    "en" / "password_reset_code.sms.txt",
    "en" / "password_reset_code.subject.txt",
    "en" / "password_reset_code.txt",
    "en" / "verification_code.html",
    "en" / "verification_code.sms.txt",
    "en" / "verification_code.subject.txt",
    "en" / "verification_code.txt",
];
