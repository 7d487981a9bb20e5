//! The server's D1 databases while it runs: SQL through `wrangler d1 execute --local`.

use crate::cli::{os, parse_cli_json};
use crate::paths::COUNTER;
use crate::Server;
use serde_json::Value;
use std::fs;
use std::sync::atomic::Ordering;

/// SQL longer than this goes to `wrangler d1 execute` through a file instead of `--command`.
const MAX_INLINE_SQL: usize = 32 * 1024;

impl Server {
    /// Runs SQL with `wrangler d1 execute --local` against every D1 database of this
    /// server (the project's shards; while it runs) and returns the rows of each
    /// statement, the databases' rows one after the other in their order. A query for one
    /// workspace's rows finds them in whichever shard holds it; an aggregate (`count(*)`)
    /// gives a row a database.
    ///
    /// Values come as JSON: INTEGER and REAL as numbers, NULL as null, TEXT as strings,
    /// BLOB as a string like `"[0, 255]"` (wrangler's rendering).
    pub fn d1_results(&self, sql: &str) -> Vec<Vec<Value>> {
        let mut all: Vec<Vec<Value>> = Vec::new();
        for database in &self.config().d1_names {
            let results = self.d1_results_in(database, sql);
            if all.is_empty() {
                all = results;
            } else {
                for (rows, more) in all.iter_mut().zip(results) {
                    rows.extend(more);
                }
            }
        }
        all
    }

    /// [`Server::d1_results`] in the one database named `database`.
    pub fn d1_results_in(&self, database: &str, sql: &str) -> Vec<Vec<Value>> {
        let mut args = vec![os("d1"), os("execute"), os(database)];
        args.extend(self.local_args());
        args.push(os("--json"));
        let mut sql_file = None;
        if sql.len() > MAX_INLINE_SQL {
            let path = std::env::temp_dir().join(format!(
                "connect-e2e-{}-{}.sql",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            fs::write(&path, sql).expect("write SQL file");
            args.extend([os("--file"), os(&path)]);
            sql_file = Some(path);
        } else {
            args.extend([os("--command"), os(sql)]);
        }
        let out = self.wrangler(&args);
        if let Some(p) = sql_file {
            let _ = fs::remove_file(p);
        }
        let out = out.unwrap_or_else(|e| panic!("wrangler d1 execute: {e}"));
        if !out.success {
            panic!(
                "{}",
                out.describe(&format!("wrangler d1 execute failed for SQL: {sql}"))
            );
        }
        let json = parse_cli_json(&out.stdout)
            .unwrap_or_else(|| panic!("{}", out.describe("wrangler d1 execute printed no JSON")));
        json.as_array()
            .unwrap_or_else(|| panic!("unexpected d1 execute output: {json}"))
            .iter()
            .map(|stmt| match stmt.get("results") {
                Some(Value::Array(rows)) => rows.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Rows (JSON objects, column name -> value) of the last statement of `sql`, in every
    /// database (see [`Server::d1_results`]).
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        self.d1_results(sql).pop().unwrap_or_default()
    }

    /// Rows of the last statement of `sql` in the one database named `database`.
    pub fn d1_in(&self, database: &str, sql: &str) -> Vec<Value> {
        self.d1_results_in(database, sql).pop().unwrap_or_default()
    }

    /// The sum of the integer column `column` over the rows of [`Server::d1`]: an
    /// aggregate over every database.
    pub fn d1_sum(&self, sql: &str, column: &str) -> i64 {
        self.d1(sql)
            .iter()
            .map(|row| {
                row[column]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{column} of {row} is not an integer"))
            })
            .sum()
    }

    /// Applies the project's migrations to the D1 database `database` (a `database_name` of
    /// the config) while the server runs, as an operator migrates a shard late: one left
    /// out of [`ServerConfig::d1_names`] at the start, or one a migration was undone in.
    /// Panics when wrangler fails.
    ///
    /// [`ServerConfig::d1_names`]: crate::ServerConfig::d1_names
    pub fn d1_migrate(&self, database: &str) {
        let mut args = vec![os("d1"), os("migrations"), os("apply"), os(database)];
        args.extend(self.local_args());
        self.cli(&format!("wrangler d1 migrations apply {database}"), args);
    }

    /// Runs SQL for its effect in every database; panics on an SQL error.
    pub fn d1_exec(&self, sql: &str) {
        self.d1_results(sql);
    }
}
