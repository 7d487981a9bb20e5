//! KV: the edge copy of idempotency records, for replays without a D1 round trip.
//!
//! KV is eventually consistent, so it is only ever a shortcut: a miss (or a KV failure)
//! falls through to D1, where the claim is the source of truth.

use crate::faults::{Call, Faults};
use connect_core::server::recorded::KvRecord;
use worker::{console_warn, kv::KvStore, Env};

/// KV refuses an `expiration_ttl` under 60 seconds.
const MIN_TTL_SECONDS: i64 = 60;

/// The `IDEMPOTENCY` namespace.
pub struct Kv {
    kv: KvStore,
    /// The faults of a test build (nothing in a release build).
    faults: Faults,
}

/// The name of the entry of the key with hash `key_hash` in `scope`.
pub fn record_name(scope: &str, key_hash: &str) -> String {
    format!("idem/{scope}/{key_hash}")
}

impl Kv {
    /// The binding, if configured.
    pub fn new(env: &Env) -> Option<Self> {
        let kv = env.kv("IDEMPOTENCY").ok()?;
        Some(Self {
            kv,
            faults: Faults::of(env).unwrap_or_default(),
        })
    }

    /// The record under `name`; `None` on a miss, a malformed record or a KV failure.
    pub async fn get(&self, name: &str) -> Option<KvRecord> {
        let read = async { self.kv.get(name).text().await.map_err(kv_error) };
        match self.faults.around(Call::KvGet, read).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                console_warn!("KV get failed, falling back to D1: {e}");
                None
            }
        }
    }

    /// Stores `record` under `name` until it expires (`now_ms` is the current time).
    pub async fn put(&self, name: &str, record: &KvRecord, now_ms: i64) {
        let ttl = ((record.expires_at - now_ms) / 1000).max(MIN_TTL_SECONDS) as u64;
        let Ok(text) = serde_json::to_string(record) else {
            return;
        };
        let write = async {
            match self.kv.put(name, text) {
                Ok(put) => put.expiration_ttl(ttl).execute().await.map_err(kv_error),
                Err(e) => Err(kv_error(e)),
            }
        };
        let result = self.faults.around(Call::KvPut, write).await;
        if let Err(e) = result {
            // D1 holds the record; the next replay reads it there and tries again.
            console_warn!("KV put failed: {e}");
        }
    }

    /// Removes the entry under `name`. A failure is logged: the entry then expires with
    /// its record, within 24 hours.
    pub async fn delete(&self, name: &str) {
        let delete = async { self.kv.delete(name).await.map_err(kv_error) };
        if let Err(e) = self.faults.around(Call::KvDelete, delete).await {
            console_warn!("KV delete failed: {e}");
        }
    }
}

fn kv_error(e: worker::kv::KvError) -> worker::Error {
    worker::Error::RustError(format!("KV: {e}"))
}
