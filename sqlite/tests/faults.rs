//! Exactly once and no partial state while storage fails: the shards and KV fail chosen
//! calls, before they are carried out or after they took effect (a transaction commits and
//! its answer is lost), and clients retry with the same `Idempotency-Key` until they get
//! an answer, as the resellers' scripts do (the chaos end-to-end test, natively). Then,
//! from the stored state: every batch exists exactly once under the client ids its answer
//! gave, none half; every answer to one key is the same; counts equal the rows; a failure
//! that said nothing may have happened changed nothing. And single faults, scripted.
//!
//! To see these tests fail, move the claim out of the write's transaction: in
//! `core/src/server/perform.rs`, `Guard::commit`, commit `statements` alone first and the
//! claim (`release_expired` and `insert`) in a second `db.commit`. Then
//! `cargo test -p connect-sqlite --test faults --test exactly_once` fails: apps are
//! created twice (the commit that added this file quotes the output).

mod support;

use connect_core::rules::pagination::PageRequest;
use connect_core::server::admin::CreatedWorkspace;
use connect_core::server::failure::Failure;
use connect_core::server::operations::app::DeleteApp;
use connect_core::server::operations::workspaces::CreateWorkspace;
use connect_core::server::perform::{Backend, OPERATORS};
use connect_core::server::recorded::KvRecord;
use connect_core::server::tables::apps::{self, Listing};
use connect_core::wire::secrets::KeyEnvironment;
use connect_sqlite::block_on;
use connect_sqlite::faults::{Call, Fault, Faults};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use support::*;

const SEED: u64 = 20_261_130;
const CLIENTS: usize = 4;
const BATCHES: usize = 16;
const RATE: f64 = 0.2;
/// Attempts of one logical request before its client gives up.
const MAX_TRIES: usize = 40;

/// The storage the clients use: two plans of faults, so that each kind of call fails
/// both before and after (a plan fails each kind one way).
struct Storage {
    plans: [Faults; 2],
    faulty: [Faulty; 2],
}

impl Storage {
    fn new(dep: &Deployment) -> Self {
        let plans = [
            Faults::seeded(
                SEED,
                RATE,
                &[
                    (Call::Read, Fault::Before),
                    (Call::Write, Fault::After),
                    (Call::KvGet, Fault::Before),
                    (Call::KvPut, Fault::Before),
                ],
            ),
            Faults::seeded(
                SEED ^ 0xFA17,
                RATE,
                &[
                    (Call::Read, Fault::After),
                    (Call::Write, Fault::Before),
                    (Call::KvPut, Fault::After),
                ],
            ),
        ];
        let faulty = [Faulty::new(dep, &plans[0]), Faulty::new(dep, &plans[1])];
        Self { plans, faulty }
    }
}

/// Every attempt of one logical request: its outcome (the answer and whether it was a
/// replay, or the failure) and whether a write of it may have happened.
type Attempts = Vec<(
    Result<(connect_core::server::recorded::RecordedResponse, bool), Failure>,
    bool,
)>;

/// Sends a request until it gets an answer that is not a 500, each attempt on storage
/// chosen by `rng`.
fn retrying(
    storage: &Storage,
    rng: &mut fastrand::Rng,
    mut attempt: impl FnMut(&connect_sqlite::Native<'_>, u64) -> Answer,
) -> Attempts {
    let mut all = Attempts::new();
    for _ in 0..MAX_TRIES {
        let faulty = &storage.faulty[rng.usize(..2)];
        let native = faulty.at(t0());
        let answer = attempt(&native, rng.u64(..));
        let done = !matches!(answer.result, Err(Failure::Internal(_)));
        all.push((
            answer.result.map(|p| (p.answer, p.replayed)),
            answer.may_have_happened,
        ));
        if done {
            break;
        }
    }
    all
}

/// A keyed request whose attempts said nothing may have happened, and was then
/// answered with a replay: one of them hid a change.
fn hid_a_change(attempts: &Attempts) -> bool {
    let first_ok = attempts.iter().position(|(r, _)| r.is_ok());
    match first_ok {
        Some(i) => {
            matches!(attempts[i].0, Ok((_, true))) && attempts[..i].iter().all(|(_, may)| !may)
        }
        None => false,
    }
}

/// One logical batch.
struct Batch {
    key: String,
    names: Vec<String>,
    attempts: Attempts,
}

/// One keyed rotation of a client secret.
struct Rotation {
    key: String,
    app: String,
    attempts: Attempts,
}

#[derive(Default)]
struct Shared {
    apps: Mutex<Vec<String>>,
    delete_sent: Mutex<HashSet<String>>,
}

fn client(
    c: usize,
    storage: &Storage,
    ring: &connect_core::server::seal::KeyRing,
    tenant: &Tenant,
    shared: &Shared,
) -> (Vec<Batch>, Vec<Rotation>) {
    let mut rng = fastrand::Rng::with_seed(SEED ^ (c as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut batches = Vec::new();
    let mut rotations = Vec::new();
    for b in 0..BATCHES {
        let n = rng.u64(1..=20) as usize;
        let prefix = format!("faults c{c} b{b:02}");
        let body = batch_body(&prefix, n);
        let key = format!("faults-{c}-{b}");
        let attempts = retrying(storage, &mut rng, |native, s| {
            send(
                native,
                ring,
                t0(),
                s,
                tenant,
                &batch_req(tenant, &body, Some(&key)),
                batch_op(tenant, &body),
            )
        });
        if let Some((Ok((answer, _)), _)) = attempts.last() {
            shared.apps.lock().unwrap().extend(batch_ids(answer));
        }
        batches.push(Batch {
            key,
            names: (0..n).map(|i| format!("{prefix} i{i:03}")).collect(),
            attempts,
        });
        // Changes of apps any client created, among the other clients' batches.
        for op in 0..rng.u64(0..=2) {
            let target = {
                let apps = shared.apps.lock().unwrap();
                if apps.is_empty() {
                    break;
                }
                apps[rng.usize(..apps.len())].clone()
            };
            match rng.u64(0..=99) {
                0..=39 => {
                    let patch = json!({
                        "redirectUris": [format!("https://patched{}.example.com/cb", rng.u64(..1000))]
                    });
                    let req = Req::unkeyed(
                        "PATCH",
                        &app_path(&target, ""),
                        Some(patch.clone()),
                        tenant.scope(),
                    );
                    retrying(storage, &mut rng, |native, s| {
                        send(
                            native,
                            ring,
                            t0(),
                            s,
                            tenant,
                            &req,
                            patch_op(tenant, &target, &patch, Committed::default()),
                        )
                    });
                }
                40..=79 => {
                    let key = format!("rotate-{c}-{b}-{op}");
                    let req = Req::post(
                        &app_path(&target, "/rotate-client-secret"),
                        None,
                        Some(&key),
                        tenant.scope(),
                    );
                    let attempts = retrying(storage, &mut rng, |native, s| {
                        send(
                            native,
                            ring,
                            t0(),
                            s,
                            tenant,
                            &req,
                            Ok(rotate_client_secret_op(
                                tenant,
                                &target,
                                Committed::default(),
                            )),
                        )
                    });
                    rotations.push(Rotation {
                        key,
                        app: target,
                        attempts,
                    });
                }
                _ => {
                    shared.delete_sent.lock().unwrap().insert(target.clone());
                    let req = Req::unkeyed("DELETE", &app_path(&target, ""), None, tenant.scope());
                    retrying(storage, &mut rng, |native, s| {
                        send(
                            native,
                            ring,
                            t0(),
                            s,
                            tenant,
                            &req,
                            Ok(DeleteApp::new(tenant.workspace.clone(), &target)),
                        )
                    });
                }
            }
        }
    }
    (batches, rotations)
}

#[test]
fn exactly_once_and_no_partial_state_while_storage_fails_and_clients_retry() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let storage = Storage::new(&dep);
    let shared = Shared::default();
    let (batches, rotations): (Vec<Batch>, Vec<Rotation>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (storage, ring, tenant, shared) = (&storage, &ring, &tenant, &shared);
                s.spawn(move || client(c, storage, ring, tenant, shared))
            })
            .collect();
        let mut batches = Vec::new();
        let mut rotations = Vec::new();
        for h in handles {
            let (b, r) = h.join().unwrap();
            batches.extend(b);
            rotations.extend(r);
        }
        (batches, rotations)
    });
    let drawn: Vec<(Call, Fault)> = storage.plans.iter().flat_map(Faults::drawn).collect();
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for (call, fault) in &drawn {
        *faults.entry(format!("{call:?} {fault:?}")).or_default() += 1;
    }

    // The checks read with the faults off.
    let mut problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut problem =
        |kind: &'static str, what: String| problems.entry(kind).or_default().push(what);
    let stored = stored_apps(&dep, SHARD_2, tenant.scope());
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for app in &stored {
        by_name.entry(&app.name).or_default().push(&app.client_id);
    }
    let claims: HashSet<String> = claimed(&dep, SHARD_2, tenant.scope()).into_iter().collect();
    let delete_sent = shared.delete_sent.lock().unwrap().clone();
    let mut named = 0;
    for batch in &batches {
        let successes: Vec<_> = batch
            .attempts
            .iter()
            .filter_map(|(r, _)| r.as_ref().ok())
            .collect();
        let Some((answer, _)) = successes.first() else {
            problem("a batch never answered", batch.key.clone());
            continue;
        };
        if successes.iter().any(|(a, _)| a != answer) {
            problem("answers to one key differ", batch.key.clone());
        }
        if hid_a_change(&batch.attempts) {
            problem(
                "a failure said nothing may have happened, then its change replayed",
                batch.key.clone(),
            );
        }
        if !claims.contains(&key_hash(&batch.key)) {
            problem("a batch's apps without its record", batch.key.clone());
        }
        let ids = batch_ids(answer);
        for (name, id) in batch.names.iter().zip(&ids) {
            let found = by_name.get(name.as_str()).cloned().unwrap_or_default();
            named += found.len();
            match found.as_slice() {
                [one] if one == id => {}
                [] if delete_sent.contains(id) => {}
                _ => problem(
                    "an item not stored exactly once as answered",
                    format!("{name}: answered {id}, stored {found:?}"),
                ),
            }
        }
    }
    if named != stored.len() {
        problem(
            "apps no answer named",
            format!("{} rows, {named} named", stored.len()),
        );
    }
    for rotation in &rotations {
        let successes: Vec<_> = rotation
            .attempts
            .iter()
            .filter_map(|(r, _)| r.as_ref().ok())
            .collect();
        if successes.iter().any(|(a, _)| *a != successes[0].0) {
            problem("answers to one key differ", rotation.key.clone());
        }
        if hid_a_change(&rotation.attempts) {
            problem(
                "a failure said nothing may have happened, then its change replayed",
                rotation.key.clone(),
            );
        }
        // A rotation that happened is answered, whatever became of its app since.
        let happened = claims.contains(&key_hash(&rotation.key));
        match rotation.attempts.last() {
            Some((Ok((answer, _)), _)) if answer.status == 201 && happened => {}
            Some((Err(Failure::NotFound(_)), _))
                if !happened && delete_sent.contains(&rotation.app) => {}
            other => problem(
                "a rotation not answered as it came out",
                format!("{}: happened {happened}, last {other:?}", rotation.key),
            ),
        }
    }
    // Every KV copy is of a record the database holds.
    let prefix = format!("idem/{}/", tenant.scope());
    for (name, text) in dep.kv.entries() {
        if let Some(hash) = name.strip_prefix(&prefix) {
            if !claims.contains(hash) {
                problem("a KV copy without its record", name.clone());
            }
            if serde_json::from_str::<KvRecord>(&text).is_err() {
                problem("a KV copy that does not read", name.clone());
            }
        }
    }
    let rows = stored.len() as i64;
    if apps_count(&dep, &tenant) != rows {
        problem(
            "apps_count is not the rows",
            format!("{} against {rows}", apps_count(&dep, &tenant)),
        );
    }
    let native = dep.at(t0());
    let db = native.shard(SHARD_2).unwrap();
    let page = PageRequest::new(1, 0).unwrap();
    match block_on(apps::list(&db, &tenant.workspace, page, None)).unwrap() {
        Listing::Fresh { total, .. } if total as i64 == rows => {}
        other => problem("total is not the rows", format!("{other:?} against {rows}")),
    }
    // Counted under their key in the same transactions.
    if sealed_under(&dep, SHARD_2, "apps", "k1") != rows {
        problem(
            "sealed_counts is not the apps",
            format!("{:?}", sealed_counts(&dep, SHARD_2)),
        );
    }
    if sealed_under(&dep, SHARD_2, "idempotency_records", "k1") != claims.len() as i64 {
        problem(
            "sealed_counts is not the records",
            format!("{:?}", sealed_counts(&dep, SHARD_2)),
        );
    }

    let attempts: usize = batches.iter().map(|b| b.attempts.len()).sum::<usize>()
        + rotations.iter().map(|r| r.attempts.len()).sum::<usize>();
    eprintln!(
        "faults: seed {SEED}, {CLIENTS} clients x {BATCHES} batches, {} rows, {} rotations, {attempts} keyed attempts, faults at {RATE}: {faults:?}",
        stored.len(),
        rotations.len(),
    );
    assert!(
        problems.is_empty(),
        "found:\n{}",
        problems
            .iter()
            .map(|(kind, list)| format!(
                "  {} x {kind}: {:?}",
                list.len(),
                &list[..list.len().min(5)]
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The run met writes failing both ways (each kind of fault is also met alone, by the
    // scripted tests below), and its clients retried through them.
    for kind in ["Write Before", "Write After"] {
        assert!(
            faults.get(kind).is_some_and(|&n| n > 0),
            "no {kind} fault: {faults:?}"
        );
    }
    assert!(attempts > batches.len() + rotations.len());
}

#[test]
fn a_batch_committed_whose_answer_was_lost_is_replayed_and_created_once() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let body = batch_body("lost", 5);
    let req = batch_req(&tenant, &body, Some("lost-answer"));
    let lost = Faults::scripted(&[(Call::Write, 1, Fault::After)]);
    let faulty = Faulty::new(&dep, &lost);
    let native = faulty.at(t0());
    let first = send(
        &native,
        &ring,
        t0(),
        1,
        &tenant,
        &req,
        batch_op(&tenant, &body),
    );
    assert!(first.may_have_happened, "the write was sent");
    assert!(matches!(first.err(), Failure::Internal(_)));
    assert_eq!(lost.drawn(), [(Call::Write, Fault::After)]);
    let stored: Vec<String> = stored_apps(&dep, SHARD_2, tenant.scope())
        .into_iter()
        .map(|a| a.client_id)
        .collect();
    assert_eq!(stored.len(), 5, "the transaction committed");
    // The retry with the same key: the original answer, nothing more created.
    for (n, kv) in [(2, true), (3, false)] {
        let native = if kv {
            dep.at(t0())
        } else {
            dep.without_kv(t0())
        };
        let retry = send(
            &native,
            &ring,
            t0(),
            n,
            &tenant,
            &req,
            batch_op(&tenant, &body),
        )
        .ok();
        assert!(retry.replayed, "the retry (KV {kv}) was performed again");
        assert_eq!(retry.answer.status, 201);
        assert_eq!(batch_ids(&retry.answer), stored);
    }
    assert_eq!(stored_apps(&dep, SHARD_2, tenant.scope()).len(), 5);
    assert_eq!(apps_count(&dep, &tenant), 5);
}

#[test]
fn a_write_that_failed_before_it_was_sent_changed_nothing_and_the_retry_performs_it() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let body = batch_body("unsent", 3);
    let req = batch_req(&tenant, &body, Some("unsent"));
    let unsent = Faults::scripted(&[(Call::Write, 1, Fault::Before)]);
    let faulty = Faulty::new(&dep, &unsent);
    let native = faulty.at(t0());
    let first = send(
        &native,
        &ring,
        t0(),
        1,
        &tenant,
        &req,
        batch_op(&tenant, &body),
    );
    // A database's error cannot tell before from after: the core says it may have happened.
    assert!(first.may_have_happened);
    assert!(matches!(first.err(), Failure::Internal(_)));
    assert!(stored_apps(&dep, SHARD_2, tenant.scope()).is_empty());
    assert!(claimed(&dep, SHARD_2, tenant.scope()).is_empty());
    let retry = send(
        &dep.at(t0()),
        &ring,
        t0(),
        2,
        &tenant,
        &req,
        batch_op(&tenant, &body),
    )
    .ok();
    assert!(
        !retry.replayed,
        "nothing had happened: the retry performs it"
    );
    assert_eq!(stored_apps(&dep, SHARD_2, tenant.scope()).len(), 3);
}

#[test]
fn a_failed_read_says_nothing_happened_and_nothing_did() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let body = batch_body("read", 1);
    let created = send(
        &dep.at(t0()),
        &ring,
        t0(),
        1,
        &tenant,
        &batch_req(&tenant, &body, None),
        batch_op(&tenant, &body),
    )
    .ok();
    let id = batch_ids(&created.answer).remove(0);
    let before = stored_apps(&dep, SHARD_2, tenant.scope());
    for (n, fault) in [(2, Fault::Before), (3, Fault::After)] {
        // The change's first read (of the app, confirming the key) fails.
        let faults = Faults::scripted(&[(Call::Read, 1, fault)]);
        let faulty = Faulty::new(&dep, &faults);
        let native = faulty.at(t0());
        let patch = json!({ "name": "never" });
        let answer = send(
            &native,
            &ring,
            t0(),
            n,
            &tenant,
            &Req::unkeyed(
                "PATCH",
                &app_path(&id, ""),
                Some(patch.clone()),
                tenant.scope(),
            ),
            patch_op(&tenant, &id, &patch, Committed::default()),
        );
        assert_eq!(faults.drawn(), [(Call::Read, fault)]);
        assert!(!answer.may_have_happened, "{fault:?}");
        assert!(matches!(answer.err(), Failure::Internal(_)));
        let after = stored_apps(&dep, SHARD_2, tenant.scope());
        assert_eq!(
            (after[0].version, &after[0].doc),
            (before[0].version, &before[0].doc)
        );
    }
}

#[test]
fn kv_failures_only_send_replays_to_the_database() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let body = batch_body("kv", 2);
    let req = batch_req(&tenant, &body, Some("kv-faults"));
    // The copy is not stored (its put fails before), then the get fails: the database
    // answers every time, the same.
    let faults = Faults::scripted(&[
        (Call::KvPut, 1, Fault::Before),
        (Call::KvGet, 2, Fault::After),
    ]);
    let faulty = Faulty::new(&dep, &faults);
    let answers: Vec<_> = (0..3)
        .map(|n| {
            send(
                &faulty.at(t0()),
                &ring,
                t0(),
                n,
                &tenant,
                &req,
                batch_op(&tenant, &body),
            )
            .ok()
        })
        .collect();
    assert_eq!(
        faults.drawn(),
        [(Call::KvPut, Fault::Before), (Call::KvGet, Fault::After)]
    );
    assert_eq!(
        answers.iter().map(|a| a.replayed).collect::<Vec<_>>(),
        [false, true, true]
    );
    assert!(answers.iter().all(|a| a.answer == answers[0].answer));
    let stored = stored_apps(&dep, SHARD_2, tenant.scope()).len();
    assert_eq!(stored, 2, "{stored} apps stored for a batch of 2");
}

#[test]
fn an_operators_write_whose_answer_was_lost_replays_and_leaves_one_workspace() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let req = Req::post(
        "/admin/v1/workspaces",
        None,
        Some("onboard-acme"),
        OPERATORS,
    );
    let create = |native: &connect_sqlite::Native<'_>, n: u64| {
        Sender {
            native,
            ring: &ring,
            now: t0(),
            seed: n,
            shard: SHARD_1,
            confirm: None,
        }
        .send(
            &req,
            Ok(CreateWorkspace::new(SHARD_2.into(), KeyEnvironment::Test)),
        )
    };
    // The workspace is written to its shard, the directory's transaction commits, and the
    // answer is lost.
    let lost = Faults::scripted(&[(Call::Write, 2, Fault::After)]);
    let faulty = Faulty::new(&dep, &lost);
    let first = create(&faulty.at(t0()), 1);
    assert!(first.may_have_happened);
    assert!(matches!(first.err(), Failure::Internal(_)));
    // The retry writes another workspace to the shard, loses the race for the key to the
    // first, removes its own again and replays the first.
    let retry = create(&dep.without_kv(t0()), 2).ok();
    assert!(retry.replayed, "the retry was performed again");
    let created: CreatedWorkspace = serde_json::from_str(&retry.answer.body).unwrap();
    let id = created.workspace.id.as_str();
    let directory = "SELECT group_concat(workspace_id) FROM directory_workspaces";
    let shard_rows = "SELECT group_concat(id) FROM workspaces";
    let keys = "SELECT group_concat(id) FROM api_keys";
    let one = |conn: rusqlite::Connection, q: &str| -> String {
        conn.query_row(q, [], |r| r.get(0)).unwrap()
    };
    assert_eq!(one(dep.sql(SHARD_1), directory), id);
    assert_eq!(one(dep.sql(SHARD_2), shard_rows), id);
    assert_eq!(one(dep.sql(SHARD_2), keys), created.api_key.id.as_str());
    assert_eq!(
        claimed(&dep, SHARD_1, OPERATORS),
        [key_hash("onboard-acme")]
    );
}
