//! Storage: every SQL statement of the Worker, by table (`apps`, `idempotency`,
//! `workspaces`, `directory`; `reseal` for the re-seal's counts and cursors, `shards` for
//! the operators' report), run through [`Store`], one shard's database in one D1 session,
//! which counts what each request costs D1; and KV for fast replays of idempotent
//! requests (`kv`).
//!
//! Statements that must happen together go through [`Store::commit`]: one D1 batch, a
//! single round trip and a single transaction, so a failure leaves nothing behind.
//!
//! A Store reads and writes in a D1 session ([`Freshness`]): writes, and every read of a
//! request that writes, start at the primary; a read-only request may be served by a read
//! replica, at least as recent as the bookmark it sent. D1 keeps a session sequentially
//! consistent, so a request sees its own writes and never goes back in time.

pub mod apps;
pub mod directory;
pub mod idempotency;
pub mod kv;
pub mod reseal;
pub mod shards;
pub mod sql;
pub mod workspaces;

use crate::error::{ApiError, ApiResult};
use crate::faults::{Call, Faults};
use crate::isolate;
use connect_core::server::bookmark::Bookmark;
use connect_core::wire::ids::WorkspaceId;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::{D1DatabaseSession, D1PreparedStatement, D1Result, D1SessionConstraint, Env};

/// What a request cost D1 so far, in the units D1 bills: round trips, rows read and rows
/// written (D1's own `meta.rows_read` and `meta.rows_written`), reported in
/// `Server-Timing` on every response; and whether a write it sent may have happened,
/// which its 500 must say (see [`Costs::write_may_have_happened`]).
#[derive(Debug, Default)]
pub struct Costs {
    round_trips: Cell<u32>,
    rows_read: Cell<u64>,
    rows_written: Cell<u64>,
    /// Writes sent to D1 whose outcome is not known: no answer came back.
    writes_in_doubt: Cell<u32>,
    /// Writes D1 answered as committed.
    writes_committed: Cell<u32>,
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

    /// Whether a write of this request was committed, or was sent and its answer lost:
    /// then a failure of the request cannot say that nothing was changed.
    pub fn write_may_have_happened(&self) -> bool {
        self.writes_in_doubt.get() > 0 || self.writes_committed.get() > 0
    }

    /// A write is being sent: in doubt until its answer says otherwise.
    fn write_sent(&self) {
        self.writes_in_doubt.set(self.writes_in_doubt.get() + 1);
    }

    /// The answer to a sent write came: it committed, or it was refused (rolled back).
    fn write_answered(&self, committed: bool) {
        self.writes_in_doubt
            .set(self.writes_in_doubt.get().saturating_sub(1));
        if committed {
            self.writes_committed.set(self.writes_committed.get() + 1);
        }
    }
}

/// Why a transaction wrote nothing, when that is part of the protocol rather than a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A freshly minted client id exists already in the shard (each new id meets one of
    /// the shard's N apps with odds of about N in 2^37.6): mint again.
    ClientIdTaken,
    /// Another request claimed the `Idempotency-Key` first: answer as it did.
    KeyTaken,
    /// A guarded statement found the row changed or gone since it was read
    /// ([`apps::guard`]): read again.
    StateMoved,
}

/// Where a [`Store`]'s session starts.
#[derive(Debug, Clone, Copy)]
pub enum Freshness<'a> {
    /// At the primary: writes, what decides them (idempotency above all), the operators'
    /// routes and the scheduled work.
    Primary,
    /// At any replica at least as recent as the bookmark (one this API sent), if any: the
    /// reads of a request that writes nothing.
    Replica(Option<&'a Bookmark>),
}

/// One shard's D1 database in one session, counting what each call costs, and confirming
/// the request's API key in the first call it makes (see [`Store::confirm_key`]).
pub struct Store {
    db: D1DatabaseSession,
    /// The shard's name: its binding.
    shard: String,
    costs: Rc<Costs>,
    /// The faults of a test build (nothing in a release build).
    faults: Faults,
    /// The hash of the request's API key, still to be confirmed live.
    key_to_confirm: RefCell<Option<String>>,
}

/// A row of `API_KEY_LIVE`: the key is live.
#[derive(Deserialize)]
struct Live {}

/// What a failing `API_KEY_GUARD` statement's error says.
const KEY_REVOKED: &str = "write_guard_key_revoked";

/// The refusal of a key found revoked, which the isolate forgets.
fn key_revoked(key_hash: &str) -> ApiError {
    isolate::forget_key(key_hash);
    ApiError::Unauthorized("the API key is unknown or revoked")
}

/// Whether a D1 failure says the database lacks a table or column a statement names: its
/// schema is behind the Worker's, and the statement was refused before it ran.
pub(crate) fn schema_missing(error: &str) -> bool {
    error.contains("no such table") || error.contains("no such column")
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
    /// The database of `shard` (a D1 binding), in a session starting as `freshness` says,
    /// counting into `costs`.
    pub fn open(
        env: &Env,
        shard: &str,
        freshness: Freshness<'_>,
        costs: Rc<Costs>,
    ) -> ApiResult<Self> {
        let db = env
            .d1(shard)
            .map_err(|e| ApiError::Internal(format!("SHARDS names {shard}: {e}")))?;
        let session = match freshness {
            Freshness::Primary => db.with_session_constraint(D1SessionConstraint::FirstPrimary),
            Freshness::Replica(Some(bookmark)) => db.with_session(Some(bookmark.d1())),
            Freshness::Replica(None) => {
                db.with_session_constraint(D1SessionConstraint::FirstUnconstrained)
            }
        }?;
        Ok(Self {
            db: session,
            shard: shard.to_owned(),
            costs,
            faults: Faults::of(env)?,
            key_to_confirm: RefCell::new(None),
        })
    }

    /// The shard's name.
    pub fn shard(&self) -> &str {
        &self.shard
    }

    /// The bookmark of the latest state the session saw (or started at), if any, for an
    /// answer to `workspace`.
    pub fn bookmark(&self, workspace: &WorkspaceId) -> Option<Bookmark> {
        let d1 = self.db.get_bookmark().ok().flatten()?;
        Bookmark::new(workspace, &self.shard, &d1)
    }

    /// Has this request's first D1 call confirm that the API key with hash `key_hash`
    /// (found in the isolate's cache or the directory, which say only where it leads) is
    /// live, in the same round trip: a read runs
    /// in one batch with the check, a write's transaction fails on it. So a key revoked a
    /// moment ago is refused on its next request, and a warm request still makes one round
    /// trip. [`Store::finish_key_check`] confirms it for a request that made no D1 call.
    pub fn confirm_key(&self, key_hash: String) {
        *self.key_to_confirm.borrow_mut() = Some(key_hash);
    }

    /// Confirms the API key now if no D1 call of the request has (a request refused
    /// before it reached D1, or a replay from KV).
    pub async fn finish_key_check(&self) -> ApiResult<()> {
        let Some(hash) = self.key_to_confirm.borrow_mut().take() else {
            return Ok(());
        };
        let check = self.stmt(sql::API_KEY_LIVE, &[s(&hash)])?;
        let result = match self.faults.around(Call::D1Read, check.all()).await {
            Ok(result) => result,
            Err(e) => return Err(self.read_failed(e)),
        };
        self.costs.add(std::slice::from_ref(&result));
        if result.results::<Live>()?.is_empty() {
            return Err(key_revoked(&hash));
        }
        Ok(())
    }

    /// A prepared statement of `sql` with `args` bound.
    pub(crate) fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        Ok(self.db.prepare(sql).bind(args)?)
    }

    /// Runs one statement: its rows, each read as a `T`. With a key to confirm, the check
    /// runs first in the same batch (one round trip).
    pub(crate) async fn rows<T: DeserializeOwned>(
        &self,
        stmt: D1PreparedStatement,
    ) -> ApiResult<Vec<T>> {
        Ok(self.read_one(stmt).await?.results()?)
    }

    /// Runs one read statement: its result, rows and meta (see [`Store::read`]).
    pub(crate) async fn read_one(&self, stmt: D1PreparedStatement) -> ApiResult<D1Result> {
        let mut results = self.read(vec![stmt]).await?;
        match (results.pop(), results.is_empty()) {
            (Some(result), true) => Ok(result),
            _ => Err(ApiError::Internal(
                "D1 answered one read with another count".into(),
            )),
        }
    }

    /// Runs read statements together, in one round trip and one consistent snapshot: a
    /// result each, in order. With a key to confirm, the check runs first in the same
    /// batch.
    pub(crate) async fn read(
        &self,
        mut statements: Vec<D1PreparedStatement>,
    ) -> ApiResult<Vec<D1Result>> {
        let key = self.key_to_confirm.borrow_mut().take();
        if let Some(hash) = &key {
            statements.insert(0, self.stmt(sql::API_KEY_LIVE, &[s(hash)])?);
        }
        let mut results = match statements.as_slice() {
            // A batch of one costs an extra round of JavaScript: run it alone.
            [_] => match self
                .faults
                .around(Call::D1Read, statements.remove(0).all())
                .await
            {
                Ok(result) => vec![result],
                Err(e) => return Err(self.read_failed(e)),
            },
            _ => match self
                .faults
                .around(Call::D1Read, self.db.batch(statements))
                .await
            {
                Ok(results) => results,
                Err(e) => return Err(self.read_failed(e)),
            },
        };
        self.costs.add(&results);
        if let Some(hash) = key {
            let live = results.remove(0);
            if live.results::<Live>()?.is_empty() {
                return Err(key_revoked(&hash));
            }
        }
        Ok(results)
    }

    /// The refusal of a statement the shard's schema does not have (see [`schema_missing`];
    /// the operators' health check names the migrations it lacks).
    fn not_migrated(&self) -> ApiError {
        ApiError::NotReady(format!(
            "shard {} lacks a table or column this Worker uses: it is not migrated to the Worker's schema",
            self.shard
        ))
    }

    fn read_failed(&self, e: worker::Error) -> ApiError {
        self.costs.add_failed_round_trip();
        let text = e.to_string();
        if schema_missing(&text) {
            return self.not_migrated();
        }
        ApiError::Internal(format!("D1 read: {text}"))
    }

    /// Runs one statement that writes: how many rows it returned. A statement that must
    /// tell how many rows it changed says so in its `RETURNING` clause: D1's
    /// `meta.changes` also counts the rows its triggers changed.
    pub(crate) async fn run(&self, stmt: D1PreparedStatement) -> ApiResult<usize> {
        Ok(self.returning::<serde_json::Value>(stmt).await?.len())
    }

    /// Runs one statement that writes: the rows of its `RETURNING` clause, each read as a
    /// `T`. Until D1 answers, the write is in doubt (see `Costs::write_may_have_happened`).
    pub(crate) async fn returning<T: DeserializeOwned>(
        &self,
        stmt: D1PreparedStatement,
    ) -> ApiResult<Vec<T>> {
        let sent = async {
            self.costs.write_sent();
            stmt.run().await
        };
        let result = match self.faults.around(Call::D1Write, sent).await {
            Ok(result) => {
                self.costs.write_answered(true);
                result
            }
            Err(e) => {
                self.costs.add_failed_round_trip();
                let text = e.to_string();
                if schema_missing(&text) {
                    self.costs.write_answered(false);
                    return Err(self.not_migrated());
                }
                return Err(ApiError::Internal(format!("D1 write: {text}")));
            }
        };
        self.costs.add(std::slice::from_ref(&result));
        Ok(result.results()?)
    }

    /// Runs one statement: its first row, if any.
    pub(crate) async fn first<T: DeserializeOwned>(
        &self,
        stmt: D1PreparedStatement,
    ) -> ApiResult<Option<T>> {
        Ok(self.rows(stmt).await?.into_iter().next())
    }

    /// Runs `statements` as one transaction. A uniqueness or guard refusal is
    /// [`Refused`]; with a key to confirm, the transaction fails on a revoked key (401);
    /// any other failure is an internal error.
    pub async fn commit(
        &self,
        mut statements: Vec<D1PreparedStatement>,
    ) -> ApiResult<Result<(), Refused>> {
        if statements.is_empty() {
            return Ok(Ok(()));
        }
        let key = self.key_to_confirm.borrow_mut().take();
        if let Some(hash) = &key {
            statements.insert(0, self.stmt(sql::API_KEY_GUARD, &[s(hash)])?);
        }
        // Marked in doubt only once sent: a future does nothing until polled.
        let sent = async {
            self.costs.write_sent();
            self.db.batch(statements).await
        };
        match self.faults.around(Call::D1Write, sent).await {
            Ok(results) => {
                self.costs.write_answered(true);
                self.costs.add(&results);
                Ok(Ok(()))
            }
            Err(e) => {
                self.costs.add_failed_round_trip();
                let text = e.to_string();
                // D1's refusals: the transaction rolled back, nothing was written.
                let refused = if text.contains("UNIQUE constraint failed: apps.client_id") {
                    Ok(Err(Refused::ClientIdTaken))
                } else if text.contains("UNIQUE constraint failed: idempotency_keys.") {
                    Ok(Err(Refused::KeyTaken))
                } else if text.contains(apps::GUARD_FAILED) {
                    Ok(Err(Refused::StateMoved))
                } else if let Some(hash) = key.filter(|_| text.contains(KEY_REVOKED)) {
                    Err(key_revoked(&hash))
                } else if schema_missing(&text) {
                    // Refused before it ran: the transaction wrote nothing.
                    Err(self.not_migrated())
                } else {
                    // Anything else may have come after the commit: the write stays in
                    // doubt (see `Costs::write_may_have_happened`).
                    return Err(ApiError::Internal(format!("D1 write: {text}")));
                };
                self.costs.write_answered(false);
                refused
            }
        }
    }
}
