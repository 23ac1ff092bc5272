//! The `flowd` binary's subcommands, run as a process: distinct exit codes per kind of
//! failure (`docs/operating.md`), and `flows import DIR` all or nothing.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

/// Runs `flowd ARGS` in `dir` (no `flowd.toml` there) on the SQLite file `dir/flowd.db`.
fn flowd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowd"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("FLOWD_CONFIG")
        .env(
            "FLOWD_DATABASE_URL",
            format!("sqlite://{}", dir.join("flowd.db").display()),
        )
        .env("FLOWD_OUTBOX_DIR", dir.join("outbox"))
        .env("FLOWD_LOG", "error");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The default login flow under another name.
fn flow_named(name: &str) -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/flows/default-login.json"),
    )
    .unwrap();
    let mut flow: Value = serde_json::from_str(&text).unwrap();
    flow["name"] = json!(name);
    flow.as_object_mut().unwrap().remove("id");
    flow
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

#[test]
fn exit_codes_tell_the_kinds_of_failure_apart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    write(&dir.join("good.json"), &flow_named("good"));
    let mut invalid = flow_named("invalid");
    invalid["graph"]["edges"] = json!([]);
    write(&dir.join("invalid.json"), &invalid);
    std::fs::write(dir.join("broken.json"), "{not json").unwrap();
    std::fs::write(dir.join("not-a-flow.json"), "{\"name\": \"x\"}").unwrap();

    assert_eq!(
        code(&flowd(dir, &["flows", "validate", "good.json"], &[])),
        0
    );
    assert_eq!(
        code(&flowd(dir, &["flows", "validate", "invalid.json"], &[])),
        1
    );
    let missing = flowd(dir, &["flows", "validate", "missing.json"], &[]);
    assert_eq!(code(&missing), 3, "{}", stderr(&missing));
    assert!(stderr(&missing).contains("missing.json"));
    assert_eq!(
        code(&flowd(dir, &["flows", "validate", "broken.json"], &[])),
        3
    );
    assert_eq!(
        code(&flowd(dir, &["flows", "validate", "not-a-flow.json"], &[])),
        3
    );
    assert_eq!(
        code(&flowd(dir, &["flows", "import", "missing-dir"], &[])),
        3
    );
    // Usage errors keep clap's 2.
    assert_eq!(code(&flowd(dir, &["flows", "frobnicate"], &[])), 2);
    // Configuration.
    let bad_listen = flowd(dir, &["migrate"], &[("FLOWD_LISTEN", "not an address")]);
    assert_eq!(code(&bad_listen), 5, "{}", stderr(&bad_listen));
    let bad_scheme = flowd(
        dir,
        &["migrate"],
        &[("FLOWD_DATABASE_URL", "mysql://db/flowd")],
    );
    assert_eq!(code(&bad_scheme), 5, "{}", stderr(&bad_scheme));
    // The store does not answer (nothing listens on port 1).
    let down = flowd(
        dir,
        &["flows", "export", "good"],
        &[(
            "FLOWD_DATABASE_URL",
            "postgres://flowd@127.0.0.1:1/flowd?connect_timeout=2",
        )],
    );
    assert_eq!(code(&down), 6, "{}", stderr(&down));
    // Not found, then a conflict.
    assert_eq!(code(&flowd(dir, &["flows", "export", "good"], &[])), 7);
    assert_eq!(code(&flowd(dir, &["flows", "import", "good.json"], &[])), 0);
    let again = flowd(dir, &["flows", "import", "good.json"], &[]);
    assert_eq!(code(&again), 4, "{}", stderr(&again));
    assert_eq!(code(&flowd(dir, &["flows", "export", "good"], &[])), 0);
}

#[test]
fn a_directory_import_with_one_failing_file_imports_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    write(&dir.join("taken.json"), &flow_named("taken"));
    assert_eq!(
        code(&flowd(dir, &["flows", "import", "taken.json"], &[])),
        0
    );

    let flows = dir.join("flows");
    std::fs::create_dir(&flows).unwrap();
    write(&flows.join("a-new.json"), &flow_named("brand-new"));
    write(&flows.join("b-taken.json"), &flow_named("taken"));
    let output = flowd(dir, &["flows", "import", "flows"], &[]);
    assert_eq!(code(&output), 4, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("b-taken.json"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("nothing imported"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
    assert_eq!(code(&flowd(dir, &["flows", "export", "brand-new"], &[])), 7);

    // Every failing file is reported: a broken one and two files with one name.
    std::fs::write(flows.join("c-broken.json"), "[").unwrap();
    write(&flows.join("d-twin.json"), &flow_named("twin"));
    write(&flows.join("e-twin.json"), &flow_named("twin"));
    let output = flowd(dir, &["flows", "import", "flows"], &[]);
    let message = stderr(&output);
    assert_eq!(code(&output), 4, "{message}"); // the first failing file's kind (b-taken)
    for file in ["b-taken.json", "c-broken.json", "e-twin.json"] {
        assert!(message.contains(file), "{file} missing in {message}");
    }
    assert!(message.contains("3 of 5 files failed"), "{message}");
    assert_eq!(code(&flowd(dir, &["flows", "export", "twin"], &[])), 7);

    // Once every file is fine, all are imported in one go.
    for file in ["b-taken.json", "c-broken.json", "e-twin.json"] {
        std::fs::remove_file(flows.join(file)).unwrap();
    }
    let output = flowd(dir, &["flows", "import", "flows"], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("imported brand-new") && stdout.contains("imported twin"));
    assert_eq!(code(&flowd(dir, &["flows", "export", "twin"], &[])), 0);
}

/// `flowd users import FILE` imports the users of a JSON lines file (exit 9 when some lines
/// are refused, the others imported), runs again without harm, and `flowd users export` reads
/// them back; the exported file imports into another database, where the users sign in.
#[actix_web::test]
async fn users_import_and_export_from_the_command_line() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let vectors = crate::user_import::verifiable();
    let (bcrypt, keycloak) = (&vectors[5], &vectors[12]);
    assert_eq!(
        (bcrypt["name"].as_str(), keycloak["name"].as_str()),
        (Some("bcrypt-2b"), Some("keycloak-pbkdf2-sha256"))
    );
    let lines = [
        crate::user_import::line_of(bcrypt, "ann@example.com").to_string(),
        crate::user_import::line_of(keycloak, "bob@example.com").to_string(),
        json!({"identifier": "carol@example.com", "password_hash": "md5$salt$0123"}).to_string(),
    ];
    let file = dir.join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let imported = flowd(dir, &["users", "import", "users.jsonl"], &[]);
    assert_eq!(code(&imported), 9, "{}", stderr(&imported));
    let report: Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(
        (
            &report["created"],
            &report["failed"],
            &report["errors"][0]["code"]
        ),
        (&json!(2), &json!(1), &json!("password_hash_unsupported")),
        "{report}"
    );
    let again = flowd(dir, &["users", "import", "users.jsonl"], &[]);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (&report["created"], &report["existing"]),
        (&json!(0), &json!(2))
    );

    let missing = flowd(dir, &["users", "import", "nowhere.jsonl"], &[]);
    assert_eq!(code(&missing), 3, "{}", stderr(&missing));

    let plain = flowd(dir, &["users", "export"], &[]);
    assert_eq!(code(&plain), 0, "{}", stderr(&plain));
    let text = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(!text.contains("password_hash"), "{text}");
    let out = flowd(
        dir,
        &["users", "export", "--password-hashes", "-o", "out.jsonl"],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let exported = std::fs::read_to_string(dir.join("out.jsonl")).unwrap();
    assert!(exported.contains("$2b$06$"), "{exported}");

    // Into another database: the users sign in there with their old passwords.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("out.jsonl"), other.path().join("out.jsonl")).unwrap();
    let moved = flowd(other.path(), &["users", "import", "out.jsonl"], &[]);
    assert_eq!(code(&moved), 0, "{}", stderr(&moved));
    let server =
        crate::support::TestServer::start_in(other.path(), Some(crate::support::TOKEN)).await;
    for (identifier, vector) in [("ann@example.com", bcrypt), ("bob@example.com", keycloak)] {
        let done =
            crate::users::sign_in(&server, identifier, vector["password"].as_str().unwrap()).await;
        assert_eq!(done["flowStatus"], "COMPLETE", "{identifier}: {done}");
    }
}
