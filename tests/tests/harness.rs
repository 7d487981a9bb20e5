//! Proves the e2e harness (connect_e2e) against the peer baseline TypeScript Worker
//! (`../shared/bench/peer-ts`): server start and cleanup, the raw HTTP client, and the D1,
//! KV and state-file helpers while `wrangler dev` runs; and, with a probe Worker written
//! by the test, that a server's Worker gets only the variables of its config and test.
//!
//! Every test that stores data works in its own workspace (an API key inserted with
//! `d1_exec`), except `peer_key_batch_create_and_list`, the only user of the seeded key.

use connect_core::rules::api_key::sha256_hex;
use connect_e2e::{random_base62, random_hex, Response, Server, ServerConfig, PEER_TS_API_KEY};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BATCH: &str = "/connect/v1/apps/batch";
const LIST: &str = "/connect/v1/apps";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeerApp {
    client_id: String,
    client_secret: String,
    name: String,
    redirect_uris: Vec<String>,
    webhook_config: Value,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchResult {
    app: Option<PeerApp>,
    idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchResponse {
    results: Vec<BatchResult>,
    success_count: u32,
    error_count: u32,
}

#[derive(Debug, Deserialize)]
struct ListResponse {
    data: Vec<PeerApp>,
    total: u64,
    limit: u32,
    offset: u32,
}

/// One peer server for the tests of this file (stopped by the atexit handler).
fn peer() -> &'static Server {
    static PEER: OnceLock<Server> = OnceLock::new();
    PEER.get_or_init(|| Server::start(ServerConfig::peer_ts()))
}

/// A new workspace with its own API key, inserted straight into D1.
fn fresh_workspace(server: &Server) -> (String, String) {
    let key = format!("sk_workspace_test_{}", random_base62(24));
    let ws = format!("org_{}", random_base62(12));
    server.d1_exec(&format!(
        "INSERT INTO api_keys (key_hash, workspace_id) VALUES ('{}', '{ws}')",
        sha256_hex(key.as_bytes())
    ));
    (key, ws)
}

fn create(server: &Server, key: &str, names: &[&str]) -> BatchResponse {
    let items: Vec<Value> = names.iter().map(|n| json!({ "name": n })).collect();
    let res = server
        .post(BATCH)
        .bearer(key)
        .json(&json!({ "items": items }))
        .send();
    assert_eq!(res.status, 201, "{res:?}");
    res.json()
}

fn list(server: &Server, key: &str, query: &str) -> ListResponse {
    let res = server.get(format!("{LIST}{query}")).bearer(key).send();
    assert_eq!(res.status, 200, "{res:?}");
    res.json()
}

fn assert_error(res: &Response, status: u16, code: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.json_value()["error"]["code"], code, "{res:?}");
}

#[test]
fn peer_key_batch_create_and_list() {
    let peer = peer();
    assert!(peer.base_url().starts_with("http://127.0.0.1:"));

    assert_error(&peer.get(LIST).send(), 401, "AUTH_INVALID_CREDENTIALS");
    assert_error(
        &peer.get(LIST).bearer("sk_workspace_test_wrong").send(),
        401,
        "AUTH_INVALID_CREDENTIALS",
    );

    let res = peer
        .post(BATCH)
        .bearer(PEER_TS_API_KEY)
        .json(&json!({ "items": [
            { "name": "Alpha", "redirectUris": ["https://a.example/cb"], "idempotencyKey": "item-1" },
            { "name": "Beta" },
            { "name": "Gamma" },
        ]}))
        .send();
    assert_eq!(res.status, 201, "{res:?}");
    assert_eq!(res.header("Content-Type"), Some("application/json"));
    assert_eq!(
        res.header("content-length"),
        Some(res.body.len().to_string().as_str())
    );
    let batch: BatchResponse = res.json();
    assert_eq!((batch.success_count, batch.error_count), (3, 0));
    let alpha = batch.results[0].app.as_ref().unwrap();
    assert_eq!(alpha.name, "Alpha");
    assert_eq!(alpha.redirect_uris, ["https://a.example/cb"]);
    assert_eq!(alpha.webhook_config["retryAttempts"], 3);
    assert_eq!(alpha.created_at, alpha.updated_at);
    assert_eq!(batch.results[0].idempotency_key.as_deref(), Some("item-1"));
    assert!(batch.results[1].idempotency_key.is_none());

    let all = list(peer, PEER_TS_API_KEY, "");
    assert_eq!((all.total, all.limit, all.offset), (3, 20, 0));
    let mut names: Vec<&str> = all.data.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Alpha", "Beta", "Gamma"]);
    let ids: Vec<&str> = batch
        .results
        .iter()
        .map(|r| r.app.as_ref().unwrap().client_id.as_str())
        .collect();
    assert!(all.data.iter().all(|a| ids.contains(&a.client_id.as_str())));

    let page = list(peer, PEER_TS_API_KEY, "?limit=2&offset=1");
    assert_eq!(
        (page.data.len(), page.total, page.limit, page.offset),
        (2, 3, 2, 1)
    );
    assert_error(
        &peer
            .get(format!("{LIST}?limit=0"))
            .bearer(PEER_TS_API_KEY)
            .send(),
        400,
        "VALIDATION_INVALID_PARAMETER",
    );
}

#[test]
fn d1_helpers_read_and_change_state_while_the_server_runs() {
    let peer = peer();

    // A change made with d1_exec is seen by the running Worker: a new API key works.
    let key = format!("sk_workspace_test_{}", random_base62(24));
    let ws = format!("org_{}", random_base62(12));
    assert_error(
        &peer.get(LIST).bearer(&key).send(),
        401,
        "AUTH_INVALID_CREDENTIALS",
    );
    peer.d1_exec(&format!(
        "INSERT INTO api_keys (key_hash, workspace_id) VALUES ('{}', '{ws}')",
        sha256_hex(key.as_bytes())
    ));
    assert_eq!(list(peer, &key, "").total, 0);

    // What the Worker wrote is read by d1().
    let created = create(peer, &key, &["one", "two"]);
    let apps: Vec<&PeerApp> = created
        .results
        .iter()
        .map(|r| r.app.as_ref().unwrap())
        .collect();
    let rows = peer.d1(&format!(
        "SELECT client_id, client_secret, name, json_extract(doc, '$.clientId') AS doc_id \
         FROM apps WHERE workspace_id = '{ws}' ORDER BY name"
    ));
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, app) in rows.iter().zip([apps[0], apps[1]]) {
        assert_eq!(row["client_id"], app.client_id.as_str());
        assert_eq!(row["doc_id"], app.client_id.as_str());
        assert_eq!(row["client_secret"], app.client_secret.as_str());
        assert_eq!(row["name"], app.name.as_str());
    }

    // A delete with d1_exec is seen by the next list.
    peer.d1_exec(&format!(
        "DELETE FROM apps WHERE client_id = '{}'",
        apps[0].client_id
    ));
    let after = list(peer, &key, "");
    assert_eq!(after.total, 1);
    assert_eq!(after.data[0].client_id, apps[1].client_id);

    // Several statements, value types, and SQL too long for --command (sent via --file).
    let results = peer.d1_results("SELECT 1 AS a; SELECT 2.5 AS b, NULL AS c, 'x' AS d");
    assert_eq!(
        results,
        vec![
            vec![json!({"a": 1})],
            vec![json!({"b": 2.5, "c": null, "d": "x"})]
        ]
    );
    let long = "y".repeat(40_000);
    assert_eq!(
        peer.d1(&format!("SELECT length('{long}') AS n")),
        vec![json!({"n": 40_000})]
    );

    // An SQL error panics with wrangler's message.
    let err = std::panic::catch_unwind(|| peer.d1("SELEC nothing")).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("syntax error"), "{msg}");
}

#[test]
fn kv_helpers_read_and_change_idempotency_records_while_the_server_runs() {
    let peer = peer();
    let (key, ws) = fresh_workspace(peer);
    let idem_key = format!("idem-{}", random_base62(8));
    let kv_name = format!("idem:{ws}:{}", sha256_hex(idem_key.as_bytes()));
    let body = json!({ "items": [{ "name": "Replayed" }] });
    let send = || {
        let res = peer
            .post(BATCH)
            .bearer(&key)
            .header("Idempotency-Key", &idem_key)
            .json(&body)
            .send();
        assert_eq!(res.status, 201, "{res:?}");
        res
    };

    let first = send();
    assert_eq!(first.header("idempotency-replayed"), None);

    // What the Worker stored is listed and read by the helpers.
    let entry = peer
        .kv_list()
        .into_iter()
        .find(|k| k.name == kv_name)
        .expect("record listed");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiration = entry.expiration.expect("24-hour expiry");
    assert!(
        (now + 86_400 - 600..=now + 86_400 + 60).contains(&expiration),
        "{expiration} vs {now}"
    );
    let stored: Value = serde_json::from_slice(&peer.kv_get(&kv_name).expect("record")).unwrap();
    assert_eq!(stored["body"], first.text().as_str());
    let fp = stored["fp"].as_str().unwrap().to_string();
    assert_eq!(peer.kv_get("no-such-key"), None);

    let replay = send();
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);

    // kv_delete is seen by the Worker: no replay, a fresh app, and a new record.
    peer.kv_delete(&kv_name);
    assert!(!peer.kv_keys().contains(&kv_name));
    let fresh = send();
    assert_eq!(fresh.header("idempotency-replayed"), None);
    assert_ne!(fresh.body, first.body);
    assert!(peer.kv_keys().contains(&kv_name));

    // kv_put is seen by the Worker: it replays a planted record.
    let planted = json!({ "fp": fp, "body": "{\"planted\":true}" });
    peer.kv_put(&kv_name, planted.to_string().as_bytes());
    let replay = send();
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.json_value(), json!({ "planted": true }));

    // Arbitrary bytes survive kv_put / kv_get.
    let raw_name = format!("raw:{}", random_base62(8));
    peer.kv_put(&raw_name, b"a\x00b\xffc\n");
    assert_eq!(
        peer.kv_get(&raw_name).as_deref(),
        Some(&b"a\x00b\xffc\n"[..])
    );
    // kv_values: every entry with its value as text, the planted record among them.
    let values = peer.kv_values();
    assert!(values.contains(&(raw_name.clone(), "a\0b\u{fffd}c\n".to_owned())));
    assert!(values.contains(&(kv_name.clone(), planted.to_string())));
    peer.kv_delete(&raw_name);
}

#[test]
fn raw_client_handles_large_hostile_and_concurrent_requests() {
    let peer = peer();
    let (key, _ws) = fresh_workspace(peer);

    // A large response (~60 KB), 100 items.
    let long_name = "n".repeat(300);
    let names = vec![long_name.as_str(); 100];
    let res = peer
        .post(BATCH)
        .bearer(&key)
        .json(&json!({ "items": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>() }))
        .send();
    assert_eq!(res.status, 201, "{res:?}");
    assert!(res.body.len() > 50_000, "{} bytes", res.body.len());
    if !res.chunked {
        assert_eq!(
            res.header("content-length"),
            Some(res.body.len().to_string().as_str())
        );
    }
    let batch: BatchResponse = res.json();
    assert_eq!(batch.success_count, 100);
    let page = list(peer, &key, "?limit=100");
    assert_eq!((page.data.len(), page.total), (100, 100));

    // 20 concurrent requests, from 20 threads.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let key = &key;
                s.spawn(move || {
                    let created = create(peer, key, &[format!("concurrent-{i}").as_str()]);
                    assert_eq!(created.success_count, 1);
                    list(peer, key, "?limit=1").total
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap() > 100);
        }
    });
    assert_eq!(list(peer, &key, "?limit=1").total, 120);

    // A body over 1 MiB, an invalid UTF-8 body, control characters and non-UTF-8 bytes in
    // a header value, an unknown method: each gets a parsed response.
    let huge = vec![b'{'; 1536 * 1024];
    let res = peer
        .post(BATCH)
        .bearer(&key)
        .header("Content-Type", "application/json")
        .body(huge)
        .send();
    assert_error(&res, 400, "VALIDATION_INVALID_PARAMETER");
    let res = peer
        .post(BATCH)
        .bearer(&key)
        .body(b"\xff\xfe{\"items\"".to_vec())
        .send();
    assert_error(&res, 400, "VALIDATION_INVALID_PARAMETER");
    let res = peer
        .get(LIST)
        .bearer(&key)
        .header("X-Odd", b"a\x01b\x7fc\xff".as_slice())
        .send();
    assert_eq!(res.status, 200, "{res:?}");
    let res = peer.request("FROB", LIST).bearer(&key).send();
    assert_eq!(res.status, 501, "{res:?}");
    // The whole request verbatim.
    let raw = format!("GET {LIST}?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n");
    let res = peer.send_raw(raw);
    assert_eq!(res.json::<ListResponse>().total, 120);
}

#[test]
fn state_scan_finds_secrets_the_peer_stores_in_plain_text() {
    let peer = peer();
    let (key, _ws) = fresh_workspace(peer);
    let res = peer
        .post(BATCH)
        .bearer(&key)
        .header("Idempotency-Key", random_base62(12))
        .json(&json!({ "items": [{ "name": "Leaky" }] }))
        .send();
    assert_eq!(res.status, 201, "{res:?}");
    let batch: BatchResponse = res.json();
    let secret = batch.results[0].app.as_ref().unwrap().client_secret.clone();
    assert!(secret.starts_with("sh_app_"));

    let found = peer.state_files_containing(secret.as_bytes());
    assert!(
        found.iter().all(|p| p.starts_with(peer.state_dir())),
        "{found:?}"
    );
    let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
    // In D1 (the database or its WAL) and in the KV blob of the idempotency record.
    assert!(
        names
            .iter()
            .any(|n| n.contains("/v3/d1/") && n.contains(".sqlite")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("/v3/kv/") && n.contains("/blobs/")),
        "{names:?}"
    );

    assert!(peer
        .state_files_containing(random_hex(40).as_bytes())
        .is_empty());
}

/// A Worker that answers every request with its string variables, written into a fresh
/// directory together with `local` (name, contents): the local settings a developer may
/// keep next to a config (`.dev.vars`, `.env`).
fn vars_probe_worker(local: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "connect-e2e-{}-vars-probe-{}",
        std::process::id(),
        random_hex(8)
    ));
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    let config = r#"
name = "vars-probe"
main = "index.js"
compatibility_date = "2026-04-01"

[vars]
FROM_CONFIG = "config"

[[d1_databases]]
binding = "DB"
database_name = "probe"
database_id = "00000000-0000-0000-0000-000000000002"
migrations_dir = "migrations"
"#;
    let worker = r#"
export default {
  async fetch(request, env) {
    const vars = {};
    for (const [name, value] of Object.entries(env)) {
      if (typeof value === "string") vars[name] = value;
    }
    return Response.json(vars);
  },
};
"#;
    std::fs::write(dir.join("wrangler.toml"), config).unwrap();
    std::fs::write(dir.join("index.js"), worker).unwrap();
    std::fs::write(
        dir.join("migrations/0001_probe.sql"),
        "CREATE TABLE probe (x);\n",
    )
    .unwrap();
    for (name, contents) in local {
        std::fs::write(dir.join(name), contents).unwrap();
    }
    dir
}

#[test]
fn a_server_gets_the_vars_of_its_config_and_test_and_no_local_settings() {
    let layouts: [&[(&str, &str)]; 2] = [
        // .dev.vars overrides [vars] and adds to them; .env is read only without it.
        &[(
            ".dev.vars",
            "FROM_CONFIG=dev-vars\nFROM_TEST=dev-vars\nFROM_DEV_VARS=leaked\n",
        )],
        &[
            (".env", "FROM_CONFIG=env\nFROM_DOT_ENV=leaked\n"),
            (".env.local", "FROM_DOT_ENV_LOCAL=leaked\n"),
        ],
    ];
    for local in layouts {
        let dir = vars_probe_worker(local);
        let server = Server::start(
            ServerConfig::new(dir.join("wrangler.toml"), "probe").with_var("FROM_TEST", "test"),
        );
        let res = server.get("/").send();
        assert_eq!(res.status, 200, "{res:?}");
        assert_eq!(
            res.json_value(),
            json!({ "FROM_CONFIG": "config", "FROM_TEST": "test" }),
            "with {local:?} next to the config"
        );
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn group_gone(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(-pgid, 0) };
    rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

fn keep_state() -> bool {
    std::env::var_os("E2E_KEEP_STATE").is_some_and(|v| !v.is_empty())
}

#[test]
fn dropping_a_server_kills_its_process_group_and_removes_its_state() {
    let server = Server::start(ServerConfig::peer_ts());
    assert_error(&server.get(LIST).send(), 401, "AUTH_INVALID_CREDENTIALS");
    let (pgid, state, run_dir, addr) = (
        server.pgid(),
        server.state_dir().to_path_buf(),
        server.run_dir(),
        server.addr(),
    );
    assert!(!group_gone(pgid));
    assert!(state.join("v3").is_dir());
    assert!(server.startup_time() < Duration::from_secs(300));

    drop(server);
    assert!(
        group_gone(pgid),
        "process group {pgid} still exists after drop"
    );
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
    if !keep_state() {
        assert!(!state.exists(), "{} still exists", state.display());
        assert!(!run_dir.exists(), "{} still exists", run_dir.display());
    }
}

// --- Cleanup when the test process ends: run this test binary again as a child -----------

const CHILD_MODE: &str = "E2E_CHILD_MODE";

/// Not a test of its own: the body of the child processes started by the tests below.
/// Without E2E_CHILD_MODE it does nothing.
#[test]
fn child_process_body() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    // Like Server::shared: never dropped.
    let server: &'static Server = Box::leak(Box::new(Server::start(ServerConfig::peer_ts())));
    println!(
        "E2E_CHILD pgid={} state={}",
        server.pgid(),
        server.state_dir().display()
    );
    match mode.as_str() {
        "exit" => {}
        "panic" => panic!("deliberate panic while a server runs"),
        "hang" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        other => panic!("unknown {CHILD_MODE} {other}"),
    }
}

/// Kills the child when a test fails before it has ended.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the child; returns it with the pgid and state dir of its server, and a receiver
/// of the rest of its stdout and stderr (drained so that it never blocks or gets EPIPE).
fn start_child(mode: &str) -> (ChildGuard, i32, std::path::PathBuf, Output) {
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "child_process_body",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_MODE, mode)
            .env_remove("E2E_KEEP_STATE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let out = child.0.stdout.take().unwrap();
    let err = child.0.stderr.take().unwrap();
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .for_each(|l| drop(tx.send(l)))
    });
    std::thread::spawn(move || {
        BufReader::new(err)
            .lines()
            .map_while(Result::ok)
            .for_each(|l| drop(tx2.send(l)))
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|e| {
            panic!(
                "child ({mode}) printed no pgid ({e}); output:\n{}",
                seen.join("\n")
            )
        });
        // libtest prints "test child_process_body ... " without a newline first.
        if let Some(rest) = line.split_once("E2E_CHILD pgid=").map(|(_, rest)| rest) {
            let (pgid, state) = rest.split_once(" state=").unwrap();
            return (
                child,
                pgid.parse().unwrap(),
                state.into(),
                Output { seen, rx },
            );
        }
        seen.push(line);
    }
}

/// Waits for the child to exit, for at most 5 minutes (then the test fails and the guard
/// kills it; its watchdog stops its server).
fn wait_exit(child: &mut ChildGuard) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the child test process did not exit within 300 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child's output: the lines read before its server's marker (stderr and stdout are read
/// by two threads, so a stderr line can come first) and the receiver of the rest.
struct Output {
    seen: Vec<String>,
    rx: mpsc::Receiver<String>,
}

/// All of the child's output: the reader threads may still be delivering it after the
/// child has exited, so wait until both pipes are closed (or 10 s pass).
fn drain(output: Output) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = output.seen;
    while let Ok(line) = output
        .rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        lines.push(line);
    }
    lines
}

#[test]
fn atexit_stops_a_never_dropped_server_when_the_tests_pass() {
    let (mut child, pgid, state, rx) = start_child("exit");
    let status = wait_exit(&mut child);
    // Checked at once: the watchdog polls only every second, atexit runs before exit.
    let gone = group_gone(pgid);
    let output = drain(rx);
    assert!(status.success(), "{status}: {}", output.join("\n"));
    assert!(
        gone,
        "process group {pgid} survived the exit of the test process"
    );
    assert!(!state.exists(), "{} still exists", state.display());
}

#[test]
fn atexit_stops_a_never_dropped_server_when_a_test_panics() {
    let (mut child, pgid, state, rx) = start_child("panic");
    let status = wait_exit(&mut child);
    let gone = group_gone(pgid);
    let output = drain(rx).join("\n");
    assert_eq!(status.code(), Some(101), "{output}");
    assert!(output.contains("deliberate panic"), "{output}");
    assert!(
        gone,
        "process group {pgid} survived the exit of the test process"
    );
    assert!(!state.exists(), "{} still exists", state.display());
}

#[test]
fn watchdog_stops_the_server_when_the_test_process_is_sigkilled() {
    let (mut child, pgid, state, _rx) = start_child("hang");
    assert!(!group_gone(pgid));
    child.0.kill().unwrap(); // SIGKILL: no atexit, no Drop
    wait_exit(&mut child);
    let t0 = Instant::now();
    while !group_gone(pgid) || state.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "watchdog did not stop group {pgid} / remove {} within 20 s",
            state.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "watchdog cleaned up {:.1} s after SIGKILL",
        t0.elapsed().as_secs_f64()
    );
}
