//! The hourly purge of expired idempotency claims, in bounded chunks: which shards delete
//! their next chunk, when a run stops ([`PurgeRun`]), and the run itself over the shards'
//! databases ([`run`]).
//!
//! One statement deletes at most [`CHUNK`] claims, the longest expired first, so that none
//! comes near D1's 30-second limit on a query even when every claim holds the answer of a
//! 100-app batch (about 27 KB). A run goes round the shards, a chunk from each in turn,
//! until each shard's last chunk came back short (nothing expired is left there) or failed,
//! or the run has sent [`MAX_STATEMENTS`]. D1 takes at most 1,000 queries per Worker
//! invocation, so a run stays well under that whatever the backlog; the next hour's run
//! goes on where it stopped, and a claim past its expiry is also freed when its key is used
//! again.

use crate::server::failure::Failure;
use crate::server::perform::Backend;
use crate::server::tables::claims;
use crate::server::LogLine;
use crate::wire::time::Timestamp;

/// The most claims one statement of the purge deletes.
pub const CHUNK: u32 = 1_000;

/// The most statements one run sends, over every shard: half of D1's 1,000 queries per
/// invocation, 500,000 claims an hour.
pub const MAX_STATEMENTS: usize = 500;

/// Where a run stands with one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    /// Its last chunk came back full (or none was sent yet): it deletes another.
    #[default]
    Going,
    /// Its last chunk came back short: nothing expired is left there.
    Emptied,
    /// Its last chunk failed (the error is the store's to report): done for this run.
    Failed,
}

/// Where a shard's purge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShardPurge {
    /// Claims deleted by this run.
    pub removed: u64,
    /// Statements sent by this run.
    pub statements: usize,
    /// Whether the run goes on with the shard, and if not, why.
    pub stage: Stage,
}

impl ShardPurge {
    /// Whether expired claims may be left in the shard after this run: it stopped at the
    /// run's budget, or on a failure.
    pub fn more_remain(&self) -> bool {
        self.stage != Stage::Emptied
    }
}

/// One run of the purge over a list of shards, by their index in that list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeRun {
    shards: Vec<ShardPurge>,
}

impl PurgeRun {
    /// A run over `shards` shards, none purged yet.
    pub fn new(shards: usize) -> Self {
        Self {
            shards: vec![ShardPurge::default(); shards],
        }
    }

    /// The shards that delete a chunk next, in order, one chunk each: every shard the run
    /// goes on with, as far as the run's budget allows. Empty when the run is over.
    pub fn next_round(&self) -> Vec<usize> {
        let sent: usize = self.shards.iter().map(|s| s.statements).sum();
        self.shards
            .iter()
            .enumerate()
            .filter(|(_, s)| s.stage == Stage::Going)
            .map(|(i, _)| i)
            .take(MAX_STATEMENTS.saturating_sub(sent))
            .collect()
    }

    /// Records what shard `shard`'s chunk did: how many claims it deleted, or that it
    /// failed.
    pub fn record(&mut self, shard: usize, outcome: Result<u64, ()>) {
        let s = &mut self.shards[shard];
        s.statements += 1;
        s.stage = match outcome {
            Ok(removed) => {
                s.removed += removed;
                if removed < u64::from(CHUNK) {
                    Stage::Emptied
                } else {
                    Stage::Going
                }
            }
            Err(()) => Stage::Failed,
        };
    }

    /// Where each shard stands, in the order of the list.
    pub fn shards(&self) -> &[ShardPurge] {
        &self.shards
    }
}

/// Deletes the claims expired at `now` from every shard named, a round of one chunk per
/// shard at a time, the shards of a round one after the other; its log lines say what
/// each shard's run did.
pub async fn run<B: Backend>(backend: &B, shards: &[String], now: Timestamp) -> Vec<LogLine> {
    let mut log = Vec::new();
    let mut run = PurgeRun::new(shards.len());
    loop {
        let round = run.next_round();
        if round.is_empty() {
            break;
        }
        for i in round {
            let outcome = async {
                let db = backend.shard(&shards[i])?;
                let removed = db
                    .commit_all(vec![claims::purge_expired(now, CHUNK)])
                    .await?;
                Ok::<_, Failure>(removed.first().map_or(0, Vec::len) as u64)
            }
            .await;
            run.record(
                i,
                outcome.map_err(|e| {
                    log.push(LogLine::Error(format!(
                        "{}: purging expired idempotency claims failed: {e}",
                        shards[i]
                    )))
                }),
            );
        }
    }
    for (name, shard) in shards.iter().zip(run.shards()) {
        log.push(LogLine::Info(format!(
            "{name}: purged {} expired idempotency claims in {} statement(s){}",
            shard.removed,
            shard.statements,
            if shard.more_remain() {
                "; more remain, the next hourly run goes on"
            } else {
                ""
            }
        )));
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs a purge over shards holding `expired` claims each, and whose chunks fail from
    /// the `fail_at`-th statement on (if given), as the Worker does.
    fn simulate(expired: &[u64], fail_at: &[Option<usize>]) -> PurgeRun {
        let mut left = expired.to_vec();
        let mut run = PurgeRun::new(expired.len());
        loop {
            let round = run.next_round();
            if round.is_empty() {
                return run;
            }
            for i in round {
                if fail_at[i].is_some_and(|n| run.shards()[i].statements >= n) {
                    run.record(i, Err(()));
                    continue;
                }
                let removed = left[i].min(u64::from(CHUNK));
                left[i] -= removed;
                run.record(i, Ok(removed));
            }
        }
    }

    #[test]
    fn a_shard_with_nothing_expired_costs_one_statement() {
        let run = simulate(&[0, 0], &[None, None]);
        for s in run.shards() {
            assert_eq!(
                *s,
                ShardPurge {
                    removed: 0,
                    statements: 1,
                    stage: Stage::Emptied
                }
            );
            assert!(!s.more_remain());
        }
    }

    #[test]
    fn a_backlog_goes_in_chunks_until_a_chunk_comes_back_short() {
        let run = simulate(&[2_345, 3_000], &[None, None]);
        assert_eq!(run.shards()[0].removed, 2_345);
        assert_eq!(run.shards()[0].statements, 3);
        // A last full chunk cannot tell that nothing is left: one more statement finds it.
        assert_eq!(run.shards()[1].removed, 3_000);
        assert_eq!(run.shards()[1].statements, 4);
        assert!(run.shards().iter().all(|s| !s.more_remain()));
    }

    #[test]
    fn a_run_stops_at_its_budget_and_shares_it_between_the_shards() {
        let huge = u64::from(CHUNK) * MAX_STATEMENTS as u64;
        let run = simulate(&[huge, huge], &[None, None]);
        for s in run.shards() {
            assert_eq!(s.statements, MAX_STATEMENTS / 2);
            assert_eq!(s.removed, u64::from(CHUNK) * (MAX_STATEMENTS / 2) as u64);
            assert!(s.more_remain());
        }
    }

    #[test]
    fn a_failing_shard_stops_alone() {
        let run = simulate(&[5_500, 5_500], &[Some(2), None]);
        let (failed, fine) = (run.shards()[0], run.shards()[1]);
        assert_eq!((failed.removed, failed.statements), (2_000, 3));
        assert!(failed.stage == Stage::Failed && failed.more_remain());
        assert_eq!((fine.removed, fine.statements), (5_500, 6));
        assert!(!fine.more_remain());
    }

    proptest! {
        #[test]
        fn a_run_never_exceeds_its_budget_and_empties_what_it_can(
            expired in proptest::collection::vec(0u64..400_000, 1..6),
        ) {
            let run = simulate(&expired, &vec![None; expired.len()]);
            let sent: usize = run.shards().iter().map(|s| s.statements).sum();
            prop_assert!(sent <= MAX_STATEMENTS);
            for (s, &n) in run.shards().iter().zip(&expired) {
                prop_assert!(s.removed <= n);
                // Done with a shard means nothing expired is left there.
                prop_assert!(s.more_remain() || s.removed == n);
            }
            // The budget is shared: shards stopped by it sent as many statements, give or
            // take the last round's.
            let stopped: Vec<usize> = run.shards().iter().filter(|s| s.stage == Stage::Going).map(|s| s.statements).collect();
            if let (Some(lo), Some(hi)) = (stopped.iter().min(), stopped.iter().max()) {
                prop_assert!(hi - lo <= 1);
            }
        }
    }
}
