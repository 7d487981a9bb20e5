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
//! Every type the client's methods take or give back is re-exported here, so a crate that
//! depends on `connect-client` alone needs no direct dependency on `connect-core`. It
//! creates, patches and walks apps like this:
//!
//! ```no_run
//! use connect_client::{
//!     App, Client, ClientId, CreateAppRequest, Error, ErrorCode, PageRequest,
//!     UpdateAppRequest, WebhookConfigInput,
//! };
//!
//! # fn main() -> Result<(), Error> {
//! let client = Client::builder("http://127.0.0.1:8787", "sk_workspace_test_...").build()?;
//!
//! // Create: judged by the server's rules before it is sent; the Idempotency-Key makes a
//! // retry of this call (or a later call with the same key) create nothing new.
//! let app: App = client.create_app(
//!     &CreateAppRequest {
//!         name: "Acme Corp".into(),
//!         logo: None,
//!         redirect_uris: Some(vec!["https://acme.example.com/callback".into()]),
//!         webhook_config: None,
//!     },
//!     Some("customer-001"),
//! )?;
//! println!("{} {}", app.client_id, app.name);
//!
//! // Patch: the fields given are replaced, the webhook config merged.
//! let patch = UpdateAppRequest {
//!     name: Some("Acme Corporation".into()),
//!     webhook_config: Some(WebhookConfigInput {
//!         url: Some(Some("https://hooks.acme.example.com/connect".into())),
//!         enabled: Some(true),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let patched = client.update_app(&app.client_id, &patch)?;
//! assert!(patched.updated_at > app.updated_at);
//!
//! // A patch the rules refuse is never sent: the error is the one the server would give.
//! let plain_http = UpdateAppRequest {
//!     redirect_uris: Some(vec!["http://acme.example.com/callback".into()]),
//!     ..Default::default()
//! };
//! let refused = client.update_app(&app.client_id, &plain_http).unwrap_err();
//! assert_eq!(refused.code(), Some(ErrorCode::ValidationInvalidParameter));
//! assert_eq!(refused.parameter(), Some("redirectUris[0]"));
//!
//! // Walk every app, 100 a call, in creation order; or read one page.
//! for app in client.apps() {
//!     let app = app?;
//!     println!("{} {}", app.client_id, app.redirect_uris.join(" "));
//! }
//! let page = client.list_apps(PageRequest::new(20, 40)?)?;
//! println!("{} apps in all", page.total);
//!
//! // An id from elsewhere (a file, a command line) is parsed before use.
//! let id = ClientId::parse("HqTRDIYH")?;
//! match client.get_app(&id) {
//!     Err(e) if e.code() == Some(ErrorCode::ResourceNotFound) => println!("no app {id}"),
//!     other => println!("{}", other?.name),
//! }
//! # Ok(()) }
//! ```
//!
//! The judgement before sending is available on its own, in [`validate`]:
//!
//! ```
//! use connect_client::{validate, UpdateAppRequest, WebhookConfigInput};
//!
//! let patch = UpdateAppRequest {
//!     webhook_config: Some(WebhookConfigInput { retry_attempts: Some(11), ..Default::default() }),
//!     ..Default::default()
//! };
//! let refused = validate::update(&patch).unwrap_err();
//! assert_eq!(refused.message, "webhookConfig.retryAttempts must be an integer from 0 to 10");
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

// Every type of connect-core that a public signature here uses (and the types of their
// public fields), so that a crate depending on connect-client alone can name them.
pub use connect_core::rules::pagination::PageRequest;
pub use connect_core::wire::app::{
    App, AppForm, DeletedApp, NodeConfig, NodeKind, ProviderState, RedirectUrisResponse,
    RotatedClientSecret, RotatedWebhookSecret, Shown, VerificationConfig, WebhookConfig, Workflow,
    WorkflowNode,
};
pub use connect_core::wire::error::{
    ErrorCode, ErrorDetails, ErrorEnvelope, ErrorObject, FieldError, FieldErrorKind,
};
pub use connect_core::wire::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
pub use connect_core::wire::request::{
    BatchCreateRequest, BatchItem, CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest,
    WebhookConfigInput,
};
pub use connect_core::wire::response::{
    BatchCreateResponse, BatchResult, ListAppsResponse, Workspace,
};
pub use connect_core::wire::secrets::{ClientSecret, WebhookSecret};
pub use connect_core::wire::time::Timestamp;
