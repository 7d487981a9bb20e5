//! The answers of the routes about many apps (batch create, list) and about workspaces
//! and API keys (`GET /workspace` and the operators' admin API), the secrets key ring's
//! (`/admin/v1/secrets-keys`), the shards' (`/admin/v1/shards`) and the deployment's
//! health (`/admin/v1/health`).

use crate::wire::app::App;
use crate::wire::error::ErrorObject;
use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::secrets::ApiKey;
use crate::wire::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The 201 body of `POST /apps/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCreateResponse {
    /// One per input item, in input order.
    pub results: Vec<BatchResult>,
    /// Items created.
    pub success_count: usize,
    /// Items that failed.
    pub error_count: usize,
}

/// One item's outcome: `app` on success, `error` on failure, never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The created app, secret included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
    /// Why the item failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// The item's `idempotencyKey`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The 200 body of `GET /apps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAppsResponse {
    /// The page, in creation order.
    pub data: Vec<App>,
    /// Apps in the workspace.
    pub total: u64,
    /// Page size applied.
    pub limit: u32,
    /// Offset applied.
    pub offset: u64,
}

/// `GET /connect/v1/workspace`. The casings are the reference's own: `apps_count` and
/// the legacy `created_at` (Unix seconds) beside `createdAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// `org_...`
    pub id: WorkspaceId,
    /// Apps in the workspace now.
    pub apps_count: u64,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    /// Creation time in Unix seconds, kept for backward compatibility.
    #[serde(rename = "created_at")]
    pub created_at_unix: i64,
}

impl Workspace {
    /// A workspace's public view.
    pub fn new(id: WorkspaceId, apps_count: u64, created_at: Timestamp) -> Self {
        Self {
            id,
            apps_count,
            created_at,
            created_at_unix: created_at.unix_seconds(),
        }
    }
}

/// An API key as issued: the only time its text is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedApiKey {
    /// What an operator revokes.
    pub id: ApiKeyId,
    /// The key itself (`sk_workspace_test_...`). Store it now: only its hash is kept.
    pub key: ApiKey,
    /// The workspace it opens.
    pub workspace_id: WorkspaceId,
    /// When it was issued.
    pub created_at: Timestamp,
}

/// `POST /admin/v1/workspaces` (201): the new workspace and its first key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWorkspace {
    /// The workspace.
    pub workspace: Workspace,
    /// Its first key.
    pub api_key: IssuedApiKey,
}

/// `DELETE /admin/v1/api-keys/{keyId}` and `POST /admin/v1/api-keys/revoke` (200).
/// Revoking twice is not an error: the answer is the same, with the time of the first
/// revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedApiKey {
    /// The key.
    pub id: ApiKeyId,
    /// The workspace it opened: whom to tell that their key leaked.
    pub workspace_id: WorkspaceId,
    /// Always `true`.
    pub revoked: bool,
    /// When it stopped working.
    pub revoked_at: Timestamp,
}

/// One key of a workspace, as `GET /admin/v1/workspaces/{workspaceId}/api-keys` lists it:
/// never the key or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeySummary {
    /// What an operator revokes.
    pub id: ApiKeyId,
    /// When it was issued.
    pub created_at: Timestamp,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Its last four characters; `null` for a key issued before they were kept.
    pub last4: Option<String>,
}

/// `GET /admin/v1/workspaces/{workspaceId}/api-keys` (200): a page of the workspace's keys,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyList {
    /// The page.
    pub data: Vec<ApiKeySummary>,
    /// Keys of the workspace, revoked ones included.
    pub total: u64,
    /// Page size applied.
    pub limit: u32,
    /// Offset applied.
    pub offset: u64,
}

/// `GET /admin/v1/health`: 200 with `ready: true` when the deployment can serve, else 503
/// naming each problem. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// Whether nothing is wrong.
    pub ready: bool,
    /// The newest migration this Worker needs in every shard (`migrations/`).
    pub latest_migration: String,
    /// What is wrong, one entry a problem; empty when ready.
    pub problems: Vec<HealthProblem>,
}

/// One problem of a [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthProblem {
    /// What it concerns: a setting (`SECRETS_KEYS`, `SHARDS`, `KEY_ENVIRONMENT`), a
    /// shard (its binding, `SHARD_2`) or the `directory`.
    pub component: String,
    /// What is wrong, for people.
    pub message: String,
}

/// `GET /admin/v1/secrets-keys` (200): what each key seals, so that an operator knows when
/// an old key can leave the ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretsKeys {
    /// The ring's keys, the primary first; then any key that is not in the ring but still
    /// seals values (they cannot be opened until it is back).
    pub keys: Vec<SecretsKey>,
}

/// One key of [`SecretsKeys`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretsKey {
    /// The key id, as `SECRETS_KEYS` names it and every sealed value carries it.
    pub id: String,
    /// Whether new values are sealed under it.
    pub primary: bool,
    /// Whether the ring holds it: `false` for a key removed while values still name it.
    pub in_ring: bool,
    /// What it seals now.
    pub sealed: SealedCounts,
}

/// How many stored values a key seals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedCounts {
    /// Apps with a client or webhook secret under it.
    pub apps: u64,
    /// Recorded answers of idempotent requests under it.
    pub idempotency_records: u64,
}

/// `GET /admin/v1/shards` (200): the D1 databases workspaces live in, and what each holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shards {
    /// Every shard, in the order `SHARDS` names them.
    pub shards: Vec<Shard>,
    /// The sums over all shards.
    pub total: ShardTotals,
}

/// One shard of [`Shards`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shard {
    /// Its name: the D1 binding of its database.
    pub name: String,
    /// Workspaces the directory places in it.
    pub workspaces: u64,
    /// Apps in its workspaces.
    pub apps: u64,
    /// The size of its database, in bytes, as D1 reports it.
    pub bytes: u64,
    /// Whether the next new workspace goes to it: the shard with the fewest bytes.
    pub takes_new_workspaces: bool,
}

/// The sums of [`Shards`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTotals {
    /// Workspaces in all shards.
    pub workspaces: u64,
    /// Apps in all shards.
    pub apps: u64,
    /// Bytes of all shards' databases.
    pub bytes: u64,
}

/// `POST /admin/v1/secrets-keys/reseal` (200): one chunk of the re-seal done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResealProgress {
    /// Apps and recorded answers this call sealed again under the primary key.
    pub resealed: u64,
    /// Apps and recorded answers still under another key of the ring; 0 when the re-seal
    /// is done (values under keys no longer in the ring cannot move and are not counted).
    pub remaining: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_keeps_the_reference_casings() {
        let w = Workspace::new(
            WorkspaceId::parse("org_3C4Ysr9QkNkdbAZR5AD0uoLpgWl").unwrap(),
            12,
            Timestamp::parse_iso("2025-11-13T09:00:00.000Z").unwrap(),
        );
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({ "id": "org_3C4Ysr9QkNkdbAZR5AD0uoLpgWl", "apps_count": 12,
                                "createdAt": "2025-11-13T09:00:00.000Z", "created_at": 1763024400 })
        );
    }
}
