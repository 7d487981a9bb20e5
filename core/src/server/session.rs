//! A request's use of one database: the confirmation of its API key, spliced into its first
//! call, and the reading of refused transactions.
//!
//! A Worker isolate keeps the API keys it has looked up (their hash and where they lead),
//! so a warm request makes one round trip. A kept key may have been revoked since, so the
//! request's first call to its database confirms it in the same round trip: a read runs in
//! one snapshot with [`sql::API_KEY_LIVE`], a write's transaction starts with
//! [`sql::API_KEY_GUARD`], which fails it. A key revoked a moment ago is refused on its
//! next request.
//!
//! Every write goes through [`Session::commit`], which tells the protocol's refusals (the
//! transaction rolled back: [`Refused`]) from failures that may have come after the commit
//! (then the request's [`Writes`] say the write may have happened).

use crate::server::failure::Failure;
use crate::server::sql;
use crate::server::storage::{
    rows_as, schema_missing, Database, Refusal, Results, Row, Statement, StorageError,
};
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Why a transaction wrote nothing, when that is part of the protocol rather than a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// A freshly minted client id exists already in the shard: mint again.
    ClientIdTaken,
    /// Another request claimed the `Idempotency-Key` first: answer as it did.
    KeyTaken,
    /// A guarded statement found the row changed or gone since it was read: read again.
    StateMoved,
}

/// The refusal of a key found revoked (or unknown).
pub const KEY_REFUSED: &str = "the API key is unknown or revoked";

/// What the writes of one request came to, over all the databases it used: whether one
/// may have happened, so that a failure after it cannot say that nothing was changed.
#[derive(Debug, Default)]
pub struct Writes {
    /// Writes sent whose outcome is not known: no answer came back.
    in_doubt: Cell<u32>,
    /// Writes the database answered as committed.
    committed: Cell<u32>,
}

impl Writes {
    /// Whether a write of the request was committed, or was sent and its answer lost.
    pub fn may_have_happened(&self) -> bool {
        self.in_doubt.get() > 0 || self.committed.get() > 0
    }

    fn sent(&self) {
        self.in_doubt.set(self.in_doubt.get() + 1);
    }

    fn answered(&self, committed: bool) {
        self.in_doubt.set(self.in_doubt.get().saturating_sub(1));
        if committed {
            self.committed.set(self.committed.get() + 1);
        }
    }
}

/// One database as one request uses it.
pub struct Session<D> {
    db: D,
    writes: Rc<Writes>,
    /// The hash of the request's API key, still to be confirmed live.
    key_to_confirm: RefCell<Option<String>>,
}

impl<D: Database> Session<D> {
    /// `db`, its writes counted into `writes` (shared by the request's sessions).
    pub fn new(db: D, writes: Rc<Writes>) -> Self {
        Self {
            db,
            writes,
            key_to_confirm: RefCell::new(None),
        }
    }

    /// The database.
    pub fn database(&self) -> &D {
        &self.db
    }

    /// Has the next call confirm that the API key with hash `key_hash` is live, in the
    /// same round trip (see the module's docs); [`Session::finish_key_check`] confirms it
    /// for a request that made no call.
    pub fn confirm_key(&self, key_hash: String) {
        *self.key_to_confirm.borrow_mut() = Some(key_hash);
    }

    /// Confirms the API key now if no call of the request has (a request refused before
    /// it reached the database, or replayed from KV).
    pub async fn finish_key_check(&self) -> Result<(), Failure> {
        if self.key_to_confirm.borrow().is_none() {
            return Ok(());
        }
        self.read(Vec::new()).await.map(drop)
    }

    /// Runs read statements together, in one round trip and one snapshot: the rows of
    /// each, in order. With a key to confirm, its check runs first in the same call.
    pub async fn read(&self, mut statements: Vec<Statement>) -> Result<Results, Failure> {
        let key = self.key_to_confirm.borrow_mut().take();
        if let Some(hash) = &key {
            statements.insert(0, Statement::new(sql::API_KEY_LIVE, vec![hash.into()]));
        }
        let count = statements.len();
        let read = self.db.read(statements).await;
        if read.is_err() {
            // The check did not happen: the next call makes it.
            *self.key_to_confirm.borrow_mut() = key.clone();
        }
        let mut results = read.map_err(|e| self.failed("read", e))?;
        if results.len() != count {
            return Err(Failure::Internal(format!(
                "{count} reads answered with {} results",
                results.len()
            )));
        }
        if key.is_some() && results.remove(0).is_empty() {
            return Err(Failure::Unauthorized(KEY_REFUSED));
        }
        Ok(results)
    }

    /// The failure of a call: a schema behind the server's is the deployment's (not
    /// ready), anything else unexpected.
    fn failed(&self, call: &str, e: StorageError) -> Failure {
        if schema_missing(&e) {
            Failure::NotReady(format!(
                "shard {} lacks a table or column this Worker uses: it is not migrated to the Worker's schema",
                self.db.name()
            ))
        } else {
            Failure::Internal(format!("{call} of {}: {e}", self.db.name()))
        }
    }

    /// Runs one read statement: its rows.
    pub async fn read_one(&self, statement: Statement) -> Result<Vec<Row>, Failure> {
        Ok(self.read(vec![statement]).await?.pop().unwrap_or_default())
    }

    /// Runs one read statement: its rows, each read as a `T`.
    pub async fn rows<T: DeserializeOwned>(&self, statement: Statement) -> Result<Vec<T>, Failure> {
        Ok(rows_as(self.read_one(statement).await?)?)
    }

    /// Runs one read statement: its first row as a `T`, if any.
    pub async fn first<T: DeserializeOwned>(
        &self,
        statement: Statement,
    ) -> Result<Option<T>, Failure> {
        Ok(self.rows(statement).await?.into_iter().next())
    }

    /// Runs `statements` as one transaction: the rows each returned, or the protocol's
    /// refusal (nothing was written). With a key to confirm, the transaction fails on a
    /// revoked key (401). Any other failure may have come after the commit: it is counted
    /// in doubt.
    pub async fn commit(
        &self,
        mut statements: Vec<Statement>,
    ) -> Result<Result<Results, Refused>, Failure> {
        if statements.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let key = self.key_to_confirm.borrow_mut().take();
        let guarded = key.is_some();
        if let Some(hash) = &key {
            statements.insert(0, Statement::new(sql::API_KEY_GUARD, vec![hash.into()]));
        }
        self.writes.sent();
        match self.db.write(statements).await {
            Ok(mut results) => {
                self.writes.answered(true);
                if guarded && !results.is_empty() {
                    results.remove(0);
                }
                Ok(Ok(results))
            }
            Err(e) => {
                let refused = match Refusal::of(&e) {
                    Some(Refusal::ClientIdTaken) => Refused::ClientIdTaken,
                    Some(Refusal::KeyTaken) => Refused::KeyTaken,
                    Some(Refusal::StateMoved) => Refused::StateMoved,
                    Some(Refusal::KeyRevoked) if guarded => {
                        self.writes.answered(false);
                        return Err(Failure::Unauthorized(KEY_REFUSED));
                    }
                    // Refused before it ran: the transaction wrote nothing.
                    None if schema_missing(&e) => {
                        self.writes.answered(false);
                        return Err(self.failed("write", e));
                    }
                    // Anything else may have come after the commit: the write stays in
                    // doubt.
                    Some(Refusal::KeyRevoked) | None => return Err(self.failed("write", e)),
                };
                self.writes.answered(false);
                // Rolled back with its check: the request's next attempt is guarded again.
                *self.key_to_confirm.borrow_mut() = key;
                Ok(Err(refused))
            }
        }
    }

    /// Runs `statements` as one transaction where no refusal is expected: a refusal is an
    /// internal error.
    pub async fn commit_all(&self, statements: Vec<Statement>) -> Result<Results, Failure> {
        self.commit(statements).await?.map_err(|refused| {
            Failure::Internal(format!("a write was refused unexpectedly ({refused:?})"))
        })
    }
}
