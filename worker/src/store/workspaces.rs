//! The `workspaces` and `api_keys` tables of a shard.

use super::sql;
use super::{n, s, Store};
use crate::error::{ApiError, ApiResult};
use connect_core::rules::pagination::PageRequest;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::response::ApiKeySummary;
use connect_core::wire::secrets::ApiKey;
use connect_core::wire::time::Timestamp;
use serde::Deserialize;
use worker::D1PreparedStatement;

#[derive(Deserialize)]
struct WorkspaceRow {
    created_at: String,
    apps_count: i64,
}

#[derive(Deserialize)]
struct RevokedRow {
    revoked_at: String,
    workspace_id: String,
}

#[derive(Deserialize)]
struct KeyRow {
    id: String,
    created_at: String,
    revoked_at: Option<String>,
    last4: Option<String>,
}

#[derive(Deserialize)]
struct CountRow {
    total: f64,
}

/// A stored value that does not read as what the schema says it is.
fn corrupt(what: &str) -> ApiError {
    ApiError::Internal(format!("a stored {what} does not parse"))
}

impl KeyRow {
    fn summary(self) -> ApiResult<ApiKeySummary> {
        let revoked_at = match self.revoked_at {
            Some(at) => Some(Timestamp::parse_iso(&at).ok_or_else(|| corrupt("revoked_at"))?),
            None => None,
        };
        Ok(ApiKeySummary {
            id: ApiKeyId::parse(&self.id).ok_or_else(|| corrupt("key id"))?,
            created_at: Timestamp::parse_iso(&self.created_at)
                .ok_or_else(|| corrupt("created_at"))?,
            revoked: revoked_at.is_some(),
            revoked_at,
            last4: self.last4,
        })
    }
}

impl Store {
    /// The workspace's creation time and app count.
    pub async fn workspace(&self, workspace: &WorkspaceId) -> ApiResult<Option<(Timestamp, u64)>> {
        let row: Option<WorkspaceRow> = self
            .first(self.stmt(sql::WORKSPACE_GET, &[s(workspace.as_str())])?)
            .await?;
        Ok(row.and_then(|r| {
            Some((
                Timestamp::parse_iso(&r.created_at)?,
                r.apps_count.max(0) as u64,
            ))
        }))
    }

    /// Statements creating a workspace and its first key.
    pub fn create_workspace(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key: &ApiKey,
        now: Timestamp,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let at = now.to_string();
        Ok(vec![
            self.stmt(sql::WORKSPACE_INSERT, &[s(workspace.as_str()), s(&at)])?,
            self.insert_key(workspace, key_id, key, now)?,
        ])
    }

    /// The statement adding a key to an existing workspace: its hash and its last four
    /// characters, never the key.
    pub fn insert_key(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key: &ApiKey,
        now: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::API_KEY_INSERT,
            &[
                s(key_id.as_str()),
                s(workspace.as_str()),
                s(&key.hash()),
                s(&now.to_string()),
                s(key.last4()),
            ],
        )
    }

    /// A page of the workspace's keys, oldest first, and how many it has: one round trip.
    pub async fn api_keys(
        &self,
        workspace: &WorkspaceId,
        page: PageRequest,
    ) -> ApiResult<(Vec<ApiKeySummary>, u64)> {
        let ws = s(workspace.as_str());
        let results = self
            .read(vec![
                self.stmt(
                    sql::API_KEYS_PAGE,
                    &[
                        ws.clone(),
                        n(i64::from(page.limit())),
                        n(page.offset() as i64),
                    ],
                )?,
                self.stmt(sql::API_KEYS_COUNT, &[ws])?,
            ])
            .await?;
        let [keys, count] = &results[..] else {
            return Err(ApiError::Internal(
                "D1 answered two reads with another count".into(),
            ));
        };
        let total = count
            .results::<CountRow>()?
            .first()
            .map_or(0, |r| r.total.max(0.0) as u64);
        let keys = keys
            .results::<KeyRow>()?
            .into_iter()
            .map(KeyRow::summary)
            .collect::<ApiResult<_>>()?;
        Ok((keys, total))
    }

    /// Statements forgetting a workspace and its first key that were written here but
    /// never entered in the directory (a retry of the request that made them won).
    pub fn delete_unlisted_workspace(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        Ok(vec![
            self.delete_unlisted_key(key_id)?,
            self.stmt(sql::WORKSPACE_DELETE_UNLISTED, &[s(workspace.as_str())])?,
        ])
    }

    /// The statement forgetting a key written here but never entered in the directory.
    pub fn delete_unlisted_key(&self, key_id: &ApiKeyId) -> ApiResult<D1PreparedStatement> {
        self.stmt(sql::API_KEY_DELETE_UNLISTED, &[s(key_id.as_str())])
    }

    /// Revokes a key (keeping the first revocation time): when it was revoked and the
    /// workspace it opened; `None` if there is no such key.
    pub async fn revoke_key(
        &self,
        key_id: &ApiKeyId,
        now: Timestamp,
    ) -> ApiResult<Option<(Timestamp, WorkspaceId)>> {
        let rows: Vec<RevokedRow> = self
            .returning(self.stmt(
                sql::API_KEY_REVOKE,
                &[s(key_id.as_str()), s(&now.to_string())],
            )?)
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some((
            Timestamp::parse_iso(&row.revoked_at).ok_or_else(|| corrupt("revoked_at"))?,
            WorkspaceId::parse(&row.workspace_id).ok_or_else(|| corrupt("workspace id"))?,
        )))
    }
}
