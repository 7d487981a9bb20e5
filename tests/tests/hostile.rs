//! Hostile callers, end to end on the real Worker (issues 5, 18 and 30): oversized,
//! malformed, deeply nested, out-of-range, null and flooding inputs, repeated member names,
//! bodies declared as anything but UTF-8 JSON or compressed, bodies sent to routes that
//! take none, invisible names, piles of combining marks and edge values each get the
//! contract's envelope, never a 5xx, and change nothing, in the API's view and in the
//! stored D1 and KV state; hostile strings are stored and returned verbatim; a burst past
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

/// Everything stored for a tenant: its workspace row (counters and generation, which move
/// with every write), its apps as stored, its deletion counts, its keys, its idempotency
/// claims and the operators', and its recorded answers in KV.
fn stored(t: &Tenant) -> (Vec<Vec<Value>>, Vec<String>) {
    let ws = t.workspace.as_str();
    let rows = t.server.d1_results(&format!(
        "SELECT * FROM workspaces WHERE id = '{ws}'; \
         SELECT position, client_id, version, doc FROM apps WHERE workspace_id = '{ws}' ORDER BY position; \
         SELECT node, dead FROM app_deletions WHERE workspace_id = '{ws}' ORDER BY node; \
         SELECT id, revoked_at FROM api_keys WHERE workspace_id = '{ws}' ORDER BY id; \
         SELECT scope, key_hash, fingerprint FROM idempotency_keys WHERE scope IN ('{ws}', 'operators') ORDER BY scope, key_hash;"
    ));
    let prefix = format!("idem/{ws}/");
    let kv = t
        .server
        .kv_keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    (rows, kv)
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
    for (i, body) in cases.iter().enumerate() {
        for res in to_every_body_route(&t, &app, body) {
            let env = assert_error(
                &res,
                400,
                ErrorCode::ValidationInvalidParameter,
                Some("body"),
            );
            if i < 2 {
                // Valid JSON, only deeper than the reader goes: said so, not "not JSON".
                assert!(
                    env.error.message.contains("nested too deeply"),
                    "{}",
                    env.error.message
                );
            }
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
    // Each operation documents exactly the query parameters the Worker lets through (it
    // refuses any other by name).
    for route in ROUTES {
        for method in route.methods {
            let op = &doc["paths"][route.path][method.to_lowercase()];
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .chain(doc["paths"][route.path]["parameters"].as_array())
                .flatten();
            let documented: BTreeSet<String> = params
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
                    None => p,
                })
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            let taken: BTreeSet<String> = route
                .query_parameters(method)
                .iter()
                .map(|q| q.to_string())
                .collect();
            assert_eq!(
                documented, taken,
                "query parameters of {method} {}",
                route.path
            );
        }
    }
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

/// Every case of issue 18 that must be refused, each answered as the contract says, none
/// changing anything stored (D1 rows, KV records) or seen through the API.
fn assert_nothing_changed(
    t: &Tenant,
    before: &(Value, Value),
    stored_before: &(Vec<Vec<Value>>, Vec<String>),
) {
    assert_eq!(&snapshot(t), before);
    assert_eq!(&stored(t), stored_before);
}

#[test]
fn a_repeated_member_name_is_refused_naming_the_member() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let id = app.client_id.as_str();
    let (before, stored_before) = (snapshot(&t), stored(&t));
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "POST",
            "/connect/v1/apps/batch".into(),
            r#"{"items":[{"name":"a"}],"items":[{"name":"b"}]}"#,
            "items",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            r#"{"name":"","name":"ok"}"#,
            "name",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            r#"{"name":"x","redirectUris":["http://evil.com/"],"redirectUris":[]}"#,
            "redirectUris",
        ),
        (
            "POST",
            "/connect/v1/apps".into(),
            r#"{"name":"A","n\u0061me":"B"}"#,
            "name",
        ),
        (
            "POST",
            "/connect/v1/apps/batch".into(),
            r#"{"items":[{"name":"a"},{"name":"b","name":"c"}]}"#,
            "items[1].name",
        ),
        (
            "POST",
            "/connect/v1/apps/batch".into(),
            r#"{"items":[{"name":"a","webhookConfig":{"url":null,"url":"https://h.example/"}}],"continueOnError":true}"#,
            "items[0].webhookConfig.url",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}"),
            r#"{"webhookConfig":{"enabled":false,"enabled":true}}"#,
            "webhookConfig.enabled",
        ),
        (
            "PUT",
            format!("/connect/v1/apps/{id}/redirect-uris"),
            r#"{"redirectUris":[],"redirectUris":["https://x.example/"]}"#,
            "redirectUris",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{id}/webhook-config"),
            r#"{"url":null,"\u0075rl":"https://h.example/"}"#,
            "url",
        ),
        (
            "POST",
            format!("/connect/v1/apps/{id}/rotate-client-secret"),
            r#"{"a":1,"a":1}"#,
            "body",
        ),
    ];
    for (method, path, body, parameter) in &cases {
        for key in [None, Some("repeat-1")] {
            let mut req = t
                .request(method, path)
                .header("Content-Type", "application/json")
                .body(body.as_bytes().to_vec());
            if let Some(key) = key {
                req = req.header("Idempotency-Key", key);
            }
            let env = assert_error(
                &req.send(),
                400,
                ErrorCode::ValidationInvalidParameter,
                Some(parameter),
            );
            assert!(!env.error.message.contains("sh_app_"), "{body}");
        }
    }
    assert_nothing_changed(&t, &before, &stored_before);
}

#[test]
fn a_body_declared_as_anything_but_utf8_json_is_415_naming_the_header() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let (before, stored_before) = (snapshot(&t), stored(&t));
    // {"name":"gz"} compressed with gzip (RFC 1952), as a client library would send it.
    let gzip: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0xca, 0x4b, 0xcc,
        0x4d, 0x55, 0xb2, 0x52, 0x4a, 0xaf, 0x52, 0xaa, 0x05, 0x00, 0x19, 0xc3, 0xb0, 0x9f, 0x0d,
        0x00, 0x00, 0x00,
    ];
    let utf16: Vec<u8> = "{\"name\":\"u\"}"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let plain = br#"{"name":"plain","redirectUris":[]}"#.to_vec();
    let cases: Vec<(&str, Option<&str>, Vec<u8>, &str)> = vec![
        (
            "application/json",
            Some("gzip"),
            gzip.to_vec(),
            "Content-Encoding",
        ),
        (
            "application/json",
            Some("br"),
            plain.clone(),
            "Content-Encoding",
        ),
        (
            "application/json",
            Some("identity, deflate"),
            plain.clone(),
            "Content-Encoding",
        ),
        (
            "application/json; charset=utf-16",
            None,
            utf16,
            "Content-Type",
        ),
        (
            "application/json; charset=iso-8859-1",
            None,
            plain.clone(),
            "Content-Type",
        ),
        ("text/plain", None, plain.clone(), "Content-Type"),
        (
            "application/x-json-stream",
            None,
            plain.clone(),
            "Content-Type",
        ),
    ];
    for (content_type, coding, body, parameter) in &cases {
        for (method, path) in BODY_ROUTES {
            let mut req = t
                .request(method, &path.replace("{id}", app.client_id.as_str()))
                .header("Content-Type", content_type)
                .body(body.clone());
            if let Some(coding) = coding {
                req = req.header("Content-Encoding", coding);
            }
            let env = assert_error(
                &req.send(),
                415,
                ErrorCode::UnsupportedMediaType,
                Some(parameter),
            );
            let named = coding
                .map(|c| c.rsplit(", ").next().unwrap_or(c))
                .or_else(|| content_type.split("charset=").nth(1));
            if let Some(named) = named {
                assert!(env.error.message.contains(named), "{}", env.error.message);
            }
        }
    }
    assert_nothing_changed(&t, &before, &stored_before);
}

#[test]
fn a_route_that_takes_no_body_refuses_one() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let id = app.client_id.as_str();
    let (before, stored_before) = (snapshot(&t), stored(&t));
    let no_body_routes = [
        ("DELETE", format!("/connect/v1/apps/{id}")),
        ("GET", format!("/connect/v1/apps/{id}")),
        ("HEAD", format!("/connect/v1/apps/{id}")),
        ("GET", "/connect/v1/apps".to_owned()),
        ("GET", "/connect/v1/workspace".to_owned()),
        ("GET", format!("/connect/v1/apps/{id}/redirect-uris")),
        (
            "POST",
            format!("/connect/v1/apps/{id}/rotate-client-secret"),
        ),
        (
            "POST",
            format!("/connect/v1/apps/{id}/webhook-config/rotate-secret"),
        ),
    ];
    for (method, path) in &no_body_routes {
        for (content_type, body) in [
            ("text/plain", &b"{{{not json"[..]),
            ("application/json", br#"{"name":"x"}"#),
            ("application/json", b"   "),
            ("application/json", b"[]"),
        ] {
            let res = t
                .request(method, path)
                .header("Content-Type", content_type)
                .body(body.to_vec())
                .send();
            if *method == "HEAD" {
                assert_eq!(res.status, 400, "{method} {path}");
                assert!(res.body.is_empty());
            } else {
                assert_error(
                    &res,
                    400,
                    ErrorCode::ValidationInvalidParameter,
                    Some("body"),
                );
            }
        }
        // {} is no body, but still a body under the media rules.
        let res = t
            .request(method, path)
            .header("Content-Type", "text/plain")
            .body(b"{}".to_vec())
            .send();
        if *method == "HEAD" {
            assert_eq!(res.status, 415, "{method} {path}");
        } else {
            assert_error(
                &res,
                415,
                ErrorCode::UnsupportedMediaType,
                Some("Content-Type"),
            );
        }
    }
    // The admin API's DELETE too: the key it names is not revoked.
    let res = server
        .request("DELETE", format!("/admin/v1/api-keys/{}", t.key_id))
        .bearer(server.var("ADMIN_TOKEN"))
        .header("Content-Type", "text/plain")
        .body(b"{{{not json".to_vec())
        .send();
    assert_error(
        &res,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("body"),
    );
    assert_eq!(t.get("/connect/v1/workspace").status, 200);
    assert_nothing_changed(&t, &before, &stored_before);
}

#[test]
fn invisible_names_are_refused_naming_the_character() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let (before, stored_before) = (snapshot(&t), stored(&t));
    for (name, code) in [
        ("\u{200B}", "U+200B"),
        ("\u{FEFF}", "U+FEFF"),
        ("\u{3164}", "U+3164"),
        ("\u{2800}", "U+2800"),
        ("Acme\u{E0041}\u{E0042}\u{E007F}", "U+E0041"),
        ("\u{FFF9}Acme\u{FFFB}", "U+FFF9"),
        ("Ac\u{200D}me", "U+200D"),
        ("soft\u{AD}hyphen", "U+00AD"),
        ("\u{115F}\u{1160}", "U+115F"),
    ] {
        let requests = [
            (
                "POST",
                "/connect/v1/apps".to_owned(),
                json!({ "name": name }),
                "name",
            ),
            (
                "POST",
                "/connect/v1/apps/batch".to_owned(),
                json!({ "items": [ { "name": "ok" }, { "name": name } ] }),
                "items[1].name",
            ),
            (
                "PATCH",
                format!("/connect/v1/apps/{}", app.client_id),
                json!({ "name": name }),
                "name",
            ),
        ];
        for (method, path, body, parameter) in requests {
            let env = assert_error(
                &t.send_json(method, &path, &body),
                400,
                ErrorCode::ValidationInvalidParameter,
                Some(parameter),
            );
            assert!(env.error.message.contains(code), "{}", env.error.message);
        }
    }
    assert_nothing_changed(&t, &before, &stored_before);
}

#[test]
fn piles_of_combining_marks_are_refused_naming_the_character() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let (before, stored_before) = (snapshot(&t), stored(&t));
    const PILE: &str = "must not have more than 4 combining marks on one character";
    // `Z` and 99 acutes: 100 characters as sent, `Ź` and 98 in NFC.
    let flood = format!("Z{}", "\u{301}".repeat(99));
    for (name, says, max) in [
        (
            flood,
            format!("{PILE} (98 on character 1, U+0179)"),
            Some(4),
        ),
        (
            format!("Acme x{}", "\u{20DD}".repeat(5)),
            format!("{PILE} (5 on character 6, U+0078)"),
            Some(4),
        ),
        // Positions count the name in NFC, whatever the spelling before the pile.
        (
            format!("Cafe\u{301} q{}", "\u{363}".repeat(6)),
            format!("{PILE} (6 on character 6, U+0071)"),
            Some(4),
        ),
        (
            "  \u{301}Acme".to_owned(),
            "must not start with a combining mark (U+0301)".to_owned(),
            None,
        ),
    ] {
        let requests = [
            (
                "POST",
                "/connect/v1/apps".to_owned(),
                json!({ "name": name }),
                "name",
                None,
            ),
            (
                "POST",
                "/connect/v1/apps/batch".to_owned(),
                json!({ "items": [ { "name": "ok" }, { "name": name } ] }),
                "items[1].name",
                Some(1),
            ),
            (
                "PATCH",
                format!("/connect/v1/apps/{}", app.client_id),
                json!({ "name": name }),
                "name",
                None,
            ),
        ];
        for (method, path, body, parameter, index) in requests {
            let env = assert_error(
                &t.send_json(method, &path, &body),
                400,
                ErrorCode::ValidationInvalidParameter,
                Some(parameter),
            );
            assert_eq!(env.error.message, format!("{parameter} {says}"));
            let details = env.error.details.unwrap();
            assert_eq!((details.max, details.index), (max, index), "{parameter}");
        }
    }
    assert_nothing_changed(&t, &before, &stored_before);

    // Item by item, the pile is that item's error and the others are created.
    let res = t.batch(
        &json!({ "items": [
            { "name": format!("x{}", "\u{363}".repeat(4)) },
            { "name": format!("x{}", "\u{363}".repeat(5)) },
        ], "continueOnError": true }),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.text());
    let created: BatchCreateResponse = res.json();
    assert_eq!((created.success_count, created.error_count), (1, 1));
    let kept = created.results[0]
        .app
        .as_ref()
        .expect("four marks are fine");
    assert_eq!(kept.name, format!("x{}", "\u{363}".repeat(4)));
    let error = created.results[1].error.as_ref().expect("five are not");
    let details = error.details.as_ref().unwrap();
    assert_eq!(details.parameter.as_deref(), Some("items[1].name"));
    assert_eq!((details.index, details.max), (Some(1), Some(4)));
    assert_eq!(
        error.message,
        format!("items[1].name {PILE} (5 on character 1, U+0078)")
    );
    assert_eq!(t.total(), 2);
}

#[test]
fn edge_values_are_named_as_the_contract_says() {
    let server = Server::shared();
    let t = server.tenant();
    let app = one_app(&t);
    let (before, stored_before) = (snapshot(&t), stored(&t));
    let invalid = ErrorCode::ValidationInvalidParameter;
    // An unknown field is named as the caller wrote it in JSON, not as Rust escapes it.
    for (body, parameter) in [
        (json!({ "name": "a", "a\nb": 1 }), r"a\nb"),
        (json!({ "name": "a", "q\"\u{1}": 1 }), r#"q\"\u0001"#),
        (json!({ "name": "a", "z\u{200B}": 1 }), r"z\u200b"),
    ] {
        let env = assert_error(
            &t.send_json("POST", "/connect/v1/apps", &body),
            400,
            invalid,
            Some(parameter),
        );
        assert!(!env.error.message.contains("\\u{"), "{}", env.error.message);
    }
    let env = assert_error(
        &t.send_json(
            "POST",
            "/connect/v1/apps/batch",
            &json!({ "items": [ { "name": "a", "a\nb": 1 } ] }),
        ),
        400,
        invalid,
        Some(r"items[0].a\nb"),
    );
    assert_eq!(env.error.details.unwrap().index, Some(0));
    // A float zero is not an integer; -0 is (see http_edges.rs).
    assert_error(
        &t.send_json(
            "POST",
            "/connect/v1/apps",
            &json!({ "name": "a", "webhookConfig": { "retryAttempts": -0.0 } }),
        ),
        400,
        invalid,
        Some("webhookConfig.retryAttempts"),
    );
    // A URI one character too long gives the limit.
    let long = format!("https://example.com/{}", "a".repeat(2048 - 19));
    assert_eq!(long.len(), 2049);
    for (method, path, body, parameter) in [
        (
            "POST",
            "/connect/v1/apps".to_owned(),
            json!({ "name": "a", "redirectUris": [long] }),
            "redirectUris[0]",
        ),
        (
            "PATCH",
            format!("/connect/v1/apps/{}/webhook-config", app.client_id),
            json!({ "url": long }),
            "url",
        ),
    ] {
        let env = assert_error(
            &t.send_json(method, &path, &body),
            400,
            invalid,
            Some(parameter),
        );
        assert_eq!(env.error.details.unwrap().max, Some(2048));
    }
    // JSON deeper than the reader goes is called too deep, not invalid.
    for depth in [128, 129, 1000] {
        let deep = format!(
            "{{\"name\":\"a\",\"x\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let env = assert_error(
            &t.request("POST", "/connect/v1/apps")
                .header("Content-Type", "application/json")
                .body(deep.into_bytes())
                .send(),
            400,
            invalid,
            Some("body"),
        );
        assert!(
            env.error.message.contains("nested too deeply"),
            "{}",
            env.error.message
        );
    }
    // A host that ends in a number is an IPv4 address, or refused.
    for host in ["256.1.1.1", "1.2.3", "2130706433", "0x7f.1", "01.2.3.4"] {
        let env = assert_error(
            &t.send_json(
                "POST",
                "/connect/v1/apps",
                &json!({ "name": "a", "redirectUris": [format!("https://{host}/cb")] }),
            ),
            400,
            invalid,
            Some("redirectUris[0]"),
        );
        assert!(
            env.error.message.contains("valid host"),
            "{}",
            env.error.message
        );
    }
    // A port is 1 to 65535 in at most 5 digits, leading zeros included.
    for port in ["0", "0000", "065536", "99999", "123456", "000443"] {
        let env = assert_error(
            &t.send_json(
                "POST",
                "/connect/v1/apps",
                &json!({ "name": "a", "redirectUris": [format!("https://a.example.com:{port}/cb")] }),
            ),
            400,
            invalid,
            Some("redirectUris[0]"),
        );
        assert_eq!(
            env.error.message,
            "redirectUris[0] must have a port from 1 to 65535 (at most 5 digits)"
        );
    }
    // 21 distinct redirect URIs are one too many, however many duplicates come with them.
    let mut uris: Vec<String> = (0..21)
        .map(|i| format!("https://e{i}.example/cb"))
        .collect();
    uris.extend((0..30).map(|_| "https://e0.example/cb".to_owned()));
    let env = assert_error(
        &t.send_json(
            "PUT",
            &format!("/connect/v1/apps/{}/redirect-uris", app.client_id),
            &json!({ "redirectUris": uris }),
        ),
        400,
        invalid,
        Some("redirectUris"),
    );
    assert_eq!(env.error.details.unwrap().max, Some(20));
    assert_nothing_changed(&t, &before, &stored_before);
}
