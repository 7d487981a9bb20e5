//! `Idempotency-Key`, end to end on the real Worker (issue 3): exactly once under
//! concurrency, byte-identical replays, conflicts, refused requests not recorded, replays
//! without KV, expiry and the hourly purge, workspace scope, and nothing stored in plain text.

use connect_core::rules::api_key::sha256_hex;
use connect_core::wire::error::ErrorCode;
use connect_core::wire::response::BatchCreateResponse;
use connect_e2e::api::{assert_error, assert_no_secret_shapes, assert_not_stored, Tenant};
use connect_e2e::{Response, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn body(names: &[&str]) -> Value {
    json!({ "items": names.iter().map(|n| json!({ "name": n, "redirectUris": ["https://x.example.com/cb"] })).collect::<Vec<_>>() })
}

fn replayed(res: &Response) -> bool {
    res.header("idempotency-replayed") == Some("true")
}

fn secrets_of(res: &Response) -> Vec<String> {
    let r: BatchCreateResponse = res.json();
    r.results
        .iter()
        .filter_map(|x| x.app.as_ref())
        .map(|a| a.client_secret.expose().to_owned())
        .collect()
}

/// The KV entry of `key` in `tenant`'s workspace, once the Worker has written it (after the
/// response, in `waitUntil`).
fn kv_name(t: &Tenant, key: &str) -> String {
    let name = format!("idem/{}/{}", t.workspace, sha256_hex(key.as_bytes()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t.server.kv_keys().contains(&name) {
        assert!(Instant::now() < deadline, "KV record {name} never appeared");
        std::thread::sleep(Duration::from_millis(200));
    }
    name
}

#[test]
fn twenty_concurrent_identical_requests_create_one_set_of_apps() {
    let server = Server::shared();
    let t = server.tenant();
    let b = body(&["Concurrent A", "Concurrent B", "Concurrent C"]);
    let responses: Vec<Response> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| t.batch(&b, Some("concurrent-key-1"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let done: Vec<&Response> = responses.iter().filter(|r| r.status == 201).collect();
    for r in responses.iter().filter(|r| r.status != 201) {
        let env = assert_error(r, 409, ErrorCode::IdempotencyRequestInProgress, None);
        assert_eq!(r.header("retry-after"), Some("1"), "{env:?}");
    }
    assert!(!done.is_empty());
    let originals = done.iter().filter(|r| !replayed(r)).count();
    assert_eq!(
        originals, 1,
        "exactly one response is the original (the others are replays or 409s)"
    );
    for r in &done {
        assert_eq!(
            r.body, done[0].body,
            "every response is the original or a byte-identical replay"
        );
    }
    assert_eq!(t.total(), 3, "exactly one set of apps");
    assert_eq!(t.get("/connect/v1/workspace").json_value()["apps_count"], 3);
    for s in secrets_of(done[0]) {
        assert_not_stored(server, &s);
    }
}

#[test]
fn a_replay_is_byte_identical_and_says_so() {
    let server = Server::shared();
    let t = server.tenant();
    let b = body(&["Replay me"]);
    let first = t.batch(&b, Some("replay-key"));
    assert_eq!(first.status, 201, "{}", first.text());
    assert!(!replayed(&first));
    let again = t.batch(&b, Some("replay-key"));
    assert_eq!(again.status, 201);
    assert!(replayed(&again));
    assert_eq!(again.body, first.body, "same body, secrets included");
    assert_ne!(again.header("x-request-id"), first.header("x-request-id"));
    // The quoted (structured-field) form of the same key is the same key.
    let quoted = t.batch(&b, Some("\"replay-key\""));
    assert!(replayed(&quoted));
    assert_eq!(quoted.body, first.body);
    assert_eq!(t.total(), 1);
    for s in secrets_of(&first) {
        assert_not_stored(server, &s);
    }
}

#[test]
fn the_same_key_for_another_request_is_a_conflict_but_reordering_is_not() {
    let server = Server::shared();
    let t = server.tenant();
    let first = t.batch(&json!({ "items": [ { "name": "One", "redirectUris": ["https://one.example.com/cb"] } ], "continueOnError": false }), Some("conflict-key"));
    assert_eq!(first.status, 201);
    let other = t.batch(
        &json!({ "items": [ { "name": "Two" } ] }),
        Some("conflict-key"),
    );
    assert_error(&other, 409, ErrorCode::IdempotencyKeyConflict, None);
    // Another route with the same key and a body of the other route's shape.
    let res = t
        .request("POST", "/connect/v1/apps")
        .header("Idempotency-Key", "conflict-key")
        .json(&json!({ "name": "One" }))
        .send();
    assert_error(&res, 409, ErrorCode::IdempotencyKeyConflict, None);
    // Same body, keys reordered and spaced differently: a replay.
    let reordered = br#"{ "continueOnError" : false ,
        "items" : [ { "redirectUris" : [ "https://one.example.com/cb" ] , "name" : "One" } ] }"#;
    let res = t
        .request("POST", "/connect/v1/apps/batch")
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", "conflict-key")
        .body(reordered.to_vec())
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(replayed(&res));
    assert_eq!(res.body, first.body);
    // A conflicting body that is also invalid is still reported as the conflict.
    let res = t.batch(&json!({ "items": [] }), Some("conflict-key"));
    assert_error(&res, 409, ErrorCode::IdempotencyKeyConflict, None);
    assert_eq!(t.total(), 1);
}

#[test]
fn malformed_keys_are_refused_by_name() {
    let server = Server::shared();
    let t = server.tenant();
    let b = body(&["Never"]);
    for key in [
        "k".repeat(256),
        "tab\tinside".to_string(),
        "space inside".to_string(),
        "\"\"".to_string(),
        "caf\u{e9}".to_string(),
    ] {
        let res = t.batch(&b, Some(&key));
        assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("Idempotency-Key"),
        );
    }
    assert_eq!(t.batch(&b, Some(&"k".repeat(255))).status, 201);
    assert_eq!(t.total(), 1);
}

#[test]
fn a_refused_request_does_not_consume_the_key() {
    let server = Server::shared();
    let t = server.tenant();
    let bad = t.batch(&json!({ "items": [ { "name": "Fix me", "redirectUris": ["http://not-local.example.com/cb"] } ] }), Some("fix-key"));
    assert_error(
        &bad,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("items[0].redirectUris[0]"),
    );
    let unauth = server
        .post("/connect/v1/apps/batch")
        .header("Idempotency-Key", "fix-key")
        .json(&body(&["x"]))
        .send();
    assert_eq!(unauth.status, 401);
    let good = t.batch(&json!({ "items": [ { "name": "Fix me", "redirectUris": ["https://fixed.example.com/cb"] } ] }), Some("fix-key"));
    assert_eq!(good.status, 201, "{}", good.text());
    assert!(!replayed(&good));
    assert_eq!(t.total(), 1);
}

#[test]
fn a_replay_works_and_creates_nothing_when_the_kv_record_is_missing() {
    let server = Server::shared();
    let t = server.tenant();
    let b = body(&["KV lag A", "KV lag B"]);
    let first = t.batch(&b, Some("kv-lag-key"));
    assert_eq!(first.status, 201);
    let name = kv_name(&t, "kv-lag-key");
    // The KV record is sealed too.
    let stored = server.kv_get(&name).expect("KV record");
    for s in secrets_of(&first) {
        assert!(!String::from_utf8_lossy(&stored).contains(&s));
    }
    server.kv_delete(&name);
    assert!(!server.kv_keys().contains(&name));
    let again = t.batch(&b, Some("kv-lag-key"));
    assert_eq!(again.status, 201, "{}", again.text());
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    assert_eq!(t.total(), 2, "the D1 claim stopped a second batch");
    // The replay from D1 put the record back for the next one.
    kv_name(&t, "kv-lag-key");
}

#[test]
fn an_expired_claim_lets_the_key_be_used_afresh() {
    let server = Server::shared();
    let t = server.tenant();
    let b = body(&["Yesterday"]);
    let first = t.batch(&b, Some("expiring-key"));
    assert_eq!(first.status, 201);
    let name = kv_name(&t, "expiring-key");
    let hash = sha256_hex(b"expiring-key");
    let rows = server.d1(&format!(
        "SELECT expires_at - created_at AS ttl FROM idempotency_keys WHERE scope = '{}' AND key_hash = '{hash}'",
        t.workspace
    ));
    assert_eq!(rows[0]["ttl"], 24 * 60 * 60 * 1000, "keys last 24 hours");
    // 24 hours later: the claim is past its expiry and KV has dropped its copy.
    server.d1_exec(&format!(
        "UPDATE idempotency_keys SET created_at = created_at - 86400001, expires_at = expires_at - 86400001 \
         WHERE scope = '{}' AND key_hash = '{hash}'",
        t.workspace
    ));
    server.kv_delete(&name);
    let fresh = t.batch(&b, Some("expiring-key"));
    assert_eq!(fresh.status, 201, "{}", fresh.text());
    assert!(!replayed(&fresh));
    assert_ne!(fresh.body, first.body);
    assert_eq!(t.total(), 2);
    // And the new claim holds from now on.
    let again = t.batch(&b, Some("expiring-key"));
    assert!(replayed(&again));
    assert_eq!(again.body, fresh.body);
    assert_eq!(t.total(), 2);
}

#[test]
fn the_same_key_in_another_workspace_is_unrelated() {
    let server = Server::shared();
    let (a, b) = (server.tenant(), server.tenant());
    let first = a.batch(&body(&["Mine"]), Some("shared-key"));
    let other = b.batch(&body(&["Mine"]), Some("shared-key"));
    assert_eq!((first.status, other.status), (201, 201));
    assert!(!replayed(&other));
    assert_ne!(first.body, other.body);
    let different = b.batch(&body(&["Yours"]), Some("shared-key-2"));
    assert_eq!(different.status, 201);
    assert_eq!(
        a.batch(&body(&["Yours"]), Some("shared-key-2")).status,
        201,
        "b's key means nothing in a"
    );
    assert_eq!((a.total(), b.total()), (2, 2));
}

#[test]
fn stored_claims_hold_no_secret_in_plain_text() {
    let server = Server::shared();
    let t = server.tenant();
    let res = t.batch(&body(&["Sealed 1", "Sealed 2"]), Some("sealed-key"));
    assert_eq!(res.status, 201);
    kv_name(&t, "sealed-key");
    let rows = server.d1(&format!(
        "SELECT response FROM idempotency_keys WHERE scope = '{}'",
        t.workspace
    ));
    assert_eq!(rows.len(), 1);
    // Sealed under the ring's primary key, which it names.
    let primary = server
        .var("SECRETS_KEYS")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let stored = rows[0]["response"].as_str().unwrap();
    assert!(stored.starts_with(&format!("{primary}.")), "{stored}");
    for s in secrets_of(&res) {
        assert!(!stored.contains(&s[7..]));
        assert_not_stored(server, &s);
    }

    // A 100-app answer is kept compressed, then sealed: a fraction of its size, no secret
    // in it, and the replay still gives every secret back.
    let names: Vec<String> = (0..100).map(|i| format!("Sealed large {i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let large = t.batch(&body(&names), Some("sealed-key-large"));
    assert_eq!(large.status, 201, "{}", large.text());
    let rows = server.d1(&format!(
        "SELECT response FROM idempotency_keys WHERE scope = '{}' AND key_hash = '{}'",
        t.workspace,
        sha256_hex(b"sealed-key-large")
    ));
    let stored = rows[0]["response"].as_str().unwrap();
    assert!(
        stored.len() < large.body.len() / 3,
        "{} bytes kept for a {}-byte answer",
        stored.len(),
        large.body.len()
    );
    let secrets = secrets_of(&large);
    assert_eq!(secrets.len(), 100);
    for s in &secrets {
        assert!(!stored.contains(&s[7..]));
        assert_not_stored(server, s);
    }
    let again = t.batch(&body(&names), Some("sealed-key-large"));
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.body, large.body);
    assert_no_secret_shapes(server);
}

#[test]
fn the_hourly_purge_removes_expired_claims_in_bounded_chunks_in_every_shard() {
    // Its own server: the purge removes every workspace's expired claims.
    let server = Server::start(connect_e2e::ServerConfig::project());
    let t = server.tenant();
    let kept = t.batch(&body(&["Kept"]), Some("kept-key"));
    assert_eq!(kept.status, 201, "{}", kept.text());
    let kept_kv = kv_name(&t, "kept-key");
    // In every shard, 2,345 claims long expired (more than two chunks of 1,000) and 5 that
    // are not, sealed under a key id of their own so that the counts can be followed.
    server.d1_exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2350) \
         INSERT INTO idempotency_keys (scope, key_hash, fingerprint, response, key_id, created_at, expires_at) \
         SELECT 'org_purge', printf('%064d', i), 'f', 'purge.x', 'purge', 0, \
                CASE WHEN i <= 2345 THEN i ELSE 4102444800000 END FROM n",
    );
    let counted =
        "SELECT sealed FROM sealed_counts WHERE kind = 'idempotency_records' AND key_id = 'purge'";
    assert_eq!(server.d1_sum(counted, "sealed"), 2 * 2350);

    let purge = server
        .get("/cdn-cgi/handler/scheduled?cron=17+*+*+*+*")
        .send();
    assert_eq!(purge.status, 200, "{}", purge.text());
    let deadline = Instant::now() + Duration::from_secs(30);
    for shard in ["SHARD_1", "SHARD_2"] {
        let line = format!("{shard}: purged 2345 expired idempotency claims in 3 statement(s)");
        while !server.log().contains(&line) {
            assert!(
                Instant::now() < deadline,
                "no {line:?} in the log: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(!server.log().contains("more remain"), "{}", server.log());
    let left = "SELECT count(*) AS n FROM idempotency_keys WHERE scope = 'org_purge'";
    assert_eq!(
        server.d1_sum(left, "n"),
        2 * 5,
        "only the unexpired claims are left"
    );
    assert_eq!(server.d1_sum(counted, "sealed"), 2 * 5, "the counts follow");

    // The tenant's claim had not expired: without its KV copy, D1 still replays it.
    server.kv_delete(&kept_kv);
    let again = t.batch(&body(&["Kept"]), Some("kept-key"));
    assert!(replayed(&again), "{}", again.text());
    assert_eq!(again.body, kept.body);
    assert_eq!(t.total(), 1);
}

/// The contract's answer to a write whose outcome the server cannot know (the database
/// failed it, after it was sent, with an error that is none of the schema's refusals): a
/// 500 that says the write may or may not have happened and how to find out; the same
/// `Idempotency-Key` then performs it once. The failure is a trigger the test adds to
/// every shard and drops again.
#[test]
fn a_write_the_database_failed_is_in_doubt_and_its_key_then_performs_it_once() {
    let server = Server::shared();
    let t = server.tenant();
    let send = || {
        t.request("POST", "/connect/v1/apps/batch")
            .header("Idempotency-Key", "in-doubt")
            .json(&body(&["Doubted"]))
            .send()
    };
    let ws = t.workspace.as_str();
    // Only this test's workspace: the other tests share the server.
    server.d1_exec(&format!(
        "CREATE TRIGGER in_doubt_test BEFORE INSERT ON apps WHEN NEW.workspace_id = '{ws}' \
         BEGIN SELECT RAISE(ABORT, 'the disk went away (a test)'); END"
    ));
    let doubted = send();
    server.d1_exec("DROP TRIGGER in_doubt_test");
    let env = assert_error(&doubted, 500, ErrorCode::SystemInternalError, None);
    assert!(
        env.error.message.contains("may or may not have happened")
            && env.error.message.contains("same Idempotency-Key")
            && env.error.message.contains("request_id"),
        "{}",
        env.error.message
    );
    assert_eq!(t.total(), 0, "the failed write left nothing");

    let performed = send();
    assert_eq!(performed.status, 201, "{}", performed.text());
    assert!(!replayed(&performed), "performed now, not replayed");
    let again = send();
    assert!(replayed(&again), "{again:?}");
    assert_eq!(again.body, performed.body);
    assert_eq!(t.total(), 1);
}
