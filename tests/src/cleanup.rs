//! The cleanup registry: the process groups to stop and the directories to remove when a
//! [`Server`](crate::Server) is dropped, and at process exit (a libc `atexit` handler) for
//! whatever is still registered.

use crate::process_group::stop_group;
use std::fs;
use std::panic;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

pub(crate) fn keep_state() -> bool {
    std::env::var_os("E2E_KEEP_STATE").is_some_and(|v| !v.is_empty())
}

pub(crate) struct Cleanup {
    pub(crate) id: u64,
    /// Process group of `wrangler dev` (= pid of the spawned wrangler, our child).
    pub(crate) pgid: Option<i32>,
    /// Pid (= pgid = sid) of the watchdog shell, our child.
    pub(crate) watchdog: Option<i32>,
    /// Where the watchdog reads `pgid` from; removed even with `E2E_KEEP_STATE`.
    pub(crate) pgid_file: Option<PathBuf>,
    pub(crate) dirs: Vec<PathBuf>,
}

static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();
static IDS: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_id() -> u64 {
    IDS.fetch_add(1, Ordering::Relaxed)
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn register(c: Cleanup) -> u64 {
    ATEXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" fn; it never unwinds (see run_atexit).
        let rc = unsafe { libc::atexit(run_atexit) };
        assert_eq!(rc, 0, "atexit registration failed");
    });
    let id = c.id;
    lock(&CLEANUPS).push(c);
    id
}

pub(crate) fn update(id: u64, f: impl FnOnce(&mut Cleanup)) {
    if let Some(c) = lock(&CLEANUPS).iter_mut().find(|c| c.id == id) {
        f(c);
    }
}

pub(crate) fn unregister(id: u64) -> Option<Cleanup> {
    let mut list = lock(&CLEANUPS);
    let i = list.iter().position(|c| c.id == id)?;
    Some(list.remove(i))
}

extern "C" fn run_atexit() {
    // A panic must not cross the FFI boundary.
    let _ = panic::catch_unwind(|| {
        let list = std::mem::take(&mut *lock(&CLEANUPS));
        // Newest first: servers before the scratch copies they run from.
        for c in list.into_iter().rev() {
            c.run();
        }
    });
}

impl Cleanup {
    pub(crate) fn run(self) {
        if let Some(pgid) = self.pgid {
            stop_group(pgid);
        }
        if let Some(w) = self.watchdog {
            // SAFETY: plain syscalls on pids we spawned.
            unsafe {
                libc::kill(-w, libc::SIGKILL);
                libc::waitpid(w, std::ptr::null_mut(), 0);
            }
        }
        if let Some(f) = &self.pgid_file {
            let _ = fs::remove_file(f);
        }
        for dir in &self.dirs {
            if !dir.exists() {
                continue;
            }
            if keep_state() {
                eprintln!("connect-e2e: E2E_KEEP_STATE is set, kept {}", dir.display());
            } else {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}
