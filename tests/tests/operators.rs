//! The operators' tools (issues 29 and 30), end to end on the real Worker: a leaked key
//! revoked from its text alone and refused on its next request; a workspace's keys listed
//! (never the key or its hash); `GET /admin/v1/health` answering 200 on a deployment set
//! up as `./scripts/dev.sh` sets one up, and 503 naming each problem of one that is not
//! (a shard never migrated, a malformed key ring, a shard unbound, the directory missing,
//! a shard without the latest migration), while the operators' create-workspace refuses
//! an unready shard saying nothing was changed; failed operator logins limited per client
//! address without slowing the right token; and unknown query parameters refused on every
//! route.

use connect_core::rules::api_key::sha256_hex;
use connect_core::rules::idempotency::IdempotencyKey;
use connect_core::server::admin::{ApiKeyList, HealthReport, RevokedApiKey};
use connect_core::wire::error::ErrorCode;
use connect_core::wire::routes::{RouteName, ROUTES};
use connect_e2e::api::{assert_error, assert_not_stored, Tenant};
use connect_e2e::{random_base62, random_hex, Response, Server, ServerConfig};
use serde_json::{json, Value};

/// The schema this Worker is built for: the newest file of `migrations/`.
const LATEST_MIGRATION: &str = "0004_apps_keyed_by_position.sql";

fn admin(server: &Server) -> &str {
    server.var("ADMIN_TOKEN")
}

/// A client address of its own: an IPv6 /64 no other test uses (32 random bits).
fn fresh_address() -> String {
    let r = random_hex(8);
    format!("2001:db8:{}:{}::1", &r[..4], &r[4..])
}

/// `POST /admin/v1/api-keys/revoke` with `{ "key": key }`.
fn revoke_text(server: &Server, key: &str, idempotency_key: Option<&str>) -> Response {
    let mut req = server
        .post("/admin/v1/api-keys/revoke")
        .bearer(admin(server))
        .json(&json!({ "key": key }));
    if let Some(k) = idempotency_key {
        req = req.header("Idempotency-Key", k);
    }
    req.send()
}

fn list_keys(t: &Tenant, query: &str) -> Response {
    t.server
        .get(format!(
            "/admin/v1/workspaces/{}/api-keys{query}",
            t.workspace
        ))
        .bearer(admin(t.server))
        .send()
}

/// A new key of `t`'s workspace: its id and text.
fn add_key(t: &Tenant) -> (String, String) {
    let res = t
        .server
        .post(format!("/admin/v1/workspaces/{}/api-keys", t.workspace))
        .bearer(admin(t.server))
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    let v = res.json_value();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["key"].as_str().unwrap().to_owned(),
    )
}

fn works(server: &Server, key: &str) -> bool {
    let res = server.get("/connect/v1/workspace").bearer(key).send();
    assert!(res.status == 200 || res.status == 401, "{res:?}");
    res.status == 200
}

/// How many of the `Idempotency-Key`s `keys` (fresh random ones) have a claim, in any
/// scope and shard: a request carried out with one left one.
fn claims(server: &Server, keys: &[String]) -> i64 {
    let hashes: Vec<String> = keys
        .iter()
        .map(|k| format!("'{}'", IdempotencyKey::parse(k).unwrap().hash()))
        .collect();
    server.d1_sum(
        &format!(
            "SELECT count(*) AS n FROM idempotency_keys WHERE key_hash IN ({})",
            hashes.join(", ")
        ),
        "n",
    )
}

#[test]
fn a_key_revoked_from_its_text_answers_401_on_its_next_request_and_lists_as_revoked() {
    let server = Server::shared();
    let t = server.tenant();
    let (second_id, second_key) = add_key(&t);
    // Warm: this isolate has just served the key and remembers it.
    assert!(works(server, &t.key));

    let revocation = revoke_text(server, &t.key, Some("leaked-1"));
    assert_eq!(revocation.status, 200, "{}", revocation.text());
    let revoked: RevokedApiKey = revocation.json();
    assert_eq!(revoked.id.as_str(), t.key_id);
    assert_eq!(revoked.workspace_id, t.workspace);
    assert!(revoked.revoked);
    assert_eq!(revocation.header("cache-control"), Some("no-store"));

    // Refused at once, on a read and on a write.
    assert_error(
        &t.get("/connect/v1/workspace"),
        401,
        ErrorCode::AuthInvalidCredentials,
        None,
    );
    let write = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "after" }));
    assert_error(&write, 401, ErrorCode::AuthInvalidCredentials, None);
    assert!(
        works(server, &second_key),
        "the workspace's other key works"
    );

    // The list shows it revoked, at the time the revocation answered; never a key or a
    // hash.
    let res = list_keys(&t, "");
    assert_eq!(res.status, 200, "{}", res.text());
    let list: ApiKeyList = res.json();
    assert_eq!(list.total, 2);
    let ids: Vec<&str> = list.data.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(ids, [t.key_id.as_str(), second_id.as_str()], "oldest first");
    let (first, second) = (&list.data[0], &list.data[1]);
    assert!(first.revoked);
    assert_eq!(first.revoked_at, Some(revoked.revoked_at));
    assert_eq!(first.last4.as_deref(), Some(&t.key[t.key.len() - 4..]));
    assert!(!second.revoked && second.revoked_at.is_none());
    assert_eq!(
        second.last4.as_deref(),
        Some(&second_key[second_key.len() - 4..])
    );
    for key in [&t.key, &second_key] {
        assert!(!res.text().contains(key.as_str()), "a key in the list");
        assert!(
            !res.text().contains(&sha256_hex(key.as_bytes())),
            "a key's hash in the list"
        );
    }
    let v = res.json_value();
    let mut fields: Vec<&String> = v["data"][1].as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(fields, ["createdAt", "id", "last4", "revoked", "revokedAt"]);

    // Idempotent: again, the same answer (the first revocation's time); replayed with
    // its Idempotency-Key, the very same bytes.
    let again = revoke_text(server, &t.key, None);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.body, revocation.body);
    assert_eq!(again.header("idempotency-replayed"), None);
    let replay = revoke_text(server, &t.key, Some("leaked-1"));
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.body, revocation.body);

    // A key this deployment never issued is not found.
    let unknown = revoke_text(
        server,
        &format!("sk_workspace_test_{}", random_base62(32)),
        None,
    );
    assert_error(&unknown, 404, ErrorCode::ResourceNotFound, None);

    // The key is in no stored file (the recorded answer is sealed, the fingerprint a
    // hash) and in no log line.
    assert_not_stored(server, &t.key);
    assert!(!server.log().contains(&t.key), "the key is in the log");
}

#[test]
fn a_revocation_by_text_refuses_what_is_not_a_key_of_this_deployment_naming_key() {
    let server = Server::shared();
    let t = server.tenant();
    let prod = format!("sk_workspace_prod_{}", &t.key["sk_workspace_test_".len()..]);
    let hostile = format!("sk_workspace_test_\u{202e}{}", &t.key[20..]);
    let cases: Vec<(Vec<u8>, ErrorCode, &str)> = vec![
        (b"{}".to_vec(), ErrorCode::ValidationMissingParameter, "key"),
        (
            br#"{"key":null}"#.to_vec(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            br#"{"key":5}"#.to_vec(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            serde_json::to_vec(&json!({ "key": [t.key] })).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            serde_json::to_vec(&json!({ "key": prod })).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            serde_json::to_vec(&json!({ "key": hostile })).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            serde_json::to_vec(&json!({ "key": format!(" {}", t.key) })).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            serde_json::to_vec(&json!({ "key": t.key, "keyId": t.key_id })).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "keyId",
        ),
        (
            format!(r#"{{"key":"sk_workspace_test_x","key":"{}"}}"#, t.key).into_bytes(),
            ErrorCode::ValidationInvalidParameter,
            "key",
        ),
        (
            format!(r#"{{"key":"{}""#, t.key).into_bytes(),
            ErrorCode::ValidationInvalidParameter,
            "body",
        ),
        (
            serde_json::to_vec(&json!([t.key])).unwrap(),
            ErrorCode::ValidationInvalidParameter,
            "body",
        ),
        (Vec::new(), ErrorCode::ValidationMissingParameter, "body"),
    ];
    let mut keys = Vec::new();
    for (body, code, parameter) in cases {
        let idempotency_key = format!("refused-{}", random_hex(8));
        keys.push(idempotency_key.clone());
        let res = server
            .post("/admin/v1/api-keys/revoke")
            .bearer(admin(server))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &idempotency_key)
            .body(body.clone())
            .send();
        let e = assert_error(&res, 400, code, Some(parameter));
        assert!(
            !e.error
                .message
                .contains(&t.key["sk_workspace_test_".len()..]),
            "the refusal repeats the value: {}",
            e.error.message
        );
    }
    assert_eq!(claims(server, &keys), 0, "a refused request was recorded");
    let other = server
        .post("/admin/v1/api-keys/revoke")
        .bearer(admin(server))
        .json(&json!({ "key": prod }))
        .send();
    let e = assert_error(
        &other,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("key"),
    );
    assert!(e.error.message.contains("another deployment"), "{e:?}");
    let declared = server
        .post("/admin/v1/api-keys/revoke")
        .bearer(admin(server))
        .header("Content-Type", "text/plain")
        .body(serde_json::to_vec(&json!({ "key": t.key })).unwrap())
        .send();
    assert_error(
        &declared,
        415,
        ErrorCode::UnsupportedMediaType,
        Some("Content-Type"),
    );
    assert!(works(server, &t.key), "nothing was revoked");
    assert!(!server.log().contains(&t.key), "the key is in the log");
}

#[test]
fn a_workspaces_keys_are_listed_page_by_page_and_older_keys_show_no_last_four() {
    let server = Server::shared();
    let t = server.tenant();
    let added: Vec<(String, String)> = (0..4).map(|_| add_key(&t)).collect();
    let res = list_keys(&t, "?limit=2");
    assert_eq!(res.status, 200, "{}", res.text());
    let page: ApiKeyList = res.json();
    assert_eq!((page.total, page.limit, page.offset), (5, 2, 0));
    let path = format!("/admin/v1/workspaces/{}/api-keys", t.workspace);
    assert_eq!(
        res.header("link"),
        Some(format!("<{path}?limit=2&offset=2>; rel=\"next\"").as_str())
    );
    let mut seen: Vec<String> = page.data.iter().map(|k| k.id.to_string()).collect();
    for offset in [2, 4] {
        let page: ApiKeyList = list_keys(&t, &format!("?limit=2&offset={offset}")).json();
        seen.extend(page.data.iter().map(|k| k.id.to_string()));
    }
    let mut expected = vec![t.key_id.clone()];
    expected.extend(added.iter().map(|(id, _)| id.clone()));
    assert_eq!(seen, expected, "every key once, oldest first");
    let past: ApiKeyList = list_keys(&t, "?offset=10").json();
    assert!(past.data.is_empty() && past.total == 5);

    // HEAD: the GET's status and headers, no body.
    let head = server
        .request("HEAD", format!("{path}?limit=2"))
        .bearer(admin(server))
        .send();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // A key issued before the last four characters were kept (migration 0003) has none.
    server.d1_exec(&format!(
        "UPDATE api_keys SET last4 = NULL WHERE id = '{}'",
        added[0].0
    ));
    let list = list_keys(&t, "?limit=100").json_value();
    assert_eq!(list["data"][1]["id"], added[0].0.as_str());
    assert_eq!(list["data"][1]["last4"], Value::Null);
    assert_eq!(
        list["data"][2]["last4"],
        &added[1].1[added[1].1.len() - 4..]
    );

    // Refusals: a workspace that does not exist (or cannot), a bad page, a body.
    for missing in ["org_doesnotexist", "nope"] {
        let res = server
            .get(format!("/admin/v1/workspaces/{missing}/api-keys"))
            .bearer(admin(server))
            .send();
        assert_error(&res, 404, ErrorCode::ResourceNotFound, None);
    }
    for (query, parameter) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?offset=-1", "offset"),
        ("?limit=2&limit=3", "limit"),
        ("?page=2", "page"),
    ] {
        assert_error(
            &list_keys(&t, query),
            400,
            ErrorCode::ValidationInvalidParameter,
            Some(parameter),
        );
    }
    let with_body = server
        .get(&path)
        .bearer(admin(server))
        .json(&json!({ "limit": 5 }))
        .send();
    assert_error(
        &with_body,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("body"),
    );
}

/// Every operation of the route table with a query parameter it does not take: 400
/// naming it, before anything is done. A new route is covered without editing this test.
#[test]
fn unknown_query_parameters_are_refused_on_every_route() {
    let server = Server::shared();
    let t = server.tenant();
    let app = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "kept" }));
    assert_eq!(app.status, 201, "{}", app.text());
    let client_id = app.json_value()["clientId"].as_str().unwrap().to_owned();
    let (spare_id, spare_key) = add_key(&t);
    let body_of = |name: RouteName| -> Option<Value> {
        match name {
            RouteName::Apps => Some(json!({ "name": "made anyway" })),
            RouteName::AppsBatch => Some(json!({ "items": [{ "name": "made anyway" }] })),
            RouteName::App => Some(json!({ "name": "renamed anyway" })),
            RouteName::RedirectUris => Some(json!({ "redirectUris": ["https://a.example/cb"] })),
            RouteName::WebhookConfig => Some(json!({ "retryAttempts": 7 })),
            RouteName::AdminApiKeysRevoke => Some(json!({ "key": spare_key })),
            _ => None,
        }
    };
    let before = t.get(&format!("/connect/v1/apps/{client_id}")).body;
    let mut keys = Vec::new();
    let mut checked = 0;
    for route in ROUTES {
        let path = route
            .path
            .replace("{clientId}", &client_id)
            .replace("{workspaceId}", t.workspace.as_str())
            .replace("{keyId}", &spare_id);
        for method in route.methods {
            let unknown: Vec<&str> = ["x", "limit", "Limit", "offset"]
                .into_iter()
                .filter(|q| !route.query_parameters(method).contains(q))
                .collect();
            for name in unknown {
                let idempotency_key = format!("query-{}", random_hex(8));
                let mut req = server.request(*method, format!("{path}?{name}=1"));
                req = if route.is_admin() {
                    req.bearer(admin(server))
                } else {
                    req.bearer(&t.key)
                };
                if *method == "POST" {
                    req = req.header("Idempotency-Key", &idempotency_key);
                    keys.push(idempotency_key);
                }
                let takes_body = matches!(*method, "POST" | "PUT" | "PATCH");
                if let Some(body) = body_of(route.name).filter(|_| takes_body) {
                    req = req.json(&body);
                }
                let res = req.send();
                if *method == "HEAD" {
                    assert_eq!(res.status, 400, "HEAD {path}?{name}=1");
                    assert!(res.body.is_empty());
                } else {
                    let e =
                        assert_error(&res, 400, ErrorCode::ValidationInvalidParameter, Some(name));
                    assert!(
                        e.error.message.contains("is not a known query parameter"),
                        "{method} {path}: {}",
                        e.error.message
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 80, "{checked} requests");
    assert_eq!(claims(server, &keys), 0, "a refused POST was carried out");
    // The issue's own case, and a nameless parameter.
    let shards = server
        .get("/admin/v1/shards?x=1")
        .bearer(admin(server))
        .send();
    assert_error(
        &shards,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("x"),
    );
    let nameless = t.get("/connect/v1/apps?=1");
    assert_error(
        &nameless,
        400,
        ErrorCode::ValidationInvalidParameter,
        Some("query"),
    );
    // Nothing happened: the app is as it was, one app, both keys live; and the lists
    // still take their own parameters.
    assert_eq!(t.get(&format!("/connect/v1/apps/{client_id}")).body, before);
    assert_eq!(t.total(), 1);
    assert!(works(server, &spare_key) && works(server, &t.key));
    assert_eq!(t.get("/connect/v1/apps?limit=1&offset=0").status, 200);
    assert_eq!(list_keys(&t, "?limit=1&offset=1").status, 200);
}

#[test]
fn a_burst_of_wrong_admin_tokens_meets_429_while_the_right_token_keeps_working() {
    let server = Server::shared();
    let right = admin(server).to_owned();
    let from = |address: &str, token: Option<&str>| -> Response {
        let mut req = server
            .get("/admin/v1/shards")
            .header("CF-Connecting-IP", address);
        if let Some(token) = token {
            req = req.header("Authorization", token);
        }
        req.send()
    };

    // Each refusal names the admin token.
    for token in [
        None,
        Some("Basic b3BlcmF0b3I6cGFzc3dvcmQ="),
        Some("Bearer wrong-token"),
        Some("Bearer sk_workspace_test_aaaaaaaaaaaaaaaaaaaa"),
    ] {
        let res = from(&fresh_address(), token);
        let e = assert_error(&res, 401, ErrorCode::AuthInvalidCredentials, None);
        assert!(e.error.message.contains("ADMIN_TOKEN"), "{token:?}: {e:?}");
    }

    // A burst of wrong tokens from one address, with the right token from the same
    // address among them.
    let attacker = fresh_address();
    let bearer_right = format!("Bearer {right}");
    let (wrong, rightful): (Vec<Response>, Vec<Response>) = std::thread::scope(|s| {
        let wrong: Vec<_> = (0..6)
            .map(|i| {
                let attacker = &attacker;
                s.spawn(move || {
                    (0..20)
                        .map(|j| from(attacker, Some(&format!("Bearer guess-{i}-{j}"))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let rightful = s.spawn(|| {
            (0..15)
                .map(|_| from(&attacker, Some(&bearer_right)))
                .collect::<Vec<_>>()
        });
        (
            wrong.into_iter().flat_map(|h| h.join().unwrap()).collect(),
            rightful.join().unwrap(),
        )
    });
    for res in &rightful {
        assert_eq!(res.status, 200, "the right token was refused: {res:?}");
    }
    let limited: Vec<&Response> = wrong.iter().filter(|r| r.status == 429).collect();
    assert!(
        limited.len() >= 100,
        "120 wrong tokens within seconds met {} refusals of 429",
        limited.len()
    );
    for res in &wrong {
        if res.status == 401 {
            assert_error(res, 401, ErrorCode::AuthInvalidCredentials, None);
        } else {
            let e = assert_error(res, 429, ErrorCode::RateLimited, None);
            assert_eq!(res.header("retry-after"), Some("60"));
            assert!(e.error.message.contains("ADMIN_TOKEN"), "{e:?}");
        }
    }

    // Past the limit: the right token still works from that address, an address of the
    // same /64 is limited too (within at most one more limit's worth of failures, should
    // a new period have begun), and another address is not.
    assert_eq!(from(&attacker, Some(&bearer_right)).status, 200);
    let neighbour = attacker.replace("::1", "::2");
    let limited_neighbour = (0..12).any(|_| from(&neighbour, Some("Bearer guess")).status == 429);
    assert!(limited_neighbour, "{neighbour} is in {attacker}'s /64");
    let bystander = from(&fresh_address(), Some("Bearer guess"));
    assert_error(&bystander, 401, ErrorCode::AuthInvalidCredentials, None);

    // The right token works on every route of the admin API meanwhile.
    let res = server
        .post("/admin/v1/workspaces")
        .bearer(&right)
        .header("CF-Connecting-IP", &attacker)
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
}

#[test]
fn health_answers_200_on_a_deployment_set_up_as_dev_sh_does() {
    // The project's wrangler.toml, both local shards migrated, a well-formed ring: what
    // ./scripts/dev.sh serves.
    let server = Server::shared();
    let res = server.get("/admin/v1/health").bearer(admin(server)).send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let report: HealthReport = res.json();
    assert!(report.ready && report.problems.is_empty(), "{report:?}");
    assert_eq!(report.latest_migration, LATEST_MIGRATION);
    let head = server
        .request("HEAD", "/admin/v1/health")
        .bearer(admin(server))
        .send();
    assert_eq!((head.status, head.body.len()), (200, 0));
    let anonymous = server.get("/admin/v1/health").send();
    assert_error(&anonymous, 401, ErrorCode::AuthInvalidCredentials, None);
}

/// The report of `server`'s health: its status and each problem as `component: message`.
fn health(server: &Server) -> (u16, Vec<String>, String) {
    let res = server.get("/admin/v1/health").bearer(admin(server)).send();
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let report: HealthReport = res.json();
    assert_eq!(report.ready, res.status == 200, "{}", res.text());
    assert_eq!(report.latest_migration, LATEST_MIGRATION);
    let problems = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.component, p.message))
        .collect();
    (res.status, problems, res.text())
}

fn create_workspace(server: &Server) -> Response {
    server
        .post("/admin/v1/workspaces")
        .bearer(admin(server))
        .send()
}

/// A create-workspace refused because the deployment is not ready: a 500 that names the
/// shard and says nothing was changed.
fn assert_refused_not_ready(res: &Response, shard: &str) {
    let e = assert_error(res, 500, ErrorCode::SystemInternalError, None);
    let m = &e.error.message;
    assert!(
        m.contains("not ready") && m.contains(shard) && m.contains("Nothing was changed"),
        "{m}"
    );
    assert!(!m.contains("may or may not"), "{m}");
}

#[test]
fn health_names_each_problem_and_create_workspace_refuses_a_shard_that_is_not_ready() {
    // The second shard left unmigrated, and a key ring whose second entry is a bare key.
    let (hex_a, hex_b) = (random_hex(64), random_hex(64));
    let mut cfg = ServerConfig::project().with_var("SECRETS_KEYS", format!("a:{hex_a},{hex_b}"));
    cfg.d1_names = vec!["connect".into()];
    let mut server = Server::start(cfg);
    let workspaces = |server: &Server| -> Value {
        json!([
            server.d1_in("connect", "SELECT count(*) AS n FROM workspaces"),
            server.d1_in("connect", "SELECT count(*) AS n FROM directory_workspaces"),
        ])
    };
    let none = workspaces(&server);

    let (status, problems, text) = health(&server);
    assert_eq!(status, 503, "{text}");
    assert_eq!(
        problems,
        [
            "SECRETS_KEYS: entry 2 of the key ring is not kid:64hex",
            "SHARD_2: is not migrated: no migration was ever applied to its database (wrangler d1 migrations apply)",
        ],
        "{text}"
    );
    for hex in [&hex_a, &hex_b] {
        assert!(!text.contains(&hex[..16]), "key material in {text}");
        assert!(
            !server.log().contains(&hex[..16]),
            "key material in the log"
        );
    }
    // Refused before anything is written: without a key nothing is sealed, so it is the
    // shard; with one, the ring that would seal its answer.
    assert_refused_not_ready(&create_workspace(&server), "SHARD_2");
    let keyed = server
        .post("/admin/v1/workspaces")
        .bearer(admin(&server))
        .header("Idempotency-Key", "first")
        .send();
    let e = assert_error(&keyed, 500, ErrorCode::SystemInternalError, None);
    assert!(e.error.message.contains("nothing was changed"), "{e:?}");
    assert_eq!(workspaces(&server), none);

    // The ring mended: the shard alone.
    server.restart_with_var("SECRETS_KEYS", &format!("a:{hex_a}"));
    let (status, problems, _) = health(&server);
    assert_eq!(status, 503);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("SHARD_2: is not migrated"));
    assert_refused_not_ready(&create_workspace(&server), "SHARD_2");
    assert_eq!(workspaces(&server), none);

    // The unmigrated shard first in SHARDS (so the directory is missing), and a third
    // shard bound to nothing.
    server.restart_with_var("SHARDS", "SHARD_2,SHARD_1,SHARD_3");
    let (status, problems, text) = health(&server);
    assert_eq!(status, 503, "{text}");
    let components: Vec<&str> = problems
        .iter()
        .map(|p| p.split(':').next().unwrap())
        .collect();
    assert_eq!(
        components,
        ["SHARD_2", "SHARD_3", "directory"],
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("no D1 database is bound"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2]
            .contains("is missing: SHARD_2, the first shard of SHARDS, has no directory tables"),
        "{}",
        problems[2]
    );
    assert_refused_not_ready(&create_workspace(&server), "SHARD_");

    // Migrated and configured as the project is: ready, and workspaces are made.
    server.d1_migrate("connect-2");
    server.restart_with_var("SHARDS", "SHARD_1,SHARD_2");
    let (status, problems, text) = health(&server);
    assert_eq!((status, problems.len()), (200, 0), "{text}");
    let made = create_workspace(&server);
    assert_eq!(made.status, 201, "{}", made.text());
    let key = made.json_value()["apiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(works(&server, &key));

    // Shards whose latest migration is undone (as after deploying a Worker with a new
    // migration that was not applied to them): each named by the migration it lacks, and
    // a new workspace refused, since the smallest shard lacks it (which shard is the
    // smaller is core's `place`, unit-tested).
    for database in ["connect", "connect-2"] {
        server.d1_in(
            database,
            &format!("DELETE FROM d1_migrations WHERE name = '{LATEST_MIGRATION}'"),
        );
    }
    let (status, problems, _) = health(&server);
    assert_eq!(status, 503);
    let behind = |shard: &str| {
        format!(
            "{shard}: is not migrated to the latest schema: {LATEST_MIGRATION} not applied (wrangler d1 migrations apply)"
        )
    };
    assert_eq!(problems, [behind("SHARD_1"), behind("SHARD_2")]);
    let before = (
        workspaces(&server),
        server.d1_in("connect-2", "SELECT count(*) AS n FROM workspaces"),
    );
    let refused = create_workspace(&server);
    assert_refused_not_ready(&refused, "SHARD_");
    assert!(refused.text().contains("not migrated to the latest schema"));
    let after = (
        workspaces(&server),
        server.d1_in("connect-2", "SELECT count(*) AS n FROM workspaces"),
    );
    assert_eq!(after, before, "nothing was changed");
}
