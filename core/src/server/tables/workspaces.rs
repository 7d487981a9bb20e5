//! The `workspaces` and `api_keys` tables of a shard.

use crate::rules::pagination::PageRequest;
use crate::server::admin::ApiKeySummary;
use crate::server::failure::Failure;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{rows_as, Database, Statement};
use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::secrets::ApiKey;
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
    workspace_id: String,
}

#[derive(Deserialize)]
struct KeyStateRow {
    workspace_id: String,
    revoked_at: Option<String>,
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
    total: i64,
}

/// A stored value that does not read as what the schema says it is.
fn corrupt(what: &str) -> Failure {
    Failure::Internal(format!("a stored {what} does not parse"))
}

fn timestamp(text: &str, what: &str) -> Result<Timestamp, Failure> {
    Timestamp::parse_iso(text).map_err(|_| corrupt(what))
}

impl KeyRow {
    fn summary(self) -> Result<ApiKeySummary, Failure> {
        let revoked_at = self
            .revoked_at
            .map(|at| timestamp(&at, "revoked_at"))
            .transpose()?;
        Ok(ApiKeySummary {
            id: ApiKeyId::parse(&self.id).map_err(|_| corrupt("key id"))?,
            created_at: timestamp(&self.created_at, "created_at")?,
            revoked: revoked_at.is_some(),
            revoked_at,
            last4: self.last4,
        })
    }
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
    key: &ApiKey,
    now: Timestamp,
) -> Vec<Statement> {
    vec![
        Statement::new(
            sql::WORKSPACE_INSERT,
            vec![workspace.as_str().into(), now.to_string().into()],
        ),
        insert_key(workspace, key_id, key, now),
    ]
}

/// The statement adding a key to an existing workspace: its hash and its last four
/// characters, never the key.
pub fn insert_key(
    workspace: &WorkspaceId,
    key_id: &ApiKeyId,
    key: &ApiKey,
    now: Timestamp,
) -> Statement {
    Statement::new(
        sql::API_KEY_INSERT,
        vec![
            key_id.as_str().into(),
            workspace.as_str().into(),
            key.hash().into(),
            now.to_string().into(),
            key.last4().into(),
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

/// A page of the workspace's keys, oldest first, and how many it has: one round trip.
pub async fn api_keys<D: Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
    page: PageRequest,
) -> Result<(Vec<ApiKeySummary>, u64), Failure> {
    let ws = workspace.as_str();
    let results = db
        .read(vec![
            Statement::new(
                sql::API_KEYS_PAGE,
                vec![
                    ws.into(),
                    i64::from(page.limit()).into(),
                    (page.offset() as i64).into(),
                ],
            ),
            Statement::new(sql::API_KEYS_COUNT, vec![ws.into()]),
        ])
        .await?;
    let [keys, count]: [_; 2] = results
        .try_into()
        .map_err(|_| Failure::Internal("two reads answered with another count".into()))?;
    let total = rows_as::<CountRow>(count)?
        .first()
        .map_or(0, |r| r.total.max(0) as u64);
    let keys = rows_as::<KeyRow>(keys)?
        .into_iter()
        .map(KeyRow::summary)
        .collect::<Result<_, _>>()?;
    Ok((keys, total))
}

/// A key's workspace and when it was revoked (`None` while live); `None` if the shard has
/// no such key.
pub async fn key_state<D: Database>(
    db: &Session<D>,
    key_id: &ApiKeyId,
) -> Result<Option<(WorkspaceId, Option<Timestamp>)>, Failure> {
    let row: Option<KeyStateRow> = db
        .first(Statement::new(
            sql::API_KEY_STATE,
            vec![key_id.as_str().into()],
        ))
        .await?;
    row.map(|r| {
        Ok((
            WorkspaceId::parse(&r.workspace_id).map_err(|_| corrupt("workspace id"))?,
            r.revoked_at
                .map(|at| timestamp(&at, "revoked_at"))
                .transpose()?,
        ))
    })
    .transpose()
}

/// Statements revoking a live key at `now`; the transaction is refused as `StateMoved` if
/// it was revoked (or removed) since it was read.
pub fn revoke_live(key_id: &ApiKeyId, now: Timestamp) -> Vec<Statement> {
    vec![
        Statement::new(
            sql::API_KEY_REVOKE_LIVE,
            vec![key_id.as_str().into(), now.to_string().into()],
        ),
        Statement::new(sql::GUARD, Vec::new()),
    ]
}

/// Revokes a key (keeping the first revocation time): when it was revoked and the
/// workspace it opened; `None` if there is no such key.
pub async fn revoke_key<D: Database>(
    db: &Session<D>,
    key_id: &ApiKeyId,
    now: Timestamp,
) -> Result<Option<(Timestamp, WorkspaceId)>, Failure> {
    let results = db
        .commit_all(vec![Statement::new(
            sql::API_KEY_REVOKE,
            vec![key_id.as_str().into(), now.to_string().into()],
        )])
        .await?;
    let rows = results.into_iter().next().unwrap_or_default();
    let Some(row) = rows_as::<RevokedRow>(rows)?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some((
        timestamp(&row.revoked_at, "revoked_at")?,
        WorkspaceId::parse(&row.workspace_id).map_err(|_| corrupt("workspace id"))?,
    )))
}
