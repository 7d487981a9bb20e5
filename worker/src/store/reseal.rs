//! The `sealed_counts` and `reseal_cursors` tables: what each key of the ring seals, and
//! the re-seal's walk over `apps` and `idempotency_keys` (its windows and its writes). What
//! to write is decided by `connect_core::server::reseal`.

use super::sql;
use super::{n, s, Store};
use crate::error::{ApiError, ApiResult};
use connect_core::server::reseal::{next_cursor, AppRow, KeyCount, Plan, RecordRow, WINDOW};
use connect_core::server::seal::Sealed;
use serde::{Deserialize, Serialize};
use worker::D1PreparedStatement;

/// One window of each table, read in one snapshot with the counts.
pub struct ResealWindow {
    /// The window's apps not sealed under the primary alone.
    pub apps: Vec<AppRow>,
    /// The apps' cursor after this window.
    pub apps_cursor: i64,
    /// The window's records not sealed under the primary.
    pub records: Vec<RecordRow>,
    /// The records' cursor after this window.
    pub records_cursor: i64,
    /// What each key seals.
    pub counts: Vec<KeyCount>,
}

#[derive(Deserialize)]
struct AppWindowRow {
    row_id: i64,
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
struct AppWrite {
    row_id: i64,
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

impl Store {
    /// What each key seals.
    pub async fn sealed_counts(&self) -> ApiResult<Vec<KeyCount>> {
        self.rows(self.stmt(sql::SEALED_COUNTS_ALL, &[])?).await
    }

    /// The next window of each table from its cursor, and the counts, in one round trip;
    /// values sealed under `primary` alone come without their sealed text.
    pub async fn reseal_window(&self, primary: &str) -> ApiResult<ResealWindow> {
        let window = n(WINDOW as i64);
        let results = self
            .read(vec![
                self.stmt(
                    sql::RESEAL_APPS_WINDOW,
                    &[window.clone(), s(&serde_json::to_string(&[primary])?)],
                )?,
                self.stmt(sql::RESEAL_RECORDS_WINDOW, &[window, s(primary)])?,
                self.stmt(sql::SEALED_COUNTS_ALL, &[])?,
            ])
            .await?;
        let [apps, records, counts] = results.as_slice() else {
            return Err(ApiError::Internal(
                "D1 answered three reads with another count".into(),
            ));
        };
        let apps: Vec<AppWindowRow> = apps.results()?;
        let records: Vec<RecordWindowRow> = records.results()?;
        Ok(ResealWindow {
            apps_cursor: next_cursor(apps.len(), apps.last().map(|r| r.row_id)),
            records_cursor: next_cursor(records.len(), records.last().map(|r| r.row_id)),
            apps: apps
                .into_iter()
                .filter_map(|r| Some((r.row_id, r.version, r.doc?)))
                .map(|(row, version, doc)| {
                    Ok(AppRow {
                        row,
                        version,
                        app: serde_json::from_str(&doc)?,
                    })
                })
                .collect::<ApiResult<_>>()?,
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
            counts: counts.results()?,
        })
    }

    /// Statements writing `plan` and moving the cursors on. The transaction fails as
    /// [`super::Refused::StateMoved`] if any app or record changed since the window was
    /// read: nothing is written, and the next attempt reads the window again.
    pub fn reseal_writes(
        &self,
        plan: &Plan,
        apps_cursor: i64,
        records_cursor: i64,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let mut statements = Vec::new();
        if !plan.apps.is_empty() {
            let apps = plan
                .apps
                .iter()
                .map(|r| {
                    Ok(AppWrite {
                        row_id: r.row,
                        version: r.version,
                        doc: r.app.doc(),
                        key_ids: serde_json::to_string(&r.app.key_ids())?,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            statements
                .push(self.stmt(sql::RESEAL_APPS_WRITE, &[s(&serde_json::to_string(&apps)?)])?);
            statements.push(self.stmt(sql::GUARD_CHANGED, &[n(apps.len() as i64)])?);
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
            statements.push(self.stmt(
                sql::RESEAL_RECORDS_WRITE,
                &[s(&serde_json::to_string(&records)?)],
            )?);
            statements.push(self.stmt(sql::GUARD_CHANGED, &[n(records.len() as i64)])?);
        }
        statements.push(self.stmt(sql::RESEAL_CURSOR_SET, &[s("apps"), n(apps_cursor)])?);
        statements.push(self.stmt(
            sql::RESEAL_CURSOR_SET,
            &[s("idempotency_records"), n(records_cursor)],
        )?);
        Ok(statements)
    }
}
