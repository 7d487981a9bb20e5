//! Every SQL statement of the Worker uses an index (issue 16): SQLite's own `EXPLAIN QUERY
//! PLAN`, run on the local D1 of a real `wrangler dev` after its migrations, shows no scan
//! of a table, only searches by key, for each statement of `worker/src/store/sql.rs`
//! (included here as it is, so the statements tested are the statements served).

#[path = "../../worker/src/store/sql.rs"]
#[allow(dead_code)]
mod sql;

use connect_e2e::Server;

/// The schema's tables, and the one `wrangler d1 migrations apply` keeps: none may be
/// scanned.
const TABLES: [&str; 12] = [
    "workspaces",
    "api_keys",
    "apps",
    "app_deletions",
    "idempotency_keys",
    "write_guards",
    "sealed_counts",
    "reseal_cursors",
    "directory_workspaces",
    "directory_api_keys",
    "directory_shards",
    "d1_migrations",
];

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

/// The statements whose `ORDER BY` an index must give, without sorting (`USE TEMP
/// B-TREE FOR ORDER BY`).
const ORDERED_BY_AN_INDEX: [&str; 1] = ["API_KEYS_PAGE"];

/// `statement` with its numbered parameters replaced by `args` (`?1` is `args[0]`), as SQL
/// literals, for `EXPLAIN QUERY PLAN` through `wrangler d1 execute`.
fn with_args(statement: &str, args: &[&str]) -> String {
    let mut out = statement.to_owned();
    // The highest numbers first, so ?1 does not eat the start of ?10.
    for (i, arg) in args.iter().enumerate().rev() {
        out = out.replace(&format!("?{}", i + 1), arg);
    }
    assert!(!out.contains('?'), "a parameter left unbound: {out}");
    out
}

/// The plan of `statement`, one detail line per step.
fn plan(server: &Server, statement: &str) -> Vec<String> {
    server
        .d1_in("connect", &format!("EXPLAIN QUERY PLAN {statement}"))
        .iter()
        .map(|row| row["detail"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_statement_searches_by_an_index_and_scans_no_table() {
    let server = Server::shared();
    let ws = "'org_plans'";
    let statements: [(&str, &str, Vec<&str>, &str); 42] = [
        (
            "APPS_INSERT",
            sql::APPS_INSERT,
            vec!["'[[\"abcdefgh\",\"{}\"]]'", ws, "'[\"k\"]'"],
            "workspaces",
        ),
        (
            "SEALED_COUNTS_ADD_APPS",
            sql::SEALED_COUNTS_ADD_APPS,
            vec!["'[\"k\"]'", "3"],
            "",
        ),
        (
            "WORKSPACE_ADD_APPS",
            sql::WORKSPACE_ADD_APPS,
            vec![ws, "3"],
            "SEARCH workspaces",
        ),
        (
            "APP_GET",
            sql::APP_GET,
            vec!["'abcdefgh'", ws],
            "(client_id=?)",
        ),
        (
            "APP_UPDATE",
            sql::APP_UPDATE,
            vec!["'abcdefgh'", ws, "'{}'", "1", "'[\"k\"]'"],
            "(client_id=?)",
        ),
        (
            "APP_DELETE",
            sql::APP_DELETE,
            vec![ws, "5", "1"],
            "apps_by_position (workspace_id=? AND position=?)",
        ),
        ("GUARD", sql::GUARD, vec![], ""),
        (
            "APP_DELETIONS_ADD",
            sql::APP_DELETIONS_ADD,
            vec![ws, "5"],
            "",
        ),
        ("GUARD", sql::GUARD, vec![], ""),
        (
            "LIST_PAGE",
            sql::LIST_PAGE,
            vec![ws, "100", "5000", "-1"],
            "SEARCH a USING INDEX apps_by_position (workspace_id=? AND position>?)",
        ),
        (
            "LIST_PAGE with deletions",
            sql::LIST_PAGE,
            vec![ws, "100", "5000", "-1"],
            "SEARCH f USING PRIMARY KEY (workspace_id=? AND node=?)",
        ),
        (
            "WORKSPACE_REMOVE_ONE",
            sql::WORKSPACE_REMOVE_ONE,
            vec![ws],
            "SEARCH workspaces",
        ),
        (
            "WORKSPACE_GET",
            sql::WORKSPACE_GET,
            vec![ws],
            "SEARCH workspaces",
        ),
        (
            "WORKSPACE_INSERT",
            sql::WORKSPACE_INSERT,
            vec![ws, "'2026-01-01T00:00:00.000Z'"],
            "",
        ),
        (
            "API_KEY_LIVE",
            sql::API_KEY_LIVE,
            vec!["'hash'"],
            "(key_hash=?)",
        ),
        (
            "API_KEY_GUARD",
            sql::API_KEY_GUARD,
            vec!["'hash'"],
            "(key_hash=?)",
        ),
        (
            "API_KEY_INSERT",
            sql::API_KEY_INSERT,
            vec!["'key_x'", ws, "'hash'", "'t'", "'abcd'"],
            "",
        ),
        (
            "API_KEYS_PAGE",
            sql::API_KEYS_PAGE,
            vec![ws, "20", "0"],
            "api_keys_by_workspace_created (workspace_id=?)",
        ),
        (
            "API_KEYS_COUNT",
            sql::API_KEYS_COUNT,
            vec![ws],
            "api_keys_by_workspace_created (workspace_id=?)",
        ),
        (
            "API_KEY_REVOKE",
            sql::API_KEY_REVOKE,
            vec!["'key_x'", "'t'"],
            "SEARCH api_keys",
        ),
        (
            "CLAIM_RELEASE_EXPIRED",
            sql::CLAIM_RELEASE_EXPIRED,
            vec![ws, "'h'", "1"],
            "(scope=? AND key_hash=?)",
        ),
        (
            "CLAIM_GET",
            sql::CLAIM_GET,
            vec![ws, "'h'"],
            "(scope=? AND key_hash=?)",
        ),
        (
            "CLAIMS_PURGE_EXPIRED",
            sql::CLAIMS_PURGE_EXPIRED,
            vec!["1", "1000"],
            "idempotency_keys_by_expiry (expires_at<?)",
        ),
        (
            "SEALED_COUNTS_ALL",
            sql::SEALED_COUNTS_ALL,
            vec![],
            "SCAN sealed_counts",
        ),
        (
            "RESEAL_APPS_WINDOW",
            sql::RESEAL_APPS_WINDOW,
            vec!["100", "'[\"k\"]'"],
            "SEARCH apps USING INTEGER PRIMARY KEY (rowid>?)",
        ),
        (
            "RESEAL_RECORDS_WINDOW",
            sql::RESEAL_RECORDS_WINDOW,
            vec!["100", "'k'"],
            "SEARCH idempotency_keys USING INTEGER PRIMARY KEY (rowid>?)",
        ),
        (
            "RESEAL_APPS_WRITE",
            sql::RESEAL_APPS_WRITE,
            vec!["'[]'"],
            "SEARCH apps USING INTEGER PRIMARY KEY (rowid=?)",
        ),
        ("GUARD_CHANGED", sql::GUARD_CHANGED, vec!["3"], ""),
        (
            "RESEAL_RECORDS_WRITE",
            sql::RESEAL_RECORDS_WRITE,
            vec!["'[]'"],
            "SEARCH idempotency_keys USING INTEGER PRIMARY KEY (rowid=?)",
        ),
        (
            "RESEAL_CURSOR_SET",
            sql::RESEAL_CURSOR_SET,
            vec!["'apps'", "5"],
            "",
        ),
        (
            "WORKSPACE_DELETE_UNLISTED",
            sql::WORKSPACE_DELETE_UNLISTED,
            vec![ws],
            "SEARCH workspaces",
        ),
        (
            "API_KEY_DELETE_UNLISTED",
            sql::API_KEY_DELETE_UNLISTED,
            vec!["'key_x'"],
            "SEARCH api_keys",
        ),
        ("SHARD_APPS", sql::SHARD_APPS, vec![], "SCAN workspaces"),
        (
            "SHARD_MIGRATED",
            sql::SHARD_MIGRATED,
            vec!["'0003_api_keys_last4.sql'"],
            "sqlite_autoindex_d1_migrations_1 (name=?)",
        ),
        (
            "SHARD_MIGRATIONS",
            sql::SHARD_MIGRATIONS,
            vec![],
            "d1_migrations",
        ),
        (
            "DIRECTORY_KEY",
            sql::DIRECTORY_KEY,
            vec!["'hash'"],
            "SEARCH directory_api_keys",
        ),
        (
            "DIRECTORY_KEY_ID",
            sql::DIRECTORY_KEY_ID,
            vec!["'hash'"],
            "SEARCH directory_api_keys",
        ),
        (
            "DIRECTORY_KEY_SHARD",
            sql::DIRECTORY_KEY_SHARD,
            vec!["'key_x'"],
            "SEARCH directory_api_keys",
        ),
        (
            "DIRECTORY_WORKSPACE_SHARD",
            sql::DIRECTORY_WORKSPACE_SHARD,
            vec![ws],
            "SEARCH directory_workspaces",
        ),
        (
            "DIRECTORY_WORKSPACE_INSERT",
            sql::DIRECTORY_WORKSPACE_INSERT,
            vec![ws, "'SHARD_1'", "'t'"],
            "",
        ),
        (
            "DIRECTORY_KEY_INSERT",
            sql::DIRECTORY_KEY_INSERT,
            vec!["'hash'", "'key_x'", ws, "'SHARD_1'"],
            "",
        ),
        (
            "DIRECTORY_SHARDS_ALL",
            sql::DIRECTORY_SHARDS_ALL,
            vec![],
            "SCAN directory_shards",
        ),
    ];
    for (name, statement, args, expected) in statements {
        let lines = plan(server, &with_args(statement, &args));
        for line in &lines {
            for table in TABLES {
                if WHOLE_TABLE_READS.contains(&(name, table)) {
                    continue;
                }
                let scans = line.starts_with(&format!("SCAN {table}"))
                    || (table == "apps" && line.starts_with("SCAN a "))
                    || (table == "app_blocks" && line.starts_with("SCAN b "));
                assert!(!scans, "{name} scans {table}: {lines:#?}");
            }
        }
        if ORDERED_BY_AN_INDEX.contains(&name) {
            assert!(
                !lines.iter().any(|l| l.contains("TEMP B-TREE")),
                "{name} sorts instead of reading in index order: {lines:#?}"
            );
        }
        // A plain INSERT ... VALUES has no plan to speak of: `expected` is empty then.
        assert!(
            expected.is_empty() || lines.iter().any(|l| l.contains(expected)),
            "{name} does not use what it should ({expected}): {lines:#?}"
        );
    }
    // CLAIM_INSERT: a plain insert, no plan to speak of; it is run by every keyed write.
    let _ = sql::CLAIM_INSERT;
}
