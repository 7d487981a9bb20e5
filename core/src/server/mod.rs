//! The server's encodings (feature `server`): sealing secrets with a key ring, the stored
//! app, recorded responses of idempotent requests, the re-seal under a new primary key,
//! and the per-process page cache. A client leaves this off and compiles none of AES-GCM,
//! LZ4 or base64.

pub mod page_cache;
pub mod recorded;
pub mod reseal;
pub mod row;
pub mod seal;
