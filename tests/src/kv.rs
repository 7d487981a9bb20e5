//! The server's KV namespace while it runs, read and changed in its local files
//! (`local_kv.rs`), with no request in flight meanwhile.

use crate::local_kv::LocalKv;
use crate::Server;
use serde::Deserialize;
use serde_json::Value;

/// The KV binding the `kv_*` helpers work on (same name in the project and in peer-ts).
pub const KV_BINDING: &str = "IDEMPOTENCY";

/// One key of a KV listing.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct KvKey {
    pub name: String,
    /// Unix seconds, when the key expires.
    pub expiration: Option<u64>,
    pub metadata: Option<Value>,
}

impl Server {
    /// Runs `f` on the [`KV_BINDING`] namespace in the harness's turn (`turns.rs`; a
    /// write waits for the quiet period first); panics with what failed.
    fn with_kv<T>(
        &self,
        what: &str,
        writes: bool,
        f: impl FnOnce(&LocalKv) -> Result<T, String>,
    ) -> T {
        let kv = LocalKv::new(&self.run_cfg, &self.state_dir, KV_BINDING);
        let turn = self.turns.state();
        if writes {
            turn.before_write();
        }
        f(&kv).unwrap_or_else(|e| panic!("KV {what} failed: {e}"))
    }

    /// All live keys of the [`KV_BINDING`] namespace, with expirations, by name.
    pub fn kv_list(&self) -> Vec<KvKey> {
        self.with_kv("list", false, LocalKv::list)
            .into_iter()
            .map(|entry| KvKey {
                name: entry.key,
                expiration: entry.expiration_ms.map(|ms| ms / 1000),
                metadata: entry.metadata,
            })
            .collect()
    }

    /// All live key names of the [`KV_BINDING`] namespace.
    pub fn kv_keys(&self) -> Vec<String> {
        self.kv_list().into_iter().map(|k| k.name).collect()
    }

    /// The value of a KV key, `None` when absent (or expired).
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        self.with_kv("get", false, |kv| kv.get(key))
    }

    /// Writes a KV value (any bytes), without expiration. The Worker must have written
    /// to the namespace before (miniflare makes the namespace's file then).
    pub fn kv_put(&self, key: &str, value: &[u8]) {
        self.with_kv("put", true, |kv| kv.put(key, value))
    }

    /// Deletes a KV key (no error when it is absent).
    pub fn kv_delete(&self, key: &str) {
        self.with_kv("delete", true, |kv| kv.delete(key))
    }

    /// Every live entry of the [`KV_BINDING`] namespace with its value as text (invalid
    /// UTF-8 replaced).
    pub fn kv_values(&self) -> Vec<(String, String)> {
        self.with_kv("read", false, LocalKv::values)
            .into_iter()
            .map(|(key, value)| (key, String::from_utf8_lossy(&value).into_owned()))
            .collect()
    }
}
