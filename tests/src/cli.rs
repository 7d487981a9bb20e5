//! Running wrangler CLI commands (`d1 migrations apply`) on a server's local state, with a
//! time limit, retried while the state is busy.

use crate::command::run_command;
use crate::config::ServerConfig;
use crate::paths::wrangler_bin;
use crate::Server;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Time limit of one wrangler CLI call.
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

/// Runs a wrangler CLI command with stdin closed (it never prompts: CI=true and no TTY), in
/// a process group of its own with a time limit ([`CLI_TIMEOUT`]): at the limit the whole
/// group is stopped, `workerd` included (see [`run_command`]). A command that found the local SQLite file locked by the
/// running `wrangler dev` (`database is locked`, SQLITE_BUSY: nothing was executed) is run
/// again, up to 10 times with growing pauses, so a busy machine does not fail a test.
pub(crate) fn run_wrangler(cwd: &Path, args: &[OsString]) -> Result<CliOutput, String> {
    let mut attempt = 0;
    loop {
        let out = run_wrangler_once(cwd, args)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let busy = text.contains("database is locked") || text.contains("SQLITE_BUSY");
        if out.success || !busy || attempt == 10 {
            return Ok(out);
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(200 * attempt));
    }
}

fn run_wrangler_once(cwd: &Path, args: &[OsString]) -> Result<CliOutput, String> {
    let mut cmd = Command::new(wrangler_bin());
    cmd.args(args).current_dir(cwd);
    wrangler_env(&mut cmd);
    let out = run_command(&mut cmd, CLI_TIMEOUT)
        .map_err(|e| format!("run {}: {e}", wrangler_bin().display()))?;
    let Some(status) = out.status else {
        return Err(format!(
            "wrangler {args:?} timed out after {CLI_TIMEOUT:?}; its process group {} was stopped\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.pgid,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    };
    Ok(CliOutput {
        success: status.success(),
        status: status.to_string(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

pub(crate) fn os(s: impl AsRef<OsStr>) -> OsString {
    s.as_ref().to_owned()
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
        let turn = self.turns.state();
        turn.before_write();
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
