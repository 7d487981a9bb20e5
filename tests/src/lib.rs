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
//!   own fresh state directory (`--persist-to`), its databases migrated first (a copy of
//!   the state `wrangler d1 migrations apply` made for the first server of the same
//!   databases and migrations, kept in the temp directory). It runs from its
//!   own run directory ([`Server::run_dir`]), so the Worker gets the config's `[vars]` and
//!   the test's `--var`s and nothing else: never a developer's local `.dev.vars` or `.env`.
//! - [`Server::request`] -> [`RequestBuilder`] -> [`Response`]: a raw HTTP/1.1 client.
//! - [`Server::d1`], [`Server::d1_exec`], [`Server::kv_keys`], [`Server::kv_get`],
//!   [`Server::kv_put`], [`Server::kv_delete`]: read and change the stored state while the
//!   server runs, in the local files `wrangler dev` serves them from (the SQLite files of
//!   D1 and KV, and KV's value files, as miniflare lays them out; the running Worker sees
//!   the changes at once and vice versa);
//!   [`Server::d1_migrate`] applies the migrations to a database left out at the start.
//! - [`Server::state_files_containing`]: which stored files hold some bytes in plain text.
//! - [`run_command`]: an external command in its own process group, with a time limit.
//!
//! ## Cleanup
//!
//! `wrangler dev` runs in its own process group. That group is killed (SIGTERM, SIGKILL
//! after 3 s) and the state and run directories removed:
//! - when a non-shared [`Server`] is dropped (also while unwinding from a panic);
//! - at process exit, by a libc `atexit` handler (the test harness leaves through
//!   `exit`, which runs it; statics are never dropped), which also covers [`Server::shared`]
//!   and servers of tests that panicked;
//! - when the test process dies without running `atexit` (SIGKILL, SIGINT, abort), by a
//!   watchdog: a detached `sh` in its own session, one per server, that polls the test
//!   process every second.
//!
//! Every other command the harness runs (the wrangler CLI's migrations)
//! goes through [`run_command`]: in a process group of its own, with a time limit. Its
//! whole group (wrangler and the `workerd` it started) is stopped at the limit,
//! when the command exits leaving some of it behind, and at process exit (`atexit`).
//!
//! Set `E2E_KEEP_STATE=1` to keep the state directories (their paths are printed at exit).
//! `E2E_WRANGLER` overrides the wrangler binary (default: `node_modules/.bin/wrangler` of the
//! repository); `E2E_START_TIMEOUT_SECS` the start timeout (default 300 s). A config's
//! `[build]` command runs once per test process before its first server starts, never in
//! `wrangler dev` (see `build_step`).

pub mod api;
mod build_step;
mod bytes;
mod cleanup;
mod cli;
mod command;
mod config;
mod d1;
mod dev_proxy;
mod http;
mod kv;
mod local_d1;
mod local_kv;
mod migrated_state;
mod miniflare_files;
mod paths;
mod process_group;
mod random;
mod response;
mod run_dir;
mod server;
mod state;
mod turns;
mod watchdog;
mod wrangler_dev;

pub use command::{run_command, CommandOutput};
pub use config::{ServerConfig, PEER_TS_API_KEY};
pub use http::{RequestBuilder, REQUEST_TIMEOUT};
pub use kv::{KvKey, KV_BINDING};
pub use paths::{shared_dir, workspace_root, wrangler_bin};
pub use process_group::process_group_exists;
pub use random::{random_base62, random_bytes, random_hex};
pub use response::Response;
pub use server::{Server, START_TIMEOUT};
pub use state::{files_containing, files_matching};
