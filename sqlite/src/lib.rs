//! `connect-core`'s storage on SQLite, for tests and tools: the project's own
//! `migrations/` applied to a database file ([`migrations`]), the core's statements run on
//! it ([`Sqlite`]), an in-memory key-value store ([`MemoryKv`]), the three as a
//! [`Backend`](connect_core::server::perform::Backend) of shards ([`Native`]), and a
//! storage wrapper that fails chosen calls before or after they take effect ([`faults`]).
//!
//! D1 is SQLite: the statements, the schema and its constraints are the same, and so are
//! the error texts the core reads refusals from. What this cannot show is D1 itself (its
//! sessions and replicas, its round trips, its limits); the end-to-end tests on
//! `wrangler dev` keep those.

pub mod faults;
mod kv;
pub mod migrations;
mod native;
mod sqlite;

pub use kv::MemoryKv;
pub use native::{block_on, system_now, Native, Shards};
pub use sqlite::Sqlite;
