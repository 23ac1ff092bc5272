//! Password hashing (argon2id) with bounded concurrency, a dummy hash for unknown users, and
//! the policy for new passwords.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use flow_compiler::PasswordPolicy;
use unicode_general_category::{GeneralCategory, get_general_category};

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

/// How many characters of a new password the strength estimator sees. Its cost grows with
/// the length, so a 1 KiB password would burn CPU; 64 characters are far beyond the score of 4
/// (more than 10^10 guesses) for anything but a repetition, which its prefix shows as well.
pub(crate) const ESTIMATED_CHARS: usize = 64;

/// The shortest identifier (or local part of one) that a password may not contain: shorter
/// parts (`al` of `al@example.com`) occur in too many honest passphrases. They are still
/// given to the estimator, which then counts them as easy to guess.
const MIN_CONTAINED_CHARS: usize = 4;

/// Why a new password is refused; each reason is one field error code with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    /// Fewer visible characters than the policy's `min_length`.
    TooShort(u32),
    /// More than [`MAX_PASSWORD_BYTES`].
    TooLong,
    /// Only whitespace, control or format characters (NULs, U+202E).
    InvalidCharacters,
    /// The identifier itself, or its local part.
    MatchesIdentifier,
    /// Contains the identifier or its local part.
    ContainsIdentifier,
    /// A strength score under the policy's `min_score`: a common or guessable password.
    TooWeak,
}

impl Violation {
    /// The stable field error code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::TooShort(_) => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::InvalidCharacters => "password_invalid_characters",
            Self::MatchesIdentifier => "password_matches_identifier",
            Self::ContainsIdentifier => "password_contains_identifier",
            Self::TooWeak => "password_too_weak",
        }
    }

    /// The message for the user.
    pub(crate) fn message(self) -> String {
        match self {
            Self::TooShort(min_length) => {
                format!("The password must be at least {min_length} characters long.")
            }
            Self::TooLong => {
                format!("The password must be at most {MAX_PASSWORD_BYTES} bytes long.")
            }
            Self::InvalidCharacters => "The password must contain letters, digits or symbols, \
                                        not only spaces or invisible characters."
                .to_owned(),
            Self::MatchesIdentifier => {
                "The password must not be your e-mail address or username.".to_owned()
            }
            Self::ContainsIdentifier => {
                "The password must not contain your e-mail address or username.".to_owned()
            }
            Self::TooWeak => "The password is too easy to guess. \
                              Use a longer passphrase of several unrelated words."
                .to_owned(),
        }
    }
}

/// Checks a new password against `policy` (NIST SP 800-63B): long enough, not only invisible
/// characters, not the identifier nor containing it, and not common or guessable by the
/// strength estimator (zxcvbn, which knows lists of common passwords, words, names, keyboard
/// patterns, sequences and dates). Control and format characters do not count: they are
/// invisible, so `password` followed by U+202E is still `password`. The password is hashed
/// exactly as typed; this only decides whether it is accepted.
pub(crate) fn policy_violation(
    password: &str,
    policy: PasswordPolicy,
    identifier: Option<&str>,
) -> Option<Violation> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Some(Violation::TooLong);
    }
    let visible: String = password.chars().filter(|c| !invisible(*c)).collect();
    if !password.is_empty() && visible.chars().all(char::is_whitespace) {
        return Some(Violation::InvalidCharacters);
    }
    let length = visible.chars().count();
    if length < usize::try_from(policy.min_length).unwrap_or(usize::MAX) {
        return Some(Violation::TooShort(policy.min_length));
    }
    let identifier = identifier.map(str::to_lowercase);
    let local_part = identifier
        .as_deref()
        .and_then(|identifier| identifier.split_once('@'))
        .map(|(local, _)| local.to_owned());
    let user_inputs: Vec<&str> = identifier
        .iter()
        .chain(&local_part)
        .map(String::as_str)
        .collect();
    let lowered = visible.to_lowercase();
    if user_inputs.contains(&lowered.trim()) {
        return Some(Violation::MatchesIdentifier);
    }
    if user_inputs
        .iter()
        .any(|part| part.chars().count() >= MIN_CONTAINED_CHARS && lowered.contains(part))
    {
        return Some(Violation::ContainsIdentifier);
    }
    let estimated: String = visible.chars().take(ESTIMATED_CHARS).collect();
    let score = u8::from(zxcvbn::zxcvbn(&estimated, &user_inputs).score());
    (score < policy.min_score).then_some(Violation::TooWeak)
}

/// Whether `c` is invisible: a control (NUL, ESC) or format character (U+202E, zero-width
/// space, soft hyphen, byte order mark).
fn invisible(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control | GeneralCategory::Format
    )
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

    /// The default policy of a `password_input` node.
    fn default_policy() -> PasswordPolicy {
        let config = flow_model::PasswordInputConfig::default();
        PasswordPolicy {
            min_length: config.min_length,
            min_score: config.min_score,
            confirm: config.confirm,
        }
    }

    fn code(password: &str, identifier: Option<&str>) -> Option<&'static str> {
        policy_violation(password, default_policy(), identifier).map(Violation::code)
    }

    const STRONG: &str = "plum tractor velvet orbit";

    #[test]
    fn the_probes_of_the_security_review_are_refused() {
        assert_eq!(code("password", None), Some("password_too_weak"));
        assert_eq!(code("12345678", None), Some("password_too_weak"));
        assert_eq!(code("        ", None), Some("password_invalid_characters"));
        assert_eq!(
            code(&"\0".repeat(8), None),
            Some("password_invalid_characters")
        );
        assert_eq!(
            code(&"\u{202E}".repeat(8), None),
            Some("password_invalid_characters")
        );
        let alice = Some("alice.liddell@example.com");
        assert_eq!(
            code("Alice.Liddell@example.com", alice),
            Some("password_matches_identifier")
        );
        assert_eq!(
            code(" alice.liddell ", alice),
            Some("password_matches_identifier")
        );
        assert_eq!(
            code("my name is Alice.Liddell, ok", alice),
            Some("password_contains_identifier")
        );
        assert_eq!(
            code("alice.liddell@example.com rocks", alice),
            Some("password_contains_identifier")
        );
    }

    #[test]
    fn a_strong_passphrase_passes() {
        assert_eq!(code(STRONG, None), None);
        assert_eq!(code(STRONG, Some("alice.liddell@example.com")), None);
        assert_eq!(code(STRONG, Some("bob")), None);
    }

    #[test]
    fn common_and_patterned_passwords_are_too_weak() {
        for weak in [
            "password1",
            "Password123!",
            "qwertyuiop",
            "iloveyou",
            "abcdefgh",
            "11111111",
            "letmein123",
        ] {
            assert_eq!(code(weak, None), Some("password_too_weak"), "{weak}");
        }
    }

    #[test]
    fn the_identifier_is_an_input_of_the_estimator() {
        // Not contained (the local part is too short to refuse by containment), but an
        // identifier-based password is still judged easy to guess.
        let policy = PasswordPolicy {
            min_score: 4,
            ..default_policy()
        };
        let weak = policy_violation("zoeyzoey2026", policy, Some("zoe@example.com"));
        assert_eq!(weak, Some(Violation::TooWeak));
        // A short local part is not refused by containment alone.
        assert_eq!(code("al plum tractor velvet", Some("al@example.com")), None);
    }

    #[test]
    fn invisible_characters_do_not_count() {
        // `password` with format characters around it is still `password`.
        assert_eq!(
            code("\u{202E}password\u{200B}", None),
            Some("password_too_weak")
        );
        // Seven visible characters and a NUL are too short.
        assert_eq!(code("plumtr\u{0}x", None), Some("password_too_short"));
        // Spaces inside a passphrase are fine; only-whitespace is not.
        assert_eq!(
            code("\t \u{3000}\n   \u{2028}", None),
            Some("password_invalid_characters")
        );
    }

    #[test]
    fn length_is_checked_in_characters_and_bounded_in_bytes() {
        assert_eq!(code("short", None), Some("password_too_short"));
        // Length counts characters, not bytes.
        assert_ne!(code("ä€ß😀ä€ß😀", None), Some("password_too_short"));
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(code(&huge, None), Some("password_too_long"));
        // A strong password at the byte limit passes: the estimator sees a bounded prefix.
        let mut long = STRONG.repeat(MAX_PASSWORD_BYTES / STRONG.len());
        long.truncate(MAX_PASSWORD_BYTES);
        assert_eq!(code(&long, None), None);
    }

    #[test]
    fn min_score_decides_how_strong_is_strong_enough() {
        let at = |min_score: u8| PasswordPolicy {
            min_score,
            ..default_policy()
        };
        // "summer2019" is guessable, but not among the first thousand guesses.
        let middling = "summer2019";
        assert_eq!(policy_violation(middling, at(1), None), None);
        assert_eq!(
            policy_violation(middling, at(4), None),
            Some(Violation::TooWeak)
        );
        assert_eq!(policy_violation(STRONG, at(4), None), None);
    }

    #[test]
    fn every_violation_has_a_code_and_a_message() {
        for violation in [
            Violation::TooShort(8),
            Violation::TooLong,
            Violation::InvalidCharacters,
            Violation::MatchesIdentifier,
            Violation::ContainsIdentifier,
            Violation::TooWeak,
        ] {
            assert!(violation.code().starts_with("password_"));
            assert!(
                violation.message().ends_with('.'),
                "{}",
                violation.message()
            );
        }
        assert!(Violation::TooShort(12).message().contains("12"));
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
