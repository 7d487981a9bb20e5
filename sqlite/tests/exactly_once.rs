//! Exactly once under racing attempts: threads, each with connections of its own on the
//! same shard files (as Worker isolates on one D1 database), send the same keyed batch
//! at the same moment, again and again. One set of apps exists per key, every caller gets
//! the same bytes, and only one answer is not a replay; a key raced with different bodies
//! has one winner and 409s. Concurrent changes of one app all succeed and none is lost.

mod support;

use connect_core::server::failure::Failure;
use connect_core::server::perform::Performed;
use connect_core::server::recorded::RecordedResponse;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Barrier, Mutex};
use support::*;

/// Threads racing.
const THREADS: usize = 8;

/// An answer and whether it was a replay, or the failure.
type Outcome = Result<(RecordedResponse, bool), Failure>;

/// What one thread was answered: (key, outcome).
type Seen = Vec<(String, Outcome)>;

fn record(seen: &mut Seen, key: &str, result: Result<Performed, Failure>) {
    seen.push((key.to_owned(), result.map(|p| (p.answer, p.replayed))));
}

#[test]
fn racing_requests_with_one_key_create_one_set_of_apps_and_get_one_answer() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let keys = [
        ("race-a", batch_body("race a", 20)),
        ("race-b", batch_body("race b", 7)),
    ];
    const ROUNDS: usize = 4;
    let barrier = Barrier::new(THREADS);
    let seen: Vec<Seen> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (dep, ring, tenant, keys, barrier) = (&dep, &ring, &tenant, &keys, &barrier);
                s.spawn(move || {
                    let mut seen = Seen::new();
                    for round in 0..ROUNDS {
                        // Every thread sends both keys, half of them in the other order.
                        let order: Vec<usize> = if t % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
                        barrier.wait();
                        for k in order {
                            let (key, body) = &keys[k];
                            // Half the threads' isolates have no KV: their replays come
                            // from the database, while the others' come from KV.
                            let native = if t % 4 < 2 {
                                dep.at(t0())
                            } else {
                                dep.without_kv(t0())
                            };
                            let sender = Sender {
                                native: &native,
                                ring,
                                now: t0(),
                                seed: seed(&[1, t as u64, round as u64, k as u64]),
                                shard: &tenant.shard,
                                confirm: Some(&tenant.key_hash),
                            };
                            let answer = sender
                                .send(&batch_req(tenant, body, Some(key)), batch_op(tenant, body));
                            record(&mut seen, key, answer.result);
                        }
                    }
                    seen
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut by_key: BTreeMap<String, Vec<(RecordedResponse, bool)>> = BTreeMap::new();
    for (key, result) in seen.into_iter().flatten() {
        let answer = result.unwrap_or_else(|e| panic!("{key}: {e:?}"));
        by_key.entry(key).or_default().push(answer);
    }
    let stored = stored_apps(&dep, SHARD_2, tenant.scope());
    let stored_ids: Vec<&str> = stored.iter().map(|a| a.client_id.as_str()).collect();
    let mut answered_ids = Vec::new();
    for (key, body) in &keys {
        let answers = &by_key[*key];
        assert_eq!(answers.len(), THREADS * ROUNDS);
        let fresh = answers.iter().filter(|(_, replayed)| !replayed).count();
        assert_eq!(fresh, 1, "{key}: {fresh} answers were not replays");
        let first = &answers[0].0;
        assert_eq!(first.status, 201);
        for (answer, _) in answers {
            assert_eq!(answer, first, "{key}: an answer differs");
        }
        let ids = batch_ids(first);
        assert_eq!(ids.len(), body["items"].as_array().unwrap().len());
        answered_ids.extend(ids);
    }
    // Exactly the apps the two answers named, each once, and counted once.
    assert_eq!(
        stored.len(),
        answered_ids.len(),
        "{} apps stored for the {} the two keys' answers named",
        stored.len(),
        answered_ids.len()
    );
    let mut want: Vec<&str> = answered_ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    let mut got = stored_ids.clone();
    got.sort_unstable();
    assert_eq!(got, want, "the stored apps are not the answered ones");
    assert_eq!(apps_count(&dep, &tenant), 27);
    assert_eq!(claimed(&dep, SHARD_2, tenant.scope()), {
        let mut h = vec![key_hash("race-a"), key_hash("race-b")];
        h.sort();
        h
    });
}

#[test]
fn one_key_raced_with_different_bodies_has_one_winner_and_conflicts() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 2);
    let barrier = Barrier::new(THREADS);
    // (thread, round, outcome)
    let results: Mutex<Vec<(usize, usize, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (dep, ring, tenant, barrier, results) = (&dep, &ring, &tenant, &barrier, &results);
            s.spawn(move || {
                let body = batch_body(&format!("contender {t}"), 3 + t);
                for round in 0..2 {
                    barrier.wait();
                    let native = dep.at(t0());
                    let sender = Sender {
                        native: &native,
                        ring,
                        now: t0(),
                        seed: seed(&[2, t as u64, round]),
                        shard: &tenant.shard,
                        confirm: Some(&tenant.key_hash),
                    };
                    let answer = sender.send(
                        &batch_req(tenant, &body, Some("contested")),
                        batch_op(tenant, &body),
                    );
                    results.lock().unwrap().push((
                        t,
                        round as usize,
                        answer.result.map(|p| (p.answer, p.replayed)),
                    ));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let winners: HashSet<usize> = results
        .iter()
        .filter(|(_, _, r)| r.is_ok())
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = *winners.iter().next().unwrap();
    let mut winning_answer = None;
    for (t, round, result) in &results {
        match result {
            Ok((answer, replayed)) => {
                assert_eq!(*t, winner);
                // The winner's first answer is fresh, its second a replay of it.
                assert_eq!(*replayed, *round == 1, "round {round}");
                assert_eq!(*winning_answer.get_or_insert(answer), answer);
            }
            Err(e) => assert_eq!(*e, Failure::IdempotencyConflict, "thread {t} round {round}"),
        }
    }
    let stored = stored_apps(&dep, SHARD_2, tenant.scope());
    assert_eq!(
        stored.len(),
        3 + winner,
        "{} apps stored for the winner's {}",
        stored.len(),
        3 + winner
    );
    assert!(stored
        .iter()
        .all(|a| a.name.starts_with(&format!("contender {winner} "))));
    assert_eq!(apps_count(&dep, &tenant), (3 + winner) as i64);
    let ids: Vec<String> = stored.into_iter().map(|a| a.client_id).collect();
    assert_eq!(ids, batch_ids(winning_answer.unwrap()));
}

/// The kinds of change the threads make, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Patch,
    ClientSecret,
    WebhookSecret,
}

#[test]
fn concurrent_changes_of_one_app_all_succeed_and_the_last_committed_is_the_state() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 3);
    let body = batch_body("contended", 1);
    let native = dep.at(t0());
    let created = Sender {
        native: &native,
        ring: &ring,
        now: t0(),
        seed: seed(&[3]),
        shard: &tenant.shard,
        confirm: Some(&tenant.key_hash),
    }
    .send(&batch_req(&tenant, &body, None), batch_op(&tenant, &body))
    .ok();
    let id = batch_ids(&created.answer).remove(0);

    const CHANGES: usize = 6;
    let barrier = Barrier::new(THREADS);
    // Every change: its kind, where it stands in the app's history (its `updatedAt` less
    // the creation time, the clock standing still), and what it set.
    let done: Mutex<Vec<(Kind, i64, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (dep, ring, tenant, id, barrier, done) =
                (&dep, &ring, &tenant, &id, &barrier, &done);
            s.spawn(move || {
                for c in 0..CHANGES {
                    let kind = [Kind::Patch, Kind::ClientSecret, Kind::WebhookSecret][(t + c) % 3];
                    barrier.wait();
                    let native = dep.at(t0());
                    let sender = Sender {
                        native: &native,
                        ring,
                        now: t0(),
                        seed: seed(&[3, t as u64, c as u64]),
                        shard: &tenant.shard,
                        confirm: Some(&tenant.key_hash),
                    };
                    let committed = Committed::default();
                    let (answer, set) = match kind {
                        Kind::Patch => {
                            let name = format!("patched by {t} at {c}");
                            let patch = serde_json::json!({ "name": name });
                            let req = Req::unkeyed(
                                "PATCH",
                                &app_path(id, ""),
                                Some(patch.clone()),
                                tenant.scope(),
                            );
                            let answer =
                                sender.send(&req, patch_op(tenant, id, &patch, committed.clone()));
                            (answer, name)
                        }
                        Kind::ClientSecret => {
                            let req = Req::post(
                                &app_path(id, "/rotate-client-secret"),
                                None,
                                None,
                                tenant.scope(),
                            );
                            let answer = sender.send(
                                &req,
                                Ok(rotate_client_secret_op(tenant, id, committed.clone())),
                            );
                            let set = answer
                                .result
                                .as_ref()
                                .map(|p| rotated_client_secret(&p.answer))
                                .unwrap_or_default();
                            (answer, set)
                        }
                        Kind::WebhookSecret => {
                            let req = Req::post(
                                &app_path(id, "/webhook-config/rotate-secret"),
                                None,
                                None,
                                tenant.scope(),
                            );
                            let answer = sender.send(
                                &req,
                                Ok(rotate_webhook_secret_op(tenant, id, committed.clone())),
                            );
                            let set = answer
                                .result
                                .as_ref()
                                .map(|p| rotated_webhook_secret(&p.answer))
                                .unwrap_or_default();
                            (answer, set)
                        }
                    };
                    let performed = answer.ok();
                    assert!(!performed.replayed);
                    let at = committed.get().expect("a change that wrote").millis() - T0_MS;
                    done.lock().unwrap().push((kind, at, set));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(_, at, _)| *at);
    let n = (THREADS * CHANGES) as i64;
    // Each change read the one before it: places 1 to n, each taken once. A lost update
    // (two changes of the same version both written) would leave a place twice or a gap.
    let places: Vec<i64> = done.iter().map(|(_, at, _)| *at).collect();
    assert_eq!(places, (1..=n).collect::<Vec<_>>());
    let last = |kind: Kind| {
        done.iter()
            .rev()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, _, set)| set.clone())
            .unwrap()
    };
    let app = stored_apps(&dep, SHARD_2, tenant.scope()).remove(0);
    assert_eq!(app.version, 1 + n);
    assert_eq!(app.name, last(Kind::Patch));
    assert_eq!(app.client_secret(&ring), last(Kind::ClientSecret));
    assert_eq!(app.webhook_secret(&ring), Some(last(Kind::WebhookSecret)));
    assert_eq!(app.open(&ring).updated_at.millis(), T0_MS + n);
}

#[test]
fn a_minted_client_id_already_taken_is_minted_afresh() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let first = create_workspace(&dep, &ring, SHARD_2, 4);
    let second = create_workspace(&dep, &ring, SHARD_2, 5);
    let body = batch_body("twin", 5);
    // The same randomness in both requests: the second mints the first's ids, which the
    // shard refuses, and mints again.
    let send = |tenant: &Tenant| {
        let native = dep.at(t0());
        Sender {
            native: &native,
            ring: &ring,
            now: t0(),
            seed: 77,
            shard: &tenant.shard,
            confirm: Some(&tenant.key_hash),
        }
        .send(
            &batch_req(tenant, &body, Some("twin")),
            batch_op(tenant, &body),
        )
        .ok()
    };
    let a = batch_ids(&send(&first).answer);
    let b = batch_ids(&send(&second).answer);
    let minted = batch_op(&second, &body)
        .map(|_| {
            let plan = connect_core::rules::batch::plan(&body).unwrap();
            let mut random = connect_core::test_util::SeededEntropy::new(77);
            plan.execute(&second.workspace, second.class, t0(), &mut random)
                .apps()
                .map(|app| app.client_id.to_string())
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(
        minted, a,
        "the second request's first attempt mints the first's ids"
    );
    assert!(b.iter().all(|id| !a.contains(id)), "{a:?} {b:?}");
    assert_eq!(stored_apps(&dep, SHARD_2, first.scope()).len(), 5);
    assert_eq!(stored_apps(&dep, SHARD_2, second.scope()).len(), 5);
}
