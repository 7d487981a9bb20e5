//! The server (feature `server`): how the API keeps its promises over storage, as data
//! and decisions, without IO of its own.
//!
//! - Apps as the server holds them ([`app`]: their secrets open or kept sealed, minted
//!   from a judged request, changed by each route) and batches minted ([`batch`]).
//! - Encodings: sealing secrets with a key ring ([`seal`]), the tags that show an
//!   `X-Connect-Bookmark` was sent by this API ([`bookmark`]), the stored app ([`row`]),
//!   recorded answers of idempotent requests ([`recorded`]), the page cache
//!   ([`page_cache`]), the list of shards, the client ids each mints and where a new
//!   workspace goes ([`shards`]).
//! - The claim on an `Idempotency-Key` and the decision it leads to ([`idempotency`]).
//! - The answers of the operators' admin API ([`admin`]).
//! - The deployment: whether it is ready ([`health`]), whose failed operator logins count
//!   together ([`client_address`]).
//! - Storage as data ([`storage`]): statements of [`sql`] with their parameters, run by an
//!   adapter (D1 in the Worker, SQLite in the native tests); the statements of each table
//!   ([`tables`]); a request's use of one database, with the confirmation of its API key
//!   ([`session`]).
//! - The write protocol ([`perform`]): every write, its `Idempotency-Key`, its claim in
//!   the write's own transaction, its retries; and the writes themselves
//!   ([`operations`]), the re-seal ([`reseal`]) and the purge of expired claims
//!   ([`purge`]).
//!
//! A client leaves this off and compiles none of AES-GCM, HMAC, LZ4 or base64.

pub mod admin;
pub mod app;
pub mod batch;
pub mod bookmark;
pub mod client_address;
pub mod failure;
pub mod health;
pub mod idempotency;
pub mod operations;
pub mod page_cache;
pub mod perform;
pub mod purge;
pub mod recorded;
pub mod reseal;
pub mod row;
pub mod seal;
pub mod session;
pub mod shards;
pub mod sql;
pub mod storage;
pub mod tables;

/// A line for the operator's log, from work that runs without a request (the scheduled
/// re-seal and purge): the adapter writes it where its logs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    /// What was done.
    Info(String),
    /// What failed.
    Error(String),
}
