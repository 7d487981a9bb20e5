//! Migration 0004 (apps keyed by workspace and position) on local D1, end to end: both
//! shards made with the migrations up to 0003, a workspace in each with its API key,
//! apps made, patched and deleted through the API, recorded answers; then
//! `wrangler d1 migrations apply` as an operator runs it. Every page, every app and every
//! recorded answer (read from D1, the KV copies dropped) is the same after; the deployment
//! is ready (health 200, workspaces placed), a workspace goes on growing past its cap with
//! deletions, and a rotation of the secrets key re-seals every app of both shards.
//!
//! The Worker of this build refuses to place a workspace in a shard without its latest
//! migration, so the two workspaces are written to the shards as the operators' route
//! writes them (the workspace and its key in its shard, both in the directory); the rest
//! goes through the API. The native test (sqlite/tests/migration.rs) covers deletions as
//! the Worker before 0004 counted them.

use connect_e2e::api::{Credentials, Tenant};
use connect_e2e::{random_base62, random_hex, workspace_root, Response, Server, ServerConfig};
use serde_json::{json, Value};
use std::fs;
use std::path::PathBuf;

const LATEST: &str = "0004_apps_keyed_by_position.sql";

/// The project with its rate limit lifted and the page cache off (every page is read from
/// D1), whose migrations folder holds those up to 0003 only: the folder, to add 0004 to.
fn config_at_0003() -> (ServerConfig, PathBuf) {
    let cfg = ServerConfig::project()
        .with_rate_limit_lifted()
        .with_var("PAGE_CACHE", "off");
    // In the config's scratch folder, removed with it.
    let dir = cfg.config.parent().unwrap().join("migrations-0003");
    fs::create_dir_all(&dir).unwrap();
    let project = workspace_root().join("migrations").canonicalize().unwrap();
    for entry in fs::read_dir(&project).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".sql") && name.as_str() < "0004" {
            fs::copy(project.join(&name), dir.join(&name)).unwrap();
        }
    }
    let text = fs::read_to_string(&cfg.config).unwrap();
    let pointed = text.replace(
        &format!("\"{}\"", project.display()),
        &format!("\"{}\"", dir.display()),
    );
    assert_ne!(pointed, text, "the config names the migrations folder");
    fs::write(&cfg.config, pointed).unwrap();
    (cfg, dir)
}

fn admin(server: &Server) -> String {
    server.var("ADMIN_TOKEN").to_owned()
}

/// A workspace and its first key in shard `shard` (database `database`), as
/// `POST /admin/v1/workspaces` writes them.
fn workspace_in(server: &Server, database: &str, shard: &str) -> Credentials {
    let workspace = format!("org_{}", random_base62(27));
    let key = format!("sk_workspace_test_{}", random_base62(32));
    let key_id = format!("key_{}", random_base62(16));
    let hash = connect_core::rules::api_key::sha256_hex(key.as_bytes());
    let at = "2026-03-01T00:00:00.000Z";
    let last4 = &key[key.len() - 4..];
    server.d1_in(
        database,
        &format!(
            "INSERT INTO workspaces (id, created_at) VALUES ('{workspace}', '{at}'); \
             INSERT INTO api_keys (id, workspace_id, key_hash, created_at, last4) \
             VALUES ('{key_id}', '{workspace}', '{hash}', '{at}', '{last4}');"
        ),
    );
    server.d1_in(
        "connect",
        &format!(
            "INSERT INTO directory_workspaces (workspace_id, shard, created_at) \
             VALUES ('{workspace}', '{shard}', '{at}'); \
             INSERT INTO directory_api_keys (key_hash, key_id, workspace_id, shard) \
             VALUES ('{hash}', '{key_id}', '{workspace}', '{shard}');"
        ),
    );
    Credentials {
        workspace: connect_core::wire::ids::WorkspaceId::parse(&workspace).unwrap(),
        key,
        key_id,
    }
}

/// A workspace's apps by position (name and client id) and the positions deleted.
#[derive(Default)]
struct Model {
    apps: Vec<(String, String)>,
    deleted: Vec<bool>,
}

impl Model {
    fn live(&self) -> Vec<String> {
        self.apps
            .iter()
            .zip(&self.deleted)
            .filter(|(_, gone)| !**gone)
            .map(|((name, _), _)| name.clone())
            .collect()
    }
}

fn ok(res: Response, status: u16) -> Value {
    assert_eq!(res.status, status, "{}", res.text());
    res.json_value()
}

/// A batch of `n` apps named `{prefix} {i}`, keyed or not: its answer's body.
fn batch(t: &Tenant, model: &mut Model, prefix: &str, n: usize, key: Option<&str>) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({ "name": format!("{prefix} {i:03}") }))
        .collect();
    let body = ok(t.batch(&json!({ "items": items }), key), 201);
    for (i, r) in body["results"].as_array().unwrap().iter().enumerate() {
        let id = r["app"]["clientId"].as_str().unwrap().to_owned();
        model.apps.push((format!("{prefix} {i:03}"), id));
        model.deleted.push(false);
    }
    body
}

/// Every page of the list (limit 100) as the API answers it, checked against the model.
fn pages(t: &Tenant, model: &Model) -> Vec<Value> {
    let live = model.live();
    let mut all = Vec::new();
    for offset in (0..live.len() + 100).step_by(100) {
        let page = ok(
            t.get(&format!("/connect/v1/apps?limit=100&offset={offset}")),
            200,
        );
        let names: Vec<&str> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        let end = (offset + 100).min(live.len());
        assert_eq!(names, live[offset.min(live.len())..end], "offset {offset}");
        all.push(page);
    }
    all
}

/// Sends the keyed batch `body` again: it must be the replay of `answer`.
fn replays(t: &Tenant, key: &str, items: &Value, answer: &Value) {
    let res = t.batch(items, Some(key));
    assert_eq!(res.header("idempotency-replayed"), Some("true"), "{key}");
    assert_eq!(&ok(res, 201), answer, "{key}");
}

#[test]
fn a_deployment_made_at_0003_keeps_its_data_through_0004_in_both_shards() {
    let (cfg, migrations) = config_at_0003();
    let mut server = Server::start(cfg);
    let credentials = [
        workspace_in(&server, "connect", "SHARD_1"),
        workspace_in(&server, "connect-2", "SHARD_2"),
    ];
    let mut models = [Model::default(), Model::default()];
    let mut keyed: Vec<(usize, String, Value, Value)> = Vec::new();
    let old_ring = server.var("SECRETS_KEYS").to_owned();
    {
        let tenants = credentials.each_ref().map(|c| c.on(&server));
        for (w, t) in tenants.iter().enumerate() {
            let model = &mut models[w];
            for b in 0..6 {
                let prefix = format!("w{w} b{b}");
                let key = (b % 3 == 0).then(|| format!("at-0003-{w}-{b}"));
                let answer = batch(t, model, &prefix, 100, key.as_deref());
                if let Some(key) = key {
                    let items: Vec<Value> = (0..100)
                        .map(|i| json!({ "name": format!("{prefix} {i:03}") }))
                        .collect();
                    keyed.push((w, key, json!({ "items": items }), answer));
                }
            }
            let renamed = model.apps[7].1.clone();
            ok(
                t.send_json(
                    "PATCH",
                    &format!("/connect/v1/apps/{renamed}"),
                    &json!({ "name": "renamed" }),
                ),
                200,
            );
            model.apps[7].0 = "renamed".into();
            for p in (0..model.apps.len()).step_by(9).filter(|p| *p != 7) {
                let id = &model.apps[p].1;
                ok(
                    t.request("DELETE", &format!("/connect/v1/apps/{id}"))
                        .send(),
                    200,
                );
                model.deleted[p] = true;
            }
        }
    }

    let snapshot = |server: &Server, models: &[Model; 2]| {
        let tenants = credentials.each_ref().map(|c| c.on(server));
        let pages: Vec<Vec<Value>> = tenants
            .iter()
            .zip(models)
            .map(|(t, m)| pages(t, m))
            .collect();
        let apps: Vec<Value> = tenants
            .iter()
            .zip(models)
            .flat_map(|(t, m)| {
                m.apps.iter().step_by(23).map(move |(_, id)| {
                    let res = t.get(&format!("/connect/v1/apps/{id}"));
                    match res.status {
                        404 => Value::Null,
                        _ => ok(res, 200),
                    }
                })
            })
            .collect();
        let keys = ok(
            server
                .get("/admin/v1/secrets-keys")
                .bearer(admin(server))
                .send(),
            200,
        );
        (pages, apps, keys)
    };
    let before = snapshot(&server, &models);

    // The operator migrates both shards.
    fs::copy(
        workspace_root().join("migrations").join(LATEST),
        migrations.join(LATEST),
    )
    .unwrap();
    for database in ["connect", "connect-2"] {
        server.d1_migrate(database);
        let schema = server.d1_in(
            database,
            "SELECT sql FROM sqlite_schema WHERE name = 'apps'",
        );
        assert!(
            schema[0]["sql"]
                .as_str()
                .unwrap()
                .ends_with("WITHOUT ROWID"),
            "{schema:?}"
        );
    }
    let health = ok(
        server.get("/admin/v1/health").bearer(admin(&server)).send(),
        200,
    );
    assert_eq!(health["latestMigration"], LATEST, "{health}");

    assert!(
        snapshot(&server, &models) == before,
        "every page, app and count the same"
    );
    // The recorded answers, from D1: their KV copies dropped.
    for name in server.kv_keys() {
        server.kv_delete(&name);
    }
    {
        let tenants = credentials.each_ref().map(|c| c.on(&server));
        for (w, key, items, answer) in &keyed {
            replays(&tenants[*w], key, items, answer);
        }
        // The deployment goes on: workspaces are placed again, and the first workspace
        // grows past 1,024 positions (its cap doubles) with deletions.
        assert_eq!(server.tenant().total(), 0);
        let t = &tenants[0];
        for b in 0..5 {
            batch(t, &mut models[0], &format!("w0 after {b}"), 100, None);
        }
        assert!(models[0].apps.len() > 1_024);
        for p in (5..models[0].apps.len()).step_by(13) {
            if !models[0].deleted[p] {
                let id = &models[0].apps[p].1;
                ok(
                    t.request("DELETE", &format!("/connect/v1/apps/{id}"))
                        .send(),
                    200,
                );
                models[0].deleted[p] = true;
            }
        }
        pages(t, &models[0]);
    }

    // A new secrets key: the re-seal moves every app and answer of both shards to it.
    let next = format!("next:{}", random_hex(64));
    server.restart_with_var("SECRETS_KEYS", &format!("{next},{old_ring}"));
    let mut calls = 0;
    loop {
        let progress = ok(
            server
                .post("/admin/v1/secrets-keys/reseal")
                .bearer(admin(&server))
                .send(),
            200,
        );
        if progress["remaining"] == 0 {
            break;
        }
        calls += 1;
        assert!(calls < 200, "the re-seal does not end: {progress}");
    }
    let apps_under_old: i64 = server.d1_sum(
        "SELECT count(*) AS n FROM apps WHERE key_ids NOT LIKE '%\"next\"%'",
        "n",
    );
    assert_eq!(apps_under_old, 0);
    // The old key gone: every page opens, every answer replays.
    server.restart_with_var("SECRETS_KEYS", &next);
    for name in server.kv_keys() {
        server.kv_delete(&name);
    }
    let tenants = credentials.each_ref().map(|c| c.on(&server));
    for (t, m) in tenants.iter().zip(&models) {
        pages(t, m);
    }
    for (w, key, items, answer) in &keyed {
        replays(&tenants[*w], key, items, answer);
    }
}
