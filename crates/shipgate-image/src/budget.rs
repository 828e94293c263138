//! A bound on the file contents held in memory at once by all the layer
//! workers of a scan together.
//!
//! Each worker reads one file of interest at a time, but files can be large
//! (jars, RPM databases, executables up to `Limits::max_file_bytes`), and
//! with one worker per CPU the sum would grow with the number of CPUs. A
//! worker asks for the file's size before reading it and waits while other
//! workers hold too much.

use std::sync::{Condvar, Mutex, PoisonError};

/// Bytes of file contents that may be held at once.
#[derive(Debug)]
pub(crate) struct ReadBudget {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes held until dropped.
#[derive(Debug)]
pub(crate) struct Grant<'a> {
    budget: &'a ReadBudget,
    bytes: u64,
}

impl ReadBudget {
    pub(crate) fn new(limit: u64) -> ReadBudget {
        ReadBudget {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Waits until `bytes` fit in the budget. A request made while nothing
    /// is held is always granted, so a file larger than the limit is still
    /// read (alone) and no worker waits forever.
    pub(crate) fn acquire(&self, bytes: u64) -> Grant<'_> {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used > 0 && used.saturating_add(bytes) > self.limit {
            used = self
                .freed
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used = used.saturating_add(bytes);
        Grant {
            budget: self,
            bytes,
        }
    }

    #[cfg(test)]
    fn used(&self) -> u64 {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        let mut used = self
            .budget
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *used = used.saturating_sub(self.bytes);
        drop(used);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn never_more_than_the_limit_held_and_oversized_requests_pass_alone() {
        let budget = ReadBudget::new(100);
        {
            let big = budget.acquire(250);
            assert_eq!(budget.used(), 250);
            drop(big);
        }
        assert_eq!(budget.used(), 0);
        let peak = AtomicU64::new(0);
        let held = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (budget, peak, held) = (&budget, &peak, &held);
                s.spawn(move || {
                    for i in 0..200u64 {
                        let bytes = 10 + (t * 7 + i * 13) % 80;
                        let _grant = budget.acquire(bytes);
                        let now = held.fetch_add(bytes, Ordering::SeqCst) + bytes;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(bytes, Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(budget.used(), 0);
    }
}
