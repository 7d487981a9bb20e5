//! How an app is stored: the row of the `apps` table, secrets sealed.
//!
//! The store moves rows; this module turns an [`AppRecord`] into a row and back, sealing
//! and opening the secrets, so no IO layer ever handles a plain-text secret on its way to
//! or from storage.

use crate::app::{App, AppDoc, AppRecord, ProviderState, Workflow};
use crate::entropy::Entropy;
use crate::ids::WorkflowId;
use crate::ids::{ClientId, WorkspaceId};
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
    /// [`AppDoc`] as JSON.
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DocView<'a> {
    name: &'a str,
    redirect_uris: &'a [String],
    providers: &'a BTreeMap<String, ProviderState>,
    default_workflow_id: &'a WorkflowId,
    workflows: &'a [Workflow],
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
            default_workflow_id: &d.default_workflow_id,
            workflows: &d.workflows,
            webhook_config: (&d.webhook_config).into(),
            default_success_redirect_uri: d.default_success_redirect_uri.as_deref(),
            default_failure_redirect_uri: d.default_failure_redirect_uri.as_deref(),
        };
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
            default_workflow_id: &app.default_workflow_id,
            workflows: &app.workflows,
            webhook_config: (&app.webhook_config).into(),
            default_success_redirect_uri: app.default_success_redirect_uri.as_deref(),
            default_failure_redirect_uri: app.default_failure_redirect_uri.as_deref(),
        };
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
        let mut out = String::with_capacity(self.doc.len() + 200);
        out.push_str("{\"clientId\":\"");
        out.push_str(client_id.as_str());
        out.push_str("\",\"clientSecret\":\"");
        out.push_str(secret.expose());
        out.push_str("\",");
        out.push_str(fields);
        out.push_str(",\"organizationId\":\"");
        out.push_str(workspace.as_str());
        out.push_str("\",\"createdAt\":\"");
        out.push_str(&self.created_at);
        out.push_str("\",\"updatedAt\":\"");
        out.push_str(&self.updated_at);
        out.push_str("\"}");
        Some(out)
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
        let doc: AppDoc =
            serde_json::from_str(&self.doc).map_err(|_| RowError::Malformed("doc"))?;
        Ok(AppRecord {
            created_at: time(&self.created_at, "created_at")?,
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
