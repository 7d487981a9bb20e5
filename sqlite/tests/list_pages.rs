//! The list's statements against a model, on SQLite with the project's migrations: every
//! page `LIST_PAGE` returns is the slice of the live apps in creation order that its offset
//! and limit name, at any offset, before and after deletions anywhere, in workspaces from
//! one position to 100,000; and the Fenwick tree of deleted positions that a page descends
//! is exactly what its definition says, up to each workspace's cap (the smallest power of
//! two at least its next position and at least 128), and holds nothing above it: a delete
//! counts itself up to the cap (`APP_DELETIONS_ADD`), the schema's trigger gives a new top
//! its count when a batch doubles the cap.
//!
//! The apps here are documents of their name alone, inserted, deleted and listed by the
//! statements of `connect_core::server::sql` as the Worker sends them.

mod support;

use connect_core::server::sql;
use connect_sqlite::migrations;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, BTreeSet};

/// A workspace's apps as the model holds them: the positions taken so far, and those
/// deleted.
struct Model {
    workspace: String,
    next: i64,
    deleted: BTreeSet<i64>,
    /// The live positions, in no order: what a delete picks from.
    alive: Vec<i64>,
}

impl Model {
    fn new(workspace: &str) -> Self {
        Self {
            workspace: workspace.to_owned(),
            next: 0,
            deleted: BTreeSet::new(),
            alive: Vec::new(),
        }
    }

    fn name(position: i64) -> String {
        format!("app {position:07}")
    }

    /// The live apps' names in creation order.
    fn live(&self) -> Vec<String> {
        (0..self.next)
            .filter(|p| !self.deleted.contains(p))
            .map(Self::name)
            .collect()
    }

    /// Forgets the live app at `index` of `alive`, and returns its position.
    fn pick(&mut self, index: i64) -> i64 {
        self.alive.swap_remove(index as usize)
    }

    /// The cap of the workspace's tree.
    fn cap(&self) -> i64 {
        (self.next.max(128) as u64).next_power_of_two() as i64
    }
}

fn database() -> (tempfile::TempDir, Connection) {
    let dir = support::temp_dir();
    let mut conn = Connection::open(dir.path().join("pages.sqlite3")).unwrap();
    conn.pragma_update(None, "foreign_keys", "on").unwrap();
    migrations::apply(&mut conn).unwrap();
    (dir, conn)
}

fn create_workspace(conn: &Connection, model: &Model) {
    conn.execute(
        sql::WORKSPACE_INSERT,
        params![model.workspace, "2026-03-01T00:00:00.000Z"],
    )
    .unwrap();
}

/// `count` new apps at the end of the workspace, in one transaction, as a batch inserts
/// them.
fn insert(conn: &mut Connection, model: &mut Model, count: i64) {
    let docs: Vec<serde_json::Value> = (model.next..model.next + count)
        .map(|p| {
            serde_json::json!({
                "clientId": format!("{}-{p}", &model.workspace[4..]),
                "name": Model::name(p),
            })
        })
        .collect();
    let tx = conn.transaction().unwrap();
    tx.execute(
        sql::APPS_INSERT,
        params![
            serde_json::to_string(&docs).unwrap(),
            model.workspace,
            r#"["k1"]"#
        ],
    )
    .unwrap();
    tx.execute(sql::WORKSPACE_ADD_APPS, params![model.workspace, count])
        .unwrap();
    tx.commit().unwrap();
    model.alive.extend(model.next..model.next + count);
    model.next += count;
}

/// Deletes the app at `position`, in one transaction, as a delete does.
fn delete(conn: &mut Connection, model: &mut Model, position: i64) {
    let tx = conn.transaction().unwrap();
    let gone = tx
        .execute(sql::APP_DELETE, params![model.workspace, position, 1])
        .unwrap();
    assert_eq!(gone, 1, "position {position}");
    tx.execute(sql::APP_DELETIONS_ADD, params![model.workspace, position])
        .unwrap();
    tx.execute(sql::WORKSPACE_REMOVE_ONE, params![model.workspace])
        .unwrap();
    tx.commit().unwrap();
    assert!(model.deleted.insert(position));
}

/// A page: the total, the generation and the names, or `None` for the page when the
/// generation was `known`.
fn page(
    conn: &Connection,
    model: &Model,
    limit: i64,
    offset: i64,
    known: i64,
) -> (i64, i64, Option<Vec<String>>) {
    conn.query_row(
        sql::LIST_PAGE,
        params![model.workspace, limit, offset, known],
        |r| {
            let page: Option<String> = r.get("page")?;
            Ok((
                r.get("total")?,
                r.get("generation")?,
                page.map(|text| {
                    let docs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
                    docs.iter()
                        .map(|d| d["name"].as_str().unwrap().to_owned())
                        .collect()
                }),
            ))
        },
    )
    .unwrap()
}

/// Checks the page of `limit` from `offset` against the model.
fn check_page(conn: &Connection, model: &Model, live: &[String], limit: i64, offset: i64) {
    let (total, _, names) = page(conn, model, limit, offset, -1);
    assert_eq!(total, live.len() as i64);
    let from = (offset as usize).min(live.len());
    let to = (offset + limit).min(live.len() as i64) as usize;
    assert_eq!(
        names.expect("a page"),
        live[from..to],
        "{} positions, {} deleted: limit {limit} offset {offset}",
        model.next,
        model.deleted.len()
    );
}

/// The tree as stored is the tree the model's deletions make, node for node, up to the
/// cap, and nothing above it.
fn check_tree(conn: &Connection, model: &Model) {
    let cap = model.cap();
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for &p in &model.deleted {
        let mut node = p + 1;
        while node <= cap {
            *expected.entry(node).or_default() += 1;
            node += node & -node;
        }
    }
    let mut query = conn
        .prepare("SELECT node, dead FROM app_deletions WHERE workspace_id = ?1 ORDER BY node")
        .unwrap();
    let stored: BTreeMap<i64, i64> = query
        .query_map([&model.workspace], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        stored,
        expected,
        "{} positions, cap {cap}, {} deleted",
        model.next,
        model.deleted.len()
    );
}

#[test]
fn every_page_of_small_workspaces_is_the_models_slice_whatever_was_deleted() {
    let (_dir, mut conn) = database();
    let mut rng = fastrand::Rng::with_seed(0x5EED_0001);
    let mut made = 0;
    for n in [
        1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 127, 128, 129, 200, 255, 256, 257,
    ] {
        for pattern in 0..6 {
            made += 1;
            let mut model = Model::new(&format!("org_small{made:04}"));
            create_workspace(&conn, &model);
            insert(&mut conn, &mut model, n);
            let doomed: Vec<i64> = match pattern {
                0 => vec![],
                1 => vec![0],
                2 => vec![n - 1],
                3 => (0..n).step_by(3).collect(),
                4 => (1..n).collect(),
                _ => (0..n).filter(|_| rng.i64(0..2) == 0).collect(),
            };
            model.alive.retain(|p| !doomed.contains(p));
            for p in doomed {
                delete(&mut conn, &mut model, p);
            }
            check_tree(&conn, &model);
            let live = model.live();
            for offset in 0..=live.len() as i64 + 1 {
                check_page(&conn, &model, &live, 1, offset);
                check_page(&conn, &model, &live, 5, offset);
                if offset % 17 == 0 {
                    check_page(&conn, &model, &live, 100, offset);
                }
            }
            // A page the caller holds is not read again; its count and generation are.
            let (total, generation, _) = page(&conn, &model, 10, 0, -1);
            assert_eq!(
                page(&conn, &model, 10, 0, generation),
                (total, generation, None)
            );
        }
    }
}

#[test]
fn a_walk_over_100000_positions_deleted_at_random_as_they_grow_sees_each_live_app_once() {
    let (_dir, mut conn) = database();
    let mut rng = fastrand::Rng::with_seed(0x5EED_0002);
    let mut model = Model::new("org_big");
    create_workspace(&conn, &model);
    // Another workspace interleaved: its positions and deletions are its own.
    let mut other = Model::new("org_other");
    create_workspace(&conn, &other);
    let mut caps_seen = BTreeSet::new();
    while model.next < 100_000 {
        let count = 1 + rng.i64(0..100);
        let cap_before = model.cap();
        insert(&mut conn, &mut model, count);
        insert(&mut conn, &mut other, 1 + rng.i64(0..3));
        // About a tenth of what is made is deleted, anywhere among the live apps.
        for _ in 0..rng.i64(0..count / 5 + 1) {
            if !model.alive.is_empty() {
                let p = model.pick(rng.i64(0..model.alive.len() as i64));
                delete(&mut conn, &mut model, p);
            }
        }
        if rng.i64(0..4) == 0 && !other.alive.is_empty() {
            let p = other.pick(rng.i64(0..other.alive.len() as i64));
            delete(&mut conn, &mut other, p);
        }
        if model.cap() != cap_before {
            // The batch doubled the cap: the new top counts every deletion.
            check_tree(&conn, &model);
            caps_seen.insert(model.cap());
        }
    }
    assert_eq!(caps_seen.len(), 10, "256 to 131,072: {caps_seen:?}");
    check_tree(&conn, &model);
    check_tree(&conn, &other);
    assert!(model.deleted.len() > 8_000, "{}", model.deleted.len());

    let live = model.live();
    let mut walked = Vec::new();
    let mut offset = 0;
    while offset < live.len() as i64 {
        let (_, _, names) = page(&conn, &model, 100, offset, -1);
        walked.extend(names.unwrap());
        offset += 100;
    }
    assert!(walked == live, "every live app once, in creation order");
    for _ in 0..500 {
        let limit = 1 + rng.i64(0..100);
        let offset = rng.i64(0..live.len() as i64 + 50);
        check_page(&conn, &model, &live, limit, offset);
    }
    let other_live = other.live();
    for offset in 0..other_live.len() as i64 {
        check_page(&conn, &other, &other_live, 3, offset);
    }
}
