//! The hourly purge of expired idempotency claims, natively: over shards with a backlog,
//! each shard's expired claims go in statements of at most `CHUNK`, the longest expired
//! first, until a short chunk says none is left; claims not yet expired stay, with their
//! counts in `sealed_counts`; and a run stops at its budget of `MAX_STATEMENTS`
//! statements, shared by the shards, the next run going on from there.

mod support;

use connect_core::server::purge::{self, CHUNK, MAX_STATEMENTS};
use connect_core::server::LogLine;
use connect_sqlite::block_on;
use support::*;

/// Claims of `scope` in shard `shard`, sealed under `k1`: `count` of them, the `i`-th
/// (from 1) expiring at `expires_from - i` ms, in one statement (the schema's triggers
/// count them in `sealed_counts`).
fn claims(dep: &Deployment, shard: &str, scope: &str, count: i64, expires_from: i64) {
    dep.sql(shard)
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) \
             INSERT INTO idempotency_keys \
               (scope, key_hash, fingerprint, response, created_at, expires_at, key_id) \
             SELECT ?1, printf('%064d', i), 'fingerprint', 'k1.sealed-' || i, \
               ?3 - i - 86400000, ?3 - i, 'k1' FROM n",
            rusqlite::params![scope, count, expires_from],
        )
        .unwrap();
}

fn run(dep: &Deployment, shards: &[&str]) -> Vec<LogLine> {
    let native = dep.at(t0());
    let shards: Vec<String> = shards.iter().map(|s| (*s).to_owned()).collect();
    block_on(purge::run(&native, &shards, t0()))
}

fn info(shard: &str, removed: u64, statements: u64, more: bool) -> LogLine {
    LogLine::Info(format!(
        "{shard}: purged {removed} expired idempotency claims in {statements} statement(s){}",
        if more {
            "; more remain, the next hourly run goes on"
        } else {
            ""
        }
    ))
}

#[test]
fn a_backlog_goes_in_chunks_in_every_shard_and_what_has_not_expired_stays() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    for shard in [SHARD_1, SHARD_2] {
        // 2,345 expired (the last a moment ago, at now exactly) and 100 that expire later.
        claims(&dep, shard, "org_expired", 2_345, T0_MS + 1);
        claims(&dep, shard, "org_live", 100, T0_MS + 1 + 60_000 + 100);
        assert_eq!(
            sealed_under(&dep, shard, "idempotency_records", "k1"),
            2_445
        );
    }
    assert_eq!(CHUNK, 1_000);
    // 1,000, 1,000 and a short 345: three statements a shard.
    assert_eq!(
        run(&dep, &[SHARD_1, SHARD_2]),
        [
            info(SHARD_1, 2_345, 3, false),
            info(SHARD_2, 2_345, 3, false)
        ]
    );
    for shard in [SHARD_1, SHARD_2] {
        assert_eq!(
            dep.int(
                shard,
                "SELECT count(*) FROM idempotency_keys WHERE scope = 'org_live'"
            ),
            100
        );
        assert_eq!(dep.int(shard, "SELECT count(*) FROM idempotency_keys"), 100);
        assert_eq!(sealed_under(&dep, shard, "idempotency_records", "k1"), 100);
    }
    // Nothing expired left: a statement a shard finds so.
    assert_eq!(
        run(&dep, &[SHARD_1, SHARD_2]),
        [info(SHARD_1, 0, 1, false), info(SHARD_2, 0, 1, false)]
    );
}

#[test]
fn a_run_stops_at_its_budget_shared_by_the_shards_and_the_next_goes_on() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    // More than each shard's share of the budget: 10 chunks over.
    let share = (MAX_STATEMENTS / 2) as i64 * i64::from(CHUNK);
    let backlog = share + 10 * i64::from(CHUNK);
    for shard in [SHARD_1, SHARD_2] {
        claims(&dep, shard, "org_backlog", backlog, T0_MS);
    }
    assert_eq!(
        run(&dep, &[SHARD_1, SHARD_2]),
        [
            info(SHARD_1, share as u64, (MAX_STATEMENTS / 2) as u64, true),
            info(SHARD_2, share as u64, (MAX_STATEMENTS / 2) as u64, true)
        ]
    );
    for shard in [SHARD_1, SHARD_2] {
        // The longest expired went first: what is left expired last.
        assert_eq!(
            dep.int(shard, "SELECT count(*) FROM idempotency_keys"),
            10 * i64::from(CHUNK)
        );
        assert_eq!(
            dep.int(shard, "SELECT min(expires_at) FROM idempotency_keys"),
            T0_MS - 10 * i64::from(CHUNK)
        );
        assert_eq!(
            sealed_under(&dep, shard, "idempotency_records", "k1"),
            10 * i64::from(CHUNK)
        );
    }
    // Ten full chunks and the short one that finds the shard empty.
    assert_eq!(
        run(&dep, &[SHARD_1, SHARD_2]),
        [
            info(SHARD_1, 10 * u64::from(CHUNK), 11, false),
            info(SHARD_2, 10 * u64::from(CHUNK), 11, false)
        ]
    );
}
