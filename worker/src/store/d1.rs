//! One shard's D1 database in one session, as the core's [`Database`]: it runs the core's
//! statements and counts what each call costs.

use crate::store::costs::Costs;
use connect_core::server::shards::Probe;
use connect_core::server::sql;
use connect_core::server::storage::{
    schema_missing, Database, Param, Results, Row, Statement, StorageError,
};
use serde::Deserialize;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::{D1DatabaseSession, D1PreparedStatement, D1Result};

/// A shard's database in a session.
pub struct D1 {
    session: D1DatabaseSession,
    shard: String,
    costs: Rc<Costs>,
}

/// A number parameter: D1 hands numbers over as JavaScript doubles; every integer the
/// core binds is far below 2^53.
fn to_js(param: &Param) -> JsValue {
    match param {
        Param::Null => JsValue::NULL,
        Param::Int(v) => JsValue::from_f64(*v as f64),
        Param::Text(v) => JsValue::from_str(v),
    }
}

fn storage_error(e: worker::Error) -> StorageError {
    StorageError::new(e.to_string())
}

impl D1 {
    /// `session`, the database of `shard`, counting into `costs`.
    pub fn new(session: D1DatabaseSession, shard: &str, costs: Rc<Costs>) -> Self {
        Self {
            session,
            shard: shard.to_owned(),
            costs,
        }
    }

    /// The shard's name: its binding.
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// The D1 session.
    pub fn session(&self) -> &D1DatabaseSession {
        &self.session
    }

    fn prepare(&self, statement: &Statement) -> Result<D1PreparedStatement, StorageError> {
        let params: Vec<JsValue> = statement.params().iter().map(to_js).collect();
        self.session
            .prepare(statement.sql())
            .bind(&params)
            .map_err(storage_error)
    }

    /// Runs `statements` in one round trip: one alone (a batch of one costs an extra round
    /// of JavaScript), several as a batch (one transaction).
    async fn run(&self, statements: Vec<Statement>) -> Result<Vec<D1Result>, StorageError> {
        let mut prepared = statements
            .iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>, _>>()?;
        let sent = match prepared.len() {
            1 => prepared.remove(0).all().await.map(|r| vec![r]),
            _ => self.session.batch(prepared).await,
        };
        match sent {
            Ok(results) => {
                self.costs.add(&results);
                Ok(results)
            }
            Err(e) => {
                self.costs.add_failed();
                Err(storage_error(e))
            }
        }
    }

    /// Whether the shard has migration `latest`, and its bytes, in one statement reading
    /// one entry of an index: what a new workspace is placed by.
    pub async fn probe(&self, latest: &str) -> Result<Probe, StorageError> {
        #[derive(Deserialize)]
        struct AppliedRow {
            applied: f64,
        }
        let statement = Statement::new(sql::SHARD_MIGRATED, vec![latest.into()]);
        let results = match self.run(vec![statement]).await {
            Ok(results) => results,
            Err(e) if schema_missing(&e) => {
                return Ok(Probe::Unknown(
                    "is not migrated: no migration was ever applied to its database".into(),
                ))
            }
            Err(e) => return Err(e),
        };
        let bytes = size_after(&results[0])?;
        let applied = results[0]
            .results::<AppliedRow>()
            .map_err(storage_error)?
            .first()
            .is_some_and(|r| r.applied > 0.0);
        Ok(if applied {
            Probe::Ready(bytes)
        } else {
            Probe::Behind(bytes)
        })
    }

    /// The shard's apps (a read of every workspace row) and bytes.
    pub async fn usage(&self) -> Result<(u64, u64), StorageError> {
        #[derive(Deserialize)]
        struct AppsRow {
            apps: f64,
        }
        let results = self
            .run(vec![Statement::new(sql::SHARD_APPS, Vec::new())])
            .await?;
        let apps = results[0]
            .results::<AppsRow>()
            .map_err(storage_error)?
            .first()
            .map_or(0, |r| r.apps.max(0.0) as u64);
        Ok((apps, size_after(&results[0])?))
    }
}

/// The database's size D1 reports with `result`.
fn size_after(result: &D1Result) -> Result<u64, StorageError> {
    result
        .meta()
        .map_err(storage_error)?
        .and_then(|m| m.size_after)
        .map(|bytes| bytes as u64)
        .ok_or_else(|| StorageError::new("D1 reported no database size"))
}

fn rows(results: Vec<D1Result>) -> Result<Results, StorageError> {
    results
        .iter()
        .map(|r| r.results::<Row>().map_err(storage_error))
        .collect()
}

impl Database for D1 {
    fn name(&self) -> &str {
        &self.shard
    }

    async fn read(&self, statements: Vec<Statement>) -> Result<Results, StorageError> {
        rows(self.run(statements).await?)
    }

    async fn write(&self, statements: Vec<Statement>) -> Result<Results, StorageError> {
        rows(self.run(statements).await?)
    }
}
