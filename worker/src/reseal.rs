//! The re-seal: stored values sealed under older keys of the ring sealed again under its
//! primary, one bounded chunk at a time: on demand (`POST /admin/v1/secrets-keys/reseal`,
//! [`crate::routes::admin`]) and every minute from the scheduled handler ([`run`]).
//!
//! A chunk reads the next [`WINDOW`](reseal::WINDOW) rows of apps and of idempotency records from the
//! walk's cursors and writes, in one transaction, what it moved and the cursors. An app or
//! record that changed since the chunk read it fails the transaction and the chunk is read
//! again: a re-seal never writes over a newer value (a rotated secret stays rotated).
//! Each shard has its own walk; a chunk is in one shard.
//!
//! KV holds copies of recent idempotency records. A chunk deletes the copies of the
//! records it moves before its transaction: KV is only a shortcut, a miss falls through to
//! D1, which holds the record under whichever key the transaction left it.

use crate::config;
use crate::error::ApiResult;
use crate::store::kv::{record_name, Kv};
use crate::store::{Refused, Store};
use connect_core::rules::random::Entropy;
use connect_core::server::reseal::{self, RecordRow};
use connect_core::wire::response::ResealProgress;
use futures_util::future::join_all;
use worker::{console_error, console_log, D1PreparedStatement, Env};

/// One chunk of the re-seal: what to write, and what it will have done.
pub struct Chunk {
    /// The writes, in one transaction.
    pub statements: Vec<D1PreparedStatement>,
    /// The answer once they are written.
    pub progress: ResealProgress,
}

/// Reads the next window and decides the chunk; drops the KV copies of the records it
/// moves.
pub async fn next_chunk(env: &Env, store: &Store, entropy: &mut dyn Entropy) -> ApiResult<Chunk> {
    let ring = config::key_ring(env)?;
    let window = store.reseal_window(ring.primary_id()).await?;
    if reseal::remaining(&ring, &window.counts) == 0 {
        // Nothing to move: the walk stays where it is.
        return Ok(Chunk {
            statements: Vec::new(),
            progress: ResealProgress {
                resealed: 0,
                remaining: 0,
            },
        });
    }
    let plan = reseal::plan(
        &ring,
        &window.apps,
        &window.records,
        &window.counts,
        entropy,
    );
    forget_kv_copies(env, &plan.records).await;
    Ok(Chunk {
        statements: store.reseal_writes(&plan, window.apps_cursor, window.records_cursor)?,
        progress: plan.progress,
    })
}

async fn forget_kv_copies(env: &Env, records: &[RecordRow]) {
    let Some(kv) = Kv::new(env) else { return };
    let names: Vec<String> = records
        .iter()
        .map(|r| record_name(&r.scope, &r.key_hash))
        .collect();
    join_all(names.iter().map(|name| kv.delete(name))).await;
}

/// Chunks one scheduled run does at most, over all shards. A chunk costs 5 to 8 D1
/// statements and a KV delete per record it moves (at most [`WINDOW`](reseal::WINDOW)); 8
/// chunks stay well within the 1,000 subrequests of an invocation on the Workers Paid plan
/// and move up to 800 apps and 800 records a minute, 48,000 of each an hour. An operator
/// in a hurry calls the admin route in a loop as well.
const CHUNKS_PER_RUN: usize = 8;

/// Attempts of a chunk whose rows moved while it was decided.
const ATTEMPTS: usize = 5;

/// The scheduled re-seal: chunks, shard after shard, until nothing remains or
/// [`CHUNKS_PER_RUN`]. With nothing to move it costs one read a shard.
pub async fn run(env: &Env, stores: &[Store], entropy: &mut dyn Entropy) {
    let ring = match config::key_ring(env) {
        Ok(ring) => ring,
        Err(e) => return console_error!("re-seal: {e:?}"),
    };
    let mut budget = CHUNKS_PER_RUN;
    for store in stores {
        match store.sealed_counts().await {
            Ok(counts) if reseal::remaining(&ring, &counts) == 0 => continue,
            Err(e) => {
                console_error!("re-seal of {}: {e:?}", store.shard());
                continue;
            }
            Ok(_) => {}
        }
        let mut moved = 0;
        while budget > 0 {
            budget -= 1;
            match one_chunk(env, store, entropy).await {
                Ok(Some(progress)) => {
                    moved += progress.resealed;
                    if progress.remaining == 0 {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    console_error!("re-seal of {}: {e:?}", store.shard());
                    break;
                }
            }
        }
        if moved > 0 {
            console_log!(
                "re-seal of {}: moved {moved} apps and idempotency records to the primary key",
                store.shard()
            );
        }
    }
}

/// One chunk in the first shard with values to move (the admin route): what it moved, and
/// what remains in all shards. A chunk whose rows keep moving moves nothing this time.
pub async fn chunk_in_any_shard(
    env: &Env,
    stores: &[Store],
    entropy: &mut dyn Entropy,
) -> ApiResult<ResealProgress> {
    let ring = config::key_ring(env)?;
    let mut total = ResealProgress {
        resealed: 0,
        remaining: 0,
    };
    let mut done = false;
    for store in stores {
        let left = reseal::remaining(&ring, &store.sealed_counts().await?);
        if done || left == 0 {
            total.remaining += left;
            continue;
        }
        done = true;
        match one_chunk(env, store, entropy).await? {
            Some(progress) => {
                total.resealed = progress.resealed;
                total.remaining += progress.remaining;
            }
            None => total.remaining += left,
        }
    }
    Ok(total)
}

/// One chunk, attempted again while its rows move; `None` if they keep moving.
async fn one_chunk(
    env: &Env,
    store: &Store,
    entropy: &mut dyn Entropy,
) -> ApiResult<Option<ResealProgress>> {
    for _ in 0..ATTEMPTS {
        let chunk = next_chunk(env, store, entropy).await?;
        match store.commit(chunk.statements).await? {
            Ok(()) => return Ok(Some(chunk.progress)),
            Err(Refused::StateMoved | Refused::ClientIdTaken | Refused::KeyTaken) => continue,
        }
    }
    Ok(None)
}
