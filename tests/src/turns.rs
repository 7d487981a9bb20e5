//! Turn-taking between the requests a test sends a server and the harness's own reads and
//! writes of that server's stored state (its local D1 and KV files, wrangler CLI calls).
//!
//! Both are processes on the same SQLite files, and `workerd` sets no busy timeout: a
//! harness write while the Worker writes makes the Worker's write fail with SQLITE_BUSY (a
//! 500, or a lost KV record). So a state call waits until no request is in flight
//! (requests run concurrently with each other), and before it writes it also waits until
//! [`QUIET`] has passed since the last answer: a Worker goes on after its answer (it
//! writes the idempotency record to KV in `waitUntil`). Without that pause a test that
//! polled KV while another test thread deleted a key lost a record about once in twelve
//! runs of `idempotency.rs` side by side. Reads need no pause: the databases are in WAL
//! mode, where a reader never holds up a writer.

use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// How long after the last answer the harness waits before it writes.
pub(crate) const QUIET: Duration = Duration::from_secs(1);

/// The turns of one server.
#[derive(Debug)]
pub(crate) struct Turns {
    lock: RwLock<()>,
    last_answer: Mutex<Instant>,
}

impl Default for Turns {
    fn default() -> Self {
        Turns {
            lock: RwLock::new(()),
            last_answer: Mutex::new(Instant::now()),
        }
    }
}

/// A request's turn: taken before it is sent, given back when its answer is read.
pub(crate) struct RequestTurn<'a> {
    turns: &'a Turns,
    _shared: RwLockReadGuard<'a, ()>,
}

impl Drop for RequestTurn<'_> {
    fn drop(&mut self) {
        *self
            .turns
            .last_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
}

/// The harness's turn on the stored state: no request is in flight while it is held.
pub(crate) struct StateTurn<'a> {
    turns: &'a Turns,
    _exclusive: RwLockWriteGuard<'a, ()>,
}

impl StateTurn<'_> {
    /// Waits until [`QUIET`] has passed since the last answer; call it before writing.
    pub(crate) fn before_write(&self) {
        let last = *self
            .turns
            .last_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let since = last.elapsed();
        if since < QUIET {
            std::thread::sleep(QUIET - since);
        }
    }
}

impl Turns {
    pub(crate) fn request(&self) -> RequestTurn<'_> {
        RequestTurn {
            turns: self,
            _shared: self.lock.read().unwrap_or_else(PoisonError::into_inner),
        }
    }

    pub(crate) fn state(&self) -> StateTurn<'_> {
        StateTurn {
            turns: self,
            _exclusive: self.lock.write().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_waits_for_the_quiet_period_after_the_last_answer() {
        let turns = Turns::default();
        drop(turns.request());
        let start = Instant::now();
        turns.state().before_write();
        assert!(start.elapsed() >= QUIET - Duration::from_millis(50));
        let start = Instant::now();
        turns.state().before_write();
        assert!(
            start.elapsed() < Duration::from_millis(50),
            "no answer since"
        );
    }
}
