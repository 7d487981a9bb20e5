//! Every statement of `connect_core::server::sql` searches by the index its comment names
//! and scans no table: SQLite's own `EXPLAIN QUERY PLAN` on a database that the project's
//! migrations made (`connect_sqlite::migrations::apply`, so every table a statement uses
//! exists there), with realistic parameters bound. A statement added to `sql.rs` without
//! a plan here fails the test: the list is checked against the file's `pub const`s.
//!
//! A `SCAN` is allowed only of what is not a table: a CTE's rows (`descent`, `up`), a
//! subquery's (`LIST_PAGE`'s page, itself read by index), a `json_each` (a
//! virtual table over a parameter), a constant row; and of the three tables read whole by
//! design (`WHOLE_TABLE_READS`). A foreign key's check shows in the plan of a delete: it
//! must use an index too.

use connect_core::server::sql;
use connect_sqlite::migrations;
use rusqlite::types::Value;
use rusqlite::Connection;
use std::collections::BTreeSet;

/// The statements that read a whole table by design, and the table: `sealed_counts` holds
/// a row per kind and key of the ring (a handful), `directory_shards` a row a shard,
/// `d1_migrations` a row a migration (the health check); the operators' shard report sums
/// the apps of a shard's workspaces (a row a workspace, on an operator's request only).
const WHOLE_TABLE_READS: [(&str, &str); 4] = [
    ("SEALED_COUNTS_ALL", "sealed_counts"),
    ("DIRECTORY_SHARDS_ALL", "directory_shards"),
    ("SHARD_APPS", "workspaces"),
    ("SHARD_MIGRATIONS", "d1_migrations"),
];

/// What a `SCAN` may read without reading a table: the statements' CTEs (`descent AS d`
/// and `AS s` in `LIST_PAGE`).
const NOT_TABLES: [&str; 4] = ["descent", "d", "s", "up"];

const WS: &str = "org_2ZkLq8TnVx4PbYc7RmJd1HsWfG0";
const CLIENT: &str = "HqTRDIYH";
const HASH: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const KEY_ID: &str = "key_7fQ2mZ9xLp4Rt8Wv";
const AT: &str = "2026-03-01T00:00:00.000Z";
const MS: i64 = 1_772_323_200_000;

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn i(n: i64) -> Value {
    Value::Integer(n)
}

/// A statement, its parameters, and what its plan must show: the index its comment names
/// (empty for a statement with nothing to look up, such as a plain `INSERT ... VALUES`).
struct Case {
    name: &'static str,
    sql: &'static str,
    params: Vec<Value>,
    uses: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let doc = r#"[{"clientId":"HqTRDIYH","name":"A"}]"#;
    let apps_write = format!(
        r#"[{{"workspace_id":"{WS}","position":7,"version":2,"doc":"{{}}","key_ids":"[\"k2\"]"}}]"#
    );
    let records_write = format!(
        r#"[{{"row_id":7,"key_hash":"{HASH}","created_at":{MS},"response":"k2.x","key_id":"k2"}}]"#
    );
    vec![
        Case {
            name: "APPS_INSERT",
            sql: sql::APPS_INSERT,
            params: vec![t(doc), t(WS), t(r#"["k1"]"#)],
            uses: &["SEARCH w USING INDEX sqlite_autoindex_workspaces_1 (id=?)"],
        },
        Case {
            name: "SEALED_COUNTS_ADD_APPS",
            sql: sql::SEALED_COUNTS_ADD_APPS,
            params: vec![t(r#"["k1"]"#), i(100)],
            uses: &[],
        },
        Case {
            name: "APP_GET",
            sql: sql::APP_GET,
            params: vec![t(CLIENT), t(WS)],
            uses: &["SEARCH apps USING INDEX apps_by_client_id (client_id=?)"],
        },
        Case {
            name: "APP_UPDATE",
            sql: sql::APP_UPDATE,
            params: vec![t(CLIENT), t(WS), t("{}"), i(3), t(r#"["k1"]"#)],
            uses: &["SEARCH apps USING INDEX apps_by_client_id (client_id=?)"],
        },
        Case {
            name: "APP_DELETE",
            sql: sql::APP_DELETE,
            params: vec![t(WS), i(5_000), i(3)],
            uses: &["SEARCH apps USING PRIMARY KEY (workspace_id=? AND position=?)"],
        },
        Case {
            name: "APP_DELETIONS_ADD",
            sql: sql::APP_DELETIONS_ADD,
            params: vec![t(WS), i(5_000)],
            uses: &[],
        },
        Case {
            name: "GUARD",
            sql: sql::GUARD,
            params: vec![],
            uses: &[],
        },
        Case {
            name: "GUARD_CHANGED",
            sql: sql::GUARD_CHANGED,
            params: vec![i(100)],
            uses: &[],
        },
        Case {
            name: "LIST_PAGE",
            sql: sql::LIST_PAGE,
            params: vec![t(WS), i(100), i(500_000), i(-1)],
            uses: &[
                "SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)",
                "SEARCH f USING PRIMARY KEY (workspace_id=? AND node=?)",
                "SEARCH a USING PRIMARY KEY (workspace_id=? AND position>?)",
                // The descent is read as it comes, not stored and read again.
                "CO-ROUTINE descent",
            ],
        },
        Case {
            name: "WORKSPACE_ADD_APPS",
            sql: sql::WORKSPACE_ADD_APPS,
            params: vec![t(WS), i(100)],
            uses: &["SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)"],
        },
        Case {
            name: "WORKSPACE_REMOVE_ONE",
            sql: sql::WORKSPACE_REMOVE_ONE,
            params: vec![t(WS)],
            uses: &["SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)"],
        },
        Case {
            name: "WORKSPACE_DELETE_UNLISTED",
            sql: sql::WORKSPACE_DELETE_UNLISTED,
            params: vec![t(WS)],
            uses: &[
                "SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)",
                // The foreign keys of apps and api_keys.
                "SEARCH apps USING PRIMARY KEY (workspace_id=?)",
                "SEARCH api_keys USING COVERING INDEX api_keys_by_workspace_created (workspace_id=?)",
            ],
        },
        Case {
            name: "WORKSPACE_GET",
            sql: sql::WORKSPACE_GET,
            params: vec![t(WS)],
            uses: &["SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)"],
        },
        Case {
            name: "WORKSPACE_INSERT",
            sql: sql::WORKSPACE_INSERT,
            params: vec![t(WS), t(AT)],
            uses: &[],
        },
        Case {
            name: "API_KEY_LIVE",
            sql: sql::API_KEY_LIVE,
            params: vec![t(HASH)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_2 (key_hash=?)"],
        },
        Case {
            name: "API_KEY_GUARD",
            sql: sql::API_KEY_GUARD,
            params: vec![t(HASH)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_2 (key_hash=?)"],
        },
        Case {
            name: "API_KEY_INSERT",
            sql: sql::API_KEY_INSERT,
            params: vec![t(KEY_ID), t(WS), t(HASH), t(AT), t("x4Zq")],
            uses: &[],
        },
        Case {
            name: "API_KEY_REVOKE",
            sql: sql::API_KEY_REVOKE,
            params: vec![t(KEY_ID), t(AT)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_1 (id=?)"],
        },
        Case {
            name: "CLAIM_RELEASE_EXPIRED",
            sql: sql::CLAIM_RELEASE_EXPIRED,
            params: vec![t(WS), t(HASH), i(MS)],
            uses: &["SEARCH idempotency_keys USING INDEX sqlite_autoindex_idempotency_keys_1 (scope=? AND key_hash=?)"],
        },
        Case {
            name: "CLAIM_INSERT",
            sql: sql::CLAIM_INSERT,
            params: vec![t(WS), t(HASH), t(HASH), t("k1.x"), i(MS), i(MS + 86_400_000), t("k1")],
            uses: &[],
        },
        Case {
            name: "CLAIM_GET",
            sql: sql::CLAIM_GET,
            params: vec![t(WS), t(HASH)],
            uses: &["SEARCH idempotency_keys USING INDEX sqlite_autoindex_idempotency_keys_1 (scope=? AND key_hash=?)"],
        },
        Case {
            name: "CLAIMS_PURGE_EXPIRED",
            sql: sql::CLAIMS_PURGE_EXPIRED,
            params: vec![i(MS), i(1_000)],
            uses: &[
                "SEARCH idempotency_keys USING COVERING INDEX idempotency_keys_by_expiry (expires_at<?)",
                "SEARCH idempotency_keys USING INTEGER PRIMARY KEY (rowid=?)",
            ],
        },
        Case {
            name: "SEALED_COUNTS_ALL",
            sql: sql::SEALED_COUNTS_ALL,
            params: vec![],
            uses: &["SCAN sealed_counts"],
        },
        Case {
            name: "RESEAL_APPS_WINDOW",
            sql: sql::RESEAL_APPS_WINDOW,
            params: vec![i(100), t(r#"["k2"]"#)],
            uses: &[
                "SEARCH apps USING PRIMARY KEY ((workspace_id,position)>(?,?))",
                "SEARCH reseal_cursors USING INDEX sqlite_autoindex_reseal_cursors_1 (kind=?)",
            ],
        },
        Case {
            name: "RESEAL_RECORDS_WINDOW",
            sql: sql::RESEAL_RECORDS_WINDOW,
            params: vec![i(100), t("k2")],
            uses: &[
                "SEARCH idempotency_keys USING INTEGER PRIMARY KEY (rowid>?)",
                "SEARCH reseal_cursors USING INDEX sqlite_autoindex_reseal_cursors_1 (kind=?)",
            ],
        },
        Case {
            name: "RESEAL_APPS_WRITE",
            sql: sql::RESEAL_APPS_WRITE,
            params: vec![Value::Text(apps_write)],
            uses: &["SEARCH apps USING PRIMARY KEY (workspace_id=? AND position=?)"],
        },
        Case {
            name: "RESEAL_RECORDS_WRITE",
            sql: sql::RESEAL_RECORDS_WRITE,
            params: vec![Value::Text(records_write)],
            uses: &["SEARCH idempotency_keys USING INTEGER PRIMARY KEY (rowid=?)"],
        },
        Case {
            name: "RESEAL_CURSOR_SET",
            sql: sql::RESEAL_CURSOR_SET,
            params: vec![t("apps"), i(700), t(WS)],
            uses: &[],
        },
        Case {
            name: "API_KEY_DELETE_UNLISTED",
            sql: sql::API_KEY_DELETE_UNLISTED,
            params: vec![t(KEY_ID)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_1 (id=?)"],
        },
        Case {
            name: "SHARD_MIGRATED",
            sql: sql::SHARD_MIGRATED,
            params: vec![t("0004_apps_keyed_by_position.sql")],
            uses: &["SEARCH d1_migrations USING COVERING INDEX sqlite_autoindex_d1_migrations_1 (name=?)"],
        },
        Case {
            name: "SHARD_MIGRATIONS",
            sql: sql::SHARD_MIGRATIONS,
            params: vec![],
            uses: &["SCAN d1_migrations"],
        },
        Case {
            name: "API_KEY_STATE",
            sql: sql::API_KEY_STATE,
            params: vec![t(KEY_ID)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_1 (id=?)"],
        },
        Case {
            name: "API_KEY_REVOKE_LIVE",
            sql: sql::API_KEY_REVOKE_LIVE,
            params: vec![t(KEY_ID), t(AT)],
            uses: &["SEARCH api_keys USING INDEX sqlite_autoindex_api_keys_1 (id=?)"],
        },
        Case {
            name: "API_KEYS_PAGE",
            sql: sql::API_KEYS_PAGE,
            params: vec![t(WS), i(20), i(0)],
            uses: &["SEARCH api_keys USING INDEX api_keys_by_workspace_created (workspace_id=?)"],
        },
        Case {
            name: "API_KEYS_COUNT",
            sql: sql::API_KEYS_COUNT,
            params: vec![t(WS)],
            uses: &["SEARCH api_keys USING COVERING INDEX api_keys_by_workspace_created (workspace_id=?)"],
        },
        Case {
            name: "DIRECTORY_KEY_ID",
            sql: sql::DIRECTORY_KEY_ID,
            params: vec![t(HASH)],
            uses: &["SEARCH directory_api_keys USING INDEX sqlite_autoindex_directory_api_keys_1 (key_hash=?)"],
        },
        Case {
            name: "SHARD_APPS",
            sql: sql::SHARD_APPS,
            params: vec![],
            uses: &["SCAN workspaces"],
        },
        Case {
            name: "DIRECTORY_KEY",
            sql: sql::DIRECTORY_KEY,
            params: vec![t(HASH)],
            uses: &["SEARCH directory_api_keys USING INDEX sqlite_autoindex_directory_api_keys_1 (key_hash=?)"],
        },
        Case {
            name: "DIRECTORY_KEY_SHARD",
            sql: sql::DIRECTORY_KEY_SHARD,
            params: vec![t(KEY_ID)],
            uses: &["SEARCH directory_api_keys USING INDEX sqlite_autoindex_directory_api_keys_2 (key_id=?)"],
        },
        Case {
            name: "DIRECTORY_WORKSPACE_SHARD",
            sql: sql::DIRECTORY_WORKSPACE_SHARD,
            params: vec![t(WS)],
            uses: &["SEARCH directory_workspaces USING INDEX sqlite_autoindex_directory_workspaces_1 (workspace_id=?)"],
        },
        Case {
            name: "DIRECTORY_WORKSPACE_INSERT",
            sql: sql::DIRECTORY_WORKSPACE_INSERT,
            params: vec![t(WS), t("SHARD_1"), t(AT)],
            uses: &[],
        },
        Case {
            name: "DIRECTORY_KEY_INSERT",
            sql: sql::DIRECTORY_KEY_INSERT,
            params: vec![t(HASH), t(KEY_ID), t(WS), t("SHARD_1")],
            uses: &[],
        },
        Case {
            name: "DIRECTORY_SHARDS_ALL",
            sql: sql::DIRECTORY_SHARDS_ALL,
            params: vec![],
            uses: &["SCAN directory_shards"],
        },
    ]
}

/// The names of the `pub const`s of `core/src/server/sql.rs`, read from its text.
fn statements_in_sql_rs() -> BTreeSet<String> {
    let path = migrations::dir().join("../core/src/server/sql.rs");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("pub const "))
        .map(|rest| {
            let (name, ty) = rest.split_once(':').expect("pub const NAME: TYPE");
            assert_eq!(ty.trim_start().split(' ').next(), Some("&str"), "{name}");
            name.trim().to_owned()
        })
        .collect()
}

/// A migrated database in a folder of the test's own.
fn migrated() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("plans.sqlite3")).unwrap();
    migrations::apply(&mut conn).unwrap();
    (dir, conn)
}

/// The plan of `case`, one detail line per step.
fn plan(conn: &Connection, case: &Case) -> Vec<String> {
    let mut explain = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", case.sql))
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(
        explain.parameter_count(),
        case.params.len(),
        "{}: the parameters given",
        case.name
    );
    let rows = explain
        .query_map(rusqlite::params_from_iter(&case.params), |r| {
            r.get::<_, String>("detail")
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn every_statement_of_sql_rs_has_its_plan_checked() {
    let listed: BTreeSet<String> = cases().iter().map(|c| c.name.to_owned()).collect();
    assert_eq!(cases().len(), listed.len(), "a statement listed twice");
    let in_file = statements_in_sql_rs();
    let missing: Vec<_> = in_file.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&in_file).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "statements of sql.rs without a plan check: {missing:?}; checked but not in sql.rs: {stale:?}"
    );
}

#[test]
fn every_statement_searches_by_its_index_and_scans_no_table() {
    let (_dir, conn) = migrated();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 11, "{tables:?}");
    let mut problems = Vec::new();
    for case in cases() {
        let lines = plan(&conn, &case);
        if std::env::var_os("SHOW_PLANS").is_some() {
            eprintln!("{}:\n  {}", case.name, lines.join("\n  "));
        }
        for line in &lines {
            let Some(target) = line.strip_prefix("SCAN ") else {
                continue;
            };
            let what = target.split(' ').next().unwrap_or_default();
            let allowed = NOT_TABLES.contains(&what)
                || target.contains("VIRTUAL TABLE")
                || target == "CONSTANT ROW"
                || target.starts_with("(subquery-")
                || WHOLE_TABLE_READS.contains(&(case.name, what));
            if !allowed {
                problems.push(format!("{} scans {what}: {lines:?}", case.name));
            }
        }
        for uses in case.uses {
            if !lines.iter().any(|l| l.starts_with(uses)) {
                problems.push(format!("{} does not {uses:?}: {lines:?}", case.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_migrations_apply_once_and_are_recorded_by_name() {
    let (_dir, mut conn) = migrated();
    migrations::apply(&mut conn).unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM d1_migrations ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let files: Vec<String> = migrations::files()
        .unwrap()
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, files);
    assert!(names.len() >= 2);
}
