//! The one mechanism every write goes through, and with it `Idempotency-Key` on every POST.
//!
//! A write hands [`perform`] an [`Operation`]: what it does in one attempt (read what it
//! needs, decide, and return its statements and its answer as data). `perform` owns the
//! rest, so no write can forget a step:
//!
//! 1. On a POST with an `Idempotency-Key`, it parses the key, fingerprints the request and
//!    looks in the key-value store: a recorded answer to the same request is replayed at
//!    once, a key recorded for another request is a conflict. A miss is not trusted (KV
//!    lags).
//! 2. It runs an attempt and commits its statements in one transaction, together with the
//!    key's claim holding the sealed answer. Of any number of concurrent requests with
//!    one key exactly one transaction commits; the others roll back entirely and replay
//!    what the winner recorded.
//! 3. When the transaction is refused because a minted client id was taken or the state
//!    changed since the attempt read it, nothing was written: it attempts again, for as
//!    long as [`ATTEMPT_FOR_MS`]. A rotation does not depend on what it read and a merge
//!    applies to whatever it finds, so contention alone fails nothing.
//! 4. A request refused before it wrote (a validation 400, a 404) records nothing, so the
//!    caller can fix it and retry with the same key; but a key already used for another
//!    request is reported as the conflict it is, and a key this request itself claimed
//!    earlier (its answer lost) replays that answer.
//! 5. A failure after the transaction was sent cannot tell whether it committed; the
//!    request's [`Writes`](super::session::Writes) say so, and a retry with the same key
//!    finds the claim if it did: the original answer is replayed, never performed twice.
//!
//! Which request is idempotent is decided here: every POST. An attempt may also write to
//! another shard first ([`Elsewhere`]: the operators' writes put a workspace in its shard
//! before the directory's transaction lists it) and drop key-value entries first (the
//! re-seal's copies of the records it moves); both are data that `perform` carries out.

use crate::rules::idempotency::{Fingerprint, IdempotencyKey};
use crate::rules::random::Entropy;
use crate::server::failure::Failure;
use crate::server::idempotency::{decide, expiry, Decision};
use crate::server::recorded::{KvRecord, RecordedResponse};
use crate::server::seal::{KeyRing, SealContext, SealJob, Sealed};
use crate::server::session::{Refused, Session};
use crate::server::storage::{Database, KeyValue, KvPut, Statement};
use crate::server::tables::claims;
use crate::wire::time::Timestamp;
use serde_json::Value;

/// How long a write goes on attempting while its transaction is refused because the state
/// it read moved (or a minted client id was taken), in milliseconds from the request's
/// arrival; then the caller gets 409 and retries later. Not a count of attempts: each
/// refusal means another change committed in between, so a burst of N concurrent changes
/// of one app needs up to N attempts, and contention alone must not fail a request.
pub const ATTEMPT_FOR_MS: i64 = 30_000;

/// KV refuses an expiry under 60 seconds.
const MIN_TTL_SECONDS: i64 = 60;

/// The scope of the keys of the operators' admin API.
pub const OPERATORS: &str = "operators";

/// What the server runs on, as a write sees it: the databases of the shards, the
/// key-value store, a clock, and how the recorded answer is sealed.
#[allow(async_fn_in_trait)]
pub trait Backend {
    /// A database.
    type Db: Database;
    /// The key-value store.
    type Kv: KeyValue;

    /// The time now: how long a write has been attempting.
    fn clock(&self) -> Timestamp;

    /// The key-value store of recorded answers, if there is one.
    fn kv(&self) -> Option<&Self::Kv>;

    /// The database of shard `name`, at its primary, its writes counted with the
    /// request's.
    fn shard(&self, name: &str) -> Result<Session<Self::Db>, Failure>;

    /// Seals a recorded answer under the ring's primary key (the Worker does it through
    /// the runtime's WebCrypto: see its `webcrypto` module).
    async fn seal(&self, ring: &KeyRing, job: &SealJob) -> Result<Sealed, Failure> {
        Ok(ring.seal_job(job))
    }
}

/// What an attempt works with: where it runs, the key ring, the request's time and
/// randomness.
pub struct Tools<'a, B: Backend> {
    /// The shards and the key-value store.
    pub backend: &'a B,
    /// The key ring that seals and opens secrets.
    pub ring: &'a KeyRing,
    /// When the request arrived: every timestamp it writes.
    pub now: Timestamp,
    /// Randomness for ids, secrets and nonces.
    pub random: &'a mut dyn Entropy,
}

/// Statements written to another shard before the transaction, and how to undo them.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    /// The shard.
    pub shard: String,
    /// Its statements, in one transaction of their own.
    pub statements: Vec<Statement>,
    /// What removes them again if the transaction is then refused (nothing leads to them
    /// until it commits); empty when there is nothing to undo.
    pub undo: Vec<Statement>,
}

/// A write one attempt decided.
#[derive(Debug, Clone)]
pub struct Write {
    /// The statements, run in order in one transaction with the key's claim.
    pub statements: Vec<Statement>,
    /// The answer, recorded under the key if the request has one.
    pub answer: RecordedResponse,
    /// Written first to another shard, if anything.
    pub elsewhere: Option<Elsewhere>,
    /// Key-value entries removed before the transaction.
    pub kv_deletes: Vec<String>,
}

impl Write {
    /// `statements`, then `answer`; nothing elsewhere.
    pub fn new(statements: Vec<Statement>, answer: RecordedResponse) -> Self {
        Self {
            statements,
            answer,
            elsewhere: None,
            kv_deletes: Vec::new(),
        }
    }
}

/// What one attempt of a write decided.
#[derive(Debug, Clone)]
pub enum Attempt {
    /// Write, then answer.
    Write(Write),
    /// Nothing to write (a PATCH that changes nothing): answer at once.
    Answer(RecordedResponse),
}

/// A write, one attempt at a time.
#[allow(async_fn_in_trait)]
pub trait Operation<B: Backend> {
    /// Reads what it needs from `db` (the database the transaction goes to) and decides:
    /// the write and the answer, or a refusal.
    async fn attempt(
        &mut self,
        db: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure>;
}

/// A write request, as [`perform`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path, as the fingerprint covers it.
    pub path: &'a str,
    /// The body, if the route takes one.
    pub body: Option<&'a Value>,
    /// The `Idempotency-Key` header, if sent.
    pub key: Option<&'a str>,
    /// Where the key belongs: a workspace id, or [`OPERATORS`].
    pub scope: &'a str,
}

/// What a write came to.
#[derive(Debug, Clone)]
pub struct Performed {
    /// The answer.
    pub answer: RecordedResponse,
    /// Whether it is the recorded answer of an earlier request with the same key.
    pub replayed: bool,
    /// The key-value copy of the record to write once the answer is sent, if any.
    pub remember: Option<KvPut>,
}

impl Performed {
    fn fresh(answer: RecordedResponse, remember: Option<KvPut>) -> Self {
        Self {
            answer,
            replayed: false,
            remember,
        }
    }

    fn replay(answer: RecordedResponse, remember: Option<KvPut>) -> Self {
        Self {
            answer,
            replayed: true,
            remember,
        }
    }
}

/// Performs `operation` (or answers its refusal) under the rules above, with its
/// transaction in `db`.
pub async fn perform<B: Backend, O: Operation<B>>(
    db: &Session<B::Db>,
    tools: &mut Tools<'_, B>,
    request: WriteRequest<'_>,
    operation: Result<O, Failure>,
) -> Result<Performed, Failure> {
    let guard = match request.key {
        Some(raw) if request.method == "POST" => Some(Guard {
            scope: request.scope.to_owned(),
            key_hash: IdempotencyKey::parse(raw)?.hash(),
            fingerprint: Fingerprint::of(request.method, request.path, request.body),
        }),
        _ => None,
    };
    if let Some(g) = &guard {
        if let Some(replay) = g.replay_from_kv(tools).await? {
            return Ok(replay);
        }
    }
    let mut operation = match operation {
        Ok(operation) => operation,
        Err(e) => return refuse(guard.as_ref(), db, tools, e).await,
    };
    loop {
        if tools.backend.clock().millis() - tools.now.millis() > ATTEMPT_FOR_MS {
            return Err(Failure::Conflict(
                "the app kept changing while this request was applied; retry",
            ));
        }
        let write = match operation.attempt(db, tools).await {
            Ok(Attempt::Write(write)) => write,
            Ok(Attempt::Answer(answer)) => Write::new(Vec::new(), answer),
            Err(e) => return refuse(guard.as_ref(), db, tools, e).await,
        };
        let Write {
            statements,
            answer,
            elsewhere,
            kv_deletes,
        } = write;
        if let Some(kv) = tools.backend.kv() {
            for name in &kv_deletes {
                kv.delete(name).await;
            }
        }
        let elsewhere = match elsewhere {
            Some(elsewhere) => {
                let shard = tools.backend.shard(&elsewhere.shard)?;
                match shard.commit(elsewhere.statements).await? {
                    Ok(_) => Some((shard, elsewhere.undo)),
                    Err(_) => continue,
                }
            }
            None => None,
        };
        let outcome = match &guard {
            None => db.commit(statements).await?.map(|_| None),
            Some(g) => g.commit(db, tools, statements, &answer).await?,
        };
        if outcome.is_err() {
            if let Some((shard, undo)) = elsewhere {
                // Best effort: what it leaves is unreachable (nothing leads to it).
                let _ = shard.commit(undo).await;
            }
        }
        match outcome {
            Ok(remember) => return Ok(Performed::fresh(answer, remember)),
            Err(Refused::ClientIdTaken | Refused::StateMoved) => continue,
            Err(Refused::KeyTaken) => {
                let g = guard.as_ref().ok_or_else(|| {
                    Failure::Internal("a key's claim was refused on a request without one".into())
                })?;
                match g.settle(db, tools).await? {
                    Some(replay) => return Ok(replay),
                    // The claim expired in between: the key is free, attempt again.
                    None => continue,
                }
            }
        }
    }
}

/// The answer to a request refused before it wrote. A key already used for another
/// request turns the refusal into that conflict. A key this very request holds (an earlier
/// attempt of it committed and its answer was lost, then the state moved: the app it
/// changed was deleted since) replays that answer, as KV would have: the request happened,
/// and a retry must say so rather than 404. An internal failure is passed on as it is, and
/// so is the refusal when the claim cannot be read.
async fn refuse<B: Backend>(
    guard: Option<&Guard>,
    db: &Session<B::Db>,
    tools: &Tools<'_, B>,
    failure: Failure,
) -> Result<Performed, Failure> {
    let Some(guard) = guard.filter(|_| !matches!(failure, Failure::Internal(_))) else {
        return Err(failure);
    };
    match guard.settle(db, tools).await {
        Ok(Some(replay)) => Ok(replay),
        // The key is free, or its claim could not be read: the refusal stands.
        Ok(None) | Err(Failure::Internal(_)) => Err(failure),
        // The key is another request's; the read found the API key revoked; the recorded
        // answer did not open.
        Err(other) => Err(other),
    }
}

/// A request that carries a valid `Idempotency-Key`.
struct Guard {
    scope: String,
    key_hash: String,
    fingerprint: Fingerprint,
}

impl Guard {
    fn context(&self) -> SealContext<'_> {
        SealContext::RecordedResponse {
            scope: &self.scope,
            key_hash: &self.key_hash,
        }
    }

    /// The key-value entry's name.
    fn kv_name(&self) -> String {
        record_name(&self.scope, &self.key_hash)
    }

    /// The recorded answer in the key-value store, if it is this request's; a conflict if
    /// the key is another request's. A record that does not read or open is not trusted:
    /// the database decides.
    async fn replay_from_kv<B: Backend>(
        &self,
        tools: &Tools<'_, B>,
    ) -> Result<Option<Performed>, Failure> {
        let Some(kv) = tools.backend.kv() else {
            return Ok(None);
        };
        let Some(text) = kv.get(&self.kv_name()).await else {
            return Ok(None);
        };
        let Ok(record) = serde_json::from_str::<KvRecord>(&text) else {
            return Ok(None);
        };
        match decide(Some(&record.claim()), &self.fingerprint, tools.now) {
            Decision::Replay => {
                match RecordedResponse::open(&record.response, tools.ring, self.context()) {
                    Ok(answer) => Ok(Some(Performed::replay(answer, None))),
                    Err(_) => Ok(None),
                }
            }
            Decision::Conflict => Err(Failure::IdempotencyConflict),
            Decision::Process => Ok(None),
        }
    }

    /// Commits `statements` with the key's claim and the sealed answer, in one
    /// transaction: on success, the key-value copy to write.
    async fn commit<B: Backend>(
        &self,
        db: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
        statements: Vec<Statement>,
        answer: &RecordedResponse,
    ) -> Result<Result<Option<KvPut>, Refused>, Failure> {
        let job = answer.prepare(tools.ring, self.context(), tools.random);
        let sealed = tools.backend.seal(tools.ring, &job).await?;
        let expires_at = expiry(tools.now);
        let mut all = Vec::with_capacity(statements.len() + 2);
        all.push(claims::release_expired(
            &self.scope,
            &self.key_hash,
            tools.now,
        ));
        all.extend(statements);
        all.push(claims::insert(
            &self.scope,
            &self.key_hash,
            &self.fingerprint,
            &sealed,
            tools.now,
            expires_at,
        ));
        Ok(db.commit(all).await?.map(|_| {
            self.kv_put(
                KvRecord {
                    fingerprint: self.fingerprint.clone(),
                    expires_at: expires_at.millis(),
                    response: sealed,
                },
                tools.now,
            )
        }))
    }

    /// Another request claimed the key first: its answer, if it was this request; `None`
    /// if the claim has expired or gone since, so the key is free.
    async fn settle<B: Backend>(
        &self,
        db: &Session<B::Db>,
        tools: &Tools<'_, B>,
    ) -> Result<Option<Performed>, Failure> {
        let Some(record) = claims::find(db, &self.scope, &self.key_hash).await? else {
            return Ok(None);
        };
        match decide(Some(&record.claim), &self.fingerprint, tools.now) {
            Decision::Replay => {
                let answer = RecordedResponse::open(&record.response, tools.ring, self.context())?;
                let remember = self.kv_put(
                    KvRecord {
                        fingerprint: self.fingerprint.clone(),
                        expires_at: record.claim.expires_at.millis(),
                        response: record.response,
                    },
                    tools.now,
                );
                Ok(Some(Performed::replay(answer, remember)))
            }
            Decision::Conflict => Err(Failure::IdempotencyConflict),
            Decision::Process => Ok(None),
        }
    }

    /// The key-value copy of `record`, kept until it expires.
    fn kv_put(&self, record: KvRecord, now: Timestamp) -> Option<KvPut> {
        let ttl = ((record.expires_at - now.millis()) / 1000).max(MIN_TTL_SECONDS) as u64;
        let text = serde_json::to_string(&record).ok()?;
        Some(KvPut {
            name: self.kv_name(),
            text,
            ttl_seconds: ttl,
        })
    }
}

/// The key-value name of the record of the key with hash `key_hash` in `scope`.
pub fn record_name(scope: &str, key_hash: &str) -> String {
    format!("idem/{scope}/{key_hash}")
}
