//! The core's hot paths for a 100-item batch (judging the body, minting, sealing the apps
//! for storage, the 201 body, recording it for idempotency, the fingerprint) and for a list
//! page (100 stored documents to the page's JSON, secrets opened).
//!
//! `cargo bench -p connect-core --all-features`

use connect_core::rules::batch;
use connect_core::rules::idempotency::Fingerprint;
use connect_core::rules::input::parse_body;
use connect_core::rules::pagination::PageRequest;
use connect_core::server::recorded::RecordedResponse;
use connect_core::server::row::Stored;
use connect_core::server::seal::{KeyRing, SealContext};
use connect_core::server::shards::ClientIdClass;
use connect_core::test_util::SeededEntropy;
use connect_core::wire::app::App;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::time::Timestamp;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use std::hint::black_box;

/// 100 items like the seed example: a name, one redirect URI, the caller's reference.
fn hundred_seed_items() -> Vec<u8> {
    let items: Vec<Value> = (0..100)
        .map(|i| {
            json!({
                "name": format!("Customer {i:03} Ltd"),
                "redirectUris": [format!("https://customer{i}.example.com/callback")],
                "idempotencyKey": format!("customer-{i:03}")
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "items": items, "continueOnError": true })).unwrap()
}

/// 100 heavy items: two redirect URIs and an enabled webhook with events each.
fn hundred_items() -> Vec<u8> {
    let items: Vec<Value> = (0..100)
        .map(|i| {
            json!({
                "name": format!("Customer {i:03} Ltd"),
                "redirectUris": [format!("https://customer{i}.example.com/callback"), "http://localhost:3000/cb"],
                "webhookConfig": { "url": format!("https://hooks.customer{i}.example.com/in"), "enabled": true,
                                   "events": ["verification.completed", "verification.failed"] },
                "idempotencyKey": format!("customer-{i:03}")
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "items": items, "continueOnError": true })).unwrap()
}

fn benches(c: &mut Criterion) {
    let seed = hundred_seed_items();
    let body = hundred_items();
    let workspace = WorkspaceId::parse("org_bench").unwrap();
    let now = Timestamp::from_millis(1_774_599_771_272);
    let ring = KeyRing::parse(&format!("k1:{}", "ab".repeat(32))).unwrap();

    for (what, body) in [("100 seed-like items", &seed), ("100 heavy items", &body)] {
        c.bench_function(&format!("batch/{what}: parse, validate and mint"), |b| {
            let mut entropy = SeededEntropy::new(1);
            b.iter(|| {
                let plan = batch::plan(&parse_body(black_box(body)).unwrap()).unwrap();
                plan.execute(&workspace, ClientIdClass::FIRST, now, &mut entropy)
            })
        });
        c.bench_function(
            &format!("batch/{what}: all of it (rows, 201 body, recorded answer)"),
            |b| {
                let mut entropy = SeededEntropy::new(2);
                b.iter(|| {
                    let plan = batch::plan(&parse_body(black_box(body)).unwrap()).unwrap();
                    let outcome = plan.execute(&workspace, ClientIdClass::FIRST, now, &mut entropy);
                    let rows: Vec<App<Stored>> = outcome
                        .apps()
                        .map(|app| app.seal(&ring, &mut entropy))
                        .collect();
                    let rows_json = serde_json::to_string(&rows).unwrap();
                    let answer = RecordedResponse {
                        status: 201,
                        headers: Vec::new(),
                        body: serde_json::to_string(&outcome.response().unwrap()).unwrap(),
                    };
                    let context = SealContext::RecordedResponse {
                        scope: "org_bench",
                        key_hash: "h",
                    };
                    (rows_json, answer.seal(&ring, context, &mut entropy))
                })
            },
        );
    }
    let value = parse_body(&body).unwrap();
    let outcome = batch::plan(&value).unwrap().execute(
        &workspace,
        ClientIdClass::FIRST,
        now,
        &mut SeededEntropy::new(7),
    );
    c.bench_function("batch/100 heavy items: seal the apps into rows", |b| {
        let mut entropy = SeededEntropy::new(8);
        b.iter(|| {
            black_box(&outcome)
                .apps()
                .map(|app| app.seal(&ring, &mut entropy))
                .collect::<Vec<_>>()
        })
    });
    c.bench_function("batch/100 heavy items: the 201 body", |b| {
        b.iter(|| serde_json::to_string(&black_box(&outcome).response().unwrap()).unwrap())
    });
    let docs = format!(
        "[{}]",
        outcome
            .apps()
            .map(|app| app.seal(&ring, &mut SeededEntropy::new(9)).doc())
            .collect::<Vec<_>>()
            .join(",")
    );
    let page = PageRequest::new(100, 0).unwrap();
    c.bench_function("list/100 stored documents to the page's JSON", |b| {
        b.iter(|| {
            let stored: Vec<App<Stored>> = serde_json::from_str(black_box(&docs)).unwrap();
            let apps = stored
                .iter()
                .map(|app| app.open(&ring).show())
                .collect::<Result<Vec<App>, _>>()
                .unwrap();
            serde_json::to_string(&page.response(apps, 1000)).unwrap()
        })
    });
    c.bench_function("idempotency/fingerprint of a 100-item body", |b| {
        b.iter(|| Fingerprint::of("POST", "/connect/v1/apps/batch", Some(black_box(&value))))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
