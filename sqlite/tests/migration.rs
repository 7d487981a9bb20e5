//! Migration 0004 (apps keyed by workspace and position, the deletion counts kept up to
//! each workspace's cap) keeps the data of a deployment made before it: two shards at
//! migration 0003 with workspaces in both, apps made in batches and one by one, keyed
//! (their recorded answers), patched, and deleted as the Worker before 0004 counted a
//! deletion (every Fenwick node up to 2^32), API keys, re-seal cursors. Migrated with
//! foreign keys enforced, as D1 migrates: every row of every table is kept (apps to the
//! column), the deletion counts up to each workspace's cap are those the deletions make
//! and none is left above it, every list page and every recorded answer is the same; then
//! the Worker of today goes on from there (a batch doubling a cap, deletes, pages against
//! the model), and a rotation of the secrets key re-seals every app and answer in both
//! shards, the walk of apps started again from the beginning.

mod support;

use connect_core::server::operations::app::DeleteApp;
use connect_core::server::reseal;
use connect_core::server::sql;
use connect_core::test_util::SeededEntropy;
use connect_sqlite::block_on;
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, BTreeSet};
use support::*;

/// The migration before 0004.
const BEFORE: &str = "0003_api_keys_last4.sql";

/// How the Worker before migration 0004 counted a deletion (core/src/server/sql.rs at
/// that time): one more in every node above the position, up to 2^32.
const DELETIONS_ADD_BEFORE_0004: &str = "WITH RECURSIVE up(node) AS ( \
       SELECT ?2 + 1 UNION ALL \
       SELECT node + (node & -node) FROM up WHERE node + (node & -node) <= 4294967296) \
     INSERT INTO app_deletions (workspace_id, node, dead) SELECT ?1, node, 1 FROM up WHERE true \
     ON CONFLICT (workspace_id, node) DO UPDATE SET dead = dead + 1";

/// A workspace of the test: its tenant, and its apps by position (client id and name),
/// with those deleted.
struct Workspace {
    tenant: Tenant,
    apps: Vec<(String, String)>,
    deleted: BTreeSet<usize>,
}

impl Workspace {
    fn live_names(&self) -> Vec<String> {
        self.apps
            .iter()
            .enumerate()
            .filter(|(p, _)| !self.deleted.contains(p))
            .map(|(_, (_, name))| name.clone())
            .collect()
    }
}

/// A keyed request and its first answer.
struct Keyed {
    workspace: usize,
    body: serde_json::Value,
    key: String,
    answer: String,
}

/// Every row of every table of shard `shard` but `d1_migrations`, as text, sorted: apps by
/// their columns, idempotency records with their row ids.
fn tables(dep: &Deployment, shard: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let conn = dep.sql(shard);
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> 'd1_migrations'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    names
        .into_iter()
        .map(|table| {
            let query = match table.as_str() {
                "apps" => {
                    "SELECT workspace_id, position, client_id, version, doc, key_ids FROM apps"
                        .to_owned()
                }
                "idempotency_keys" => "SELECT rowid, * FROM idempotency_keys".to_owned(),
                _ => format!("SELECT * FROM {table}"),
            };
            let mut statement = conn.prepare(&query).unwrap();
            let width = statement.column_count();
            let mut rows: Vec<Vec<String>> = statement
                .query_map([], |r| {
                    (0..width)
                        .map(|i| {
                            Ok(match r.get::<_, Value>(i)? {
                                Value::Null => "NULL".to_owned(),
                                Value::Integer(n) => n.to_string(),
                                Value::Real(x) => x.to_string(),
                                Value::Text(t) => format!("'{t}'"),
                                Value::Blob(b) => format!("{b:?}"),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            (table, rows)
        })
        .collect()
}

/// The names on the list page of `limit` from `offset`, with the total.
fn page(dep: &Deployment, w: &Workspace, limit: i64, offset: i64) -> (i64, Vec<String>) {
    dep.sql(&w.tenant.shard)
        .query_row(
            sql::LIST_PAGE,
            params![w.tenant.scope(), limit, offset, -1],
            |r| {
                let page: String = r.get("page")?;
                let docs: Vec<serde_json::Value> = serde_json::from_str(&page).unwrap();
                Ok((
                    r.get("total")?,
                    docs.iter()
                        .map(|d| d["name"].as_str().unwrap().to_owned())
                        .collect(),
                ))
            },
        )
        .unwrap()
}

/// Every page of the workspace's list (limits 100 and 7), which must be the model's.
fn pages(dep: &Deployment, w: &Workspace) -> Vec<(i64, Vec<String>)> {
    let live = w.live_names();
    let mut seen = Vec::new();
    for limit in [100, 7] {
        for offset in (0..=live.len() as i64 + 1).step_by(limit as usize) {
            let got = page(dep, w, limit, offset);
            let from = (offset as usize).min(live.len());
            let to = (offset + limit).min(live.len() as i64) as usize;
            assert_eq!(got, (live.len() as i64, live[from..to].to_vec()));
            seen.push(got);
        }
    }
    seen
}

/// The deletion counts stored for the workspace, node by node.
fn stored_tree(dep: &Deployment, w: &Workspace) -> BTreeMap<i64, i64> {
    let conn = dep.sql(&w.tenant.shard);
    let mut query = conn
        .prepare("SELECT node, dead FROM app_deletions WHERE workspace_id = ?1")
        .unwrap();
    let rows = query
        .query_map([w.tenant.scope()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// The deletion counts the workspace's deletions make, node by node up to `top`.
fn tree(w: &Workspace, top: i64) -> BTreeMap<i64, i64> {
    let mut nodes = BTreeMap::new();
    for &p in &w.deleted {
        let mut node = p as i64 + 1;
        while node <= top {
            *nodes.entry(node).or_default() += 1;
            node += node & -node;
        }
    }
    nodes
}

/// The workspace's cap: the smallest power of two at least its positions and 128.
fn cap(w: &Workspace) -> i64 {
    (w.apps.len().max(128) as u64).next_power_of_two() as i64
}

/// Deletes the app at `position` as the Worker before 0004 did, in one transaction.
fn delete_before_0004(conn: &mut Connection, w: &mut Workspace, position: usize) {
    let tx = conn.transaction().unwrap();
    let ws = w.tenant.scope();
    let gone = tx
        .execute(
            "DELETE FROM apps WHERE workspace_id = ?1 AND position = ?2",
            params![ws, position],
        )
        .unwrap();
    assert_eq!(gone, 1);
    tx.execute(DELETIONS_ADD_BEFORE_0004, params![ws, position])
        .unwrap();
    tx.execute(sql::WORKSPACE_REMOVE_ONE, params![ws]).unwrap();
    tx.commit().unwrap();
    assert!(w.deleted.insert(position));
}

/// A batch of `n` apps named `{prefix} i000`... for workspace `w`, keyed or not.
fn batch(
    dep: &Deployment,
    k: &connect_core::server::seal::KeyRing,
    w: &mut Workspace,
    prefix: &str,
    n: usize,
    key: Option<&str>,
) -> String {
    let body = batch_body(prefix, n);
    let answer = send(
        &dep.at(t0()),
        k,
        t0(),
        seed(&[prefix.len() as u64, n as u64, w.apps.len() as u64]),
        &w.tenant,
        &batch_req(&w.tenant, &body, key),
        batch_op(&w.tenant, &body),
    )
    .ok()
    .answer;
    assert_eq!(answer.status, 201, "{}", answer.body);
    for (i, id) in batch_ids(&answer).into_iter().enumerate() {
        w.apps.push((id, format!("{prefix} i{i:03}")));
    }
    answer.body
}

#[test]
fn a_deployment_made_before_0004_keeps_every_row_page_and_answer_and_goes_on() {
    let dep = Deployment::through(&[SHARD_1, SHARD_2], BEFORE);
    let k1 = ring("k1");
    let mut workspaces: Vec<Workspace> = [(SHARD_1, 1), (SHARD_2, 2), (SHARD_2, 3)]
        .into_iter()
        .map(|(shard, n)| Workspace {
            tenant: create_workspace(&dep, &k1, shard, n),
            apps: Vec::new(),
            deleted: BTreeSet::new(),
        })
        .collect();

    // Before 0004: 1,037 apps in the first workspace (keyed batches, plain ones, single
    // creates), 300 in the second, none in the third; deletions spread over both.
    let mut keyed = Vec::new();
    for b in 0..10 {
        let key = (b % 2 == 0).then(|| format!("before-{b}"));
        let prefix = format!("w0 b{b:02}");
        let answer = batch(&dep, &k1, &mut workspaces[0], &prefix, 100, key.as_deref());
        if let Some(key) = key {
            keyed.push(Keyed {
                workspace: 0,
                body: batch_body(&prefix, 100),
                key,
                answer,
            });
        }
    }
    for b in 0..3 {
        let prefix = format!("w1 b{b:02}");
        let key = format!("before-w1-{b}");
        let answer = batch(&dep, &k1, &mut workspaces[1], &prefix, 100, Some(&key));
        keyed.push(Keyed {
            workspace: 1,
            body: batch_body(&prefix, 100),
            key,
            answer,
        });
    }
    for s in 0..37 {
        batch(
            &dep,
            &k1,
            &mut workspaces[0],
            &format!("w0 single {s:02}"),
            1,
            None,
        );
    }
    // A patch: versions other than 1 are kept too.
    let patched = workspaces[0].apps[5].0.clone();
    let rename = serde_json::json!({ "name": "w0 b00 i005, renamed" });
    let t = &workspaces[0].tenant;
    let done = send(
        &dep.at(t0()),
        &k1,
        t0(),
        99,
        t,
        &Req::unkeyed(
            "PATCH",
            &app_path(&patched, ""),
            Some(rename.clone()),
            t.scope(),
        ),
        patch_op(t, &patched, &rename, Committed::default()),
    )
    .ok();
    assert_eq!(done.answer.status, 200, "{}", done.answer.body);
    workspaces[0].apps[5].1 = "w0 b00 i005, renamed".into();
    for (w, step) in [(0, 7), (1, 5)] {
        let shard = workspaces[w].tenant.shard.clone();
        let mut conn = dep.sql(&shard);
        let n = workspaces[w].apps.len();
        let doomed: BTreeSet<usize> = (0..n).step_by(step).chain([1, n - 1]).collect();
        for p in doomed {
            if p != 5 {
                delete_before_0004(&mut conn, &mut workspaces[w], p);
            }
        }
    }
    // The re-seal's cursors as the Worker before 0004 left them: by row id.
    for shard in [SHARD_1, SHARD_2] {
        dep.sql(shard)
            .execute_batch(
                "INSERT INTO reseal_cursors (kind, after) VALUES ('apps', 57), \
                 ('idempotency_records', 2)",
            )
            .unwrap();
    }
    let before: Vec<_> = [SHARD_1, SHARD_2].map(|s| tables(&dep, s)).into();
    let pages_before: Vec<_> = workspaces.iter().map(|w| pages(&dep, w)).collect();
    assert!(before[0]["app_deletions"]
        .iter()
        .any(|row| row[1] == "4294967296"));

    dep.shards.migrate().expect("migration 0004");

    for (i, shard) in [SHARD_1, SHARD_2].into_iter().enumerate() {
        let after = tables(&dep, shard);
        let names = |t: &BTreeMap<String, Vec<Vec<String>>>| t.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&after), names(&before[i]), "{shard}: the same tables");
        for (table, rows) in &before[i] {
            match table.as_str() {
                // Counted below, against the model.
                "app_deletions" => {}
                "reseal_cursors" => assert_eq!(
                    after[table],
                    [["'idempotency_records'", "2", "NULL"]],
                    "{shard}: the walk of apps starts again"
                ),
                _ => assert_eq!(&after[table], rows, "{shard}: {table} kept"),
            }
        }
        let conn = dep.sql(shard);
        let schema: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'apps'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(schema.ends_with("WITHOUT ROWID"), "{schema}");
        let mut objects: Vec<String> = conn
            .prepare(
                "SELECT type || ' ' || name FROM sqlite_schema \
                 WHERE tbl_name IN ('apps', 'workspaces') AND type <> 'table' ORDER BY 1",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        objects.retain(|o| !o.starts_with("index sqlite_autoindex_workspaces"));
        assert_eq!(
            objects,
            [
                "index apps_by_client_id",
                "trigger apps_delete_counted",
                "trigger apps_key_ids_counted",
                "trigger apps_update_moves_generation",
                "trigger workspaces_cap_of_deletions",
            ]
        );
    }
    for (w, before) in workspaces.iter().zip(&pages_before) {
        assert_eq!(&pages(&dep, w), before, "every page the same");
        assert_eq!(
            stored_tree(&dep, w),
            tree(w, cap(w)),
            "the counts up to the cap, none above"
        );
    }
    // Every recorded answer replays, from the database.
    for (n, k) in keyed.iter().enumerate() {
        let t = &workspaces[k.workspace].tenant;
        let done = send(
            &dep.without_kv(t0()),
            &k1,
            t0(),
            seed(&[0xAA, n as u64]),
            t,
            &batch_req(t, &k.body, Some(&k.key)),
            batch_op(t, &k.body),
        )
        .ok();
        assert!(done.replayed, "{}", k.key);
        assert_eq!(done.answer.body, k.answer);
    }

    // The Worker of today goes on: the first workspace (1,037 positions, cap 2,048) past
    // 2,048 in batches, deletes through the operation, more batches, pages as the model.
    for b in 0..11 {
        batch(
            &dep,
            &k1,
            &mut workspaces[0],
            &format!("w0 after {b:02}"),
            100,
            None,
        );
        assert_eq!(
            stored_tree(&dep, &workspaces[0]),
            tree(&workspaces[0], cap(&workspaces[0]))
        );
    }
    assert_eq!(cap(&workspaces[0]), 4_096);
    for (n, w) in workspaces.iter_mut().enumerate() {
        if w.apps.is_empty() {
            batch(&dep, &k1, w, "w2 after", 50, None);
        }
        let doomed: Vec<usize> = (3..w.apps.len())
            .step_by(11)
            .filter(|p| !w.deleted.contains(p))
            .collect();
        for p in doomed {
            let t = &w.tenant;
            let id = w.apps[p].0.clone();
            let done = send(
                &dep.at(t0()),
                &k1,
                t0(),
                seed(&[0xDE1, n as u64, p as u64]),
                t,
                &Req::unkeyed("DELETE", &app_path(&id, ""), None, t.scope()),
                Ok(DeleteApp::new(t.workspace.clone(), &id)),
            )
            .ok();
            assert_eq!(done.answer.status, 200, "{}", done.answer.body);
            w.deleted.insert(p);
        }
        pages(&dep, w);
        assert_eq!(stored_tree(&dep, w), tree(w, cap(w)));
    }

    // A rotation of the secrets key: the re-seal walks every app of both shards.
    let k2k1 = ring("k2,k1");
    let mut random = SeededEntropy::new(0x0004);
    let under_k1 = |dep: &Deployment| -> i64 {
        [SHARD_1, SHARD_2]
            .iter()
            .flat_map(|s| ["apps", "idempotency_records"].map(|k| sealed_under(dep, s, k, "k1")))
            .sum()
    };
    let mut runs = 0;
    while under_k1(&dep) > 0 {
        let native = dep.at(t0());
        let log = block_on(reseal::run(
            &native,
            &[SHARD_1.to_owned(), SHARD_2.to_owned()],
            &k2k1,
            &mut random,
        ));
        assert!(
            !log.iter()
                .any(|l| matches!(l, connect_core::server::LogLine::Error(_))),
            "{log:?}"
        );
        runs += 1;
        assert!(runs < 100, "the re-seal does not end");
    }
    for shard in [SHARD_1, SHARD_2] {
        assert_eq!(sealed_under(&dep, shard, "apps", "k1"), 0);
        assert_eq!(sealed_under(&dep, shard, "idempotency_records", "k1"), 0);
        assert_eq!(
            dep.int(
                shard,
                "SELECT count(*) FROM apps WHERE key_ids <> '[\"k2\"]'"
            ),
            0,
            "{shard}: every app moved"
        );
        assert_eq!(
            sealed_under(&dep, shard, "apps", "k2"),
            dep.int(shard, "SELECT count(*) FROM apps")
        );
    }
    // k1 gone: every app opens, every answer replays.
    let k2 = ring("k2");
    for w in &workspaces {
        for app in stored_apps(&dep, &w.tenant.shard, w.tenant.scope()) {
            assert!(app.client_secret(&k2).starts_with("sh_app_"));
        }
        pages(&dep, w);
    }
    for (n, k) in keyed.iter().enumerate() {
        let t = &workspaces[k.workspace].tenant;
        let done = send(
            &dep.without_kv(t0()),
            &k2,
            t0(),
            seed(&[0xBB, n as u64]),
            t,
            &batch_req(t, &k.body, Some(&k.key)),
            batch_op(t, &k.body),
        )
        .ok();
        assert!(done.replayed);
        assert_eq!(done.answer.body, k.answer);
    }
}
