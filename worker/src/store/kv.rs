//! KV as the core's [`KeyValue`]: the edge copy of idempotency records, for replays
//! without a D1 round trip. KV is eventually consistent, so it is only ever a shortcut: a
//! miss (or a KV failure, logged here) falls through to D1, where the claim is the source
//! of truth.

use connect_core::server::storage::KeyValue;
use worker::{console_warn, kv::KvStore, Env};

/// The `IDEMPOTENCY` namespace.
pub struct Kv(KvStore);

impl Kv {
    /// The binding, if configured.
    pub fn new(env: &Env) -> Option<Self> {
        env.kv("IDEMPOTENCY").ok().map(Self)
    }
}

impl KeyValue for Kv {
    async fn get(&self, name: &str) -> Option<String> {
        match self.0.get(name).text().await {
            Ok(text) => text,
            Err(e) => {
                console_warn!("KV get failed, falling back to D1: {e}");
                None
            }
        }
    }

    async fn put(&self, name: &str, text: String, ttl_seconds: u64) {
        let written = match self.0.put(name, text) {
            Ok(put) => put.expiration_ttl(ttl_seconds).execute().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            // D1 holds the record; the next replay reads it there and tries again.
            console_warn!("KV put failed: {e}");
        }
    }

    async fn delete(&self, name: &str) {
        if let Err(e) = self.0.delete(name).await {
            // The entry then expires with its record, within 24 hours.
            console_warn!("KV delete failed: {e}");
        }
    }
}
