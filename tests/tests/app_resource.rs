//! The whole app resource, end to end on the real Worker (issue 4): every route's success
//! shape, 404 for unknown apps and for other tenants' apps on every route, validation with
//! its parameter, secret rotation, webhook config and secret, redirect URIs, the workspace
//! count, idempotent POSTs, and no secret stored in plain text.

use connect_core::wire::app::WebhookConfig;
use connect_core::wire::app::{
    App, DeletedApp, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret,
};
use connect_core::wire::error::ErrorCode;
use connect_core::wire::request::{BatchCreateRequest, BatchItem, CreateAppRequest};
use connect_e2e::api::{assert_error, assert_no_secret_shapes, assert_not_stored, Tenant};
use connect_e2e::{Response, Server};
use serde_json::{json, Value};

fn create(t: &Tenant, name: &str) -> App {
    let req = CreateAppRequest {
        name: name.into(),
        logo: None,
        redirect_uris: Some(vec!["https://app.example.com/cb".into()]),
        webhook_config: None,
    };
    let res = t.send_json("POST", "/connect/v1/apps", &req);
    assert_eq!(res.status, 201, "{}", res.text());
    let app: App = res.json();
    assert_eq!(
        res.header("location"),
        Some(format!("/connect/v1/apps/{}", app.client_id).as_str())
    );
    app
}

fn app_path(app: &App, rest: &str) -> String {
    format!("/connect/v1/apps/{}{rest}", app.client_id)
}

fn replayed(res: &Response) -> bool {
    res.header("idempotency-replayed") == Some("true")
}

#[test]
fn create_get_patch_and_delete() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "  Single  ");
    assert_eq!(app.name, "Single");
    assert_eq!(app.organization_id, t.workspace);
    let got: App = t.get(&app_path(&app, "")).json();
    assert_eq!(got, app);

    let res = t.send_json(
        "PATCH",
        &app_path(&app, ""),
        &json!({
            "name": "Renamed",
            "redirectUris": ["https://New.Example.com/cb", "https://new.example.com/cb", "http://localhost:8080/cb"],
            "webhookConfig": { "url": "https://hooks.example.com/in", "enabled": true, "events": ["verification.completed"] },
            "defaultSuccessRedirectUri": "https://new.example.com/ok",
            "defaultFailureRedirectUri": "https://new.example.com/ko"
        }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let patched: App = res.json();
    assert_eq!(patched.name, "Renamed");
    assert_eq!(
        patched.redirect_uris,
        ["https://new.example.com/cb", "http://localhost:8080/cb"]
    );
    assert!(patched.webhook_config.enabled);
    assert_eq!(
        patched.webhook_config.retry_attempts, 3,
        "merged, not replaced"
    );
    assert_eq!(
        patched.default_success_redirect_uri.as_deref(),
        Some("https://new.example.com/ok")
    );
    assert!(patched.updated_at > app.updated_at, "updatedAt moves");
    assert_eq!(patched.created_at, app.created_at);
    assert_eq!(patched.client_secret, app.client_secret);
    // A merge of one field keeps the others; null clears what can be cleared.
    let res = t.send_json(
        "PATCH",
        &app_path(&app, ""),
        &json!({ "webhookConfig": { "timeoutSeconds": 30 }, "defaultFailureRedirectUri": null }),
    );
    let again: App = res.json();
    assert_eq!(
        (
            again.webhook_config.timeout_seconds,
            again.webhook_config.enabled
        ),
        (30, true)
    );
    assert_eq!(
        again.webhook_config.url.as_deref(),
        Some("https://hooks.example.com/in")
    );
    assert_eq!(again.default_failure_redirect_uri, None);
    assert_eq!(
        again.default_success_redirect_uri.as_deref(),
        Some("https://new.example.com/ok")
    );
    assert_eq!(t.get(&app_path(&app, "")).json::<App>(), again);

    let res = t.request("DELETE", &app_path(&app, "")).send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json::<DeletedApp>(),
        DeletedApp {
            client_id: app.client_id,
            deleted: true
        }
    );
    assert_error(
        &t.request("DELETE", &app_path(&app, "")).send(),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    assert_error(
        &t.get(&app_path(&app, "")),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    assert_eq!(t.total(), 0);
}

#[test]
fn a_patch_that_fails_validation_changes_nothing() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Stable");
    let invalid = ErrorCode::ValidationInvalidParameter;
    for (body, code, parameter) in [
        (json!({ "clientId": "AAAAAAAA" }), invalid, "clientId"),
        (
            json!({ "clientSecret": "sh_app_x" }),
            invalid,
            "clientSecret",
        ),
        (
            json!({ "name": "ok", "redirectUris": ["ftp://x.example.com"] }),
            invalid,
            "redirectUris[0]",
        ),
        (json!({ "name": "" }), invalid, "name"),
        (json!({ "name": null }), invalid, "name"),
        (json!({ "nmae": "typo" }), invalid, "nmae"),
        (
            json!({ "name": "ok", "webhookConfig": { "enabled": true } }),
            ErrorCode::ValidationMissingParameter,
            "webhookConfig.url",
        ),
        (
            json!({ "name": "ok", "webhookConfig": { "secret": "whsec_0" } }),
            invalid,
            "webhookConfig.secret",
        ),
        (
            json!({ "defaultSuccessRedirectUri": "https://x.example.com/#f" }),
            invalid,
            "defaultSuccessRedirectUri",
        ),
        (
            json!({ "redirectUris": (0..21).map(|i| format!("https://e{i}.example.com/")).collect::<Vec<_>>() }),
            invalid,
            "redirectUris",
        ),
        (json!([1]), invalid, "body"),
    ] {
        assert_error(
            &t.send_json("PATCH", &app_path(&app, ""), &body),
            400,
            code,
            Some(parameter),
        );
    }
    assert_eq!(
        t.get(&app_path(&app, "")).json::<App>(),
        app,
        "nothing changed"
    );
}

#[test]
fn rotating_the_client_secret_kills_the_old_one_and_replays_the_new_one() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Rotating");
    let path = app_path(&app, "/rotate-client-secret");
    let res = t
        .request("POST", &path)
        .header("Idempotency-Key", "rotate-1")
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    let rotated: RotatedClientSecret = res.json();
    assert_ne!(rotated.client_secret, app.client_secret);
    let now: App = t.get(&app_path(&app, "")).json();
    assert_eq!(now.client_secret, rotated.client_secret);
    assert!(now.updated_at > app.updated_at);
    assert_not_stored(server, app.client_secret.expose());
    assert_not_stored(server, rotated.client_secret.expose());
    // Replayed: the same new secret, and no further rotation.
    let again = t
        .request("POST", &path)
        .header("Idempotency-Key", "rotate-1")
        .send();
    assert!(replayed(&again));
    assert_eq!(again.body, res.body);
    assert_eq!(
        t.get(&app_path(&app, "")).json::<App>().client_secret,
        rotated.client_secret
    );
    // `{}` is the same empty request; any other body is refused, naming `body`.
    let same = t
        .request("POST", &path)
        .header("Idempotency-Key", "rotate-1")
        .json(&json!({}))
        .send();
    assert!(replayed(&same));
    let res = t
        .request("POST", &path)
        .json(&json!({ "clientSecret": "sh_app_mine" }))
        .send();
    assert_error(
        &res,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("body"),
    );
    // Without a key every call rotates.
    let third: RotatedClientSecret = t.request("POST", &path).send().json();
    assert_ne!(third.client_secret, rotated.client_secret);
    // The key of the rotation is tied to this route and app.
    let other = create(&t, "Other");
    let res = t
        .request("POST", &app_path(&other, "/rotate-client-secret"))
        .header("Idempotency-Key", "rotate-1")
        .send();
    assert_error(&res, 409, ErrorCode::IdempotencyKeyConflict, None);
}

#[test]
fn webhook_config_merges_and_its_secret_is_shown_once() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Hooks");
    let path = app_path(&app, "/webhook-config");
    let initial: WebhookConfig = t.get(&path).json();
    assert_eq!(
        t.get(&path).json_value(),
        json!({ "enabled": false, "retryAttempts": 3, "timeoutSeconds": 10, "events": [] })
    );
    assert_eq!(initial.secret, None);
    let res = t.send_json("PATCH", &path, &json!({ "url": "https://hooks.example.com/a", "events": ["verification.created", "verification.expired"] }));
    assert_eq!(res.status, 200, "{}", res.text());
    let merged: WebhookConfig = res.json();
    assert_eq!((merged.enabled, merged.retry_attempts), (false, 3));
    assert_eq!(
        merged.events,
        ["verification.created", "verification.expired"]
    );
    for (body, code, parameter) in [
        (
            json!({ "secret": "whsec_x" }),
            ErrorCode::ValidationInvalidParameter,
            "secret",
        ),
        (
            json!({ "retryAttempts": 11 }),
            ErrorCode::ValidationInvalidParameter,
            "retryAttempts",
        ),
        (
            json!({ "url": "http://hooks.example.com" }),
            ErrorCode::ValidationInvalidParameter,
            "url",
        ),
        (
            json!({ "url": null, "enabled": true }),
            ErrorCode::ValidationMissingParameter,
            "url",
        ),
        (
            json!({ "events": ["nope"] }),
            ErrorCode::ValidationInvalidParameter,
            "events[0]",
        ),
    ] {
        assert_error(
            &t.send_json("PATCH", &path, &body),
            400,
            code,
            Some(parameter),
        );
    }
    assert_eq!(t.get(&path).json::<WebhookConfig>(), merged);

    let rotate = app_path(&app, "/webhook-config/rotate-secret");
    let res = t
        .request("POST", &rotate)
        .header("Idempotency-Key", "whsec-1")
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    let secret: RotatedWebhookSecret = res.json();
    let full = secret.secret.expose().to_owned();
    assert!(full.starts_with("whsec_") && full.len() == 70);
    let replay = t
        .request("POST", &rotate)
        .header("Idempotency-Key", "whsec-1")
        .send();
    assert!(replayed(&replay));
    assert_eq!(replay.body, res.body);
    // Everywhere else: only a preview.
    let preview = format!("whsec_****{}", &full[full.len() - 4..]);
    assert_eq!(
        t.get(&path).json::<WebhookConfig>().secret.as_deref(),
        Some(preview.as_str())
    );
    let shown: App = t.get(&app_path(&app, "")).json();
    assert_eq!(
        shown.webhook_config.secret.as_deref(),
        Some(preview.as_str())
    );
    for res in [
        t.get(&path),
        t.get(&app_path(&app, "")),
        t.get("/connect/v1/apps"),
    ] {
        assert!(!res.text().contains(&full));
    }
    assert_not_stored(server, &full);
    let next: RotatedWebhookSecret = t.request("POST", &rotate).send().json();
    assert_ne!(next.secret, secret.secret);
    assert_no_secret_shapes(server);
}

#[test]
fn redirect_uris_are_read_and_replaced() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Redirects");
    let path = app_path(&app, "/redirect-uris");
    assert_eq!(
        t.get(&path).json::<RedirectUrisResponse>().redirect_uris,
        ["https://app.example.com/cb"]
    );
    let res = t.send_json("PUT", &path, &json!({ "redirectUris": ["https://B.Example.com/x?y=Z", "https://b.example.com/x?y=Z", "https://c.example.com/"] }));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json::<RedirectUrisResponse>().redirect_uris,
        ["https://b.example.com/x?y=Z", "https://c.example.com/"]
    );
    assert_eq!(
        t.get(&app_path(&app, "")).json::<App>().redirect_uris,
        ["https://b.example.com/x?y=Z", "https://c.example.com/"]
    );
    for (body, code, parameter) in [
        (
            json!({}),
            ErrorCode::ValidationMissingParameter,
            "redirectUris",
        ),
        (
            json!({ "redirectUris": "https://a.example.com" }),
            ErrorCode::ValidationInvalidParameter,
            "redirectUris",
        ),
        (
            json!({ "redirectUris": ["https://a.example.com", "javascript:alert(1)"] }),
            ErrorCode::ValidationInvalidParameter,
            "redirectUris[1]",
        ),
        (
            json!({ "redirectUris": [], "extra": true }),
            ErrorCode::ValidationInvalidParameter,
            "extra",
        ),
    ] {
        assert_error(
            &t.send_json("PUT", &path, &body),
            400,
            code,
            Some(parameter),
        );
    }
    let res = t.send_json("PUT", &path, &json!({ "redirectUris": [] }));
    assert_eq!(
        res.json::<RedirectUrisResponse>().redirect_uris,
        Vec::<String>::new()
    );
}

#[test]
fn another_workspace_cannot_see_or_change_an_app_on_any_route() {
    let server = Server::shared();
    let (owner, intruder) = (server.tenant(), server.tenant());
    let app = create(&owner, "Private");
    let attempts: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", app_path(&app, ""), None),
        (
            "PATCH",
            app_path(&app, ""),
            Some(json!({ "name": "Stolen" })),
        ),
        ("DELETE", app_path(&app, ""), None),
        ("POST", app_path(&app, "/rotate-client-secret"), None),
        ("GET", app_path(&app, "/redirect-uris"), None),
        (
            "PUT",
            app_path(&app, "/redirect-uris"),
            Some(json!({ "redirectUris": ["https://evil.example.com/"] })),
        ),
        ("GET", app_path(&app, "/webhook-config"), None),
        (
            "PATCH",
            app_path(&app, "/webhook-config"),
            Some(json!({ "url": "https://evil.example.com/" })),
        ),
        (
            "POST",
            app_path(&app, "/webhook-config/rotate-secret"),
            None,
        ),
    ];
    for (method, path, body) in &attempts {
        let mut req = intruder.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send();
        assert_error(&res, 404, ErrorCode::ResourceNotFound, None);
        assert!(!res.text().contains(app.client_secret.expose()));
        // And for an app that does not exist anywhere, the same answer.
        let mut req = owner.request(method, &path.replace(app.client_id.as_str(), "Zz9Zz9Zz"));
        if let Some(b) = body {
            req = req.json(b);
        }
        assert_error(&req.send(), 404, ErrorCode::ResourceNotFound, None);
    }
    assert_error(
        &owner.get("/connect/v1/apps/not-an-id"),
        404,
        ErrorCode::ResourceNotFound,
        None,
    );
    assert_eq!(
        owner.get(&app_path(&app, "")).json::<App>(),
        app,
        "untouched"
    );
    assert_eq!((owner.total(), intruder.total()), (1, 0));
}

#[test]
fn create_validates_and_is_idempotent() {
    let server = Server::shared();
    let t = server.tenant();
    for (body, code, parameter) in [
        (json!({}), ErrorCode::ValidationMissingParameter, "name"),
        (
            json!({ "name": "a", "idempotencyKey": "not here" }),
            ErrorCode::ValidationInvalidParameter,
            "idempotencyKey",
        ),
        (
            json!({ "name": "a", "redirectUris": ["https://[::1/"] }),
            ErrorCode::ValidationInvalidParameter,
            "redirectUris[0]",
        ),
        (
            json!({ "name": "a", "webhookConfig": { "retryAttempts": "3" } }),
            ErrorCode::ValidationInvalidParameter,
            "webhookConfig.retryAttempts",
        ),
    ] {
        assert_error(
            &t.send_json("POST", "/connect/v1/apps", &body),
            400,
            code,
            Some(parameter),
        );
    }
    let req = json!({ "name": "Once" });
    let first = t
        .request("POST", "/connect/v1/apps")
        .header("Idempotency-Key", "create-once")
        .json(&req)
        .send();
    assert_eq!(first.status, 201);
    let again = t
        .request("POST", "/connect/v1/apps")
        .header("Idempotency-Key", "create-once")
        .json(&req)
        .send();
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    assert_eq!(
        again.header("location"),
        first.header("location"),
        "the replay keeps Location"
    );
    assert_eq!(t.total(), 1);
}

#[test]
fn apps_count_follows_batches_creates_and_deletes() {
    let server = Server::shared();
    let t = server.tenant();
    let batch = |n: usize| BatchCreateRequest {
        items: (0..n)
            .map(|i| BatchItem {
                app: CreateAppRequest {
                    name: format!("n{i}"),
                    logo: None,
                    redirect_uris: None,
                    webhook_config: None,
                },
                idempotency_key: None,
            })
            .collect(),
        continue_on_error: Some(true),
    };
    assert_eq!(t.batch(&batch(7), None).status, 201);
    let singles: Vec<App> = (0..3).map(|i| create(&t, &format!("single {i}"))).collect();
    assert_eq!(
        t.batch(
            &json!({ "items": [ { "name": "ok" }, { "name": "" } ], "continueOnError": true }),
            None
        )
        .status,
        201
    );
    for app in &singles[..2] {
        assert_eq!(t.request("DELETE", &app_path(app, "")).send().status, 200);
    }
    assert_eq!(
        t.request("DELETE", &app_path(&singles[0], ""))
            .send()
            .status,
        404
    );
    let workspace = t.get("/connect/v1/workspace");
    assert_eq!(workspace.status, 200);
    let w = workspace.json_value();
    assert_eq!(w["apps_count"], 7 + 3 + 1 - 2);
    assert_eq!(w["id"], t.workspace.as_str());
    assert!(w["createdAt"].is_string() && w["created_at"].is_i64());
    assert_eq!(t.total(), 9);
    let listed = t.get("/connect/v1/apps?limit=100").json_value()["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, 9);
}

#[test]
fn a_stored_app_is_the_app_with_its_secrets_sealed_and_its_workflow_as_node_ids() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Stored doc");
    let hook = t
        .request("POST", &app_path(&app, "/webhook-config/rotate-secret"))
        .send();
    assert_eq!(hook.status, 200, "{}", hook.text());
    let webhook_secret = hook.json_value()["secret"].as_str().unwrap().to_owned();
    let app: App = t.get(&app_path(&app, "")).json();
    let stored_doc = |id: &str| -> Value {
        let rows = server.d1(&format!("SELECT doc FROM apps WHERE client_id = '{id}'"));
        serde_json::from_str(rows[0]["doc"].as_str().unwrap()).unwrap()
    };
    let doc = stored_doc(app.client_id.as_str());
    let primary = server
        .var("SECRETS_KEYS")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    for sealed in [&doc["clientSecret"], &doc["webhookConfig"]["secret"]] {
        let sealed = sealed.as_str().unwrap();
        assert!(sealed.starts_with(&format!("{primary}.")), "{sealed}");
    }
    assert_not_stored(server, app.client_secret.expose());
    assert_not_stored(server, &webhook_secret);
    let nodes: Vec<&str> = app.workflows[0]
        .nodes
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(doc["workflows"], json!(nodes), "{doc}");
    // Everything else is the App object as the API shows it.
    let mut shown = serde_json::to_value(&app).unwrap();
    let mut rest = doc.clone();
    for v in [&mut shown, &mut rest] {
        let o = v.as_object_mut().unwrap();
        o.remove("clientSecret");
        o.remove("workflows");
        o["webhookConfig"].as_object_mut().unwrap().remove("secret");
    }
    assert_eq!(rest, shown);

    // A sealed secret is bound to its app: moved onto another app's row, it does not open,
    // and that app's read fails instead of serving another app's secret.
    let other = create(&t, "Other doc");
    let mut moved = stored_doc(other.client_id.as_str());
    moved["clientSecret"] = doc["clientSecret"].clone();
    server.d1_exec(&format!(
        "UPDATE apps SET doc = '{}' WHERE client_id = '{}'",
        moved.to_string().replace('\'', "''"),
        other.client_id
    ));
    let got = t.get(&app_path(&other, ""));
    assert_error(&got, 500, ErrorCode::SystemInternalError, None);
    assert!(!got.text().contains(app.client_secret.expose()));
    assert_eq!(t.get(&app_path(&app, "")).json::<App>(), app);
}

#[test]
fn a_logo_goes_through_create_batch_patch_get_and_list_and_bad_ones_are_refused_by_name() {
    let server = Server::shared();
    let t = server.tenant();
    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let svg = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=";
    let created = t.send_json(
        "POST",
        "/connect/v1/apps",
        &json!({ "name": "Logo", "logo": png }),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let app: App = created.json();
    assert_eq!(app.logo.as_deref(), Some(png));
    let batch = t.batch(
        &json!({ "items": [ { "name": "With", "logo": svg }, { "name": "Without" } ] }),
        None,
    );
    assert_eq!(batch.status, 201, "{}", batch.text());
    let results = batch.json_value()["results"].clone();
    assert_eq!(results[0]["app"]["logo"], svg);
    assert!(results[1]["app"].get("logo").is_none());
    assert_eq!(
        t.get(&app_path(&app, "")).json::<App>().logo.as_deref(),
        Some(png)
    );
    let listed = t.get("/connect/v1/apps?limit=100").json_value();
    let logo_of = |name: &str| {
        let data = listed["data"].as_array().unwrap();
        data.iter().find(|a| a["name"] == name).unwrap()["logo"].clone()
    };
    assert_eq!(
        [logo_of("Logo"), logo_of("With"), logo_of("Without")],
        [json!(png), json!(svg), Value::Null]
    );

    let patched = t.send_json("PATCH", &app_path(&app, ""), &json!({ "logo": svg }));
    assert_eq!(patched.json::<App>().logo.as_deref(), Some(svg));
    let cleared = t.send_json("PATCH", &app_path(&app, ""), &json!({ "logo": null }));
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    assert_eq!(cleared.json_value().get("logo"), None);
    assert_eq!(t.get(&app_path(&app, "")).json::<App>().logo, None);

    let too_long = format!("data:image/svg+xml;base64,{}", "A".repeat(32 * 1024));
    for (bad, max) in [
        (json!("https://cdn.example/logo.png"), None),
        (json!("data:image/gif;base64,R0lGODlhAQABAAAAACw="), None),
        (json!("data:image/png;base64,AAAAAAAAAAAA"), None),
        (json!("data:image/svg+xml;base64,not base64"), None),
        (json!(too_long), Some(32768)),
        (json!(5), None),
        (json!(null), None),
    ] {
        let res = t.send_json(
            "POST",
            "/connect/v1/apps",
            &json!({ "name": "Bad", "logo": bad }),
        );
        let e = assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("logo"),
        );
        assert_eq!(e.error.details.unwrap().max, max);
        let res = t.batch(
            &json!({ "items": [ { "name": "ok" }, { "name": "Bad", "logo": bad } ] }),
            None,
        );
        assert_error(
            &res,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("items[1].logo"),
        );
        if !bad.is_null() {
            let res = t.send_json("PATCH", &app_path(&app, ""), &json!({ "logo": bad }));
            assert_error(
                &res,
                400,
                ErrorCode::ValidationInvalidParameter,
                Some("logo"),
            );
        }
    }
    assert_eq!(t.total(), 3, "no bad logo created anything");
    assert_eq!(t.get(&app_path(&app, "")).json::<App>().logo, None);
}
