//! The App object, and the answers of the routes about one app.
//!
//! [`App`] lists the App's fields once. The API sends and a client reads it in the form
//! [`Shown`] (the default: `App` is `App<Shown>`). The server also holds an app with its
//! secrets in memory (`server::app::Held`) and stores it with its secrets sealed
//! (`server::row::Stored`); a form decides only how the three parts that differ between
//! these are written: the client secret, the workflows and the webhook signing secret.
//! [`App::to_form`] turns one form into another.
//!
//! These are answers: read from JSON, an app is taken as the server sent it (its ids,
//! secrets and timestamps are checked by their types; its names and URIs, which the
//! server judged when they were written, are not judged again).

use crate::wire::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
use crate::wire::secrets::{ClientSecret, WebhookSecret};
use crate::wire::time::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// How an [`App`]'s parts that differ between forms are written. A form is a type without
/// values (an empty enum) that only names these three types.
pub trait AppForm: Debug + Clone + PartialEq {
    /// The client secret.
    type ClientSecret: Serialize + DeserializeOwned + Debug + Clone + PartialEq;
    /// The workflows.
    type Workflows: Serialize + DeserializeOwned + Debug + Clone + PartialEq;
    /// The webhook signing secret, once one exists.
    type WebhookSecret: Serialize + DeserializeOwned + Debug + Clone + PartialEq;
}

/// The form the API sends: the client secret in full, the workflows in full, and the
/// webhook signing secret as a preview (`whsec_****abc1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {}

impl AppForm for Shown {
    type ClientSecret = ClientSecret;
    type Workflows = Vec<Workflow>;
    type WebhookSecret = String;
}

/// An app. `clientSecret` is included, as the reference documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound = "")]
pub struct App<F: AppForm = Shown> {
    /// Public identifier, 8 base62 characters.
    pub client_id: ClientId,
    /// `sh_app_` + 64 hex.
    pub client_secret: F::ClientSecret,
    /// Display name, 1 to 100 characters.
    pub name: String,
    /// The app's brand logo, a base64 `data:` URL of a PNG or SVG image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Allowed OAuth redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Provider id to its state; a new app has `passport` enabled.
    pub providers: BTreeMap<String, ProviderState>,
    /// The workflow used when a session names none.
    pub default_workflow_id: WorkflowId,
    /// The app's workflows; a new app has one, `Default`.
    pub workflows: F::Workflows,
    /// Webhook settings.
    pub webhook_config: WebhookConfig<F>,
    /// Where to send the user after success when a session gives no redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_success_redirect_uri: Option<String>,
    /// Where to send the user after failure or cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_failure_redirect_uri: Option<String>,
    /// The workspace the app belongs to.
    pub organization_id: WorkspaceId,
    /// When the app was created.
    pub created_at: Timestamp,
    /// When the app last changed.
    pub updated_at: Timestamp,
}

/// The webhook configuration of an app, and the answer of its own routes.
///
/// A new app has exactly `{ enabled: false, retryAttempts: 3, timeoutSeconds: 10,
/// events: [] }`. `secret` appears only once a signing secret exists; the API shows it as
/// a preview (`whsec_****abc1`), except in the answer of the rotation that creates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound = "")]
pub struct WebhookConfig<F: AppForm = Shown> {
    /// The endpoint that receives events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether events are sent.
    pub enabled: bool,
    /// Delivery attempts after the first failure, 0 to 10.
    pub retry_attempts: u8,
    /// Seconds per attempt, 1 to 30.
    pub timeout_seconds: u8,
    /// Subscribed event names.
    pub events: Vec<String>,
    /// The signing secret, once one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<F::WebhookSecret>,
}

/// How [`App::to_form`] writes the parts that differ between form `F` and form `G`.
pub trait FormChange<F: AppForm, G: AppForm> {
    /// Why a part could not be converted (a sealed secret that does not open, say).
    type Error;
    /// The client secret of `app` in form `G`.
    fn client_secret(&mut self, app: &App<F>) -> Result<G::ClientSecret, Self::Error>;
    /// The workflows of `app` in form `G`.
    fn workflows(&mut self, app: &App<F>) -> Result<G::Workflows, Self::Error>;
    /// The webhook signing secret of `app` in form `G`, if it has one.
    fn webhook_secret(&mut self, app: &App<F>) -> Result<Option<G::WebhookSecret>, Self::Error>;
}

impl<F: AppForm> App<F> {
    /// This app in form `G`: the parts that differ written by `change`, every other field
    /// copied. With the struct above, the one place that lists the App's fields.
    pub fn to_form<G: AppForm, C: FormChange<F, G>>(
        &self,
        change: &mut C,
    ) -> Result<App<G>, C::Error> {
        Ok(App {
            client_id: self.client_id,
            client_secret: change.client_secret(self)?,
            name: self.name.clone(),
            logo: self.logo.clone(),
            redirect_uris: self.redirect_uris.clone(),
            providers: self.providers.clone(),
            default_workflow_id: self.default_workflow_id,
            workflows: change.workflows(self)?,
            webhook_config: self
                .webhook_config
                .with_secret(change.webhook_secret(self)?),
            default_success_redirect_uri: self.default_success_redirect_uri.clone(),
            default_failure_redirect_uri: self.default_failure_redirect_uri.clone(),
            organization_id: self.organization_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl<F: AppForm> WebhookConfig<F> {
    /// The same settings with `secret`, in form `G`.
    pub fn with_secret<G: AppForm>(&self, secret: Option<G::WebhookSecret>) -> WebhookConfig<G> {
        WebhookConfig {
            url: self.url.clone(),
            enabled: self.enabled,
            retry_attempts: self.retry_attempts,
            timeout_seconds: self.timeout_seconds,
            events: self.events.clone(),
            secret,
        }
    }
}

/// A provider's state on an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderState {
    /// Whether the provider is offered.
    pub enabled: bool,
    /// Provider-specific settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// A verification workflow: a graph of nodes from `entryNodeId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// `wf_` + 8 hex.
    pub workflow_id: WorkflowId,
    /// Display name.
    pub name: String,
    /// The first node.
    pub entry_node_id: NodeId,
    /// The nodes.
    pub nodes: Vec<WorkflowNode>,
    /// When the workflow was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowNode {
    /// `nd_` + 8 hex.
    pub id: NodeId,
    /// What the node does.
    #[serde(rename = "type")]
    pub kind: NodeKind,
    /// The node that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NodeId>,
    /// Type-specific settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<NodeConfig>,
}

/// A node's settings: the verification settings this API writes, typed, or any other
/// JSON object as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeConfig {
    /// The settings of a `verification` node.
    Verification(VerificationConfig),
    /// Settings of another shape.
    Other(Value),
}

/// The settings of a `verification` node: `{ channel, claims, mode }`. The text fields
/// borrow static strings when the server writes them, so a new app's workflow allocates
/// almost nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// How the verification result is delivered (`oidc`).
    pub channel: Cow<'static, str>,
    /// The claims asked for.
    pub claims: Vec<Cow<'static, str>>,
    /// What the result holds (`pii`).
    pub mode: Cow<'static, str>,
}

/// The node types the reference documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// Where a verification session starts.
    Request,
    /// Where it ends, answering the relying party.
    Response,
    /// Verifies the user with a provider.
    Verification,
    /// Requires a minimum level of assurance.
    CheckMinLoa,
    /// Requires a claim.
    CheckClaim,
    /// Evaluates a condition.
    Evaluate,
    /// Branches.
    If,
}

/// `DELETE /apps/{clientId}` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedApp {
    /// The app that was deleted.
    pub client_id: ClientId,
    /// Always `true`.
    pub deleted: bool,
}

/// `POST /apps/{clientId}/rotate-client-secret` (201). The old secret stopped working
/// when this was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedClientSecret {
    /// The new client secret.
    pub client_secret: ClientSecret,
}

/// `POST /apps/{clientId}/webhook-config/rotate-secret` (200): the only answer that
/// shows the signing secret in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedWebhookSecret {
    /// The new signing secret, `whsec_` + 64 hex.
    pub secret: WebhookSecret,
}

/// `GET` and `PUT /apps/{clientId}/redirect-uris` (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUrisResponse {
    /// The app's redirect URIs.
    pub redirect_uris: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed_example() -> Value {
        json!({
            "clientId": "HqTRDIYH", "clientSecret": format!("sh_app_{}", "a3".repeat(32)),
            "name": "My App", "redirectUris": ["https://app.example.com/callback"],
            "providers": { "passport": { "enabled": true },
                           "smartid": { "enabled": true, "config": { "rpName": "Example" } } },
            "defaultWorkflowId": "wf_6ec9b183",
            "workflows": [ { "workflowId": "wf_6ec9b183", "name": "Default", "entryNodeId": "nd_231bba48",
                "nodes": [ { "id": "nd_231bba48", "type": "request", "next": "nd_8fa2291e" },
                           { "id": "nd_8fa2291e", "type": "verification", "next": "nd_9ea348df",
                             "config": { "channel": "oidc", "claims": ["name", "given_name", "family_name", "birthdate"], "mode": "pii" } },
                           { "id": "nd_9ea348df", "type": "response" } ],
                "createdAt": "2026-03-27T08:22:51.272Z", "updatedAt": "2026-03-27T08:22:51.272Z" } ],
            "organizationId": "org_3C4Ysr9QkNkdbAZR5AD0uoLpgWl",
            "webhookConfig": { "enabled": false, "retryAttempts": 3, "timeoutSeconds": 10, "events": [],
                               "secret": "whsec_****abc1" },
            "createdAt": "2026-03-27T08:22:51.272Z", "updatedAt": "2026-03-27T08:22:51.272Z"
        })
    }

    #[test]
    fn the_reference_example_reads_and_writes_back_the_same() {
        let app: App = serde_json::from_value(seed_example()).unwrap();
        assert_eq!(app.client_id.as_str(), "HqTRDIYH");
        assert_eq!(app.workflows[0].nodes[1].kind, NodeKind::Verification);
        assert_eq!(app.webhook_config.secret.as_deref(), Some("whsec_****abc1"));
        assert_eq!(app.logo, None);
        assert_eq!(serde_json::to_value(&app).unwrap(), seed_example());
    }

    /// A form change that copies everything: converting `Shown` to itself.
    struct Same;

    impl FormChange<Shown, Shown> for Same {
        type Error = ();
        fn client_secret(&mut self, app: &App) -> Result<ClientSecret, ()> {
            Ok(app.client_secret.clone())
        }
        fn workflows(&mut self, app: &App) -> Result<Vec<Workflow>, ()> {
            Ok(app.workflows.clone())
        }
        fn webhook_secret(&mut self, app: &App) -> Result<Option<String>, ()> {
            Ok(app.webhook_config.secret.clone())
        }
    }

    #[test]
    fn to_form_copies_every_field() {
        let mut app: App = serde_json::from_value(seed_example()).unwrap();
        app.logo = Some("data:image/png;base64,AAAA".into());
        app.default_failure_redirect_uri = Some("https://app.example.com/ko".into());
        assert_eq!(app.to_form(&mut Same), Ok(app));
    }
}
