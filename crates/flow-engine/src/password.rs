//! Password hashing (argon2id) with bounded concurrency, a dummy hash for unknown users, and
//! the policy for new passwords.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, PasswordHash, Version};
use flow_compiler::PasswordPolicy;
use unicode_general_category::{GeneralCategory, get_general_category};

use crate::config::HashParams;
use crate::imported_hash::StoredHash;
use crate::ports::Random;
use crate::{EngineError, lock};

/// The longest password accepted, in bytes: enough for any passphrase, short enough that a
/// hostile megabyte "password" cannot be used to burn CPU.
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2 memory, one buffer per computation allowed at once: a computation waits for a free
/// buffer and reuses it, so the 19 MiB of the production cost are allocated once per buffer
/// rather than once per call (a fresh allocation of that size costs about one call in eight
/// another 8 to 10 ms). The buffers also bound the concurrency: argon2 is memory-bound, and
/// more parallel computations than cores only queue for the memory bus.
#[derive(Debug)]
struct Workspaces {
    free: Mutex<Vec<Vec<Block>>>,
    available: Condvar,
    /// The blocks of the configured cost: what a buffer keeps between calls.
    kept_blocks: usize,
}

/// Puts the buffer back when dropped, also if the computation panicked.
struct Lease<'a> {
    pool: &'a Workspaces,
    buffer: Vec<Block>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.buffer);
        // A larger buffer (a stored hash of a higher cost) is not kept: its memory goes back.
        if buffer.capacity() > self.pool.kept_blocks {
            buffer.truncate(self.pool.kept_blocks);
            buffer.shrink_to_fit();
        }
        lock(&self.pool.free).push(buffer);
        self.pool.available.notify_one();
    }
}

impl Workspaces {
    fn new(count: usize, kept_blocks: usize) -> Self {
        Self {
            free: Mutex::new((0..count.max(1)).map(|_| Vec::new()).collect()),
            available: Condvar::new(),
            kept_blocks,
        }
    }

    /// Runs `work` with a buffer of at least `blocks` blocks, once one is free.
    fn run<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let mut free = lock(&self.free);
        let buffer = loop {
            if let Some(buffer) = free.pop() {
                break buffer;
            }
            free = self
                .available
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        };
        drop(free);
        let mut lease = Lease { pool: self, buffer };
        if lease.buffer.len() < blocks {
            lease.buffer.resize(blocks, Block::default());
        }
        work(lease.buffer.get_mut(..blocks).unwrap_or_default())
    }
}

/// How a verified password's stored hash compares with the configured cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    /// The password does not match (or there was no usable hash).
    No,
    /// It matches, and the hash has the configured algorithm and cost.
    Yes,
    /// It matches, but the hash was made another way (other parameters, argon2i, an older
    /// version): re-hash it now that the password is known.
    YesRehash,
}

impl Verified {
    /// Whether the password matched.
    pub(crate) fn matched(self) -> bool {
        self != Self::No
    }
}

/// Hashes and verifies passwords with argon2id.
pub(crate) struct Passwords {
    params: argon2::Params,
    workspaces: Workspaces,
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
            workspaces: Workspaces::new(concurrency, params.block_count()),
            params,
            random,
            computations: AtomicU64::new(0),
            dummy: String::new(),
        };
        let mut secret = [0u8; 32];
        passwords.random.fill(&mut secret);
        passwords.dummy = passwords.hash(&crate::code::hex(&secret))?;
        Ok(passwords)
    }

    /// How many argon2 computations ran so far.
    pub(crate) fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// An argon2id PHC string for `password` with a fresh random salt.
    pub(crate) fn hash(&self, password: &str) -> Result<String, EngineError> {
        let failed = |error: &dyn std::fmt::Display| {
            EngineError::Internal(format!("argon2 hashing: {error}"))
        };
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        let mut output = [0u8; argon2::Params::DEFAULT_OUTPUT_LEN];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.workspaces
            .run(self.params.block_count(), |memory| {
                argon.hash_password_into_with_memory(
                    password.as_bytes(),
                    &salt,
                    &mut output,
                    memory,
                )
            })
            .map_err(|error| failed(&error))?;
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|error| failed(&error))?,
            salt: Some(Salt::new(&salt).map_err(|error| failed(&error))?),
            hash: Some(Output::new(&output).map_err(|error| failed(&error))?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored` (any argon2 variant and cost, or a hash of another
    /// scheme that an import brought), and whether the hash should be re-made with the
    /// configured cost. Without a usable stored hash (unknown user, user without password,
    /// unreadable hash) it verifies against the dummy hash and says no, so that every "no"
    /// costs the same.
    pub(crate) fn verify(&self, password: &str, stored: Option<&str>) -> Verified {
        self.computations.fetch_add(1, Ordering::Relaxed);
        match stored.and_then(StoredHash::parse) {
            Some(StoredHash::Argon2(hash)) => self.verify_argon2(password, &hash, true),
            Some(StoredHash::Foreign(foreign)) => {
                // The buffers also bound how many hashes of any scheme run at once.
                if self.workspaces.run(0, |_| foreign.verify(password)) {
                    Verified::YesRehash
                } else {
                    Verified::No
                }
            }
            None => match PasswordHash::new(&self.dummy) {
                Ok(dummy) => self.verify_argon2(password, &dummy, false),
                Err(_) => Verified::No,
            },
        }
    }

    /// [`Self::verify`] for an argon2 hash; `real` is false for the dummy hash, which never
    /// matches.
    fn verify_argon2(&self, password: &str, hash: &PasswordHash, real: bool) -> Verified {
        let Some(setting) = Setting::of(hash) else {
            return Verified::No;
        };
        let Some((salt, expected)) = hash.salt.as_ref().zip(hash.hash.as_ref()) else {
            return Verified::No;
        };
        let mut output = [0u8; Output::MAX_LENGTH];
        let Some(output) = output.get_mut(..expected.len()) else {
            return Verified::No;
        };
        let argon = Argon2::new(setting.algorithm, setting.version, setting.params.clone());
        let computed = self.workspaces.run(setting.params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), output, memory)
        });
        // `Output`'s comparison takes constant time.
        let matches =
            computed.is_ok() && Output::new(output).is_ok_and(|output| &output == expected);
        match (matches && real, setting.is(&self.params)) {
            (false, _) => Verified::No,
            (true, true) => Verified::Yes,
            (true, false) => Verified::YesRehash,
        }
    }
}

/// The argon2 variant, version and cost a stored hash was made with.
struct Setting {
    algorithm: Algorithm,
    version: Version,
    params: argon2::Params,
}

impl Setting {
    /// The setting of a PHC string; `None` if it is not argon2 or its parameters are unusable.
    fn of(hash: &PasswordHash) -> Option<Self> {
        let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
        let version = match hash.version {
            Some(number) => Version::try_from(number).ok()?,
            None => Version::default(),
        };
        let params = argon2::Params::try_from(hash).ok()?;
        Some(Self {
            algorithm,
            version,
            params,
        })
    }

    /// Whether this is argon2id, version 0x13, with the cost of `params`.
    fn is(&self, params: &argon2::Params) -> bool {
        self.algorithm == Algorithm::Argon2id
            && self.version == Version::V0x13
            && self.params.m_cost() == params.m_cost()
            && self.params.t_cost() == params.t_cost()
            && self.params.p_cost() == params.p_cost()
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

    impl Passwords {
        fn verify_matches(&self, password: &str, stored: Option<&str>) -> bool {
            self.verify(password, stored).matched()
        }
    }

    #[test]
    fn hashes_of_the_argon2_crate_verify_and_other_costs_ask_for_a_rehash() {
        use argon2::password_hash::PasswordHasher as _;
        let passwords = passwords();
        let salt = [7u8; 16];
        let made = |algorithm, m_cost, t_cost| {
            let params = argon2::Params::new(m_cost, t_cost, 1, None).unwrap();
            Argon2::new(algorithm, Version::V0x13, params)
                .hash_password_with_salt(b"correct horse", &salt)
                .unwrap()
                .to_string()
        };
        // The same cost as configured, made by the crate's own hasher: no rehash.
        let same = made(Algorithm::Argon2id, 1024, 1);
        assert_eq!(
            passwords.verify("correct horse", Some(&same)),
            Verified::Yes
        );
        assert_eq!(passwords.verify("wrong horse", Some(&same)), Verified::No);
        // Another cost, and argon2i: they verify, and ask to be re-made.
        for other in [
            made(Algorithm::Argon2id, 2048, 1),
            made(Algorithm::Argon2id, 1024, 2),
            made(Algorithm::Argon2i, 1024, 1),
        ] {
            assert_eq!(
                passwords.verify("correct horse", Some(&other)),
                Verified::YesRehash,
                "{other}"
            );
            assert_eq!(passwords.verify("wrong horse", Some(&other)), Verified::No);
        }
        // Our hashes verify with the crate's verifier too.
        use argon2::password_hash::PasswordVerifier as _;
        let ours = passwords.hash("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // A larger buffer than the configured one is not kept.
        let kept = lock(&passwords.workspaces.free)
            .iter()
            .map(Vec::capacity)
            .max()
            .unwrap();
        assert_eq!(kept, 1024);
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let passwords = passwords();
        let first = passwords.hash("correct horse").unwrap();
        let second = passwords.hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_ne!(first, second);
        assert_eq!(
            passwords.verify("correct horse", Some(&first)),
            Verified::Yes
        );
        assert_eq!(passwords.verify("wrong horse", Some(&first)), Verified::No);
    }

    #[test]
    fn unknown_users_cost_a_real_verification() {
        let passwords = passwords();
        let real = passwords.hash("secret").unwrap();
        let before = passwords.computations();
        assert!(!passwords.verify_matches("secret", None));
        assert_eq!(passwords.computations(), before + 1);
        assert!(!passwords.verify_matches("secret", Some("garbage")));
        assert_eq!(passwords.computations(), before + 2);
        // The dummy hash has the configured cost, like the hashes of real users.
        let params = |phc: &str| phc.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(&passwords.dummy), params(&real));
    }

    #[test]
    fn missing_or_garbage_hashes_never_verify() {
        let passwords = passwords();
        assert!(!passwords.verify_matches("anything", None));
        assert!(!passwords.verify_matches("anything", Some("not a phc string")));
        assert!(!passwords.verify_matches("", None));
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
    fn workspaces_bound_concurrency_and_hand_out_big_enough_buffers() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let limiter = Arc::new(Workspaces::new(2, 8));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (limiter, running, peak) = (limiter.clone(), running.clone(), peak.clone());
                std::thread::spawn(move || {
                    limiter.run(8, |memory| {
                        assert_eq!(memory.len(), 8);
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
        // Both buffers are back in the pool, each allocated at most once and kept.
        let kept = lock(&limiter.free);
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().any(|buffer| buffer.len() == 8));
        assert!(
            kept.iter()
                .all(|buffer| buffer.is_empty() || buffer.len() == 8)
        );
    }
}
