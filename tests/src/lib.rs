//! # connect-e2e: the end-to-end test harness
//!
//! Runs a Worker under `wrangler dev` (local `workerd`, local D1 and KV) and talks to it
//! over plain TCP, so the tests in `tests/tests/*.rs` can send any request at all.
//!
//! ```no_run
//! use connect_e2e::Server;
//!
//! let server = Server::shared(); // one `wrangler dev` per test binary
//! let res = server
//!     .request("GET", "/connect/v1/apps")
//!     .bearer(server.var("ADMIN_TOKEN"))
//!     .send();
//! assert_eq!(res.status, 401, "{res:?}");
//! ```
//!
//! - [`ServerConfig`]: which `wrangler.toml`, which D1 database, which `--var`s.
//! - [`Server::start`] / [`Server::shared`]: a `wrangler dev` with its own free port and its
//!   own fresh state directory (`--persist-to`), migrations applied first.
//! - [`Server::request`] -> [`RequestBuilder`] -> [`Response`]: a raw HTTP/1.1 client.
//! - [`Server::d1`], [`Server::d1_exec`], [`Server::kv_keys`], [`Server::kv_get`],
//!   [`Server::kv_put`], [`Server::kv_delete`]: read and change the stored state while the
//!   server runs (through `wrangler d1 execute` / `wrangler kv key`, both `--local` on the
//!   same persist directory; the running Worker sees the changes at once and vice versa).
//! - [`Server::state_files_containing`]: which stored files hold some bytes in plain text.
//!
//! ## Cleanup
//!
//! `wrangler dev` runs in its own process group. That group is killed (SIGTERM, SIGKILL
//! after 3 s) and the state directory removed:
//! - when a non-shared [`Server`] is dropped (also while unwinding from a panic);
//! - at process exit, by a libc `atexit` handler (the test harness leaves through
//!   `exit`, which runs it; statics are never dropped), which also covers [`Server::shared`]
//!   and servers of tests that panicked;
//! - when the test process dies without running `atexit` (SIGKILL, SIGINT, abort), by a
//!   watchdog: a detached `sh` in its own session, one per server, that polls the test
//!   process every second.
//!
//! Set `E2E_KEEP_STATE=1` to keep the state directories (their paths are printed at exit).
//! `E2E_WRANGLER` overrides the wrangler binary (default: `node_modules/.bin/wrangler` of the
//! repository); `E2E_START_TIMEOUT_SECS` the start timeout (default 300 s, since `wrangler
//! dev` may run the project's `[build]` command first).

pub mod api;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// API key of the peer baseline Worker (`../shared/bench/peer-ts`), seeded by its migration.
pub const PEER_TS_API_KEY: &str = "sk_workspace_test_peerbench";
/// The KV binding the `kv_*` helpers work on (same name in the project and in peer-ts).
pub const KV_BINDING: &str = "IDEMPOTENCY";
/// Time limit of one HTTP request of the raw client.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time limit for `wrangler dev` to answer HTTP.
pub const START_TIMEOUT: Duration = Duration::from_secs(300);
/// Time limit of one wrangler CLI call (migrations, `d1 execute`, `kv key ...`).
const CLI_TIMEOUT: Duration = Duration::from_secs(180);
/// SQL longer than this goes to `wrangler d1 execute` through a file instead of `--command`.
const MAX_INLINE_SQL: usize = 32 * 1024;
/// Lines of the wrangler log shown when the server fails to start.
const LOG_TAIL_LINES: usize = 60;

// ---------------------------------------------------------------------------------------
// Paths and randomness
// ---------------------------------------------------------------------------------------

/// The repository root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The read-only shared directory next to the repository (`../shared`), holding the
/// peer baseline Worker. Same layout locally and in CI.
pub fn shared_dir() -> PathBuf {
    let dir = workspace_root().join("../shared");
    dir.canonicalize().unwrap_or(dir)
}

/// The wrangler binary: `$E2E_WRANGLER`, else the repository's pinned
/// `node_modules/.bin/wrangler`.
pub fn wrangler_bin() -> PathBuf {
    match std::env::var_os("E2E_WRANGLER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("node_modules/.bin/wrangler"),
    }
}

/// `n` bytes from the kernel's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf
}

/// `n` random characters of `[A-Za-z0-9]` (uniform: rejection sampling).
pub fn random_base62(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n * 2) {
            // 248 = 4 * 62: bytes at or above it would bias the first letters.
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// `n` random lowercase hex characters.
pub fn random_hex(n: usize) -> String {
    let mut s: String = random_bytes(n.div_ceil(2))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    s.truncate(n);
    s
}

fn keep_state() -> bool {
    std::env::var_os("E2E_KEEP_STATE").is_some_and(|v| !v.is_empty())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty directory under the system temp dir, unique per process and call.
fn fresh_temp_dir(kind: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("connect-e2e-{}-{n}-{kind}", std::process::id()));
    if dir.exists() {
        // Left over by an earlier process that had the same pid.
        let _ = fs::remove_dir_all(&dir);
    }
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

// ---------------------------------------------------------------------------------------
// ServerConfig
// ---------------------------------------------------------------------------------------

/// What to run under `wrangler dev`.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The `wrangler.toml`.
    pub config: PathBuf,
    /// Name of the D1 database whose migrations are applied (`database_name`).
    pub d1_name: String,
    /// Passed as `--var NAME:VALUE` to `wrangler dev` (they override `[vars]` and `.dev.vars`).
    pub vars: Vec<(String, String)>,
    /// `--env` for every wrangler call, when set.
    pub env: Option<String>,
}

static SCRATCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl ServerConfig {
    /// The project: the repository's `wrangler.toml`, D1 `connect`, and per-call random
    /// secrets `ADMIN_TOKEN` (40 base62 characters) and `SECRETS_KEYS` (a ring of one key,
    /// `test:` and 64 hex characters).
    pub fn project() -> Self {
        ServerConfig::new(workspace_root().join("wrangler.toml"), "connect")
            .with_var("ADMIN_TOKEN", random_base62(40))
            .with_var("SECRETS_KEYS", format!("test:{}", random_hex(64)))
    }

    /// Any Worker: its `wrangler.toml` and the D1 database to migrate; no vars, no env.
    pub fn new(config: impl Into<PathBuf>, d1_name: impl Into<String>) -> Self {
        ServerConfig {
            config: config.into(),
            d1_name: d1_name.into(),
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
        copy_tree(&src_dir, &dst)
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

    fn dir(&self) -> PathBuf {
        match self.config.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
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

fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if [".wrangler", "node_modules", "target", ".git"]
            .iter()
            .any(|n| name == OsStr::new(n))
        {
            continue;
        }
        let ty = entry.file_type()?;
        let to = dst.join(&name);
        if ty.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            // Follows symlinks; read-only sources become writable copies.
            fs::write(&to, fs::read(entry.path())?)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cleanup registry (Drop, atexit) and the watchdog
// ---------------------------------------------------------------------------------------

struct Cleanup {
    id: u64,
    /// Process group of `wrangler dev` (= pid of the spawned wrangler, our child).
    pgid: Option<i32>,
    /// Pid (= pgid = sid) of the watchdog shell, our child.
    watchdog: Option<i32>,
    /// Where the watchdog reads `pgid` from; removed even with `E2E_KEEP_STATE`.
    pgid_file: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();
static IDS: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    IDS.fetch_add(1, Ordering::Relaxed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn register(c: Cleanup) -> u64 {
    ATEXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" fn; it never unwinds (see run_atexit).
        let rc = unsafe { libc::atexit(run_atexit) };
        assert_eq!(rc, 0, "atexit registration failed");
    });
    let id = c.id;
    lock(&CLEANUPS).push(c);
    id
}

fn update(id: u64, f: impl FnOnce(&mut Cleanup)) {
    if let Some(c) = lock(&CLEANUPS).iter_mut().find(|c| c.id == id) {
        f(c);
    }
}

fn unregister(id: u64) -> Option<Cleanup> {
    let mut list = lock(&CLEANUPS);
    let i = list.iter().position(|c| c.id == id)?;
    Some(list.remove(i))
}

extern "C" fn run_atexit() {
    // A panic must not cross the FFI boundary.
    let _ = panic::catch_unwind(|| {
        let list = std::mem::take(&mut *lock(&CLEANUPS));
        // Newest first: servers before the scratch copies they run from.
        for c in list.into_iter().rev() {
            c.run();
        }
    });
}

impl Cleanup {
    fn run(self) {
        if let Some(pgid) = self.pgid {
            stop_group(pgid);
        }
        if let Some(w) = self.watchdog {
            // SAFETY: plain syscalls on pids we spawned.
            unsafe {
                libc::kill(-w, libc::SIGKILL);
                libc::waitpid(w, std::ptr::null_mut(), 0);
            }
        }
        if let Some(f) = &self.pgid_file {
            let _ = fs::remove_file(f);
        }
        for dir in &self.dirs {
            if !dir.exists() {
                continue;
            }
            if keep_state() {
                eprintln!("connect-e2e: E2E_KEEP_STATE is set, kept {}", dir.display());
            } else {
                let _ = fs::remove_dir_all(dir);
            }
        }
    }
}

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
fn stop_group(pgid: i32) {
    // SAFETY: signals to a process group we created.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    if !wait_group_gone(pgid, Duration::from_secs(3)) {
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        if !wait_group_gone(pgid, Duration::from_secs(5)) {
            eprintln!("connect-e2e: process group {pgid} still exists after SIGKILL");
        }
    }
}

/// Starts the watchdog: a detached shell (own session) that waits until this process is
/// gone (or a zombie), then kills the process group whose id is in `pgid_file` (if any:
/// the watchdog starts before wrangler, so that a kill during the migrations is covered
/// too) and removes the directories.
fn spawn_watchdog(pgid_file: &Path, dirs: &[PathBuf]) -> io::Result<i32> {
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
fn write_pgid_file(path: &Path, pgid: i32) -> io::Result<()> {
    let tmp = path.with_extension("pgid.tmp");
    fs::write(&tmp, format!("{pgid}\n"))?;
    fs::rename(&tmp, path)
}

// ---------------------------------------------------------------------------------------
// wrangler CLI calls
// ---------------------------------------------------------------------------------------

fn wrangler_env(cmd: &mut Command) {
    cmd.env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0");
}

struct CliOutput {
    success: bool,
    status: String,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl CliOutput {
    fn describe(&self, what: &str) -> String {
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
fn run_wrangler(cwd: &Path, args: &[OsString]) -> Result<CliOutput, String> {
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

fn os(s: impl AsRef<OsStr>) -> OsString {
    s.as_ref().to_owned()
}

/// Parses the JSON document wrangler printed, skipping anything printed before it.
fn parse_cli_json(stdout: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice(stdout) {
        return Some(v);
    }
    let start = stdout.iter().position(|&b| b == b'[' || b == b'{')?;
    serde_json::from_slice(&stdout[start..]).ok()
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

/// A running `wrangler dev` with its own port and state directory.
pub struct Server {
    cfg: ServerConfig,
    port: u16,
    state_dir: PathBuf,
    log_path: PathBuf,
    pgid: i32,
    cleanup_id: u64,
    shared: bool,
    startup: Duration,
    /// Taken shared by every HTTP exchange with the server and exclusively by every
    /// wrangler CLI call on its state. The CLI and `wrangler dev` are two processes on the
    /// same SQLite files: a CLI write during a request made the Worker's D1 write fail with
    /// SQLITE_BUSY (seen once in the harness's own tests). Taking turns costs little: CLI
    /// calls are rare and requests run concurrently with each other.
    store_lock: Arc<RwLock<()>>,
}

/// One key of a KV listing.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct KvKey {
    pub name: String,
    /// Unix seconds, when the key expires.
    pub expiration: Option<u64>,
    pub metadata: Option<Value>,
}

enum StartError {
    PortInUse(String),
    Fatal(String),
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
        let t0 = Instant::now();
        assert!(
            cfg.config.is_file(),
            "no wrangler config at {}",
            cfg.config.display()
        );
        let state_dir = fresh_temp_dir("state");
        let log_path = state_dir.join("wrangler.log");
        // Next to the state directory, not in it: state_files_containing scans that.
        let pgid_file = state_dir.with_extension("pgid");
        let cleanup_id = register(Cleanup {
            id: next_id(),
            pgid: None,
            watchdog: None,
            pgid_file: Some(pgid_file.clone()),
            dirs: vec![state_dir.clone()],
        });
        let fail = |msg: String| -> ! {
            if let Some(c) = unregister(cleanup_id) {
                c.run();
            }
            panic!("{msg}");
        };

        // 0. The watchdog, before anything that could be left behind.
        let mut watched = vec![state_dir.clone()];
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

        // 1. Migrations into the fresh state directory.
        let mut args = vec![os("d1"), os("migrations"), os("apply"), os(&cfg.d1_name)];
        args.extend(local_args(&cfg, &state_dir));
        match run_wrangler(&cfg.dir(), &args) {
            Ok(out) if out.success => {}
            Ok(out) => fail(out.describe("wrangler d1 migrations apply failed")),
            Err(e) => fail(e),
        }
        let migrated = t0.elapsed();

        // 2. wrangler dev, retried on a new port if the free port was taken meanwhile.
        let timeout = std::env::var("E2E_START_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(START_TIMEOUT);
        let mut attempt = 0;
        let (port, pgid) = loop {
            attempt += 1;
            let port = free_port();
            let pgid = match spawn_dev(&cfg, port, &state_dir, &log_path) {
                Ok(pid) => pid,
                Err(e) => fail(format!("spawn wrangler dev: {e}")),
            };
            update(cleanup_id, |c| c.pgid = Some(pgid));
            if let Err(e) = write_pgid_file(&pgid_file, pgid) {
                fail(format!("write {}: {e}", pgid_file.display()));
            }
            match wait_ready(port, pgid, &log_path, timeout) {
                Ok(()) => break (port, pgid),
                Err(StartError::PortInUse(_)) if attempt < 3 => {
                    stop_group(pgid);
                    update(cleanup_id, |c| c.pgid = None);
                }
                Err(StartError::PortInUse(msg)) | Err(StartError::Fatal(msg)) => fail(msg),
            }
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
            port,
            state_dir,
            log_path,
            pgid,
            cleanup_id,
            shared,
            startup,
            store_lock: Arc::default(),
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

    // --- HTTP ----------------------------------------------------------------------------

    /// A request to this server; `method` and `path` are sent as given (raw bytes allowed).
    pub fn request(&self, method: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> RequestBuilder {
        RequestBuilder {
            store_lock: Some(Arc::clone(&self.store_lock)),
            ..RequestBuilder::new(self.addr(), method, path)
        }
    }

    pub fn get(&self, path: impl AsRef<[u8]>) -> RequestBuilder {
        self.request("GET", path)
    }

    pub fn post(&self, path: impl AsRef<[u8]>) -> RequestBuilder {
        self.request("POST", path)
    }

    /// Sends `bytes` verbatim as the whole request; panics when no response comes back.
    pub fn send_raw(&self, bytes: impl AsRef<[u8]>) -> Response {
        self.try_send_raw(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends `bytes` verbatim; `Err` when the connection fails or closes without a
    /// complete response.
    pub fn try_send_raw(&self, bytes: impl AsRef<[u8]>) -> Result<Response, String> {
        let _turn = self
            .store_lock
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        exchange(self.addr(), bytes.as_ref(), false, REQUEST_TIMEOUT)
    }

    // --- Stored state ----------------------------------------------------------------------

    fn local_args(&self) -> Vec<OsString> {
        local_args(&self.cfg, &self.state_dir)
    }

    /// Runs a wrangler CLI command on this server's state, while no request is in flight.
    fn wrangler(&self, args: &[OsString]) -> Result<CliOutput, String> {
        let _turn = self
            .store_lock
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        run_wrangler(&self.cfg.dir(), args)
    }

    fn cli(&self, what: &str, args: Vec<OsString>) -> CliOutput {
        let out = self
            .wrangler(&args)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if !out.success {
            panic!("{}", out.describe(&format!("{what} failed")));
        }
        out
    }

    /// Runs SQL with `wrangler d1 execute --local` against this server's D1 (while it runs)
    /// and returns the rows of each statement.
    ///
    /// Values come as JSON: INTEGER and REAL as numbers, NULL as null, TEXT as strings,
    /// BLOB as a string like `"[0, 255]"` (wrangler's rendering).
    pub fn d1_results(&self, sql: &str) -> Vec<Vec<Value>> {
        let mut args = vec![os("d1"), os("execute"), os(&self.cfg.d1_name)];
        args.extend(self.local_args());
        args.push(os("--json"));
        let mut sql_file = None;
        if sql.len() > MAX_INLINE_SQL {
            let path = std::env::temp_dir().join(format!(
                "connect-e2e-{}-{}.sql",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            fs::write(&path, sql).expect("write SQL file");
            args.extend([os("--file"), os(&path)]);
            sql_file = Some(path);
        } else {
            args.extend([os("--command"), os(sql)]);
        }
        let out = self.wrangler(&args);
        if let Some(p) = sql_file {
            let _ = fs::remove_file(p);
        }
        let out = out.unwrap_or_else(|e| panic!("wrangler d1 execute: {e}"));
        if !out.success {
            panic!(
                "{}",
                out.describe(&format!("wrangler d1 execute failed for SQL: {sql}"))
            );
        }
        let json = parse_cli_json(&out.stdout)
            .unwrap_or_else(|| panic!("{}", out.describe("wrangler d1 execute printed no JSON")));
        json.as_array()
            .unwrap_or_else(|| panic!("unexpected d1 execute output: {json}"))
            .iter()
            .map(|stmt| match stmt.get("results") {
                Some(Value::Array(rows)) => rows.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Rows (JSON objects, column name -> value) of the last statement of `sql`.
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        self.d1_results(sql).pop().unwrap_or_default()
    }

    /// Runs SQL for its effect; panics on an SQL error.
    pub fn d1_exec(&self, sql: &str) {
        self.d1_results(sql);
    }

    /// All keys of the [`KV_BINDING`] namespace, with expirations.
    pub fn kv_list(&self) -> Vec<KvKey> {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("list"),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        let out = self.cli("wrangler kv key list", args);
        let json = parse_cli_json(&out.stdout)
            .unwrap_or_else(|| panic!("{}", out.describe("wrangler kv key list printed no JSON")));
        serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("kv key list output {json}: {e}"))
    }

    /// All key names of the [`KV_BINDING`] namespace.
    pub fn kv_keys(&self) -> Vec<String> {
        self.kv_list().into_iter().map(|k| k.name).collect()
    }

    /// The value of a KV key, `None` when absent.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("get"),
            os(key),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        let out = self.cli("wrangler kv key get", args);
        // wrangler prints this (exit code 0) for a missing key; a stored value could be the
        // same text, so make sure.
        if out.stdout == b"Value not found\n" && !self.kv_keys().iter().any(|k| k == key) {
            return None;
        }
        Some(out.stdout)
    }

    /// Writes a KV value (any bytes), without expiration.
    pub fn kv_put(&self, key: &str, value: &[u8]) {
        let path = std::env::temp_dir().join(format!(
            "connect-e2e-{}-{}.kv",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&path, value).expect("write KV value file");
        let mut args = vec![
            os("kv"),
            os("key"),
            os("put"),
            os(key),
            os("--path"),
            os(&path),
        ];
        args.extend([os("--binding"), os(KV_BINDING)]);
        args.extend(self.local_args());
        let out = self.wrangler(&args);
        let _ = fs::remove_file(&path);
        let out = out.unwrap_or_else(|e| panic!("wrangler kv key put: {e}"));
        if !out.success {
            panic!("{}", out.describe("wrangler kv key put failed"));
        }
    }

    /// Deletes a KV key (no error when it is absent).
    pub fn kv_delete(&self, key: &str) {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("delete"),
            os(key),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        self.cli("wrangler kv key delete", args);
    }

    /// Every file under the state directory (recursively: SQLite databases with their
    /// `-wal`/`-shm` files, KV blobs, and `wrangler.log`) whose bytes contain `needle`.
    pub fn state_files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        files_containing(&self.state_dir, needle)
    }

    /// Every file under the state directory whose bytes satisfy `matches`.
    pub fn state_files_matching(&self, matches: impl Fn(&[u8]) -> bool) -> Vec<PathBuf> {
        files_matching(&self.state_dir, matches)
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

fn local_args(cfg: &ServerConfig, state_dir: &Path) -> Vec<OsString> {
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

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn spawn_dev(cfg: &ServerConfig, port: u16, state_dir: &Path, log_path: &Path) -> io::Result<i32> {
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
        .arg(state_dir);
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

fn wait_ready(port: u16, pid: i32, log_path: &Path, timeout: Duration) -> Result<(), StartError> {
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
    let req = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/"
}

/// Files under `dir` (recursively, symlinks not followed) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    assert!(!needle.is_empty(), "empty needle");
    files_matching(dir, |bytes| find(bytes, needle).is_some())
}

/// Files under `dir` (recursively, symlinks not followed) whose bytes satisfy `matches`,
/// sorted.
pub fn files_matching(dir: &Path, matches: impl Fn(&[u8]) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ty) = entry.file_type() else { continue };
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file() {
                // Files may vanish meanwhile (SQLite journals): skip them.
                if let Ok(bytes) = fs::read(&path) {
                    if matches(&bytes) {
                        found.push(path);
                    }
                }
            }
        }
    }
    found.sort();
    found
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

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 client
// ---------------------------------------------------------------------------------------

/// A request under construction. Nothing is validated or escaped: what you put in is sent.
///
/// Sent as `METHOD SP PATH SP HTTP/1.1`, then `Host`, your headers in order, `Connection:
/// close`, and `Content-Length` when there is a body. `Host`, `Connection` and
/// `Content-Length` are left out when you set a header of that name yourself (also when you
/// set `Transfer-Encoding`, for `Content-Length`).
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    addr: SocketAddr,
    /// The server's turn-taking with CLI calls, for requests made by [`Server::request`].
    store_lock: Option<Arc<RwLock<()>>>,
    method: Vec<u8>,
    path: Vec<u8>,
    headers: Vec<Vec<u8>>,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

impl RequestBuilder {
    pub fn new(addr: SocketAddr, method: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> Self {
        RequestBuilder {
            addr,
            store_lock: None,
            method: method.as_ref().to_vec(),
            path: path.as_ref().to_vec(),
            headers: Vec::new(),
            body: None,
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Adds `name: value` (raw bytes: control characters, non-UTF-8 all allowed).
    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        let mut line = name.as_ref().to_vec();
        line.extend_from_slice(b": ");
        line.extend_from_slice(value.as_ref());
        self.headers.push(line);
        self
    }

    /// Adds one header line exactly as given (CRLF appended).
    pub fn raw_header(mut self, line: impl AsRef<[u8]>) -> Self {
        self.headers.push(line.as_ref().to_vec());
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: impl AsRef<[u8]>) -> Self {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(token.as_ref());
        self.header("Authorization", value)
    }

    /// Serializes `value` as the body; sets `Content-Type: application/json` unless a
    /// content type was set before.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("serialize JSON body");
        let this = if self.has_header("content-type") {
            self
        } else {
            self.header("Content-Type", "application/json")
        };
        this.body(body)
    }

    /// The body, as bytes (sent with `Content-Length`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Overrides the 60 s time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|line| {
            line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && matches!(line[name.len()], b':' | b' ' | b'\t')
        })
    }

    /// The exact bytes [`RequestBuilder::send`] writes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(&self.method);
        out.push(b' ');
        out.extend_from_slice(&self.path);
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !self.has_header("host") {
            out.extend_from_slice(format!("Host: {}\r\n", self.addr).as_bytes());
        }
        for line in &self.headers {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        if !self.has_header("connection") {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        if let Some(body) = &self.body {
            if !self.has_header("content-length") && !self.has_header("transfer-encoding") {
                out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        if let Some(body) = &self.body {
            out.extend_from_slice(body);
        }
        out
    }

    /// Sends the request and reads the response; panics when there is none.
    pub fn send(self) -> Response {
        self.try_send().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends the request; `Err` when the connection fails or closes without a complete
    /// response (for hostile requests a server may just drop).
    pub fn try_send(self) -> Result<Response, String> {
        let _turn = self
            .store_lock
            .as_ref()
            .map(|lock| lock.read().unwrap_or_else(PoisonError::into_inner));
        let head = self.method.eq_ignore_ascii_case(b"HEAD");
        exchange(self.addr, &self.to_bytes(), head, self.timeout).map_err(|e| {
            format!(
                "{} {}: {e}",
                String::from_utf8_lossy(&self.method),
                String::from_utf8_lossy(&self.path)
            )
        })
    }
}

/// One connection: write `request`, read until the response is complete or EOF.
fn exchange(
    addr: SocketAddr,
    request: &[u8],
    head: bool,
    timeout: Duration,
) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    // A server may answer (e.g. 413) and close before reading a large body: note the
    // write error and still read what it sent.
    let write_error = stream.write_all(request).and_then(|_| stream.flush()).err();
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut next_parse = 0usize;
    let mut read_error = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no complete response within {timeout:?} ({} bytes received: {:?})",
                buf.len(),
                String::from_utf8_lossy(&buf[..buf.len().min(2000)])
            ));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                // Parse as soon as the socket is drained or after enough growth (re-parsing
                // a large response after every read would be quadratic). EOF comes anyway.
                if n < chunk.len() || buf.len() >= next_parse {
                    next_parse = buf.len() + buf.len() / 4;
                    if let Parsed::Complete(res) = parse_response(&buf, false, head)? {
                        let _ = stream.shutdown(Shutdown::Both);
                        return Ok(res);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    match parse_response(&buf, true, head) {
        Ok(Parsed::Complete(res)) => Ok(res),
        Ok(Parsed::Incomplete) => unreachable!("parse at EOF is never incomplete"),
        Err(e) => Err(format!(
            "{e} (write error: {write_error:?}, read error: {read_error:?}, {} bytes received: {:?})",
            buf.len(),
            String::from_utf8_lossy(&buf[..buf.len().min(2000)])
        )),
    }
}

/// A parsed HTTP response.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// All header fields in order (names as sent; values lossily decoded as UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// The status line and header bytes exactly as received (up to the empty line).
    pub raw_head: Vec<u8>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON into `T`; panics with the status and body when it does not parse.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not the expected JSON ({e}); status {}, body: {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as a JSON value; panics with the status and body when it is not JSON.
    pub fn json_value(&self) -> Value {
        self.json()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        let shown: String = text.chars().take(4000).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        write!(f, "HTTP {} {}", self.status, self.reason)?;
        for (k, v) in &self.headers {
            write!(f, "\n{k}: {v}")?;
        }
        write!(f, "\n\n{shown}{more} ({} bytes)", self.body.len())
    }
}

enum Parsed {
    Incomplete,
    Complete(Response),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return if needle.is_empty() { Some(0) } else { None };
    }
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

fn trim_ows(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != b'\t')
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// Parses one response from `buf`. `eof`: nothing more will come (a body without length
/// ends here; a truncated message is an error).
fn parse_response(buf: &[u8], eof: bool, head_request: bool) -> Result<Parsed, String> {
    let mut start = 0;
    loop {
        let rest = &buf[start..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return if eof {
                Err("connection closed before a complete response head".to_string())
            } else {
                Ok(Parsed::Incomplete)
            };
        };
        let head = &rest[..head_end];
        let body_start = head_end + 4;
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, |&b| b == b' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with(b"HTTP/") {
            return Err(format!(
                "bad status line {:?}",
                String::from_utf8_lossy(status_line)
            ));
        }
        let status: u16 = std::str::from_utf8(parts.next().unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {:?}", String::from_utf8_lossy(status_line)))?;
        let reason = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let mut headers = Vec::new();
        for line in lines {
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or_else(|| format!("bad header line {:?}", String::from_utf8_lossy(line)))?;
            headers.push((
                String::from_utf8_lossy(trim_ows(&line[..colon])).into_owned(),
                String::from_utf8_lossy(trim_ows(&line[colon + 1..])).into_owned(),
            ));
        }
        if (100..200).contains(&status) && status != 101 {
            // Interim response (100 Continue, 103 Early Hints): the real one follows.
            start += body_start;
            continue;
        }
        let raw_head = rest[..body_start].to_vec();
        let rest_body = &rest[body_start..];
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        let content_length = match headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            Some((_, v)) => Some(
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {v:?}"))?,
            ),
            None => None,
        };
        let no_body = head_request || status == 204 || status == 304 || status == 101;
        let body = if no_body {
            Vec::new()
        } else if chunked {
            match dechunk(rest_body, eof)? {
                Some(b) => b,
                None => return Ok(Parsed::Incomplete),
            }
        } else if let Some(n) = content_length {
            if rest_body.len() >= n {
                rest_body[..n].to_vec()
            } else if eof {
                return Err(format!(
                    "connection closed after {} of {n} body bytes",
                    rest_body.len()
                ));
            } else {
                return Ok(Parsed::Incomplete);
            }
        } else if eof {
            rest_body.to_vec()
        } else {
            return Ok(Parsed::Incomplete);
        };
        return Ok(Parsed::Complete(Response {
            status,
            reason,
            headers,
            body,
            raw_head,
            chunked: chunked && !no_body,
        }));
    }
}

/// De-chunks a chunked body: `Ok(None)` when more bytes are needed.
fn dechunk(data: &[u8], eof: bool) -> Result<Option<Vec<u8>>, String> {
    let more = || {
        if eof {
            Err("connection closed inside a chunked body".to_string())
        } else {
            Ok(None)
        }
    };
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let Some(le) = find(&data[pos..], b"\r\n") else {
            return more();
        };
        let line = &data[pos..pos + le];
        let size_part = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(trim_ows(size_part)).unwrap_or("");
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size line {:?}", String::from_utf8_lossy(line)))?;
        pos += le + 2;
        if size == 0 {
            // Trailer fields, then the empty line.
            loop {
                let Some(le) = find(&data[pos..], b"\r\n") else {
                    return more();
                };
                pos += le + 2;
                if le == 0 {
                    return Ok(Some(out));
                }
            }
        }
        if data.len() < pos + size + 2 {
            return more();
        }
        out.extend_from_slice(&data[pos..pos + size]);
        if &data[pos + size..pos + size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".to_string());
        }
        pos += size + 2;
    }
}

// ---------------------------------------------------------------------------------------
// Unit tests of the client (against in-process fake servers) and helpers
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> Response {
        match parse_response(buf, true, false).unwrap() {
            Parsed::Complete(r) => r,
            Parsed::Incomplete => panic!("incomplete"),
        }
    }

    #[test]
    fn parses_content_length_and_headers() {
        let raw = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 8\r\n\r\n{\"a\":1}\nEXTRA";
        let r = complete(raw);
        assert_eq!(r.status, 201);
        assert_eq!(r.reason, "Created");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header_all("SET-COOKIE"), vec!["a=1", "b=2"]);
        assert_eq!(r.body, b"{\"a\":1}\n");
        assert!(!r.chunked);
        // Complete before EOF as well.
        assert!(matches!(
            parse_response(raw, false, false),
            Ok(Parsed::Complete(_))
        ));
        assert!(matches!(
            parse_response(&raw[..raw.len() - 8], false, false),
            Ok(Parsed::Incomplete)
        ));
        assert!(parse_response(&raw[..raw.len() - 8], true, false).is_err());
    }

    #[test]
    fn dechunks_with_extensions_and_trailers() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n";
        let r = complete(raw);
        assert!(r.chunked);
        assert_eq!(r.text(), "helloabcdefghijklmnopqrstuvwxyz");
        for cut in 1..raw.len() {
            let partial = &raw[..cut];
            assert!(
                !matches!(
                    parse_response(partial, false, false),
                    Ok(Parsed::Complete(_))
                ),
                "complete after {cut} bytes"
            );
        }
    }

    #[test]
    fn eof_delimited_body_interim_responses_and_bodyless_statuses() {
        let r =
            complete(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil eof");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"until eof");
        let r = complete(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
        assert!(r.body.is_empty());
        match parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, true).unwrap()
        {
            Parsed::Complete(r) => assert!(r.body.is_empty()),
            Parsed::Incomplete => panic!("HEAD response has no body"),
        }
        assert!(parse_response(b"garbage\r\n\r\n", true, false).is_err());
    }

    /// A one-shot server: returns its address and a handle yielding the request bytes.
    fn fake_server(
        response: Vec<u8>,
        chunk_delay: bool,
    ) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 65536];
            // Read the head, then Content-Length bytes.
            loop {
                let n = s.read(&mut buf).unwrap();
                req.extend_from_slice(&buf[..n]);
                if let Some(h) = find(&req, b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..h]).to_ascii_lowercase();
                    let cl = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    while req.len() < h + 4 + cl {
                        let n = s.read(&mut buf).unwrap();
                        assert!(n > 0);
                        req.extend_from_slice(&buf[..n]);
                    }
                    break;
                }
                assert!(n > 0, "client closed early");
            }
            if chunk_delay {
                for piece in response.chunks(7) {
                    s.write_all(piece).unwrap();
                    s.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                }
            } else {
                s.write_all(&response).unwrap();
            }
            req
        });
        (addr, handle)
    }

    #[test]
    fn sends_raw_bytes_and_reads_a_trickled_chunked_response() {
        let response =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n".to_vec();
        let (addr, server) = fake_server(response, true);
        let res = RequestBuilder::new(addr, "FROB", b"/p\xff?q".as_slice())
            .header("X-Ctl", b"a\x01b\x7f".as_slice())
            .raw_header(b"Weird Line Without Colon".as_slice())
            .bearer("tok")
            .body(b"\xff\xfe".to_vec())
            .send();
        assert_eq!(res.status, 200);
        assert_eq!(res.body, b"abcdef");
        assert!(res.chunked);
        let req = server.join().unwrap();
        let mut expected = b"FROB /p\xff?q HTTP/1.1\r\n".to_vec();
        expected.extend_from_slice(format!("Host: {addr}\r\n").as_bytes());
        expected.extend_from_slice(b"X-Ctl: a\x01b\x7f\r\nWeird Line Without Colon\r\n");
        expected.extend_from_slice(b"Authorization: Bearer tok\r\nConnection: close\r\n");
        expected.extend_from_slice(b"Content-Length: 2\r\n\r\n\xff\xfe");
        assert_eq!(req, expected, "{:?}", String::from_utf8_lossy(&req));
    }

    #[test]
    fn json_sets_content_type_and_length_and_user_headers_win() {
        let (addr, server) = fake_server(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
            false,
        );
        let res = RequestBuilder::new(addr, "POST", "/x")
            .header("host", "example.test")
            .header("connection", "keep-alive")
            .json(&serde_json::json!({"a": [1, 2]}))
            .send();
        assert_eq!(res.json_value(), serde_json::json!({}));
        let req = String::from_utf8(server.join().unwrap()).unwrap();
        assert_eq!(
            req,
            "POST /x HTTP/1.1\r\nhost: example.test\r\nconnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":[1,2]}"
        );
    }

    #[test]
    fn a_closed_connection_without_response_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let t = std::thread::spawn(move || drop(listener.accept().unwrap()));
        let err = RequestBuilder::new(addr, "GET", "/")
            .try_send()
            .unwrap_err();
        assert!(err.contains("before a complete response head"), "{err}");
        t.join().unwrap();
    }

    #[test]
    #[should_panic(expected = "status 404, body: not json")]
    fn json_failure_shows_status_and_body() {
        let r = complete(b"HTTP/1.1 404 Not Found\r\nContent-Length: 8\r\n\r\nnot json");
        let _: Value = r.json();
    }

    #[test]
    fn random_strings_have_the_right_shape() {
        let t = random_base62(40);
        assert_eq!(t.len(), 40);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
        let k = random_hex(64);
        assert_eq!(k.len(), 64);
        assert!(k
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(random_base62(40), t);
        let cfg = ServerConfig::project();
        assert_eq!(cfg.d1_name, "connect");
        assert!(cfg.config.ends_with("wrangler.toml") && cfg.config.is_file());
        let names: Vec<&str> = cfg.vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ADMIN_TOKEN", "SECRETS_KEYS"]);
    }

    #[test]
    fn find_and_file_scan() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"ab", b"abc"), None);
        let dir = fresh_temp_dir("scan-unit");
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/b/x-wal"), b"..NEEDLE..").unwrap();
        fs::write(dir.join("y"), b"nothing").unwrap();
        assert_eq!(
            files_containing(&dir, b"NEEDLE"),
            vec![dir.join("a/b/x-wal")]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
