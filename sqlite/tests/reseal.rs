//! A rotation of the secrets key, natively: values sealed under `k1`, then the ring
//! "k2 primary, k1 old" while the re-seal runs (the operators' route and the scheduled
//! run, chunk after chunk, in both shards) and other threads rotate the client and
//! webhook secrets of the same apps. Afterwards nothing is under `k1`, neither by the
//! counts nor in the rows or KV; with `k1` gone from the ring every secret opens and is
//! the last rotation's (a re-seal never wrote an older value over a newer one), and every
//! recorded answer replays. And a scheduled run does at most `CHUNKS_PER_RUN` chunks.
//!
//! The race is seen: with the version check taken out of `RESEAL_APPS_WRITE` (so a chunk
//! writes over whatever the app became since its window was read), the first test fails
//! with a client secret that is not the last rotation's.

mod support;

use connect_core::server::admin::ResealProgress;
use connect_core::server::perform::OPERATORS;
use connect_core::server::recorded::{KvRecord, RecordedResponse};
use connect_core::server::reseal::{self, Reseal, CHUNKS_PER_RUN, WINDOW};
use connect_core::server::seal::KeyRing;
use connect_core::server::LogLine;
use connect_core::test_util::SeededEntropy;
use connect_sqlite::{block_on, Native};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use support::*;

/// A keyed request and the answer it was first given.
#[derive(Debug, Clone)]
struct Recorded {
    tenant: usize,
    what: Keyed,
    key: String,
    answer: RecordedResponse,
}

#[derive(Debug, Clone)]
enum Keyed {
    Batch(serde_json::Value),
    ClientSecret(String),
    WebhookSecret(String),
}

/// Sends a keyed request of `what` for `tenant` on `native` with `ring`.
fn keyed(
    native: &Native<'_>,
    ring: &KeyRing,
    tenant: &Tenant,
    what: &Keyed,
    key: &str,
    n: u64,
) -> Answer {
    match what {
        Keyed::Batch(body) => send(
            native,
            ring,
            t0(),
            n,
            tenant,
            &batch_req(tenant, body, Some(key)),
            batch_op(tenant, body),
        ),
        Keyed::ClientSecret(id) => send(
            native,
            ring,
            t0(),
            n,
            tenant,
            &Req::post(
                &app_path(id, "/rotate-client-secret"),
                None,
                Some(key),
                tenant.scope(),
            ),
            Ok(rotate_client_secret_op(tenant, id, Committed::default())),
        ),
        Keyed::WebhookSecret(id) => send(
            native,
            ring,
            t0(),
            n,
            tenant,
            &Req::post(
                &app_path(id, "/webhook-config/rotate-secret"),
                None,
                Some(key),
                tenant.scope(),
            ),
            Ok(rotate_webhook_secret_op(tenant, id, Committed::default())),
        ),
    }
}

/// One call of the operators' re-seal route: what it moved and what remains.
fn reseal_route(dep: &Deployment, ring: &KeyRing, n: u64) -> ResealProgress {
    let native = dep.at(t0());
    let done = Sender {
        native: &native,
        ring,
        now: t0(),
        seed: seed(&[0x5EA1, n]),
        shard: SHARD_1,
        confirm: None,
    }
    .send(
        &Req::post(
            "/admin/v1/secrets-keys/reseal",
            None,
            Some(&format!("reseal-{n}")),
            OPERATORS,
        ),
        Ok(Reseal::new(vec![SHARD_1.into(), SHARD_2.into()])),
    )
    .ok();
    serde_json::from_str(&done.answer.body).expect("the progress")
}

/// One scheduled run over both shards: its log.
fn scheduled(dep: &Deployment, ring: &KeyRing, n: u64) -> Vec<LogLine> {
    let native = dep.at(t0());
    let mut random = SeededEntropy::new(seed(&[0xC207, n]));
    block_on(reseal::run(
        &native,
        &[SHARD_1.to_owned(), SHARD_2.to_owned()],
        ring,
        &mut random,
    ))
}

#[test]
fn the_reseal_moves_everything_to_the_new_key_while_secrets_rotate_and_loses_none() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let k1 = ring("k1");
    let tenants = [
        create_workspace(&dep, &k1, SHARD_1, 1),
        create_workspace(&dep, &k1, SHARD_2, 2),
    ];
    // Under k1: 2 keyed batches of 60 apps in each workspace, and a keyed webhook secret
    // rotation for every third app.
    let mut recorded = Vec::new();
    let mut apps: Vec<(usize, String)> = Vec::new();
    for (t, tenant) in tenants.iter().enumerate() {
        for b in 0..2 {
            let what = Keyed::Batch(batch_body(&format!("reseal t{t} b{b}"), 60));
            let key = format!("batch-{t}-{b}");
            let answer = keyed(
                &dep.at(t0()),
                &k1,
                tenant,
                &what,
                &key,
                seed(&[t as u64, b]),
            )
            .ok()
            .answer;
            apps.extend(batch_ids(&answer).into_iter().map(|id| (t, id)));
            recorded.push(Recorded {
                tenant: t,
                what,
                key,
                answer,
            });
        }
    }
    for (i, (t, id)) in apps.iter().enumerate().step_by(3) {
        let what = Keyed::WebhookSecret(id.clone());
        let key = format!("webhook-k1-{i}");
        let answer = keyed(
            &dep.at(t0()),
            &k1,
            &tenants[*t],
            &what,
            &key,
            seed(&[7, i as u64]),
        )
        .ok()
        .answer;
        recorded.push(Recorded {
            tenant: *t,
            what,
            key,
            answer,
        });
    }
    let before =
        sealed_under(&dep, SHARD_1, "apps", "k1") + sealed_under(&dep, SHARD_2, "apps", "k1");
    assert_eq!(before, 240);

    // The ring "k2 primary, k1 old": the re-seal races the rotations.
    let k2k1 = ring("k2,k1");
    let start = Barrier::new(4);
    let rotating = AtomicBool::new(true);
    let rotated: Mutex<Vec<Recorded>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        let (dep, ring, tenants, apps, start, rotating, rotated) =
            (&dep, &k2k1, &tenants, &apps, &start, &rotating, &rotated);
        // Two rotators, each over every app once: one rotates client secrets from the
        // first app on, the other webhook secrets from the last app back, with keys. The
        // re-seal walks the apps in creation order too: the rotations meet its windows.
        let rotators: Vec<_> = [0u64, 1]
            .into_iter()
            .map(|r| {
                s.spawn(move || {
                    start.wait();
                    let order: Vec<usize> = if r == 0 {
                        (0..apps.len()).collect()
                    } else {
                        (0..apps.len()).rev().collect()
                    };
                    for i in order {
                        let (t, id) = &apps[i];
                        let what = if r == 0 {
                            Keyed::ClientSecret(id.clone())
                        } else {
                            Keyed::WebhookSecret(id.clone())
                        };
                        let key = format!("rotate-{r}-{i}");
                        let n = seed(&[8, r, i as u64]);
                        let answer = keyed(&dep.at(t0()), ring, &tenants[*t], &what, &key, n)
                            .ok()
                            .answer;
                        rotated.lock().unwrap().push(Recorded {
                            tenant: *t,
                            what,
                            key,
                            answer,
                        });
                    }
                })
            })
            .collect();
        // The scheduled run, minute after minute, while the rotations go on.
        let cron = s.spawn(move || {
            start.wait();
            let mut n = 0;
            while rotating.load(Ordering::SeqCst) {
                let log = scheduled(dep, ring, n);
                assert!(
                    !log.iter().any(|l| matches!(l, LogLine::Error(_))),
                    "{log:?}"
                );
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        // An operator calling the route in a loop until nothing remains.
        let route = s.spawn(move || {
            start.wait();
            let mut n = 0;
            loop {
                n += 1;
                let progress = reseal_route(dep, ring, n);
                if progress.remaining == 0 {
                    return;
                }
                assert!(n < 1_000, "the re-seal does not end: {progress:?}");
            }
        });
        for r in rotators {
            r.join().unwrap();
        }
        rotating.store(false, Ordering::SeqCst);
        cron.join().unwrap();
        route.join().unwrap();
    });
    // The rotations' own values are under k2 already: nothing is left to move.
    assert!(scheduled(&dep, &k2k1, 9_999).is_empty());
    assert_eq!(reseal_route(&dep, &k2k1, 9_999).remaining, 0);

    // Nothing under k1: by the counts, in the rows, in KV.
    for shard in [SHARD_1, SHARD_2] {
        for kind in ["apps", "idempotency_records"] {
            assert_eq!(sealed_under(&dep, shard, kind, "k1"), 0, "{shard} {kind}");
        }
        assert_eq!(
            dep.int(
                shard,
                "SELECT count(*) FROM apps WHERE key_ids <> '[\"k2\"]' OR doc LIKE '%\"k1.%'"
            ),
            0
        );
        assert_eq!(
            dep.int(shard, "SELECT count(*) FROM idempotency_keys WHERE key_id <> 'k2' OR response NOT LIKE 'k2.%'"),
            0
        );
        assert_eq!(
            sealed_under(&dep, shard, "apps", "k2"),
            dep.int(shard, "SELECT count(*) FROM apps")
        );
        assert_eq!(
            sealed_under(&dep, shard, "idempotency_records", "k2"),
            dep.int(shard, "SELECT count(*) FROM idempotency_keys")
        );
    }
    for (name, text) in dep.kv.entries() {
        let record: KvRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(record.response.key_id(), Some("k2"), "{name}");
    }

    // k1 leaves the ring: every secret opens, and is the last rotation's.
    let k2 = ring("k2");
    let rotated = rotated.into_inner().unwrap();
    let mut client_secrets: HashMap<&str, String> = HashMap::new();
    let mut webhook_secrets: HashMap<&str, String> = HashMap::new();
    for r in recorded.iter().chain(&rotated) {
        match &r.what {
            Keyed::Batch(_) => {
                let body: connect_core::wire::response::BatchCreateResponse =
                    serde_json::from_str(&r.answer.body).unwrap();
                for app in body.results.into_iter().filter_map(|r| r.app) {
                    let id = apps
                        .iter()
                        .find(|(_, id)| *id == app.client_id.to_string())
                        .unwrap();
                    client_secrets.insert(&id.1, app.client_secret.expose().to_owned());
                }
            }
            // Each app's secret of each kind was rotated once: its answer is the last.
            Keyed::ClientSecret(id) => {
                client_secrets.insert(id, rotated_client_secret(&r.answer));
            }
            Keyed::WebhookSecret(id) => {
                webhook_secrets.insert(id, rotated_webhook_secret(&r.answer));
            }
        }
    }
    for (t, tenant) in tenants.iter().enumerate() {
        for app in stored_apps(&dep, &tenant.shard, tenant.scope()) {
            assert_eq!(
                app.client_secret(&k2),
                client_secrets[app.client_id.as_str()],
                "t{t} {}",
                app.client_id
            );
            assert_eq!(
                app.webhook_secret(&k2),
                webhook_secrets.get(app.client_id.as_str()).cloned(),
                "t{t} {}",
                app.client_id
            );
        }
    }
    // Every recorded answer replays from the database (its KV copy, if any, is under k2
    // and holds the same), those recorded under k1 from KV too.
    for (n, r) in recorded.iter().chain(&rotated).enumerate() {
        let natives = if n < recorded.len() {
            vec![dep.without_kv(t0()), dep.at(t0())]
        } else {
            vec![dep.without_kv(t0())]
        };
        for native in natives {
            let again = keyed(&native, &k2, &tenants[r.tenant], &r.what, &r.key, n as u64).ok();
            assert!(again.replayed, "{}", r.key);
            assert_eq!(again.answer, r.answer, "{}", r.key);
        }
    }
}

#[test]
fn a_scheduled_run_does_at_most_its_chunks_and_the_next_goes_on() {
    let dep = Deployment::new(&[SHARD_1]);
    let k1 = ring("k1");
    let tenant = create_workspace(&dep, &k1, SHARD_1, 1);
    for b in 0..10 {
        let body = batch_body(&format!("backlog b{b}"), 100);
        send(
            &dep.at(t0()),
            &k1,
            t0(),
            b,
            &tenant,
            &batch_req(&tenant, &body, None),
            batch_op(&tenant, &body),
        )
        .ok();
    }
    // The workspace's creation is the one recorded answer.
    let records = sealed_under(&dep, SHARD_1, "idempotency_records", "k1");
    assert_eq!(records, 1);
    assert_eq!(sealed_under(&dep, SHARD_1, "apps", "k1"), 1_000);
    let k2k1 = ring("k2,k1");
    let run = |n: u64| {
        let native = dep.at(t0());
        let mut random = SeededEntropy::new(n);
        block_on(reseal::run(
            &native,
            &[SHARD_1.to_owned()],
            &k2k1,
            &mut random,
        ))
    };
    // The first run: CHUNKS_PER_RUN windows of apps, the first with the record.
    let moved = (CHUNKS_PER_RUN * WINDOW) as i64 + records;
    assert_eq!(
        run(1),
        [LogLine::Info(format!(
            "re-seal of SHARD_1: moved {moved} apps and idempotency records to the primary key"
        ))]
    );
    assert_eq!(
        sealed_under(&dep, SHARD_1, "apps", "k1"),
        1_000 - moved + records
    );
    assert_eq!(sealed_under(&dep, SHARD_1, "idempotency_records", "k1"), 0);
    // The next run goes on from the cursor and moves the rest.
    assert_eq!(
        run(2),
        [LogLine::Info(
            "re-seal of SHARD_1: moved 200 apps and idempotency records to the primary key".into()
        )]
    );
    assert_eq!(sealed_under(&dep, SHARD_1, "apps", "k1"), 0);
    assert_eq!(sealed_under(&dep, SHARD_1, "apps", "k2"), 1_000);
    // Then a run has nothing to do and says nothing.
    assert!(run(3).is_empty());
}

#[test]
fn the_operators_route_is_idempotent_and_answers_what_remains() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let k1 = ring("k1");
    let tenant = create_workspace(&dep, &k1, SHARD_2, 1);
    let body = batch_body("route", 30);
    send(
        &dep.at(t0()),
        &k1,
        t0(),
        1,
        &tenant,
        &batch_req(&tenant, &body, None),
        batch_op(&tenant, &body),
    )
    .ok();
    let k2k1 = ring("k2,k1");
    // 30 apps under k1 in SHARD_2, and the workspace's record in SHARD_1: SHARD_1 first.
    let first = reseal_route(&dep, &k2k1, 1);
    assert_eq!(
        first,
        ResealProgress {
            resealed: 1,
            remaining: 30
        }
    );
    // The same call again (same key): the same answer, nothing more done.
    assert_eq!(reseal_route(&dep, &k2k1, 1), first);
    assert_eq!(sealed_under(&dep, SHARD_2, "apps", "k1"), 30);
    let second = reseal_route(&dep, &k2k1, 2);
    assert_eq!(
        second,
        ResealProgress {
            resealed: 30,
            remaining: 0
        }
    );
    // The route's own records are sealed under the primary.
    assert_eq!(sealed_under(&dep, SHARD_1, "idempotency_records", "k1"), 0);
    let native = dep.at(t0());
    let counts = block_on(reseal::counts(&native, &[SHARD_1.into(), SHARD_2.into()])).unwrap();
    assert_eq!(reseal::remaining(&k2k1, &counts), 0);
}
