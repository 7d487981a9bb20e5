//! Batch create and list, end to end on the real Worker (issue 2): the seed example, the
//! 100-item limit, both `continueOnError` modes, the paging walk, tenants, every bad input,
//! the transport rules, and no secret stored in plain text.

use connect_core::wire::error::ErrorCode;
use connect_core::wire::request::{BatchCreateRequest, BatchItem, CreateAppRequest};
use connect_core::wire::response::BatchCreateResponse;
use connect_core::wire::response::ListAppsResponse;
use connect_core::wire::routes::{RouteName, RouteSpec, ROUTES};
use connect_e2e::api::{assert_error, assert_not_stored, assert_uuid};
use connect_e2e::{Server, ServerConfig};
use serde_json::{json, Value};
use std::collections::HashSet;

fn item(name: &str) -> BatchItem {
    item_with(name, None, None)
}

fn item_with(name: &str, redirect_uri: Option<&str>, key: Option<&str>) -> BatchItem {
    BatchItem {
        app: CreateAppRequest {
            name: name.into(),
            logo: None,
            redirect_uris: redirect_uri.map(|u| vec![u.to_owned()]),
            webhook_config: None,
        },
        idempotency_key: key.map(str::to_owned),
    }
}

fn items(n: usize, prefix: &str) -> BatchCreateRequest {
    BatchCreateRequest {
        items: (0..n).map(|i| item(&format!("{prefix} {i}"))).collect(),
        continue_on_error: None,
    }
}

fn seed_request() -> BatchCreateRequest {
    BatchCreateRequest {
        items: vec![
            item_with(
                "Acme Corp",
                Some("https://acme.example.com/callback"),
                Some("customer-001"),
            ),
            item_with(
                "Beta Ltd",
                Some("https://beta.example.com/callback"),
                Some("customer-002"),
            ),
            item_with("Gamma Inc", None, Some("customer-003")),
        ],
        continue_on_error: Some(true),
    }
}

#[test]
fn the_seed_example_creates_three_full_apps() {
    let server = Server::shared();
    let t = server.tenant();
    let res = t.batch(
        &seed_request(),
        Some("7f3c9a1e-2b4d-4e6f-8a0c-1d2e3f4a5b6c"),
    );
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_uuid(res.header("x-request-id").expect("X-Request-Id"));
    let body: BatchCreateResponse = res.json();
    assert_eq!(
        (body.success_count, body.error_count, body.results.len()),
        (3, 0, 3)
    );
    let keys: Vec<_> = body
        .results
        .iter()
        .map(|r| r.idempotency_key.as_deref().unwrap())
        .collect();
    assert_eq!(keys, ["customer-001", "customer-002", "customer-003"]);
    let apps: Vec<_> = body
        .results
        .iter()
        .map(|r| r.app.clone().expect("app"))
        .collect();
    assert_eq!(apps[0].name, "Acme Corp");
    assert_eq!(apps[0].redirect_uris, ["https://acme.example.com/callback"]);
    assert_eq!(apps[2].redirect_uris, Vec::<String>::new());
    let raw = res.json_value();
    for (i, app) in apps.iter().enumerate() {
        assert_eq!(app.organization_id, t.workspace);
        assert_eq!(
            raw["results"][i]["app"]["webhookConfig"],
            json!({ "enabled": false, "retryAttempts": 3, "timeoutSeconds": 10, "events": [] })
        );
        assert_eq!(
            raw["results"][i]["app"]["providers"],
            json!({ "passport": { "enabled": true } })
        );
        assert_eq!(app.workflows.len(), 1);
        assert_eq!(app.workflows[0].workflow_id, app.default_workflow_id);
        assert_eq!(app.created_at, app.updated_at);
    }
    let ids: HashSet<_> = apps.iter().map(|a| a.client_id).collect();
    assert_eq!(ids.len(), 3);
    // The list returns the same full objects, secrets included.
    let list: ListAppsResponse = t.get("/connect/v1/apps").json();
    assert_eq!(list.total, 3);
    for app in &apps {
        assert!(list.data.contains(app), "{app:?} not listed as created");
    }
    for app in &apps {
        assert_not_stored(server, app.client_secret.expose());
    }
    assert_not_stored(server, &t.key);
}

#[test]
fn a_hundred_items_are_created_in_one_call_and_a_hundred_and_one_are_refused() {
    let server = Server::shared();
    let t = server.tenant();
    let res = t.batch(&items(100, "Bulk"), None);
    assert_eq!(res.status, 201, "{}", res.text());
    let body: BatchCreateResponse = res.json();
    assert_eq!((body.success_count, body.error_count), (100, 0));
    assert_eq!(t.total(), 100);
    let env = assert_error(
        &t.batch(&items(101, "Too many"), None),
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("items"),
    );
    assert_eq!(env.error.details.unwrap().max, Some(100));
    assert_eq!(t.total(), 100);
    let workspace = t.get("/connect/v1/workspace").json_value();
    assert_eq!(workspace["apps_count"], 100);
}

#[test]
fn an_aborted_batch_creates_nothing() {
    let server = Server::shared();
    let t = server.tenant();
    let body = json!({ "items": [ { "name": "ok 1" }, { "name": "ok 2" }, { "name": "  " }, { "name": "never judged" } ] });
    let env = assert_error(
        &t.batch(&body, None),
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("items[2].name"),
    );
    assert_eq!(env.error.details.unwrap().index, Some(2));
    let body = json!({ "items": [ { "name": "ok" }, { "redirectUris": [] } ] });
    let env = assert_error(
        &t.batch(&body, None),
        400,
        ErrorCode::ValidationMissingParameter,
        Some("items[1].name"),
    );
    assert_eq!(env.error.details.unwrap().index, Some(1));
    assert_eq!(t.total(), 0);
}

#[test]
fn continue_on_error_creates_the_good_items_and_reports_the_bad_ones_in_order() {
    let server = Server::shared();
    let t = server.tenant();
    let body = json!({
        "continueOnError": true,
        "items": [
            { "name": "good 0", "idempotencyKey": "c-0" },
            { "name": "bad 1", "redirectUris": ["http://plain.example.com/cb"], "idempotencyKey": "c-1" },
            { "name": "good 2", "webhookConfig": { "url": "https://hooks.example.com/h", "enabled": true } },
            { "name": "bad 3", "webhookConfig": { "retryAttempts": 11 } },
            "not an object",
            { "name": "good 5", "redirectUris": ["http://localhost:3000/cb"] }
        ]
    });
    let res = t.batch(&body, None);
    assert_eq!(res.status, 201, "{}", res.text());
    let r: BatchCreateResponse = res.json();
    assert_eq!((r.success_count, r.error_count, r.results.len()), (3, 3, 6));
    let outcome: Vec<bool> = r.results.iter().map(|x| x.app.is_some()).collect();
    assert_eq!(outcome, [true, false, true, false, false, true]);
    let parameter = |i: usize| {
        let e = r.results[i].error.as_ref().unwrap();
        assert!(r.results[i].app.is_none());
        assert_eq!(e.details.as_ref().unwrap().index, Some(i));
        e.details.as_ref().unwrap().parameter.clone().unwrap()
    };
    assert_eq!(parameter(1), "items[1].redirectUris[0]");
    assert_eq!(parameter(3), "items[3].webhookConfig.retryAttempts");
    assert_eq!(parameter(4), "items[4]");
    assert_eq!(r.results[1].idempotency_key.as_deref(), Some("c-1"));
    assert_eq!(r.results[0].idempotency_key.as_deref(), Some("c-0"));
    assert_eq!(
        r.results[2]
            .app
            .as_ref()
            .unwrap()
            .webhook_config
            .url
            .as_deref(),
        Some("https://hooks.example.com/h")
    );
    assert_eq!(t.total(), 3);
}

#[test]
fn a_walk_over_45_apps_returns_each_once_in_order_with_total_and_links() {
    let server = Server::shared();
    let t = server.tenant();
    // Three batches: the list gives them in creation order, each batch's items in input order.
    for (n, prefix) in [(20, "first"), (20, "second"), (5, "third")] {
        assert_eq!(t.batch(&items(n, prefix), None).status, 201);
    }
    let mut seen = Vec::new();
    let mut path = "/connect/v1/apps?limit=20".to_string();
    let mut pages = 0;
    loop {
        let res = t.get(&path);
        assert_eq!(res.status, 200, "{}", res.text());
        let page: ListAppsResponse = res.json();
        assert_eq!((page.total, page.limit), (45, 20));
        let link = res.header("link").unwrap_or_default().to_string();
        let offset = page.offset;
        assert_eq!(link.contains("rel=\"prev\""), offset > 0, "{link}");
        assert_eq!(link.contains("rel=\"next\""), offset + 20 < 45, "{link}");
        seen.extend(page.data);
        pages += 1;
        match link.split(", ").find(|l| l.ends_with("rel=\"next\"")) {
            Some(next) => {
                path = next
                    .trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_string()
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 45);
    let ids: HashSet<_> = seen.iter().map(|a| a.client_id).collect();
    assert_eq!(ids.len(), 45, "every app exactly once");
    let expected: Vec<String> = [(20, "first"), (20, "second"), (5, "third")]
        .into_iter()
        .flat_map(|(n, prefix)| (0..n).map(move |i| format!("{prefix} {i}")))
        .collect();
    let names: Vec<String> = seen.iter().map(|a| a.name.clone()).collect();
    assert_eq!(
        names, expected,
        "creation order, batch items in input order"
    );
    // Past the end: no data, the true total, a way back.
    let res = t.get("/connect/v1/apps?limit=20&offset=100");
    let page: ListAppsResponse = res.json();
    assert_eq!((page.data.len(), page.total, page.offset), (0, 45, 100));
    assert_eq!(
        res.header("link"),
        Some("</connect/v1/apps?limit=20&offset=25>; rel=\"prev\"")
    );
    let page: ListAppsResponse = t.get("/connect/v1/apps").json();
    assert_eq!((page.limit, page.offset, page.data.len()), (20, 0, 20));
}

#[test]
fn a_workspace_sees_nothing_of_another() {
    let server = Server::shared();
    let (a, b) = (server.tenant(), server.tenant());
    assert_eq!(a.batch(&items(3, "A's"), None).status, 201);
    let page: ListAppsResponse = b.get("/connect/v1/apps").json();
    assert_eq!((page.total, page.data.len()), (0, 0));
    assert_eq!(b.get("/connect/v1/workspace").json_value()["apps_count"], 0);
    assert_eq!(a.total(), 3);
}

#[test]
fn every_bad_batch_body_gets_its_envelope_and_changes_nothing() {
    let server = Server::shared();
    let t = server.tenant();
    let long_name = "x".repeat(101);
    let many_uris: Vec<String> = (0..21)
        .map(|i| format!("https://h{i}.example.com/cb"))
        .collect();
    let invalid = ErrorCode::ValidationInvalidParameter;
    let missing = ErrorCode::ValidationMissingParameter;
    let cases: Vec<(Value, ErrorCode, &str)> = vec![
        (json!([]), invalid, "body"),
        (json!(null), invalid, "body"),
        (json!({}), missing, "items"),
        (json!({ "items": "all" }), invalid, "items"),
        (json!({ "items": [] }), invalid, "items"),
        (
            json!({ "items": [{ "name": "a" }], "continueOnError": "true" }),
            invalid,
            "continueOnError",
        ),
        (
            json!({ "items": [{ "name": "a" }], "extra": 1 }),
            invalid,
            "extra",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectURIs": [] }] }),
            invalid,
            "items[0].redirectURIs",
        ),
        (json!({ "items": [null] }), invalid, "items[0]"),
        (
            json!({ "items": [{ "name": 7 }] }),
            invalid,
            "items[0].name",
        ),
        (
            json!({ "items": [{ "name": null }] }),
            invalid,
            "items[0].name",
        ),
        (
            json!({ "items": [{ "name": long_name }] }),
            invalid,
            "items[0].name",
        ),
        (
            json!({ "items": [{ "name": "tab\there" }] }),
            invalid,
            "items[0].name",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": "https://a.example.com" }] }),
            invalid,
            "items[0].redirectUris",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": [5] }] }),
            invalid,
            "items[0].redirectUris[0]",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": ["https://a.example.com/#x"] }] }),
            invalid,
            "items[0].redirectUris[0]",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": ["https://u:p@a.example.com/"] }] }),
            invalid,
            "items[0].redirectUris[0]",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": ["/relative"] }] }),
            invalid,
            "items[0].redirectUris[0]",
        ),
        (
            json!({ "items": [{ "name": "a", "redirectUris": many_uris }] }),
            invalid,
            "items[0].redirectUris",
        ),
        (
            json!({ "items": [{ "name": "a", "webhookConfig": { "enabled": true } }] }),
            missing,
            "items[0].webhookConfig.url",
        ),
        (
            json!({ "items": [{ "name": "a", "webhookConfig": { "timeoutSeconds": 0 } }] }),
            invalid,
            "items[0].webhookConfig.timeoutSeconds",
        ),
        (
            json!({ "items": [{ "name": "a", "webhookConfig": { "retryAttempts": 2.5 } }] }),
            invalid,
            "items[0].webhookConfig.retryAttempts",
        ),
        (
            json!({ "items": [{ "name": "a", "webhookConfig": { "events": ["verification.exploded"] } }] }),
            invalid,
            "items[0].webhookConfig.events[0]",
        ),
        (
            json!({ "items": [{ "name": "a", "webhookConfig": { "secret": "whsec_mine" } }] }),
            invalid,
            "items[0].webhookConfig.secret",
        ),
        (
            json!({ "items": [{ "name": "a", "idempotencyKey": "k".repeat(256) }] }),
            invalid,
            "items[0].idempotencyKey",
        ),
        (
            json!({ "items": [{ "name": "a", "idempotencyKey": 12 }] }),
            invalid,
            "items[0].idempotencyKey",
        ),
    ];
    for (body, code, parameter) in cases {
        let res = t.batch(&body, None);
        assert_error(&res, 400, code, Some(parameter));
    }
    for raw in [
        &b"{\"items\": ["[..],
        b"{'items': []}",
        b"\xff\xfe{}",
        b"{\"items\":[{\"name\":\"a\"}]} trailing",
        b"",
    ] {
        let res = t
            .request("POST", "/connect/v1/apps/batch")
            .header("Content-Type", "application/json")
            .body(raw.to_vec())
            .send();
        let code = if raw.is_empty() { missing } else { invalid };
        assert_error(&res, 400, code, Some("body"));
    }
    assert_eq!(t.total(), 0);
}

#[test]
fn list_parameters_are_checked() {
    let server = Server::shared();
    let t = server.tenant();
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("limit=5&limit=6", "limit"),
        ("limt=5", "limt"),
    ] {
        let res = t.get(&format!("/connect/v1/apps?{query}"));
        assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some(parameter),
        );
    }
    let res = t.get("/connect/v1/apps?limit=101");
    let env = assert_error(
        &res,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("limit"),
    );
    assert_eq!(env.error.details.unwrap().max, Some(100));
}

#[test]
fn transport_rules_hold_on_every_route() {
    let server = Server::shared();
    let t = server.tenant();
    assert_error(
        &t.get("/connect/v1/nothing-here"),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    assert_error(
        &server.get("/").send(),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    let res = t.request("DELETE", "/connect/v1/apps/batch").send();
    assert_error(&res, 405, ErrorCode::MethodNotAllowed, None);
    assert_eq!(res.header("allow"), Some("POST"));
    let res = t.request("PUT", "/connect/v1/apps").send();
    assert_error(&res, 405, ErrorCode::MethodNotAllowed, None);
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST"));
    // (A method workerd does not know, such as BREW, is answered 501 by the runtime itself
    // before the Worker runs; the known ones reach the route table.)
    let res = t.request("OPTIONS", "/connect/v1/apps").send();
    assert_error(&res, 405, ErrorCode::MethodNotAllowed, None);
    // 415: a body that is not declared as JSON.
    let res = t
        .request("POST", "/connect/v1/apps/batch")
        .header("Content-Type", "text/plain")
        .body(br#"{"items":[{"name":"a"}]}"#.to_vec())
        .send();
    assert_error(&res, 415, ErrorCode::UnsupportedMediaType, None);
    let res = t
        .request("POST", "/connect/v1/apps/batch")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"items=1".to_vec())
        .send();
    assert_error(&res, 415, ErrorCode::UnsupportedMediaType, None);
    let res = t
        .request("POST", "/connect/v1/apps/batch")
        .header("Content-Type", "Application/JSON; charset=utf-8")
        .body(br#"{"items":[{"name":"charset ok"}]}"#.to_vec())
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    // 413: one byte over 1 MiB, even when it is valid JSON.
    let mut big = br#"{"items":[{"name":"a","idempotencyKey":""#.to_vec();
    big.resize(1024 * 1024 - 4, b'k');
    big.extend_from_slice(br#""}]}"#);
    big.push(b' ');
    assert_eq!(big.len(), 1024 * 1024 + 1);
    let res = t
        .request("POST", "/connect/v1/apps/batch")
        .header("Content-Type", "application/json")
        .body(big)
        .send();
    assert_error(&res, 413, ErrorCode::RequestTooLarge, None);
    assert_eq!(t.total(), 1);

    // Every route of the route table, so a new route is covered without editing this
    // test: every method it does not allow is 405 naming the ones it does in `Allow`;
    // every method it allows refuses a body declared as another media type (415), the
    // routes that take no body too (they accept nothing, or `{}` as JSON).
    let admin = server.var("ADMIN_TOKEN");
    for route in ROUTES {
        let owner = server.tenant();
        let path = concrete(route, &owner);
        let token = if route.is_admin() { admin } else { &owner.key };
        let allow = route.methods.join(", ");
        for method in KNOWN_METHODS.iter().filter(|m| !route.methods.contains(m)) {
            let res = server.request(*method, &path).bearer(token).send();
            if *method == "HEAD" {
                assert_eq!(res.status, 405, "HEAD {path}");
            } else {
                assert_error(&res, 405, ErrorCode::MethodNotAllowed, None);
            }
            assert_eq!(res.header("allow"), Some(allow.as_str()), "{method} {path}");
        }
        for method in route.methods.iter().filter(|m| **m != "HEAD") {
            for media_type in [
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/xml",
            ] {
                let res = server
                    .request(*method, &path)
                    .bearer(token)
                    .header("Content-Type", media_type)
                    .body(b"{}".to_vec())
                    .send();
                assert_error(
                    &res,
                    415,
                    ErrorCode::UnsupportedMediaType,
                    Some("Content-Type"),
                );
            }
        }
        assert_eq!(
            owner.total(),
            1,
            "{}: a refused request changed nothing",
            route.path
        );
    }
}

/// Every method workerd hands to a Worker (it answers others, such as BREW, with 501
/// itself).
const KNOWN_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `route`'s path with its parameter filled in with something of `owner` that exists (an
/// app, the workspace, its key), so that a request that got past a check would act on
/// something real.
fn concrete(route: &RouteSpec, owner: &connect_e2e::api::Tenant<'_>) -> String {
    let app = if route.path.contains("{clientId}") {
        let res = owner.send_json("POST", "/connect/v1/apps", &json!({ "name": "target" }));
        assert_eq!(res.status, 201, "{}", res.text());
        res.json_value()["clientId"].as_str().unwrap().to_owned()
    } else {
        // The count below expects one app in every workspace.
        let res = owner.send_json("POST", "/connect/v1/apps", &json!({ "name": "bystander" }));
        assert_eq!(res.status, 201, "{}", res.text());
        String::new()
    };
    route
        .path
        .replace("{clientId}", &app)
        .replace("{workspaceId}", owner.workspace.as_str())
        .replace("{keyId}", &owner.key_id)
}

#[test]
fn every_connect_route_needs_a_live_key() {
    let server = Server::shared();
    let t = server.tenant();
    let unauthorized = ErrorCode::AuthInvalidCredentials;
    assert_error(
        &server.get("/connect/v1/apps").send(),
        401,
        unauthorized,
        None,
    );
    assert_error(
        &server
            .get("/connect/v1/apps")
            .header("Authorization", "Basic Zm9vOmJhcg==")
            .send(),
        401,
        unauthorized,
        None,
    );
    assert_error(
        &server
            .get("/connect/v1/apps")
            .bearer("sk_workspace_prod_abcdefghijklmnopqrstuvwxyz012345")
            .send(),
        401,
        unauthorized,
        None,
    );
    assert_error(
        &server
            .get("/connect/v1/apps")
            .bearer("sk_workspace_test_unknownunknownunknownunknown1")
            .send(),
        401,
        unauthorized,
        None,
    );
    assert_error(
        &server
            .get("/connect/v1/apps")
            .bearer(server.var("ADMIN_TOKEN"))
            .send(),
        401,
        unauthorized,
        None,
    );
    let res = server
        .post("/connect/v1/apps/batch")
        .json(&items(1, "anon"))
        .send();
    assert_error(&res, 401, unauthorized, None);
    // The admin API does not take workspace keys, and workspace keys do not open it.
    let res = server.post("/admin/v1/workspaces").bearer(&t.key).send();
    assert_error(&res, 401, unauthorized, None);
    assert_eq!(t.total(), 0);

    // Every operation of the route table (a new route is covered without editing this
    // test), on a workspace whose key was used, then revoked: without a key, with the
    // revoked key (workspace routes) or with a workspace key (admin routes), 401. Path
    // parameters name things that exist, and the requests carry valid bodies, so a
    // request that got past authentication would act. The failed admin authentications
    // of each route come from an address of their own (CF-Connecting-IP), so that they
    // stay under the limit of failures per address (operators.rs tests that limit).
    let revoked = server.tenant();
    let app = revoked.send_json("POST", "/connect/v1/apps", &json!({ "name": "kept" }));
    assert_eq!(app.status, 201, "{}", app.text());
    let client_id = app.json_value()["clientId"].as_str().unwrap().to_owned();
    let other = server.tenant();
    let res = server
        .request("DELETE", format!("/admin/v1/api-keys/{}", revoked.key_id))
        .bearer(server.var("ADMIN_TOKEN"))
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    let mut checked = 0;
    for (n, route) in ROUTES
        .iter()
        .filter(|r| r.name != RouteName::OpenApi)
        .enumerate()
    {
        let address = format!("198.51.100.{}", n + 1);
        let path = route
            .path
            .replace("{clientId}", &client_id)
            .replace("{workspaceId}", revoked.workspace.as_str())
            .replace("{keyId}", &other.key_id);
        let wrong_key = if route.is_admin() {
            &other.key
        } else {
            &revoked.key
        };
        for method in route.methods {
            for key in [None, Some(wrong_key.as_str())] {
                let mut req = server
                    .request(*method, &path)
                    .header("CF-Connecting-IP", &address);
                if let Some(key) = key {
                    req = req.bearer(key);
                }
                if *method != "GET" && *method != "HEAD" {
                    req = req.json(&valid_body(route.name, &other.key));
                }
                let res = req.send();
                if *method == "HEAD" {
                    assert_eq!(res.status, 401, "HEAD {path} with {key:?}");
                } else {
                    assert_error(&res, 401, unauthorized, None);
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 20, "{checked} requests");
    // Nothing happened: the app is there unchanged, the other key is live.
    let apps = server.d1_sum(
        &format!("SELECT count(*) AS n FROM apps WHERE client_id = '{client_id}'"),
        "n",
    );
    assert_eq!(apps, 1);
    assert_eq!(other.total(), 0, "the other workspace's key still works");
}

/// A body the operation would accept, so that only authentication stands in its way;
/// `live_key` is a key the operation could act on.
fn valid_body(route: RouteName, live_key: &str) -> Value {
    match route {
        RouteName::AdminApiKeysRevoke => json!({ "key": live_key }),
        RouteName::Apps => json!({ "name": "intruder" }),
        RouteName::AppsBatch => json!({ "items": [{ "name": "intruder" }] }),
        RouteName::App => json!({ "name": "renamed by an intruder" }),
        RouteName::RedirectUris => json!({ "redirectUris": ["https://evil.example/cb"] }),
        RouteName::WebhookConfig => json!({ "url": "https://evil.example/hook", "enabled": true }),
        _ => json!({}),
    }
}

#[test]
fn operators_retry_admin_posts_safely_with_an_idempotency_key() {
    // A server of its own: the test counts every workspace.
    let server = &Server::start(ServerConfig::project());
    let admin = server.var("ADMIN_TOKEN");
    let workspaces = || {
        // Over every shard: an attempt that lost the race leaves no workspace behind.
        server.d1_sum("SELECT count(*) AS n FROM workspaces", "n")
    };
    let before = workspaces();
    let create = |key: &str| {
        server
            .post("/admin/v1/workspaces")
            .bearer(admin)
            .header("idempotency-key", key)
            .send()
    };
    // Concurrent retries of one creation: one workspace, one key, the same answer to all.
    let answers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6).map(|_| s.spawn(|| create("ops-create-1"))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for res in &answers {
        assert_eq!(res.status, 201, "{}", res.text());
        assert_eq!(res.body, answers[0].body);
    }
    assert_eq!(
        answers
            .iter()
            .filter(|r| r.header("idempotency-replayed").is_none())
            .count(),
        1,
        "exactly one original"
    );
    assert_eq!(workspaces(), before + 1);
    let created = answers[0].json_value();
    let key = created["apiKey"]["key"].as_str().unwrap();
    assert_eq!(
        server.get("/connect/v1/apps").bearer(key).send().status,
        200
    );
    assert_not_stored(server, key);
    let rows = server.d1("SELECT scope FROM idempotency_keys WHERE scope = 'operators'");
    assert!(!rows.is_empty());

    // A new key for the workspace, retried: one key.
    let ws = created["workspace"]["id"].as_str().unwrap();
    let add = |key: &str| {
        server
            .post(format!("/admin/v1/workspaces/{ws}/api-keys"))
            .bearer(admin)
            .header("idempotency-key", key)
            .send()
    };
    let first = add("ops-add-1");
    assert_eq!(first.status, 201, "{}", first.text());
    let again = add("ops-add-1");
    assert_eq!(
        (again.header("idempotency-replayed"), &again.body),
        (Some("true"), &first.body)
    );
    let keys = server.d1_sum(
        &format!("SELECT count(*) AS n FROM api_keys WHERE workspace_id = '{ws}'"),
        "n",
    );
    assert_eq!(keys, 2, "in its shard, the losing attempts removed");

    // The same key on another route is a conflict; a malformed key is refused by name.
    assert_error(
        &add("ops-create-1"),
        409,
        ErrorCode::IdempotencyKeyConflict,
        None,
    );
    assert_error(
        &create("has space"),
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("Idempotency-Key"),
    );
    assert_eq!(workspaces(), before + 1);
}

#[test]
fn a_revoked_key_is_refused_at_once_whatever_the_request() {
    let server = Server::shared();
    let t = server.tenant();
    let admin = server.var("ADMIN_TOKEN");
    let created = t.batch(&items(2, "revoked"), Some("before-revocation"));
    assert_eq!(created.status, 201);
    // Warm: the isolate has the key cached, and KV holds the batch's recorded answer.
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(t.get("/connect/v1/apps").status, 200);
    let res = server
        .request("DELETE", format!("/admin/v1/api-keys/{}", t.key_id))
        .bearer(admin)
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    let refused = |res: connect_e2e::Response| {
        assert_error(&res, 401, ErrorCode::AuthInvalidCredentials, None);
    };
    refused(t.get("/connect/v1/apps"));
    refused(t.batch(&items(2, "revoked"), Some("before-revocation")));
    refused(t.batch(&json!({ "items": [] }), None));
    refused(t.batch(&items(1, "after"), None));
    refused(t.get("/connect/v1/workspace"));
    let fresh = connect_e2e::api::Tenant {
        server,
        workspace: t.workspace.clone(),
        key: admin_key_of(server, &t),
        key_id: String::new(),
    };
    assert_eq!(fresh.total(), 2, "nothing was created");
}

/// A fresh key of `t`'s workspace, through the admin API.
fn admin_key_of(server: &Server, t: &connect_e2e::api::Tenant) -> String {
    let res = server
        .post(format!("/admin/v1/workspaces/{}/api-keys", t.workspace))
        .bearer(server.var("ADMIN_TOKEN"))
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    res.json_value()["key"].as_str().unwrap().to_owned()
}

#[test]
fn operators_add_and_revoke_keys() {
    let server = Server::shared();
    let t = server.tenant();
    let admin = server.var("ADMIN_TOKEN");
    let res = server
        .post(format!("/admin/v1/workspaces/{}/api-keys", t.workspace))
        .bearer(admin)
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    let second = res.json_value();
    let second_key = second["key"].as_str().unwrap().to_string();
    assert!(second_key.starts_with("sk_workspace_test_"));
    assert_eq!(second["workspaceId"], t.workspace.as_str());
    assert_eq!(
        server
            .get("/connect/v1/apps")
            .bearer(&second_key)
            .send()
            .status,
        200
    );
    let res = server
        .post("/admin/v1/workspaces/org_doesnotexist/api-keys")
        .bearer(admin)
        .send();
    assert_error(&res, 404, ErrorCode::ResourceNotFound, None);
    let res = server
        .request(
            "DELETE",
            format!("/admin/v1/api-keys/{}", second["id"].as_str().unwrap()),
        )
        .bearer(admin)
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json_value()["revoked"], true);
    let again = server
        .request(
            "DELETE",
            format!("/admin/v1/api-keys/{}", second["id"].as_str().unwrap()),
        )
        .bearer(admin)
        .send();
    assert_eq!(
        again.json_value()["revokedAt"],
        res.json_value()["revokedAt"]
    );
    assert_error(
        &server
            .request("DELETE", "/admin/v1/api-keys/key_nope")
            .bearer(admin)
            .send(),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    assert_error(
        &server
            .post("/admin/v1/workspaces")
            .bearer("wrong-token")
            .send(),
        401,
        ErrorCode::AuthInvalidCredentials,
        None,
    );
    assert_error(
        &server
            .post("/admin/v1/workspaces")
            .bearer(admin)
            .json(&json!({ "name": "x" }))
            .send(),
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("body"),
    );
    // The revoked key is refused on its very next request, though this isolate had just
    // served it: its cached lookup is confirmed inside the request's own D1 call.
    let res = server.get("/connect/v1/apps").bearer(&second_key).send();
    assert_error(&res, 401, ErrorCode::AuthInvalidCredentials, None);
    assert_eq!(t.get("/connect/v1/apps").status, 200);
    assert_not_stored(server, &second_key);
}

/// Where a list page came from, as its `Server-Timing` says: `kept` (this isolate's page
/// cache, after D1 said the workspace had not changed) or `read` (from D1).
fn page_source(res: &connect_e2e::Response) -> String {
    let timing = res.header_all("server-timing").join(", ");
    let (_, rest) = timing
        .split_once("page;desc=\"")
        .unwrap_or_else(|| panic!("no page source in Server-Timing: {timing}"));
    rest.split('"').next().unwrap_or_default().to_owned()
}

#[test]
fn a_kept_list_page_is_never_stale_after_any_write() {
    let server = Server::shared();
    let t = server.tenant();
    let other = server.tenant();
    let res = t.batch(&items(3, "Kept"), None);
    assert_eq!(res.status, 201, "{}", res.text());

    // The page as the list serves it, and where it came from. (Few requests: the key's
    // rate limit is 100 per 10 s.)
    let list = |expect: &str| -> ListAppsResponse {
        let res = t.get("/connect/v1/apps?limit=10");
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(page_source(&res), expect, "{}", res.text());
        let page: ListAppsResponse = res.json();
        assert_eq!(page.total as usize, page.data.len());
        page
    };
    let first = list("read");
    assert_eq!(
        list("kept").data,
        first.data,
        "nothing changed: the kept page"
    );
    let ids: Vec<String> = first.data.iter().map(|a| a.client_id.to_string()).collect();
    let app = |i: usize| format!("/connect/v1/apps/{}", ids[i]);

    // Another workspace's writes do not move this workspace's page.
    assert_eq!(other.batch(&items(2, "Other"), None).status, 201);
    list("kept");

    // Each kind of write: the next list is read again and shows it, then is kept again.
    type Write<'a> = (&'a str, Box<dyn Fn() -> u16 + 'a>);
    let writes: Vec<Write> = vec![
        (
            "rename",
            Box::new(|| {
                t.send_json("PATCH", &app(0), &json!({ "name": "Renamed" }))
                    .status
            }),
        ),
        (
            "rotate the client secret",
            Box::new(|| {
                t.request("POST", &format!("{}/rotate-client-secret", app(1)))
                    .send()
                    .status
            }),
        ),
        (
            "replace the redirect URIs",
            Box::new(|| {
                t.send_json(
                    "PUT",
                    &format!("{}/redirect-uris", app(2)),
                    &json!({ "redirectUris": ["https://kept.example.com/cb"] }),
                )
                .status
            }),
        ),
        (
            "change the webhook config",
            Box::new(|| {
                t.send_json(
                    "PATCH",
                    &format!("{}/webhook-config", app(0)),
                    &json!({ "url": "https://hooks.example.com/in", "enabled": true }),
                )
                .status
            }),
        ),
        (
            "rotate the webhook secret",
            Box::new(|| {
                t.request("POST", &format!("{}/webhook-config/rotate-secret", app(1)))
                    .send()
                    .status
            }),
        ),
        (
            "create one",
            Box::new(|| {
                t.send_json("POST", "/connect/v1/apps", &json!({ "name": "New" }))
                    .status
            }),
        ),
        (
            "create a batch",
            Box::new(|| t.batch(&items(2, "More"), None).status),
        ),
        (
            "delete one",
            Box::new(|| t.request("DELETE", &app(2)).send().status),
        ),
    ];
    list("kept");
    for (what, write) in writes {
        let status = write();
        assert!((200..300).contains(&status), "{what}: {status}");
        // Read again from D1: the write moved the generation.
        let after = list("read");
        let kept = list("kept");
        assert_eq!(kept.data, after.data, "{what}: then kept again");
    }
    let last = list("kept");
    for app in &last.data {
        let got = t.get(&format!("/connect/v1/apps/{}", app.client_id));
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(
            &got.json::<connect_core::wire::app::App>(),
            app,
            "kept page against a read"
        );
    }
    let names: Vec<&str> = last.data.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(last.data[0].client_id.to_string(), ids[0]);
    assert_eq!(last.data[1].client_id.to_string(), ids[1]);
    assert_eq!(names[0], "Renamed");
    assert_eq!(last.data[0].redirect_uris, first.data[0].redirect_uris);
    assert_eq!(last.data[2].name, "New");
    assert_ne!(
        last.data[1].client_secret, first.data[1].client_secret,
        "rotated"
    );
}

#[test]
fn with_the_page_cache_off_every_page_is_read() {
    let server = Server::start(ServerConfig::project().with_var("PAGE_CACHE", "off"));
    let t = server.tenant();
    assert_eq!(t.batch(&items(2, "Off"), None).status, 201);
    for _ in 0..3 {
        let res = t.get("/connect/v1/apps");
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(page_source(&res), "read");
        assert_eq!(res.json::<ListAppsResponse>().total, 2);
    }
}
