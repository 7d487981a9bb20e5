//! The core's hot paths for a 100-item batch: judging the body, minting and building the
//! response (with and without serializing it), sealing its secrets for storage, the
//! idempotency fingerprint; and for a list page, turning 100 stored rows into App JSON.
//!
//! `cargo bench -p connect-core`

use connect_core::batch;
use connect_core::entropy::SeededEntropy;
use connect_core::idempotency::Fingerprint;
use connect_core::ids::WorkspaceId;
use connect_core::input::parse_body;
use connect_core::sealed::SealingKey;
use connect_core::stored::AppRow;
use connect_core::time::Timestamp;
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

    c.bench_function("batch/100 items: parse JSON only", |b| {
        b.iter(|| parse_body(black_box(&body)).unwrap())
    });
    let value = parse_body(&body).unwrap();
    c.bench_function("batch/100 items: validate only", |b| {
        b.iter(|| batch::plan(black_box(&value)).unwrap())
    });
    let plan = batch::plan(&value).unwrap();
    c.bench_function("batch/100 items: mint and build only", |b| {
        let mut entropy = SeededEntropy::new(3);
        b.iter(|| black_box(&plan).execute(&workspace, now, &mut entropy))
    });
    c.bench_function("batch/100 items: parse and validate", |b| {
        b.iter(|| batch::plan(&parse_body(black_box(&body)).unwrap()).unwrap())
    });
    c.bench_function("batch/100 items: validate and build the response", |b| {
        let mut entropy = SeededEntropy::new(6);
        b.iter(|| {
            batch::plan(black_box(&value))
                .unwrap()
                .execute(&workspace, now, &mut entropy)
        })
    });
    c.bench_function(
        "batch/100 items: parse, validate and build the response",
        |b| {
            let mut entropy = SeededEntropy::new(1);
            b.iter(|| {
                let plan = batch::plan(&parse_body(black_box(&body)).unwrap()).unwrap();
                plan.execute(&workspace, now, &mut entropy)
            })
        },
    );
    c.bench_function(
        "batch/100 items: validate, build and serialize the response",
        |b| {
            let mut entropy = SeededEntropy::new(2);
            b.iter(|| {
                let plan = batch::plan(&parse_body(black_box(&body)).unwrap()).unwrap();
                serde_json::to_string(&plan.execute(&workspace, now, &mut entropy).response)
                    .unwrap()
            })
        },
    );
    c.bench_function(
        "batch/100 seed-like items: parse, validate and build the response",
        |b| {
            let mut entropy = SeededEntropy::new(4);
            b.iter(|| {
                let plan = batch::plan(&parse_body(black_box(&seed)).unwrap()).unwrap();
                plan.execute(&workspace, now, &mut entropy)
            })
        },
    );
    c.bench_function(
        "batch/100 seed-like items: validate and build the response",
        |b| {
            let mut entropy = SeededEntropy::new(5);
            let value = parse_body(&seed).unwrap();
            b.iter(|| {
                batch::plan(black_box(&value))
                    .unwrap()
                    .execute(&workspace, now, &mut entropy)
            })
        },
    );
    let key = SealingKey::from_hex(&"ab".repeat(32)).unwrap();
    let created = plan.execute(&workspace, now, &mut SeededEntropy::new(7));
    c.bench_function("batch/100 items: seal the apps' secrets into rows", |b| {
        let mut entropy = SeededEntropy::new(8);
        b.iter(|| {
            created
                .apps()
                .map(|app| AppRow::seal_app(black_box(app), &key, &mut entropy))
                .collect::<Vec<_>>()
        })
    });
    c.bench_function(
        "batch/100 items: the rows and the response body, apps serialized once",
        |b| {
            let mut entropy = SeededEntropy::new(10);
            b.iter(|| black_box(&created).rows_and_body(&key, &mut entropy))
        },
    );
    let rows: Vec<AppRow> = created
        .apps()
        .map(|app| AppRow::seal_app(app, &key, &mut SeededEntropy::new(9)))
        .collect();
    c.bench_function("list/100 stored rows to App JSON (secrets opened)", |b| {
        b.iter(|| {
            black_box(&rows)
                .iter()
                .map(|row| row.app_json(&workspace, &key).unwrap())
                .collect::<Vec<_>>()
        })
    });
    c.bench_function("idempotency/fingerprint of a 100-item body", |b| {
        let value = parse_body(&body).unwrap();
        b.iter(|| Fingerprint::of("POST", "/connect/v1/apps/batch", Some(black_box(&value))))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
