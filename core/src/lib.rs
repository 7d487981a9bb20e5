//! # connect-core
//!
//! The domain of the Connect app-management API (the Hopae Connect workspace API for
//! OAuth apps), with no IO at all: request and response types, validation, batch
//! semantics, pagination, the idempotency fingerprint and decision, and the formats of ids
//! and secrets. It builds for native targets and `wasm32-unknown-unknown`.
//!
//! The Cloudflare Worker that serves the API is a thin adapter over this crate; a Rust
//! client, or another server, can use the same types.
//!
//! ## For a client
//!
//! Build a request with the raw request types of [`request`], read responses with the
//! response types ([`app::App`], [`batch::BatchCreateResponse`],
//! [`pagination::ListAppsResponse`], [`error::ErrorEnvelope`]):
//!
//! ```
//! use connect_core::request::{BatchCreateRequest, BatchItem};
//! use connect_core::batch::BatchCreateResponse;
//!
//! let body = BatchCreateRequest {
//!     items: vec![BatchItem {
//!         name: "Acme Corp".into(),
//!         redirect_uris: Some(vec!["https://acme.example.com/callback".into()]),
//!         webhook_config: None,
//!         idempotency_key: Some("customer-001".into()),
//!     }],
//!     continue_on_error: Some(true),
//! };
//! let json = serde_json::to_string(&body).unwrap();
//! assert!(json.contains("\"redirectUris\""));
//!
//! // ...send it with an `Idempotency-Key` header, then:
//! let answer = r#"{ "results": [], "successCount": 0, "errorCount": 0 }"#;
//! let parsed: BatchCreateResponse = serde_json::from_str(answer).unwrap();
//! assert_eq!(parsed.success_count, 0);
//! ```
//!
//! ## For a server
//!
//! Parse, don't validate: a body is read with [`input::parse_body`], judged into domain
//! types that cannot hold a bad value, and every refusal is a [`error::FieldError`] that
//! names its parameter by path (`items[3].redirectUris[0]`):
//!
//! ```
//! use connect_core::{batch, entropy::SeededEntropy, ids::WorkspaceId, time::Timestamp};
//!
//! let body = connect_core::input::parse_body(br#"{ "items": [ { "name": "" } ] }"#).unwrap();
//! let err = batch::plan(&body).unwrap_err();
//! assert_eq!(err.parameter, "items[0].name");
//!
//! let body = connect_core::input::parse_body(br#"{ "items": [ { "name": "Acme" } ] }"#).unwrap();
//! let workspace = WorkspaceId::parse("org_example").unwrap();
//! let now = Timestamp::from_millis(1_774_599_771_272);
//! let created = batch::plan(&body).unwrap().execute(&workspace, now, &mut SeededEntropy::new(1));
//! assert_eq!(created.response.success_count, 1);
//! ```
//!
//! Randomness ([`entropy::Entropy`]) and time ([`time::Timestamp`]) are passed in, so
//! every rule here is a pure function.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod batch;
pub mod entropy;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod name;
pub mod page_cache;
pub mod pagination;
pub mod redirect_uri;
pub mod request;
pub mod routes;
pub mod sealed;
pub mod secrets;
pub mod stored;
pub mod time;
pub mod webhook;
pub mod workspace;
