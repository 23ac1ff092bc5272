//! The [`KeyStore`] contract: keys per tenant in the order they were added (also when they
//! share a `created_at`), unique kids per tenant, and the private key kept byte for byte.

use flow_engine::{KeyStore, PortError, StoredKey, TenantId};

/// A key whose DER is recognisably its own (an Ed25519 PKCS#8 prefix and a seed from `fill`).
fn key(kid: &str, created_at: i64, fill: u8) -> StoredKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend((0..32u8).map(|at| at.wrapping_mul(fill)));
    StoredKey {
        kid: kid.to_owned(),
        algorithm: "EdDSA".to_owned(),
        private_pkcs8_der: der,
        created_at,
    }
}

/// An empty tenant has no keys; added keys come back oldest first, exactly as added, even when
/// they share a second and their kids sort the other way.
pub(crate) fn add_and_list_in_order<K: KeyStore + ?Sized>(keys: &K, tenant: &TenantId) {
    assert_eq!(keys.keys(tenant).unwrap(), Vec::new());
    let first = key("b-first", 100, 3);
    let second = key("a-second", 100, 7);
    let third = key("0-third", 101, 255);
    keys.add(tenant, first.clone()).unwrap();
    assert_eq!(keys.keys(tenant).unwrap(), std::slice::from_ref(&first));
    keys.add(tenant, second.clone()).unwrap();
    keys.add(tenant, third.clone()).unwrap();
    assert_eq!(keys.keys(tenant).unwrap(), [first, second, third]);
}

/// A kid is unique per tenant only; a refused duplicate changes nothing.
pub(crate) fn kids_are_unique_per_tenant<K: KeyStore + ?Sized>(
    keys: &K,
    tenant: &TenantId,
    other: &TenantId,
) {
    let original = key("k1", 100, 1);
    keys.add(tenant, original.clone()).unwrap();
    assert_eq!(
        keys.add(tenant, key("k1", 200, 2)),
        Err(PortError::Duplicate)
    );
    assert_eq!(keys.keys(tenant).unwrap(), std::slice::from_ref(&original));
    assert_eq!(keys.keys(other).unwrap(), Vec::new());
    let theirs = key("k1", 50, 9);
    keys.add(other, theirs.clone()).unwrap();
    assert_eq!(keys.keys(other).unwrap(), [theirs]);
    assert_eq!(keys.keys(tenant).unwrap(), [original]);
}
