//! An app as the server holds it, how a new one is minted, and how each route changes it.
//!
//! The server holds an app as an [`App<Held>`]: the fields of the App object, the client
//! and webhook secrets in plain text (in memory only: the store seals them, see
//! [`crate::server::row`]), and the workflows as the node ids of the one `Default`
//! workflow every app has. The API offers no way to add or change a workflow, so the rest
//! of that workflow is the same in every app, and its time is the app's creation time;
//! [`App::show`] writes it out in full.
//!
//! What a request asks is judged first, without the stored app, by the rules
//! ([`crate::rules::app`]: [`NewApp`], [`AppPatch`], [`RedirectUris::validate`],
//! [`WebhookPatch`]); this module mints the app or applies the judged change to the stored
//! one, with the one rule that needs it (enabled webhooks need a URL, maybe the stored
//! one).

use crate::rules::app::{AppPatch, NewApp};
use crate::rules::random::Entropy;
use crate::rules::redirect_uri::{RedirectUri, RedirectUris};
use crate::rules::webhook::{WebhookPatch, WebhookSettings};
use crate::server::shards::ClientIdClass;
use crate::wire::app::{
    App, AppForm, FormChange, NodeConfig, NodeKind, ProviderState, Shown, VerificationConfig,
    WebhookConfig, Workflow, WorkflowNode,
};
use crate::wire::error::FieldError;
use crate::wire::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
use crate::wire::secrets::{ClientSecret, WebhookSecret};
use crate::wire::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The form in which the server holds an app in memory: secrets in plain text (or kept
/// sealed when they could not be opened), the workflows as the node ids of the `Default`
/// workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {}

impl AppForm for Held {
    type ClientSecret = Kept<ClientSecret>;
    type Workflows = DefaultWorkflowNodes;
    type WebhookSecret = Kept<WebhookSecret>;
}

/// A secret as the server holds it: opened, or kept as it was stored because it could not
/// be opened (its key is gone from the key ring, or the value was tampered with). A kept
/// secret is written back unchanged; an answer that must show it cannot be given
/// ([`NotOpened`]), and only a rotation, which replaces it, repairs the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kept<S> {
    /// The secret in plain text.
    Open(S),
    /// The secret as stored, unopened.
    Sealed(SealedText),
}

/// A stored secret's sealed text, and the id of the key it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedText {
    /// The sealed value, as stored.
    pub text: String,
    /// The key it names (empty when the text has no key id).
    pub key_id: String,
}

impl<S> Kept<S> {
    /// The secret, if it was opened.
    pub fn open(&self) -> Option<&S> {
        match self {
            Kept::Open(secret) => Some(secret),
            Kept::Sealed(_) => None,
        }
    }
}

/// An answer that must show a secret that could not be opened: which app, and the key its
/// sealed value names (for the log; never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOpened {
    /// The app.
    pub client_id: ClientId,
    /// The key the secret's sealed value names.
    pub key_id: String,
}

impl std::fmt::Display for NotOpened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the client secret of app {} (sealed under key {:?}) could not be opened",
            self.client_id, self.key_id
        )
    }
}

impl std::error::Error for NotOpened {}

/// The node ids of an app's `Default` workflow: request, verification, response. Written
/// as a JSON array of the three ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultWorkflowNodes(pub [NodeId; 3]);

impl DefaultWorkflowNodes {
    /// Three distinct fresh node ids.
    fn generate(entropy: &mut dyn Entropy) -> Self {
        let mut ids: Vec<NodeId> = Vec::with_capacity(3);
        while ids.len() < 3 {
            let id = NodeId::generate(entropy);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Self([ids[0], ids[1], ids[2]])
    }

    /// `Default`: `request` -> `verification` (OIDC, the four PII claims) -> `response`,
    /// with id `workflow_id`, created at `at`.
    pub fn workflow(&self, workflow_id: WorkflowId, at: Timestamp) -> Workflow {
        let [request, verification, response] = self.0;
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
}

/// [`Held`] to [`Shown`]: the workflow written out, the webhook secret as a preview.
struct Show;

impl FormChange<Held, Shown> for Show {
    type Error = NotOpened;

    fn client_secret(&mut self, app: &App<Held>) -> Result<ClientSecret, NotOpened> {
        match &app.client_secret {
            Kept::Open(secret) => Ok(secret.clone()),
            Kept::Sealed(sealed) => Err(NotOpened {
                client_id: app.client_id,
                key_id: sealed.key_id.clone(),
            }),
        }
    }

    fn workflows(&mut self, app: &App<Held>) -> Result<Vec<Workflow>, NotOpened> {
        Ok(vec![app
            .workflows
            .workflow(app.default_workflow_id, app.created_at)])
    }

    fn webhook_secret(&mut self, app: &App<Held>) -> Result<Option<String>, NotOpened> {
        Ok(webhook_preview(app))
    }
}

/// What the API shows of an app's webhook signing secret: a preview, if there is one and
/// it could be opened.
fn webhook_preview(app: &App<Held>) -> Option<String> {
    app.webhook_config
        .secret
        .as_ref()
        .and_then(Kept::open)
        .map(WebhookSecret::preview)
}

impl App<Held> {
    /// The App object the API shows for this app; [`NotOpened`] if its client secret could
    /// not be opened.
    pub fn show(&self) -> Result<App, NotOpened> {
        self.to_form(&mut Show)
    }

    /// The webhook config as its own route shows it, the secret as a preview (left out if
    /// it could not be opened).
    pub fn shown_webhook_config(&self) -> WebhookConfig {
        self.webhook_config.with_secret(webhook_preview(self))
    }

    /// The app after `PATCH /apps/{clientId}` with a judged `patch` ([`AppPatch`]):
    /// `name` and `logo` replaced (`logo: null` removes it), `redirectUris` replaced,
    /// `webhookConfig` merged, the default redirect URIs set or (with `null`) removed.
    /// `None` if the patch changes nothing, so nothing needs writing. Refused only if the
    /// merged webhook config would be enabled without a URL.
    pub fn patched(&self, patch: &AppPatch, now: Timestamp) -> Result<Option<Self>, FieldError> {
        let mut next = self.clone();
        if let Some(name) = &patch.name {
            next.name = name.as_str().to_owned();
        }
        if let Some(logo) = &patch.logo {
            next.logo = logo.as_ref().map(|l| l.as_str().to_owned());
        }
        if let Some(uris) = &patch.redirect_uris {
            next.redirect_uris = uris.to_strings();
        }
        if let Some(webhook) = &patch.webhook {
            next.webhook_config = self.merged_webhook_config(webhook)?;
        }
        for (value, field) in [
            (
                &patch.default_success_redirect_uri,
                &mut next.default_success_redirect_uri,
            ),
            (
                &patch.default_failure_redirect_uri,
                &mut next.default_failure_redirect_uri,
            ),
        ] {
            if let Some(uri) = value {
                *field = uri.as_ref().map(RedirectUri::to_string);
            }
        }
        Ok(self.changed_to(next, now))
    }

    /// The app after `PUT /apps/{clientId}/redirect-uris` with a judged list
    /// ([`RedirectUris::validate`]); `None` if unchanged.
    pub fn with_redirect_uris(&self, uris: &RedirectUris, now: Timestamp) -> Option<Self> {
        let mut next = self.clone();
        next.redirect_uris = uris.to_strings();
        self.changed_to(next, now)
    }

    /// The app after `PATCH /apps/{clientId}/webhook-config` with a judged merge
    /// ([`WebhookPatch::validate`], fields named bare: `retryAttempts`); `None` if
    /// unchanged. Refused if the config would be enabled without a URL.
    pub fn with_webhook(
        &self,
        patch: &WebhookPatch,
        now: Timestamp,
    ) -> Result<Option<Self>, FieldError> {
        let mut next = self.clone();
        next.webhook_config = self.merged_webhook_config(patch)?;
        Ok(self.changed_to(next, now))
    }

    /// The app with a new client secret (which also repairs an app whose secret could not
    /// be opened).
    pub fn with_client_secret(&self, secret: ClientSecret, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.client_secret = Kept::Open(secret);
        next.updated_at = self.change_time(now);
        next
    }

    /// The app with a new webhook signing secret.
    pub fn with_webhook_secret(&self, secret: WebhookSecret, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.webhook_config.secret = Some(Kept::Open(secret));
        next.updated_at = self.change_time(now);
        next
    }

    /// The time of a change made at `now`: never earlier than, nor equal to, the last
    /// one, so `updatedAt` visibly moves even for two changes in the same millisecond.
    fn change_time(&self, now: Timestamp) -> Timestamp {
        now.max(self.updated_at.plus_millis(1))
    }

    /// `next` with its change time, if it differs from this app.
    fn changed_to(&self, next: Self, now: Timestamp) -> Option<Self> {
        // Field by field, not `Self { updated_at, ..next }`: rustc 1.95 crashes on struct
        // update syntax over a generic struct's associated-type fields.
        (next != *self).then(|| {
            let mut next = next;
            next.updated_at = self.change_time(now);
            next
        })
    }

    /// The webhook config with `patch` applied, the signing secret kept.
    fn merged_webhook_config(
        &self,
        patch: &WebhookPatch,
    ) -> Result<WebhookConfig<Held>, FieldError> {
        // Only this crate writes an app's config, through the same rules; a config that
        // breaks them is a bug, reported on the config as a whole.
        let current = WebhookSettings::from_config(&self.webhook_config).ok_or_else(|| {
            FieldError::invalid(
                "webhookConfig",
                "is stored in a form this version cannot read",
            )
        })?;
        Ok(current
            .apply(patch)?
            .to_config(self.webhook_config.secret.clone()))
    }
}

impl NewApp {
    /// Mints the app: a fresh client id of `class` (the class of the workspace's shard)
    /// and a fresh secret, the default provider and workflow.
    pub fn mint(
        &self,
        workspace: &WorkspaceId,
        class: ClientIdClass,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> App<Held> {
        App {
            client_id: ClientId::generate(class, entropy),
            client_secret: Kept::Open(ClientSecret::generate(entropy)),
            name: self.name.as_str().to_owned(),
            logo: self.logo.as_ref().map(|l| l.as_str().to_owned()),
            redirect_uris: self.redirect_uris.to_strings(),
            providers: BTreeMap::from([(
                "passport".to_owned(),
                ProviderState {
                    enabled: true,
                    config: None,
                },
            )]),
            default_workflow_id: WorkflowId::generate(entropy),
            workflows: DefaultWorkflowNodes::generate(entropy),
            webhook_config: self.webhook.to_config(None),
            default_success_redirect_uri: None,
            default_failure_redirect_uri: None,
            organization_id: workspace.clone(),
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::input::{FromJson, Path};
    use crate::test_util::SeededEntropy;
    use crate::wire::request::{CreateAppRequest, UpdateAppRequest, WebhookConfigInput};
    use serde_json::json;

    fn create(body: serde_json::Value) -> CreateAppRequest {
        CreateAppRequest::from_json(&body, "").unwrap()
    }

    /// A PATCH body, judged.
    fn patch(body: serde_json::Value) -> AppPatch {
        let request = UpdateAppRequest::from_json(&body, "").unwrap();
        AppPatch::validate(&request).unwrap()
    }

    /// A webhook-config route body, judged.
    fn hook(input: WebhookConfigInput) -> WebhookPatch {
        WebhookPatch::validate(&input, "").unwrap()
    }

    fn minted(body: serde_json::Value, seed: u64) -> App<Held> {
        NewApp::validate(&create(body), Path::Root).unwrap().mint(
            &WorkspaceId::parse("org_test").unwrap(),
            ClientIdClass::FIRST,
            Timestamp::from_millis(1_774_599_771_272),
            &mut SeededEntropy::new(seed),
        )
    }

    #[test]
    fn a_new_app_has_the_contract_defaults() {
        let app = minted(json!({ "name": " Acme Corp " }), 11).show().unwrap();
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
        assert!(v.get("logo").is_none() && v.get("defaultSuccessRedirectUri").is_none());
        let wf = &v["workflows"][0];
        assert_eq!(wf["name"], "Default");
        assert_eq!(wf["workflowId"], v["defaultWorkflowId"]);
        assert_eq!(wf["createdAt"], v["createdAt"]);
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
            nodes[1]["config"],
            json!({ "channel": "oidc", "claims": ["name", "given_name", "family_name", "birthdate"], "mode": "pii" })
        );
        let back: App = serde_json::from_value(v).unwrap();
        assert_eq!(back, app);
    }

    #[test]
    fn a_patch_replaces_merges_and_moves_updated_at() {
        let app = minted(json!({ "name": "Before" }), 3);
        let patch = patch(json!({
            "name": " After ",
            "logo": "data:image/png;base64,iVBORw0KGgo=",
            "redirectUris": ["https://A.example/cb", "https://a.example/cb"],
            "webhookConfig": { "url": "https://hooks.example/h", "enabled": true },
            "defaultSuccessRedirectUri": "https://a.example/ok"
        }));
        let next = app.patched(&patch, app.created_at).unwrap().unwrap();
        assert_eq!(next.name, "After");
        assert_eq!(
            next.logo.as_deref(),
            Some("data:image/png;base64,iVBORw0KGgo=")
        );
        assert_eq!(next.redirect_uris, ["https://a.example/cb"]);
        assert!(next.webhook_config.enabled);
        assert_eq!(next.webhook_config.retry_attempts, 3);
        assert_eq!(
            next.default_success_redirect_uri.as_deref(),
            Some("https://a.example/ok")
        );
        assert_eq!(
            next.updated_at,
            app.created_at.plus_millis(1),
            "moves even within the same millisecond"
        );
        assert_eq!(next.created_at, app.created_at);
        assert_eq!(next.client_secret, app.client_secret);
        let clear = super::tests::patch(json!({ "defaultSuccessRedirectUri": null, "logo": null }));
        let cleared = next
            .patched(&clear, Timestamp::from_millis(1_800_000_000_000))
            .unwrap()
            .unwrap();
        assert_eq!(cleared.default_success_redirect_uri, None);
        assert_eq!(cleared.logo, None);
        assert_eq!(
            cleared.updated_at,
            Timestamp::from_millis(1_800_000_000_000)
        );
    }

    #[test]
    fn a_patch_that_changes_nothing_writes_nothing_and_enabling_needs_the_stored_url() {
        let app = minted(json!({ "name": "Before" }), 4);
        let later = Timestamp::from_millis(9_000);
        let same = patch(json!({ "name": "Before" }));
        assert_eq!(app.patched(&same, later).unwrap(), None);
        // Whether webhooks may be enabled depends on the URL the app holds.
        let enable = patch(json!({ "webhookConfig": { "enabled": true } }));
        let e = app.patched(&enable, later).unwrap_err();
        assert_eq!(
            (e.parameter.as_str(), e.message.as_str(), e.code()),
            (
                "webhookConfig.url",
                "webhookConfig.url is required when webhooks are enabled",
                crate::wire::error::ErrorCode::ValidationMissingParameter
            )
        );
        let with_url = app
            .patched(
                &patch(json!({ "webhookConfig": { "url": "https://h.example/" } })),
                later,
            )
            .unwrap()
            .unwrap();
        let enabled = with_url.patched(&enable, later).unwrap().unwrap();
        assert!(enabled.webhook_config.enabled);
        // Removing the URL of enabled webhooks is refused by the route's bare name.
        let e = enabled
            .with_webhook(
                &hook(WebhookConfigInput {
                    url: Some(None),
                    ..Default::default()
                }),
                later,
            )
            .unwrap_err();
        assert_eq!(e.parameter, "url");
        // A new list that is the same list changes nothing.
        let uris = RedirectUris::parse(&["https://a.example/cb".to_owned()], "redirectUris");
        let listed = app.with_redirect_uris(&uris.unwrap(), later).unwrap();
        let again = RedirectUris::parse(&["HTTPS://A.example/cb".to_owned()], "redirectUris");
        assert_eq!(listed.with_redirect_uris(&again.unwrap(), later), None);
    }

    #[test]
    fn the_webhook_route_merges_with_bare_names_and_keeps_the_secret_out_of_sight() {
        let app = minted(json!({ "name": "Hooks" }), 5);
        let e = WebhookPatch::validate(
            &WebhookConfigInput {
                retry_attempts: Some(99),
                ..Default::default()
            },
            "",
        )
        .unwrap_err();
        assert_eq!(e.parameter, "retryAttempts");
        let secret = WebhookSecret::generate(&mut SeededEntropy::new(4));
        let with = app.with_webhook_secret(secret.clone(), Timestamp::from_millis(2));
        assert_eq!(with.shown_webhook_config().secret, Some(secret.preview()));
        let merged = with
            .with_webhook(
                &hook(WebhookConfigInput {
                    timeout_seconds: Some(5),
                    ..Default::default()
                }),
                Timestamp::from_millis(3),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            merged.webhook_config.secret,
            Some(Kept::Open(secret.clone())),
            "a merge keeps it"
        );
        assert!(!serde_json::to_string(&merged.show().unwrap())
            .unwrap()
            .contains(secret.expose()));
    }
}
