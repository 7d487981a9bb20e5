//! The re-seal: stored values sealed under older keys of the ring sealed again under its
//! primary, one bounded chunk at a time: on demand (`POST /admin/v1/secrets-keys/reseal`,
//! [`Reseal`]) and every minute from the scheduled handler ([`run`]).
//!
//! A chunk reads the next [`WINDOW`] rows of apps and of idempotency records from the
//! walk's cursors ([`window`]), decides what moves ([`plan`](mod@plan)), and writes, in one
//! transaction, what it moved and the cursors. An app or record that changed since the
//! chunk read it fails the transaction and the chunk is read again: a re-seal never writes
//! over a newer value (a rotated secret stays rotated). Each shard has its own walk; a
//! chunk is in one shard.
//!
//! The key-value store holds copies of recent idempotency records. A chunk drops the copies
//! of the records it moves before its transaction: the copies are only a shortcut, a miss
//! falls through to the database, which holds the record under whichever key the
//! transaction left it.

pub mod plan;
pub mod window;

pub use plan::{
    next_cursor, plan, remaining, secrets_keys, AppKey, AppRow, KeyCount, Plan, RecordRow,
    SealedKind, WINDOW,
};

use crate::rules::random::Entropy;
use crate::server::admin::ResealProgress;
use crate::server::failure::Failure;
use crate::server::perform::{record_name, Attempt, Backend, Elsewhere, Operation, Tools, Write};
use crate::server::recorded::RecordedResponse;
use crate::server::seal::KeyRing;
use crate::server::session::Session;
use crate::server::storage::{Database, KeyValue, Statement};
use crate::server::LogLine;

/// One chunk of the re-seal in one shard: what to write, and what it will have done.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The writes, in one transaction.
    pub statements: Vec<Statement>,
    /// The key-value copies of the records it moves, dropped before the transaction.
    pub kv_deletes: Vec<String>,
    /// The answer once they are written.
    pub progress: ResealProgress,
}

/// Reads the shard's next window and decides its chunk.
pub async fn next_chunk<D: Database>(
    db: &Session<D>,
    ring: &KeyRing,
    entropy: &mut dyn Entropy,
) -> Result<Chunk, Failure> {
    let window = window::read(db, ring.primary_id()).await?;
    if remaining(ring, &window.counts) == 0 {
        // Nothing to move: the walk stays where it is.
        return Ok(Chunk {
            statements: Vec::new(),
            kv_deletes: Vec::new(),
            progress: ResealProgress {
                resealed: 0,
                remaining: 0,
            },
        });
    }
    let plan = plan(ring, &window.apps, &window.records, &window.counts, entropy);
    Ok(Chunk {
        statements: window::writes(&plan, window.apps_cursor, window.records_cursor)?,
        kv_deletes: plan
            .records
            .iter()
            .map(|r| record_name(&r.scope, &r.key_hash))
            .collect(),
        progress: plan.progress,
    })
}

/// What each key seals, over the shards named.
pub async fn counts<B: Backend>(backend: &B, shards: &[String]) -> Result<Vec<KeyCount>, Failure> {
    let mut counts = Vec::new();
    for name in shards {
        counts.extend(window::sealed_counts(&backend.shard(name)?).await?);
    }
    Ok(counts)
}

/// `POST /admin/v1/secrets-keys/reseal`: one chunk in the first shard with values to move;
/// the answer says what it moved and what remains in all shards. The chunk commits in its
/// shard before the claim of the request's key, in the directory's transaction, records
/// the answer; a retry that lost the race has done one more chunk, which only moves what
/// is left to the primary.
#[derive(Debug, Clone)]
pub struct Reseal {
    shards: Vec<String>,
}

impl Reseal {
    /// A chunk in one of `shards`, in their order.
    pub fn new(shards: Vec<String>) -> Self {
        Self { shards }
    }
}

impl<B: Backend> Operation<B> for Reseal {
    async fn attempt(
        &mut self,
        _directory: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let mut progress = ResealProgress {
            resealed: 0,
            remaining: 0,
        };
        let mut chunk_in = None;
        for name in &self.shards {
            let db = tools.backend.shard(name)?;
            let left = remaining(tools.ring, &window::sealed_counts(&db).await?);
            if chunk_in.is_some() || left == 0 {
                progress.remaining += left;
                continue;
            }
            let chunk = next_chunk(&db, tools.ring, tools.random).await?;
            progress.resealed = chunk.progress.resealed;
            progress.remaining += chunk.progress.remaining;
            chunk_in = Some((name.clone(), chunk));
        }
        let answer = RecordedResponse::json(200, &progress)?;
        Ok(Attempt::Write(match chunk_in {
            Some((shard, chunk)) => Write {
                elsewhere: Some(Elsewhere {
                    shard,
                    statements: chunk.statements,
                    undo: Vec::new(),
                }),
                kv_deletes: chunk.kv_deletes,
                ..Write::new(Vec::new(), answer)
            },
            None => Write::new(Vec::new(), answer),
        }))
    }
}

/// Chunks one scheduled run does at most, over all shards. A chunk costs 5 to 8
/// statements and a key-value delete per record it moves (at most [`WINDOW`]); 8 chunks
/// stay well within the 1,000 subrequests of a Worker invocation and move up to 800 apps
/// and 800 records a minute, 48,000 of each an hour. An operator in a hurry calls the
/// admin route in a loop as well.
pub const CHUNKS_PER_RUN: usize = 8;

/// Attempts of a chunk whose rows moved while it was decided.
const ATTEMPTS: usize = 5;

/// The scheduled re-seal: chunks, shard after shard, until nothing remains or
/// [`CHUNKS_PER_RUN`]. With nothing to move it costs one read a shard. What it did, and
/// what failed, are its log lines.
pub async fn run<B: Backend>(
    backend: &B,
    shards: &[String],
    ring: &KeyRing,
    entropy: &mut dyn Entropy,
) -> Vec<LogLine> {
    let mut log = Vec::new();
    let mut budget = CHUNKS_PER_RUN;
    for name in shards {
        let db = match backend.shard(name) {
            Ok(db) => db,
            Err(e) => {
                log.push(LogLine::Error(format!("re-seal of {name}: {e}")));
                continue;
            }
        };
        match window::sealed_counts(&db).await {
            Ok(counts) if remaining(ring, &counts) == 0 => continue,
            Err(e) => {
                log.push(LogLine::Error(format!("re-seal of {name}: {e}")));
                continue;
            }
            Ok(_) => {}
        }
        let mut moved = 0;
        while budget > 0 {
            budget -= 1;
            match one_chunk(backend, &db, ring, entropy).await {
                Ok(Some(progress)) => {
                    moved += progress.resealed;
                    if progress.remaining == 0 {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    log.push(LogLine::Error(format!("re-seal of {name}: {e}")));
                    break;
                }
            }
        }
        if moved > 0 {
            log.push(LogLine::Info(format!(
                "re-seal of {name}: moved {moved} apps and idempotency records to the primary key"
            )));
        }
    }
    log
}

/// One chunk, attempted again while its rows move; `None` if they keep moving.
async fn one_chunk<B: Backend>(
    backend: &B,
    db: &Session<B::Db>,
    ring: &KeyRing,
    entropy: &mut dyn Entropy,
) -> Result<Option<ResealProgress>, Failure> {
    for _ in 0..ATTEMPTS {
        let chunk = next_chunk(db, ring, entropy).await?;
        if let Some(kv) = backend.kv() {
            for name in &chunk.kv_deletes {
                kv.delete(name).await;
            }
        }
        if db.commit(chunk.statements).await?.is_ok() {
            return Ok(Some(chunk.progress));
        }
    }
    Ok(None)
}
