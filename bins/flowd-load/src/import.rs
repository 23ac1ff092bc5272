//! The `import` scenario: users with a password hash of another system are imported through
//! the admin API (one request of JSON lines), then signed in twice over the WSO2 API: the
//! first sign-in verifies the imported hash and re-makes it with argon2id, the second verifies
//! flowd's own hash.

use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::journeys::PASSWORD;

/// Which hash the imported users bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ImportedHash {
    /// bcrypt, cost 10 (`$2b$10$…`, the default of most bcrypt libraries).
    Bcrypt,
    /// Django 5.2's default: PBKDF2-HMAC-SHA256 with 1,000,000 iterations.
    Pbkdf2,
    /// argon2id with the server's parameters (nothing to re-hash).
    Argon2id,
}

/// The hash of the load test's password in `kind`, with the server's argon2id `cost`.
pub(crate) fn hash_of(kind: ImportedHash, cost: crate::verify::HashCost) -> Result<String, String> {
    let salt = *b"flowd-load-salt!";
    match kind {
        ImportedHash::Bcrypt => bcrypt::hash_with_salt(PASSWORD, 10, salt)
            .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
            .map_err(|error| format!("bcrypt: {error}")),
        ImportedHash::Pbkdf2 => {
            let iterations = 1_000_000;
            let mut output = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                PASSWORD.as_bytes(),
                &salt,
                iterations,
                &mut output,
            );
            let salt = String::from_utf8_lossy(&salt);
            let hash = base64::engine::general_purpose::STANDARD.encode(output);
            Ok(format!("pbkdf2_sha256${iterations}${salt}${hash}"))
        }
        ImportedHash::Argon2id => crate::verify::argon2id_hash(cost, PASSWORD, &salt),
    }
}

/// The import body: `users` lines for identifiers `{prefix}-{index}@example.com`.
pub(crate) fn body(prefix: &str, users: usize, hash: &str) -> String {
    let mut body = String::with_capacity(users * (hash.len() + 80));
    for index in 0..users {
        let line = serde_json::json!({
            "identifier": identifier(prefix, index),
            "password_hash": hash,
            "attributes": {"source": "flowd-load"},
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    body
}

/// The identifier of imported user `index`.
pub(crate) fn identifier(prefix: &str, index: usize) -> String {
    format!("{prefix}-{index}@example.com")
}

/// Posts the import; the report and how long it took.
pub(crate) async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: String,
) -> Result<(serde_json::Value, Duration), String> {
    let started = Instant::now();
    let response = client
        .post(format!("{url}/api/admin/users/import"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .map_err(|error| format!("import: {error}"))?;
    let status = response.status();
    let report: serde_json::Value = response
        .json()
        .await
        .map_err(|error| format!("import answer: {error}"))?;
    if !status.is_success() {
        return Err(format!("import answered {status}: {report}"));
    }
    Ok((report, started.elapsed()))
}
