//! Storage: every SQL statement of the Worker, by table (`apps`, `idempotency`,
//! `workspaces`), run through [`Store`], which counts what each request costs D1; and KV
//! for fast replays of idempotent requests (`kv`).
//!
//! Statements that must happen together go through [`Store::commit`]: one D1 batch, a
//! single round trip and a single transaction, so a failure leaves nothing behind.

pub mod apps;
pub mod idempotency;
pub mod kv;
pub mod sql;
pub mod workspaces;

use crate::error::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

/// What a request cost D1 so far, in the units D1 bills: round trips, rows read and rows
/// written (D1's own `meta.rows_read` and `meta.rows_written`). Reported in
/// `Server-Timing` on every response.
#[derive(Debug, Default)]
pub struct Costs {
    round_trips: Cell<u32>,
    rows_read: Cell<u64>,
    rows_written: Cell<u64>,
}

impl Costs {
    /// The `Server-Timing` metric: `d1;desc="round-trips=N rows-read=R rows-written=W"`.
    pub fn server_timing(&self) -> String {
        format!(
            "d1;desc=\"round-trips={} rows-read={} rows-written={}\"",
            self.round_trips.get(),
            self.rows_read.get(),
            self.rows_written.get()
        )
    }

    fn add(&self, results: &[D1Result]) {
        self.round_trips.set(self.round_trips.get() + 1);
        for result in results {
            if let Ok(Some(meta)) = result.meta() {
                let read = meta.rows_read.unwrap_or(0) as u64;
                let written = meta.rows_written.unwrap_or(0) as u64;
                self.rows_read.set(self.rows_read.get() + read);
                self.rows_written.set(self.rows_written.get() + written);
            }
        }
    }

    fn add_failed_round_trip(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }
}

/// Why a transaction wrote nothing, when that is part of the protocol rather than a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A freshly minted client id exists already (about one in 2^47 per app): mint again.
    ClientIdTaken,
    /// Another request claimed the `Idempotency-Key` first: answer as it did.
    KeyTaken,
    /// A guarded statement found the row changed or gone since it was read
    /// ([`apps::guard`]): read again.
    StateMoved,
}

/// The D1 database, counting what each call costs.
pub struct Store {
    db: D1Database,
    costs: Rc<Costs>,
}

/// A string parameter.
pub(crate) fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// A number parameter. D1 hands numbers over as JavaScript doubles; every count and time
/// here is far below 2^53.
pub(crate) fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}

impl Store {
    /// The `DB` binding, counting into `costs`.
    pub fn new(env: &Env, costs: Rc<Costs>) -> ApiResult<Self> {
        Ok(Self {
            db: env.d1("DB")?,
            costs,
        })
    }

    /// A prepared statement of `sql` with `args` bound.
    pub(crate) fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        Ok(self.db.prepare(sql).bind(args)?)
    }

    /// Runs one statement: its rows, each read as a `T`.
    pub(crate) async fn rows<T: DeserializeOwned>(
        &self,
        stmt: D1PreparedStatement,
    ) -> ApiResult<Vec<T>> {
        let result = match stmt.all().await {
            Ok(result) => result,
            Err(e) => {
                self.costs.add_failed_round_trip();
                return Err(ApiError::Internal(format!("D1 read: {e}")));
            }
        };
        self.costs.add(std::slice::from_ref(&result));
        Ok(result.results()?)
    }

    /// Runs one statement that writes: the rows it changed.
    pub(crate) async fn run(&self, stmt: D1PreparedStatement) -> ApiResult<usize> {
        let result = match stmt.run().await {
            Ok(result) => result,
            Err(e) => {
                self.costs.add_failed_round_trip();
                return Err(ApiError::Internal(format!("D1 write: {e}")));
            }
        };
        self.costs.add(std::slice::from_ref(&result));
        Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    /// Runs one statement: its first row, if any.
    pub(crate) async fn first<T: DeserializeOwned>(
        &self,
        stmt: D1PreparedStatement,
    ) -> ApiResult<Option<T>> {
        Ok(self.rows(stmt).await?.into_iter().next())
    }

    /// Runs `statements` as one transaction. A uniqueness or guard refusal is
    /// [`Refused`]; any other failure is an internal error.
    pub async fn commit(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> ApiResult<Result<(), Refused>> {
        if statements.is_empty() {
            return Ok(Ok(()));
        }
        match self.db.batch(statements).await {
            Ok(results) => {
                self.costs.add(&results);
                Ok(Ok(()))
            }
            Err(e) => {
                self.costs.add_failed_round_trip();
                let text = e.to_string();
                if text.contains("UNIQUE constraint failed: apps.client_id") {
                    Ok(Err(Refused::ClientIdTaken))
                } else if text.contains("UNIQUE constraint failed: idempotency_keys.") {
                    Ok(Err(Refused::KeyTaken))
                } else if text.contains(apps::GUARD_FAILED) {
                    Ok(Err(Refused::StateMoved))
                } else {
                    Err(ApiError::Internal(format!("D1 write: {text}")))
                }
            }
        }
    }
}
