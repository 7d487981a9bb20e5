//! The `workspaces` and `api_keys` tables of a shard.

use super::sql;
use super::{s, Store};
use crate::error::ApiResult;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
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
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let at = now.to_string();
        Ok(vec![
            self.stmt(sql::WORKSPACE_INSERT, &[s(workspace.as_str()), s(&at)])?,
            self.insert_key(workspace, key_id, key_hash, now)?,
        ])
    }

    /// The statement adding a key to an existing workspace.
    pub fn insert_key(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::API_KEY_INSERT,
            &[
                s(key_id.as_str()),
                s(workspace.as_str()),
                s(key_hash),
                s(&now.to_string()),
            ],
        )
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

    /// Revokes a key (keeping the first revocation time); `None` if there is no such key.
    pub async fn revoke_key(
        &self,
        key_id: &ApiKeyId,
        now: Timestamp,
    ) -> ApiResult<Option<Timestamp>> {
        let row: Option<RevokedRow> = self
            .first(self.stmt(
                sql::API_KEY_REVOKE,
                &[s(key_id.as_str()), s(&now.to_string())],
            )?)
            .await?;
        Ok(row.and_then(|r| Timestamp::parse_iso(&r.revoked_at)))
    }
}
