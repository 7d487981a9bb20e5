//! The server's D1 databases while it runs: SQL on their local SQLite files
//! (`tests/src/local_d1.rs`), and late migrations through `wrangler d1 migrations apply`.

use crate::cli::os;
use crate::local_d1::{execute, named};
use crate::miniflare_files::d1_file;
use crate::Server;
use serde_json::Value;

impl Server {
    /// Runs SQL against every D1 database of this server (the project's shards; while it
    /// runs) and returns the rows of each statement, the databases' rows one after the
    /// other in their order. A query for one workspace's rows finds them in whichever shard
    /// holds it; an aggregate (`count(*)`) gives a row a database.
    ///
    /// Each database's statements run in one transaction on its local SQLite file, the one
    /// `wrangler dev` serves, as `wrangler d1 execute --local` would run them; values come
    /// as its `--json` renders them: INTEGER and REAL as numbers, NULL as null, TEXT as
    /// strings, BLOB as a string like `"[0, 255]"`.
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

    /// [`Server::d1_results`] in the one database named `database`. Panics on an SQL error
    /// (nothing of `sql` is then kept).
    pub fn d1_results_in(&self, database_name: &str, sql: &str) -> Vec<Vec<Value>> {
        // One name asked, one database answered (or the error naming it).
        let db = named(&self.run_cfg, &[database_name.to_owned()])
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0);
        let file = d1_file(&self.state_dir, &db.id);
        let turn = self.turns.state();
        execute(&file, sql, || turn.before_write()).unwrap_or_else(|e| {
            panic!("SQL on D1 database {database_name} failed: {e}\nSQL: {sql}")
        })
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
