//! Hostile callers, end to end on the real Worker (issue 5): oversized, malformed, deeply
//! nested, out-of-range, null and flooding inputs each get the contract's envelope, never a
//! 5xx, and change nothing; hostile strings are stored and returned verbatim; a burst past
//! the rate limit gets 429 with Retry-After; the served OpenAPI document matches the route
//! table the Worker routes by.

use connect_core::wire::app::App;
use connect_core::wire::error::ErrorCode;
use connect_core::wire::response::BatchCreateResponse;
use connect_core::wire::routes::ROUTES;
use connect_e2e::api::{assert_error, Tenant};
use connect_e2e::{Response, Server};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const BODY_ROUTES: &[(&str, &str)] = &[
    ("POST", "/connect/v1/apps/batch"),
    ("POST", "/connect/v1/apps"),
    ("PATCH", "/connect/v1/apps/{id}"),
    ("PUT", "/connect/v1/apps/{id}/redirect-uris"),
    ("PATCH", "/connect/v1/apps/{id}/webhook-config"),
];

/// Sends `body` as JSON bytes to every route that takes a body, with `app` as `{id}`.
fn to_every_body_route(t: &Tenant, app: &App, body: &[u8]) -> Vec<Response> {
    BODY_ROUTES
        .iter()
        .map(|(method, path)| {
            t.request(method, &path.replace("{id}", app.client_id.as_str()))
                .header("Content-Type", "application/json")
                .body(body.to_vec())
                .send()
        })
        .collect()
}

/// The whole observable state of a tenant: its apps in full and its count.
fn snapshot(t: &Tenant) -> (Value, Value) {
    (
        t.get("/connect/v1/apps?limit=100").json_value()["data"].clone(),
        t.get("/connect/v1/workspace").json_value()["apps_count"].clone(),
    )
}

fn one_app(t: &Tenant) -> App {
    let res = t.send_json(
        "POST",
        "/connect/v1/apps",
        &json!({ "name": "Target", "redirectUris": ["https://t.example.com/cb"] }),
    );
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()
}

#[test]
fn oversized_malformed_and_nested_bodies_get_their_envelope_on_every_route() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let before = snapshot(&t);

    let mut over = b"{\"name\":\"".to_vec();
    over.resize(1024 * 1024 + 1 - 2, b'a');
    over.extend_from_slice(b"\"}");
    assert_eq!(over.len(), 1024 * 1024 + 1);
    for res in to_every_body_route(&t, &app, &over) {
        assert_error(&res, 413, ErrorCode::RequestTooLarge, None);
    }

    let deep_array = "[".repeat(200_000);
    let deep_object = "{\"a\":".repeat(100_000);
    let cases: Vec<Vec<u8>> = vec![
        deep_array.into_bytes(),
        deep_object.into_bytes(),
        b"\xc3\x28\xa0\xa1".to_vec(),
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        b"{\"name\": \"a\"".to_vec(),
        b"{\"name\": \"a\",}".to_vec(),
        b"{\"name\": 1e400}".to_vec(),
        b"\x00".to_vec(),
    ];
    for body in &cases {
        for res in to_every_body_route(&t, &app, body) {
            assert_error(
                &res,
                400,
                ErrorCode::ValidationInvalidParameter,
                Some("body"),
            );
        }
    }
    assert_eq!(snapshot(&t), before);
}

#[test]
fn nulls_wrong_types_and_out_of_range_numbers_are_named() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let before = snapshot(&t);
    let invalid = ErrorCode::ValidationInvalidParameter;
    let id = app.client_id.as_str();
    let cases: Vec<(&str, String, Value, &str)> = vec![
        ("POST", "/connect/v1/apps/batch".into(), json!(null), "body"),
        (
            "POST",
            "/connect/v1/apps/batch".into(),
            json!({ "items": null }),
            "items",
        ),
        (
            "POST",
            "/connect/v1/apps/batch".into(),
            json!({ "items": [ { "name": "a", "webhookConfig": null } ] }),
            "items[0].webhookConfig",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": "a", "redirectUris": null }),
            "redirectUris",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": { "en": "a" } }),
            "name",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": "a", "webhookConfig": { "retryAttempts": 99999999999999999999u128 as f64 } }),
            "webhookConfig.retryAttempts",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": "a", "webhookConfig": { "retryAttempts": u64::MAX } }),
            "webhookConfig.retryAttempts",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": "a", "webhookConfig": { "timeoutSeconds": -9223372036854775807i64 } }),
            "webhookConfig.timeoutSeconds",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            json!({ "name": "a", "webhookConfig": { "enabled": "true" } }),
            "webhookConfig.enabled",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}"),
            json!(null),
            "body",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}"),
            json!({ "webhookConfig": null }),
            "webhookConfig",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}"),
            json!({ "redirectUris": [null] }),
            "redirectUris[0]",
        ),
        (
            "PUT",
            format!("/connect/v1/apps/{id}/redirect-uris"),
            json!({ "redirectUris": null }),
            "redirectUris",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}/webhook-config"),
            json!("string"),
            "body",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}/webhook-config"),
            json!({ "events": [null] }),
            "events[0]",
        ),
    ];
    for (method, path, body, parameter) in cases {
        let res = t.send_json(method, &path, &body);
        assert_error(&res, 400, invalid, Some(parameter));
    }
    for query in [
        "limit=99999999999999999999999",
        "offset=99999999999999999999999",
        "limit=%00",
        "offset=1%0a",
    ] {
        assert_error(
            &t.get(&format!("/connect/v1/apps?{query}")),
            400,
            invalid,
            None,
        );
    }
    assert_eq!(snapshot(&t), before);
}

#[test]
fn ten_thousand_redirect_uris_are_refused_for_their_number() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let before = snapshot(&t);
    let uris: Vec<String> = (0..10_000)
        .map(|i| format!("https://host{i}.example.com/callback"))
        .collect();
    let id = app.client_id.as_str();
    for (method, path, body, parameter) in [
        (
            "POST",
            "/connect/v1/apps".to_string(),
            json!({ "name": "many", "redirectUris": uris }),
            "redirectUris",
        ),
        (
            "POST",
            "/connect/v1/apps/batch".to_string(),
            json!({ "items": [ { "name": "many", "redirectUris": uris } ] }),
            "items[0].redirectUris",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}"),
            json!({ "redirectUris": uris }),
            "redirectUris",
        ),
        (
            "PUT",
            format!("/connect/v1/apps/{id}/redirect-uris"),
            json!({ "redirectUris": uris }),
            "redirectUris",
        ),
    ] {
        let env = assert_error(
            &t.send_json(method, &path, &body),
            400,
            ErrorCode::ValidationInvalidParameter,
            Some(parameter),
        );
        assert_eq!(env.error.details.unwrap().max, Some(20));
    }
    assert_eq!(snapshot(&t), before);
}

#[test]
fn header_values_with_control_characters_never_reach_a_5xx() {
    let server = Server::shared();
    let t = server.tenant();
    let before = snapshot(&t);
    let body = serde_json::to_vec(&json!({ "items": [ { "name": "h" } ] })).unwrap();
    // Tab and bytes above 0x7f are legal in an HTTP field value and reach the Worker.
    for key in [
        &b"a\tb"[..],
        b"caf\xc3\xa9",
        b"\x80\x81",
        &[b'k'; 10_000][..],
    ] {
        let res = t
            .request("POST", "/connect/v1/apps/batch")
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .body(body.clone())
            .send();
        assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("Idempotency-Key"),
        );
    }
    for auth in [&b"Bearer \tsk_workspace_test_x"[..], b"Bearer sk_workspace_test_\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", b"\xff"] {
        let res = server.get("/connect/v1/apps").header("Authorization", auth).send();
        assert_error(&res, 401, ErrorCode::AuthInvalidCredentials, None);
    }
    // Other control characters are not legal HTTP: the runtime's HTTP parser refuses them
    // before the Worker runs. Whatever answers, it is not a server error and changes nothing.
    for raw in [&b"a\x01b"[..], b"a\x7fb", b"a\rb"] {
        let mut req = b"POST /connect/v1/apps/batch HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n".to_vec();
        req.extend_from_slice(
            format!("Authorization: Bearer {}\r\nIdempotency-Key: ", t.key).as_bytes(),
        );
        req.extend_from_slice(raw);
        req.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        req.extend_from_slice(&body);
        match server.try_send_raw(&req) {
            Ok(res) => assert!(res.status < 500, "{} {}", res.status, res.text()),
            Err(closed) => eprintln!("connection closed by the runtime: {closed}"),
        }
    }
    assert_eq!(snapshot(&t), before);
}

#[test]
fn hostile_strings_are_data() {
    let server = Server::shared();
    let t = server.tenant();
    for name in [
        "'); DROP TABLE apps; --",
        "<script>alert(1)</script>",
        "Robert\"; DELETE FROM workspaces; --",
        "%00%0d%0a",
        "名前 🦀 ﷽",
        "${jndi:ldap://x}",
    ] {
        let res = t.send_json("POST", "/connect/v1/apps", &json!({ "name": name }));
        assert_eq!(res.status, 201, "{}", res.text());
        let app: App = res.json();
        assert_eq!(app.name, name);
        assert_eq!(
            t.get(&format!("/connect/v1/apps/{}", app.client_id))
                .json::<App>()
                .name,
            name
        );
    }
    for name in ["evil\u{202e}gnp.exe", "line\nbreak", "nul\u{0}byte"] {
        let res = t.send_json("POST", "/connect/v1/apps", &json!({ "name": name }));
        assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("name"),
        );
    }
    for path in [
        "/connect/v1/apps/..%2F..%2Fadmin",
        "/connect/v1/apps/%00%00%00%00%00%00%00%00",
        "/connect/v1/apps/' OR '1'='1",
    ] {
        let res = t.get(path);
        assert!(
            res.status == 404 || res.status == 400,
            "{path}: {} {}",
            res.status,
            res.text()
        );
        assert!(res.status < 500);
    }
    assert_eq!(t.total(), 6);
    let w = server.tenant();
    assert_eq!(w.total(), 0, "nothing leaked into another workspace");
}

/// A batch splices its response from the docs it writes (`BatchCreated::rows_and_body`), and
/// reads serve them spliced as stored: every escape must come back as it was sent.
#[test]
fn hostile_strings_in_a_batch_come_back_byte_for_byte() {
    let server = Server::shared();
    let t = server.tenant();
    let names = [
        "Robert\"; DELETE FROM workspaces; --",
        "back\\slash \\\" \\u0041 \\n",
        "名前 🦀 ﷽ é",
        "</script><!-- '",
        "{\"name\":[1,2]}",
    ];
    let items: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "redirectUris": [format!("https://x.example/{}", name.len())] }))
        .collect();
    let res = t.send_json("POST", "/connect/v1/apps/batch", &json!({ "items": items }));
    assert_eq!(res.status, 201, "{}", res.text());
    let created: BatchCreateResponse = res.json();
    for (result, name) in created.results.iter().zip(names) {
        let app = result.app.as_ref().expect("created");
        assert_eq!(app.name, name);
        let read = t.get(&format!("/connect/v1/apps/{}", app.client_id));
        assert_eq!(read.text(), serde_json::to_string(app).unwrap(), "{name}");
    }
    let listed = t.get("/connect/v1/apps?limit=100").json_value()["data"].clone();
    let mut listed: Vec<App> = serde_json::from_value(listed).unwrap();
    let mut sent: Vec<App> = created.results.into_iter().filter_map(|r| r.app).collect();
    for apps in [&mut listed, &mut sent] {
        apps.sort_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
    }
    assert_eq!(listed, sent);
}

#[test]
fn a_burst_past_the_rate_limit_gets_429_with_retry_after() {
    let server = Server::shared();
    let t = server.tenant();
    let statuses: Vec<Response> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..25)
                        .map(|_| t.get("/connect/v1/workspace"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let limited: Vec<&Response> = statuses.iter().filter(|r| r.status == 429).collect();
    assert!(
        !limited.is_empty(),
        "200 requests within seconds stayed under a limit of 100 per 10 s"
    );
    assert!(statuses.iter().all(|r| r.status == 200 || r.status == 429));
    for r in &limited {
        assert_error(r, 429, ErrorCode::RateLimited, None);
        assert_eq!(r.header("retry-after"), Some("10"));
    }
    // Another key is not limited by this one.
    assert_eq!(server.tenant().get("/connect/v1/workspace").status, 200);
}

#[test]
fn the_served_openapi_document_describes_exactly_the_routes_the_worker_serves() {
    let server = Server::shared();
    let res = server.get("/connect/v1/openapi.json").send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    let doc = res.json_value();
    let in_repo: Value = serde_json::from_slice(
        &std::fs::read(connect_e2e::workspace_root().join("openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, in_repo, "the Worker serves the repository's document");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "head", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .flat_map(|r| {
            r.methods
                .iter()
                .map(move |m| (m.to_string(), r.path.to_string()))
        })
        .collect();
    assert_eq!(
        documented, routed,
        "a route exists in the Worker but not in openapi.json, or the reverse"
    );
    // And the Worker really routes each documented operation: never the unknown-route 404
    // nor a 405.
    let t = server.tenant();
    for (method, path) in &documented {
        let concrete = path
            .replace("{clientId}", "Zz9Zz9Zz")
            .replace("{workspaceId}", "org_none")
            .replace("{keyId}", "key_none");
        let res = t.request(method, &concrete).send();
        assert_ne!(res.status, 405, "{method} {path}");
        if res.status == 404 {
            assert!(
                !res.text().contains("no such route"),
                "{method} {path} is not routed"
            );
        }
    }
}
