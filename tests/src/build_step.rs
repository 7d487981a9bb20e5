//! A config's `[build]` step: run by the harness, once per test process, before a server
//! of that config starts; never by the `wrangler dev` it starts.
//!
//! `wrangler dev` runs a config's `[build]` command as it starts, again when its watcher of
//! the `watch_dir`s is ready, and again on every change there, each change rebuilding the
//! Worker and reloading the runtime. A test server has no use for that: a source saved
//! during a run would rebuild the Worker under every server of the run and reload them
//! mid-test. So a
//! server's run directory holds its config without the `[build]` table (see
//! [`without_build_table`]), and [`run_once`] runs the command first, as `wrangler dev`
//! would have: in the config's directory, with a time limit of its own rather than inside
//! a server's start.

use crate::cleanup::lock;
use crate::command::run_command;
use crate::config::ServerConfig;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// A build of the Worker from a cold target directory takes about two minutes on two cores.
const BUILD_LIMIT: Duration = Duration::from_secs(1200);

/// The (directory, command) pairs built by this process.
static BUILT: Mutex<Vec<(PathBuf, String)>> = Mutex::new(Vec::new());

/// Runs the `[build]` command of `cfg` (that of its `--env` when it has its own) in the
/// config's directory (a `cwd` of the table is not read: no config of the tests has one),
/// unless this process ran it there already. Threads starting servers
/// together wait for one build. Panics with the command's output when it fails.
pub(crate) fn run_once(cfg: &ServerConfig) {
    let Some(command) = build_command(cfg) else {
        return;
    };
    let dir = cfg.dir();
    let mut built = lock(&BUILT);
    let key = (dir.clone(), command.clone());
    if built.contains(&key) {
        return;
    }
    let out = run_command(
        Command::new("sh").arg("-c").arg(&command).current_dir(&dir),
        BUILD_LIMIT,
    )
    .unwrap_or_else(|e| panic!("run the [build] command {command:?}: {e}"));
    assert!(
        out.success(),
        "the [build] command {command:?} of {} failed: {out:?}",
        cfg.config.display()
    );
    built.push(key);
}

/// The `[build]` command of `cfg`'s config, if it has one.
fn build_command(cfg: &ServerConfig) -> Option<String> {
    let text = fs::read_to_string(&cfg.config)
        .unwrap_or_else(|e| panic!("read {}: {e}", cfg.config.display()));
    let doc: toml::Table =
        toml::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", cfg.config.display()));
    let env_build = cfg
        .env
        .as_ref()
        .and_then(|env| doc.get("env")?.get(env)?.get("build"));
    env_build
        .or_else(|| doc.get("build"))
        .and_then(|build| build.get("command")?.as_str())
        .map(str::to_owned)
}

/// `text`, a wrangler.toml, without its `[build]` tables (the top-level one and those of
/// every `[env.NAME]`): each header and the lines up to the next table's header. Everything
/// else, comments included, is kept as it was.
pub(crate) fn without_build_table(text: &str) -> String {
    let mut in_build = false;
    let mut kept = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_build = is_build_header(trimmed);
        }
        if !in_build {
            kept.push_str(line);
        }
    }
    kept
}

/// Whether a table header (`[build]`, `[env.staging.build]`, `[ build ]`) opens a `[build]`.
fn is_build_header(header: &str) -> bool {
    let Some(name) = header
        .strip_prefix('[')
        .and_then(|h| h.split(']').next())
        .filter(|_| !header.starts_with("[["))
    else {
        return false;
    };
    let parts: Vec<&str> = name.split('.').map(str::trim).collect();
    matches!(parts.as_slice(), ["build"] | ["env", _, "build"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::fresh_temp_dir;

    fn built_in(dir: &PathBuf) -> bool {
        lock(&BUILT).iter().any(|(d, _)| d == dir)
    }

    const CONFIG: &str = "\
name = \"w\"
main = \"build/worker.mjs\"

[build]
# How the Worker is built.
command = \"sh make.sh\"
watch_dir = [\"src\",
  \"lib\"]

[[d1_databases]]
binding = \"DB\"

[env.staging.build]
command = \"sh make.sh staging\"

[env.staging.vars]
A = \"1\"
";

    #[test]
    fn the_build_tables_go_and_everything_else_stays() {
        let kept = without_build_table(CONFIG);
        assert_eq!(
            kept,
            "\
name = \"w\"
main = \"build/worker.mjs\"

[[d1_databases]]
binding = \"DB\"

[env.staging.vars]
A = \"1\"
"
        );
        let doc: toml::Table = toml::from_str(&kept).unwrap();
        assert!(doc.get("build").is_none());
        assert_eq!(without_build_table(&kept), kept, "nothing more to remove");
    }

    #[test]
    fn only_build_headers_open_a_build_table() {
        for header in ["[build]", "[ build ]", "[env.staging.build]", "[build] # c"] {
            assert!(is_build_header(header), "{header}");
        }
        for header in [
            "[builder]",
            "[[build]]",
            "[env.build]",
            "[env.staging.build.x]",
            "[vars]",
        ] {
            assert!(!is_build_header(header), "{header}");
        }
    }

    #[test]
    fn the_command_runs_once_in_the_configs_directory_and_a_failure_says_why() {
        let dir = fresh_temp_dir("build-step-unit");
        fs::write(dir.join("wrangler.toml"), CONFIG).unwrap();
        fs::write(dir.join("make.sh"), "echo \"$1\" >> ran\n").unwrap();
        let cfg = ServerConfig::new(dir.join("wrangler.toml"), "db");
        run_once(&cfg);
        run_once(&cfg);
        run_once(&cfg.clone().with_env("staging"));
        assert_eq!(fs::read_to_string(dir.join("ran")).unwrap(), "\nstaging\n");
        assert!(built_in(&dir));

        fs::write(dir.join("make.sh"), "echo broken >&2; exit 3\n").unwrap();
        fs::write(
            dir.join("wrangler.toml"),
            CONFIG.replace("sh make.sh\"", "sh make.sh again\""),
        )
        .unwrap();
        let failed = std::panic::catch_unwind(|| run_once(&cfg)).unwrap_err();
        let msg = failed.downcast_ref::<String>().unwrap();
        assert!(msg.contains("failed") && msg.contains("broken"), "{msg}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_config_without_build_builds_nothing() {
        let dir = fresh_temp_dir("build-step-none");
        fs::write(dir.join("wrangler.toml"), without_build_table(CONFIG)).unwrap();
        run_once(&ServerConfig::new(dir.join("wrangler.toml"), "db"));
        assert!(!built_in(&dir));
        fs::remove_dir_all(&dir).unwrap();
    }
}
