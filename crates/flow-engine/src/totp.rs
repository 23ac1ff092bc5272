//! Time-based one-time passwords (RFC 6238, HMAC-SHA-1) through `totp-rs`: the secret type,
//! the stored credential, the `otpauth://` URI shown for enrolment, and code checks that
//! return the matched time step so that a used code can be refused (replay).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ports::Random;

/// Bytes of a new TOTP secret (160 bits, as RFC 4226 recommends).
pub(crate) const SECRET_BYTES: usize = 20;

/// The issuer shown in authenticator apps when a `totp_setup` node names none.
pub const DEFAULT_TOTP_ISSUER: &str = "flowd";

/// Time steps before and after the current one whose codes are accepted too (clock drift).
const SKEW_STEPS: u16 = 1;

/// A TOTP shared secret: the raw key bytes. It serializes as base32 (the form authenticator
/// apps take) and [`Debug`] never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A secret of these key bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A fresh random secret of 20 bytes.
    pub fn generate(random: &dyn Random) -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        random.fill(&mut bytes);
        Self(bytes)
    }

    /// Parses the base32 form (RFC 4648, padding optional, case-insensitive).
    pub fn from_base32(text: &str) -> Option<Self> {
        totp_rs::Secret::try_from_base32(text.trim().to_ascii_uppercase().trim_end_matches('='))
            .ok()
            .map(|secret| Self(secret.as_bytes().to_vec()))
    }

    /// The base32 form (RFC 4648, upper case, no padding), as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.clone()).to_base32()
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl Serialize for TotpSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base32())
    }
}

impl<'de> Deserialize<'de> for TotpSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_base32(&text).ok_or_else(|| serde::de::Error::custom("invalid base32 secret"))
    }
}

/// A user's enrolled authenticator app, as the
/// [`UserDirectory`](crate::UserDirectory) stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpCredential {
    /// The shared secret.
    pub secret: TotpSecret,
    /// Code length (6 or 8).
    pub digits: u32,
    /// Code period in seconds (30 or 60).
    pub period: u32,
    /// The time step (Unix time / period) of the last accepted code; a code of this step or an
    /// earlier one is refused. `None` before the first use.
    pub last_step: Option<u64>,
    /// When it was enrolled (Unix seconds).
    pub created_at: i64,
}

impl TotpCredential {
    /// The time step whose code `candidate` is at `now_secs`, within one period either side;
    /// `None` when it matches none. Spaces inside the code are ignored.
    pub fn matching_step(&self, candidate: &str, now_secs: i64) -> Option<u64> {
        matching_step(&self.secret, self.digits, self.period, candidate, now_secs)
    }
}

/// The `totp-rs` generator of these parameters; `None` for parameters RFC 6238 does not allow.
fn generator(secret: &TotpSecret, digits: u32, period: u32) -> Option<totp_rs::Totp> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(u8::try_from(digits).ok()?)
        .with_step_duration(u64::from(period))
        .with_skew(SKEW_STEPS)
        .with_secret(secret.as_bytes().to_vec())
        .build()
        .ok()
}

/// The time step whose code `candidate` is at `now_secs` (see [`TotpCredential::matching_step`]).
pub(crate) fn matching_step(
    secret: &TotpSecret,
    digits: u32,
    period: u32,
    candidate: &str,
    now_secs: i64,
) -> Option<u64> {
    let code: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    let now = u64::try_from(now_secs).ok()?;
    generator(secret, digits, period)?.check(&code, now)
}

/// The `otpauth://totp/{issuer}:{account}?secret=…&issuer=…&digits=…&period=…` URI that
/// authenticator apps read (usually from a QR code), with issuer and account percent-encoded.
pub(crate) fn otpauth_uri(
    secret: &TotpSecret,
    issuer: &str,
    account: &str,
    digits: u32,
    period: u32,
) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&digits={digits}&period={period}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::ports::OsRandom;

    /// RFC 6238's SHA-1 key.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_vectors_match_with_their_step() {
        let secret = rfc_secret();
        assert_eq!(matching_step(&secret, 8, 30, "94287082", 59), Some(1));
        assert_eq!(
            matching_step(&secret, 8, 30, "07081804", 1_111_111_109),
            Some(37_037_036)
        );
        // One period either side is accepted, two are not.
        assert_eq!(matching_step(&secret, 8, 30, "94287082", 89), Some(1));
        assert_eq!(matching_step(&secret, 8, 30, "94287082", 90), None);
        assert_eq!(matching_step(&secret, 8, 30, "9428 7082", 59), Some(1));
        assert_eq!(matching_step(&secret, 8, 30, "94287083", 59), None);
        assert_eq!(matching_step(&secret, 8, 30, "", 59), None);
        assert_eq!(matching_step(&secret, 8, 30, "94287082", -1), None);
        // Unusable parameters never match.
        assert_eq!(matching_step(&secret, 12, 30, "94287082", 59), None);
        assert_eq!(matching_step(&secret, 8, 0, "94287082", 59), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_never_print() {
        let secret = TotpSecret::generate(&OsRandom);
        assert_eq!(secret.as_bytes().len(), SECRET_BYTES);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text), Some(secret.clone()));
        assert_eq!(
            TotpSecret::from_base32(&text.to_lowercase()),
            Some(secret.clone())
        );
        assert!(!format!("{secret:?}").contains(&text));
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<TotpSecret>(&json).unwrap(), secret);
        assert!(serde_json::from_str::<TotpSecret>("\"not base32!\"").is_err());
    }

    #[test]
    fn uris_carry_every_parameter_and_parse_back() {
        let secret = rfc_secret();
        let uri = otpauth_uri(&secret, "Acme Inc", "ada@example.com", 8, 60);
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Acme%20Inc:ada%40example.com?secret={}&issuer=Acme%20Inc&digits=8&period=60",
                secret.to_base32()
            )
        );
        let parsed = totp_rs::Totp::from_url(&uri).unwrap();
        assert_eq!(parsed.issuer(), Some("Acme Inc"));
        assert_eq!(parsed.account_name(), "ada@example.com");
        assert_eq!(parsed.digits(), 8);
        assert_eq!(parsed.step(), 60);
        assert_eq!(parsed.secret().as_bytes(), secret.as_bytes());
        // A colon in the issuer is encoded, so the label stays unambiguous.
        assert!(otpauth_uri(&secret, "a:b", "c", 6, 30).starts_with("otpauth://totp/a%3Ab:c?"));
    }
}
