//! The one mechanism every write goes through, and with it `Idempotency-Key` on every POST.
//!
//! A write route hands [`perform`] an [`Operation`]: what it does in one attempt (read
//! what it needs, decide, and return its statements and its answer). `perform` owns the
//! rest, so no route can forget a step:
//!
//! 1. On a POST with an `Idempotency-Key`, it parses the key, fingerprints the request and
//!    looks in KV: a recorded answer to the same request is replayed at once, a key
//!    recorded for another request is a conflict. A miss is not trusted (KV lags).
//! 2. It runs an attempt and commits its statements in one D1 transaction, together with
//!    the key's claim holding the sealed answer. Of any number of concurrent requests
//!    with one key exactly one transaction commits; the others roll back entirely and
//!    replay what the winner recorded.
//! 3. When the transaction is refused because a minted client id was taken or the app
//!    changed since the attempt read it, nothing was written: it attempts again, for as
//!    long as it takes (see [`ATTEMPT_FOR_MS`]). A rotation does not depend on what it
//!    read and a merge applies to whatever it finds, so contention alone fails nothing.
//! 4. A request refused before it wrote (a validation 400, a 404) records nothing, so the
//!    caller can fix it and retry with the same key; but a key already used for another
//!    request is reported as the conflict it is.
//! 5. A failure after the transaction was sent cannot tell whether it committed; the
//!    500 says so (see `Costs::write_may_have_happened`), and a retry with the same key
//!    finds the claim if it did: the original answer is replayed, never performed twice.
//!
//! Which request is idempotent is decided here, not by the routes: every POST. The
//! decisions themselves are `connect_core::rules::idempotency`'s pure functions.

use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::store::kv::{record_name, Kv};
use crate::store::{Refused, Store};
use connect_core::rules::idempotency::{decide, expiry, Decision, Fingerprint, IdempotencyKey};
use connect_core::server::recorded::{KvRecord, RecordedResponse};
use connect_core::server::seal::{SealContext, Sealed};
use serde_json::Value;
use worker::{D1PreparedStatement, Date, Response};

/// How long a write goes on attempting while its transaction is refused because the state
/// it read moved (or a minted client id was taken), in milliseconds from the request's
/// arrival; then the caller gets 409 and retries later. Not a count of attempts: each
/// refusal means another change of the app committed in between, so a burst of N
/// concurrent changes of one app needs up to N attempts, and contention alone must not
/// fail a request. Only changes arriving without pause for this long can starve one.
const ATTEMPT_FOR_MS: u64 = 30_000;

/// What one attempt of a write decided.
pub enum Attempt {
    /// Commit `statements` in one transaction; then answer `answer`.
    Write {
        /// The statements, run in order in one transaction.
        statements: Vec<D1PreparedStatement>,
        /// The answer, recorded under the key if the request has one.
        answer: RecordedResponse,
    },
    /// Nothing to write (a PATCH that changes nothing): answer at once.
    Answer(RecordedResponse),
}

/// A write route's work, one attempt at a time.
pub trait Operation {
    /// Reads what it needs and decides: the statements and the answer, or a refusal.
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt>;

    /// Undoes what the last attempt wrote outside its transaction, now that the
    /// transaction was refused (another request took the key, or the state moved). Only
    /// the operators' routes write outside it: a workspace or key goes to its shard before
    /// the directory's transaction lists it. Best effort: what it leaves is unreachable.
    async fn abandon(&mut self, _cx: &mut Cx) {}
}

/// A write request, as [`perform`] needs it.
pub struct WriteRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path, as the fingerprint covers it.
    pub path: &'a str,
    /// The body, if the route takes one.
    pub body: Option<&'a Value>,
    /// The `Idempotency-Key` header, if sent.
    pub key: Option<String>,
    /// Where the key belongs: a workspace id, or [`OPERATORS`].
    pub scope: &'a str,
}

/// The scope of the keys of the operators' admin API.
pub const OPERATORS: &str = "operators";

/// Performs `operation` (or answers its refusal) under the rules above.
pub async fn perform<O: Operation>(
    cx: &mut Cx,
    store: &Store,
    request: WriteRequest<'_>,
    operation: ApiResult<O>,
) -> ApiResult<Response> {
    let guard = match request.key {
        Some(raw) if request.method == "POST" => Some(Guard {
            scope: request.scope.to_owned(),
            key_hash: IdempotencyKey::parse(&raw)?.hash(),
            fingerprint: Fingerprint::of(request.method, request.path, request.body),
        }),
        _ => None,
    };
    if let Some(g) = &guard {
        // The answer will be sealed: a key ring that does not parse fails the request
        // here, before an operators' route writes to a shard outside its transaction.
        config::key_ring(&cx.env)?;
        if let Some(replay) = g.replay_from_kv(cx).await? {
            return Ok(replay);
        }
    }
    let mut operation = match operation {
        Ok(operation) => operation,
        Err(e) => return Err(refuse(guard.as_ref(), cx, store, e).await),
    };
    loop {
        let elapsed = Date::now()
            .as_millis()
            .saturating_sub(cx.now.millis() as u64);
        if elapsed > ATTEMPT_FOR_MS {
            return Err(ApiError::Conflict(
                "the app kept changing while this request was applied; retry",
            ));
        }
        let (statements, answer) = match operation.attempt(cx, store).await {
            Ok(Attempt::Write { statements, answer }) => (statements, answer),
            Ok(Attempt::Answer(answer)) => (Vec::new(), answer),
            Err(e) => return Err(refuse(guard.as_ref(), cx, store, e).await),
        };
        let outcome = match &guard {
            None => store.commit(statements).await?,
            Some(g) => g.commit(cx, store, statements, &answer).await?,
        };
        if outcome.is_err() {
            operation.abandon(cx).await;
        }
        match outcome {
            Ok(()) => return http::answer(&answer, false),
            Err(Refused::ClientIdTaken | Refused::StateMoved) => continue,
            Err(Refused::KeyTaken) => {
                let g = guard.as_ref().ok_or_else(|| {
                    ApiError::Internal("a key's claim was refused on a request without one".into())
                })?;
                match g.settle(cx, store).await? {
                    Some(replay) => return Ok(replay),
                    // The claim expired in between: the key is free, attempt again.
                    None => continue,
                }
            }
        }
    }
}

/// The error for a request refused before it wrote. A key already used for another
/// request turns it into that conflict; an internal error is passed on as it is.
async fn refuse(guard: Option<&Guard>, cx: &Cx, store: &Store, err: ApiError) -> ApiError {
    let Some(guard) = guard.filter(|_| !matches!(err, ApiError::Internal(_))) else {
        return err;
    };
    match store.find_claim(&guard.scope, &guard.key_hash).await {
        Ok(Some(record))
            if decide(Some(&record.claim), &guard.fingerprint, cx.now) == Decision::Conflict =>
        {
            ApiError::IdempotencyConflict
        }
        // The read confirmed the request's API key and found it revoked.
        Err(revoked @ ApiError::Unauthorized(_)) => revoked,
        _ => err,
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

    fn kv_name(&self) -> String {
        record_name(&self.scope, &self.key_hash)
    }

    /// The recorded answer in KV, if it is this request's; a conflict if the key is
    /// another request's. A record that does not open is not trusted: D1 decides.
    async fn replay_from_kv(&self, cx: &Cx) -> ApiResult<Option<Response>> {
        let Some(kv) = Kv::new(&cx.env) else {
            return Ok(None);
        };
        let Some(record) = kv.get(&self.kv_name()).await else {
            return Ok(None);
        };
        match decide(Some(&record.claim()), &self.fingerprint, cx.now) {
            Decision::Replay => match self.open(cx, &record.response) {
                Ok(answer) => Ok(Some(http::answer(&answer, true)?)),
                Err(_) => Ok(None),
            },
            Decision::Conflict => Err(ApiError::IdempotencyConflict),
            Decision::Process => Ok(None),
        }
    }

    /// Commits `statements` with the key's claim and the sealed answer, in one
    /// transaction; on success keeps a copy in KV.
    async fn commit(
        &self,
        cx: &mut Cx,
        store: &Store,
        statements: Vec<D1PreparedStatement>,
        answer: &RecordedResponse,
    ) -> ApiResult<Result<(), Refused>> {
        let sealed = self.seal(cx, answer).await?;
        let expires_at = expiry(cx.now);
        let mut all = Vec::with_capacity(statements.len() + 2);
        all.push(store.release_expired_claim(&self.scope, &self.key_hash, cx.now)?);
        all.extend(statements);
        all.push(store.claim(
            &self.scope,
            &self.key_hash,
            &self.fingerprint,
            &sealed,
            cx.now,
            expires_at,
        )?);
        let outcome = store.commit(all).await?;
        if outcome.is_ok() {
            self.remember(
                cx,
                KvRecord {
                    fingerprint: self.fingerprint.clone(),
                    expires_at: expires_at.millis(),
                    response: sealed,
                },
            );
        }
        Ok(outcome)
    }

    /// The answer, compressed and sealed by the runtime's WebCrypto (see `webcrypto`).
    async fn seal(&self, cx: &mut Cx, answer: &RecordedResponse) -> ApiResult<Sealed> {
        let ring = config::key_ring(&cx.env)?;
        let job = answer.prepare(&ring, self.context(), &mut cx.random);
        config::native_primary_key(&cx.env)
            .await?
            .seal(&job)
            .await
            .map_err(|e| ApiError::Internal(format!("WebCrypto AES-GCM: {e:?}")))
    }

    fn open(&self, cx: &Cx, sealed: &Sealed) -> ApiResult<RecordedResponse> {
        let ring = config::key_ring(&cx.env)?;
        Ok(RecordedResponse::open(sealed, &ring, self.context())?)
    }

    /// Another request claimed the key first: its answer, if it was this request; `None`
    /// if the claim has expired or gone since, so the key is free.
    async fn settle(&self, cx: &mut Cx, store: &Store) -> ApiResult<Option<Response>> {
        let Some(record) = store.find_claim(&self.scope, &self.key_hash).await? else {
            return Ok(None);
        };
        match decide(Some(&record.claim), &self.fingerprint, cx.now) {
            Decision::Replay => {
                let answer = self.open(cx, &record.response)?;
                self.remember(
                    cx,
                    KvRecord {
                        fingerprint: self.fingerprint.clone(),
                        expires_at: record.claim.expires_at.millis(),
                        response: record.response,
                    },
                );
                Ok(Some(http::answer(&answer, true)?))
            }
            Decision::Conflict => Err(ApiError::IdempotencyConflict),
            Decision::Process => Ok(None),
        }
    }

    /// Puts the record in KV after the response is sent.
    fn remember(&self, cx: &Cx, record: KvRecord) {
        let Some(kv) = Kv::new(&cx.env) else { return };
        let name = self.kv_name();
        let now = cx.now.millis();
        cx.ctx
            .wait_until(async move { kv.put(&name, &record, now).await });
    }
}
