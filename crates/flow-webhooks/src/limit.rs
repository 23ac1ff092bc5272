//! The bound on webhook calls in flight: a counter under a mutex, and a condition variable on
//! which callers past the bound wait until a call ends or their own deadline passes.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

/// At most `max` holders of a [`Permit`] at a time.
#[derive(Debug)]
pub(crate) struct Limiter {
    max: usize,
    in_flight: Mutex<usize>,
    freed: Condvar,
}

/// One call in flight; dropping it lets a waiting caller in.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Limiter {
    /// A limiter of `max` calls in flight.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            in_flight: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// A permit, waiting for one until `deadline`; `None` when the deadline passed first.
    pub(crate) fn acquire(&self, deadline: Instant) -> Option<Permit<'_>> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *in_flight >= self.max {
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            in_flight = self
                .freed
                .wait_timeout(in_flight, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *in_flight += 1;
        Some(Permit { limiter: self })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut in_flight = self
            .limiter
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_flight = in_flight.saturating_sub(1);
        drop(in_flight);
        self.limiter.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_caller_past_the_bound_waits_until_its_deadline() {
        let limiter = Limiter::new(1);
        let first = limiter.acquire(Instant::now() + Duration::from_secs(1));
        assert!(first.is_some());
        let started = Instant::now();
        assert!(
            limiter
                .acquire(Instant::now() + Duration::from_millis(50))
                .is_none()
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(first);
        assert!(limiter.acquire(Instant::now()).is_some());
    }

    #[test]
    fn a_freed_permit_wakes_a_waiting_caller() {
        let limiter = Arc::new(Limiter::new(1));
        let held = limiter.acquire(Instant::now() + Duration::from_secs(1));
        let waiter = {
            let limiter = Arc::clone(&limiter);
            std::thread::spawn(move || {
                limiter
                    .acquire(Instant::now() + Duration::from_secs(5))
                    .is_some()
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
        assert!(waiter.join().unwrap());
    }
}
