//! Running wrangler CLI commands (`d1 migrations apply`, `d1 execute`, `kv key ...`) on a
//! server's local state, with a time limit, retried while the state is busy.

use crate::config::ServerConfig;
use crate::paths::wrangler_bin;
use crate::Server;
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// Time limit of one wrangler CLI call (migrations, `d1 execute`, `kv key ...`).
const CLI_TIMEOUT: Duration = Duration::from_secs(180);

pub(crate) fn wrangler_env(cmd: &mut Command) {
    cmd.env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0");
}

pub(crate) struct CliOutput {
    pub(crate) success: bool,
    pub(crate) status: String,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

impl CliOutput {
    pub(crate) fn describe(&self, what: &str) -> String {
        format!(
            "{what}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

/// Runs wrangler with stdin closed (it never prompts: CI=true and no TTY), with a time limit.
/// Runs a wrangler CLI command. A command that found the local SQLite file locked by the
/// running `wrangler dev` (`database is locked`, SQLITE_BUSY: nothing was executed) is run
/// again, up to 10 times with growing pauses, so a busy machine does not fail a test. So is
/// one whose local KV read failed with a 500 (seen about once in 50 runs while the Worker
/// was writing the same namespace); every KV command the tests run is safe to repeat.
pub(crate) fn run_wrangler(cwd: &Path, args: &[OsString]) -> Result<CliOutput, String> {
    let mut attempt = 0;
    loop {
        let out = run_wrangler_once(cwd, args)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let busy = text.contains("database is locked")
            || text.contains("SQLITE_BUSY")
            || text.contains("KV GET failed: 500");
        if out.success || !busy || attempt == 10 {
            return Ok(out);
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(200 * attempt));
    }
}

fn run_wrangler_once(cwd: &Path, args: &[OsString]) -> Result<CliOutput, String> {
    let mut cmd = Command::new(wrangler_bin());
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wrangler_env(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", wrangler_bin().display()))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if t0.elapsed() > CLI_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("wrangler {args:?} timed out after {CLI_TIMEOUT:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("wait for wrangler: {e}")),
        }
    };
    Ok(CliOutput {
        success: status.success(),
        status: status.to_string(),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

pub(crate) fn os(s: impl AsRef<OsStr>) -> OsString {
    s.as_ref().to_owned()
}

/// Parses the JSON document wrangler printed, skipping anything printed before it.
pub(crate) fn parse_cli_json(stdout: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice(stdout) {
        return Some(v);
    }
    let start = stdout.iter().position(|&b| b == b'[' || b == b'{')?;
    serde_json::from_slice(&stdout[start..]).ok()
}

pub(crate) fn local_args(cfg: &ServerConfig, state_dir: &Path) -> Vec<OsString> {
    let mut args = vec![
        os("--local"),
        os("--persist-to"),
        os(state_dir),
        os("-c"),
        os(&cfg.config),
    ];
    if let Some(env) = &cfg.env {
        args.extend([os("--env"), os(env)]);
    }
    args
}

impl Server {
    pub(crate) fn local_args(&self) -> Vec<OsString> {
        local_args(&self.run_cfg, &self.state_dir)
    }

    /// Runs a wrangler CLI command on this server's state, while no request is in flight.
    pub(crate) fn wrangler(&self, args: &[OsString]) -> Result<CliOutput, String> {
        let _turn = self
            .store_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        run_wrangler(&self.run_cfg.dir(), args)
    }

    pub(crate) fn cli(&self, what: &str, args: Vec<OsString>) -> CliOutput {
        let out = self
            .wrangler(&args)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if !out.success {
            panic!("{}", out.describe(&format!("{what} failed")));
        }
        out
    }
}
