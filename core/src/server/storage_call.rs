//! The storage calls the Worker makes, by kind: what fault injection (`faults`, in test
//! builds only) names and fails. Always built, so the Worker names each of its calls the
//! same way in every build.

/// A storage call the Worker makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// A D1 read (one statement or a batch of reads).
    D1Read,
    /// A D1 write: a transaction (a batch) or a single writing statement.
    D1Write,
    /// A KV read.
    KvGet,
    /// A KV write.
    KvPut,
    /// A KV delete.
    KvDelete,
}

impl Call {
    /// Its name in `FAULT_CALLS`.
    pub fn name(self) -> &'static str {
        match self {
            Call::D1Read => "d1-read",
            Call::D1Write => "d1-write",
            Call::KvGet => "kv-get",
            Call::KvPut => "kv-put",
            Call::KvDelete => "kv-delete",
        }
    }
}
