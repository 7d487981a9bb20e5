//! The project's D1 migrations (`migrations/*.sql`), applied in name order as
//! `wrangler d1 migrations apply` does, recorded in the same `d1_migrations` table.

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The repository's `migrations/` folder.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// The migration files, in the order they apply.
pub fn files() -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    Ok(files)
}

/// Applies every migration `conn` has not recorded yet, each in a transaction of its own.
pub fn apply(conn: &mut Connection) -> Result<(), Box<dyn std::error::Error>> {
    apply_while(conn, |_| true)
}

/// Applies the migrations up to `last` (a file name, which must exist) that `conn` has not
/// recorded yet: a database as a deployment made it before the migrations after `last`.
pub fn apply_through(conn: &mut Connection, last: &str) -> Result<(), Box<dyn std::error::Error>> {
    let names = files()?;
    if !names
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == last))
    {
        return Err(format!("no migration {last}").into());
    }
    apply_while(conn, |name| name <= last)
}

fn apply_while(
    conn: &mut Connection,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS d1_migrations( \
           id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, \
           applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    )?;
    for file in files()? {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("a migration's name is not UTF-8")?
            .to_owned();
        if !wanted(&name) {
            continue;
        }
        let applied: bool = conn.query_row(
            "SELECT count(*) > 0 FROM d1_migrations WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )?;
        if applied {
            continue;
        }
        let sql = std::fs::read_to_string(&file)?;
        let tx = conn.transaction()?;
        tx.execute_batch(&sql)
            .map_err(|e| format!("migration {name}: {e}"))?;
        tx.execute("INSERT INTO d1_migrations (name) VALUES (?1)", [&name])?;
        tx.commit()?;
    }
    Ok(())
}
