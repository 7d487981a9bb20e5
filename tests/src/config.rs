//! [`ServerConfig`]: which Worker to run under `wrangler dev` (its `wrangler.toml`, D1
//! database, `--var`s and `--env`), and scratch copies of Workers in read-only trees.

use crate::build_step;
use crate::cleanup::{keep_state, lock, next_id, register, Cleanup};
use crate::local_d1::databases;
use crate::paths::{copy_tree, fresh_temp_dir, shared_dir, workspace_root};
use crate::random::{random_base62, random_hex};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// API key of the peer baseline Worker (`../shared/bench/peer-ts`), seeded by its migration.
pub const PEER_TS_API_KEY: &str = "sk_workspace_test_peerbench";

/// What to run under `wrangler dev`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The `wrangler.toml`.
    pub config: PathBuf,
    /// The D1 databases whose migrations are applied (`database_name`s): the shards of
    /// the project, in the order its `SHARDS` names them.
    pub d1_names: Vec<String>,
    /// Passed as `--var NAME:VALUE` to `wrangler dev` (they override `[vars]`). With the
    /// config's `[vars]` they are all the variables the Worker gets: the `.dev.vars` and
    /// `.env` files next to the config are never read (see [`Server::run_dir`]).
    ///
    /// [`Server::run_dir`]: crate::Server::run_dir
    pub vars: Vec<(String, String)>,
    /// `--env` for every wrangler call, when set.
    pub env: Option<String>,
}

pub(crate) static SCRATCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl ServerConfig {
    /// The project: the repository's `wrangler.toml`, its shards' D1 databases (see
    /// `project_databases`), and per-call random secrets `ADMIN_TOKEN` (40 base62
    /// characters) and `SECRETS_KEYS` (a ring of one key, `test:` and 64 hex characters).
    pub fn project() -> Self {
        let config = workspace_root().join("wrangler.toml");
        let mut cfg = ServerConfig::new(&config, "connect")
            .with_var("ADMIN_TOKEN", random_base62(40))
            .with_var("SECRETS_KEYS", format!("test:{}", random_hex(64)));
        cfg.d1_names = project_databases(&config);
        cfg
    }

    /// Any Worker: its `wrangler.toml` and the D1 database to migrate; no vars, no env.
    pub fn new(config: impl Into<PathBuf>, d1_name: impl Into<String>) -> Self {
        ServerConfig {
            config: config.into(),
            d1_names: vec![d1_name.into()],
            vars: Vec::new(),
            env: None,
        }
    }

    /// The peer baseline TypeScript Worker (`../shared/bench/peer-ts`, D1 `peer`, API key
    /// [`PEER_TS_API_KEY`]), run from a scratch copy (see [`ServerConfig::in_scratch_copy`])
    /// because the shared directory is read-only.
    pub fn peer_ts() -> Self {
        ServerConfig::new(shared_dir().join("bench/peer-ts/wrangler.toml"), "peer")
            .in_scratch_copy()
    }

    /// Adds (or replaces) a `--var`.
    pub fn with_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let value = value.into();
        match self.vars.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name, value)),
        }
        self
    }

    /// Sets `--env`.
    pub fn with_env(mut self, env: impl Into<String>) -> Self {
        self.env = Some(env.into());
        self
    }

    /// The same Worker with the per-key rate limit lifted, for tests that make thousands of
    /// requests with one key: a copy of the config (its relative paths made absolute, its
    /// `[build]` run now and left out of the copy) whose `[[ratelimits]]` allow ten million
    /// requests a period. The limiter is still called.
    pub fn with_rate_limit_lifted(mut self) -> Self {
        build_step::run_once(&self);
        let dir = self.dir().canonicalize().expect("the config's directory");
        let text = fs::read_to_string(&self.config)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.config.display()));
        let text = build_step::without_build_table(&text);
        let absolute = |key: &str, line: &str| -> Option<String> {
            let value = line
                .strip_prefix(key)?
                .trim()
                .strip_prefix('"')?
                .strip_suffix('"')?;
            Some(format!("{key}\"{}\"", dir.join(value).display()))
        };
        let edited: Vec<String> = text
            .lines()
            .map(|line| {
                let lifted = line.replace("limit = 100,", "limit = 10000000,");
                absolute("main = ", &lifted)
                    .or_else(|| absolute("migrations_dir = ", &lifted))
                    .unwrap_or(lifted)
            })
            .collect();
        let dst = fresh_temp_dir("project");
        fs::write(dst.join("wrangler.toml"), edited.join("\n") + "\n")
            .unwrap_or_else(|e| panic!("write {}: {e}", dst.display()));
        lock(&SCRATCH_DIRS).push(dst.clone());
        register(Cleanup {
            id: next_id(),
            pgid: None,
            watchdog: None,
            pgid_file: None,
            dirs: vec![dst.clone()],
        });
        self.config = dst.join("wrangler.toml");
        self
    }

    /// Copies the directory holding the config (without `.wrangler`, `node_modules`,
    /// `target`, `.git`) to a fresh temp directory and points `config` at the copy.
    /// `wrangler dev` writes `.wrangler/tmp` next to its config; this keeps it out of
    /// read-only or shared trees. The copy is removed at process exit.
    pub fn in_scratch_copy(mut self) -> Self {
        let src_dir = self
            .config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let file = self
            .config
            .file_name()
            .expect("config is a file")
            .to_owned();
        sweep_stale_scratch_copies();
        let dst = fresh_temp_dir("project");
        copy_tree(
            &src_dir,
            &dst,
            &[".wrangler", "node_modules", "target", ".git"],
        )
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", src_dir.display(), dst.display()));
        lock(&SCRATCH_DIRS).push(dst.clone());
        register(Cleanup {
            id: next_id(),
            pgid: None,
            watchdog: None,
            pgid_file: None,
            dirs: vec![dst.clone()],
        });
        self.config = dst.join(file);
        self
    }

    /// The entries of the config's `[[kind]]` array of bindings (`d1_databases`,
    /// `kv_namespaces`), those of its `--env` when it has one; none when it has no such array.
    pub(crate) fn bindings(&self, kind: &str) -> Vec<toml::Value> {
        let text = fs::read_to_string(&self.config)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.config.display()));
        let doc: toml::Value = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("parse {}: {e}", self.config.display()));
        let scope = match &self.env {
            Some(env) => doc
                .get("env")
                .and_then(|e| e.get(env))
                .unwrap_or_else(|| panic!("{} has no [env.{env}]", self.config.display())),
            None => &doc,
        };
        scope
            .get(kind)
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn dir(&self) -> PathBuf {
        match self.config.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// The `database_name` of each top-level `[[d1_databases]]` of the config at `config` (not
/// those of an `[env.*]`), in order: the project's shards, the first holding the directory.
pub fn project_databases(config: &Path) -> Vec<String> {
    let names: Vec<String> = databases(&ServerConfig::new(config, ""))
        .into_iter()
        .map(|db| db.name)
        .collect();
    assert!(
        !names.is_empty(),
        "{} names no D1 database",
        config.display()
    );
    names
}

/// Removes scratch copies left by test processes that no longer exist and were killed
/// before a server (whose watchdog removes them) started. Never with `E2E_KEEP_STATE`.
fn sweep_stale_scratch_copies() {
    if keep_state() {
        return;
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("connect-e2e-"))
            .filter(|n| n.ends_with("-project"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: signal 0 only checks for existence.
        let gone = unsafe { libc::kill(pid, 0) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_config_names_its_database_and_secrets() {
        let cfg = ServerConfig::project();
        assert_eq!(cfg.d1_names, ["connect", "connect-2"]);
        assert!(cfg.config.ends_with("wrangler.toml") && cfg.config.is_file());
        let names: Vec<&str> = cfg.vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ADMIN_TOKEN", "SECRETS_KEYS"]);
    }

    #[test]
    fn a_lifted_rate_limit_keeps_the_worker_and_its_migrations() {
        let cfg = ServerConfig::project().with_rate_limit_lifted();
        let text = fs::read_to_string(&cfg.config).unwrap();
        let root = workspace_root().canonicalize().unwrap();
        assert!(text.contains("limit = 10000000,") && !text.contains("limit = 100,"));
        assert!(text.contains(&format!("main = \"{}", root.join("worker/build").display())));
        assert!(text.contains(&format!("\"{}\"", root.join("migrations").display())));
        assert!(!text.contains("[build]") && !text.contains("watch_dir"));
    }
}
