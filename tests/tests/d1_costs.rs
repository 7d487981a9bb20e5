//! D1's bill at its floor (issue 32), end to end on the real Worker and local D1: the rows
//! each request writes and reads, as `Server-Timing` reports them (D1's own
//! `meta.rows_written` and `meta.rows_read`).
//!
//! - Rows written: an app is two B-tree entries (the table, keyed by its workspace and
//!   position, and the client id index), so a batch of 100 writes at most 2 x 100 + 10
//!   rows, claim and counters included; a create at most 2 + 10; a patch its row and the
//!   workspace's generation; a delete its row, the counters and the deletion counts a
//!   deep page needs (at most log2 of the workspace's cap + 1).
//! - Rows read: a read of one app 2 (its client id entry, which holds the table's key, and
//!   the API key's confirmation); a page `limit` + 10 while nothing of the workspace was
//!   deleted, and `limit` + 3 x ceil(log2 N) + 10 after deletions (N its positions), at
//!   any offset.
//!
//! Each test prints the figures it measured (`--nocapture`), as docs/performance.md gives
//! them.

use connect_e2e::api::{d1_costs, D1Costs, Tenant};
use connect_e2e::{Response, Server, ServerConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// A server of its own, with the per-key rate limit lifted: these tests make thousands of
/// requests with one key.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start(ServerConfig::project().with_rate_limit_lifted()))
}

/// The D1 costs of `res`, which must have answered `status`; printed under `what`.
fn costs(what: &str, res: &Response, status: u16) -> D1Costs {
    assert_eq!(res.status, status, "{what}: {}", res.text());
    let c = d1_costs(res);
    eprintln!(
        "d1 costs: {what:<58} round trips {} rows read {:>4} rows written {:>4}",
        c.round_trips, c.rows_read, c.rows_written
    );
    c
}

/// ceil(log2 n), for n >= 1.
fn ceil_log2(n: u64) -> u64 {
    u64::from(64 - (n.max(1) - 1).leading_zeros())
}

/// The smallest power of two at least `n` and at least 128: how far the deletion counts of a
/// workspace of `n` positions reach.
fn cap(n: u64) -> u64 {
    n.max(128).next_power_of_two()
}

/// The items of a batch named `{prefix} {i}` for `range`.
fn items(prefix: &str, range: std::ops::Range<usize>) -> Value {
    let items: Vec<Value> = range
        .map(|i| json!({ "name": format!("{prefix} {i:06}") }))
        .collect();
    json!({ "items": items })
}

/// The client ids a batch's answer gave, in item order.
fn created_ids(res: &Response) -> Vec<String> {
    res.json_value()["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {}", res.text()))
        .iter()
        .map(|r| {
            r["app"]["clientId"]
                .as_str()
                .expect("a created app")
                .to_owned()
        })
        .collect()
}

fn page_names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {page}"))
        .iter()
        .map(|app| app["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A deterministic choice of `count` of `0..n`, drawn from `seed`.
fn chosen(n: usize, count: usize, seed: u64) -> BTreeSet<usize> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut picked = BTreeSet::new();
    while picked.len() < count {
        picked.insert(rng.usize(..n));
    }
    picked
}

/// The workspace's `next_position` and its deletion count at `node`, read from its shard.
fn deletion_node(server: &Server, t: &Tenant, node: u64) -> Option<i64> {
    let ws = t.workspace.as_str();
    server
        .d1(&format!(
            "SELECT dead FROM app_deletions WHERE workspace_id = '{ws}' AND node = {node}"
        ))
        .first()
        .map(|row| row["dead"].as_i64().expect("a count"))
}

#[test]
fn a_batch_a_create_a_read_a_patch_and_a_delete_write_their_indexes_rows() {
    let server = server();
    let t = server.tenant();
    // The key in the isolate's cache: the figures below are the requests' own (a warm key
    // is confirmed by one row read in the request's own round trip).
    assert_eq!(t.get("/connect/v1/workspace").status, 200);

    let keyed = costs(
        "batch of 100, Idempotency-Key",
        &t.batch(&items("keyed", 0..100), Some("d1-costs-batch")),
        201,
    );
    assert_eq!(keyed.round_trips, 1);
    assert!(keyed.rows_written <= 2 * 100 + 10, "{keyed:?}");
    let unkeyed = costs(
        "batch of 100, no key",
        &t.batch(&items("plain", 0..100), None),
        201,
    );
    assert!(unkeyed.rows_written <= 2 * 100 + 10, "{unkeyed:?}");

    let create = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "One" }));
    let single = costs("create, no key", &create, 201);
    assert!(single.rows_written <= 2 + 10, "{single:?}");
    let id = create.json_value()["clientId"].as_str().unwrap().to_owned();
    let keyed_single = costs(
        "create, Idempotency-Key",
        &t.request("POST", "/connect/v1/apps")
            .header("Idempotency-Key", "d1-costs-single")
            .json(&json!({ "name": "Two" }))
            .send(),
        201,
    );
    assert!(keyed_single.rows_written <= 2 + 10, "{keyed_single:?}");

    let path = format!("/connect/v1/apps/{id}");
    let read = costs("read of one app", &t.get(&path), 200);
    assert_eq!((read.round_trips, read.rows_written), (1, 0));
    // The app's client id entry (it holds the table's key, so the row comes with it) and
    // the API key's confirmation.
    assert!(read.rows_read <= 2, "{read:?}");

    let patch = costs(
        "patch of one app (its name)",
        &t.send_json("PATCH", &path, &json!({ "name": "One, renamed" })),
        200,
    );
    // The app's row (no index holds what changed) and the workspace's generation.
    assert!(patch.rows_written <= 2, "{patch:?}");

    let page = costs(
        "page of 100 at offset 100, 202 apps",
        &t.get("/connect/v1/apps?limit=100&offset=100"),
        200,
    );
    assert!(page.rows_read <= 100 + 10, "{page:?}");
    let again = t.get("/connect/v1/apps?limit=100&offset=100");
    let kept = costs("the same page again", &again, 200);
    if again
        .header("server-timing")
        .is_some_and(|h| h.contains("page;desc=\"cache\""))
    {
        // Kept by the isolate: the workspace's generation is checked, the page not read.
        assert!(kept.rows_read <= 10, "{kept:?}");
    }

    let delete = costs("delete of one app", &t.request("DELETE", &path).send(), 200);
    // The app's row, the workspace's count, the count of its sealing key, and one deletion
    // count a level of the workspace's tree up to its cap (128: 8 levels).
    let levels = ceil_log2(cap(202)) + 1;
    assert!(delete.rows_written <= 3 + levels, "{delete:?}");

    let page = costs(
        "page of 100 at offset 100, 202 positions, 1 deleted",
        &t.get("/connect/v1/apps?limit=100&offset=100"),
        200,
    );
    assert!(page.rows_read <= 100 + 3 * ceil_log2(202) + 10, "{page:?}");
}

#[test]
fn a_page_reads_about_what_it_returns_at_any_offset_before_and_after_deletions() {
    let server = server();
    let t = server.tenant();
    assert_eq!(t.get("/connect/v1/workspace").status, 200);

    // 16,300 apps: the next batch takes the workspace past 16,384 positions.
    let first = 16_300;
    let mut ids = Vec::new();
    let mut most_written = 0;
    for start in (0..first).step_by(100) {
        let res = t.batch(&items("app", start..start + 100), None);
        assert_eq!(res.status, 201, "{}", res.text());
        let c = d1_costs(&res);
        most_written = most_written.max(c.rows_written);
        ids.extend(created_ids(&res));
    }
    eprintln!(
        "d1 costs: {first} apps in batches of 100: at most {most_written} rows written a batch"
    );
    assert!(most_written <= 2 * 100 + 10, "{most_written}");
    let names: Vec<String> = (0..first).map(|i| format!("app {i:06}")).collect();

    // Before any deletion a page reads its apps and the workspace, at any offset.
    for (limit, offset) in [
        (100, 0),
        (100, 8_000),
        (100, first - 100),
        (1, first - 1),
        (37, 5_555),
    ] {
        let res = t.get(&format!("/connect/v1/apps?limit={limit}&offset={offset}"));
        let c = costs(
            &format!("page of {limit} at offset {offset}, {first} apps"),
            &res,
            200,
        );
        assert!(c.rows_read <= limit as u64 + 10, "{c:?}");
        assert_eq!(page_names(&res.json_value()), names[offset..offset + limit]);
    }

    // A tenth deleted at random, through the API.
    let doomed = chosen(first, first / 10, 0x00D1_C057);
    let doomed_ids: Vec<&String> = doomed.iter().map(|&i| &ids[i]).collect();
    let most = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for part in doomed_ids.chunks(doomed_ids.len().div_ceil(4)) {
            let (t, most) = (&t, &most);
            s.spawn(move || {
                for id in part {
                    let res = t
                        .request("DELETE", &format!("/connect/v1/apps/{id}"))
                        .send();
                    assert_eq!(res.status, 200, "{}", res.text());
                    most.fetch_max(
                        d1_costs(&res).rows_written,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
            });
        }
    });
    let most = most.into_inner();
    eprintln!(
        "d1 costs: {} deletes at random of {first} apps: at most {most} rows written a delete",
        doomed.len()
    );
    assert!(most <= 3 + ceil_log2(cap(first as u64)) + 1, "{most}");

    // The next batch takes the workspace past 16,384 positions: its cap doubles, and the
    // deletion counts of the new level are written in the same transaction.
    assert_eq!(deletion_node(server, &t, 32_768), None);
    let res = t.batch(&items("app", first..first + 100), Some("d1-costs-cap"));
    let crossing = costs(
        "batch of 100 past 16,384 positions, Idempotency-Key",
        &res,
        201,
    );
    assert!(crossing.rows_written <= 2 * 100 + 10, "{crossing:?}");
    assert_eq!(
        deletion_node(server, &t, 32_768),
        Some(doomed.len() as i64),
        "the new top of the tree counts every deletion"
    );
    ids.extend(created_ids(&res));
    // Up to 20,000 positions.
    let n = 20_000;
    for start in (first + 100..n).step_by(100) {
        let res = t.batch(&items("app", start..start + 100), None);
        assert!(costs("batch of 100 after deletions", &res, 201).rows_written <= 210);
    }
    let left: Vec<String> = (0..n)
        .filter(|i| !doomed.contains(i))
        .map(|i| format!("app {i:06}"))
        .collect();
    assert_eq!(t.total(), left.len() as u64);

    // After deletions: the descent of the tree adds at most 3 rows a level.
    let budget = |limit: usize| limit as u64 + 3 * ceil_log2(n as u64) + 10;
    let live = left.len();
    for (limit, offset) in [
        (100, 0),
        (100, 1),
        (100, 4_095),
        (100, 9_999),
        (100, 14_700),
        (100, 16_383),
        (100, live - 100),
        (1, live - 1),
        (37, 12_345),
        (100, live),
    ] {
        let res = t.get(&format!("/connect/v1/apps?limit={limit}&offset={offset}"));
        let c = costs(
            &format!("page of {limit} at offset {offset}, {n} positions, {live} apps"),
            &res,
            200,
        );
        assert!(c.rows_read <= budget(limit), "{c:?} over {}", budget(limit));
        let end = (offset + limit).min(live);
        assert_eq!(
            page_names(&res.json_value()),
            left[offset.min(live)..end],
            "limit {limit} offset {offset}"
        );
    }
}

/// Whether position `p` is among the tenth of a million deleted below: a multiplicative
/// hash of it, so the choice is spread as a random one and the same in SQL.
fn hashed_out(p: u64) -> bool {
    (p * 2_654_435_761) % 4_294_967_296 % 10 == 3
}

/// A workspace of 1,000,000 apps, made through the API in batches of 100 (about a quarter
/// of an hour on 2 cores), a tenth of them then deleted at once by SQL as 100,000 deletes
/// through the API would leave them (the rows, the counts, the Fenwick nodes up to the
/// cap; checked by the pages against the model), then deletes and pages through the API.
/// `cargo test -p connect-e2e --test d1_costs -- --ignored --nocapture`.
#[test]
#[ignore = "a million apps: about a quarter of an hour"]
fn a_million_apps_with_a_tenth_deleted() {
    let server = server();
    let t = server.tenant();
    assert_eq!(t.get("/connect/v1/workspace").status, 200);
    let n: u64 = 1_000_000;
    let mut most_written = 0;
    let mut ids = Vec::new();
    for start in (0..n as usize).step_by(100) {
        let res = t.batch(&items("app", start..start + 100), None);
        assert_eq!(res.status, 201, "{}", res.text());
        most_written = most_written.max(d1_costs(&res).rows_written);
        if start % 100_000 == 0 {
            ids.extend(created_ids(&res));
        }
    }
    eprintln!("d1 costs: {n} apps in batches of 100: at most {most_written} rows written a batch");
    assert!(most_written <= 2 * 100 + 10);
    for (limit, offset) in [(100, 0), (100, 500_000), (100, n - 100)] {
        let res = t.get(&format!("/connect/v1/apps?limit={limit}&offset={offset}"));
        let c = costs(
            &format!("page of {limit} at offset {offset}, {n} apps"),
            &res,
            200,
        );
        assert!(c.rows_read <= limit + 10, "{c:?}");
    }

    let ws = t.workspace.as_str();
    let gone = format!("workspace_id = '{ws}' AND ((position * 2654435761) % 4294967296) % 10 = 3");
    server.d1_exec(&format!(
        "CREATE TABLE gone AS SELECT position FROM apps WHERE {gone}; \
         DELETE FROM apps WHERE {gone}; \
         INSERT INTO app_deletions (workspace_id, node, dead) \
           WITH RECURSIVE up(node) AS ( \
             SELECT position + 1 FROM gone UNION ALL \
             SELECT node + (node & -node) FROM up WHERE node + (node & -node) <= {cap}) \
           SELECT '{ws}', node, count(*) FROM up GROUP BY node; \
         UPDATE workspaces SET apps_count = apps_count - (SELECT count(*) FROM gone), \
           generation = generation + 1 WHERE id = '{ws}'; \
         DROP TABLE gone;",
        cap = cap(n)
    ));
    let live: Vec<u64> = (0..n).filter(|p| !hashed_out(*p)).collect();
    assert_eq!(t.total(), live.len() as u64);

    // Deletes through the API: the app, its counts, and the nodes up to the cap (2^20).
    let mut most = 0;
    let mut deleted = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let p = i as u64 * 100_000;
        if hashed_out(p) {
            continue;
        }
        let res = t
            .request("DELETE", &format!("/connect/v1/apps/{id}"))
            .send();
        most = most.max(costs("delete at 1,000,000 positions", &res, 200).rows_written);
        deleted.push(p);
    }
    assert!(most <= 3 + 21, "{most}");
    let live: Vec<u64> = live.into_iter().filter(|p| !deleted.contains(p)).collect();
    let count = live.len() as u64;
    let budget = |limit: u64| limit + 3 * ceil_log2(n) + 10;
    for (limit, offset) in [
        (100, 0),
        (100, 1),
        (100, 123_456),
        (100, 450_000),
        (100, 524_287),
        (100, 777_777),
        (100, count - 100),
        (1, count - 1),
        (37, 654_321),
    ] {
        let res = t.get(&format!("/connect/v1/apps?limit={limit}&offset={offset}"));
        let c = costs(
            &format!("page of {limit} at offset {offset}, {n} positions, {count} apps"),
            &res,
            200,
        );
        assert!(c.rows_read <= budget(limit), "{c:?} over {}", budget(limit));
        let want: Vec<String> = live[offset as usize..(offset + limit).min(count) as usize]
            .iter()
            .map(|p| format!("app {p:06}"))
            .collect();
        assert_eq!(page_names(&res.json_value()), want, "offset {offset}");
    }
    let res = t.batch(
        &items("app", n as usize..n as usize + 100),
        Some("d1-costs-million"),
    );
    let c = costs(
        "batch of 100 at 1,000,000 positions, Idempotency-Key",
        &res,
        201,
    );
    assert!(c.rows_written <= 2 * 100 + 10, "{c:?}");
}
