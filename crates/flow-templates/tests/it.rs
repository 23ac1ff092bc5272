//! Integration tests of flow-templates: every shipped template in every language, today's
//! English wording, locale and template fallbacks, HTML escaping, overrides and their errors,
//! SMS lengths.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use flow_engine::{OutgoingMessage, TenantId};
use flow_templates::{
    ALIASES, GENERIC_TEMPLATE, SHIPPED_LANGUAGES, SHIPPED_TEMPLATES, TemplateError, Templates,
};

const CODE: &str = "493817";
const LINK: &str = "https://id.example.com/register?flowType=INVITED_USER_REGISTRATION&confirmationCode=0123456789abcdef0123456789abcdef";

fn message(
    template: &str,
    code: Option<&str>,
    link: Option<&str>,
    locale: Option<&str>,
) -> OutgoingMessage {
    OutgoingMessage {
        tenant: TenantId::default(),
        template: template.to_owned(),
        to: "ada@example.com".to_owned(),
        code: code.map(str::to_owned),
        link: link.map(str::to_owned),
        execution_id: None,
        locale: locale.map(str::to_owned),
    }
}

fn write(dir: &Path, file: &str, text: &[u8]) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn every_shipped_template_renders_in_every_language_with_and_without_code_and_link() {
    let templates = Templates::shipped();
    for language in SHIPPED_LANGUAGES {
        for template in SHIPPED_TEMPLATES {
            for (code, link) in [
                (Some(CODE), Some(LINK)),
                (Some(CODE), None),
                (None, Some(LINK)),
                (None, None),
            ] {
                let case = format!("{language}/{template} code={code:?} link={link:?}");
                let message = message(template, code, link, Some(language));
                let mail = templates.render_mail(&message).unwrap();
                let sms = templates.render_sms(&message).unwrap();
                assert!(
                    !mail.subject.is_empty() && !mail.subject.contains('\n'),
                    "{case}"
                );
                assert!(
                    !mail.text.trim().is_empty() && mail.text.ends_with('\n'),
                    "{case}: {}",
                    mail.text
                );
                assert!(
                    !mail.text.starts_with('\n') && !mail.text.contains("\n\n\n"),
                    "{case}:\n{}",
                    mail.text
                );
                assert!(
                    mail.html.contains(&format!("<html lang=\"{language}\">")),
                    "{case}"
                );
                assert!(mail.html.trim_end().ends_with("</html>"), "{case}");
                assert!(!sms.is_empty() && sms == sms.trim(), "{case}: {sms:?}");
                let html = mail.html.replace("text-decoration: none", "");
                for text in [&mail.subject, &mail.text, &html, &sms] {
                    assert!(
                        !text.contains("none") && !text.contains("{{") && !text.contains("{%"),
                        "{case}: {text}"
                    );
                }
                for text in [&mail.text, &sms] {
                    let glued = text
                        .as_bytes()
                        .windows(2)
                        .any(|pair| b".:".contains(&pair[0]) && pair[1].is_ascii_uppercase());
                    assert!(!glued, "{case}: two sentences run together: {text}");
                }
                if code.is_some() {
                    assert!(mail.text.contains(CODE), "{case}");
                    assert!(mail.html.contains(CODE), "{case}");
                    assert!(sms.contains(CODE), "{case}");
                } else {
                    assert!(!mail.text.contains(CODE) && !sms.contains(CODE), "{case}");
                }
                if link.is_some() {
                    assert!(mail.text.contains(&format!("\n{LINK}\n")), "{case}");
                    let escaped = LINK.replace('&', "&amp;");
                    assert!(mail.html.contains(&format!("href=\"{escaped}\"")), "{case}");
                    assert!(
                        !mail.html.contains(LINK),
                        "{case}: an unescaped & in the HTML"
                    );
                    assert!(sms.contains(LINK), "{case}");
                } else {
                    assert!(
                        !mail.text.contains("https://") && !mail.html.contains("href="),
                        "{case}"
                    );
                }
            }
        }
    }
}

#[test]
fn german_is_german_and_english_is_english() {
    let templates = Templates::shipped();
    for template in SHIPPED_TEMPLATES
        .iter()
        .filter(|name| **name != GENERIC_TEMPLATE)
    {
        let en = templates
            .render_mail(&message(template, Some(CODE), Some(LINK), Some("en")))
            .unwrap();
        let de = templates
            .render_mail(&message(template, Some(CODE), Some(LINK), Some("de")))
            .unwrap();
        assert_ne!(en.subject, de.subject, "{template}");
        assert_ne!(en.text, de.text, "{template}");
        assert!(de.text.contains("Sie"), "{template}: {}", de.text);
    }
}

/// The English texts are those flowd sent before templates, word for word (tests of the
/// server and the docs' examples look for these phrases).
#[test]
fn the_english_wording_is_kept() {
    let templates = Templates::shipped();
    let code_text = format!(
        "Your code is: {CODE}\n\nEnter it where you asked for it. It can be used once and \
         expires soon.\nIf you did not ask for this code, you can ignore this message.\n"
    );
    for (template, subject) in [
        ("password_reset_code", "Your password reset code"),
        ("email_verification_code", "Your verification code"),
        ("verification_code", "Your verification code"),
        ("login_code", "Your sign-in code"),
        ("sign_in_code", "Your sign-in code"),
    ] {
        let mail = templates
            .render_mail(&message(template, Some(CODE), None, None))
            .unwrap();
        assert_eq!(mail.subject, subject, "{template}");
        assert_eq!(mail.text, code_text, "{template}");
    }

    let invitation = templates
        .render_mail(&message("invitation", Some("0123abcd"), Some(LINK), None))
        .unwrap();
    assert_eq!(invitation.subject, "You are invited to create an account");
    assert_eq!(
        invitation.text,
        format!(
            "You have been invited to create an account.\n\nOpen this link to accept the \
             invitation:\n{LINK}\n\nOr enter this invitation code where you are asked for it: \
             0123abcd\n\nThe invitation can be used once and expires. If you did not expect \
             it, you can ignore this message.\n"
        )
    );

    let link = "http://127.0.0.1/if/flow/default-password-recovery/";
    let recovery = templates
        .render_mail(&message("password_recovery_link", None, Some(link), None))
        .unwrap();
    assert_eq!(recovery.subject, "Reset your password");
    assert_eq!(
        recovery.text,
        format!(
            "An administrator asked you to choose a new password.\n\nOpen this link, enter the \
             e-mail address or username you sign in with and the code we then send you, and \
             choose a new password:\n{link}\n\nUntil you do, your current password keeps \
             working. If you did not expect this message, you can ignore it.\n"
        )
    );
    assert!(!recovery.text.contains("Your code is") && !recovery.html.contains("Your code is"));

    // Any other name: the generic template, its subject made from the name.
    let welcome = templates
        .render_mail(&message("welcome_mail", None, None, None))
        .unwrap();
    assert_eq!(welcome.subject, "Welcome mail");
    assert_eq!(welcome.text, "Welcome mail\n");
    let linked = templates
        .render_mail(&message("account-notice", None, Some(LINK), None))
        .unwrap();
    assert_eq!(linked.subject, "Account notice");
    assert_eq!(linked.text, format!("Account notice\n\n{LINK}\n"));
    let coded = templates
        .render_mail(&message("otp", Some(CODE), None, None))
        .unwrap();
    assert_eq!(coded.subject, "Otp");
    assert_eq!(coded.text, code_text);
}

#[test]
fn the_locale_picks_the_language_with_english_last() {
    let templates = Templates::shipped();
    let subject = |locale: Option<&str>| {
        templates
            .render_mail(&message("password_reset_code", Some(CODE), None, locale))
            .unwrap()
            .subject
    };
    let german = "Ihr Code zum Zurücksetzen des Passworts";
    let english = "Your password reset code";
    for locale in ["de", "de-CH", "de_AT", "DE-de", "de-CH-1996"] {
        assert_eq!(subject(Some(locale)), german, "{locale}");
    }
    for locale in ["en", "en-GB", "fr", "fr-CH", "*", "", "../de", "de\n"] {
        let expected = if locale == "de\n" { german } else { english };
        assert_eq!(subject(Some(locale)), expected, "{locale:?}");
    }
    assert_eq!(subject(None), english);
    let sms = templates
        .render_sms(&message("login_code", Some(CODE), None, Some("de-CH")))
        .unwrap();
    assert_eq!(
        sms,
        format!(
            "Ihr flowd-Anmeldecode lautet {CODE}. Er ist einmal gültig. Geben Sie ihn nicht weiter."
        )
    );
}

#[test]
fn unknown_templates_fall_back_to_the_generic_one_in_the_language() {
    let templates = Templates::shipped();
    let mail = templates
        .render_mail(&message(
            "no_such_template",
            Some(CODE),
            None,
            Some("de-CH"),
        ))
        .unwrap();
    assert_eq!(mail.subject, "Ihr Code");
    assert!(
        mail.text.starts_with(&format!("Ihr Code lautet: {CODE}\n")),
        "{}",
        mail.text
    );
    let sms = templates
        .render_sms(&message("no_such_template", Some(CODE), None, None))
        .unwrap();
    assert_eq!(
        sms,
        format!("Your flowd code is {CODE}. It can be used once. Do not share it.")
    );
    let plain = templates
        .render_sms(&message("account_deleted", None, None, None))
        .unwrap();
    assert_eq!(plain, "Account deleted");
    for (alias, target) in ALIASES {
        let alias = templates
            .render_mail(&message(alias, Some(CODE), None, Some("de")))
            .unwrap();
        let target = templates
            .render_mail(&message(target, Some(CODE), None, Some("de")))
            .unwrap();
        assert_eq!(alias, target);
    }
}

#[test]
fn html_escapes_a_hostile_link_and_recipient_and_text_does_not() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/invitation.html",
        b"<p>For {{ to }}: <a href=\"{{ link }}\">{{ link }}</a> {{ code }}</p>\n",
    );
    let templates = Templates::with_overrides(dir.path()).unwrap();
    let hostile_link = "https://x.example/?a=1&b=\"><script>alert(1)</script>";
    let mut hostile = message("invitation", Some("<b>1</b>"), Some(hostile_link), None);
    hostile.to = "\"<img src=x onerror=alert(1)>\"@example.com".to_owned();
    let mail = templates.render_mail(&hostile).unwrap();
    assert_eq!(
        mail.html,
        "<p>For &quot;&lt;img src=x onerror=alert(1)&gt;&quot;@example.com: <a \
         href=\"https://x.example/?a=1&amp;b=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">\
         https://x.example/?a=1&amp;b=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a> \
         &lt;b&gt;1&lt;/b&gt;</p>\n"
    );
    assert!(mail.text.contains(hostile_link), "{}", mail.text);
    // The shipped HTML escapes the same way.
    let shipped = Templates::shipped().render_mail(&hostile).unwrap();
    assert!(
        !shipped.html.contains("<script>") && !shipped.html.contains("<b>1"),
        "{}",
        shipped.html
    );
    assert!(
        shipped
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

#[test]
fn an_override_replaces_one_file_and_adds_templates_and_languages() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/invitation.txt",
        b"Welcome aboard, {{ to }}!\n{% if link %}{{ link }}\n{% endif %}",
    );
    write(dir.path(), "en/welcome.subject.txt", b"Welcome\n");
    write(dir.path(), "en/welcome.txt", b"Hello {{ to }}.\n");
    write(dir.path(), "en/welcome.html", b"<p>Hello {{ to }}.</p>\n");
    write(
        dir.path(),
        "fr/login_code.subject.txt",
        b"Votre code de connexion\n",
    );
    write(
        dir.path(),
        "fr/login_code.txt",
        b"Votre code : {{ code }}\n",
    );
    write(
        dir.path(),
        "fr/login_code.html",
        b"<p>Votre code : {{ code }}</p>\n",
    );
    write(
        dir.path(),
        "fr/login_code.sms.txt",
        b"Code flowd : {{ code }}",
    );
    write(
        dir.path(),
        "de-CH/login_code.sms.txt",
        "Grüezi, Ihr Code: {{ code }}".as_bytes(),
    );
    let templates = Templates::with_overrides(dir.path()).unwrap();
    assert!(templates.ignored().is_empty(), "{:?}", templates.ignored());

    let invitation = templates
        .render_mail(&message("invitation", Some(CODE), Some(LINK), None))
        .unwrap();
    assert_eq!(
        invitation.text,
        format!("Welcome aboard, ada@example.com!\n{LINK}\n")
    );
    // The other files of the template stay the shipped ones, and so does German.
    assert_eq!(invitation.subject, "You are invited to create an account");
    assert!(invitation.html.contains("Accept the invitation"));
    let german = templates
        .render_mail(&message("invitation", Some(CODE), Some(LINK), Some("de")))
        .unwrap();
    assert!(german.text.starts_with("Sie wurden eingeladen"));

    // A new template (English only): German readers get it in English, not the generic one.
    for locale in [None, Some("de")] {
        let welcome = templates
            .render_mail(&message("welcome", None, None, locale))
            .unwrap();
        assert_eq!(
            (welcome.subject.as_str(), welcome.text.as_str()),
            ("Welcome", "Hello ada@example.com.\n")
        );
    }
    // A new language; a regional SMS override.
    let french = templates
        .render_mail(&message("login_code", Some(CODE), None, Some("fr-BE")))
        .unwrap();
    assert_eq!(french.text, format!("Votre code : {CODE}\n"));
    assert_eq!(
        templates
            .render_sms(&message("login_code", Some(CODE), None, Some("fr")))
            .unwrap(),
        format!("Code flowd : {CODE}")
    );
    assert_eq!(
        templates
            .render_sms(&message("login_code", Some(CODE), None, Some("de-ch")))
            .unwrap(),
        format!("Grüezi, Ihr Code: {CODE}")
    );
    let swiss_mail = templates
        .render_mail(&message("login_code", Some(CODE), None, Some("de-CH")))
        .unwrap();
    assert_eq!(swiss_mail.subject, "Ihr Anmeldecode");
    assert!(
        templates
            .render_sms(&message("login_code", Some(CODE), None, Some("de-DE")))
            .unwrap()
            .starts_with("Ihr flowd-Anmeldecode")
    );
}

#[test]
fn an_override_of_the_generic_template_and_of_an_alias() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/generic.subject.txt",
        b"[Example] {{ template }}",
    );
    write(
        dir.path(),
        "en/sign_in_code.sms.txt",
        b"Sign in with {{ code }}",
    );
    let templates = Templates::with_overrides(dir.path()).unwrap();
    assert_eq!(
        templates
            .render_mail(&message("anything", None, None, None))
            .unwrap()
            .subject,
        "[Example] anything"
    );
    assert_eq!(
        templates
            .render_sms(&message("sign_in_code", Some(CODE), None, None))
            .unwrap(),
        format!("Sign in with {CODE}")
    );
    // The alias's own template exists for SMS only: its mail is still the aliased one.
    assert_eq!(
        templates
            .render_mail(&message("sign_in_code", Some(CODE), None, None))
            .unwrap()
            .subject,
        "Your sign-in code"
    );
}

#[test]
fn a_template_that_does_not_parse_stops_loading_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "de/invitation.html",
        b"<p>Hallo</p>\n<p>{% if link %}{{ link }}</p>\n",
    );
    let error = Templates::with_overrides(dir.path()).unwrap_err();
    assert_eq!(error.code(), "template_syntax");
    let file = dir.path().join("de/invitation.html").display().to_string();
    assert_eq!(error.file(), file);
    let shown = error.to_string();
    assert!(
        shown.starts_with(&format!("template_syntax: {file}")),
        "{shown}"
    );
    assert!(matches!(error, TemplateError::Syntax { .. }), "{error:?}");
}

#[test]
fn a_typo_in_a_variable_or_filter_stops_loading_naming_the_file_and_line() {
    for (source, what) in [
        ("Your code is: {{ cdoe }}\n", "cdoe"),
        (
            "Line one\n{% if code %}{{ code | shout }}{% endif %}\n",
            "shout",
        ),
        ("{% if lnik %}x{% endif %}\n", "lnik"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/login_code.txt", source.as_bytes());
        let error = Templates::with_overrides(dir.path()).unwrap_err();
        assert_eq!(error.code(), "template_check", "{what}: {error}");
        assert!(error.to_string().contains(what), "{error}");
        assert_eq!(
            error.file(),
            dir.path().join("en/login_code.txt").display().to_string()
        );
        let TemplateError::Check { line, .. } = &error else {
            panic!("{error:?}")
        };
        assert!(line.is_some(), "{what}: {error}");
    }
}

#[test]
fn a_new_mail_template_needs_all_three_parts() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "en/welcome.txt", b"Hello\n");
    write(dir.path(), "en/welcome.html", b"<p>Hello</p>\n");
    let error = Templates::with_overrides(dir.path()).unwrap_err();
    assert_eq!(error.code(), "template_incomplete");
    assert_eq!(
        error.file(),
        dir.path()
            .join("en/welcome.subject.txt")
            .display()
            .to_string()
    );
    // An SMS-only template is complete.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "en/otp.sms.txt", b"{{ code }} is your code");
    let templates = Templates::with_overrides(dir.path()).unwrap();
    assert_eq!(
        templates
            .render_sms(&message("otp", Some(CODE), None, None))
            .unwrap(),
        format!("{CODE} is your code")
    );
    assert_eq!(
        templates
            .render_mail(&message("otp", Some(CODE), None, None))
            .unwrap()
            .subject,
        "Otp"
    );
}

#[test]
fn files_that_are_not_templates_are_listed_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "README.md", b"notes");
    write(dir.path(), ".git/config", b"x");
    write(dir.path(), "en/.invitation.txt.swp", b"\0\0");
    write(dir.path(), "en/invitation.txt~", b"backup");
    write(dir.path(), "en/partials/footer.txt", b"x");
    write(dir.path(), "layouts/base.html", b"x");
    let templates = Templates::with_overrides(dir.path()).unwrap();
    let ignored: Vec<String> = templates
        .ignored()
        .iter()
        .map(|path| path.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        ignored,
        ["README.md", "en/invitation.txt~", "en/partials", "layouts"]
    );
    assert!(Templates::shipped().ignored().is_empty());
}

#[test]
fn an_unreadable_directory_or_a_binary_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let error = Templates::with_overrides(&missing).unwrap_err();
    assert_eq!(error.code(), "templates_unreadable");
    assert_eq!(error.file(), missing.display().to_string());

    write(dir.path(), "en/login_code.txt", b"Code \xff\xfe {{ code }}");
    let error = Templates::with_overrides(dir.path()).unwrap_err();
    assert_eq!(error.code(), "template_not_utf8");
    assert_eq!(
        error.file(),
        dir.path().join("en/login_code.txt").display().to_string()
    );
}

#[test]
fn a_failure_at_send_time_names_the_file_but_not_the_values() {
    let dir = tempfile::tempdir().unwrap();
    // Passes the start-up check (its sample code is another), fails for this one code.
    write(
        dir.path(),
        "en/login_code.txt",
        b"{% if code == \"999999\" %}{{ nope }}{% endif %}{{ code }}\n",
    );
    let templates = Templates::with_overrides(dir.path()).unwrap();
    assert!(
        templates
            .render_mail(&message("login_code", Some(CODE), None, None))
            .is_ok()
    );
    let error = templates
        .render_mail(&message("login_code", Some("999999"), Some(LINK), None))
        .unwrap_err();
    assert_eq!(error.code(), "template_render");
    assert_eq!(
        error.file(),
        dir.path().join("en/login_code.txt").display().to_string()
    );
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains("999999") && !shown.contains(LINK),
        "{shown}"
    );
}

#[test]
fn a_code_sms_fits_one_message() {
    let templates = Templates::shipped();
    for language in SHIPPED_LANGUAGES {
        for template in SHIPPED_TEMPLATES
            .iter()
            .copied()
            .chain(["otp", "anything_else"])
        {
            let sms = templates
                .render_sms(&message(template, Some(CODE), None, Some(language)))
                .unwrap();
            assert!(
                sms.chars().count() <= 160,
                "{language}/{template}: {} characters: {sms}",
                sms.chars().count()
            );
            // GSM 03.38 letters only, so that one message holds 160 characters, not 70.
            assert!(
                sms.chars().all(|c| c.is_ascii() || "äöüÄÖÜß".contains(c)),
                "{language}/{template}: {sms}"
            );
        }
    }
}

#[test]
fn mail_subjects_are_one_line_and_rendered_mails_do_not_debug_print_the_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/login_code.subject.txt",
        b"  Your\ncode\r\n\tis {{ code }}  \n\n",
    );
    let templates = Templates::with_overrides(dir.path()).unwrap();
    let mail = templates
        .render_mail(&message("login_code", Some(CODE), None, None))
        .unwrap();
    assert_eq!(mail.subject, format!("Your code is {CODE}"));
    let shown = format!(
        "{:?}",
        templates
            .render_mail(&message("login_code", Some("112233"), None, None))
            .unwrap()
    );
    assert!(
        !shown.contains("Your code is: 112233") && shown.contains("RenderedMail"),
        "{shown}"
    );
}
