//! The directory, in the first shard: which shard each workspace and API key lives in
//! (`directory_*` tables). Entries are only ever added, so what is read once can be kept.

use crate::server::failure::Failure;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{Database, Statement};
use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::time::Timestamp;
use serde::Deserialize;

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

/// The workspace and shard of the API key with this hash, live or revoked (its shard
/// knows which).
pub async fn tenant_of_key<D: Database>(
    db: &Session<D>,
    key_hash: &str,
) -> Result<Option<Tenant>, Failure> {
    let row: Option<KeyRow> = db
        .first(Statement::new(sql::DIRECTORY_KEY, vec![key_hash.into()]))
        .await?;
    Ok(row.and_then(|r| {
        Some(Tenant {
            workspace: WorkspaceId::parse(&r.workspace_id).ok()?,
            shard: r.shard,
        })
    }))
}

/// The id and shard of the API key with this hash, live or revoked.
pub async fn key_of_hash<D: Database>(
    db: &Session<D>,
    key_hash: &str,
) -> Result<Option<(ApiKeyId, String)>, Failure> {
    let row: Option<KeyIdRow> = db
        .first(Statement::new(sql::DIRECTORY_KEY_ID, vec![key_hash.into()]))
        .await?;
    Ok(row.and_then(|r| Some((ApiKeyId::parse(&r.key_id).ok()?, r.shard))))
}

/// The shard of the API key with this id.
pub async fn shard_of_key<D: Database>(
    db: &Session<D>,
    key_id: &ApiKeyId,
) -> Result<Option<String>, Failure> {
    let row: Option<ShardRow> = db
        .first(Statement::new(
            sql::DIRECTORY_KEY_SHARD,
            vec![key_id.as_str().into()],
        ))
        .await?;
    Ok(row.map(|r| r.shard))
}

/// The shard of the workspace.
pub async fn shard_of_workspace<D: Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
) -> Result<Option<String>, Failure> {
    let row: Option<ShardRow> = db
        .first(Statement::new(
            sql::DIRECTORY_WORKSPACE_SHARD,
            vec![workspace.as_str().into()],
        ))
        .await?;
    Ok(row.map(|r| r.shard))
}

/// The statement entering a new workspace in the directory.
pub fn list_workspace(workspace: &WorkspaceId, shard: &str, now: Timestamp) -> Statement {
    Statement::new(
        sql::DIRECTORY_WORKSPACE_INSERT,
        vec![
            workspace.as_str().into(),
            shard.into(),
            now.to_string().into(),
        ],
    )
}

/// The statement entering a new API key in the directory.
pub fn list_key(key_hash: &str, key_id: &ApiKeyId, tenant: &Tenant) -> Statement {
    Statement::new(
        sql::DIRECTORY_KEY_INSERT,
        vec![
            key_hash.into(),
            key_id.as_str().into(),
            tenant.workspace.as_str().into(),
            tenant.shard.as_str().into(),
        ],
    )
}

/// How many workspaces the directory places in each shard (shards it places none in are
/// absent).
pub async fn workspaces_by_shard<D: Database>(
    db: &Session<D>,
) -> Result<Vec<(String, u64)>, Failure> {
    let rows: Vec<CountRow> = db
        .rows(Statement::new(sql::DIRECTORY_SHARDS_ALL, Vec::new()))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.shard, r.workspaces.max(0) as u64))
        .collect())
}
