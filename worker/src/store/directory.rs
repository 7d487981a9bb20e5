//! The directory, in the first shard: which shard each workspace and API key lives in
//! (`directory_*` tables). Entries are only ever added, so what is read once can be kept.

use super::sql;
use super::{s, Store};
use crate::error::ApiResult;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::time::Timestamp;
use serde::Deserialize;
use worker::D1PreparedStatement;

/// Where an API key leads: its workspace and the shard that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The workspace the key opens.
    pub workspace: WorkspaceId,
    /// The shard its data lives in.
    pub shard: String,
}

#[derive(Deserialize)]
struct KeyRow {
    workspace_id: String,
    shard: String,
}

#[derive(Deserialize)]
struct ShardRow {
    shard: String,
}

#[derive(Deserialize)]
struct KeyIdRow {
    key_id: String,
    shard: String,
}

#[derive(Deserialize)]
struct CountRow {
    shard: String,
    workspaces: i64,
}

impl Store {
    /// The workspace and shard of the API key with this hash, live or revoked (its shard
    /// knows which).
    pub async fn tenant_of_key(&self, key_hash: &str) -> ApiResult<Option<Tenant>> {
        let row: Option<KeyRow> = self
            .first(self.stmt(sql::DIRECTORY_KEY, &[s(key_hash)])?)
            .await?;
        Ok(row.and_then(|r| {
            Some(Tenant {
                workspace: WorkspaceId::parse(&r.workspace_id)?,
                shard: r.shard,
            })
        }))
    }

    /// The id and shard of the API key with this hash, live or revoked.
    pub async fn key_of_hash(&self, key_hash: &str) -> ApiResult<Option<(ApiKeyId, String)>> {
        let row: Option<KeyIdRow> = self
            .first(self.stmt(sql::DIRECTORY_KEY_ID, &[s(key_hash)])?)
            .await?;
        Ok(row.and_then(|r| Some((ApiKeyId::parse(&r.key_id)?, r.shard))))
    }

    /// The shard of the API key with this id.
    pub async fn shard_of_key(&self, key_id: &ApiKeyId) -> ApiResult<Option<String>> {
        let row: Option<ShardRow> = self
            .first(self.stmt(sql::DIRECTORY_KEY_SHARD, &[s(key_id.as_str())])?)
            .await?;
        Ok(row.map(|r| r.shard))
    }

    /// The shard of the workspace.
    pub async fn shard_of_workspace(&self, workspace: &WorkspaceId) -> ApiResult<Option<String>> {
        let row: Option<ShardRow> = self
            .first(self.stmt(sql::DIRECTORY_WORKSPACE_SHARD, &[s(workspace.as_str())])?)
            .await?;
        Ok(row.map(|r| r.shard))
    }

    /// The statement entering a new workspace in the directory.
    pub fn list_workspace(
        &self,
        workspace: &WorkspaceId,
        shard: &str,
        now: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::DIRECTORY_WORKSPACE_INSERT,
            &[s(workspace.as_str()), s(shard), s(&now.to_string())],
        )
    }

    /// The statement entering a new API key in the directory.
    pub fn list_key(
        &self,
        key_hash: &str,
        key_id: &ApiKeyId,
        tenant: &Tenant,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            sql::DIRECTORY_KEY_INSERT,
            &[
                s(key_hash),
                s(key_id.as_str()),
                s(tenant.workspace.as_str()),
                s(&tenant.shard),
            ],
        )
    }

    /// How many workspaces the directory places in each shard (shards it places none in
    /// are absent).
    pub async fn workspaces_by_shard(&self) -> ApiResult<Vec<(String, u64)>> {
        let rows: Vec<CountRow> = self
            .rows(self.stmt(sql::DIRECTORY_SHARDS_ALL, &[])?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.shard, r.workspaces.max(0) as u64))
            .collect())
    }
}
