//! The App object: what the API shows, what it stores, and how a new one is minted.

use crate::entropy::Entropy;
use crate::error::FieldError;
use crate::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
use crate::input::field_path;
use crate::name::AppName;
use crate::redirect_uri::RedirectUris;
use crate::request::WebhookConfigInput;
use crate::secrets::{ClientSecret, WebhookSecret};
use crate::time::Timestamp;
use crate::webhook::{WebhookConfig, WebhookSettings};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// An app, as every route returns it. `clientSecret` is included, as the reference
/// documents; it is stored only sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// Public identifier, 8 base62 characters.
    pub client_id: ClientId,
    /// `sh_app_` + 64 hex.
    pub client_secret: ClientSecret,
    /// Display name.
    pub name: String,
    /// Allowed OAuth redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Provider id to its state; a new app has `passport` enabled.
    pub providers: BTreeMap<String, ProviderState>,
    /// The workflow used when a session names none.
    pub default_workflow_id: WorkflowId,
    /// The app's workflows; a new app has one, `Default`.
    pub workflows: Vec<Workflow>,
    /// The workspace the app belongs to.
    pub organization_id: WorkspaceId,
    /// Webhook settings.
    pub webhook_config: WebhookConfig,
    /// Where to send the user after success when a session gives no redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_success_redirect_uri: Option<String>,
    /// Where to send the user after failure or cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_failure_redirect_uri: Option<String>,
    /// When the app was created.
    pub created_at: Timestamp,
    /// When the app last changed.
    pub updated_at: Timestamp,
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
    /// `request`, `verification`, `response`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The node that follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<NodeId>,
    /// Type-specific settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

/// What is stored of an app besides its id, workspace, timestamps and secrets (which are
/// columns of their own, the secrets sealed): the rest of the App object, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDoc {
    /// Display name.
    pub name: String,
    /// Allowed OAuth redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Providers.
    pub providers: BTreeMap<String, ProviderState>,
    /// Default workflow.
    pub default_workflow_id: WorkflowId,
    /// Workflows.
    pub workflows: Vec<Workflow>,
    /// Webhook settings, never with a secret.
    pub webhook_config: WebhookConfig,
    /// Default success redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_success_redirect_uri: Option<String>,
    /// Default failure redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_failure_redirect_uri: Option<String>,
}

/// An app with everything needed to store it or show it, secrets in plain text (in memory
/// only: the store seals them).
#[derive(Debug, Clone, PartialEq)]
pub struct AppRecord {
    /// Public identifier.
    pub client_id: ClientId,
    /// Owning workspace.
    pub organization_id: WorkspaceId,
    /// The client secret.
    pub client_secret: ClientSecret,
    /// The webhook signing secret, once one was created.
    pub webhook_secret: Option<WebhookSecret>,
    /// The rest.
    pub doc: AppDoc,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl AppRecord {
    /// The App object the API shows for this record.
    pub fn to_app(&self) -> App {
        let d = &self.doc;
        App {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            name: d.name.clone(),
            redirect_uris: d.redirect_uris.clone(),
            providers: d.providers.clone(),
            default_workflow_id: d.default_workflow_id.clone(),
            workflows: d.workflows.clone(),
            organization_id: self.organization_id.clone(),
            webhook_config: WebhookConfig {
                secret: self.webhook_secret.as_ref().map(WebhookSecret::preview),
                ..d.webhook_config.clone()
            },
            default_success_redirect_uri: d.default_success_redirect_uri.clone(),
            default_failure_redirect_uri: d.default_failure_redirect_uri.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// A validated request for a new app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApp {
    name: AppName,
    redirect_uris: RedirectUris,
    webhook: WebhookSettings,
}

impl NewApp {
    /// Validates the fields of a create or a batch item. `path` is where the item sits in
    /// the body (`""` for `POST /apps`, `items[3]` in a batch).
    pub fn validate(
        name: &str,
        redirect_uris: Option<&[String]>,
        webhook: Option<&WebhookConfigInput>,
        path: &str,
    ) -> Result<Self, FieldError> {
        Ok(Self {
            name: AppName::parse(name, &field_path(path, "name"))?,
            redirect_uris: RedirectUris::parse(
                redirect_uris.unwrap_or_default(),
                &field_path(path, "redirectUris"),
            )?,
            webhook: match webhook {
                None => WebhookSettings::default(),
                Some(w) => {
                    WebhookSettings::default().merge(w, &field_path(path, "webhookConfig"))?
                }
            },
        })
    }

    /// Mints the app: a fresh client id and secret, the default provider and workflow.
    pub fn mint(
        &self,
        workspace: &WorkspaceId,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> AppRecord {
        let workflow = default_workflow(now, entropy);
        AppRecord {
            client_id: ClientId::generate(entropy),
            organization_id: workspace.clone(),
            client_secret: ClientSecret::generate(entropy),
            webhook_secret: None,
            doc: AppDoc {
                name: self.name.as_str().to_owned(),
                redirect_uris: self.redirect_uris.to_strings(),
                providers: BTreeMap::from([(
                    "passport".to_owned(),
                    ProviderState {
                        enabled: true,
                        config: None,
                    },
                )]),
                default_workflow_id: workflow.workflow_id.clone(),
                workflows: vec![workflow],
                webhook_config: self.webhook.to_config(None),
                default_success_redirect_uri: None,
                default_failure_redirect_uri: None,
            },
            created_at: now,
            updated_at: now,
        }
    }
}

/// `Default`: `request` -> `verification` (OIDC, the four PII claims) -> `response`.
fn default_workflow(now: Timestamp, entropy: &mut dyn Entropy) -> Workflow {
    let mut ids: Vec<NodeId> = Vec::with_capacity(3);
    while ids.len() < 3 {
        let id = NodeId::generate(entropy);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let [request, verification, response]: [NodeId; 3] =
        ids.try_into().unwrap_or_else(|_| unreachable!());
    Workflow {
        workflow_id: WorkflowId::generate(entropy),
        name: "Default".to_owned(),
        entry_node_id: request.clone(),
        nodes: vec![
            WorkflowNode {
                id: request,
                kind: "request".into(),
                next: Some(verification.clone()),
                config: None,
            },
            WorkflowNode {
                id: verification,
                kind: "verification".into(),
                next: Some(response.clone()),
                config: Some(json!({
                    "channel": "oidc",
                    "claims": ["name", "given_name", "family_name", "birthdate"],
                    "mode": "pii"
                })),
            },
            WorkflowNode {
                id: response,
                kind: "response".into(),
                next: None,
                config: None,
            },
        ],
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    #[test]
    fn a_new_app_has_the_contract_defaults() {
        let mut e = SeededEntropy::new(11);
        let ws = WorkspaceId::parse("org_test").unwrap();
        let now = Timestamp::from_millis(1_774_599_771_272);
        let app = NewApp::validate(" Acme Corp ", None, None, "")
            .unwrap()
            .mint(&ws, now, &mut e)
            .to_app();
        let v = serde_json::to_value(&app).unwrap();
        assert_eq!(v["name"], "Acme Corp");
        assert_eq!(v["redirectUris"], json!([]));
        assert_eq!(v["providers"], json!({ "passport": { "enabled": true } }));
        assert_eq!(v["organizationId"], "org_test");
        assert_eq!(
            v["webhookConfig"],
            json!({ "enabled": false, "retryAttempts": 3, "timeoutSeconds": 10, "events": [] })
        );
        assert_eq!(v["createdAt"], "2026-03-27T08:22:51.272Z");
        let wf = &v["workflows"][0];
        assert_eq!(wf["name"], "Default");
        assert_eq!(wf["workflowId"], v["defaultWorkflowId"]);
        let nodes = wf["nodes"].as_array().unwrap();
        assert_eq!(
            nodes
                .iter()
                .map(|n| n["type"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["request", "verification", "response"]
        );
        assert_eq!(wf["entryNodeId"], nodes[0]["id"]);
        assert_eq!(nodes[0]["next"], nodes[1]["id"]);
        assert_eq!(nodes[1]["next"], nodes[2]["id"]);
        assert!(nodes[2].get("next").is_none());
        assert_eq!(
            nodes[1]["config"]["claims"],
            json!(["name", "given_name", "family_name", "birthdate"])
        );
        assert!(v.get("defaultSuccessRedirectUri").is_none());
        let back: App = serde_json::from_value(v).unwrap();
        assert_eq!(back, app);
    }

    #[test]
    fn validation_names_fields_under_the_item_path() {
        let e = NewApp::validate("", None, None, "items[7]").unwrap_err();
        assert_eq!(e.parameter, "items[7].name");
        let uris = vec!["ftp://x".to_string()];
        let e = NewApp::validate("a", Some(&uris), None, "").unwrap_err();
        assert_eq!(e.parameter, "redirectUris[0]");
    }
}
