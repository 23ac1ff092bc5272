//! Group commit for a single writer connection: writes that wait for the writer are committed
//! together, in one transaction, each inside its own savepoint.
//!
//! SQLite has one writer connection (see [`Database::open_with`](crate::Database::open_with)).
//! Under load, the saves of several requests queue for it; committing them one by one costs a
//! `BEGIN`, a `COMMIT` and the WAL frames of every page each one touched. Here the first writer
//! to find nobody leading becomes the leader: it takes every write queued so far (up to
//! [`MAX_BATCH`]), runs them in one transaction and hands each its own result. A write that
//! fails (a lost compare-and-swap, a unique violation) is rolled back to its savepoint and
//! fails alone; the others commit. A failed `COMMIT` fails the whole batch: nothing of it was
//! written. A waiting caller is parked; the leader wakes the callers of its batch and, if
//! writes are still queued, the first of them to lead the next batch: no one else wakes.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::Thread;

use flow_engine::PortError;

/// The most writes one transaction takes, so that a leader's batch (and the time its callers
/// wait) stays bounded.
pub(crate) const MAX_BATCH: usize = 64;

/// A queue of writes of type `W` for one writer. See the module documentation.
pub(crate) struct GroupCommit<W> {
    queue: Mutex<Queue<W>>,
}

struct Queue<W> {
    pending: Vec<Arc<Job<W>>>,
    leading: bool,
}

/// One queued write and, once its batch is done, its result.
pub(crate) struct Job<W> {
    write: W,
    result: OnceLock<Result<(), PortError>>,
    /// The caller waiting for the result, unparked when it is in.
    caller: Thread,
}

impl<W> Job<W> {
    /// The write to apply.
    pub(crate) fn write(&self) -> &W {
        &self.write
    }
}

impl<W> Default for GroupCommit<W> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                pending: Vec::new(),
                leading: false,
            }),
        }
    }
}

impl<W> GroupCommit<W> {
    /// Queues `write` and returns its result once a batch holding it is done. `commit` runs a
    /// batch and answers one result per write, in order; it runs on whichever caller leads.
    pub(crate) fn submit(
        &self,
        write: W,
        commit: impl Fn(&[Arc<Job<W>>]) -> Vec<Result<(), PortError>>,
    ) -> Result<(), PortError> {
        let job = Arc::new(Job {
            write,
            result: OnceLock::new(),
            caller: std::thread::current(),
        });
        let mut queue = self.lock();
        queue.pending.push(job.clone());
        loop {
            if let Some(result) = job.result.get() {
                return result.clone();
            }
            if queue.leading {
                // An unpark that comes before the park is not lost: park returns at once.
                drop(queue);
                std::thread::park();
                queue = self.lock();
                continue;
            }
            queue.leading = true;
            let take = queue.pending.len().min(MAX_BATCH);
            let batch: Vec<_> = queue.pending.drain(..take).collect();
            drop(queue);
            let lead = Lead {
                group: self,
                batch: &batch,
            };
            let results = commit(&batch);
            for (job, result) in batch.iter().zip(results) {
                let _ = job.result.set(result);
            }
            drop(lead);
            queue = self.lock();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<W>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The leader's turn: when it ends (also by a panic in `commit`), every write of the batch
/// without a result fails, its callers are woken, the lead is given up and the first caller
/// still queued is woken to take it.
struct Lead<'a, W> {
    group: &'a GroupCommit<W>,
    batch: &'a [Arc<Job<W>>],
}

impl<W> Drop for Lead<'_, W> {
    fn drop(&mut self) {
        for job in self.batch {
            let _ = job.result.set(Err(PortError::Unavailable(
                "the batch holding this write did not finish".to_owned(),
            )));
            if job.caller.id() != std::thread::current().id() {
                job.caller.unpark();
            }
        }
        let mut queue = self.group.lock();
        queue.leading = false;
        let next = match queue.pending.as_slice() {
            [oldest, ..] => Some(oldest.caller.clone()),
            [] => None,
        };
        drop(queue);
        if let Some(next) = next {
            next.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::{Barrier, mpsc};
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lone_write_is_its_own_batch() {
        let group = GroupCommit::default();
        let sizes = Mutex::new(Vec::new());
        let result = group.submit(7, |batch| {
            sizes.lock().unwrap().push(batch.len());
            batch
                .iter()
                .map(|job| {
                    assert_eq!(*job.write(), 7);
                    Ok(())
                })
                .collect()
        });
        assert_eq!(result, Ok(()));
        assert_eq!(*sizes.lock().unwrap(), [1]);
    }

    #[test]
    fn writes_queued_behind_a_leader_share_the_next_batch_and_keep_their_own_results() {
        let group = Arc::new(GroupCommit::<u32>::default());
        let batches = Arc::new(Mutex::new(Vec::new()));
        let (entered, leader_inside) = mpsc::channel();
        let release = Arc::new(Barrier::new(2));
        let commit = {
            let batches = batches.clone();
            let release = release.clone();
            move |batch: &[Arc<Job<u32>>]| {
                let writes: Vec<u32> = batch.iter().map(|job| *job.write()).collect();
                if writes == [0] {
                    // The first leader holds its turn until the others have queued.
                    entered.send(()).unwrap();
                    release.wait();
                }
                batches.lock().unwrap().push(writes.clone());
                writes
                    .iter()
                    .map(|write| {
                        if write % 2 == 0 {
                            Ok(())
                        } else {
                            Err(PortError::Conflict)
                        }
                    })
                    .collect()
            }
        };
        let commit = Arc::new(Mutex::new(commit));
        let run = |write: u32| {
            let group = group.clone();
            let commit = commit.clone();
            std::thread::spawn(move || group.submit(write, |batch| (commit.lock().unwrap())(batch)))
        };
        let first = run(0);
        leader_inside.recv().unwrap();
        let others: Vec<_> = (1..=4).map(run).collect();
        // Let the four reach the queue before the leader finishes.
        while group.lock().pending.len() < 4 {
            std::thread::sleep(Duration::from_millis(1));
        }
        release.wait();
        assert_eq!(first.join().unwrap(), Ok(()));
        let results: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results,
            [
                Err(PortError::Conflict),
                Ok(()),
                Err(PortError::Conflict),
                Ok(())
            ]
        );
        let batches = batches.lock().unwrap();
        assert_eq!(batches.len(), 2, "{batches:?}");
        let mut second = batches[1].clone();
        second.sort_unstable();
        assert_eq!(second, [1, 2, 3, 4]);
    }

    #[test]
    fn a_leader_that_panics_fails_its_batch_and_hands_the_lead_on() {
        let group = Arc::new(GroupCommit::<u32>::default());
        let panicked = {
            let group = group.clone();
            std::thread::spawn(move || group.submit(1, |_| panic!("commit blew up")))
        };
        assert!(panicked.join().is_err());
        assert_eq!(group.submit(2, |batch| vec![Ok(()); batch.len()]), Ok(()));
    }

    #[test]
    fn a_batch_never_takes_more_than_the_bound() {
        let group = GroupCommit::<usize>::default();
        {
            let mut queue = group.lock();
            for write in 0..MAX_BATCH + 5 {
                queue.pending.push(Arc::new(Job {
                    write,
                    result: OnceLock::new(),
                    caller: std::thread::current(),
                }));
            }
        }
        let sizes = Mutex::new(Vec::new());
        group
            .submit(usize::MAX, |batch| {
                sizes.lock().unwrap().push(batch.len());
                vec![Ok(()); batch.len()]
            })
            .unwrap();
        assert_eq!(*sizes.lock().unwrap(), [MAX_BATCH, 6]);
    }
}
