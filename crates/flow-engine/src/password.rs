//! Password hashing (argon2id) with bounded concurrency, a dummy hash for unknown users, and
//! the policy for new passwords.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::config::HashParams;
use crate::ports::Random;
use crate::{EngineError, lock};

/// The longest password accepted, in bytes: enough for any passphrase, short enough that a
/// hostile megabyte "password" cannot be used to burn CPU.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// A counting semaphore: at most `permits` closures run at once; the rest wait.
#[derive(Debug)]
struct Limiter {
    free: Mutex<usize>,
    available: Condvar,
}

/// Returns the permit when dropped, also if the closure panicked.
struct Permit<'a>(&'a Limiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.available.notify_one();
    }
}

impl Limiter {
    fn new(permits: usize) -> Self {
        Self {
            free: Mutex::new(permits.max(1)),
            available: Condvar::new(),
        }
    }

    fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self
                .available
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        drop(free);
        let _permit = Permit(self);
        work()
    }
}

/// Hashes and verifies passwords with argon2id.
pub(crate) struct Passwords {
    params: argon2::Params,
    limiter: Limiter,
    random: Arc<dyn Random>,
    /// How many argon2 computations ran (hashes and verifications), for tests and metrics.
    computations: AtomicU64,
    /// A hash of a random password, verified against for unknown users so that they take as
    /// long as a wrong password.
    dummy: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// Checks the parameters and computes the dummy hash (one hash at construction).
    pub(crate) fn new(
        params: HashParams,
        concurrency: usize,
        random: Arc<dyn Random>,
    ) -> Result<Self, EngineError> {
        let params = argon2::Params::new(params.m_cost, params.t_cost, params.p_cost, None)
            .map_err(|error| EngineError::Internal(format!("argon2 parameters: {error}")))?;
        let mut passwords = Self {
            params,
            limiter: Limiter::new(concurrency),
            random,
            computations: AtomicU64::new(0),
            dummy: String::new(),
        };
        let mut secret = [0u8; 32];
        passwords.random.fill(&mut secret);
        passwords.dummy = passwords.hash(&crate::code::hex(&secret))?;
        Ok(passwords)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// How many argon2 computations ran so far.
    pub(crate) fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// An argon2id PHC string for `password` with a fresh random salt.
    pub(crate) fn hash(&self, password: &str) -> Result<String, EngineError> {
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        self.limiter
            .run(|| {
                self.argon()
                    .hash_password_with_salt(password.as_bytes(), &salt)
            })
            .map(|hash| hash.to_string())
            .map_err(|error| EngineError::Internal(format!("argon2 hashing: {error}")))
    }

    /// Whether `password` matches `stored`. Without a usable stored hash (unknown user, user
    /// without password, unreadable hash) it verifies against the dummy hash and says no, so
    /// that every "no" costs the same.
    pub(crate) fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        let parsed = stored.and_then(|text| PasswordHash::new(text).ok());
        let (hash, real) = match parsed {
            Some(hash) => (hash, true),
            None => match PasswordHash::new(&self.dummy) {
                Ok(hash) => (hash, false),
                Err(_) => return false,
            },
        };
        self.computations.fetch_add(1, Ordering::Relaxed);
        let matches = self.limiter.run(|| {
            self.argon()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        });
        matches && real
    }
}

/// Why a new password is refused: `(code, message)` pairs for field errors.
pub(crate) fn policy_violation(
    password: &str,
    min_length: u32,
    identifier: Option<&str>,
) -> Option<(&'static str, String)> {
    let length = password.chars().count();
    if length < usize::try_from(min_length).unwrap_or(usize::MAX) {
        return Some((
            "password_too_short",
            format!("The password must be at least {min_length} characters long."),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some((
            "password_too_long",
            format!("The password must be at most {MAX_PASSWORD_BYTES} bytes long."),
        ));
    }
    if let Some(identifier) = identifier {
        let lowered = password.trim().to_lowercase();
        let local_part = identifier.split('@').next().unwrap_or(identifier);
        if lowered == identifier.to_lowercase() || lowered == local_part.to_lowercase() {
            return Some((
                "password_matches_identifier",
                "The password must not be your e-mail address or username.".to_owned(),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::ports::OsRandom;

    fn passwords() -> Passwords {
        Passwords::new(HashParams::insecure_for_tests(), 2, Arc::new(OsRandom)).unwrap()
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let passwords = passwords();
        let first = passwords.hash("correct horse").unwrap();
        let second = passwords.hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_ne!(first, second);
        assert!(passwords.verify("correct horse", Some(&first)));
        assert!(!passwords.verify("wrong horse", Some(&first)));
    }

    #[test]
    fn unknown_users_cost_a_real_verification() {
        let passwords = passwords();
        let real = passwords.hash("secret").unwrap();
        let before = passwords.computations();
        assert!(!passwords.verify("secret", None));
        assert_eq!(passwords.computations(), before + 1);
        assert!(!passwords.verify("secret", Some("garbage")));
        assert_eq!(passwords.computations(), before + 2);
        // The dummy hash has the configured cost, like the hashes of real users.
        let params = |phc: &str| phc.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&passwords.dummy), params(&real));
    }

    #[test]
    fn missing_or_garbage_hashes_never_verify() {
        let passwords = passwords();
        assert!(!passwords.verify("anything", None));
        assert!(!passwords.verify("anything", Some("not a phc string")));
        assert!(!passwords.verify("", None));
    }

    #[test]
    fn bad_parameters_are_an_error_not_a_panic() {
        let params = HashParams {
            m_cost: 1,
            t_cost: 1,
            p_cost: 1,
        };
        assert!(Passwords::new(params, 1, Arc::new(OsRandom)).is_err());
    }

    #[test]
    fn policy_checks_length_and_identifier() {
        assert_eq!(
            policy_violation("short", 8, None).map(|v| v.0),
            Some("password_too_short")
        );
        assert_eq!(
            policy_violation("Alice@Example.com", 8, Some("alice@example.com")).map(|v| v.0),
            Some("password_matches_identifier")
        );
        assert_eq!(
            policy_violation("alice123", 8, Some("alice123@example.com")).map(|v| v.0),
            Some("password_matches_identifier")
        );
        assert_eq!(policy_violation("a long passphrase", 8, Some("bob")), None);
        // Length counts characters, not bytes.
        assert_eq!(policy_violation("ääääääää", 8, None), None);
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(
            policy_violation(&huge, 8, None).map(|v| v.0),
            Some("password_too_long")
        );
    }

    #[test]
    fn limiter_bounds_concurrency() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limiter = Arc::new(Limiter::new(2));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    limiter.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    });
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }
}
