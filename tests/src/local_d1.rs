//! Local D1 as `wrangler` keeps it: which D1 databases a config binds, and SQL run
//! directly on a database's SQLite file (found by `miniflare_files::d1_file`).
//!
//! Reading and changing the state through the file, rather than through `wrangler d1
//! execute --local`, is what the harness's state calls do: the CLI is a node process that
//! starts a `workerd` of its own for each call (2 to 3 CPU-seconds), and the tests made
//! some 340 such calls a run. It is the same file either way, opened with SQLite's own
//! locking (`miniflare_files::open`); when the harness may write is `turns.rs`'s business.

use crate::config::ServerConfig;
use crate::miniflare_files::open;
use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::ValueRef;
use rusqlite::Batch;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One `[[d1_databases]]` entry of a config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct D1Database {
    pub(crate) name: String,
    pub(crate) id: String,
    /// The `migrations_dir`, relative paths taken from the config's directory.
    pub(crate) migrations_dir: PathBuf,
}

/// The D1 databases `cfg`'s config binds (those of its `--env` when it has one), in the
/// config's order.
pub(crate) fn databases(cfg: &ServerConfig) -> Vec<D1Database> {
    let field = |entry: &toml::Value, key: &str| -> Option<String> {
        entry
            .get(key)
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
    };
    cfg.bindings("d1_databases")
        .iter()
        .map(|entry| {
            let name = field(entry, "database_name").unwrap_or_else(|| {
                panic!(
                    "a D1 database of {} has no database_name",
                    cfg.config.display()
                )
            });
            let id = field(entry, "database_id").unwrap_or_else(|| {
                panic!(
                    "D1 database {name} of {} has no database_id",
                    cfg.config.display()
                )
            });
            let dir = field(entry, "migrations_dir").unwrap_or_else(|| "migrations".into());
            D1Database {
                migrations_dir: cfg.dir().join(dir),
                name,
                id,
            }
        })
        .collect()
}

/// The databases of `cfg`'s config named `names`, in that order; an error names the first
/// it does not bind.
pub(crate) fn named(cfg: &ServerConfig, names: &[String]) -> Result<Vec<D1Database>, String> {
    let bound = databases(cfg);
    names
        .iter()
        .map(|name| {
            bound
                .iter()
                .find(|d| &d.name == name)
                .cloned()
                .ok_or_else(|| {
                    format!("{} binds no D1 database named {name}", cfg.config.display())
                })
        })
        .collect()
}

/// Runs `sql` (one or more statements) in one transaction on the SQLite file `file`, as
/// `wrangler d1 execute --json` does on D1, and returns each statement's rows as JSON
/// objects: INTEGER and REAL as numbers, NULL as null, TEXT as strings, BLOB as a string
/// like `"[0, 255]"` (wrangler's rendering). Foreign keys are enforced, as D1 does.
/// `before_write` is called once, before the first statement that may write.
pub(crate) fn execute(
    file: &Path,
    sql: &str,
    before_write: impl FnOnce(),
) -> Result<Vec<Vec<Value>>, String> {
    let mut conn = open(file)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| e.to_string())?;
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let mut results = Vec::new();
    let mut batch = Batch::new(&tx, sql);
    let mut before_write = Some(before_write);
    while let Some(mut stmt) = batch.next().map_err(|e| e.to_string())? {
        if !stmt.readonly() {
            if let Some(wait) = before_write.take() {
                wait();
            }
        }
        let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let mut object = Map::new();
            for (i, column) in columns.iter().enumerate() {
                let value = row.get_ref(i).map_err(|e| e.to_string())?;
                object.insert(column.clone(), json(value));
            }
            out.push(Value::Object(object));
        }
        results.push(out);
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(results)
}

fn json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => {
            let bytes: Vec<String> = b.iter().map(u8::to_string).collect();
            Value::String(format!("[{}]", bytes.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::fresh_temp_dir;
    use std::fs;

    #[test]
    fn the_project_binds_its_shards_with_their_migrations() {
        let cfg = ServerConfig::project();
        let dbs = databases(&cfg);
        let names: Vec<&str> = dbs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["connect", "connect-2"]);
        assert!(dbs
            .iter()
            .all(|d| d.migrations_dir.join("0001_baseline.sql").is_file()));
        let production = databases(&cfg.clone().with_env("production"));
        assert_eq!(production[0].name, "connect-production");
    }

    #[test]
    fn statements_answer_as_wrangler_renders_them() {
        let dir = fresh_temp_dir("local-d1-unit");
        let file = dir.join("db.sqlite");
        rusqlite::Connection::open(&file).unwrap();
        let waits = std::cell::Cell::new(0);
        let results = execute(
            &file,
            "CREATE TABLE t (a); INSERT INTO t VALUES (1); \
             SELECT a, 2.5 AS b, NULL AS c, 'x' AS d, x'00ff' AS e FROM t",
            || waits.set(waits.get() + 1),
        )
        .unwrap();
        assert_eq!(waits.get(), 1, "one wait, before the first write");
        assert_eq!(
            results,
            vec![
                vec![],
                vec![],
                vec![serde_json::json!({"a": 1, "b": 2.5, "c": null, "d": "x", "e": "[0, 255]"})]
            ]
        );
        let err = execute(&file, "INSERT INTO t VALUES (2); SELEC nothing", || ()).unwrap_err();
        assert!(err.contains("syntax error"), "{err}");
        assert_eq!(
            execute(&file, "SELECT count(*) AS n FROM t", || panic!(
                "a read waited"
            ))
            .unwrap(),
            vec![vec![serde_json::json!({"n": 1})]],
            "a failed call changes nothing"
        );
        assert!(execute(&dir.join("missing.sqlite"), "SELECT 1", || ()).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
