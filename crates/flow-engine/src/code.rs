//! One-time codes: random six-digit codes, stored as salted SHA-256 bound to their key, and
//! compared in constant time. (A code has only 10^6 values, so a slow hash would not protect
//! it: the attempt limit and the expiry do.)

use sha2::{Digest, Sha256};

use crate::ports::Random;

/// Digits in a one-time code.
pub(crate) const CODE_DIGITS: u32 = 6;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A uniformly random code of [`CODE_DIGITS`] digits (rejection sampling, no modulo bias).
pub(crate) fn generate(random: &dyn Random) -> String {
    let modulus = 10u32.pow(CODE_DIGITS);
    // The largest multiple of `modulus` that fits; values at or above it are redrawn.
    let limit = u32::MAX - u32::MAX % modulus;
    loop {
        let mut bytes = [0u8; 4];
        random.fill(&mut bytes);
        let value = u32::from_le_bytes(bytes);
        if value < limit {
            return format!("{:0width$}", value % modulus, width = CODE_DIGITS as usize);
        }
    }
}

fn digest(salt: &str, key: &str, code: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [salt, key, code] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

/// `salt$hash` for `code` stored under `key`.
pub(crate) fn seal(random: &dyn Random, key: &str, code: &str) -> String {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    let salt = hex(&salt);
    let hash = digest(&salt, key, code);
    format!("{salt}${hash}")
}

/// Whether `candidate` is the code sealed in `sealed` under `key`.
pub(crate) fn matches(sealed: &str, key: &str, candidate: &str) -> bool {
    let Some((salt, expected)) = sealed.split_once('$') else {
        return false;
    };
    let actual = digest(salt, key, candidate.trim());
    constant_time_eq(actual.as_bytes(), expected.as_bytes())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::OsRandom;

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..200 {
            let code = generate(&OsRandom);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn sealed_codes_match_only_themselves_and_their_key() {
        let sealed = seal(&OsRandom, "exec:node", "123456");
        assert!(!sealed.contains("123456"));
        assert!(matches(&sealed, "exec:node", "123456"));
        assert!(matches(&sealed, "exec:node", " 123456 "));
        assert!(!matches(&sealed, "exec:node", "123457"));
        assert!(!matches(&sealed, "other:node", "123456"));
        assert!(!matches("garbage", "exec:node", "123456"));
    }
}
