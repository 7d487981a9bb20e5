//! `Idempotency-Key` request by request: a replay comes from KV without the database, or
//! from the database when KV missed, byte for byte; the key used for another body or
//! route is a 409 from either; a request refused before it wrote (a 400, a 404) records
//! nothing and leaves the key free, unless the key is another request's; an expired claim
//! frees the key; a key belongs to its workspace.

mod support;

use connect_core::server::failure::Failure;
use connect_core::server::perform::record_name;
use connect_core::wire::time::Timestamp;
use connect_sqlite::faults::{Call, Fault, Faults};
use serde_json::json;
use support::*;

/// A day, in milliseconds: how long a key holds its answer.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Every database call fails before it is sent.
fn database_down() -> Faults {
    Faults::seeded(
        1,
        1.0,
        &[(Call::Read, Fault::Before), (Call::Write, Fault::Before)],
    )
}

struct World {
    dep: Deployment,
    ring: connect_core::server::seal::KeyRing,
    tenant: Tenant,
}

fn world() -> World {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    World { dep, ring, tenant }
}

impl World {
    /// A keyed batch of `body` at `now`, on a backend with KV or without.
    fn batch(&self, body: &serde_json::Value, key: &str, now: i64, kv: bool, n: u64) -> Answer {
        let native = if kv {
            self.dep.at(Timestamp::from_millis(now))
        } else {
            self.dep.without_kv(Timestamp::from_millis(now))
        };
        send(
            &native,
            &self.ring,
            Timestamp::from_millis(now),
            seed(&[n]),
            &self.tenant,
            &batch_req(&self.tenant, body, Some(key)),
            batch_op(&self.tenant, body),
        )
    }

    fn apps(&self) -> usize {
        stored_apps(&self.dep, SHARD_2, self.tenant.scope()).len()
    }

    /// The names of the KV copies of the workspace's records.
    fn kv_names(&self) -> Vec<String> {
        let prefix = format!("idem/{}/", self.tenant.scope());
        let mut names: Vec<String> = self
            .dep
            .kv
            .entries()
            .into_keys()
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort();
        names
    }

    fn kv_name(&self, key: &str) -> String {
        record_name(self.tenant.scope(), &key_hash(key))
    }
}

#[test]
fn a_replay_from_kv_needs_no_database_and_is_byte_identical() {
    let w = world();
    let body = batch_body("kv", 4);
    let first = w.batch(&body, "kv-key", T0_MS, true, 1).ok();
    assert!(!first.replayed);
    assert_eq!(w.kv_names(), [w.kv_name("kv-key")]);
    // With every database call failing, only KV can answer.
    let down = database_down();
    let faulty = Faulty::new(&w.dep, &down);
    let native = faulty.at(t0());
    let again = Sender {
        native: &native,
        ring: &w.ring,
        now: t0(),
        seed: 2,
        shard: SHARD_2,
        confirm: None,
    }
    .send(
        &batch_req(&w.tenant, &body, Some("kv-key")),
        batch_op(&w.tenant, &body),
    )
    .ok();
    assert!(again.replayed);
    assert_eq!(again.answer, first.answer);
    assert!(down.drawn().is_empty(), "the database was asked");
    assert!(!native.writes().may_have_happened());
    assert_eq!(w.apps(), 4);
}

#[test]
fn a_replay_comes_from_the_database_when_kv_missed_and_refills_kv() {
    let w = world();
    let body = batch_body("db", 3);
    // An isolate without KV: no copy is kept.
    let first = w.batch(&body, "db-key", T0_MS, false, 1).ok();
    assert!(!first.replayed && first.remember.is_some());
    assert!(w.kv_names().is_empty());
    let again = w.batch(&body, "db-key", T0_MS + 1_000, true, 2).ok();
    assert!(again.replayed);
    assert_eq!(again.answer, first.answer);
    assert_eq!(w.apps(), 3);
    assert_eq!(apps_count(&w.dep, &w.tenant), 3);
    // The replay left its KV copy, which now answers alone.
    assert_eq!(w.kv_names(), [w.kv_name("db-key")]);
    let down = database_down();
    let faulty = Faulty::new(&w.dep, &down);
    let native = faulty.at(t0());
    let third = Sender {
        native: &native,
        ring: &w.ring,
        now: t0(),
        seed: 3,
        shard: SHARD_2,
        confirm: None,
    }
    .send(
        &batch_req(&w.tenant, &body, Some("db-key")),
        batch_op(&w.tenant, &body),
    )
    .ok();
    assert_eq!(third.answer, first.answer);
}

#[test]
fn the_key_of_another_body_or_route_is_a_conflict_from_kv_and_from_the_database() {
    let w = world();
    let body = batch_body("one", 2);
    w.batch(&body, "taken", T0_MS, true, 1).ok();
    let other = batch_body("other", 2);
    for kv in [true, false] {
        assert_eq!(
            w.batch(&other, "taken", T0_MS, kv, 2).err(),
            Failure::IdempotencyConflict,
            "another body, KV {kv}"
        );
        let single = json!({ "name": "single" });
        let native = if kv {
            w.dep.at(t0())
        } else {
            w.dep.without_kv(t0())
        };
        let answer = send(
            &native,
            &w.ring,
            t0(),
            3,
            &w.tenant,
            &Req::post(
                "/connect/v1/apps",
                Some(single.clone()),
                Some("taken"),
                w.tenant.scope(),
            ),
            create_op(&w.tenant, &single),
        );
        assert_eq!(
            answer.err(),
            Failure::IdempotencyConflict,
            "POST /apps, KV {kv}"
        );
    }
    assert_eq!(w.apps(), 2);
    assert_eq!(
        claimed(&w.dep, SHARD_2, w.tenant.scope()),
        [key_hash("taken")]
    );
}

#[test]
fn a_request_refused_before_it_wrote_records_nothing_and_the_key_stays_free() {
    let w = world();
    // A validation 400.
    let invalid = json!({ "items": [{ "name": "fine" }, { "name": "" }] });
    let refused = w.batch(&invalid, "free-1", T0_MS, true, 1);
    assert!(!refused.may_have_happened);
    assert!(matches!(refused.err(), Failure::Field(e) if e.to_string().contains("items[1].name")));
    // A 404: the rotation of an app that is not there.
    let native = w.dep.at(t0());
    let missing = send(
        &native,
        &w.ring,
        t0(),
        2,
        &w.tenant,
        &Req::post(
            &app_path("ZZZZZZZZ", "/rotate-client-secret"),
            None,
            Some("free-2"),
            w.tenant.scope(),
        ),
        Ok(rotate_client_secret_op(
            &w.tenant,
            "ZZZZZZZZ",
            Committed::default(),
        )),
    );
    assert!(!missing.may_have_happened);
    assert!(matches!(missing.err(), Failure::NotFound(_)));
    assert!(claimed(&w.dep, SHARD_2, w.tenant.scope()).is_empty());
    assert!(w.kv_names().is_empty());
    assert_eq!(w.apps(), 0);
    // Both keys are free for a request that goes through.
    for (n, key) in ["free-1", "free-2"].into_iter().enumerate() {
        let body = batch_body(key, 2);
        let done = w.batch(&body, key, T0_MS, true, 10 + n as u64).ok();
        assert!(!done.replayed);
    }
    assert_eq!(w.apps(), 4);
    // But a refused request under a key another request holds is that conflict.
    for kv in [true, false] {
        assert_eq!(
            w.batch(&invalid, "free-1", T0_MS, kv, 20).err(),
            Failure::IdempotencyConflict
        );
    }
}

#[test]
fn an_expired_claim_frees_the_key() {
    let w = world();
    let body = batch_body("daily", 3);
    let first = w.batch(&body, "daily", T0_MS, true, 1).ok();
    // A moment before the day is out: the answer, from KV and from the database.
    for kv in [true, false] {
        let again = w.batch(&body, "daily", T0_MS + DAY_MS - 1, kv, 2).ok();
        assert!(again.replayed);
        assert_eq!(again.answer, first.answer);
    }
    assert_eq!(w.apps(), 3);
    // At the day's end the key is free: the stale KV copy is not trusted, the request is
    // carried out afresh, and its claim replaces the expired one.
    let later = T0_MS + DAY_MS;
    let second = w.batch(&body, "daily", later, true, 3).ok();
    assert!(!second.replayed);
    assert_ne!(batch_ids(&second.answer), batch_ids(&first.answer));
    assert_eq!(w.apps(), 6);
    assert_eq!(apps_count(&w.dep, &w.tenant), 6);
    assert_eq!(
        w.dep.int(SHARD_2, "SELECT count(*) FROM idempotency_keys"),
        1
    );
    assert_eq!(
        w.dep
            .int(SHARD_2, "SELECT expires_at FROM idempotency_keys"),
        later + DAY_MS
    );
    for kv in [true, false] {
        let again = w.batch(&body, "daily", later + 1, kv, 4).ok();
        assert!(again.replayed);
        assert_eq!(again.answer, second.answer);
    }
    // Another body under the renewed key is a conflict again.
    assert_eq!(
        w.batch(&batch_body("else", 1), "daily", later + 2, false, 5)
            .err(),
        Failure::IdempotencyConflict
    );
}

#[test]
fn a_key_belongs_to_its_workspace() {
    let w = world();
    let neighbour = create_workspace(&w.dep, &w.ring, SHARD_2, 2);
    let body = batch_body("same", 2);
    let mine = w.batch(&body, "shared-key", T0_MS, true, 1).ok();
    let native = w.dep.at(t0());
    let theirs = send(
        &native,
        &w.ring,
        t0(),
        2,
        &neighbour,
        &batch_req(&neighbour, &body, Some("shared-key")),
        batch_op(&neighbour, &body),
    )
    .ok();
    assert!(!mine.replayed && !theirs.replayed);
    assert_ne!(batch_ids(&mine.answer), batch_ids(&theirs.answer));
    assert_eq!(stored_apps(&w.dep, SHARD_2, neighbour.scope()).len(), 2);
    assert_eq!(w.apps(), 2);
}

#[test]
fn a_retry_of_a_change_that_happened_replays_it_even_when_the_app_is_gone_since() {
    let w = world();
    let body = batch_body("gone", 1);
    let id = batch_ids(&w.batch(&body, "create", T0_MS, true, 1).ok().answer).remove(0);
    let rotate = |native: &connect_sqlite::Native<'_>, n: u64| {
        send(
            native,
            &w.ring,
            t0(),
            n,
            &w.tenant,
            &Req::post(
                &app_path(&id, "/rotate-client-secret"),
                None,
                Some("rotate-once"),
                w.tenant.scope(),
            ),
            Ok(rotate_client_secret_op(
                &w.tenant,
                &id,
                Committed::default(),
            )),
        )
    };
    // The rotation commits and its answer is lost: the caller cannot know it happened.
    let lost = Faults::scripted(&[(Call::Write, 1, Fault::After)]);
    let faulty = Faulty::new(&w.dep, &lost);
    let native = faulty.at(t0());
    let first = rotate(&native, 2);
    assert!(first.may_have_happened);
    assert!(matches!(first.err(), Failure::Internal(_)));
    let rotated = stored_apps(&w.dep, SHARD_2, w.tenant.scope())[0].client_secret(&w.ring);
    // Another caller deletes the app; then the first retries with the same key.
    let native = w.dep.at(t0());
    let deleted = send(
        &native,
        &w.ring,
        t0(),
        3,
        &w.tenant,
        &Req::unkeyed("DELETE", &app_path(&id, ""), None, w.tenant.scope()),
        Ok(connect_core::server::operations::app::DeleteApp::new(
            w.tenant.workspace.clone(),
            &id,
        )),
    );
    assert_eq!(deleted.ok().answer.status, 200);
    // The rotation happened: the retry gets its answer, not a 404.
    let retry = rotate(&w.dep.at(t0()), 4).ok();
    assert!(retry.replayed);
    assert_eq!(retry.answer.status, 201);
    assert_eq!(rotated_client_secret(&retry.answer), rotated);
}
