//! A key-value store in memory, shared by a test's threads.

use crate::faults::{Call, Faults};
use connect_core::server::storage::KeyValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries by name (expiry is not modelled: a test's run is far shorter than any TTL).
#[derive(Debug, Clone, Default)]
pub struct MemoryKv {
    entries: Arc<Mutex<HashMap<String, String>>>,
    faults: Option<Faults>,
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// This store, its calls failing as `faults` says.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Every entry, for a test to look at.
    pub fn entries(&self) -> HashMap<String, String> {
        self.entries.lock().expect("the entries").clone()
    }

    fn fault(&self, call: Call) -> Option<crate::faults::Fault> {
        self.faults.as_ref().and_then(|f| f.draw(call))
    }
}

impl KeyValue for MemoryKv {
    async fn get(&self, name: &str) -> Option<String> {
        match self.fault(Call::KvGet) {
            // A failed read is a miss, as the Worker's KV adapter reads it.
            Some(_) => None,
            None => self.entries.lock().expect("the entries").get(name).cloned(),
        }
    }

    async fn put(&self, name: &str, text: String, _ttl_seconds: u64) {
        let fault = self.fault(Call::KvPut);
        if fault != Some(crate::faults::Fault::Before) {
            self.entries
                .lock()
                .expect("the entries")
                .insert(name.to_owned(), text);
        }
    }

    async fn delete(&self, name: &str) {
        let fault = self.fault(Call::KvDelete);
        if fault != Some(crate::faults::Fault::Before) {
            self.entries.lock().expect("the entries").remove(name);
        }
    }
}
