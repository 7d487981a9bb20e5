//! The server's D1 database while it runs: SQL through `wrangler d1 execute --local`.

use crate::cli::{os, parse_cli_json};
use crate::paths::COUNTER;
use crate::Server;
use serde_json::Value;
use std::fs;
use std::sync::atomic::Ordering;

/// SQL longer than this goes to `wrangler d1 execute` through a file instead of `--command`.
const MAX_INLINE_SQL: usize = 32 * 1024;

impl Server {
    /// Runs SQL with `wrangler d1 execute --local` against this server's D1 (while it runs)
    /// and returns the rows of each statement.
    ///
    /// Values come as JSON: INTEGER and REAL as numbers, NULL as null, TEXT as strings,
    /// BLOB as a string like `"[0, 255]"` (wrangler's rendering).
    pub fn d1_results(&self, sql: &str) -> Vec<Vec<Value>> {
        let mut args = vec![os("d1"), os("execute"), os(&self.config().d1_name)];
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

    /// Rows (JSON objects, column name -> value) of the last statement of `sql`.
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        self.d1_results(sql).pop().unwrap_or_default()
    }

    /// Runs SQL for its effect; panics on an SQL error.
    pub fn d1_exec(&self, sql: &str) {
        self.d1_results(sql);
    }
}
