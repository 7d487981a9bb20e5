//! # connect-core
//!
//! The Connect app-management API (the Hopae Connect workspace API for OAuth apps) as a
//! library with no IO at all, in three layers:
//!
//! - [`wire`]: what crosses HTTP. Request bodies, the [`App`] and every answer, the error
//!   envelope and its codes, the formats of ids and secrets, the route table. serde only.
//! - `rules` (feature `rules`, on by default): request bodies read as JSON that cannot be
//!   read two ways (a repeated member name is refused) and judged into domain types that
//!   cannot hold a bad value, each refusal naming its parameter by path
//!   (`items[3].redirectUris[0]`); what a body may be declared as; what a request may ask
//!   of an app; batch plans; pagination; the `Idempotency-Key` and the request
//!   fingerprint. Pure functions: time and randomness are passed in.
//! - `server` (feature `server`): everything about storage, shards, bookmarks and the
//!   operators. Apps as the server holds them (secrets open or kept sealed) and how each
//!   route mints or changes one, the client ids each shard mints, the idempotency claim
//!   and decision, the admin API's answers; secrets sealed with an AES-256-GCM key ring,
//!   the tags that show an `X-Connect-Bookmark` was sent by this API (HMAC-SHA256 under
//!   keys derived from the ring), the stored app, recorded responses of idempotent
//!   requests, the page cache; storage as data and the write protocol. The Cloudflare
//!   Worker that serves the API turns it on; a client leaves it off and compiles no
//!   AES-GCM, HMAC, LZ4 or base64: it keeps and sends back bookmarks as the opaque text
//!   they are.
//!
//! `test-util` adds a seeded (insecure) entropy source for tests and benchmarks. It builds
//! for native targets and `wasm32-unknown-unknown`.
//!
//! ## For a client
//!
//! Build a request with the [`wire::request`] types, judge it before sending with the same
//! rules the server applies, and read answers with the [`wire::response`] types:
//!
//! ```
//! use connect_core::rules::app::NewApp;
//! use connect_core::rules::input::Path;
//! use connect_core::{BatchCreateRequest, BatchCreateResponse, BatchItem, CreateAppRequest};
//!
//! let item = BatchItem {
//!     app: CreateAppRequest {
//!         name: "Acme Corp".into(),
//!         logo: None,
//!         redirect_uris: Some(vec!["http://acme.example.com/callback".into()]),
//!         webhook_config: None,
//!     },
//!     idempotency_key: Some("customer-001".into()),
//! };
//! // Caught before any request, with the parameter the server would name.
//! let items = Path::Named("items");
//! let refused = NewApp::validate(&item.app, items.index(0)).unwrap_err();
//! assert_eq!(refused.parameter, "items[0].redirectUris[0]");
//!
//! let body = BatchCreateRequest { items: vec![item], continue_on_error: Some(true) };
//! assert!(serde_json::to_string(&body).unwrap().contains("\"continueOnError\":true"));
//!
//! // ...send it with an `Idempotency-Key` header, then:
//! let answer = r#"{ "results": [], "successCount": 0, "errorCount": 0 }"#;
//! let parsed: BatchCreateResponse = serde_json::from_str(answer).unwrap();
//! assert_eq!(parsed.success_count, 0);
//! ```
//!
//! ## For an authorization server
//!
//! A service that signs users in to these apps needs the rules and the wire types, not the
//! storage: with the default features alone it judges what an app may hold, exactly as
//! this API does, and checks a client's credentials:
//!
//! ```
//! use connect_core::rules::app::AppPatch;
//! use connect_core::rules::name::AppName;
//! use connect_core::rules::redirect_uri::RedirectUri;
//! use connect_core::wire::ids::ClientId;
//! use connect_core::wire::secrets::ClientSecret;
//! use connect_core::UpdateAppRequest;
//!
//! // A redirect URI in the form the API stores it (scheme and host lower-cased, a port
//! // without leading zeros), to compare as a string with the registered ones.
//! let uri = RedirectUri::parse("HTTPS://App.Example.com:0443/cb", "redirect_uri").unwrap();
//! assert_eq!(uri.as_str(), "https://app.example.com:443/cb");
//! let refused = RedirectUri::parse("http://app.example.com/cb", "redirect_uri").unwrap_err();
//! assert_eq!(refused.parameter, "redirect_uri");
//!
//! // A name as stored: trimmed, in Unicode NFC, nothing hidden in it.
//! assert_eq!(AppName::parse(" Cafe\u{301} ", "name").unwrap().as_str(), "Caf\u{e9}");
//! assert!(AppName::parse("Acme\u{200b}Corp", "name").is_err());
//!
//! // A change of an app, judged without the app (the one rule that needs it, enabled
//! // webhooks need a URL, is the API's when it applies the change).
//! let patch = UpdateAppRequest {
//!     default_success_redirect_uri: Some(Some("javascript:alert(1)".into())),
//!     ..Default::default()
//! };
//! let refused = AppPatch::validate(&patch).unwrap_err();
//! assert_eq!(refused.parameter, "defaultSuccessRedirectUri");
//!
//! // A client's credentials: every parse gives the rules' FieldError, and a secret is
//! // compared in constant time (`verify`, and `==` too), never with a plain string `==`.
//! let client_id = ClientId::parse("HqTRDIYH").unwrap();
//! assert_eq!(ClientId::parse("HqTRDIY").unwrap_err().parameter, "clientId");
//! let registered = ClientSecret::parse(&format!("sh_app_{}", "3f".repeat(32))).unwrap();
//! let presented = format!("sh_app_{}", "3f".repeat(32));
//! assert!(registered.verify(&presented));
//! assert!(!registered.verify(&format!("sh_app_{}", "3e".repeat(32))));
//! # let _ = client_id;
//! ```
//!
//! Nothing the storage, the shards, the bookmarks or the operators use is in the default
//! features: those are behind `server`.
//!
//! ## For a server
//!
//! Parse, don't validate: a body is read field by field, judged into domain types, and
//! every refusal names its parameter. A batch's outcome is apps and per-item results; the
//! server seals each app for storage and shows it in the answer:
//!
//! ```
//! # #[cfg(all(feature = "server", feature = "test-util"))] {
//! use connect_core::rules::{batch, input::parse_body};
//! use connect_core::server::{row::Stored, seal::KeyRing, shards::ClientIdClass};
//! use connect_core::wire::app::App;
//! use connect_core::test_util::SeededEntropy;
//! use connect_core::wire::{ids::WorkspaceId, time::Timestamp};
//!
//! let body = parse_body(br#"{ "items": [ { "name": "" } ] }"#).unwrap();
//! assert_eq!(batch::plan(&body).unwrap_err().parameter, "items[0].name");
//! // A member given twice, however it is escaped, is refused while the body is read.
//! let repeated = parse_body(br#"{ "items": [ { "name": "A", "n\u0061me": "B" } ] }"#);
//! assert_eq!(repeated.unwrap_err().parameter, "items[0].name");
//!
//! let body = parse_body(br#"{ "items": [ { "name": "Acme" } ] }"#).unwrap();
//! let workspace = WorkspaceId::parse("org_example").unwrap();
//! let now = Timestamp::from_millis(1_774_599_771_272);
//! let mut entropy = SeededEntropy::new(1); // the Worker passes crypto.getRandomValues
//! // The client ids of the workspace's shard: here the first (see `server::shards`).
//! let class = ClientIdClass::FIRST;
//! let outcome = batch::plan(&body).unwrap().execute(&workspace, class, now, &mut entropy);
//! assert_eq!(outcome.apps().next().unwrap().client_id.class(), class);
//!
//! let ring = KeyRing::parse(&format!("k1:{}", "ab".repeat(32))).unwrap();
//! let stored: Vec<App<Stored>> = outcome.apps().map(|app| app.seal(&ring, &mut entropy)).collect();
//! let answer = outcome.response().unwrap(); // new apps' secrets are always open
//! assert_eq!(answer.success_count, 1);
//! let secret = answer.results[0].app.as_ref().unwrap().client_secret.expose();
//! assert!(!stored[0].doc().contains(secret));
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod wire;

#[cfg(feature = "rules")]
pub mod rules;

#[cfg(feature = "server")]
pub mod server;

#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

#[cfg(test)]
mod reach;

pub use wire::app::App;
pub use wire::error::{ErrorCode, ErrorEnvelope, FieldError};
pub use wire::ids::ClientId;
pub use wire::request::{
    BatchCreateRequest, BatchItem, CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest,
    WebhookConfigInput,
};
pub use wire::response::{BatchCreateResponse, BatchResult, ListAppsResponse};
pub use wire::secrets::ClientSecret;
