//! Password hashes made by other systems, for migrations. An import reads them in the
//! encodings operators bring (PHC strings, bcrypt's modular crypt format, Django's and
//! Keycloak's), refuses what flowd cannot verify or what would cost too much to verify, and
//! stores one canonical form; a sign-in verifies that form, and the password step then re-makes
//! the hash with flowd's argon2id parameters.
//!
//! Canonical forms: argon2 and scrypt and PBKDF2 as PHC strings (`$argon2id$…`, `$scrypt$…`,
//! `$pbkdf2-sha256$i=…`, `$pbkdf2-sha512$i=…`), bcrypt as `$2a$`/`$2b$`/`$2y$`, and Django's
//! `bcrypt_sha256$$2b$…` (bcrypt of the hex SHA-256 of the password) as it is.

use argon2::PasswordHash;
use argon2::password_hash::phc::{Ident, Output, ParamsString, Salt};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest as _, Sha256, Sha512};

// The limits keep one verification of an imported hash to about a second of one core on
// this machine, whatever the scheme: each sign-in attempt (a wrong password too) pays it once,
// holding one of the few hashing slots.

/// The lowest bcrypt cost (the algorithm's own minimum).
pub(crate) const MIN_BCRYPT_COST: u32 = 4;
/// The highest bcrypt cost accepted (2^14 rounds: about a second).
pub(crate) const MAX_BCRYPT_COST: u32 = 14;
/// The most PBKDF2 work accepted: iterations times output blocks (a 64-byte SHA-256 key is
/// two blocks). Django 5.2 uses 1,000,000 iterations of one block; Keycloak 27,500 of two
/// (SHA-256) or 210,000 of one (SHA-512).
pub(crate) const MAX_PBKDF2_WORK: u64 = 5_000_000;
/// The most scrypt memory accepted, `128 · r · 2^ln` bytes: 256 MiB.
pub(crate) const MAX_SCRYPT_BYTES: u64 = 256 << 20;
/// The most scrypt work accepted, `128 · r · 2^ln · p` bytes mixed: 512 MiB (Django's
/// default is 80 MiB).
pub(crate) const MAX_SCRYPT_WORK: u64 = 512 << 20;
/// The most argon2 memory accepted, in KiB: 256 MiB.
pub(crate) const MAX_ARGON2_MEMORY_KIB: u32 = 256 << 10;
/// The most argon2 work accepted, memory in KiB times passes (1 GiB filled; Django's default
/// is 200 MiB, flowd's own 38 MiB).
pub(crate) const MAX_ARGON2_WORK: u64 = 1 << 20;
/// The most argon2 lanes accepted.
pub(crate) const MAX_ARGON2_PARALLELISM: u32 = 16;

/// Schemes that are named in the report when refused (any other text before a `$` may be a
/// password typed into the wrong column, and is not echoed).
const KNOWN_SCHEMES: [&str; 14] = [
    "md5",
    "sha1",
    "crypt",
    "unsalted_md5",
    "unsalted_sha1",
    "pbkdf2_sha1",
    "bcrypt_sha1",
    "1",
    "5",
    "6",
    "sha1crypt",
    "md5-crypt",
    "sha256-crypt",
    "sha512-crypt",
];

/// A refused scheme as the report names it.
fn unsupported(scheme: &str) -> HashImportError {
    let shown = if KNOWN_SCHEMES.contains(&scheme) || scheme.starts_with("2x") {
        scheme
    } else {
        "unknown"
    };
    HashImportError::Unsupported(shown.to_owned())
}

/// Why an imported hash is refused. Each variant has a stable code for the import report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashImportError {
    /// A scheme flowd does not verify (MD5, SHA-1, unsalted, DES crypt, …).
    #[error("flowd cannot verify password hashes of the scheme '{0}'")]
    Unsupported(String),
    /// The scheme is known but the text is not a valid hash of it.
    #[error("not a valid {0} hash")]
    Malformed(&'static str),
    /// Verifying it would cost more memory or time than flowd allows.
    #[error("the hash's cost is beyond what flowd verifies: {0}")]
    TooCostly(String),
}

impl HashImportError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported(_) => "password_hash_unsupported",
            Self::Malformed(_) => "password_hash_malformed",
            Self::TooCostly(_) => "password_hash_too_costly",
        }
    }
}

/// The PBKDF2 digest of a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pbkdf2Digest {
    Sha256,
    Sha512,
}

impl Pbkdf2Digest {
    /// The PHC identifier.
    fn ident(self) -> &'static str {
        match self {
            Self::Sha256 => "pbkdf2-sha256",
            Self::Sha512 => "pbkdf2-sha512",
        }
    }
}

/// A stored hash of another scheme than argon2, parsed and within the cost limits.
#[derive(Debug)]
pub(crate) enum ForeignHash<'a> {
    /// bcrypt's modular crypt string; `prehashed` for Django's `bcrypt_sha256`.
    Bcrypt { hash: &'a str, prehashed: bool },
    /// scrypt with its parameters.
    Scrypt {
        params: scrypt::Params,
        salt: Salt,
        expected: Output,
    },
    /// PBKDF2-HMAC.
    Pbkdf2 {
        digest: Pbkdf2Digest,
        rounds: u32,
        salt: Salt,
        expected: Output,
    },
}

/// A stored hash: flowd's own scheme, or a foreign one imported by a migration.
#[derive(Debug)]
pub(crate) enum StoredHash<'a> {
    /// An argon2 PHC string (any variant and cost).
    Argon2(PasswordHash),
    /// Another scheme.
    Foreign(ForeignHash<'a>),
}

impl<'a> StoredHash<'a> {
    /// Reads a canonical stored hash; `None` if it is unreadable (which never verifies).
    pub(crate) fn parse(stored: &'a str) -> Option<Self> {
        Self::read(stored).ok()
    }

    /// Reads a canonical stored hash (within the cost limits of its scheme), or says why it
    /// is not one: what an import refuses and a sign-in never verifies.
    fn read(stored: &'a str) -> Result<Self, HashImportError> {
        let bcrypt = |hash, prehashed| {
            bcrypt_cost(hash).map(|_| Self::Foreign(ForeignHash::Bcrypt { hash, prehashed }))
        };
        if let Some(hash) = stored.strip_prefix("bcrypt_sha256$") {
            return bcrypt(hash, true);
        }
        if stored.starts_with("$2") {
            return bcrypt(stored, false);
        }
        let hash = PasswordHash::new(stored).map_err(|_| HashImportError::Malformed("PHC"))?;
        match hash.algorithm.as_str() {
            "argon2id" | "argon2i" | "argon2d" => Ok(Self::Argon2(hash)),
            "scrypt" => scrypt_of(&hash).map(Self::Foreign),
            "pbkdf2-sha256" => pbkdf2_of(&hash, Pbkdf2Digest::Sha256).map(Self::Foreign),
            "pbkdf2-sha512" => pbkdf2_of(&hash, Pbkdf2Digest::Sha512).map(Self::Foreign),
            other => Err(unsupported(other)),
        }
    }
}

impl ForeignHash<'_> {
    /// Whether `password` matches. Runs the scheme's full cost; compares in constant time.
    pub(crate) fn verify(&self, password: &str) -> bool {
        match self {
            Self::Bcrypt { hash, prehashed } => {
                let input = if *prehashed {
                    hex::encode(Sha256::digest(password.as_bytes()))
                } else {
                    password.to_owned()
                };
                bcrypt::verify(input, hash).unwrap_or(false)
            }
            Self::Scrypt {
                params,
                salt,
                expected,
            } => computed_matches(expected, |output| {
                scrypt::scrypt(password.as_bytes(), salt.as_ref(), params, output).is_ok()
            }),
            Self::Pbkdf2 {
                digest,
                rounds,
                salt,
                expected,
            } => computed_matches(expected, |output| {
                let (password, salt) = (password.as_bytes(), salt.as_ref());
                match digest {
                    Pbkdf2Digest::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *rounds, output);
                    }
                    Pbkdf2Digest::Sha512 => {
                        pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *rounds, output);
                    }
                }
                true
            }),
        }
    }
}

/// Whether `compute`, writing an output as long as `expected`, succeeds and writes
/// `expected` (compared in constant time).
fn computed_matches(expected: &Output, compute: impl FnOnce(&mut [u8]) -> bool) -> bool {
    let mut output = [0u8; Output::MAX_LENGTH];
    let Some(output) = output.get_mut(..expected.len()) else {
        return false;
    };
    compute(output) && Output::new(output).is_ok_and(|output| &output == expected)
}

/// The canonical stored form of an imported hash given as text: a PHC string, a bcrypt
/// string, or one of Django's encodings (`pbkdf2_sha256$…`, `argon2$…`, `bcrypt$…`,
/// `bcrypt_sha256$…`, `scrypt$…`). Refuses what flowd cannot verify, with the reason.
pub(crate) fn canonical_hash(text: &str) -> Result<String, HashImportError> {
    let text = text.trim();
    if text.starts_with("$2x$") {
        // crypt_blowfish's bug-compatible variant: the crate would verify it as `$2b$`.
        return Err(unsupported("2x"));
    }
    if text.starts_with('$') {
        // A bcrypt or PHC string is stored as it is, once the sign-in's own reader accepts
        // it; argon2 has import limits beyond it (flowd's own hashes may cost more).
        if let StoredHash::Argon2(hash) = StoredHash::read(text)? {
            argon2_within_limits(&hash)?;
        }
        return Ok(text.to_owned());
    }
    let (scheme, rest) = text.split_once('$').ok_or_else(|| unsupported(""))?;
    match scheme {
        "pbkdf2_sha256" | "pbkdf2_sha512" => django_pbkdf2(scheme, rest),
        "argon2" => canonical_hash(&format!("${}", rest.trim_start_matches('$'))),
        "bcrypt" => {
            let hash = rest.trim_start_matches('$');
            canonical_hash(&format!("${hash}"))
        }
        "bcrypt_sha256" => {
            let hash = format!("${}", rest.trim_start_matches('$'));
            bcrypt_cost(&hash)?;
            Ok(format!("bcrypt_sha256${hash}"))
        }
        "scrypt" => django_scrypt(rest),
        other => Err(unsupported(other)),
    }
}

/// The canonical stored form of a Keycloak password credential: its `secretData`
/// (`{"value", "salt"}`, base64) and `credentialData` (`{"algorithm", "hashIterations",
/// "additionalParameters"}`), each as the JSON text Keycloak exports or as an object.
/// Keycloak's `pbkdf2-sha256`, `pbkdf2-sha512` and `argon2` are accepted.
pub(crate) fn keycloak_hash(
    secret_data: &Value,
    credential_data: &Value,
) -> Result<String, HashImportError> {
    const WHAT: &str = "Keycloak credential";
    let object = |value: &Value| -> Result<Value, HashImportError> {
        match value {
            Value::String(text) => {
                serde_json::from_str(text).map_err(|_| HashImportError::Malformed(WHAT))
            }
            Value::Object(_) => Ok(value.clone()),
            _ => Err(HashImportError::Malformed(WHAT)),
        }
    };
    let (secret, credential) = (object(secret_data)?, object(credential_data)?);
    let bytes = |value: Option<&Value>| -> Result<Vec<u8>, HashImportError> {
        value
            .and_then(Value::as_str)
            .and_then(|text| STANDARD.decode(text).ok())
            .ok_or(HashImportError::Malformed(WHAT))
    };
    let value = bytes(secret.get("value"))?;
    let salt = bytes(secret.get("salt"))?;
    let iterations = credential
        .get("hashIterations")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(HashImportError::Malformed(WHAT))?;
    let algorithm = credential
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or(HashImportError::Malformed(WHAT))?;
    let mut params = ParamsString::new();
    let ident = match algorithm {
        "pbkdf2-sha256" | "pbkdf2-sha512" => {
            params
                .add_decimal("i", iterations)
                .map_err(|_| HashImportError::Malformed(WHAT))?;
            algorithm
        }
        "argon2" => {
            // Keycloak keeps argon2's parameters as lists of strings.
            let extra = credential.get("additionalParameters");
            let parameter = |name: &str| {
                extra
                    .and_then(|extra| extra.get(name))
                    .and_then(|list| list.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let number = |name: &str, default: u32| match parameter(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<u32>()
                    .map_err(|_| HashImportError::Malformed(WHAT)),
            };
            let (memory, parallelism) = (number("memory", 7168)?, number("parallelism", 1)?);
            for (name, value) in [("m", memory), ("t", iterations), ("p", parallelism)] {
                params
                    .add_decimal(name, value)
                    .map_err(|_| HashImportError::Malformed(WHAT))?;
            }
            if !matches!(parameter("version").as_deref(), None | Some("1.3")) {
                return Err(HashImportError::Unsupported(
                    "argon2 version 1.0".to_owned(),
                ));
            }
            match parameter("type").as_deref() {
                None | Some("id") => "argon2id",
                Some("i") => "argon2i",
                Some("d") => "argon2d",
                Some(_) => return Err(unsupported("")),
            }
        }
        other => return Err(HashImportError::Unsupported(other.to_owned())),
    };
    let version = (ident.starts_with("argon2")).then_some(0x13);
    canonical_hash(&phc(ident, version, params, &salt, &value, WHAT)?)
}

/// A PHC string of these parts.
fn phc(
    ident: &str,
    version: Option<u32>,
    params: ParamsString,
    salt: &[u8],
    hash: &[u8],
    what: &'static str,
) -> Result<String, HashImportError> {
    let hash = PasswordHash {
        algorithm: Ident::new(ident).map_err(|_| HashImportError::Malformed(what))?,
        version,
        params,
        salt: Some(Salt::new(salt).map_err(|_| HashImportError::Malformed(what))?),
        hash: Some(Output::new(hash).map_err(|_| HashImportError::Malformed(what))?),
    };
    Ok(hash.to_string())
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (the salt is text, used as
/// its bytes).
fn django_pbkdf2(scheme: &str, rest: &str) -> Result<String, HashImportError> {
    const WHAT: &str = "Django PBKDF2";
    let [iterations, salt, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(HashImportError::Malformed(WHAT));
    };
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    let mut params = ParamsString::new();
    params
        .add_decimal("i", iterations)
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    let ident = if scheme == "pbkdf2_sha256" {
        Pbkdf2Digest::Sha256.ident()
    } else {
        Pbkdf2Digest::Sha512.ident()
    };
    canonical_hash(&phc(ident, None, params, salt.as_bytes(), &hash, WHAT)?)
}

/// Django's `scrypt$<n>$<salt>$<r>$<p>$<base64 hash>`.
fn django_scrypt(rest: &str) -> Result<String, HashImportError> {
    const WHAT: &str = "Django scrypt";
    let [n, salt, r, p, hash] = rest.split('$').collect::<Vec<_>>()[..] else {
        return Err(HashImportError::Malformed(WHAT));
    };
    let number = |text: &str| {
        text.parse::<u32>()
            .map_err(|_| HashImportError::Malformed(WHAT))
    };
    let n = number(n)?;
    if !n.is_power_of_two() || n < 2 {
        return Err(HashImportError::Malformed(WHAT));
    }
    let hash = STANDARD
        .decode(hash)
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    let mut params = ParamsString::new();
    for (name, value) in [
        ("ln", n.trailing_zeros()),
        ("r", number(r)?),
        ("p", number(p)?),
    ] {
        params
            .add_decimal(name, value)
            .map_err(|_| HashImportError::Malformed(WHAT))?;
    }
    canonical_hash(&phc("scrypt", None, params, salt.as_bytes(), &hash, WHAT)?)
}

/// The cost of a bcrypt string (`$2a$`, `$2b$`, `$2x$`, `$2y$`), checked against the limit.
fn bcrypt_cost(hash: &str) -> Result<u32, HashImportError> {
    const WHAT: &str = "bcrypt";
    let parts = hash
        .parse::<bcrypt::HashParts>()
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    let cost = parts.get_cost();
    if cost < MIN_BCRYPT_COST {
        return Err(HashImportError::Malformed(WHAT));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(HashImportError::TooCostly(format!(
            "bcrypt cost {cost} (at most {MAX_BCRYPT_COST})"
        )));
    }
    Ok(cost)
}

/// The salt and hash of a PHC string, both required.
fn salt_and_hash(
    hash: &PasswordHash,
    what: &'static str,
) -> Result<(Salt, Output), HashImportError> {
    hash.salt
        .zip(hash.hash)
        .ok_or(HashImportError::Malformed(what))
}

/// A PHC `$scrypt$ln=…,r=…,p=…$salt$hash`, within the memory limit.
fn scrypt_of<'a>(hash: &PasswordHash) -> Result<ForeignHash<'a>, HashImportError> {
    const WHAT: &str = "scrypt";
    let param = |name: &str| {
        hash.params
            .get_decimal(name)
            .ok_or(HashImportError::Malformed(WHAT))
    };
    let (log_n, r, p) = (param("ln")?, param("r")?, param("p")?);
    let log_n = u8::try_from(log_n).map_err(|_| HashImportError::Malformed(WHAT))?;
    let bytes = 128u64
        .saturating_mul(u64::from(r))
        .saturating_mul(1u64.checked_shl(u32::from(log_n)).unwrap_or(u64::MAX));
    if bytes > MAX_SCRYPT_BYTES || bytes.saturating_mul(u64::from(p)) > MAX_SCRYPT_WORK {
        return Err(HashImportError::TooCostly(format!(
            "scrypt ln={log_n}, r={r}, p={p} (at most {} MiB of memory and {} MiB mixed)",
            MAX_SCRYPT_BYTES >> 20,
            MAX_SCRYPT_WORK >> 20
        )));
    }
    let (salt, expected) = salt_and_hash(hash, WHAT)?;
    let params = scrypt::Params::new(log_n, r, p, expected.len())
        .map_err(|_| HashImportError::Malformed(WHAT))?;
    Ok(ForeignHash::Scrypt {
        params,
        salt,
        expected,
    })
}

/// A PHC `$pbkdf2-sha256$i=…$salt$hash` (an `l=` length is allowed and must match).
fn pbkdf2_of<'a>(
    hash: &PasswordHash,
    digest: Pbkdf2Digest,
) -> Result<ForeignHash<'a>, HashImportError> {
    const WHAT: &str = "PBKDF2";
    let rounds = hash
        .params
        .get_decimal("i")
        .filter(|rounds| *rounds > 0)
        .ok_or(HashImportError::Malformed(WHAT))?;
    let (salt, expected) = salt_and_hash(hash, WHAT)?;
    let block = match digest {
        Pbkdf2Digest::Sha256 => 32,
        Pbkdf2Digest::Sha512 => 64,
    };
    let work = u64::from(rounds).saturating_mul(expected.len().div_ceil(block) as u64);
    if work > MAX_PBKDF2_WORK {
        return Err(HashImportError::TooCostly(format!(
            "{rounds} PBKDF2 iterations of a {}-byte key (at most {MAX_PBKDF2_WORK} \
             iterations times blocks)",
            expected.len()
        )));
    }
    if hash
        .params
        .get_decimal("l")
        .is_some_and(|length| usize::try_from(length).ok() != Some(expected.len()))
    {
        return Err(HashImportError::Malformed(WHAT));
    }
    Ok(ForeignHash::Pbkdf2 {
        digest,
        rounds,
        salt,
        expected,
    })
}

/// Refuses argon2 hashes beyond the memory, pass and lane limits (or unusable ones).
fn argon2_within_limits(hash: &PasswordHash) -> Result<(), HashImportError> {
    let params =
        argon2::Params::try_from(hash).map_err(|_| HashImportError::Malformed("argon2"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashImportError::Malformed("argon2"));
    }
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB
        || u64::from(params.m_cost()) * u64::from(params.t_cost()) > MAX_ARGON2_WORK
        || params.p_cost() > MAX_ARGON2_PARALLELISM
    {
        return Err(HashImportError::TooCostly(format!(
            "argon2 m={}, t={}, p={} (at most m={MAX_ARGON2_MEMORY_KIB}, \
             m·t={MAX_ARGON2_WORK}, p={MAX_ARGON2_PARALLELISM})",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::Arc;

    use super::*;
    use crate::config::HashParams;
    use crate::password::{Passwords, Verified};
    use crate::ports::OsRandom;

    /// Hashes made by Django, pyca/bcrypt, argon2-cffi and hashlib (`make.py` beside them).
    const VERIFIABLE: &str = include_str!("../../../fixtures/imported-hashes/verifiable.json");
    const REFUSED: &str = include_str!("../../../fixtures/imported-hashes/refused.json");

    fn canonical_of(vector: &Value) -> Result<String, HashImportError> {
        match (vector.get("hash"), vector.get("keycloak")) {
            (Some(Value::String(hash)), _) => canonical_hash(hash),
            (_, Some(keycloak)) => {
                keycloak_hash(&keycloak["secretData"], &keycloak["credentialData"])
            }
            _ => panic!("a vector has a hash or a keycloak credential: {vector}"),
        }
    }

    #[test]
    fn hashes_of_other_systems_verify_and_ask_to_be_remade() {
        let passwords =
            Passwords::new(HashParams::insecure_for_tests(), 2, Arc::new(OsRandom)).unwrap();
        let vectors: Vec<Value> = serde_json::from_str(VERIFIABLE).unwrap();
        assert!(vectors.len() >= 15);
        for vector in &vectors {
            let name = vector["name"].as_str().unwrap();
            let password = vector["password"].as_str().unwrap();
            let stored = canonical_of(vector).unwrap_or_else(|error| panic!("{name}: {error}"));
            // The canonical form is stable: importing it again gives it back.
            assert_eq!(canonical_hash(&stored).as_ref(), Ok(&stored), "{name}");
            assert_eq!(
                passwords.verify(password, Some(&stored)),
                Verified::YesRehash,
                "{name}: {stored}"
            );
            let wrong = format!("{password}!");
            assert_eq!(
                passwords.verify(&wrong, Some(&stored)),
                Verified::No,
                "{name}"
            );
            assert_eq!(passwords.verify("", Some(&stored)), Verified::No, "{name}");
        }
    }

    #[test]
    fn hashes_flowd_cannot_or_should_not_verify_are_refused_with_a_code() {
        let vectors: Vec<Value> = serde_json::from_str(REFUSED).unwrap();
        for vector in &vectors {
            let error = canonical_of(vector).unwrap_err();
            assert_eq!(
                error.code(),
                vector["code"].as_str().unwrap(),
                "{vector}: {error}"
            );
        }
        for (text, code) in [
            ("", "password_hash_unsupported"),
            ("$", "password_hash_malformed"),
            ("$md5$abc", "password_hash_malformed"),
            (
                "$sha512crypt$rounds=5000$saltsaltsalt$aGFzaGhhc2hoYXNoaGFzaA",
                "password_hash_unsupported",
            ),
            (
                "pbkdf2_sha256$many$salt$aGFzaA==",
                "password_hash_malformed",
            ),
            ("pbkdf2_sha256$1000$salt", "password_hash_malformed"),
            (
                "pbkdf2_sha1$1000$saltsalt$aGFzaGhhc2hoYXNo",
                "password_hash_unsupported",
            ),
            (
                "scrypt$1000$saltsaltsalt$8$1$aGFzaGhhc2hoYXNo",
                "password_hash_malformed",
            ),
            (
                "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ",
                "password_hash_malformed",
            ),
            (
                "$pbkdf2-sha256$i=1000,l=16$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g",
                "password_hash_malformed",
            ),
            (
                "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
                "password_hash_malformed",
            ),
            (
                "$2b$03$zANKXGPsQtI1DMledQlfM.T6OhmQdk0fNO8baIcvTMpnIfKNKZBoy",
                "password_hash_malformed",
            ),
            (
                "$2x$06$zANKXGPsQtI1DMledQlfM.T6OhmQdk0fNO8baIcvTMpnIfKNKZBoy",
                "password_hash_unsupported",
            ),
            (
                "$2b$15$zANKXGPsQtI1DMledQlfM.T6OhmQdk0fNO8baIcvTMpnIfKNKZBoy",
                "password_hash_too_costly",
            ),
            // Within the memory limit, over the work limit by its lanes.
            (
                "$scrypt$ln=17,r=8,p=16$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
                "password_hash_too_costly",
            ),
            // 3,000,000 iterations of a two-block key.
            (
                "$pbkdf2-sha256$i=3000000$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
                "password_hash_too_costly",
            ),
            (
                "$argon2id$v=19$m=262144,t=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
                "password_hash_too_costly",
            ),
            // A password in the hash column is not echoed.
            ("hunter$2", "password_hash_unsupported"),
        ] {
            assert_eq!(
                canonical_hash(text).map_err(|error| error.code()),
                Err(code),
                "{text}"
            );
        }
        let keycloak = |secret: Value, credential: Value| {
            keycloak_hash(&secret, &credential).map_err(|error| error.code())
        };
        let secret =
            serde_json::json!({"value": "aGFzaGhhc2hoYXNoaGFzaA==", "salt": "c2FsdHNhbHRzYWx0"});
        assert_eq!(
            keycloak(
                secret.clone(),
                serde_json::json!({"algorithm": "pbkdf2", "hashIterations": 27500})
            ),
            Err("password_hash_unsupported")
        );
        assert_eq!(
            keycloak(
                secret.clone(),
                serde_json::json!({"algorithm": "pbkdf2-sha256"})
            ),
            Err("password_hash_malformed")
        );
        assert_eq!(
            keycloak(
                Value::from("{not json"),
                serde_json::json!({"algorithm": "pbkdf2-sha256", "hashIterations": 1})
            ),
            Err("password_hash_malformed")
        );
        assert!(
            keycloak(
                secret,
                serde_json::json!({"algorithm": "pbkdf2-sha256", "hashIterations": 27500})
            )
            .unwrap()
            .starts_with("$pbkdf2-sha256$i=27500$")
        );
    }

    #[test]
    fn only_known_schemes_are_named_in_the_report() {
        let message = |text: &str| canonical_hash(text).unwrap_err().to_string();
        assert!(message("md5$salt$0123").contains("'md5'"));
        assert!(message("hunter$2").contains("'unknown'"));
        assert!(!message("hunter$2").contains("hunter"));
    }

    #[test]
    fn stored_hashes_beyond_the_limits_never_verify() {
        // A row edited by hand past the import's checks: refused at sign-in, not computed.
        assert!(
            StoredHash::parse("$pbkdf2-sha256$i=50000000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_none()
        );
        assert!(StoredHash::parse("$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo").is_none());
        assert!(
            StoredHash::parse("$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234")
                .is_none()
        );
        assert!(StoredHash::parse("plain").is_none());
    }
}
