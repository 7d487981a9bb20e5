//! How an app is stored: the row of the `apps` table, secrets sealed.
//!
//! The store moves rows; this module turns an [`AppRecord`] into a row and back, sealing
//! and opening the secrets, so no IO layer ever handles a plain-text secret on its way to
//! or from storage.

use crate::app::{
    default_workflow_with, push_default_workflow_json, App, AppDoc, AppRecord, ProviderState,
    Workflow,
};
use crate::entropy::Entropy;
use crate::ids::{ClientId, NodeId, WorkflowId, WorkspaceId};
use crate::sealed::{SealContext, SealError, SealingKey};
use crate::secrets::{ClientSecret, WebhookSecret};
use crate::time::Timestamp;
use crate::webhook::WebhookConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One row of `apps`, as read and written (column names are the table's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRow {
    /// Primary key.
    pub client_id: String,
    /// ISO-8601 creation time; with `client_id`, the list order.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    pub updated_at: String,
    /// The sealed client secret.
    pub client_secret: String,
    /// The sealed webhook signing secret, once one exists.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// [`AppDoc`] as JSON, the `Default` workflow of a new app kept as its ids (see
    /// [`AppRow::open`], which reads both forms).
    pub doc: String,
    /// Bumped by every update; an update applies only to the version it read, so two
    /// concurrent updates cannot silently overwrite each other. New rows start at 1.
    #[serde(default = "first_version")]
    pub version: i64,
}

fn first_version() -> i64 {
    1
}

/// A row that cannot be turned back into an app: a wrong key, tampering, or a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    /// A column is not of the expected form.
    Malformed(&'static str),
    /// A secret did not open.
    Seal(SealError),
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(column) => write!(f, "stored app: column {column} is malformed"),
            Self::Seal(e) => write!(f, "stored app: {e}"),
        }
    }
}

impl std::error::Error for RowError {}

/// The stored doc, borrowed from a record or from an App: one serialized layout
/// ([`AppDoc`]'s) for both, the webhook secret never part of it.
///
/// An app whose only workflow is the `Default` one it was created with, as every app made
/// through this API is, stores `defaultWorkflow: [workflowId, 3 node ids]` in place of
/// `defaultWorkflowId` and `workflows`: the rest of that workflow is the same in every app
/// and its time is the app's. The full form is about 480 bytes of a 680-byte doc, and every
/// byte of a batch's 100 docs is escaped, sent, parsed and written to pages by D1; keeping
/// the ids instead made a batch create about 10 % cheaper in the runtime (README).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocView<'a> {
    name: &'a str,
    redirect_uris: &'a [String],
    providers: &'a BTreeMap<String, ProviderState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_workflow_id: Option<&'a WorkflowId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflows: Option<&'a [Workflow]>,
    // Last before `webhookConfig`, where `AppRow::splice` looks for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    default_workflow: Option<DefaultWorkflowIds>,
    webhook_config: WebhookView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_success_redirect_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_failure_redirect_uri: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    enabled: bool,
    retry_attempts: u8,
    timeout_seconds: u8,
    events: &'a [String],
}

impl<'a> DocView<'a> {
    /// The workflow fields of the doc: the ids alone when `workflows` is just the
    /// `Default` workflow created with the app, at `created_at`.
    fn with_workflows(
        mut self,
        default_workflow_id: &'a WorkflowId,
        workflows: &'a [Workflow],
        created_at: Timestamp,
    ) -> Self {
        self.default_workflow = DefaultWorkflowIds::of(default_workflow_id, workflows, created_at);
        if self.default_workflow.is_none() {
            self.default_workflow_id = Some(default_workflow_id);
            self.workflows = Some(workflows);
        }
        self
    }
}

/// The stored form of an app's untouched `Default` workflow: its id and its three node
/// ids (request, verification, response), as a JSON array of four strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct DefaultWorkflowIds(WorkflowId, NodeId, NodeId, NodeId);

impl DefaultWorkflowIds {
    /// The ids, if `workflows` is exactly the `Default` workflow `default_workflow_id`
    /// names, created at `created_at` and never changed.
    fn of(
        default_workflow_id: &WorkflowId,
        workflows: &[Workflow],
        created_at: Timestamp,
    ) -> Option<Self> {
        let [workflow] = workflows else { return None };
        let [a, b, c] = workflow.nodes.as_slice() else {
            return None;
        };
        let ids = Self(workflow.workflow_id, a.id, b.id, c.id);
        (workflow.workflow_id == *default_workflow_id && *workflow == ids.workflow(created_at))
            .then_some(ids)
    }

    /// Reads the ids as [`DefaultWorkflowIds`] writes them (ids need no escapes): a
    /// splice of each app of a page or a batch reads them, and serde's reader is several
    /// times the cost of these few comparisons.
    fn from_json(text: &str) -> Option<Self> {
        let mut parts = text
            .strip_prefix("[\"")?
            .strip_suffix("\"]")?
            .split("\",\"");
        let ids = Self(
            WorkflowId::parse(parts.next()?)?,
            NodeId::parse(parts.next()?)?,
            NodeId::parse(parts.next()?)?,
            NodeId::parse(parts.next()?)?,
        );
        parts.next().is_none().then_some(ids)
    }

    fn nodes(&self) -> [NodeId; 3] {
        [self.1, self.2, self.3]
    }

    fn workflow(&self, created_at: Timestamp) -> Workflow {
        default_workflow_with(self.0, self.nodes(), created_at)
    }

    /// The length of `,"defaultWorkflow":[...]` in a doc: its ids have fixed lengths.
    const FIELD_LEN: usize = DEFAULT_WORKFLOW_KEY.len() + 2 + 4 * (2 + 11) + 3;
}

const DEFAULT_WORKFLOW_KEY: &str = ",\"defaultWorkflow\":";
const WEBHOOK_CONFIG_KEY: &str = ",\"webhookConfig\":";

/// The doc as stored, in either form; [`AppDoc`] once the app's creation time is known.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDoc {
    name: String,
    redirect_uris: Vec<String>,
    providers: BTreeMap<String, ProviderState>,
    #[serde(default)]
    default_workflow_id: Option<WorkflowId>,
    #[serde(default)]
    workflows: Option<Vec<Workflow>>,
    #[serde(default)]
    default_workflow: Option<DefaultWorkflowIds>,
    webhook_config: WebhookConfig,
    #[serde(default)]
    default_success_redirect_uri: Option<String>,
    #[serde(default)]
    default_failure_redirect_uri: Option<String>,
}

impl StoredDoc {
    /// The doc of an app created at `created_at`; `None` unless it holds exactly one of
    /// the two workflow forms.
    fn into_doc(self, created_at: Timestamp) -> Option<AppDoc> {
        let (default_workflow_id, workflows) = match (
            self.default_workflow_id,
            self.workflows,
            self.default_workflow,
        ) {
            (Some(id), Some(workflows), None) => (id, workflows),
            (None, None, Some(ids)) => (ids.0, vec![ids.workflow(created_at)]),
            _ => return None,
        };
        Some(AppDoc {
            name: self.name,
            redirect_uris: self.redirect_uris,
            providers: self.providers,
            default_workflow_id,
            workflows,
            webhook_config: self.webhook_config,
            default_success_redirect_uri: self.default_success_redirect_uri,
            default_failure_redirect_uri: self.default_failure_redirect_uri,
        })
    }
}

impl<'a> From<&'a WebhookConfig> for WebhookView<'a> {
    fn from(w: &'a WebhookConfig) -> Self {
        Self {
            url: w.url.as_deref(),
            enabled: w.enabled,
            retry_attempts: w.retry_attempts,
            timeout_seconds: w.timeout_seconds,
            events: &w.events,
        }
    }
}

impl AppRow {
    /// The row for `record`, its secrets sealed under `key`.
    pub fn seal(record: &AppRecord, key: &SealingKey, entropy: &mut dyn Entropy) -> Self {
        let d = &record.doc;
        let doc = DocView {
            name: &d.name,
            redirect_uris: &d.redirect_uris,
            providers: &d.providers,
            default_workflow_id: None,
            workflows: None,
            default_workflow: None,
            webhook_config: (&d.webhook_config).into(),
            default_success_redirect_uri: d.default_success_redirect_uri.as_deref(),
            default_failure_redirect_uri: d.default_failure_redirect_uri.as_deref(),
        }
        .with_workflows(&d.default_workflow_id, &d.workflows, record.created_at);
        let times = (record.created_at, record.updated_at);
        Self::sealed(
            &record.client_id,
            &record.client_secret,
            record.webhook_secret.as_ref(),
            times,
            &doc,
            key,
            entropy,
        )
    }

    /// The row for a newly created `app` (which has no webhook secret yet), sealed under
    /// `key`: the same row [`AppRow::seal`] gives for its record, without building one.
    pub fn seal_app(app: &App, key: &SealingKey, entropy: &mut dyn Entropy) -> Self {
        let doc = DocView {
            name: &app.name,
            redirect_uris: &app.redirect_uris,
            providers: &app.providers,
            default_workflow_id: None,
            workflows: None,
            default_workflow: None,
            webhook_config: (&app.webhook_config).into(),
            default_success_redirect_uri: app.default_success_redirect_uri.as_deref(),
            default_failure_redirect_uri: app.default_failure_redirect_uri.as_deref(),
        }
        .with_workflows(&app.default_workflow_id, &app.workflows, app.created_at);
        let times = (app.created_at, app.updated_at);
        Self::sealed(
            &app.client_id,
            &app.client_secret,
            None,
            times,
            &doc,
            key,
            entropy,
        )
    }

    fn sealed(
        id: &ClientId,
        client_secret: &ClientSecret,
        webhook_secret: Option<&WebhookSecret>,
        (created_at, updated_at): (Timestamp, Timestamp),
        doc: &DocView<'_>,
        key: &SealingKey,
        entropy: &mut dyn Entropy,
    ) -> Self {
        Self {
            client_id: id.to_string(),
            created_at: created_at.to_string(),
            updated_at: updated_at.to_string(),
            client_secret: key.seal_str(
                client_secret.expose(),
                SealContext::ClientSecret(id),
                entropy,
            ),
            webhook_secret: webhook_secret
                .map(|s| key.seal_str(s.expose(), SealContext::WebhookSecret(id), entropy)),
            // Serializing plain data structures to a String cannot fail.
            doc: serde_json::to_string(doc).unwrap_or_default(),
            version: first_version(),
        }
    }

    /// The row's client id and its client secret, opened.
    fn open_client_secret(&self, key: &SealingKey) -> Result<(ClientId, ClientSecret), RowError> {
        let client_id = ClientId::parse(&self.client_id).ok_or(RowError::Malformed("client_id"))?;
        let secret = key
            .open_str(&self.client_secret, SealContext::ClientSecret(&client_id))
            .map_err(RowError::Seal)
            .and_then(|s| ClientSecret::parse(&s).ok_or(RowError::Malformed("client_secret")))?;
        Ok((client_id, secret))
    }

    /// The JSON of the App this row holds, in workspace `workspace`: byte for byte what
    /// serializing [`AppRow::open`]'s record as an App gives, but spliced from the stored
    /// doc instead of parsing and re-serializing it (lists and reads serve rows as they are
    /// stored). A row with a webhook signing secret, whose preview sits inside the doc's
    /// `webhookConfig`, takes the long way.
    pub fn app_json(&self, workspace: &WorkspaceId, key: &SealingKey) -> Result<String, RowError> {
        if self.webhook_secret.is_some() {
            let app = self.open(workspace, key)?.into_app();
            return serde_json::to_string(&app).map_err(|_| RowError::Malformed("doc"));
        }
        let (client_id, secret) = self.open_client_secret(key)?;
        for (column, value) in [
            ("created_at", &self.created_at),
            ("updated_at", &self.updated_at),
        ] {
            Timestamp::parse_iso(value).ok_or(RowError::Malformed(column))?;
        }
        self.splice(&client_id, &secret, workspace)
            .ok_or(RowError::Malformed("doc"))
    }

    /// The JSON of `app`, which [`AppRow::seal_app`] has just made this row of: spliced
    /// from the row's doc as [`AppRow::app_json`] does, so that creating apps serializes
    /// each app's fields once, for the row and the response alike. `None` for a row with a
    /// webhook signing secret (a new app has none).
    pub fn fresh_app_json(&self, app: &App) -> Option<String> {
        if self.webhook_secret.is_some() {
            return None;
        }
        self.splice(&app.client_id, &app.client_secret, &app.organization_id)
    }

    /// The App JSON of this row's doc with the fields kept outside it; `None` when the doc
    /// is not an object starting with its `name`.
    fn splice(
        &self,
        client_id: &ClientId,
        secret: &ClientSecret,
        workspace: &WorkspaceId,
    ) -> Option<String> {
        // The doc is an object this crate wrote, starting with its `name`; the ids, secret,
        // workspace and timestamps are ASCII that JSON carries without escapes.
        let fields = self
            .doc
            .strip_prefix('{')
            .and_then(|d| d.strip_suffix('}'))
            .filter(|d| d.starts_with("\"name\":"))?;
        let mut out = String::with_capacity(self.doc.len() + 700);
        out.push_str("{\"clientId\":\"");
        out.push_str(client_id.as_str());
        out.push_str("\",\"clientSecret\":\"");
        out.push_str(secret.expose());
        out.push_str("\",");
        match self.default_workflow_field(fields) {
            // `head` ends with `providers`, `tail` starts with `,"webhookConfig":`.
            Some((head, ids, tail)) => {
                out.push_str(head);
                out.push_str(",\"defaultWorkflowId\":\"");
                out.push_str(ids.0.as_str());
                out.push_str("\",\"workflows\":[");
                push_default_workflow_json(&mut out, &ids.0, &ids.nodes(), &self.created_at);
                out.push(']');
                out.push_str(tail);
            }
            None => out.push_str(fields),
        }
        out.push_str(",\"organizationId\":\"");
        out.push_str(workspace.as_str());
        out.push_str("\",\"createdAt\":\"");
        out.push_str(&self.created_at);
        out.push_str("\",\"updatedAt\":\"");
        out.push_str(&self.updated_at);
        out.push_str("\"}");
        Some(out)
    }

    /// `fields` (the doc without its braces) split around its `defaultWorkflow` field, and
    /// that field's ids; `None` for a doc that stores its workflows in full.
    ///
    /// The field sits just before the doc's top-level `webhookConfig`, found as the last
    /// `,"webhookConfig":` of the text: what follows it (the webhook settings and the
    /// default redirect URIs) has no keys of a caller's choosing, and a quote inside a
    /// JSON string is always escaped, so no later match can exist. A full-form doc has
    /// `workflows`' closing `}]` or `[]` there instead, which no ids array ends with.
    fn default_workflow_field<'d>(
        &self,
        fields: &'d str,
    ) -> Option<(&'d str, DefaultWorkflowIds, &'d str)> {
        let split = fields.rfind(WEBHOOK_CONFIG_KEY)?;
        let (before, tail) = fields.split_at(split);
        let start = before.len().checked_sub(DefaultWorkflowIds::FIELD_LEN)?;
        let field = before.get(start..)?;
        let ids = DefaultWorkflowIds::from_json(field.strip_prefix(DEFAULT_WORKFLOW_KEY)?)?;
        Some((&before[..start], ids, tail))
    }

    /// The app this row holds, in workspace `workspace`.
    pub fn open(&self, workspace: &WorkspaceId, key: &SealingKey) -> Result<AppRecord, RowError> {
        let (client_id, client_secret) = self.open_client_secret(key)?;
        let time = |s: &str, column| Timestamp::parse_iso(s).ok_or(RowError::Malformed(column));
        let webhook_secret = match &self.webhook_secret {
            None => None,
            Some(sealed) => Some(
                key.open_str(sealed, SealContext::WebhookSecret(&client_id))
                    .map_err(RowError::Seal)
                    .and_then(|s| {
                        WebhookSecret::parse(&s).ok_or(RowError::Malformed("webhook_secret"))
                    })?,
            ),
        };
        let created_at = time(&self.created_at, "created_at")?;
        let doc = serde_json::from_str::<StoredDoc>(&self.doc)
            .ok()
            .and_then(|d| d.into_doc(created_at))
            .ok_or(RowError::Malformed("doc"))?;
        Ok(AppRecord {
            created_at,
            updated_at: time(&self.updated_at, "updated_at")?,
            client_id,
            organization_id: workspace.clone(),
            client_secret,
            webhook_secret,
            doc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::NewApp;
    use crate::entropy::SeededEntropy;

    /// A new app named `name`, minted at `millis`, with a webhook signing secret.
    fn with_webhook_secret(
        name: &str,
        ws: &WorkspaceId,
        millis: i64,
        e: &mut SeededEntropy,
    ) -> AppRecord {
        let mut record = NewApp::validate(name, None, None, "").unwrap().mint(
            ws,
            Timestamp::from_millis(millis),
            e,
        );
        record.webhook_secret = Some(WebhookSecret::generate(e));
        record
    }

    #[test]
    fn a_row_holds_no_secret_and_opens_to_the_same_record() {
        let mut e = SeededEntropy::new(21);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&"ab".repeat(32)).unwrap();
        let record = with_webhook_secret("Row", &ws, 1_700_000_000_123, &mut e);
        let row = AppRow::seal(&record, &key, &mut e);
        let text = serde_json::to_string(&row).unwrap();
        assert!(!text.contains(record.client_secret.expose()));
        assert!(!text.contains(record.webhook_secret.as_ref().unwrap().expose()));
        assert!(!text.contains("sh_app_") && !text.contains("whsec_"));
        assert_eq!(row.open(&ws, &key).unwrap(), record);
    }

    #[test]
    fn a_new_app_seals_to_the_row_of_its_record() {
        let mut e = SeededEntropy::new(23);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&"ef".repeat(32)).unwrap();
        let uris = vec!["https://a.example/cb".to_string()];
        let record = NewApp::validate("Viewed", Some(&uris), None, "")
            .unwrap()
            .mint(&ws, Timestamp::from_millis(7), &mut e);
        let by_record = AppRow::seal(&record, &key, &mut e);
        let by_app = AppRow::seal_app(&record.to_app(), &key, &mut e);
        assert_eq!(by_app.doc, by_record.doc);
        assert_eq!(by_app.open(&ws, &key).unwrap(), record);
        assert_eq!(by_record.open(&ws, &key).unwrap(), record);
    }

    #[test]
    fn rows_sealed_in_the_text_form_still_open() {
        // Rows written before the hex form existed hold their secrets as sealed text.
        let mut e = SeededEntropy::new(25);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&"ab".repeat(32)).unwrap();
        let record = with_webhook_secret("Older", &ws, 9, &mut e);
        let mut row = AppRow::seal(&record, &key, &mut e);
        assert!(row.client_secret.starts_with("v2."));
        let id = &record.client_id;
        row.client_secret = key.seal(
            record.client_secret.expose().as_bytes(),
            SealContext::ClientSecret(id),
            &mut e,
        );
        row.webhook_secret = record.webhook_secret.as_ref().map(|s| {
            key.seal(
                s.expose().as_bytes(),
                SealContext::WebhookSecret(id),
                &mut e,
            )
        });
        assert!(row.client_secret.starts_with("v1."));
        assert_eq!(row.open(&ws, &key).unwrap(), record);
        assert_eq!(
            row.app_json(&ws, &key).unwrap(),
            serde_json::to_string(&record.to_app()).unwrap()
        );
    }

    #[test]
    fn app_json_is_the_serialized_app_with_or_without_a_webhook_secret() {
        let mut e = SeededEntropy::new(24);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&"01".repeat(32)).unwrap();
        let uris = vec!["https://a.example/cb?x=%22q%22&y=1".to_string()];
        let mut record = NewApp::validate("Spliced \"quoted\" ünï", Some(&uris), None, "")
            .unwrap()
            .mint(&ws, Timestamp::from_millis(1_700_000_000_000), &mut e);
        record.doc.default_failure_redirect_uri = Some("https://a.example/ko".into());
        let row = AppRow::seal(&record, &key, &mut e);
        assert_eq!(
            row.app_json(&ws, &key).unwrap(),
            serde_json::to_string(&record.to_app()).unwrap()
        );
        record.webhook_secret = Some(WebhookSecret::generate(&mut e));
        let row = AppRow::seal(&record, &key, &mut e);
        assert_eq!(
            row.app_json(&ws, &key).unwrap(),
            serde_json::to_string(&record.to_app()).unwrap()
        );
        let mut broken = row.clone();
        broken.webhook_secret = None;
        broken.doc = "[]".into();
        assert!(broken.app_json(&ws, &key).is_err());
    }

    proptest::proptest! {
        #[test]
        fn app_json_matches_serde_for_any_valid_app(
            name in "[ -~é]{1,40}",
            uris in proptest::collection::vec("https://[a-z]{1,10}\\.example/[a-z?=&%2]{0,12}", 0..4),
            seed in proptest::prelude::any::<u64>(),
        ) {
            proptest::prop_assume!(!name.trim().is_empty());
            let mut e = SeededEntropy::new(seed);
            let ws = WorkspaceId::parse("org_prop").unwrap();
            let key = SealingKey::from_hex(&"02".repeat(32)).unwrap();
            if let Ok(new) = NewApp::validate(&name, Some(&uris), None, "") {
                let record = new.mint(&ws, Timestamp::from_millis(seed as i64 & 0xffff_ffff_ffff), &mut e);
                let row = AppRow::seal(&record, &key, &mut e);
                proptest::prop_assert_eq!(row.app_json(&ws, &key).unwrap(), serde_json::to_string(&record.to_app()).unwrap());
            }
        }
    }

    /// The record opened from `row` and the App JSON spliced from it are those of
    /// `record`.
    fn assert_round_trip(row: &AppRow, record: &AppRecord, ws: &WorkspaceId, key: &SealingKey) {
        assert_eq!(row.open(ws, key).unwrap(), *record);
        assert_eq!(
            row.app_json(ws, key).unwrap(),
            serde_json::to_string(&record.to_app()).unwrap()
        );
    }

    /// A new app named `name`, minted at `millis` in `org_rows`, with entropy from `seed`
    /// and a sealing key of the byte `key_byte` repeated.
    fn minted(
        seed: u64,
        key_byte: &str,
        name: &str,
        millis: i64,
    ) -> (SeededEntropy, WorkspaceId, SealingKey, AppRecord) {
        let mut e = SeededEntropy::new(seed);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&key_byte.repeat(32)).unwrap();
        let record = NewApp::validate(name, None, None, "").unwrap().mint(
            &ws,
            Timestamp::from_millis(millis),
            &mut e,
        );
        (e, ws, key, record)
    }

    #[test]
    fn a_new_app_stores_its_default_workflow_as_ids() {
        let (mut e, ws, key, record) = minted(26, "03", "Compact", 1_774_599_771_272);
        let row = AppRow::seal(&record, &key, &mut e);
        let wf = &record.doc.workflows[0];
        let ids: Vec<&str> = std::iter::once(wf.workflow_id.as_str())
            .chain(wf.nodes.iter().map(|n| n.id.as_str()))
            .collect();
        let doc: serde_json::Value = serde_json::from_str(&row.doc).unwrap();
        assert_eq!(doc["defaultWorkflow"], serde_json::json!(ids));
        assert!(doc.get("workflows").is_none() && doc.get("defaultWorkflowId").is_none());
        assert!(row.doc.len() < 250, "{} bytes: {}", row.doc.len(), row.doc);
        assert_round_trip(&row, &record, &ws, &key);
    }

    #[test]
    fn a_changed_or_added_workflow_is_stored_in_full() {
        let (mut e, ws, key, first) = minted(27, "04", "Full", 1_700_000_000_000);
        let second = NewApp::validate("Full", None, None, "")
            .unwrap()
            .mint(&ws, Timestamp::from_millis(5), &mut e)
            .doc
            .workflows;
        let changes: [fn(&mut AppRecord, &[Workflow]); 6] = [
            |r, _| r.doc.workflows[0].name = "Renamed".into(),
            |r, _| r.doc.workflows[0].updated_at = Timestamp::from_millis(1_800_000_000_000),
            |r, _| r.created_at = Timestamp::from_millis(1_600_000_000_000),
            |r, _| r.doc.workflows[0].nodes.swap(0, 2),
            |r, other| r.doc.default_workflow_id = other[0].workflow_id,
            |r, other| r.doc.workflows.extend_from_slice(other),
        ];
        for change in changes {
            let mut record = first.clone();
            change(&mut record, &second);
            let row = AppRow::seal(&record, &key, &mut e);
            let doc: serde_json::Value = serde_json::from_str(&row.doc).unwrap();
            assert!(doc.get("defaultWorkflow").is_none(), "{}", row.doc);
            assert_eq!(
                doc["workflows"],
                serde_json::to_value(&record.doc.workflows).unwrap()
            );
            assert_round_trip(&row, &record, &ws, &key);
        }
        let mut record = first;
        record.doc.workflows.clear();
        assert_round_trip(&AppRow::seal(&record, &key, &mut e), &record, &ws, &key);
    }

    #[test]
    fn a_doc_stored_before_the_ids_form_still_opens_and_splices() {
        // Until the ids form, every doc was `AppDoc`'s own serialization.
        let (mut e, ws, key, record) = minted(28, "05", "Older doc", 1_700_000_000_001);
        let mut row = AppRow::seal(&record, &key, &mut e);
        row.doc = serde_json::to_string(&record.doc).unwrap();
        assert!(row.doc.contains("\"workflows\":[{"));
        assert_round_trip(&row, &record, &ws, &key);
    }

    #[test]
    fn provider_settings_that_mimic_the_doc_keys_do_not_confuse_the_splice() {
        let (mut e, ws, key, mut record) =
            minted(29, "06", ",\"webhookConfig\":{", 1_700_000_000_002);
        let ids = serde_json::from_str::<serde_json::Value>(
            r#"["wf_00000000","nd_00000000","nd_00000001","nd_00000002"]"#,
        )
        .unwrap();
        record.doc.providers.insert(
            "mimic".into(),
            ProviderState {
                enabled: false,
                config: Some(serde_json::json!({
                    "defaultWorkflow": ids,
                    "webhookConfig": {"enabled": true},
                    "z": ",\"defaultWorkflow\":[\"wf_00000000\"],\"webhookConfig\":{",
                })),
            },
        );
        let row = AppRow::seal(&record, &key, &mut e);
        assert_round_trip(&row, &record, &ws, &key);
        record.doc.workflows[0].name = "Changed".into();
        let row = AppRow::seal(&record, &key, &mut e);
        assert_round_trip(&row, &record, &ws, &key);
    }

    #[test]
    fn a_doc_with_both_workflow_forms_or_neither_is_malformed() {
        let (mut e, ws, key, record) = minted(30, "07", "Broken", 3);
        let row = AppRow::seal(&record, &key, &mut e);
        let full = serde_json::to_value(&record.doc).unwrap();
        let compact: serde_json::Value = serde_json::from_str(&row.doc).unwrap();
        let mut both = full.clone();
        both["defaultWorkflow"] = compact["defaultWorkflow"].clone();
        let mut neither = full;
        neither.as_object_mut().unwrap().remove("workflows");
        neither.as_object_mut().unwrap().remove("defaultWorkflowId");
        for doc in [both, neither] {
            let broken = AppRow {
                doc: doc.to_string(),
                ..row.clone()
            };
            assert_eq!(broken.open(&ws, &key), Err(RowError::Malformed("doc")));
        }
    }

    #[test]
    fn the_ids_field_reads_what_serde_writes_and_nothing_else() {
        let mut e = SeededEntropy::new(31);
        let ids = DefaultWorkflowIds(
            WorkflowId::generate(&mut e),
            NodeId::generate(&mut e),
            NodeId::generate(&mut e),
            NodeId::generate(&mut e),
        );
        let text = serde_json::to_string(&ids).unwrap();
        assert_eq!(
            text.len() + DEFAULT_WORKFLOW_KEY.len(),
            DefaultWorkflowIds::FIELD_LEN
        );
        assert_eq!(DefaultWorkflowIds::from_json(&text), Some(ids));
        let three = text.rsplit_once(',').unwrap().0.to_owned() + "]";
        let five = text.replace(']', &format!(",\"{}\"]", ids.1));
        let spaced = text.replace(',', ", ");
        let swapped = text.replace("wf_", "xx_").replacen("nd_", "wf_", 1);
        for bad in [three, five, spaced, swapped, String::new(), "[]".into()] {
            assert_eq!(DefaultWorkflowIds::from_json(&bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_default_workflow_template_is_what_serde_writes(
            seed in proptest::prelude::any::<u64>(),
            millis in 0i64..=253_402_300_799_999,
        ) {
            let mut e = SeededEntropy::new(seed);
            let id = WorkflowId::generate(&mut e);
            let nodes = [(); 3].map(|_| NodeId::generate(&mut e));
            let at = Timestamp::from_millis(millis);
            let mut out = String::new();
            push_default_workflow_json(&mut out, &id, &nodes, &at.to_string());
            proptest::prop_assert_eq!(
                out,
                serde_json::to_string(&default_workflow_with(id, nodes, at)).unwrap()
            );
        }
    }

    #[test]
    fn a_secret_moved_to_another_row_does_not_open() {
        let mut e = SeededEntropy::new(22);
        let ws = WorkspaceId::parse("org_rows").unwrap();
        let key = SealingKey::from_hex(&"cd".repeat(32)).unwrap();
        let new = NewApp::validate("Row", None, None, "").unwrap();
        let now = Timestamp::from_millis(0);
        let a = AppRow::seal(&new.mint(&ws, now, &mut e), &key, &mut e);
        let mut b = AppRow::seal(&new.mint(&ws, now, &mut e), &key, &mut e);
        b.client_secret = a.client_secret.clone();
        assert!(matches!(
            b.open(&ws, &key),
            Err(RowError::Seal(SealError::Unauthentic))
        ));
    }
}
