//! The ceiling for sign-ins: how many argon2id verifications two threads make per second on
//! this machine, with the server's hashing parameters. A password sign-in verifies once, so
//! flowd's sign-ins per second are compared with this rate (issue 16 asks for 0.9 of it).

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Threads the rate is measured with: the machine's two cores.
pub(crate) const THREADS: usize = 2;

/// argon2id's cost parameters, as flowd reads them from `FLOWD_PASSWORD_HASH_*`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HashCost {
    /// Memory in KiB.
    pub(crate) memory_kib: u32,
    /// Passes over the memory.
    pub(crate) iterations: u32,
    /// Lanes.
    pub(crate) parallelism: u32,
}

/// Verifications per second over `THREADS` threads, each running for `duration` and reusing
/// one memory buffer as the server does. An error if the parameters are not valid argon2.
pub(crate) fn rate(cost: HashCost, duration: Duration) -> Result<f64, String> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|error| format!("argon2 parameters: {error}"))?;
    let start = Instant::now();
    let counts: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| verify_for(&params, duration)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err("a verify thread panicked".into()))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let mut total = 0;
    for count in counts {
        total += count?;
    }
    Ok(total as f64 / elapsed)
}

/// The argon2id PHC string of `password` with `cost` and `salt` (what flowd would store).
pub(crate) fn argon2id_hash(cost: HashCost, password: &str, salt: &[u8]) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher as _;
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|error| format!("argon2 parameters: {error}"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|hash| hash.to_string())
        .map_err(|error| format!("argon2: {error}"))
}

/// Hashes a fixed password with a fixed salt until `duration` has passed, and checks each
/// output against the first (which is what a verification does); returns how many ran.
fn verify_for(params: &Params, duration: Duration) -> Result<u64, String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = vec![Block::default(); params.block_count()];
    let (password, salt) = (b"correct horse battery staple", b"flowd-load-salt!");
    let mut expected = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(password, salt, &mut expected, &mut memory)
        .map_err(|error| format!("argon2: {error}"))?;
    let start = Instant::now();
    let mut count = 0;
    while start.elapsed() < duration {
        let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon
            .hash_password_into_with_memory(password, salt, &mut output, &mut memory)
            .map_err(|error| format!("argon2: {error}"))?;
        if output != expected {
            return Err("argon2 gave two answers for one input".into());
        }
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheap_parameters_give_a_positive_rate() {
        let cost = HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let rate = rate(cost, Duration::from_millis(50)).unwrap();
        assert!(rate > 0.0, "{rate}");
    }

    #[test]
    fn invalid_parameters_are_an_error() {
        let cost = HashCost {
            memory_kib: 1,
            iterations: 0,
            parallelism: 0,
        };
        assert!(rate(cost, Duration::from_millis(10)).is_err());
    }
}
