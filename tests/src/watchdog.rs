//! The watchdog: a detached shell that stops a server's process group and removes its
//! directories when the test process dies without running its `atexit` handler.

use crate::cleanup::keep_state;
use std::fs;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Starts the watchdog: a detached shell (own session) that waits until this process is
/// gone (or a zombie), then kills the process group whose id is in `pgid_file` (if any:
/// the watchdog starts before wrangler, so that a kill during the migrations is covered
/// too) and removes the directories.
pub(crate) fn spawn_watchdog(pgid_file: &Path, dirs: &[PathBuf]) -> io::Result<i32> {
    const SCRIPT: &str = r#"
t=$1; f=$2; keep=$3; shift 3
while kill -0 "$t" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$t/status" 2>/dev/null; do
  sleep 1
done
g=$(cat "$f" 2>/dev/null)
case "$g" in
  ''|*[!0-9]*) ;;
  *)
    kill -TERM -"$g" 2>/dev/null
    i=0
    while kill -0 -"$g" 2>/dev/null && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL -"$g" 2>/dev/null
    ;;
esac
rm -f "$f"
if [ "$keep" = 0 ]; then rm -rf "$@"; fi
"#;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(SCRIPT)
        .arg("connect-e2e-watchdog")
        .arg(std::process::id().to_string())
        .arg(pgid_file)
        .arg(if keep_state() { "1" } else { "0" })
        .args(dirs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    // Reaped by Cleanup::run with waitpid; std's Child never waits on drop.
    Ok(child.id() as i32)
}

/// Tells the watchdog which process group to kill (atomically: write, then rename).
pub(crate) fn write_pgid_file(path: &Path, pgid: i32) -> io::Result<()> {
    let tmp = path.with_extension("pgid.tmp");
    fs::write(&tmp, format!("{pgid}\n"))?;
    fs::rename(&tmp, path)
}
