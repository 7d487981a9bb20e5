//! [`Server`]: a running `wrangler dev` with its own port and state directory, started
//! (migrations first) and stopped.

use crate::build_step;
use crate::cleanup::{lock, next_id, register, unregister, update, Cleanup};
use crate::config::{ServerConfig, SCRATCH_DIRS};
use crate::migrated_state::copy_migrated_state;
use crate::paths::fresh_temp_dir;
use crate::process_group::stop_group;
use crate::run_dir::prepare_run_dir;
use crate::turns::Turns;
use crate::watchdog::{spawn_watchdog, write_pgid_file};
use crate::wrangler_dev::{free_port, spawn_dev, wait_ready, StartError};
use std::fmt;
use std::fs;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Default time limit for `wrangler dev` to answer HTTP.
pub const START_TIMEOUT: Duration = Duration::from_secs(300);

/// A running `wrangler dev` with its own port and state directory.
pub struct Server {
    /// The config the test gave.
    cfg: ServerConfig,
    /// `cfg` pointed at the copy of its config in the run directory: what every wrangler
    /// call of this server is given.
    pub(crate) run_cfg: ServerConfig,
    port: u16,
    pub(crate) state_dir: PathBuf,
    log_path: PathBuf,
    pgid: i32,
    cleanup_id: u64,
    shared: bool,
    startup: Duration,
    /// Turns between the requests sent to the server and the harness's reads and writes
    /// of its state (`turns.rs`).
    pub(crate) turns: Arc<Turns>,
}

impl Server {
    /// Starts a server for `cfg` (see the crate docs). Panics, with the end of the wrangler
    /// log, when it does not answer HTTP in time or exits first.
    pub fn start(cfg: ServerConfig) -> Server {
        Server::start_inner(cfg, false)
    }

    /// The project's server, shared by all tests of one test binary (started on first use;
    /// stopped at process exit). If it failed to start, every later call panics too.
    pub fn shared() -> &'static Server {
        static SHARED: OnceLock<Result<Server, String>> = OnceLock::new();
        let started = SHARED.get_or_init(|| {
            panic::catch_unwind(AssertUnwindSafe(|| {
                Server::start_inner(ServerConfig::project(), true)
            }))
            .map_err(|e| panic_message(&*e))
        });
        match started {
            Ok(server) => server,
            Err(msg) => panic!("the shared server failed to start:\n{msg}"),
        }
    }

    fn start_inner(cfg: ServerConfig, shared: bool) -> Server {
        assert!(
            cfg.config.is_file(),
            "no wrangler config at {}",
            cfg.config.display()
        );
        // The Worker, built once per test process; wrangler dev then serves it unbuilt.
        build_step::run_once(&cfg);
        let t0 = Instant::now();
        let state_dir = fresh_temp_dir("state");
        let log_path = state_dir.join("wrangler.log");
        // Next to the state directory, not in it: state_files_containing scans that.
        let pgid_file = state_dir.with_extension("pgid");
        let run_dir = fresh_temp_dir("run");
        let cleanup_id = register(Cleanup {
            id: next_id(),
            pgid: None,
            watchdog: None,
            pgid_file: Some(pgid_file.clone()),
            dirs: vec![state_dir.clone(), run_dir.clone()],
        });
        let fail = |msg: String| -> ! {
            if let Some(c) = unregister(cleanup_id) {
                c.run();
            }
            panic!("{msg}");
        };

        // 0. The watchdog, before anything that could be left behind.
        let mut watched = vec![state_dir.clone(), run_dir.clone()];
        watched.extend(
            lock(&SCRATCH_DIRS)
                .iter()
                .filter(|d| cfg.config.starts_with(d))
                .cloned(),
        );
        match spawn_watchdog(&pgid_file, &watched) {
            Ok(w) => update(cleanup_id, |c| c.watchdog = Some(w)),
            Err(e) => fail(format!("spawn watchdog: {e}")),
        }

        // 1. The run directory: the Worker's directory without its local settings.
        let run_cfg = match prepare_run_dir(&cfg, &run_dir) {
            Ok(run_cfg) => run_cfg,
            Err(e) => fail(format!("prepare run directory {}: {e}", run_dir.display())),
        };

        // 2. The databases, migrated (made once by wrangler, copied after).
        if let Err(e) = copy_migrated_state(&run_cfg, &state_dir) {
            fail(e);
        }
        let migrated = t0.elapsed();

        // 3. wrangler dev, retried on a new port if the free port was taken meanwhile.
        let timeout = std::env::var("E2E_START_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(START_TIMEOUT);
        let (port, pgid) =
            match serve_on_a_free_port(&run_cfg, &state_dir, &log_path, cleanup_id, timeout) {
                Ok(served) => served,
                Err(msg) => fail(msg),
            };
        let startup = t0.elapsed();
        eprintln!(
            "connect-e2e: wrangler dev for {} ready on 127.0.0.1:{port} after {:.1} s (migrations {:.1} s), state {}",
            cfg.config.display(),
            startup.as_secs_f64(),
            migrated.as_secs_f64(),
            state_dir.display()
        );
        Server {
            cfg,
            run_cfg,
            port,
            state_dir,
            log_path,
            pgid,
            cleanup_id,
            shared,
            startup,
            turns: Arc::default(),
        }
    }

    /// Stops `wrangler dev` and starts it again on the same state (D1 and KV as they are)
    /// with the `--var` `name` set to `value`, as an operator redeploys with a changed
    /// secret. The server answers on a new port afterwards. Panics, with the end of the
    /// wrangler log, when it does not come back.
    pub fn restart_with_var(&mut self, name: &str, value: &str) {
        let _turn = self.turns.state();
        stop_group(self.pgid);
        update(self.cleanup_id, |c| c.pgid = None);
        self.cfg = self.cfg.clone().with_var(name, value);
        self.run_cfg = self.run_cfg.clone().with_var(name, value);
        match serve_on_a_free_port(
            &self.run_cfg,
            &self.state_dir,
            &self.log_path,
            self.cleanup_id,
            START_TIMEOUT,
        ) {
            Ok((port, pgid)) => {
                self.port = port;
                self.pgid = pgid;
            }
            Err(msg) => panic!("wrangler dev did not come back: {msg}"),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The `--persist-to` directory (D1 and KV under `v3/`), also holding `wrangler.log`.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The directory wrangler runs this server's Worker from: a copy of its config, a
    /// `.dev.vars` of the harness's own, and links to the rest of the config's directory
    /// (never its `.dev.vars` or `.env` files).
    pub fn run_dir(&self) -> PathBuf {
        self.run_cfg.dir()
    }

    /// The file receiving the stdout and stderr of `wrangler dev`.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The wrangler log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log_path).unwrap_or_default()).into_owned()
    }

    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// The value passed as `--var NAME:...`; panics when there is none.
    pub fn var(&self, name: &str) -> &str {
        self.cfg
            .vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no --var {name} was given to this server"))
    }

    /// The process group of `wrangler dev` and its `workerd` children.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// From `Server::start` to the first HTTP answer (migrations included).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.shared {
            return;
        }
        if let Some(c) = unregister(self.cleanup_id) {
            c.run();
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.cfg.config)
            .field("port", &self.port)
            .field("state_dir", &self.state_dir)
            .field("pgid", &self.pgid)
            .finish_non_exhaustive()
    }
}

fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = e.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_string()
    }
}

/// Starts `wrangler dev` for `run_cfg` on `state_dir` on a free port and waits until it
/// answers: its port and process group. Retried on a new port (three tries) when the port
/// was taken between choosing and binding it; the group is recorded for cleanup (and in
/// the watchdog's pgid file, next to the state directory) as soon as it exists.
fn serve_on_a_free_port(
    run_cfg: &ServerConfig,
    state_dir: &Path,
    log_path: &Path,
    cleanup_id: u64,
    timeout: Duration,
) -> Result<(u16, i32), String> {
    let pgid_file = state_dir.with_extension("pgid");
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port();
        let pgid = spawn_dev(run_cfg, port, state_dir, log_path)
            .map_err(|e| format!("spawn wrangler dev: {e}"))?;
        update(cleanup_id, |c| c.pgid = Some(pgid));
        write_pgid_file(&pgid_file, pgid)
            .map_err(|e| format!("write {}: {e}", pgid_file.display()))?;
        match wait_ready(port, pgid, log_path, timeout) {
            Ok(()) => return Ok((port, pgid)),
            Err(StartError::PortInUse(_)) if attempt < 3 => {
                stop_group(pgid);
                update(cleanup_id, |c| c.pgid = None);
            }
            Err(StartError::PortInUse(msg) | StartError::Fatal(msg)) => return Err(msg),
        }
    }
}
