//! The secrets key ring (issue 17), end to end on the real Worker restarted on the same
//! state with another `SECRETS_KEYS`, as an operator redeploys: a value whose key is gone
//! fails only the answers that must show it, naming the apps; everything else works, and
//! `rotate-client-secret` repairs the app. A malformed ring is the 500 envelope with a log
//! line that names the problem and no key material.

use connect_core::wire::app::App;
use connect_core::wire::error::ErrorCode;
use connect_e2e::api::assert_error;
use connect_e2e::{random_hex, Server, ServerConfig};
use serde_json::{json, Value};

fn app_path(id: &str, rest: &str) -> String {
    format!("/connect/v1/apps/{id}{rest}")
}

/// Whether the server's log comes to hold `needle` within 20 s (wrangler writes a Worker's
/// log lines a moment after the response).
fn log_shows(server: &Server, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if server.log().contains(needle) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// The apps named by a 500 that says a stored secret could not be opened.
fn unopened(res: &connect_e2e::Response) -> Vec<String> {
    let e = assert_error(res, 500, ErrorCode::SystemInternalError, None);
    assert!(
        e.error.message.contains("could not be opened"),
        "{}",
        e.error.message
    );
    let mut ids: Vec<String> = e
        .error
        .details
        .and_then(|d| d.client_ids)
        .unwrap_or_default()
        .iter()
        .map(|id| id.to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_value_whose_key_left_the_ring_fails_only_what_must_show_it_and_a_rotation_repairs_it() {
    let ring_a = format!("a:{}", random_hex(64));
    let ring_b = format!("b:{}", random_hex(64));
    let mut server = Server::start(ServerConfig::project().with_var("SECRETS_KEYS", &ring_a));
    let creds = server.tenant().credentials();

    // Under ring `a`: three apps (the first with a webhook secret) and a recorded answer.
    let ids: Vec<String> = {
        let t = creds.on(&server);
        let res = t.batch(
            &json!({ "items": [ { "name": "one" }, { "name": "two" }, { "name": "three" } ] }),
            Some("made-under-a"),
        );
        assert_eq!(res.status, 201, "{}", res.text());
        let ids: Vec<String> = res.json_value()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["app"]["clientId"].as_str().unwrap().to_owned())
            .collect();
        let hook = t
            .request("POST", &app_path(&ids[0], "/webhook-config/rotate-secret"))
            .send();
        assert_eq!(hook.status, 200);
        ids
    };

    // Redeployed with ring `b` alone: `a` is gone.
    server.restart_with_var("SECRETS_KEYS", &ring_b);
    let t = creds.on(&server);
    let mut all = ids.clone();
    all.sort();

    // The operator sees what the missing key still seals.
    let lost = |server: &Server| {
        let res = server
            .request("GET", "/admin/v1/secrets-keys")
            .bearer(server.var("ADMIN_TOKEN"))
            .send();
        assert_eq!(res.status, 200, "{}", res.text());
        res.json_value()["keys"][1].clone()
    };
    assert_eq!(
        lost(&server),
        json!({ "id": "a", "primary": false, "inRing": false,
                "sealed": { "apps": 3, "idempotencyRecords": 1 } })
    );

    // What must show a client secret fails, naming the apps, and the log names the key.
    assert_eq!(unopened(&t.get(&app_path(&ids[0], ""))), [ids[0].clone()]);
    assert_eq!(unopened(&t.get("/connect/v1/apps")), all);
    assert!(log_shows(&server, "key(s) [\"a\"]"), "the log names key a");
    let patched = t.send_json(
        "PATCH",
        &app_path(&ids[1], ""),
        &json!({ "name": "renamed" }),
    );
    assert_eq!(unopened(&patched), [ids[1].clone()]);
    let replay = t.batch(
        &json!({ "items": [ { "name": "one" }, { "name": "two" }, { "name": "three" } ] }),
        Some("made-under-a"),
    );
    assert_eq!(
        unopened(&replay),
        Vec::<String>::new(),
        "a recorded answer names no app"
    );

    // What does not need it works.
    assert_eq!(t.get("/connect/v1/workspace").json_value()["apps_count"], 3);
    let uris = t.get(&app_path(&ids[0], "/redirect-uris"));
    assert_eq!(uris.status, 200, "{}", uris.text());
    let hook = t.get(&app_path(&ids[0], "/webhook-config"));
    assert_eq!(hook.status, 200, "{}", hook.text());
    assert!(
        hook.json_value().get("secret").is_none(),
        "no preview of what does not open"
    );
    let changed = t.send_json(
        "PATCH",
        &app_path(&ids[0], "/webhook-config"),
        &json!({ "timeoutSeconds": 20 }),
    );
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(
        t.request("DELETE", &app_path(&ids[2], "")).send().status,
        200
    );

    // A rotation replaces the lost secret: the app reads again, sealed under `b`.
    for id in &ids[..2] {
        let rotated = t
            .request("POST", &app_path(id, "/rotate-client-secret"))
            .send();
        assert_eq!(rotated.status, 201, "{}", rotated.text());
        let secret = rotated.json_value()["clientSecret"].clone();
        let app: App = t.get(&app_path(id, "")).json();
        assert_eq!(json!(app.client_secret.expose()), secret);
        let doc: Value = serde_json::from_str(
            server.d1(&format!("SELECT doc FROM apps WHERE client_id = '{id}'"))[0]["doc"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert!(doc["clientSecret"].as_str().unwrap().starts_with("b."));
    }
    assert_eq!(
        t.get(&app_path(&ids[1], "")).json::<App>().name,
        "two",
        "the refused PATCH changed nothing"
    );
    let hook = t
        .request("POST", &app_path(&ids[0], "/webhook-config/rotate-secret"))
        .send();
    assert_eq!(hook.status, 200);
    assert!(t.get(&app_path(&ids[0], "/webhook-config")).json_value()["secret"].is_string());
    let listed = t.get("/connect/v1/apps");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json_value()["total"], 2);
    // Only the recorded answer is left under `a`; the re-seal cannot move it.
    assert_eq!(
        lost(&server)["sealed"],
        json!({ "apps": 0, "idempotencyRecords": 1 })
    );
    let reseal = server
        .request("POST", "/admin/v1/secrets-keys/reseal")
        .bearer(server.var("ADMIN_TOKEN"))
        .send();
    assert_eq!(
        reseal.json_value(),
        json!({ "resealed": 0, "remaining": 0 })
    );
}

#[test]
fn a_malformed_ring_is_the_500_envelope_with_a_log_line_and_no_key_material() {
    let hex = random_hex(64);
    let mut server = Server::start(ServerConfig::project());
    let creds = server.tenant().credentials();
    for (ring, says) in [
        (
            format!("a:{}", &hex[..62]),
            "key a of the key ring is not 64 hex digits",
        ),
        (
            format!("a:{hex},a:{hex}"),
            "key id a appears twice in the key ring",
        ),
        ("".to_owned(), "the key ring holds no key"),
        (format!("A:{hex}"), "entry 1 of the key ring has a key id"),
    ] {
        server.restart_with_var("SECRETS_KEYS", &ring);
        let t = creds.on(&server);
        let res = t.batch(&json!({ "items": [ { "name": "x" } ] }), None);
        assert_error(&res, 500, ErrorCode::SystemInternalError, None);
        for (method, path) in [
            ("GET", "/admin/v1/secrets-keys"),
            ("POST", "/admin/v1/secrets-keys/reseal"),
        ] {
            let res = server
                .request(method, path)
                .bearer(server.var("ADMIN_TOKEN"))
                .send();
            assert_error(&res, 500, ErrorCode::SystemInternalError, None);
        }
        assert!(log_shows(&server, says), "the log says {says:?}");
        assert!(
            !server.log().contains(&hex[..16]),
            "no key material in the log"
        );
    }
}
