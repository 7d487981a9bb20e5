//! `Idempotency-Key` on every POST: one mechanism that every route goes through.
//!
//! 1. [`begin`]: parse the header, fingerprint the request, and look in KV. A recorded
//!    response for the same request is replayed at once; a key recorded for another
//!    request is a conflict. A miss is not trusted (KV lags): the request proceeds.
//! 2. The route does its work and hands [`commit`] its writes and its response. The claim
//!    on the key, holding the sealed response, is inserted in the same D1 transaction as
//!    the writes. Of any number of concurrent requests with one key exactly one insert
//!    succeeds; the others roll back entirely and replay what the winner recorded.
//! 3. A request refused before its operation (validation, 404) records nothing:
//!    [`refuse`] only checks that the key is not someone else's.
//!
//! The decisions themselves are `connect_core::idempotency`'s pure functions.

use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::routes::Cx;
use crate::store::d1::{ClaimRow, Commit, Store, Taken};
use crate::store::kv::Kv;
use connect_core::idempotency::{
    decide, expiry, ClaimState, Decision, Fingerprint, IdempotencyKey, KeptResponse, KvRecord,
    StoredResponse,
};
use connect_core::ids::WorkspaceId;
use connect_core::sealed::{SealContext, SealingKey};
use connect_core::time::Timestamp;
use serde_json::Value;
use worker::{D1PreparedStatement, Request, Response};

/// A request that carries a valid `Idempotency-Key`.
pub struct Guard {
    workspace: WorkspaceId,
    key: IdempotencyKey,
    key_hash: String,
    fingerprint: Fingerprint,
}

/// What [`begin`] found.
pub enum Begin {
    /// The same request was answered: here is that answer again.
    Replay(Response),
    /// Go on, under the guard of the key if one was sent.
    Proceed(Option<Guard>),
}

/// What [`commit`] did.
pub enum Outcome {
    /// The answer to send: this request's, or the recorded one of the request that won
    /// the key.
    Send(Response),
    /// A minted client id was taken; nothing was written: mint again and retry.
    ClientIdTaken,
    /// The guarded write changed no row (the app changed or went away since it was
    /// read); nothing was written or recorded.
    Unchanged,
}

/// A request's writes, for [`commit`].
pub struct Writes {
    /// The statements, run in order in one transaction.
    pub statements: Vec<D1PreparedStatement>,
    /// When true, the request happened only if the last statement changed a row: if it
    /// changed none, no response is recorded and [`Outcome::Unchanged`] is returned.
    pub guarded: bool,
}

/// Reads the header and consults KV. `path` and `body` are what the fingerprint covers
/// (`body` is `None` for routes without one).
pub async fn begin(
    cx: &Cx,
    req: &Request,
    workspace: &WorkspaceId,
    path: &str,
    body: Option<&Value>,
) -> ApiResult<Begin> {
    let Some(raw) = req.headers().get("idempotency-key")? else {
        return Ok(Begin::Proceed(None));
    };
    let key = IdempotencyKey::parse(&raw)?;
    let guard = Guard {
        workspace: workspace.clone(),
        key_hash: key.hash(),
        fingerprint: Fingerprint::of(&req.inner().method(), path, body),
        key,
    };
    if let Some(record) = kv_record(cx, &guard).await {
        match decide(Some(&record.claim_state()), &guard.fingerprint, cx.now) {
            Decision::Replay => {
                // A record that does not open (rotated key, corruption) is not trusted:
                // D1 decides instead.
                if let Ok(stored) = guard.open(&config::sealing_key(&cx.env)?, &record.response) {
                    return Ok(Begin::Replay(replay(&stored)?));
                }
            }
            Decision::Conflict => return Err(ApiError::IdempotencyConflict),
            Decision::Process | Decision::Expired | Decision::InProgress => {}
        }
    }
    Ok(Begin::Proceed(Some(guard)))
}

async fn kv_record(cx: &Cx, guard: &Guard) -> Option<KvRecord> {
    Kv::new(&cx.env)?
        .get(&guard.key.kv_name(&guard.workspace))
        .await
}

/// The error for a request refused before its operation. Nothing is recorded, so the
/// caller can fix the request and retry with the same key; but a key already used for
/// another request is reported as the conflict it is.
pub async fn refuse(guard: Option<&Guard>, cx: &Cx, store: &Store, err: ApiError) -> ApiError {
    let Some(guard) = guard else { return err };
    match store.find_claim(&guard.workspace, &guard.key_hash).await {
        Ok(Some(row)) if guard.decide(&row, cx.now) == Decision::Conflict => {
            ApiError::IdempotencyConflict
        }
        _ => err,
    }
}

/// Writes `writes` (one transaction, with the claim if the request has a key) and answers
/// with `response`.
pub async fn commit(
    cx: &mut Cx,
    store: &Store,
    guard: Option<&Guard>,
    writes: Writes,
    response: StoredResponse,
) -> ApiResult<Outcome> {
    let Writes {
        statements: writes,
        guarded,
    } = writes;
    let mut statements = Vec::with_capacity(writes.len() + 2);
    if let Some(g) = guard {
        statements.push(store.release_expired_claim(&g.workspace, &g.key_hash, cx.now)?);
    }
    let last_write = (statements.len() + writes.len()).saturating_sub(1);
    statements.extend(writes);
    let mut record = None;
    if let Some(g) = guard {
        let sealed = g.seal(&response, cx).await?;
        let expires_at = expiry(cx.now);
        statements.push(store.claim(
            &g.workspace,
            &g.key_hash,
            g.fingerprint.as_str(),
            &sealed,
            cx.now,
            expires_at,
            guarded,
        )?);
        record = Some(KvRecord {
            fingerprint: g.fingerprint.clone(),
            expires_at: expires_at.millis(),
            response: sealed,
        });
    }
    if statements.is_empty() {
        return Ok(Outcome::Send(respond(&response, false)?));
    }
    match store.commit(statements, last_write).await? {
        Commit::Done { changes } if guarded && changes == 0 => Ok(Outcome::Unchanged),
        Commit::Done { .. } => {
            if let (Some(g), Some(record)) = (guard, record) {
                remember(cx, g, record);
            }
            Ok(Outcome::Send(respond(&response, false)?))
        }
        Commit::Taken(Taken::ClientId) => Ok(Outcome::ClientIdTaken),
        Commit::Taken(Taken::IdempotencyKey) => {
            let g = guard
                .ok_or_else(|| ApiError::Internal("idempotency conflict without a key".into()))?;
            g.settle(cx, store).await.map(Outcome::Send)
        }
    }
}

impl Guard {
    fn context(&self) -> SealContext<'_> {
        SealContext::StoredResponse {
            workspace: &self.workspace,
            key_hash: &self.key_hash,
        }
    }

    /// The response as kept in D1 and KV: JSON of a `KeptResponse`, secrets sealed (by the
    /// runtime's WebCrypto: they are thousands of bytes for a batch, see `webcrypto`).
    async fn seal(&self, response: &StoredResponse, cx: &mut Cx) -> ApiResult<String> {
        let job = KeptResponse::prepare(response, self.context(), &mut cx.random);
        let key = config::native_sealing_key(&cx.env).await?;
        let sealed = key
            .seal(job.seal_job())
            .await
            .map_err(|e| ApiError::Internal(format!("WebCrypto AES-GCM: {e:?}")))?;
        Ok(serde_json::to_string(&job.finish(sealed))?)
    }

    fn open(&self, key: &SealingKey, kept: &str) -> ApiResult<StoredResponse> {
        let kept: KeptResponse = serde_json::from_str(kept)?;
        Ok(kept.open(key, self.context())?)
    }

    fn decide(&self, row: &ClaimRow, now: Timestamp) -> Decision {
        let state = ClaimState {
            fingerprint: Fingerprint::from_stored(row.fingerprint.clone()),
            expires_at: Timestamp::from_millis(row.expires_at as i64),
            // The response is written in the same transaction as the claim.
            completed: true,
        };
        decide(Some(&state), &self.fingerprint, now)
    }

    /// Another request holds the key: answer as its record says.
    async fn settle(&self, cx: &mut Cx, store: &Store) -> ApiResult<Response> {
        let Some(row) = store.find_claim(&self.workspace, &self.key_hash).await? else {
            // The claim vanished between our failed insert and this read (it expired
            // and was purged): the caller's retry will find the key free.
            return Err(ApiError::IdempotencyInProgress);
        };
        match self.decide(&row, cx.now) {
            Decision::Replay => {
                let stored = self.open(&config::sealing_key(&cx.env)?, &row.response)?;
                let record = KvRecord {
                    fingerprint: self.fingerprint.clone(),
                    expires_at: row.expires_at as i64,
                    response: row.response,
                };
                remember(cx, self, record);
                replay(&stored)
            }
            Decision::Conflict => Err(ApiError::IdempotencyConflict),
            Decision::InProgress | Decision::Expired | Decision::Process => {
                Err(ApiError::IdempotencyInProgress)
            }
        }
    }
}

/// Puts the record in KV after the response is sent.
fn remember(cx: &Cx, guard: &Guard, record: KvRecord) {
    let Some(kv) = Kv::new(&cx.env) else { return };
    let name = guard.key.kv_name(&guard.workspace);
    let now = cx.now.millis();
    cx.ctx
        .wait_until(async move { kv.put(&name, &record, now).await });
}

fn respond(stored: &StoredResponse, replayed: bool) -> ApiResult<Response> {
    http::stored(stored, replayed)
}

fn replay(stored: &StoredResponse) -> ApiResult<Response> {
    respond(stored, true)
}
