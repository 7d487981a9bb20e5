//! # connect-client
//!
//! A blocking Rust client for the Connect app-management API, built on
//! [`connect_core`]'s wire types and rules (without its server encodings).
//!
//! - Every route: apps (create, batch, list, get, patch, delete), secret rotations,
//!   redirect URIs, webhook config, the workspace. Typed requests and answers.
//! - Safe retries: connection errors, `5xx`, `429` (after its `Retry-After`) and `409
//!   IDEMPOTENCY_REQUEST_IN_PROGRESS` are retried with exponential backoff and jitter;
//!   another `4xx` never is. Every `POST` carries one `Idempotency-Key` (yours, or a fresh
//!   UUID) for all its retries, so a retried call is performed once.
//! - [`Client::apps`] walks every app of the workspace, a page at a time.
//! - Requests are judged before they are sent, by the rules the server applies: a bad
//!   batch item fails with the code and parameter path the server would answer, and no
//!   request is made.
//!
//! ```no_run
//! use connect_client::{Client, CreateAppRequest};
//!
//! # fn main() -> Result<(), connect_client::Error> {
//! let client = Client::builder("http://127.0.0.1:8787", "sk_workspace_test_...").build()?;
//! let app = client.create_app(
//!     &CreateAppRequest {
//!         name: "Acme Corp".into(),
//!         logo: None,
//!         redirect_uris: Some(vec!["https://acme.example.com/callback".into()]),
//!         webhook_config: None,
//!     },
//!     Some("customer-001"), // the Idempotency-Key: a retry of this call creates nothing new
//! )?;
//! println!("{} {}", app.client_id, app.name);
//! for app in client.apps() {
//!     println!("{}", app?.client_id);
//! }
//! # Ok(()) }
//! ```
//!
//! An answer of the API that is an error comes back as [`Error::Api`] with the envelope's
//! code, message, parameter and request id; a request the rules refuse before sending as
//! [`Error::Invalid`]; a network failure that outlasted the retries as
//! [`Error::Transport`].

mod client;
mod error;
mod pages;
pub mod retry;
mod transport;
pub mod validate;

pub use client::{Client, ClientBuilder};
pub use error::Error;
pub use pages::AppPages;
pub use retry::RetryPolicy;

pub use connect_core::wire::app::{
    App, DeletedApp, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret, WebhookConfig,
};
pub use connect_core::wire::error::{ErrorCode, ErrorDetails, ErrorObject};
pub use connect_core::wire::ids::ClientId;
pub use connect_core::wire::request::{
    BatchCreateRequest, BatchItem, CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest,
    WebhookConfigInput,
};
pub use connect_core::wire::response::{
    BatchCreateResponse, BatchResult, ListAppsResponse, Workspace,
};
