//! D1 round trips per request (issue 6), counted by the Worker and reported in its
//! `Server-Timing` header (`d1;desc="round-trips=N"`): one D1 batch for a batch create of
//! any size, idempotent or not, one for a list page and one for a read, once the API key
//! is in the isolate's cache; a cold key costs exactly one more.

use connect_core::wire::request::{BatchCreateRequest, BatchItem, CreateAppRequest};
use connect_e2e::api::{d1_costs, Tenant};
use connect_e2e::{Response, Server};

/// The D1 round trips a response reports.
fn round_trips(res: &Response) -> u64 {
    d1_costs(res).round_trips
}

fn batch_of(n: usize) -> BatchCreateRequest {
    BatchCreateRequest {
        items: (0..n)
            .map(|i| BatchItem {
                app: CreateAppRequest {
                    name: format!("Round trip {i}"),
                    logo: None,
                    redirect_uris: Some(vec![format!("https://c{i}.example.com/callback")]),
                    webhook_config: None,
                },
                idempotency_key: Some(format!("customer-{i}")),
            })
            .collect(),
        continue_on_error: Some(true),
    }
}

/// Puts the tenant's key in the cache, as any earlier request of a client would.
fn warm(t: &Tenant) {
    assert_eq!(t.get("/connect/v1/workspace").status, 200);
}

#[test]
fn a_warm_request_costs_one_d1_round_trip_whatever_the_batch_size() {
    let server = Server::shared();
    let t = server.tenant();

    // Cold: the key lookup is one round trip of its own.
    let cold = t.get("/connect/v1/apps?limit=100");
    assert_eq!(cold.status, 200, "{}", cold.text());
    assert_eq!(round_trips(&cold), 2, "a cold key: lookup, then the page");

    warm(&t);
    for n in [1, 10, 100] {
        let res = t.batch(&batch_of(n), None);
        assert_eq!(res.status, 201, "{}", res.text());
        assert_eq!(round_trips(&res), 1, "batch of {n}");
    }
    let res = t.batch(
        &batch_of(100),
        Some(&format!("rt-{}", connect_e2e::random_hex(8))),
    );
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        round_trips(&res),
        1,
        "an idempotent batch claims its key in the same batch"
    );

    let page = t.get("/connect/v1/apps?limit=100&offset=200");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.json_value()["total"], 211);
    assert_eq!(round_trips(&page), 1, "a list page, total included");

    let id = page.json_value()["data"][0]["clientId"]
        .as_str()
        .expect("clientId")
        .to_owned();
    let one = t.get(&format!("/connect/v1/apps/{id}"));
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(round_trips(&one), 1, "a read");
}
