//! A revoked API key is refused at once: the next read and the next write of a request
//! whose session confirms the key (as a Worker isolate that kept the key's lookup does)
//! are 401, and the refused write wrote nothing; a request that reached no database call
//! (a replay from KV, a 400 before the database) is refused by the confirmation at its
//! end. The workspace's other keys go on working. And under concurrency: every request
//! that starts after the revocation returned is refused.

mod support;

use connect_core::rules::pagination::PageRequest;
use connect_core::server::admin::IssuedApiKey;
use connect_core::server::failure::Failure;
use connect_core::server::operations::workspaces::AddApiKey;
use connect_core::server::perform::{Backend, OPERATORS};
use connect_core::server::session::KEY_REFUSED;
use connect_core::server::tables::{apps, workspaces};
use connect_core::wire::secrets::KeyEnvironment;
use connect_sqlite::block_on;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use support::*;

const UNAUTHORIZED: Failure = Failure::Unauthorized(KEY_REFUSED);

/// The tenant with another key: its own second key's hash and id.
fn second_key(
    dep: &Deployment,
    ring: &connect_core::server::seal::KeyRing,
    tenant: &Tenant,
) -> Tenant {
    let native = dep.at(t0());
    let done = Sender {
        native: &native,
        ring,
        now: t0(),
        seed: 99,
        shard: SHARD_1,
        confirm: None,
    }
    .send(
        &Req::post(
            &format!("/admin/v1/workspaces/{}/api-keys", tenant.scope()),
            None,
            Some("second-key"),
            OPERATORS,
        ),
        AddApiKey::new(tenant.scope(), KeyEnvironment::Test),
    )
    .ok();
    let issued: IssuedApiKey = serde_json::from_str(&done.answer.body).unwrap();
    Tenant {
        key_hash: issued.key.hash(),
        api_key: issued.key,
        key_id: issued.id,
        ..tenant.clone()
    }
}

/// A read of the workspace's first page through a session confirming `tenant`'s key.
fn read(dep: &Deployment, tenant: &Tenant) -> Result<u64, Failure> {
    let native = dep.at(t0());
    let db = native.shard(&tenant.shard)?;
    db.confirm_key(tenant.key_hash.clone());
    let page = PageRequest::new(10, 0).unwrap();
    match block_on(apps::list(&db, &tenant.workspace, page, None))? {
        apps::Listing::Fresh { total, .. } => Ok(total),
        apps::Listing::Unchanged => panic!("no generation was sent"),
    }
}

fn revoke(dep: &Deployment, tenant: &Tenant, at: i64) -> Option<i64> {
    let native = dep.at(t0());
    let db = native.shard(&tenant.shard).unwrap();
    block_on(workspaces::revoke_key(
        &db,
        &tenant.key_id,
        connect_core::wire::time::Timestamp::from_millis(at),
    ))
    .unwrap()
    .map(|(t, _)| t.millis())
}

#[test]
fn a_revoked_key_is_refused_by_the_next_read_and_write_which_writes_nothing() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let first = create_workspace(&dep, &ring, SHARD_2, 1);
    let second = second_key(&dep, &ring, &first);
    let body = batch_body("before", 3);
    let before = send(
        &dep.at(t0()),
        &ring,
        t0(),
        1,
        &first,
        &batch_req(&first, &body, Some("before")),
        batch_op(&first, &body),
    )
    .ok();
    let id = batch_ids(&before.answer).remove(0);
    assert_eq!(read(&dep, &first), Ok(3));

    assert_eq!(revoke(&dep, &first, T0_MS + 5), Some(T0_MS + 5));
    let stored = stored_apps(&dep, SHARD_2, first.scope());
    let claims = claimed(&dep, SHARD_2, first.scope());
    let kv = dep.kv.entries();

    // The next read.
    assert_eq!(read(&dep, &first), Err(UNAUTHORIZED));
    // The next write: refused in its transaction, which wrote nothing.
    let body = batch_body("after", 3);
    let native = dep.at(t0());
    let write = send(
        &native,
        &ring,
        t0(),
        2,
        &first,
        &batch_req(&first, &body, Some("after")),
        batch_op(&first, &body),
    );
    assert!(
        !write.may_have_happened,
        "a refused transaction is known not to have happened"
    );
    assert_eq!(write.err(), UNAUTHORIZED);
    let unkeyed = send(
        &dep.at(t0()),
        &ring,
        t0(),
        3,
        &first,
        &batch_req(&first, &body, None),
        batch_op(&first, &body),
    );
    assert_eq!(unkeyed.err(), UNAUTHORIZED);
    // A change reads first: refused there.
    let rotate = send(
        &dep.at(t0()),
        &ring,
        t0(),
        4,
        &first,
        &Req::post(
            &app_path(&id, "/rotate-client-secret"),
            None,
            None,
            first.scope(),
        ),
        Ok(rotate_client_secret_op(&first, &id, Committed::default())),
    );
    assert_eq!(rotate.err(), UNAUTHORIZED);
    // A replay from KV reaches no database call: the confirmation at its end refuses it.
    let replay = send(
        &dep.at(t0()),
        &ring,
        t0(),
        5,
        &first,
        &batch_req(&first, &batch_body("before", 3), Some("before")),
        batch_op(&first, &batch_body("before", 3)),
    );
    assert_eq!(replay.err(), UNAUTHORIZED);
    // So does a request refused before the database, with a key or without.
    let invalid = json!({ "items": [] });
    for key in [None, Some("invalid")] {
        let refused = send(
            &dep.at(t0()),
            &ring,
            t0(),
            6,
            &first,
            &batch_req(&first, &invalid, key),
            batch_op(&first, &invalid),
        );
        assert_eq!(refused.err(), UNAUTHORIZED, "key {key:?}");
    }
    // Nothing was written.
    let after = stored_apps(&dep, SHARD_2, first.scope());
    assert_eq!(
        after
            .iter()
            .map(|a| (&a.client_id, a.version))
            .collect::<Vec<_>>(),
        stored
            .iter()
            .map(|a| (&a.client_id, a.version))
            .collect::<Vec<_>>()
    );
    assert_eq!(claimed(&dep, SHARD_2, first.scope()), claims);
    assert_eq!(dep.kv.entries(), kv);
    assert_eq!(apps_count(&dep, &first), 3);

    // The workspace's other key works, and a second revocation keeps the first's time.
    assert_eq!(read(&dep, &second), Ok(3));
    let done = send(
        &dep.at(t0()),
        &ring,
        t0(),
        7,
        &second,
        &batch_req(&second, &body, Some("after")),
        batch_op(&second, &body),
    )
    .ok();
    assert!(!done.replayed);
    assert_eq!(apps_count(&dep, &first), 6);
    assert_eq!(revoke(&dep, &first, T0_MS + 9), Some(T0_MS + 5));
}

#[test]
fn every_request_that_starts_after_the_revocation_returned_is_refused() {
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let revoked = AtomicBool::new(false);
    // (started after the revocation returned, created apps or the failure)
    let outcomes: Mutex<Vec<(bool, Result<usize, Failure>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (dep, ring, tenant, revoked, outcomes) =
                (&dep, &ring, &tenant, &revoked, &outcomes);
            s.spawn(move || {
                // Until three requests of this thread started after the revocation.
                let mut after_it = 0;
                for n in 0..10_000u64 {
                    let after = revoked.load(Ordering::SeqCst);
                    if after && after_it == 3 {
                        return;
                    }
                    after_it += usize::from(after);
                    let body = batch_body(&format!("w{t} n{n}"), 2);
                    let key = format!("w{t}-{n}");
                    let answer = send(
                        &dep.at(t0()),
                        ring,
                        t0(),
                        seed(&[t, n]),
                        tenant,
                        &batch_req(tenant, &body, Some(&key)),
                        batch_op(tenant, &body),
                    );
                    let result = answer.result.map(|p| batch_ids(&p.answer).len());
                    outcomes.lock().unwrap().push((after, result));
                }
                panic!("the revocation never came");
            });
        }
        s.spawn(|| {
            // Once some writes went through.
            while outcomes.lock().unwrap().len() < 20 {
                std::thread::yield_now();
            }
            revoke(&dep, &tenant, T0_MS + 1).unwrap();
            revoked.store(true, Ordering::SeqCst);
        });
    });
    let outcomes = outcomes.into_inner().unwrap();
    let mut created = 0;
    let mut refused_after = 0;
    for (after, result) in &outcomes {
        match result {
            Ok(n) => {
                assert!(
                    !after,
                    "a request started after the revocation went through"
                );
                created += n;
            }
            Err(e) => {
                assert_eq!(*e, UNAUTHORIZED);
                refused_after += usize::from(*after);
            }
        }
    }
    // The 20 requests answered before the revocation started went through.
    assert!(created >= 20 * 2, "{created} apps");
    assert_eq!(refused_after, 3 * 3);
    // What went through is exactly what is stored.
    assert_eq!(stored_apps(&dep, SHARD_2, tenant.scope()).len(), created);
    assert_eq!(apps_count(&dep, &tenant), created as i64);
}

/// A write whose transaction was refused (the state moved, as when another change of the
/// app committed first) and that attempts again confirms the key again: a revocation in
/// between refuses the next attempt. (The check rides on the request's first call only; a
/// refused transaction rolled back with it.)
#[test]
fn an_attempt_after_a_refused_transaction_confirms_the_key_again() {
    use connect_core::server::sql;
    use connect_core::server::storage::Statement;
    let dep = Deployment::new(&[SHARD_1, SHARD_2]);
    let ring = ring("k1");
    let tenant = create_workspace(&dep, &ring, SHARD_2, 1);
    let native = dep.at(t0());
    let db = native.shard(&tenant.shard).unwrap();
    db.confirm_key(tenant.key_hash.clone());
    // A guarded update of an app that is not there: refused as the state moved.
    let moved = vec![
        Statement::new(
            sql::APP_UPDATE,
            vec![
                "AAAAAAAA".into(),
                tenant.scope().into(),
                "{}".into(),
                1i64.into(),
                "[]".into(),
            ],
        ),
        Statement::new(sql::GUARD, Vec::new()),
    ];
    assert!(block_on(db.commit(moved.clone())).unwrap().is_err());
    assert_eq!(revoke(&dep, &tenant, T0_MS + 5), Some(T0_MS + 5));
    assert_eq!(block_on(db.commit(moved)), Err(UNAUTHORIZED));
}
