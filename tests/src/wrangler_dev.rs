//! Spawning `wrangler dev` on a free port in its own process group, and waiting until it
//! answers HTTP.

use crate::cli::wrangler_env;
use crate::config::ServerConfig;
use crate::dev_proxy::harness_request;
use crate::paths::wrangler_bin;
use crate::process_group::stop_group;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of the wrangler log shown when the server fails to start.
const LOG_TAIL_LINES: usize = 60;

pub(crate) enum StartError {
    PortInUse(String),
    Fatal(String),
}

/// A port nothing listens on now, drawn at random from 10,000 to 29,999: below Linux's
/// ephemeral range (32,768 to 60,999), from which the system hands out the local ports of
/// outgoing connections and of `bind(0)`. A port taken from that range was at times given
/// to another connection before `wrangler dev` bound it, when several test binaries run at
/// once ("Address already in use"); the callers still retry on a new port when that
/// happens.
pub(crate) fn free_port() -> u16 {
    loop {
        let draw = crate::random::random_bytes(2);
        let port = 10_000 + u16::from_le_bytes([draw[0], draw[1]]) % 20_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub(crate) fn spawn_dev(
    cfg: &ServerConfig,
    port: u16,
    state_dir: &Path,
    log_path: &Path,
) -> io::Result<i32> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)?;
    let mut cmd = Command::new(wrangler_bin());
    cmd.arg("dev")
        .arg("-c")
        .arg(&cfg.config)
        .arg("--ip")
        .arg("127.0.0.1")
        .arg("--port")
        .arg(port.to_string())
        .arg("--persist-to")
        .arg(state_dir)
        // Its own devtools port: left to wrangler, every instance starts on 9229, and two
        // starting together race for it (workerd then dies: "Address already in use").
        .arg("--inspector-port")
        .arg(free_port().to_string());
    for (k, v) in &cfg.vars {
        cmd.arg("--var").arg(format!("{k}:{v}"));
    }
    if let Some(env) = &cfg.env {
        cmd.arg("--env").arg(env);
    }
    cmd.current_dir(cfg.dir())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    wrangler_env(&mut cmd);
    let child = cmd.spawn()?;
    // Reaped with waitpid (wait_ready, stop_group); std's Child never waits on drop.
    Ok(child.id() as i32)
}

fn log_tail(log_path: &Path) -> String {
    let text = String::from_utf8_lossy(&fs::read(log_path).unwrap_or_default()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

pub(crate) fn wait_ready(
    port: u16,
    pid: i32,
    log_path: &Path,
    timeout: Duration,
) -> Result<(), StartError> {
    let t0 = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        let mut status = 0;
        // SAFETY: non-blocking wait on our own child.
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            let tail = log_tail(log_path);
            let msg = format!(
                "wrangler dev exited (wait status {status}) before answering on port {port}; last {LOG_TAIL_LINES} lines of {}:\n{tail}",
                log_path.display()
            );
            // Kill whatever it left behind in its group.
            stop_group(pid);
            return Err(
                if tail.contains("EADDRINUSE") || tail.contains("already in use") {
                    StartError::PortInUse(msg)
                } else {
                    StartError::Fatal(msg)
                },
            );
        }
        if answers_http(addr) {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            return Err(StartError::Fatal(format!(
                "wrangler dev did not answer HTTP on port {port} within {timeout:?}; last {LOG_TAIL_LINES} lines of {}:\n{}",
                log_path.display(),
                log_tail(log_path)
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
    // Not `/`: see dev_proxy.
    if s.write_all(harness_request(addr).as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/"
}
