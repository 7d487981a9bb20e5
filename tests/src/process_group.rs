//! Process groups: whether one still exists, and stopping one (SIGTERM, then SIGKILL).

use std::time::{Duration, Instant};

/// Whether any process of the group still exists (zombies included).
pub fn process_group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn reap(pid: i32) {
    // SAFETY: non-blocking wait on our own child; a no-op once it has been reaped.
    unsafe {
        libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
    }
}

fn wait_group_gone(pgid: i32, limit: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        reap(pgid);
        if !process_group_exists(pgid) {
            return true;
        }
        if t0.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to the group, SIGKILL after 3 s, and wait (reaping the leader, our child).
pub(crate) fn stop_group(pgid: i32) {
    // SAFETY: signals to a process group we created.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    if !wait_group_gone(pgid, Duration::from_secs(3)) {
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        if !wait_group_gone(pgid, Duration::from_secs(5)) {
            eprintln!("connect-e2e: process group {pgid} still exists after SIGKILL");
        }
    }
}
