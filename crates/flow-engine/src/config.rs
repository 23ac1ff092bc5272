//! Engine settings: lifetimes, attempt limits (per execution and per user) and argon2 cost.

use crate::{DEFAULT_PROGRAM_CACHE_CAPACITY, PasskeySettings};

/// Argon2id cost parameters for password hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl HashParams {
    /// The argon2 crate's defaults, which follow OWASP's minimum for argon2id:
    /// m = 19456 KiB, t = 2, p = 1 (about 20 to 40 ms per hash on one core).
    pub fn production() -> Self {
        Self {
            m_cost: argon2::Params::DEFAULT_M_COST,
            t_cost: argon2::Params::DEFAULT_T_COST,
            p_cost: argon2::Params::DEFAULT_P_COST,
        }
    }

    /// Whether these parameters reach OWASP's minimum for argon2id (Password Storage Cheat
    /// Sheet): 47104 KiB with t = 1, 19456 KiB with t = 2, 12288 KiB with t = 3, 9216 KiB with
    /// t = 4, or 7168 KiB with t = 5 or more, each with at least one lane.
    pub fn meets_owasp_minimum(&self) -> bool {
        let needed_kib = match self.t_cost {
            0 => return false,
            1 => 47_104,
            2 => 19_456,
            3 => 12_288,
            4 => 9_216,
            _ => 7_168,
        };
        self.p_cost >= 1 && self.m_cost >= needed_kib
    }

    /// Checks that argon2 accepts these parameters (memory at least 8 KiB per lane, at least
    /// one iteration, 1 to 2^24 - 1 lanes); the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, None)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    /// Cheap parameters (m = 1024 KiB, t = 1, p = 1) for tests and benchmarks. **Never** use
    /// them for real passwords.
    pub fn insecure_for_tests() -> Self {
        Self {
            m_cost: 1024,
            t_cost: 1,
            p_cost: 1,
        }
    }
}

/// How the engine behaves. There is no `Default`: start from [`EngineConfig::recommended`] and
/// change what you need, so that a changed recommendation is a visible choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long an execution can be resumed after it started, in seconds (recommended: 900).
    pub execution_ttl_secs: i64,
    /// Failed password or code attempts per execution before it fails with
    /// `too_many_attempts` (recommended: 5).
    pub max_attempts: u32,
    /// How long a one-time code stays valid, in seconds (recommended: 600).
    pub code_ttl_secs: i64,
    /// Argon2id cost (recommended: [`HashParams::production`]).
    pub hash: HashParams,
    /// How many argon2 computations may run at once, process-wide for this engine
    /// (recommended: the number of cores). Further ones wait, which bounds memory and keeps
    /// the blocking pool from being monopolized.
    pub hash_concurrency: usize,
    /// Steps one start or resume may run before it is stopped as a runaway loop
    /// (recommended: 256).
    pub max_steps_per_run: usize,
    /// How long, in seconds, an execution may stay `running` (a request is running its server
    /// steps) before another request may take it over (recommended: 120). A process that dies
    /// mid-request leaves its execution `running`; after this lease the next request finishes
    /// the server steps and shows the next prompt, instead of a conflict until expiry.
    pub running_lease_secs: i64,
    /// Failed sign-ins of one user, across all executions, within
    /// [`user_failure_window_secs`](Self::user_failure_window_secs) that lock the user for
    /// [`user_lock_secs`](Self::user_lock_secs) (recommended: 10; 0 turns the per-user limit
    /// off).
    pub user_max_failures: u32,
    /// How long the per-user failure count runs from the first failure, in seconds
    /// (recommended: 900).
    pub user_failure_window_secs: i64,
    /// How long a user stays locked after reaching the limit, in seconds (recommended: 900).
    pub user_lock_secs: i64,
    /// How many compiled programs the engine keeps in memory for the executions that
    /// reference them (recommended: [`DEFAULT_PROGRAM_CACHE_CAPACITY`]); a miss reads the
    /// program from the flow repository.
    pub program_cache_capacity: usize,
    /// How long events stay in the event log, in seconds (recommended: 90 days); 0 keeps
    /// them forever. [`Engine::delete_expired`](crate::Engine::delete_expired) deletes older
    /// ones.
    pub event_retention_secs: i64,
    /// The relying party of passkeys (recommended: [`PasskeySettings::for_public_url`] of the
    /// server's public URL; `http://localhost` here).
    pub passkeys: PasskeySettings,
    /// Social login: where identity providers send the person back to the server.
    pub federation: FederationSettings,
}

/// Settings of sign-ins through identity providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederationSettings {
    /// The server's public URL (`https://id.example.com`, no trailing slash): the server's
    /// callback is `{public_url}/source/oauth/callback/{provider}/`.
    pub public_url: String,
}

impl FederationSettings {
    /// Settings for a server reachable at `public_url`.
    pub fn for_public_url(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The server's callback URL for `provider`.
    pub fn callback_url(&self, provider: &str) -> String {
        format!("{}/source/oauth/callback/{provider}/", self.public_url)
    }
}

impl EngineConfig {
    /// The recommended settings: 15-minute executions, 5 attempts per execution, 10-minute
    /// codes, production argon2 parameters, hashing bounded by the core count, and a user
    /// locked for 15 minutes after 10 failed sign-ins within 15 minutes, and events kept for 90
    /// days.
    pub fn recommended() -> Self {
        Self {
            execution_ttl_secs: 900,
            max_attempts: 5,
            code_ttl_secs: 600,
            hash: HashParams::production(),
            hash_concurrency: std::thread::available_parallelism().map_or(1, usize::from),
            max_steps_per_run: 256,
            running_lease_secs: 120,
            user_max_failures: 10,
            user_failure_window_secs: 900,
            user_lock_secs: 900,
            program_cache_capacity: DEFAULT_PROGRAM_CACHE_CAPACITY,
            event_retention_secs: 90 * 86_400,
            passkeys: PasskeySettings::for_public_url("http://localhost"),
            federation: FederationSettings::for_public_url("http://localhost:8080"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HashParams;

    fn params(m_cost: u32, t_cost: u32, p_cost: u32) -> HashParams {
        HashParams {
            m_cost,
            t_cost,
            p_cost,
        }
    }

    #[test]
    fn the_owasp_minimum_trades_memory_for_iterations() {
        assert!(HashParams::production().meets_owasp_minimum());
        assert!(params(47_104, 1, 1).meets_owasp_minimum());
        assert!(!params(47_103, 1, 1).meets_owasp_minimum());
        assert!(!params(19_455, 2, 1).meets_owasp_minimum());
        assert!(params(12_288, 3, 1).meets_owasp_minimum());
        assert!(params(7_168, 9, 1).meets_owasp_minimum());
        assert!(!params(7_167, 9, 1).meets_owasp_minimum());
        assert!(!params(65_536, 0, 1).meets_owasp_minimum());
        assert!(!HashParams::insecure_for_tests().meets_owasp_minimum());
    }

    #[test]
    fn argon2_refuses_unusable_parameters() {
        assert!(HashParams::production().check().is_ok());
        assert!(params(1, 1, 1).check().is_err());
        assert!(params(1024, 0, 1).check().is_err());
        assert!(params(1024, 1, 0).check().is_err());
    }
}
