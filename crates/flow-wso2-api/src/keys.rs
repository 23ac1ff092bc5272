//! User assertions: [`Assertions`] signs the short-lived `userAssertion` JWT (EdDSA / Ed25519,
//! with a `kid`) with the newest key of the engine's [`KeyStore`] port and publishes every
//! key's public half as a JWKS.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use flow_engine::{Clock, KeyStore, Random, StoredKey, TenantId};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::Wso2Error;

/// How long a user assertion is valid, in seconds (WSO2: about 2 s).
pub const ASSERTION_TTL_SECS: i64 = 2;

/// How long the signing key read from the store is used before it is read again. A key
/// rotated on this server signs at once; one rotated on another replica within this time.
const SIGNING_KEY_TTL: Duration = Duration::from_secs(5);

/// The PKCS#8 v1 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The claims of a user assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AssertionClaims {
    /// The server's public URL.
    pub iss: String,
    /// The server's public URL.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Expiry: `iat` + [`ASSERTION_TTL_SECS`].
    pub exp: i64,
    /// A fresh UUID.
    pub jti: String,
    /// The authentication methods the flow completed (`pwd`-style names of the engine:
    /// `password`, `email_otp`).
    pub amr: Vec<String>,
    /// The WSO2 flow type that ran.
    #[serde(rename = "flowType")]
    pub flow_type: String,
}

/// Signs user assertions and publishes the JWKS, with the keys of one tenant (the built-in
/// default tenant, as the rest of this crate uses).
#[derive(Clone)]
pub struct Assertions {
    store: Arc<dyn KeyStore>,
    tenant: TenantId,
    random: Arc<dyn Random>,
    clock: Arc<dyn Clock>,
    /// The key that signs now and when it was read, shared by the clones: a sign-in does not
    /// read every key from the store.
    signing: Arc<Mutex<Option<(Instant, StoredKey)>>>,
}

impl std::fmt::Debug for Assertions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertions")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Assertions {
    /// Over `store`, in the default tenant; a key is made on first use when the tenant has
    /// none.
    pub fn new(store: Arc<dyn KeyStore>, random: Arc<dyn Random>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            tenant: TenantId::default(),
            random,
            clock,
            signing: Arc::default(),
        }
    }

    /// Makes a new Ed25519 key and adds it: from now on it signs (rotation).
    pub fn rotate(&self) -> Result<StoredKey, Wso2Error> {
        let mut seed = [0u8; 32];
        self.random.fill(&mut seed);
        let mut kid = [0u8; 12];
        self.random.fill(&mut kid);
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let key = StoredKey {
            kid: hex::encode(kid),
            algorithm: "EdDSA".to_owned(),
            private_pkcs8_der: der,
            created_at: self.clock.now_secs(),
        };
        self.store
            .add(&self.tenant, key.clone())
            .map_err(key_store_unavailable)?;
        self.remember(key.clone());
        Ok(key)
    }

    /// Every key the store holds for the tenant, oldest first.
    fn stored_keys(&self) -> Result<Vec<StoredKey>, Wso2Error> {
        self.store.keys(&self.tenant).map_err(key_store_unavailable)
    }

    /// The key that signs now (the newest), made if there is none; read from the store at
    /// most every [`SIGNING_KEY_TTL`].
    fn current(&self) -> Result<StoredKey, Wso2Error> {
        let cached = self.lock_signing().clone();
        if let Some((read_at, key)) = cached
            && read_at.elapsed() < SIGNING_KEY_TTL
        {
            return Ok(key);
        }
        match self.stored_keys()?.into_iter().last() {
            Some(key) => {
                self.remember(key.clone());
                Ok(key)
            }
            None => self.rotate(),
        }
    }

    fn remember(&self, key: StoredKey) {
        *self.lock_signing() = Some((Instant::now(), key));
    }

    fn lock_signing(&self) -> std::sync::MutexGuard<'_, Option<(Instant, StoredKey)>> {
        self.signing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Signs an assertion for `sub` (blocking when the store is a database).
    pub fn sign(
        &self,
        issuer: &str,
        sub: &str,
        amr: Vec<String>,
        flow_type: String,
    ) -> Result<String, Wso2Error> {
        let key = self.current()?;
        let now = self.clock.now_secs();
        let claims = AssertionClaims {
            iss: issuer.to_owned(),
            aud: issuer.to_owned(),
            sub: sub.to_owned(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(ASSERTION_TTL_SECS),
            jti: uuid::Uuid::new_v4().to_string(),
            amr,
            flow_type,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ed_der(&key.private_pkcs8_der),
        )
        .map_err(|_| Wso2Error::Internal)
    }

    /// The public keys, every one the store holds.
    pub fn jwks(&self) -> Result<JwkSet, Wso2Error> {
        if self.stored_keys()?.is_empty() {
            self.rotate()?;
        }
        let keys = self.stored_keys()?;
        let mut set = Vec::new();
        for key in keys {
            let mut jwk = Jwk::from_encoding_key(
                &EncodingKey::from_ed_der(&key.private_pkcs8_der),
                Algorithm::EdDSA,
            )
            .map_err(|_| Wso2Error::Internal)?;
            jwk.common.key_id = Some(key.kid);
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            jwk.common.key_algorithm = Some(KeyAlgorithm::EdDSA);
            set.push(jwk);
        }
        Ok(JwkSet { keys: set })
    }
}

/// A key store failure, with its cause: the request answers 503.
fn key_store_unavailable(cause: flow_engine::PortError) -> Wso2Error {
    Wso2Error::Unavailable(format!("signing keys: {cause}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use flow_engine::memory::MemoryKeyStore;
    use flow_engine::{OsRandom, PortError, SystemClock};

    use super::*;

    /// A key store that counts its reads.
    #[derive(Default)]
    struct CountingKeys {
        inner: MemoryKeyStore,
        reads: AtomicUsize,
    }

    impl KeyStore for CountingKeys {
        fn keys(&self, tenant: &TenantId) -> Result<Vec<StoredKey>, PortError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.keys(tenant)
        }

        fn add(&self, tenant: &TenantId, key: StoredKey) -> Result<(), PortError> {
            self.inner.add(tenant, key)
        }
    }

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn sign_ins_reuse_the_signing_key_and_a_rotation_signs_at_once() {
        let store = Arc::new(CountingKeys::default());
        let assertions = Assertions::new(store.clone(), Arc::new(OsRandom), Arc::new(SystemClock));
        let sign = |assertions: &Assertions| {
            assertions
                .sign(
                    "https://id.example",
                    "user-1",
                    vec!["password".to_owned()],
                    "LOGIN".to_owned(),
                )
                .unwrap()
        };
        let first = sign(&assertions);
        let reads = store.reads.load(Ordering::SeqCst);
        // A clone (one per request) shares what was read.
        let second = sign(&assertions.clone());
        assert_eq!(kid_of(&first), kid_of(&second));
        assert_eq!(store.reads.load(Ordering::SeqCst), reads, "no second read");

        let rotated = assertions.rotate().unwrap();
        assert_eq!(kid_of(&sign(&assertions)), rotated.kid);
        assert_ne!(rotated.kid, kid_of(&first));
    }
}
