//! The HTTP and input edges a careful client meets (issues 18 and 30), end to end on the
//! real Worker, from the side of what is accepted: `HEAD` answers what `GET` answers
//! without the body, every response says `Cache-Control: no-store`, `application/*+json`
//! in UTF-8 is read, emoji sequences are names, every spelling of a name is stored as its
//! NFC, redirect URIs are counted after duplicates and their ports kept without leading
//! zeros, `-0` is an integer, and a body refused for a repeated member records no
//! `Idempotency-Key`. What is refused, and that it changes nothing, is in `hostile.rs`.

use connect_core::wire::app::App;
use connect_core::wire::error::ErrorCode;
use connect_e2e::api::{assert_error, Tenant};
use connect_e2e::{Response, Server};
use serde_json::{json, Value};

fn create(t: &Tenant, name: &str) -> App {
    let res = t.send_json("POST", "/connect/v1/apps", &json!({ "name": name }));
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()
}

/// The headers of `res` that do not change from one request to the next (not the
/// request id, nor the time the request took, nor the bookmark, which moves with every
/// write to the shard, other tests' included).
fn stable_headers(res: &Response) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = res
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .filter(|(k, _)| {
            ![
                "x-request-id",
                "server-timing",
                "date",
                "x-connect-bookmark",
            ]
            .contains(&k.as_str())
        })
        .collect();
    headers.sort();
    headers
}

/// `HEAD path` answers what `GET path` answers, without a body: the same status and
/// headers, `Content-Length` the length of the GET's body.
fn assert_head_is_get(server: &Server, key: Option<&str>, path: &str) -> Response {
    let send = |method: &str| {
        let req = server.request(method, path);
        match key {
            Some(key) => req.bearer(key).send(),
            None => req.send(),
        }
    };
    let get = send("GET");
    let head = send("HEAD");
    assert_eq!(head.status, get.status, "HEAD {path}: {}", get.text());
    assert!(head.body.is_empty(), "HEAD {path} has a body");
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str()),
        "HEAD {path}"
    );
    let mut expected = stable_headers(&get);
    if get.header("content-length").is_none() {
        expected.push(("content-length".into(), get.body.len().to_string()));
        expected.sort();
    }
    assert_eq!(stable_headers(&head), expected, "HEAD {path}");
    assert!(head.header("x-request-id").is_some());
    assert_eq!(
        head.header("x-connect-bookmark").is_some(),
        get.header("x-connect-bookmark").is_some(),
        "HEAD {path}: a bookmark where GET has one"
    );
    get
}

#[test]
fn head_answers_what_get_answers_without_the_body() {
    let server = Server::shared();
    let t = server.tenant();
    let app = create(&t, "Head");
    let _ = create(&t, "Second");
    let id = app.client_id.as_str();
    let key = Some(t.key.as_str());
    for path in [
        "/connect/v1/workspace".to_owned(),
        "/connect/v1/apps?limit=1&offset=1".to_owned(),
        format!("/connect/v1/apps/{id}"),
        format!("/connect/v1/apps/{id}/redirect-uris"),
        format!("/connect/v1/apps/{id}/webhook-config"),
        "/connect/v1/openapi.json".to_owned(),
    ] {
        let get = assert_head_is_get(server, key, &path);
        assert_eq!(get.status, 200, "{path}: {}", get.text());
    }
    let list = assert_head_is_get(server, key, "/connect/v1/apps?limit=1&offset=1");
    assert!(
        list.header("link").is_some(),
        "the list's Link comes with HEAD too"
    );
    // Errors too: the same status and headers, no body.
    for (key, path, status) in [
        (key, "/connect/v1/apps/Zz9Zz9Zz".to_owned(), 404),
        (None, format!("/connect/v1/apps/{id}"), 401),
        (key, "/connect/v1/apps?limit=0".to_owned(), 400),
        (key, "/connect/v1/apps/batch".to_owned(), 405),
        (key, "/connect/v1/nothing".to_owned(), 404),
    ] {
        let get = assert_head_is_get(server, key, &path);
        assert_eq!(get.status, status, "{path}: {}", get.text());
    }
    let res = t.request("HEAD", "/connect/v1/apps/batch").send();
    assert_eq!(res.header("allow"), Some("POST"));
    let res = t.request("PUT", "/connect/v1/workspace").send();
    assert_error(&res, 405, ErrorCode::MethodNotAllowed, None);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    // A HEAD changes nothing: the app is there, as it was.
    assert_eq!(t.get(&format!("/connect/v1/apps/{id}")).json::<App>(), app);
}

#[test]
fn every_response_says_no_store() {
    let server = Server::shared();
    let admin = server.var("ADMIN_TOKEN");
    // A new workspace and its API key.
    let created = server.post("/admin/v1/workspaces").bearer(admin).send();
    assert_eq!(created.status, 201, "{}", created.text());
    let t = server.tenant();
    let app = create(&t, "No store");
    let id = app.client_id.as_str();
    let responses = vec![
        created,
        server
            .post(format!("/admin/v1/workspaces/{}/api-keys", t.workspace))
            .bearer(admin)
            .send(),
        t.send_json("POST", "/connect/v1/apps", &json!({ "name": "secret" })),
        t.batch(&json!({ "items": [ { "name": "a" } ] }), Some("no-store-1")),
        t.batch(&json!({ "items": [ { "name": "a" } ] }), Some("no-store-1")),
        t.get(&format!("/connect/v1/apps/{id}")),
        t.get("/connect/v1/apps"),
        t.request(
            "POST",
            &format!("/connect/v1/apps/{id}/rotate-client-secret"),
        )
        .send(),
        t.request(
            "POST",
            &format!("/connect/v1/apps/{id}/webhook-config/rotate-secret"),
        )
        .send(),
        t.request("HEAD", &format!("/connect/v1/apps/{id}")).send(),
        t.get("/connect/v1/apps/Zz9Zz9Zz"),
        t.send_json("POST", "/connect/v1/apps", &json!({ "name": "" })),
        server.get("/connect/v1/apps").send(),
        t.request("PUT", "/connect/v1/apps").send(),
        t.request("POST", "/connect/v1/apps")
            .header("Content-Type", "text/plain")
            .body(b"x".to_vec())
            .send(),
        server.get("/connect/v1/openapi.json").send(),
    ];
    for res in &responses {
        assert!(res.status < 500, "{}", res.text());
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{} {}",
            res.status,
            res.text()
        );
    }
}

#[test]
fn json_media_types_in_utf8_are_read() {
    let server = Server::shared();
    let t = server.tenant();
    for (content_type, coding) in [
        ("application/vnd.api+json", None),
        ("application/merge-patch+json; charset=utf-8", None),
        ("Application/JSON; charset=\"UTF-8\"", None),
        ("application/json", Some("identity")),
    ] {
        let mut req = t
            .request("POST", "/connect/v1/apps")
            .header("Content-Type", content_type)
            .body(br#"{"name":"typed"}"#.to_vec());
        if let Some(coding) = coding {
            req = req.header("Content-Encoding", coding);
        }
        let res = req.send();
        assert_eq!(res.status, 201, "{content_type}: {}", res.text());
    }
    // A route that takes no body accepts {} declared as JSON, and nothing at all.
    let app = create(&t, "Rotate");
    let path = format!("/connect/v1/apps/{}/rotate-client-secret", app.client_id);
    let res = t
        .request("POST", &path)
        .header("Content-Type", "application/json")
        .body(b" {} ".to_vec())
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(t.request("POST", &path).send().status, 201);
    assert_eq!(t.total(), 5);
}

#[test]
fn emoji_sequences_are_names() {
    let server = Server::shared();
    let t = server.tenant();
    for name in [
        "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} Family",
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} England",
        "\u{2764}\u{FE0F}\u{200D}\u{1F525} Hot",
        "1\u{FE0F}\u{20E3} First",
        "\u{1F469}\u{1F3FD}\u{200D}\u{1F4BB} Dev",
    ] {
        let app = create(&t, name);
        assert_eq!(app.name, name);
        let read: App = t.get(&format!("/connect/v1/apps/{}", app.client_id)).json();
        assert_eq!(read.name, name);
    }
}

/// The document D1 holds for app `id`, read back from the database.
fn stored_doc(server: &Server, id: &str) -> Value {
    let rows = server.d1(&format!("SELECT doc FROM apps WHERE client_id = '{id}'"));
    assert_eq!(rows.len(), 1, "{id}: {rows:?}");
    serde_json::from_str(rows[0]["doc"].as_str().unwrap()).unwrap()
}

#[test]
fn every_spelling_of_a_name_is_stored_as_its_nfc() {
    let server = Server::shared();
    let t = server.tenant();
    // Precomposed, and decomposed (base letters and combining marks, the Vietnamese
    // marks out of canonical order).
    const NFC: &str = "Caf\u{E9} \u{C5}ngstr\u{F6}m Vi\u{1EC7}t";
    const NFD: &str = "Cafe\u{301} A\u{30A}ngstro\u{308}m Vie\u{302}\u{323}t";
    assert_ne!(NFC.as_bytes(), NFD.as_bytes());
    let nfd_bytes = "e\u{301}";

    let mut apps: Vec<(App, &str)> = Vec::new();
    for spelling in [NFD, NFC] {
        let res = t.send_json("POST", "/connect/v1/apps", &json!({ "name": spelling }));
        assert_eq!(res.status, 201, "{}", res.text());
        assert!(!res.text().contains(nfd_bytes), "{}", res.text());
        apps.push((res.json(), NFC));
    }
    let res = t.batch(
        &json!({ "items": [ { "name": NFD }, { "name": format!("  {NFC}\u{3000}") } ] }),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(!res.text().contains(nfd_bytes), "{}", res.text());
    let batch: Value = res.json_value();
    for result in batch["results"].as_array().unwrap() {
        apps.push((serde_json::from_value(result["app"].clone()).unwrap(), NFC));
    }
    let renamed = create(&t, "Before");
    let res = t.send_json(
        "PATCH",
        &format!("/connect/v1/apps/{}", renamed.client_id),
        &json!({ "name": NFD }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    apps.push((res.json(), NFC));
    // 100 accented letters sent as 200 characters are 100 characters; `e` and five
    // acutes are `é` and four.
    let long = create(&t, &"e\u{301}".repeat(100));
    let long_name = "\u{E9}".repeat(100);
    apps.push((long, long_name.as_str()));
    let four = create(&t, "Cafe\u{301}\u{301}\u{301}\u{301}\u{301}");
    let four_name = "Caf\u{E9}\u{301}\u{301}\u{301}\u{301}";
    apps.push((four, four_name));

    for (app, name) in &apps {
        let id = app.client_id.as_str();
        assert_eq!(app.name.as_bytes(), name.as_bytes(), "{id} as answered");
        let read: App = t.get(&format!("/connect/v1/apps/{id}")).json();
        assert_eq!(read.name.as_bytes(), name.as_bytes(), "{id} as read");
        let doc = stored_doc(server, id);
        assert_eq!(
            doc["name"].as_str().unwrap().as_bytes(),
            name.as_bytes(),
            "{id} as stored"
        );
    }
    let listed = t.get("/connect/v1/apps?limit=100").json_value();
    let names: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [NFC, NFC, NFC, NFC, NFC, long_name.as_str(), four_name],
        "one name, byte for byte, in the list"
    );

    // The other spelling of the name an app has is that name: a PATCH changes nothing.
    let (first, _) = &apps[0];
    let path = format!("/connect/v1/apps/{}", first.client_id);
    let res = t.send_json("PATCH", &path, &json!({ "name": format!(" {NFD} ") }));
    assert_eq!(res.status, 200, "{}", res.text());
    let unchanged: App = res.json();
    assert_eq!(
        unchanged.updated_at, first.updated_at,
        "nothing was written"
    );
    assert_eq!(t.get(&path).json::<App>(), *first);
}

#[test]
fn ports_are_kept_without_leading_zeros() {
    let server = Server::shared();
    let t = server.tenant();
    let res = t.send_json(
        "POST",
        "/connect/v1/apps",
        &json!({
            "name": "Ports",
            "redirectUris": [
                "https://a.example.com:0443/cb",
                "https://a.example.com:443/cb",
                "HTTPS://B.Example.com:08443/cb?port=0443",
                "http://localhost:03000/cb",
                "http://[::1]:00080/cb",
                "https://c.example.com/cb",
            ],
            "webhookConfig": { "url": "https://hooks.example.com:0443/in", "enabled": true },
        }),
    );
    assert_eq!(res.status, 201, "{}", res.text());
    let app: App = res.json();
    let id = app.client_id.as_str();
    // The same URI twice (`:0443` is `:443`): one is kept. A written port stays, the
    // default one too; the path and query are kept exactly.
    let uris = [
        "https://a.example.com:443/cb",
        "https://b.example.com:8443/cb?port=0443",
        "http://localhost:3000/cb",
        "http://[::1]:80/cb",
        "https://c.example.com/cb",
    ];
    assert_eq!(app.redirect_uris, uris);
    assert_eq!(
        app.webhook_config.url.as_deref(),
        Some("https://hooks.example.com:443/in")
    );
    let res = t.send_json(
        "PATCH",
        &format!("/connect/v1/apps/{id}"),
        &json!({
            "defaultSuccessRedirectUri": "https://a.example.com:00443/ok",
            "defaultFailureRedirectUri": "https://a.example.com:08443/no",
        }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    let app: App = res.json();
    assert_eq!(
        app.default_success_redirect_uri.as_deref(),
        Some("https://a.example.com:443/ok")
    );
    assert_eq!(
        app.default_failure_redirect_uri.as_deref(),
        Some("https://a.example.com:8443/no")
    );
    let doc = stored_doc(server, id);
    assert_eq!(doc["redirectUris"], json!(uris));
    assert_eq!(
        doc["webhookConfig"]["url"],
        "https://hooks.example.com:443/in"
    );
    assert_eq!(
        doc["defaultSuccessRedirectUri"],
        "https://a.example.com:443/ok"
    );
    assert_eq!(
        doc["defaultFailureRedirectUri"],
        "https://a.example.com:8443/no"
    );

    let res = t.send_json(
        "PUT",
        &format!("/connect/v1/apps/{id}/redirect-uris"),
        &json!({ "redirectUris": ["https://d.example.com:0080/cb"] }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json_value()["redirectUris"],
        json!(["https://d.example.com:80/cb"])
    );
    let res = t.send_json(
        "PATCH",
        &format!("/connect/v1/apps/{id}/webhook-config"),
        &json!({ "url": "https://hooks.example.com:00080/x" }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json_value()["url"], "https://hooks.example.com:80/x");
    let doc = stored_doc(server, id);
    assert_eq!(doc["redirectUris"], json!(["https://d.example.com:80/cb"]));
    assert_eq!(
        doc["webhookConfig"]["url"],
        "https://hooks.example.com:80/x"
    );

    let res = t.batch(
        &json!({ "items": [ { "name": "b", "redirectUris": ["https://e.example.com:0443/cb"] } ] }),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.text());
    let batch = res.json_value();
    assert_eq!(
        batch["results"][0]["app"]["redirectUris"],
        json!(["https://e.example.com:443/cb"])
    );
    let batch_id = batch["results"][0]["app"]["clientId"].as_str().unwrap();
    assert_eq!(
        stored_doc(server, batch_id)["redirectUris"],
        json!(["https://e.example.com:443/cb"])
    );
}

#[test]
fn redirect_uris_are_counted_after_duplicates_are_dropped() {
    let server = Server::shared();
    let t = server.tenant();
    let mut uris: Vec<String> = (0..20)
        .map(|i| format!("https://e{i}.example/cb"))
        .collect();
    uris.insert(7, "HTTPS://E3.example/cb".to_owned());
    assert_eq!(uris.len(), 21);
    let res = t.send_json(
        "POST",
        "/connect/v1/apps",
        &json!({ "name": "Twenty-one", "redirectUris": uris }),
    );
    assert_eq!(res.status, 201, "{}", res.text());
    let app: App = res.json();
    assert_eq!(app.redirect_uris.len(), 20);
    assert_eq!(app.redirect_uris[3], "https://e3.example/cb");
    let same = vec!["https://one.example/cb"; 500];
    let res = t.send_json(
        "PUT",
        &format!("/connect/v1/apps/{}/redirect-uris", app.client_id),
        &json!({ "redirectUris": same }),
    );
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.json_value()["redirectUris"],
        json!(["https://one.example/cb"])
    );
    let res = t.batch(
        &json!({ "items": [ { "name": "b", "redirectUris": uris } ] }),
        None,
    );
    assert_eq!(res.status, 201, "{}", res.text());
    // An IPv4 host in range is a host.
    let res = t.send_json(
        "POST",
        "/connect/v1/apps",
        &json!({ "name": "ip", "redirectUris": ["https://1.2.3.4/cb", "https://255.255.255.255:8443/"] }),
    );
    assert_eq!(res.status, 201, "{}", res.text());
}

#[test]
fn minus_zero_is_an_integer() {
    let server = Server::shared();
    let t = server.tenant();
    let res = t
        .request("POST", "/connect/v1/apps")
        .header("Content-Type", "application/json")
        .body(br#"{"name":"zero","webhookConfig":{"retryAttempts":-0}}"#.to_vec())
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json::<App>().webhook_config.retry_attempts, 0);
}

#[test]
fn a_body_refused_for_a_repeated_member_records_no_idempotency_key() {
    let server = Server::shared();
    let t = server.tenant();
    let send = |body: &str| {
        t.request("POST", "/connect/v1/apps")
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", "repeat-then-fix")
            .body(body.as_bytes().to_vec())
            .send()
    };
    let repeated = r#"{"name":"A","name":"B"}"#;
    assert_error(
        &send(repeated),
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("name"),
    );
    let fixed = send(r#"{"name":"B"}"#);
    assert_eq!(fixed.status, 201, "{}", fixed.text());
    assert_eq!(fixed.json::<App>().name, "B");
    // The key now holds {"name":"B"}; the repeat is still refused for what it is, never
    // read as {"name":"B"} and replayed.
    let again = send(repeated);
    assert_error(
        &again,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("name"),
    );
    assert_eq!(again.header("idempotency-replayed"), None);
    assert_eq!(t.total(), 1);
}
