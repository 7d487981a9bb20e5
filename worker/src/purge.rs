//! The hourly purge of expired idempotency claims (`17 * * * *`), in every shard, a bounded
//! chunk a statement; [`connect_core::server::purge`] decides which shards go on and when
//! the run stops.

use crate::store::Store;
use connect_core::server::purge::{PurgeRun, CHUNK};
use connect_core::wire::time::Timestamp;
use futures_util::future::join_all;
use worker::{console_error, console_log};

/// Deletes the claims expired at `now` from every store's shard, a round of one chunk per
/// shard at a time (the shards of a round at once), and logs what each shard's run did.
pub async fn run(stores: &[Store], now: Timestamp) {
    let mut run = PurgeRun::new(stores.len());
    loop {
        let round = run.next_round();
        if round.is_empty() {
            break;
        }
        let chunks = round
            .iter()
            .map(|&i| stores[i].purge_expired_claims(now, CHUNK));
        for (i, outcome) in round.iter().zip(join_all(chunks).await) {
            run.record(
                *i,
                outcome.map(|n| n as u64).map_err(|e| {
                    console_error!(
                        "{}: purging expired idempotency claims failed: {e:?}",
                        stores[*i].shard()
                    )
                }),
            );
        }
    }
    for (store, shard) in stores.iter().zip(run.shards()) {
        console_log!(
            "{}: purged {} expired idempotency claims in {} statement(s){}",
            store.shard(),
            shard.removed,
            shard.statements,
            if shard.more_remain() {
                "; more remain, the next hourly run goes on"
            } else {
                ""
            }
        );
    }
}
