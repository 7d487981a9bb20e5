//! The rules (feature `rules`, on by default): request bodies read as JSON that cannot be
//! read two ways ([`json`]), then field by field into domain types that cannot hold a bad
//! value, each refusal a [`crate::wire::error::FieldError`] naming its parameter by path;
//! what a body may be declared as ([`media_type`]); the query parameters each route takes
//! ([`query`]); what a request may ask of an app ([`app`]); batch plans; pagination; the
//! idempotency key and fingerprint. Pure functions: time and randomness are passed in.
//! Nothing here knows of storage, shards or bookmarks: those are the server's (feature
//! `server`).

pub mod api_key;
pub mod app;
pub mod batch;
pub mod bodies;
pub mod idempotency;
pub mod input;
pub mod invisible;
pub mod json;
pub mod logo;
pub mod marks;
pub mod media_type;
pub mod name;
pub mod pagination;
pub mod query;
pub mod random;
pub mod redirect_uri;
pub mod webhook;
