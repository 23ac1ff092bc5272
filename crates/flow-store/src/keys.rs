//! [`KeyStore`] on SQL: `signing_keys`, one row per key, ordered per tenant by `seq`.
//!
//! A row holds the private key as lowercase hex of its PKCS#8 DER (`key_format` 1), the
//! algorithm, `status = 'active'` and `created_at`. `public_jwk` is written as an empty string:
//! the port carries no public key and this crate does no cryptography; the signer derives the
//! public JWK from the private key when it publishes the JWKS. `not_after` stays `NULL` (keys
//! do not expire yet). Every row of a tenant is returned, whatever its `status`.

use diesel::prelude::*;
use flow_engine::{KeyStore, PortError, StoredKey, TenantId};

use crate::Database;
use crate::db::Fail;
use crate::schema::signing_keys;

/// `key_format` of a private key stored as lowercase hex of its PKCS#8 DER.
const KEY_FORMAT_PKCS8_DER_HEX: i32 = 1;

/// `status` of a key that signs and is published.
const STATUS_ACTIVE: &str = "active";

/// A row of `signing_keys`.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    tenant_id: String,
    kid: String,
    algorithm: String,
    key_format: i32,
    private_key: String,
    public_jwk: String,
    status: String,
    created_at: i64,
    not_after: Option<i64>,
    seq: i64,
}

impl KeyRow {
    /// The row for `key` in `tenant`, at position `seq`.
    fn new(tenant: &TenantId, key: &StoredKey, seq: i64) -> Self {
        Self {
            tenant_id: tenant.as_str().to_owned(),
            kid: key.kid.clone(),
            algorithm: key.algorithm.clone(),
            key_format: KEY_FORMAT_PKCS8_DER_HEX,
            private_key: to_hex(&key.private_pkcs8_der),
            public_jwk: String::new(),
            status: STATUS_ACTIVE.to_owned(),
            created_at: key.created_at,
            not_after: None,
            seq,
        }
    }
}

impl TryFrom<KeyRow> for StoredKey {
    type Error = Fail;

    /// Refuses a `key_format` this version does not know, and undecodable key text (the
    /// error names the kid, never the key).
    fn try_from(row: KeyRow) -> Result<Self, Fail> {
        if row.key_format != KEY_FORMAT_PKCS8_DER_HEX {
            return Err(Fail::corrupt(
                "signing key",
                format!("kid {}: unknown key_format {}", row.kid, row.key_format),
            ));
        }
        let Some(private_pkcs8_der) = from_hex(&row.private_key) else {
            return Err(Fail::corrupt(
                "signing key",
                format!("kid {}: private_key is not hex", row.kid),
            ));
        };
        Ok(Self {
            kid: row.kid,
            algorithm: row.algorithm,
            private_pkcs8_der,
            created_at: row.created_at,
        })
    }
}

impl KeyStore for Database {
    fn keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, PortError> {
        self.read(|conn| {
            signing_keys::table
                .filter(signing_keys::tenant_id.eq(tenant.as_str()))
                .order((signing_keys::seq.asc(), signing_keys::kid.asc()))
                .select(KeyRow::as_select())
                .load::<KeyRow>(conn)?
                .into_iter()
                .map(StoredKey::try_from)
                .collect()
        })
    }

    /// Inserts the key after the tenant's newest (`MAX(seq) + 1`) in one transaction. Two
    /// replicas adding at the same moment on PostgreSQL may get the same `seq`; the order is
    /// then decided by `kid`, the same on every replica.
    fn add(&self, tenant: &TenantId, key: StoredKey) -> Result<(), PortError> {
        self.transaction(|conn| {
            let newest: Option<i64> = signing_keys::table
                .filter(signing_keys::tenant_id.eq(tenant.as_str()))
                .select(diesel::dsl::max(signing_keys::seq))
                .get_result(conn)?;
            let seq = newest.map_or(1, |seq| seq.saturating_add(1));
            diesel::insert_into(signing_keys::table)
                .values(&KeyRow::new(tenant, &key, seq))
                .execute(conn)?;
            Ok(())
        })
    }
}

/// Lowercase hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The bytes of hex `text` (either case); `None` if it is not an even run of hex digits.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = to_hex(&bytes);
        assert_eq!(text.len(), 512);
        assert!(text.starts_with("000102") && text.ends_with("fdfeff"));
        assert_eq!(from_hex(&text), Some(bytes));
        assert_eq!(from_hex("ABcd"), Some(vec![0xab, 0xcd]));
        assert_eq!(from_hex(""), Some(Vec::new()));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("+1"), None);
    }
}
