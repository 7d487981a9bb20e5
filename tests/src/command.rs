//! Running an external command in a process group of its own, with a time limit: the
//! wrangler CLI calls, and the commands the tests run (`scripts/schemathesis.sh`).

use crate::cleanup::{lock, next_id, register, unregister, Cleanup};
use crate::process_group::{process_group_exists, stop_group};
use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the output of a command is still read after its process group is gone (a
/// process outside the group may hold the pipes open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What [`run_command`] saw of a command.
pub struct CommandOutput {
    /// The process group the command ran in (its pid).
    pub pgid: i32,
    /// How the command ended; `None` when it was stopped at the time limit.
    pub status: Option<ExitStatus>,
    /// What it wrote to stdout (until it ended or was stopped).
    pub stdout: Vec<u8>,
    /// What it wrote to stderr (until it ended or was stopped).
    pub stderr: Vec<u8>,
    /// From the start until it ended or was stopped.
    pub elapsed: Duration,
}

impl CommandOutput {
    /// Whether it was stopped at the time limit.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// Whether it ended by itself with exit code 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

impl fmt::Debug for CommandOutput {
    /// The output as text (invalid UTF-8 replaced), for failure messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandOutput")
            .field("pgid", &self.pgid)
            .field("status", &self.status)
            .field("elapsed", &self.elapsed)
            .field("stdout", &String::from_utf8_lossy(&self.stdout))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

/// Runs `cmd` with stdin closed and stdout and stderr captured, in a process group of its
/// own (`process_group(0)`), for at most `limit`.
///
/// The whole group is stopped (SIGTERM, SIGKILL after 3 s), so processes the command
/// started go too (`workerd` under wrangler): at the time limit, when the command exits
/// and left some behind, when the calling thread unwinds, and at process exit (the group
/// is in the cleanup registry while it runs). `Err` only when `cmd` cannot be spawned or
/// waited for.
pub fn run_command(cmd: &mut Command, limit: Duration) -> io::Result<CommandOutput> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let t0 = Instant::now();
    let mut child = cmd.spawn()?;
    let group = GroupGuard::new(child.id() as i32);
    let stdout = Capture::start(child.stdout.take().expect("stdout is piped"));
    let stderr = Capture::start(child.stderr.take().expect("stderr is piped"));
    let status = loop {
        match child.try_wait()? {
            Some(status) => break Some(status),
            None if t0.elapsed() >= limit => break None,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let elapsed = t0.elapsed();
    let pgid = group.pgid;
    drop(group);
    Ok(CommandOutput {
        pgid,
        status,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
        elapsed,
    })
}

/// A command's process group, registered for the `atexit` handler; dropping it stops
/// whatever of the group is still there.
struct GroupGuard {
    pgid: i32,
    cleanup_id: u64,
}

impl GroupGuard {
    fn new(pgid: i32) -> Self {
        let cleanup_id = register(Cleanup {
            id: next_id(),
            pgid: Some(pgid),
            watchdog: None,
            pgid_file: None,
            dirs: Vec::new(),
        });
        GroupGuard { pgid, cleanup_id }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        // Taken out of the registry first, so the atexit handler does not stop it again.
        unregister(self.cleanup_id);
        // A leader that ended by itself was reaped by `try_wait`: then a group that still
        // exists is what it left behind.
        if process_group_exists(self.pgid) {
            stop_group(self.pgid);
        }
    }
}

/// A thread reading a pipe into a buffer until the pipe closes.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    closed: mpsc::Receiver<()>,
}

impl Capture {
    fn start(mut pipe: impl Read + Send + 'static) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, closed) = mpsc::channel();
        let into = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => lock(&into).extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(());
        });
        Capture { buf, closed }
    }

    /// Everything read: up to the end of the pipe, or what came within [`DRAIN_TIMEOUT`]
    /// when something outside the group still holds it open.
    fn finish(self) -> Vec<u8> {
        let _ = self.closed.recv_timeout(DRAIN_TIMEOUT);
        std::mem::take(&mut *lock(&self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Whether `pid` is a live process (not gone, not a zombie).
    fn alive(pid: i32) -> bool {
        // SAFETY: signal 0 only checks for existence.
        let exists = unsafe { libc::kill(pid, 0) } == 0;
        exists
            && !fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
    }

    /// Waits up to 5 s for `pid` to die (an orphan is reaped by init, not by us).
    fn gone_soon(pid: i32) -> bool {
        let t0 = Instant::now();
        while alive(pid) {
            if t0.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    fn background_pid(out: &CommandOutput) -> i32 {
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("no pid printed: {out:?}"))
    }

    #[test]
    fn a_timed_out_command_is_stopped_with_its_whole_process_group() {
        // The shell prints the pid of its background child, then waits.
        let out = run_command(
            Command::new("sh").args(["-c", "sleep 300 & echo $!; sleep 300"]),
            Duration::from_millis(500),
        )
        .unwrap();
        assert!(out.timed_out(), "{out:?}");
        assert!(!out.success());
        assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
        let background = background_pid(&out);
        assert!(
            !process_group_exists(out.pgid),
            "process group {} survived its time limit",
            out.pgid
        );
        assert!(
            gone_soon(background),
            "background child {background} survived"
        );
    }

    #[test]
    fn what_a_finished_command_left_in_its_group_is_stopped() {
        // The shell exits at once; its background child still holds stdout open.
        let out = run_command(
            Command::new("sh").args(["-c", "sleep 300 & echo $!"]),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(out.success(), "{out:?}");
        assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
        let background = background_pid(&out);
        assert!(!process_group_exists(out.pgid));
        assert!(
            gone_soon(background),
            "background child {background} survived"
        );
    }

    #[test]
    fn output_and_status_of_a_command_that_ends_in_time() {
        let out = run_command(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(out.status.and_then(|s| s.code()), Some(3));
        assert!(!out.timed_out() && !out.success());
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    const EXIT_CHILD: &str = "CONNECT_E2E_EXIT_CHILD";

    /// Not a test of its own: the body of the child process of the test below. Starts a
    /// command in another thread and exits while it runs. Without the variable it does
    /// nothing.
    #[test]
    fn exit_child_body() {
        let Some(pids_file) = std::env::var_os(EXIT_CHILD) else {
            return;
        };
        // The shell writes its pid (= the group's id) and its background child's pid.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & echo \"$$ $!\" > \"$1\"; sleep 300", "sh"])
            .arg(&pids_file);
        std::thread::spawn(move || run_command(&mut cmd, Duration::from_secs(600)));
        let t0 = Instant::now();
        while !fs::read_to_string(&pids_file).is_ok_and(|s| s.ends_with('\n')) {
            assert!(t0.elapsed() < Duration::from_secs(30), "no pids written");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The thread registers the group right after the spawn; give it that moment.
        std::thread::sleep(Duration::from_millis(200));
        // Like a test binary whose last test ends while a command still runs.
        std::process::exit(0);
    }

    #[test]
    fn process_exit_stops_a_command_still_running() {
        let pids_file = std::env::temp_dir().join(format!(
            "connect-e2e-{}-exit-child.pids",
            std::process::id()
        ));
        let _ = fs::remove_file(&pids_file);
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["command::tests::exit_child_body", "--exact", "--nocapture"])
            .env(EXIT_CHILD, &pids_file);
        let out = run_command(&mut cmd, Duration::from_secs(60)).unwrap();
        let pids = fs::read_to_string(&pids_file).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        let _ = fs::remove_file(&pids_file);
        let pids: Vec<i32> = pids
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert!(out.success(), "{out:?}");
        // Checked at once: the atexit handler waits for the group before the exit.
        assert!(
            !process_group_exists(pids[0]),
            "process group {} survived the exit of the process that started it",
            pids[0]
        );
        for pid in pids {
            assert!(
                gone_soon(pid),
                "{pid} survived the exit of the test process"
            );
        }
    }
}
