//! Where miniflare (wrangler's local simulator) keeps a binding's storage under a
//! `--persist-to` directory: the SQLite file of each D1 database and KV namespace, and the
//! files holding KV values.
//!
//! Miniflare keeps each D1 database and each KV namespace in a Durable Object of its own
//! class (`miniflare-D1DatabaseObject`, `miniflare-KVNamespaceObject`, also the names of the
//! classes' directories), named by the database's or namespace's id, and names the
//! object's SQLite file by the object's id, derived from that name as `idFromName` does
//! (miniflare's `durableObjectNamespaceIdFromName`): an HMAC-SHA256 keyed by the SHA-256 of
//! the class's unique key. A KV value is a file of its own, `kv/<namespace id>/blobs/<blob
//! id>`. A change of that scheme in a wrangler upgrade shows at once: the harness checks
//! that the files of freshly migrated databases are where these functions say
//! (`migrated_state.rs`), and `harness.rs` tests the KV helpers against a running Worker.

use hmac::{Hmac, Mac};
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement of the harness waits for the running Worker's write to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens one of these SQLite files beside the running `workerd`, as another process on it:
/// SQLite's own file locks, and a busy timeout so a statement waits for the Worker's write
/// (the Worker's `workerd` sets none: see `turns.rs`). A missing file is an error, never
/// made.
pub(crate) fn open(file: &Path) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("open {}: {e}", file.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// The SQLite file of the local D1 database with id `id`.
pub(crate) fn d1_file(state_dir: &Path, id: &str) -> PathBuf {
    object_file(&state_dir.join("v3/d1"), "miniflare-D1DatabaseObject", id)
}

/// The SQLite file of the local KV namespace with id `id`: its keys (table `_mf_entries`).
pub(crate) fn kv_file(state_dir: &Path, id: &str) -> PathBuf {
    object_file(&state_dir.join("v3/kv"), "miniflare-KVNamespaceObject", id)
}

/// The directory of the values of the local KV namespace with id `id`, one file each.
pub(crate) fn kv_blobs(state_dir: &Path, id: &str) -> PathBuf {
    state_dir.join("v3/kv").join(id).join("blobs")
}

fn object_file(storage: &Path, class: &str, name: &str) -> PathBuf {
    let key = Sha256::digest(class.as_bytes());
    let tag = |data: &[u8]| -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
        mac.update(data);
        mac.finalize().into_bytes()[..16].to_vec()
    };
    let object_name = tag(name.as_bytes());
    let check = tag(&object_name);
    storage.join(class).join(format!(
        "{}{}.sqlite",
        hex::encode(&object_name),
        hex::encode(&check)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_as_miniflare_names_them() {
        // As wrangler 4 wrote them for the project's first shard and its KV namespace.
        assert_eq!(
            d1_file(Path::new("/s"), "00000000-0000-0000-0000-000000000c0d"),
            Path::new("/s/v3/d1/miniflare-D1DatabaseObject/4706d40b990842a52e5a4bb48da4290e92ff626b9795c1e2e9201015a8f5cdfe.sqlite")
        );
        assert_eq!(
            kv_file(Path::new("/s"), "00000000000000000000000000000c0d"),
            Path::new("/s/v3/kv/miniflare-KVNamespaceObject/ffd86d979e85962ea00f8e9114c195912563e629200f672631b7db22ef1e572a.sqlite")
        );
    }
}
