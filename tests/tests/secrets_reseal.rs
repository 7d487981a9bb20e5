//! A rotation of the secrets key (issue 17), end to end as an operator does it on the real
//! Worker: values sealed under key `a`; a redeploy with ring `b,a` (reads unchanged, new
//! values under `b`); the re-seal until nothing remains, racing secret rotations; a
//! redeploy with `b` alone. The stored D1 and KV state is scanned for values under `a`.

use connect_core::wire::error::ErrorCode;
use connect_e2e::api::{assert_error, assert_no_secret_shapes, d1_costs, Tenant};
use connect_e2e::{random_hex, Response, Server, ServerConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const APPS: usize = 1000;
const BATCH: usize = 100;
/// Apps given a webhook secret by a keyed rotation: with the 10 keyed batches, 50 recorded
/// answers.
const HOOKED: usize = 40;

fn admin(server: &Server, method: &str, path: &str) -> Response {
    server
        .request(method, path)
        .bearer(server.var("ADMIN_TOKEN"))
        .send()
}

fn secrets_keys(server: &Server) -> Value {
    let res = admin(server, "GET", "/admin/v1/secrets-keys");
    assert_eq!(res.status, 200, "{}", res.text());
    res.json_value()
}

/// A keyed request and the answer it was first given.
struct Recorded {
    method: &'static str,
    path: String,
    key: String,
    body: Option<Value>,
    answer: Vec<u8>,
}

impl Recorded {
    fn send(&self, t: &Tenant<'_>) -> Response {
        let mut req = t
            .request(self.method, &self.path)
            .header("Idempotency-Key", &self.key);
        if let Some(body) = &self.body {
            req = req.json(body);
        }
        req.send()
    }
}

/// What a reader sees: every app's GET and every list page, as bytes.
#[derive(Debug, PartialEq)]
struct Reads {
    apps: BTreeMap<String, Vec<u8>>,
    pages: Vec<Vec<u8>>,
}

fn read_all(t: &Tenant<'_>, ids: &[String]) -> Reads {
    let mut apps = BTreeMap::new();
    for id in ids {
        let res = t.get(&format!("/connect/v1/apps/{id}"));
        assert_eq!(res.status, 200, "{}", res.text());
        apps.insert(id.clone(), res.body);
    }
    let pages = (0..ids.len().div_ceil(BATCH))
        .map(|page| {
            let res = t.get(&format!(
                "/connect/v1/apps?limit={BATCH}&offset={}",
                page * BATCH
            ));
            assert_eq!(res.status, 200, "{}", res.text());
            res.body
        })
        .collect();
    Reads { apps, pages }
}

fn assert_replays(t: &Tenant<'_>, recorded: &[Recorded]) {
    for r in recorded {
        let res = r.send(t);
        assert_eq!(res.header("idempotency-replayed"), Some("true"));
        assert!(
            res.body == r.answer,
            "{} {} replayed otherwise",
            r.method,
            r.path
        );
    }
}

/// The count `n` of `sql` over every shard.
fn single(server: &Server, sql: &str) -> i64 {
    server.d1_sum(sql, "n")
}

#[test]
fn a_rotation_reseals_every_value_under_the_new_key_and_every_read_stays_the_same() {
    let ring_a = format!("a:{}", random_hex(64));
    let ring_b = format!("b:{}", random_hex(64));
    let mut server = Server::start(
        ServerConfig::project()
            .with_rate_limit_lifted()
            .with_var("SECRETS_KEYS", &ring_a),
    );
    let creds = server.tenant().credentials();

    // Under `a`: 1,000 apps in ten keyed batches, 40 of them given a webhook secret by a
    // keyed rotation: 50 recorded answers.
    let (ids, recorded) = {
        let t = creds.on(&server);
        let mut ids = Vec::new();
        let mut recorded = Vec::new();
        for b in 0..APPS / BATCH {
            let items: Vec<Value> = (0..BATCH)
                .map(|i| json!({ "name": format!("app {}", b * BATCH + i) }))
                .collect();
            let body = json!({ "items": items });
            let key = format!("batch-{b}");
            let res = t.batch(&body, Some(&key));
            assert_eq!(res.status, 201, "{}", res.text());
            for r in res.json_value()["results"].as_array().unwrap() {
                ids.push(r["app"]["clientId"].as_str().unwrap().to_owned());
            }
            recorded.push(Recorded {
                method: "POST",
                path: "/connect/v1/apps/batch".into(),
                key,
                body: Some(body),
                answer: res.body,
            });
        }
        for (i, id) in ids.iter().step_by(APPS / HOOKED).enumerate() {
            let r = Recorded {
                method: "POST",
                path: format!("/connect/v1/apps/{id}/webhook-config/rotate-secret"),
                key: format!("hook-{i}"),
                body: None,
                answer: Vec::new(),
            };
            let res = r.send(&t);
            assert_eq!(res.status, 200, "{}", res.text());
            recorded.push(Recorded {
                answer: res.body,
                ..r
            });
        }
        assert_eq!(recorded.len(), 50);
        (ids, recorded)
    };
    let before = read_all(&creds.on(&server), &ids);

    // Ring `b,a`: `b` seals, both open. Every read and replay is what it was.
    server.restart_with_var("SECRETS_KEYS", &format!("{ring_b},{ring_a}"));
    {
        let t = creds.on(&server);
        assert!(read_all(&t, &ids) == before, "reads changed under ring b,a");
        assert_replays(&t, &recorded);
        let new = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "under b" }));
        assert_eq!(new.status, 201, "{}", new.text());
        let id = new.json_value()["clientId"].as_str().unwrap().to_owned();
        let row = &server.d1(&format!(
            "SELECT key_ids, doc ->> '$.clientSecret' AS secret FROM apps WHERE client_id = '{id}'"
        ))[0];
        assert_eq!(row["key_ids"], "[\"b\"]");
        assert!(row["secret"].as_str().unwrap().starts_with("b."));
    }
    let counts = admin(&server, "GET", "/admin/v1/secrets-keys");
    assert!(
        d1_costs(&counts).rows_read <= 10,
        "the counts do not scan the apps: {:?}",
        d1_costs(&counts)
    );
    assert_eq!(
        counts.json_value(),
        json!({ "keys": [
            { "id": "b", "primary": true, "inRing": true,
              "sealed": { "apps": 1, "idempotencyRecords": 0 } },
            { "id": "a", "primary": false, "inRing": true,
              "sealed": { "apps": APPS, "idempotencyRecords": 50 } },
        ] })
    );

    // The scheduled handler's minute: eight chunks, the first 800 apps and every record.
    let cron = server
        .get("/cdn-cgi/handler/scheduled?cron=*+*+*+*+*")
        .send();
    assert_eq!(cron.status, 200, "{}", cron.text());
    assert_eq!(
        secrets_keys(&server)["keys"][1]["sealed"],
        json!({ "apps": APPS - 800, "idempotencyRecords": 0 })
    );

    // The re-seal, chunk by chunk, while client secrets are rotated across the rest of
    // the walk: a rotation is never undone by a chunk that read the app before it.
    let (resealed, rotated): (u64, BTreeMap<String, String>) = std::thread::scope(|scope| {
        let rotations = scope.spawn(|| {
            let t = creds.on(&server);
            ids[800..]
                .iter()
                .step_by(7)
                .map(|id| {
                    let res = t
                        .request(
                            "POST",
                            &format!("/connect/v1/apps/{id}/rotate-client-secret"),
                        )
                        .send();
                    assert_eq!(res.status, 201, "{}", res.text());
                    let secret = res.json_value()["clientSecret"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    (id.clone(), secret)
                })
                .collect()
        });
        // The first chunk with an Idempotency-Key: a retry answers the same and does
        // nothing more.
        let first = server
            .request("POST", "/admin/v1/secrets-keys/reseal")
            .bearer(server.var("ADMIN_TOKEN"))
            .header("Idempotency-Key", "reseal-1")
            .send();
        assert_eq!(first.status, 200, "{}", first.text());
        let again = server
            .request("POST", "/admin/v1/secrets-keys/reseal")
            .bearer(server.var("ADMIN_TOKEN"))
            .header("Idempotency-Key", "reseal-1")
            .send();
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("idempotency-replayed"), Some("true"));
        let mut resealed = first.json_value()["resealed"].as_u64().unwrap();
        assert!(resealed > 0, "{}", first.text());
        let mut calls = 1;
        loop {
            let res = admin(&server, "POST", "/admin/v1/secrets-keys/reseal");
            assert_eq!(res.status, 200, "{}", res.text());
            let progress = res.json_value();
            resealed += progress["resealed"].as_u64().unwrap();
            calls += 1;
            if progress["remaining"] == 0 {
                break;
            }
            assert!(calls < 40, "the re-seal does not end: {progress}");
        }
        (resealed, rotations.join().unwrap())
    });
    // Each value moved once at most; a rotated app may have moved with its rotation.
    let rest = (APPS - 800) as u64;
    assert!(resealed <= rest, "{resealed} moved");
    assert!(resealed >= rest - rotated.len() as u64, "{resealed} moved");
    let t = creds.on(&server);
    for (id, secret) in &rotated {
        let app = t.get(&format!("/connect/v1/apps/{id}")).json_value();
        assert_eq!(
            app["clientSecret"],
            secret.as_str(),
            "the rotation of {id} was kept"
        );
    }
    let after = read_all(&t, &ids);
    for (id, body) in &before.apps {
        if !rotated.contains_key(id) {
            assert!(
                after.apps[id] == *body,
                "{id} reads otherwise after the re-seal"
            );
        }
    }
    assert_replays(&t, &recorded);
    assert_eq!(
        secrets_keys(&server),
        json!({ "keys": [
            { "id": "b", "primary": true, "inRing": true,
              "sealed": { "apps": APPS + 1, "idempotencyRecords": 51 } },
            { "id": "a", "primary": false, "inRing": true,
              "sealed": { "apps": 0, "idempotencyRecords": 0 } },
        ] })
    );

    // Nothing stored is under `a` any more, in D1 or in KV.
    assert_eq!(
        single(
            &server,
            "SELECT count(*) AS n FROM apps WHERE key_ids <> '[\"b\"]' \
             OR instr(doc, ':\"a.') > 0"
        ),
        0
    );
    assert_eq!(
        single(
            &server,
            "SELECT count(*) AS n FROM idempotency_keys WHERE key_id <> 'b' \
             OR response NOT LIKE 'b.%'"
        ),
        0
    );
    let kv = server.kv_values();
    assert!(!kv.is_empty(), "the replays left KV copies");
    for (name, value) in &kv {
        assert!(
            !value.contains("\"a."),
            "KV {name} holds a value under a: {value}"
        );
    }
    assert_no_secret_shapes(&server);

    // Ring `b` alone: everything still reads and replays.
    server.restart_with_var("SECRETS_KEYS", &ring_b);
    let t = creds.on(&server);
    assert!(read_all(&t, &ids) == after, "reads changed under ring b");
    assert_replays(&t, &recorded);
    assert_eq!(
        secrets_keys(&server)["keys"],
        json!([{ "id": "b", "primary": true, "inRing": true,
                 "sealed": { "apps": APPS + 1, "idempotencyRecords": 51 } }])
    );
    let done = admin(&server, "POST", "/admin/v1/secrets-keys/reseal");
    assert_eq!(done.json_value(), json!({ "resealed": 0, "remaining": 0 }));
    // The hourly cron purges expired claims (none yet), and leaves the rest alone.
    let purge = server
        .get("/cdn-cgi/handler/scheduled?cron=17+*+*+*+*")
        .send();
    assert_eq!(purge.status, 200, "{}", purge.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !server.log().contains("purged 0 expired idempotency claims") {
        assert!(std::time::Instant::now() < deadline, "no purge in the log");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_replays(&creds.on(&server), &recorded);
}

#[test]
fn the_key_ring_routes_refuse_bad_calls_with_the_envelope() {
    let server = Server::start(ServerConfig::project());
    for (method, path) in [
        ("GET", "/admin/v1/secrets-keys"),
        ("POST", "/admin/v1/secrets-keys/reseal"),
    ] {
        let none = server.request(method, path).send();
        assert_error(&none, 401, ErrorCode::AuthInvalidCredentials, None);
        let wrong = server.request(method, path).bearer("not-the-token").send();
        assert_error(&wrong, 401, ErrorCode::AuthInvalidCredentials, None);
        let workspace_key = server.tenant().key;
        let tenant = server.request(method, path).bearer(&workspace_key).send();
        assert_error(&tenant, 401, ErrorCode::AuthInvalidCredentials, None);
    }
    let put = admin(&server, "PUT", "/admin/v1/secrets-keys");
    assert_error(&put, 405, ErrorCode::MethodNotAllowed, None);
    assert_eq!(put.header("allow"), Some("GET, HEAD"));
    let field = server
        .request("POST", "/admin/v1/secrets-keys/reseal")
        .bearer(server.var("ADMIN_TOKEN"))
        .json(&json!({ "chunk": 5 }))
        .send();
    assert_error(
        &field,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("body"),
    );
    let broken = server
        .request("POST", "/admin/v1/secrets-keys/reseal")
        .bearer(server.var("ADMIN_TOKEN"))
        .header("content-type", "application/json")
        .body("{\"a\":")
        .send();
    assert_eq!(broken.status, 400, "{}", broken.text());
    let reused = server
        .request("POST", "/admin/v1/secrets-keys/reseal")
        .bearer(server.var("ADMIN_TOKEN"))
        .header("Idempotency-Key", "once")
        .send();
    assert_eq!(reused.status, 200, "{}", reused.text());
    let other = server
        .request("POST", "/admin/v1/secrets-keys/reseal")
        .bearer(server.var("ADMIN_TOKEN"))
        .header("Idempotency-Key", "once")
        .json(&json!({}))
        .send();
    assert_eq!(
        other.status,
        200,
        "an empty object is the same request: {}",
        other.text()
    );
}
