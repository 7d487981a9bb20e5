//! The server's encodings (feature `server`): sealing secrets with a key ring, the tags
//! that show an `X-Connect-Bookmark` was sent by this API, the stored app, recorded
//! responses of idempotent requests, the re-seal under a new primary key, the per-process
//! page cache, the list of shards and where a new workspace goes, whether a deployment is
//! ready (`health`), whose failed operator logins count together (`client_address`) and
//! the chunks of the purge of expired claims; behind `faults`, the fault injection of test
//! builds (its calls, `storage_call`, are named in every build). A client leaves this off
//! and compiles none of AES-GCM, HMAC, LZ4 or base64.

pub mod bookmark;
pub mod client_address;
#[cfg(feature = "faults")]
pub mod faults;
pub mod health;
pub mod page_cache;
pub mod purge;
pub mod recorded;
pub mod reseal;
pub mod row;
pub mod seal;
pub mod shards;
pub mod storage_call;
