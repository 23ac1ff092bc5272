//! Standard Webhooks signatures: `whsec_` secrets, the signed string `{id}.{timestamp}.{body}`
//! and the `webhook-signature` header of `v1,<base64 HMAC-SHA256>` entries.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The fewest key bytes a secret may have (Standard Webhooks: 24 to 64).
pub const MIN_SECRET_BYTES: usize = 24;

/// The most key bytes a secret may have.
pub const MAX_SECRET_BYTES: usize = 64;

/// How many random bytes [`generate_secret`] puts into a secret.
pub const GENERATED_SECRET_BYTES: usize = 32;

/// Reads a secret's base64: the standard alphabet, padding optional (as the model's check of a
/// node's secret, `flow_model::is_webhook_secret`, accepts it).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A signing key: the decoded part of a `whsec_` secret. Never printed.
#[derive(Clone)]
pub(crate) struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// The key of `whsec_<base64>`, or why it is not one (the reason never quotes the secret).
    pub(crate) fn parse(secret: &str) -> Result<Self, &'static str> {
        let Some(encoded) = secret.trim().strip_prefix(SECRET_PREFIX) else {
            return Err("does not start with whsec_");
        };
        let key = LENIENT
            .decode(encoded)
            .map_err(|_| "the part after whsec_ is not base64")?;
        if key.len() < MIN_SECRET_BYTES {
            return Err("the key is shorter than 24 bytes");
        }
        if key.len() > MAX_SECRET_BYTES {
            return Err("the key is longer than 64 bytes");
        }
        Ok(Self(key))
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        // HMAC takes a key of any length: this never fails.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` value: one `v1,…` entry per key, space-separated (a rotation).
pub(crate) fn signature_header(keys: &[Key], id: &str, timestamp: u64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| key.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new secret, `whsec_` and the base64 of [`GENERATED_SECRET_BYTES`] bytes that `random`
/// fills (give it a cryptographic source, such as the engine's randomness port).
pub fn generate_secret(random: impl FnOnce(&mut [u8])) -> String {
    let mut bytes = [0u8; GENERATED_SECRET_BYTES];
    random(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let key = Key::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            signature_header(
                &[key],
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                br#"{"email":"test@example.com","username":"test_user"}"#,
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_rotation_gives_one_entry_per_key() {
        let a = Key::parse(&generate_secret(|b| b.fill(1))).unwrap();
        let b = Key::parse(&generate_secret(|b| b.fill(2))).unwrap();
        let header = signature_header(&[a.clone(), b], "msg", 1, b"{}");
        let entries: Vec<_> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], signature_header(&[a], "msg", 1, b"{}"));
        assert_ne!(entries[0], entries[1]);
    }

    #[test]
    fn refuses_what_is_not_a_secret() {
        assert!(Key::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(Key::parse("whsec_not base64!").is_err());
        assert!(Key::parse("whsec_c2hvcnQ=").is_err());
        let long = format!("whsec_{}", STANDARD.encode([7u8; 65]));
        assert!(Key::parse(&long).is_err());
        assert!(Key::parse(&generate_secret(|b| b.fill(9))).is_ok());
        // Padding is optional, as in the model's check of a node's secret.
        let unpadded = generate_secret(|b| b.fill(9))
            .trim_end_matches('=')
            .to_owned();
        assert!(Key::parse(&unpadded).is_ok());
    }

    #[test]
    fn a_key_is_never_printed() {
        let key = Key::parse(&generate_secret(|b| b.fill(3))).unwrap();
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
    }
}
