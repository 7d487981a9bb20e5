//! Storage: the core's statements run on D1 and KV. Every SQL statement and every decision
//! about what to write is the core's (`connect_core::server`); this adapter runs them.
//!
//! - [`d1`]: one shard's database in one session, as the core's `Database`;
//! - [`sessions`]: where a request's session starts (the primary, or a replica at least as
//!   recent as a bookmark), and the bookmark it leaves;
//! - [`costs`]: what a request cost D1, for `Server-Timing`;
//! - [`kv`]: KV, as the core's `KeyValue`.

pub mod costs;
pub mod d1;
pub mod kv;
pub mod sessions;

pub use costs::Costs;
pub use d1::D1;
pub use sessions::Freshness;
