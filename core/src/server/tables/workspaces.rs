//! The `workspaces` and `api_keys` tables of a shard.

use crate::server::failure::Failure;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{Database, Statement};
use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::time::Timestamp;
use serde::Deserialize;

#[derive(Deserialize)]
struct WorkspaceRow {
    created_at: String,
    apps_count: i64,
}

#[derive(Deserialize)]
struct RevokedRow {
    revoked_at: String,
}

/// The workspace's creation time and app count.
pub async fn read<D: Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
) -> Result<Option<(Timestamp, u64)>, Failure> {
    let row: Option<WorkspaceRow> = db
        .first(Statement::new(
            sql::WORKSPACE_GET,
            vec![workspace.as_str().into()],
        ))
        .await?;
    Ok(row.and_then(|r| {
        Some((
            Timestamp::parse_iso(&r.created_at).ok()?,
            r.apps_count.max(0) as u64,
        ))
    }))
}

/// Statements creating a workspace and its first key.
pub fn create(
    workspace: &WorkspaceId,
    key_id: &ApiKeyId,
    key_hash: &str,
    now: Timestamp,
) -> Vec<Statement> {
    vec![
        Statement::new(
            sql::WORKSPACE_INSERT,
            vec![workspace.as_str().into(), now.to_string().into()],
        ),
        insert_key(workspace, key_id, key_hash, now),
    ]
}

/// The statement adding a key to an existing workspace.
pub fn insert_key(
    workspace: &WorkspaceId,
    key_id: &ApiKeyId,
    key_hash: &str,
    now: Timestamp,
) -> Statement {
    Statement::new(
        sql::API_KEY_INSERT,
        vec![
            key_id.as_str().into(),
            workspace.as_str().into(),
            key_hash.into(),
            now.to_string().into(),
        ],
    )
}

/// Statements forgetting a workspace and its first key that were written here but never
/// entered in the directory (a retry of the request that made them won).
pub fn delete_unlisted(workspace: &WorkspaceId, key_id: &ApiKeyId) -> Vec<Statement> {
    vec![
        delete_unlisted_key(key_id),
        Statement::new(
            sql::WORKSPACE_DELETE_UNLISTED,
            vec![workspace.as_str().into()],
        ),
    ]
}

/// The statement forgetting a key written here but never entered in the directory.
pub fn delete_unlisted_key(key_id: &ApiKeyId) -> Statement {
    Statement::new(sql::API_KEY_DELETE_UNLISTED, vec![key_id.as_str().into()])
}

/// Revokes a key (keeping the first revocation time); `None` if there is no such key.
pub async fn revoke_key<D: Database>(
    db: &Session<D>,
    key_id: &ApiKeyId,
    now: Timestamp,
) -> Result<Option<Timestamp>, Failure> {
    let results = db
        .commit_all(vec![Statement::new(
            sql::API_KEY_REVOKE,
            vec![key_id.as_str().into(), now.to_string().into()],
        )])
        .await?;
    let rows = results.into_iter().next().unwrap_or_default();
    let revoked: Vec<RevokedRow> = crate::server::storage::rows_as(rows)?;
    Ok(revoked
        .into_iter()
        .next()
        .and_then(|r| Timestamp::parse_iso(&r.revoked_at).ok()))
}
