//! Fault injection (issue 20), one fault at a time on the Worker's fault build: a write
//! whose answer is lost after it committed says so in its 500, and a retry with the same
//! `Idempotency-Key` replays the original 201; a write that failed before it was sent
//! says nothing was changed, and changed nothing. And the production bundle holds none of
//! the fault injection.

use connect_core::wire::error::{ErrorCode, ErrorEnvelope};
use connect_core::wire::response::BatchCreateResponse;
use connect_e2e::api::assert_error;
use connect_e2e::{build_fault_worker, run_command, workspace_root, wrangler_bin};
use connect_e2e::{Server, ServerConfig};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What only the fault build holds: the vars it reads and the text of its injected errors.
const MARKERS: [&str; 4] = ["FAULT_RATE", "FAULT_SEED", "FAULT_CALLS", "injected fault"];

/// The markers found in the files under `dir`.
fn markers_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for m in MARKERS {
                if bytes.windows(m.len()).any(|w| w == m.as_bytes()) {
                    found.push(format!("{m} in {}", path.display()));
                }
            }
        }
    }
    found
}

#[test]
fn the_production_bundle_holds_no_fault_injection() {
    // The markers are there to find: the fault build holds every one.
    build_fault_worker();
    let fault_build = markers_in(&workspace_root().join("worker/build-faults"));
    assert_eq!(fault_build.len(), MARKERS.len(), "{fault_build:?}");

    // What `wrangler deploy --env production` would upload (it builds the release first).
    let out_dir = std::env::temp_dir().join(format!("connect-e2e-{}-bundle", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = run_command(
        Command::new(wrangler_bin())
            .args(["deploy", "--dry-run", "--env", "production", "--outdir"])
            .arg(&out_dir)
            .current_dir(workspace_root())
            .env("CI", "true")
            .env("WRANGLER_SEND_METRICS", "false"),
        Duration::from_secs(900),
    )
    .expect("run wrangler deploy --dry-run");
    assert!(out.success(), "wrangler deploy --dry-run failed: {out:?}");
    let found = markers_in(&out_dir);
    let wasm = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "wasm"));
    let _ = std::fs::remove_dir_all(&out_dir);
    assert!(wasm, "the dry-run bundle holds no .wasm");
    assert!(
        found.is_empty(),
        "fault injection in the production bundle: {found:?}"
    );
}

/// The fault build, no faults until `FAULT_RATE` is set; faults, when set, only of `calls`.
fn fault_server(calls: &str) -> Server {
    Server::start(
        ServerConfig::project()
            .with_fault_build()
            .with_var("FAULT_SEED", "1")
            .with_var("FAULT_CALLS", calls),
    )
}

fn items(prefix: &str) -> serde_json::Value {
    json!({ "items": (0..3).map(|i| json!({ "name": format!("{prefix} {i}"), "idempotencyKey": format!("{prefix}-{i}") })).collect::<Vec<_>>() })
}

/// The client ids of the workspace's apps, in creation order, from the stored state.
fn stored_ids(server: &Server, workspace: &str) -> Vec<String> {
    server
        .d1(&format!(
            "SELECT client_id FROM apps WHERE workspace_id = '{workspace}' ORDER BY position"
        ))
        .iter()
        .map(|row| row["client_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_lost_answer_after_the_commit_is_replayed_with_the_same_key() {
    let mut server = fault_server("d1-write:after");
    let creds = server.tenant().credentials();
    server.restart_with_var("FAULT_RATE", "1");
    let t = creds.on(&server);

    // Every write commits and loses its answer.
    let lost = t.batch(&items("lost"), Some("lost-answer-1"));
    let env = assert_error(&lost, 500, ErrorCode::SystemInternalError, None);
    assert!(
        env.error.message.contains("may or may not have happened")
            && env.error.message.contains("same Idempotency-Key"),
        "a 500 after the commit must not claim nothing changed: {}",
        env.error.message
    );
    let committed = stored_ids(&server, t.workspace.as_str());
    assert_eq!(committed.len(), 3, "the write committed");

    // The retry finds the claim (its own transaction is refused on it: no fault), and
    // replays the original answer: the apps that were committed, not new ones.
    let retry = t.batch(&items("lost"), Some("lost-answer-1"));
    assert_eq!(retry.status, 201, "{}", retry.text());
    assert_eq!(retry.header("idempotency-replayed"), Some("true"));
    let body: BatchCreateResponse = retry.json();
    let replayed: Vec<String> = body
        .results
        .iter()
        .map(|r| r.app.as_ref().expect("an app").client_id.to_string())
        .collect();
    assert_eq!(replayed, committed);
    assert_eq!(
        stored_ids(&server, t.workspace.as_str()),
        committed,
        "performed once"
    );
    let total = t.get("/connect/v1/apps?limit=1").json_value()["total"].clone();
    assert_eq!(total, json!(3));

    // A PATCH whose answer is lost: the message says so too; sent again, it applies.
    let id = &committed[0];
    let patch = t.send_json(
        "PATCH",
        &format!("/connect/v1/apps/{id}"),
        &json!({ "name": "renamed" }),
    );
    let env: ErrorEnvelope = patch.json();
    assert_eq!(
        (patch.status, env.error.code),
        (500, ErrorCode::SystemInternalError)
    );
    assert!(
        env.error.message.contains("may or may not"),
        "{}",
        env.error.message
    );
    let doc = server.d1(&format!(
        "SELECT doc ->> '$.name' AS name FROM apps WHERE client_id = '{id}'"
    ));
    assert_eq!(doc[0]["name"], json!("renamed"));
}

#[test]
fn a_write_that_failed_before_it_was_sent_changed_nothing_and_says_so() {
    let mut server = fault_server("d1-write:before");
    let creds = server.tenant().credentials();
    server.restart_with_var("FAULT_RATE", "1");
    let t = creds.on(&server);

    let res = t.batch(&items("never"), Some("never-sent-1"));
    let env = assert_error(&res, 500, ErrorCode::SystemInternalError, None);
    assert!(
        env.error.message.contains("nothing was changed"),
        "{}",
        env.error.message
    );
    assert!(stored_ids(&server, t.workspace.as_str()).is_empty());
    let claims = server.d1_sum(
        &format!(
            "SELECT count(*) AS n FROM idempotency_keys WHERE scope = '{}'",
            t.workspace
        ),
        "n",
    );
    assert_eq!(claims, 0);

    // Faults off: the same key performs it, once.
    server.restart_with_var("FAULT_RATE", "0");
    let t = creds.on(&server);
    let res = t.batch(&items("never"), Some("never-sent-1"));
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("idempotency-replayed"), None);
    assert_eq!(stored_ids(&server, t.workspace.as_str()).len(), 3);
}
