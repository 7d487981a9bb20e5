//! The re-seal's storage: what each key of the ring seals (`sealed_counts`), and the walk
//! over `apps` and `idempotency_keys` (`reseal_cursors`): its windows and its writes.

use super::plan::{next_cursor, AppKey, AppRow, KeyCount, Plan, RecordRow, WINDOW};
use crate::server::failure::Failure;
use crate::server::seal::Sealed;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{rows_as, Database, Param, Statement};
use serde::{Deserialize, Serialize};

/// One window of each table, read in one snapshot with the counts.
#[derive(Debug, Clone)]
pub struct Window {
    /// The window's apps not sealed under the primary alone.
    pub apps: Vec<AppRow>,
    /// The apps' cursor after this window: the last app read, or none to start again.
    pub apps_cursor: Option<AppKey>,
    /// The window's records not sealed under the primary.
    pub records: Vec<RecordRow>,
    /// The records' cursor after this window: the last row id read, or none to start
    /// again.
    pub records_cursor: Option<i64>,
    /// What each key seals.
    pub counts: Vec<KeyCount>,
}

#[derive(Deserialize)]
struct AppWindowRow {
    workspace_id: String,
    position: i64,
    version: i64,
    doc: Option<String>,
}

#[derive(Deserialize)]
struct RecordWindowRow {
    row_id: i64,
    scope: String,
    key_hash: String,
    created_at: i64,
    response: Option<String>,
}

/// An element of `RESEAL_APPS_WRITE`'s array.
#[derive(Serialize)]
struct AppWrite<'a> {
    workspace_id: &'a str,
    position: i64,
    version: i64,
    doc: String,
    key_ids: String,
}

/// An element of `RESEAL_RECORDS_WRITE`'s array.
#[derive(Serialize)]
struct RecordWrite<'a> {
    row_id: i64,
    key_hash: &'a str,
    created_at: i64,
    response: &'a str,
    key_id: &'a str,
}

fn counts_statement() -> Statement {
    Statement::new(sql::SEALED_COUNTS_ALL, Vec::new())
}

/// What each key seals.
pub async fn sealed_counts<D: Database>(db: &Session<D>) -> Result<Vec<KeyCount>, Failure> {
    db.rows(counts_statement()).await
}

/// The next window of each table from its cursor, and the counts, in one round trip;
/// values sealed under `primary` alone come without their sealed text.
pub async fn read<D: Database>(db: &Session<D>, primary: &str) -> Result<Window, Failure> {
    let results = db
        .read(vec![
            Statement::new(
                sql::RESEAL_APPS_WINDOW,
                vec![WINDOW.into(), serde_json::to_string(&[primary])?.into()],
            ),
            Statement::new(
                sql::RESEAL_RECORDS_WINDOW,
                vec![WINDOW.into(), primary.into()],
            ),
            counts_statement(),
        ])
        .await?;
    let [apps, records, counts]: [_; 3] = results
        .try_into()
        .map_err(|_| Failure::Internal("three reads answered with another count".into()))?;
    let apps: Vec<AppWindowRow> = rows_as(apps)?;
    let records: Vec<RecordWindowRow> = rows_as(records)?;
    Ok(Window {
        apps_cursor: next_cursor(
            apps.len(),
            apps.last().map(|r| AppKey {
                workspace: r.workspace_id.clone(),
                position: r.position,
            }),
        ),
        records_cursor: next_cursor(records.len(), records.last().map(|r| r.row_id)),
        apps: apps
            .into_iter()
            .filter_map(|r| {
                let key = AppKey {
                    workspace: r.workspace_id,
                    position: r.position,
                };
                Some((key, r.version, r.doc?))
            })
            .map(|(key, version, doc)| {
                Ok(AppRow {
                    key,
                    version,
                    app: serde_json::from_str(&doc)?,
                })
            })
            .collect::<Result<_, Failure>>()?,
        records: records
            .into_iter()
            .filter_map(|r| {
                Some(RecordRow {
                    response: Sealed::from_stored(r.response?),
                    row: r.row_id,
                    scope: r.scope,
                    key_hash: r.key_hash,
                    created_at: r.created_at,
                })
            })
            .collect(),
        counts: rows_as(counts)?,
    })
}

/// Statements writing `plan` and moving the cursors on. The transaction is refused as
/// `StateMoved` if any app or record changed since the window was read: nothing is
/// written, and the next attempt reads the window again.
pub fn writes(
    plan: &Plan,
    apps_cursor: Option<AppKey>,
    records_cursor: Option<i64>,
) -> Result<Vec<Statement>, Failure> {
    let mut statements = Vec::new();
    if !plan.apps.is_empty() {
        let apps = plan
            .apps
            .iter()
            .map(|r| {
                Ok(AppWrite {
                    workspace_id: &r.key.workspace,
                    position: r.key.position,
                    version: r.version,
                    doc: r.app.doc(),
                    key_ids: serde_json::to_string(&r.app.key_ids())?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        statements.push(Statement::new(
            sql::RESEAL_APPS_WRITE,
            vec![serde_json::to_string(&apps)?.into()],
        ));
        statements.push(Statement::new(sql::GUARD_CHANGED, vec![apps.len().into()]));
    }
    if !plan.records.is_empty() {
        let records: Vec<RecordWrite<'_>> = plan
            .records
            .iter()
            .map(|r| RecordWrite {
                row_id: r.row,
                key_hash: &r.key_hash,
                created_at: r.created_at,
                response: r.response.as_str(),
                key_id: r.response.key_id().unwrap_or_default(),
            })
            .collect();
        statements.push(Statement::new(
            sql::RESEAL_RECORDS_WRITE,
            vec![serde_json::to_string(&records)?.into()],
        ));
        statements.push(Statement::new(
            sql::GUARD_CHANGED,
            vec![records.len().into()],
        ));
    }
    let (workspace, position) = match apps_cursor {
        Some(key) => (Param::Text(key.workspace), key.position),
        None => (Param::Null, 0),
    };
    statements.push(Statement::new(
        sql::RESEAL_CURSOR_SET,
        vec!["apps".into(), position.into(), workspace],
    ));
    statements.push(Statement::new(
        sql::RESEAL_CURSOR_SET,
        vec![
            "idempotency_records".into(),
            records_cursor.unwrap_or(0).into(),
            Param::Null,
        ],
    ));
    Ok(statements)
}
