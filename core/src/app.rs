//! The App object: what the API shows, what it stores, and how a new one is minted.

use crate::entropy::Entropy;
use crate::error::FieldError;
use crate::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
use crate::input::Path;
use crate::name::AppName;
use crate::redirect_uri::RedirectUri;
use crate::redirect_uri::RedirectUris;
use crate::request::{UpdateAppRequest, WebhookConfigInput};
use crate::secrets::{ClientSecret, WebhookSecret};
use crate::time::Timestamp;
use crate::webhook::{WebhookConfig, WebhookSettings};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
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
    /// Webhook settings.
    pub webhook_config: WebhookConfig,
    /// Where to send the user after success when a session gives no redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_success_redirect_uri: Option<String>,
    /// Where to send the user after failure or cancellation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_failure_redirect_uri: Option<String>,
    // The fields from `name` to here are, in this order, the stored doc (see
    // `stored::DocView`): an App's JSON can then be spliced from a row without parsing it.
    /// The workspace the app belongs to.
    pub organization_id: WorkspaceId,
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
/// borrow static strings when minted, so a new app's default workflow allocates almost
/// nothing.
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
        self.clone().into_app()
    }

    /// The App object the API shows for this record, without copying it.
    pub fn into_app(self) -> App {
        let d = self.doc;
        App {
            client_id: self.client_id,
            client_secret: self.client_secret,
            name: d.name,
            redirect_uris: d.redirect_uris,
            providers: d.providers,
            default_workflow_id: d.default_workflow_id,
            workflows: d.workflows,
            organization_id: self.organization_id,
            webhook_config: WebhookConfig {
                secret: self.webhook_secret.as_ref().map(WebhookSecret::preview),
                ..d.webhook_config
            },
            default_success_redirect_uri: d.default_success_redirect_uri,
            default_failure_redirect_uri: d.default_failure_redirect_uri,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl AppRecord {
    /// The time of a change made at `now`: never earlier than, nor equal to, the last
    /// one, so `updatedAt` visibly moves even for two changes in the same millisecond.
    pub fn change_time(&self, now: Timestamp) -> Timestamp {
        now.max(self.updated_at.plus_millis(1))
    }

    /// The record after `PATCH /apps/{clientId}`: `name` replaced, `redirectUris`
    /// replaced, `webhookConfig` merged, the default redirect URIs set or (with `null`)
    /// removed. `None` if the patch changes nothing, so nothing needs writing.
    pub fn patched(
        &self,
        patch: &UpdateAppRequest,
        now: Timestamp,
    ) -> Result<Option<Self>, FieldError> {
        let mut doc = self.doc.clone();
        if let Some(name) = &patch.name {
            doc.name = AppName::parse(name, "name")?.into_string();
        }
        if let Some(uris) = &patch.redirect_uris {
            doc.redirect_uris = RedirectUris::parse(uris, "redirectUris")?.to_strings();
        }
        if let Some(input) = &patch.webhook_config {
            doc.webhook_config = self
                .webhook_settings()?
                .merge(input, "webhookConfig")?
                .to_config(None);
        }
        let default_uri = |value: &Option<Option<String>>,
                           current: &Option<String>,
                           parameter: &str| match value {
            None => Ok(current.clone()),
            Some(None) => Ok(None),
            Some(Some(uri)) => {
                RedirectUri::parse(uri, parameter).map(|u| Some(u.as_str().to_owned()))
            }
        };
        doc.default_success_redirect_uri = default_uri(
            &patch.default_success_redirect_uri,
            &doc.default_success_redirect_uri,
            "defaultSuccessRedirectUri",
        )?;
        doc.default_failure_redirect_uri = default_uri(
            &patch.default_failure_redirect_uri,
            &doc.default_failure_redirect_uri,
            "defaultFailureRedirectUri",
        )?;
        Ok(self.with_doc(doc, now))
    }

    /// The record after `PUT /apps/{clientId}/redirect-uris`; `None` if unchanged.
    pub fn with_redirect_uris(
        &self,
        uris: &[String],
        now: Timestamp,
    ) -> Result<Option<Self>, FieldError> {
        let doc = AppDoc {
            redirect_uris: RedirectUris::parse(uris, "redirectUris")?.to_strings(),
            ..self.doc.clone()
        };
        Ok(self.with_doc(doc, now))
    }

    /// The record after `PATCH /apps/{clientId}/webhook-config` (a merge); `None` if
    /// unchanged.
    pub fn with_webhook(
        &self,
        input: &WebhookConfigInput,
        now: Timestamp,
    ) -> Result<Option<Self>, FieldError> {
        let webhook_config = self.webhook_settings()?.merge(input, "")?.to_config(None);
        Ok(self.with_doc(
            AppDoc {
                webhook_config,
                ..self.doc.clone()
            },
            now,
        ))
    }

    /// The record with a new client secret.
    pub fn with_client_secret(&self, secret: ClientSecret, now: Timestamp) -> Self {
        Self {
            client_secret: secret,
            updated_at: self.change_time(now),
            ..self.clone()
        }
    }

    /// The record with a new webhook signing secret.
    pub fn with_webhook_secret(&self, secret: WebhookSecret, now: Timestamp) -> Self {
        Self {
            webhook_secret: Some(secret),
            updated_at: self.change_time(now),
            ..self.clone()
        }
    }

    /// The webhook config as shown by its own route, secret as a preview.
    pub fn webhook_config(&self) -> WebhookConfig {
        self.to_app().webhook_config
    }

    fn webhook_settings(&self) -> Result<WebhookSettings, FieldError> {
        // Only this crate writes the stored config, through the same rules; a stored
        // config that breaks them is a bug, reported on the config as a whole.
        WebhookSettings::from_config(&self.doc.webhook_config).ok_or_else(|| {
            FieldError::invalid(
                "webhookConfig",
                "is stored in a form this version cannot read",
            )
        })
    }

    fn with_doc(&self, doc: AppDoc, now: Timestamp) -> Option<Self> {
        (doc != self.doc).then(|| Self {
            doc,
            updated_at: self.change_time(now),
            ..self.clone()
        })
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
    pub fn validate<'p>(
        name: &str,
        redirect_uris: Option<&[String]>,
        webhook: Option<&WebhookConfigInput>,
        path: impl Into<Path<'p>>,
    ) -> Result<Self, FieldError> {
        let path = path.into();
        Ok(Self {
            name: AppName::parse(name, path.field("name"))?,
            redirect_uris: RedirectUris::parse(
                redirect_uris.unwrap_or_default(),
                path.field("redirectUris"),
            )?,
            webhook: match webhook {
                None => WebhookSettings::default(),
                Some(w) => WebhookSettings::default().merge(w, path.field("webhookConfig"))?,
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
                default_workflow_id: workflow.workflow_id,
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
    let nodes: [NodeId; 3] = ids.try_into().unwrap_or_else(|_| unreachable!());
    default_workflow_with(WorkflowId::generate(entropy), nodes, now)
}

/// The `Default` workflow with these ids (`nodes`: request, verification, response),
/// created at `at`. Everything but its ids and time is the same in every app, which is
/// why the store keeps only those (`stored`).
pub(crate) fn default_workflow_with(
    workflow_id: WorkflowId,
    [request, verification, response]: [NodeId; 3],
    at: Timestamp,
) -> Workflow {
    Workflow {
        workflow_id,
        name: "Default".to_owned(),
        entry_node_id: request,
        nodes: vec![
            WorkflowNode {
                id: request,
                kind: NodeKind::Request,
                next: Some(verification),
                config: None,
            },
            WorkflowNode {
                id: verification,
                kind: NodeKind::Verification,
                next: Some(response),
                config: Some(NodeConfig::Verification(VerificationConfig {
                    channel: Cow::Borrowed("oidc"),
                    claims: ["name", "given_name", "family_name", "birthdate"]
                        .map(Cow::Borrowed)
                        .to_vec(),
                    mode: Cow::Borrowed("pii"),
                })),
            },
            WorkflowNode {
                id: response,
                kind: NodeKind::Response,
                next: None,
                config: None,
            },
        ],
        created_at: at,
        updated_at: at,
    }
}

/// Appends the JSON of [`default_workflow_with`]`(workflow_id, nodes, at)`, byte for byte
/// what serde writes for it, from a template: splicing a stored app into a response then
/// needs no serializer (`at` is the ISO form of the time, as `Timestamp` writes it).
pub(crate) fn push_default_workflow_json(
    out: &mut String,
    workflow_id: &WorkflowId,
    [request, verification, response]: &[NodeId; 3],
    at: &str,
) {
    for part in [
        "{\"workflowId\":\"",
        workflow_id.as_str(),
        "\",\"name\":\"Default\",\"entryNodeId\":\"",
        request.as_str(),
        "\",\"nodes\":[{\"id\":\"",
        request.as_str(),
        "\",\"type\":\"request\",\"next\":\"",
        verification.as_str(),
        "\"},{\"id\":\"",
        verification.as_str(),
        "\",\"type\":\"verification\",\"next\":\"",
        response.as_str(),
        "\",\"config\":{\"channel\":\"oidc\",\"claims\":[\"name\",\"given_name\",\"family_name\",\"birthdate\"],\"mode\":\"pii\"}},{\"id\":\"",
        response.as_str(),
        "\",\"type\":\"response\"}],\"createdAt\":\"",
        at,
        "\",\"updatedAt\":\"",
        at,
        "\"}",
    ] {
        out.push_str(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use serde_json::json;

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

    fn record() -> AppRecord {
        let ws = WorkspaceId::parse("org_patch").unwrap();
        NewApp::validate("Before", None, None, "").unwrap().mint(
            &ws,
            Timestamp::from_millis(1_000),
            &mut SeededEntropy::new(3),
        )
    }

    #[test]
    fn a_patch_replaces_merges_and_moves_updated_at() {
        let r = record();
        let patch: UpdateAppRequest = serde_json::from_value(json!({
            "name": " After ",
            "redirectUris": ["https://A.example/cb", "https://a.example/cb"],
            "webhookConfig": { "url": "https://hooks.example/h", "enabled": true },
            "defaultSuccessRedirectUri": "https://a.example/ok"
        }))
        .unwrap();
        let next = r
            .patched(&patch, Timestamp::from_millis(1_000))
            .unwrap()
            .unwrap();
        assert_eq!(next.doc.name, "After");
        assert_eq!(next.doc.redirect_uris, ["https://a.example/cb"]);
        assert!(next.doc.webhook_config.enabled);
        assert_eq!(next.doc.webhook_config.retry_attempts, 3);
        assert_eq!(
            next.doc.default_success_redirect_uri.as_deref(),
            Some("https://a.example/ok")
        );
        assert_eq!(
            next.updated_at,
            Timestamp::from_millis(1_001),
            "moves even within the same millisecond"
        );
        assert_eq!(next.created_at, r.created_at);
        assert_eq!(next.client_secret, r.client_secret);
        let clear: UpdateAppRequest =
            serde_json::from_value(json!({ "defaultSuccessRedirectUri": null })).unwrap();
        let cleared = next
            .patched(&clear, Timestamp::from_millis(5_000))
            .unwrap()
            .unwrap();
        assert_eq!(cleared.doc.default_success_redirect_uri, None);
    }

    #[test]
    fn a_patch_that_changes_nothing_writes_nothing_and_a_bad_one_names_its_field() {
        let r = record();
        let same: UpdateAppRequest = serde_json::from_value(json!({ "name": "Before" })).unwrap();
        assert_eq!(
            r.patched(&same, Timestamp::from_millis(9_000)).unwrap(),
            None
        );
        for (body, parameter) in [
            (json!({ "name": "" }), "name"),
            (
                json!({ "redirectUris": ["http://x.example/"] }),
                "redirectUris[0]",
            ),
            (
                json!({ "webhookConfig": { "enabled": true } }),
                "webhookConfig.url",
            ),
            (
                json!({ "defaultFailureRedirectUri": "ftp://x" }),
                "defaultFailureRedirectUri",
            ),
        ] {
            let patch: UpdateAppRequest = serde_json::from_value(body).unwrap();
            assert_eq!(
                r.patched(&patch, Timestamp::from_millis(9_000))
                    .unwrap_err()
                    .parameter,
                parameter
            );
        }
    }

    #[test]
    fn webhook_route_merges_with_bare_parameter_names() {
        let r = record();
        let e = r
            .with_webhook(
                &WebhookConfigInput {
                    retry_attempts: Some(99),
                    ..Default::default()
                },
                Timestamp::from_millis(2),
            )
            .unwrap_err();
        assert_eq!(e.parameter, "retryAttempts");
        let secret = WebhookSecret::generate(&mut SeededEntropy::new(4));
        let with = r.with_webhook_secret(secret.clone(), Timestamp::from_millis(2));
        assert_eq!(with.webhook_config().secret, Some(secret.preview()));
        assert!(!serde_json::to_string(&with.to_app())
            .unwrap()
            .contains(secret.expose()));
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

/// `POST /apps/{clientId}/webhook-config/rotate-secret` (200): the only response that
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
