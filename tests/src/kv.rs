//! The server's KV namespace while it runs: `wrangler kv key list/get/put/delete --local`.

use crate::cli::{os, parse_cli_json};
use crate::paths::COUNTER;
use crate::Server;
use serde::Deserialize;
use serde_json::Value;
use std::fs;
use std::sync::atomic::Ordering;

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
    /// All keys of the [`KV_BINDING`] namespace, with expirations.
    pub fn kv_list(&self) -> Vec<KvKey> {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("list"),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        let out = self.cli("wrangler kv key list", args);
        let json = parse_cli_json(&out.stdout)
            .unwrap_or_else(|| panic!("{}", out.describe("wrangler kv key list printed no JSON")));
        serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("kv key list output {json}: {e}"))
    }

    /// All key names of the [`KV_BINDING`] namespace.
    pub fn kv_keys(&self) -> Vec<String> {
        self.kv_list().into_iter().map(|k| k.name).collect()
    }

    /// The value of a KV key, `None` when absent.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("get"),
            os(key),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        let out = self.cli("wrangler kv key get", args);
        // wrangler prints this (exit code 0) for a missing key; a stored value could be the
        // same text, so make sure.
        if out.stdout == b"Value not found\n" && !self.kv_keys().iter().any(|k| k == key) {
            return None;
        }
        Some(out.stdout)
    }

    /// Writes a KV value (any bytes), without expiration.
    pub fn kv_put(&self, key: &str, value: &[u8]) {
        let path = std::env::temp_dir().join(format!(
            "connect-e2e-{}-{}.kv",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&path, value).expect("write KV value file");
        let mut args = vec![
            os("kv"),
            os("key"),
            os("put"),
            os(key),
            os("--path"),
            os(&path),
        ];
        args.extend([os("--binding"), os(KV_BINDING)]);
        args.extend(self.local_args());
        let out = self.wrangler(&args);
        let _ = fs::remove_file(&path);
        let out = out.unwrap_or_else(|e| panic!("wrangler kv key put: {e}"));
        if !out.success {
            panic!("{}", out.describe("wrangler kv key put failed"));
        }
    }

    /// Deletes a KV key (no error when it is absent).
    pub fn kv_delete(&self, key: &str) {
        let mut args = vec![
            os("kv"),
            os("key"),
            os("delete"),
            os(key),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        self.cli("wrangler kv key delete", args);
    }

    /// Every entry of the [`KV_BINDING`] namespace with its value as text, in one
    /// `wrangler kv bulk get` (one CLI run, however many entries).
    pub fn kv_values(&self) -> Vec<(String, String)> {
        let names = self.kv_keys();
        if names.is_empty() {
            return Vec::new();
        }
        let path = std::env::temp_dir().join(format!(
            "connect-e2e-{}-{}.keys.json",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::write(&path, serde_json::to_vec(&names).unwrap()).expect("write KV names file");
        let mut args = vec![
            os("kv"),
            os("bulk"),
            os("get"),
            os(&path),
            os("--binding"),
            os(KV_BINDING),
        ];
        args.extend(self.local_args());
        let out = self.cli("wrangler kv bulk get", args);
        let _ = fs::remove_file(&path);
        // One JSON object, name -> { "value": ... }, then a line of its own ("Success!").
        let start = out.stdout.iter().position(|&b| b == b'{');
        let json: Value = start
            .and_then(|at| {
                serde_json::Deserializer::from_slice(&out.stdout[at..])
                    .into_iter()
                    .next()?
                    .ok()
            })
            .unwrap_or_else(|| panic!("{}", out.describe("wrangler kv bulk get printed no JSON")));
        names
            .into_iter()
            .filter_map(|name| {
                let text = match json.get(&name)?.get("value")? {
                    Value::String(s) => s.clone(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some((name, text))
            })
            .collect()
    }
}
