//! The fault-injection build of the Worker (its cargo feature `faults`, built by
//! `scripts/build-worker.sh --faults` into `worker/build-faults/`), and the vars that set
//! its faults: `FAULT_SEED`, `FAULT_RATE` (0 to 1; no faults without it) and `FAULT_CALLS`
//! (`d1-read`, `d1-write`, `kv-get`, `kv-put`, `kv-delete`, each optionally `:before` or
//! `:after`; all, both ways, without it). See `worker/src/faults.rs`.

use crate::command::run_command;
use crate::config::ServerConfig;
use crate::paths::workspace_root;
use std::fs;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// How long the fault build may take (a first build compiles the Worker crate).
const BUILD_LIMIT: Duration = Duration::from_secs(900);

/// Builds the fault-injection Worker, once per test process (the script skips a build
/// whose inputs did not change). Panics with the script's output when it fails.
pub fn build_fault_worker() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if *built {
        return;
    }
    let root = workspace_root();
    let out = run_command(
        Command::new("bash")
            .arg(root.join("scripts/build-worker.sh"))
            .arg("--faults")
            .current_dir(&root),
        BUILD_LIMIT,
    )
    .unwrap_or_else(|e| panic!("run scripts/build-worker.sh --faults: {e}"));
    assert!(
        out.success(),
        "scripts/build-worker.sh --faults failed: {out:?}"
    );
    *built = true;
}

impl ServerConfig {
    /// The project's Worker as its fault-injection build, with the per-key rate limit
    /// lifted (see [`ServerConfig::with_rate_limit_lifted`]): a copy of the config whose
    /// `main` is `worker/build-faults/worker/shim.mjs`. Builds it first. The faults are
    /// off until `FAULT_RATE` is given.
    pub fn with_fault_build(self) -> Self {
        build_fault_worker();
        let cfg = self.with_rate_limit_lifted();
        let root = workspace_root()
            .canonicalize()
            .expect("the repository root");
        let (release, faults) = (
            root.join("worker/build/worker/shim.mjs"),
            root.join("worker/build-faults/worker/shim.mjs"),
        );
        let text = fs::read_to_string(&cfg.config)
            .unwrap_or_else(|e| panic!("read {}: {e}", cfg.config.display()));
        let main = format!("main = \"{}\"", release.display());
        assert!(text.contains(&main), "no {main} in {text}");
        let edited = text.replace(&main, &format!("main = \"{}\"", faults.display()));
        fs::write(&cfg.config, edited)
            .unwrap_or_else(|e| panic!("write {}: {e}", cfg.config.display()));
        cfg
    }
}
