//! The answers of the operators' admin API (`/admin/v1`): workspaces and their API keys,
//! the secrets key ring and its re-seal, the shards, the health check. What crosses HTTP to
//! an operator,
//! serde only; a client of the workspace API never sees these.

use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::response::Workspace;
use crate::wire::secrets::ApiKey;
use crate::wire::time::Timestamp;
use serde::{Deserialize, Serialize};

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
