//! Local KV as `wrangler` keeps it: a namespace's keys in its SQLite file (table
//! `_mf_entries`: key, the id of the file holding the value, expiration in milliseconds,
//! metadata as JSON text) and each value in a file of its own (see `miniflare_files`).
//! Read and changed here directly, as miniflare's KV object does, rather than through
//! `wrangler kv key --local` (a node process and a `workerd` a call).

use crate::config::ServerConfig;
use crate::miniflare_files::{kv_blobs, kv_file, open};
use crate::random::random_bytes;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One live entry of a namespace: its key, expiration (Unix milliseconds) and metadata.
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) expiration_ms: Option<u64>,
    pub(crate) metadata: Option<Value>,
}

/// A KV namespace of a server's local state.
pub(crate) struct LocalKv {
    file: PathBuf,
    blobs: PathBuf,
}

impl LocalKv {
    /// The namespace bound as `binding` in `cfg`'s config, under the `--persist-to`
    /// directory `state_dir`. Panics when the config binds no such namespace.
    pub(crate) fn new(cfg: &ServerConfig, state_dir: &Path, binding: &str) -> LocalKv {
        let id = cfg
            .bindings("kv_namespaces")
            .iter()
            .find(|ns| ns.get("binding").and_then(toml::Value::as_str) == Some(binding))
            .and_then(|ns| {
                ns.get("id")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| {
                panic!(
                    "{} binds no KV namespace {binding} with an id",
                    cfg.config.display()
                )
            });
        LocalKv {
            file: kv_file(state_dir, &id),
            blobs: kv_blobs(state_dir, &id),
        }
    }

    /// The live entries (not expired), by key. None before the Worker first wrote to the
    /// namespace (miniflare makes its file then).
    pub(crate) fn list(&self) -> Result<Vec<Entry>, String> {
        let Some(conn) = self.open()? else {
            return Ok(Vec::new());
        };
        let mut stmt = conn
            .prepare(
                "SELECT key, expiration, metadata FROM _mf_entries \
                 WHERE expiration IS NULL OR expiration > ?1 ORDER BY key",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([now_ms()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        rows.map(|row| {
            let (key, expiration, metadata) = row.map_err(|e| e.to_string())?;
            let metadata = metadata
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| format!("metadata of {key}: {e}"))?;
            Ok(Entry {
                key,
                expiration_ms: expiration.map(|ms| ms as u64),
                metadata,
            })
        })
        .collect()
    }

    /// Every live entry's key and value, by key (one query; each value read from its file).
    pub(crate) fn values(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let Some(conn) = self.open()? else {
            return Ok(Vec::new());
        };
        let mut stmt = conn
            .prepare(
                "SELECT key, blob_id FROM _mf_entries \
                 WHERE expiration IS NULL OR expiration > ?1 ORDER BY key",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([now_ms()], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(|e| e.to_string())?;
        rows.map(|row| {
            let (key, blob) = row.map_err(|e| e.to_string())?;
            let value = self.read_blob(&key, &blob)?;
            Ok((key, value))
        })
        .collect()
    }

    /// The value of `key`; `None` when it is absent or expired.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(conn) = self.open()? else {
            return Ok(None);
        };
        let Some(blob) = self.live_blob(&conn, key)? else {
            return Ok(None);
        };
        self.read_blob(key, &blob).map(Some)
    }

    fn read_blob(&self, key: &str, blob: &str) -> Result<Vec<u8>, String> {
        let path = self.blobs.join(blob);
        fs::read(&path).map_err(|e| format!("read the value of {key} ({}): {e}", path.display()))
    }

    /// Writes `value` under `key`, without expiration or metadata, as miniflare does: the
    /// value in a new file, then the key pointed at it; the replaced value's file removed.
    /// Panics when the Worker never wrote to the namespace (its file does not exist yet).
    pub(crate) fn put(&self, key: &str, value: &[u8]) -> Result<(), String> {
        let conn = self.open()?.ok_or_else(|| self.missing())?;
        // 32 random bytes and the time in milliseconds (8 bytes, big-endian), as hex.
        let mut id = random_bytes(32);
        id.extend_from_slice(&now_ms().to_be_bytes());
        let blob = hex::encode(id);
        fs::create_dir_all(&self.blobs).map_err(|e| e.to_string())?;
        fs::write(self.blobs.join(&blob), value).map_err(|e| e.to_string())?;
        let old = self.any_blob(&conn, key)?;
        conn.execute(
            "INSERT OR REPLACE INTO _mf_entries (key, blob_id, expiration, metadata) \
             VALUES (?1, ?2, NULL, NULL)",
            params![key, blob],
        )
        .map_err(|e| e.to_string())?;
        if let Some(old) = old {
            let _ = fs::remove_file(self.blobs.join(old));
        }
        Ok(())
    }

    /// Deletes `key` and its value's file (nothing when it is absent).
    pub(crate) fn delete(&self, key: &str) -> Result<(), String> {
        let Some(conn) = self.open()? else {
            return Ok(());
        };
        let old = self.any_blob(&conn, key)?;
        conn.execute("DELETE FROM _mf_entries WHERE key = ?1", [key])
            .map_err(|e| e.to_string())?;
        if let Some(old) = old {
            let _ = fs::remove_file(self.blobs.join(old));
        }
        Ok(())
    }

    fn open(&self) -> Result<Option<Connection>, String> {
        if !self.file.is_file() {
            return Ok(None);
        }
        open(&self.file).map(Some)
    }

    fn missing(&self) -> String {
        format!(
            "no KV namespace file at {}: the Worker has not written to it yet",
            self.file.display()
        )
    }

    fn live_blob(&self, conn: &Connection, key: &str) -> Result<Option<String>, String> {
        conn.query_row(
            "SELECT blob_id FROM _mf_entries \
             WHERE key = ?1 AND (expiration IS NULL OR expiration > ?2)",
            params![key, now_ms()],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())
    }

    fn any_blob(&self, conn: &Connection, key: &str) -> Result<Option<String>, String> {
        conn.query_row(
            "SELECT blob_id FROM _mf_entries WHERE key = ?1",
            [key],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970");
    since.as_millis() as i64
}
