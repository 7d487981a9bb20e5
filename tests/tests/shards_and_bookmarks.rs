//! Served from everywhere (issue 21), on a server of its own with the project's two local
//! shards: workspaces in both, each shard holding only its own workspaces' rows; every
//! route's tenant isolation across shards; idempotency, counts and lists per workspace; the
//! operators' shard report adding up; revocation and new keys in the right shard; and
//! `X-Connect-Bookmark`: on every answer, a read that sends back a write's bookmark sees the
//! write, a malformed one is a 400 naming the header.

use connect_core::wire::error::ErrorCode;
use connect_core::wire::ids::ClientId;
use connect_core::wire::response::Shards;
use connect_e2e::api::{assert_error, d1_costs, Tenant};
use connect_e2e::{random_hex, Response, Server, ServerConfig};
use serde_json::{json, Value};

const HEADER: &str = "x-connect-bookmark";

/// The shard the directory places `t`'s workspace in.
fn shard_of(t: &Tenant) -> String {
    let rows = t.server.d1_in(
        "connect",
        &format!(
            "SELECT shard FROM directory_workspaces WHERE workspace_id = '{}'",
            t.workspace
        ),
    );
    rows[0]["shard"].as_str().expect("a shard").to_owned()
}

fn report(server: &Server) -> Shards {
    let res = server
        .get("/admin/v1/shards")
        .bearer(server.var("ADMIN_TOKEN"))
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn batch(t: &Tenant, prefix: &str, n: usize, key: Option<&str>) -> Response {
    let items: Vec<Value> = (0..n)
        .map(|i| json!({ "name": format!("{prefix} {i}"), "idempotencyKey": format!("{prefix}-{i}") }))
        .collect();
    let res = t.batch(&json!({ "items": items }), key);
    assert_eq!(res.status, 201, "{}", res.text());
    res
}

fn client_ids(res: &Response) -> Vec<String> {
    res.json_value()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["app"]["clientId"].as_str().unwrap().to_owned())
        .collect()
}

/// The bookmark of `res`, checked to be `shard:` and D1's 8-8-8-32 hex digits.
fn bookmark(res: &Response, shard: &str) -> String {
    let b = res
        .header(HEADER)
        .unwrap_or_else(|| panic!("no {HEADER} on {} {}", res.status, res.text()))
        .to_owned();
    let d1 = b
        .strip_prefix(&format!("{shard}:"))
        .unwrap_or_else(|| panic!("{b} is not of {shard}"));
    let groups: Vec<usize> = d1.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 8, 8, 32], "{b}");
    assert!(
        d1.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()),
        "{b}"
    );
    b
}

#[test]
fn workspaces_live_in_both_shards_apart_and_the_report_adds_up() {
    let server = &Server::start(ServerConfig::project());
    let admin = server.var("ADMIN_TOKEN");

    // Two empty shards: the first new workspace goes to the first. Its 200 apps make that
    // database the bigger one, so the next workspace goes to the other.
    let before = report(server);
    assert_eq!(before.shards.len(), 2);
    assert!(before.shards[0].takes_new_workspaces, "{before:?}");
    let a = server.tenant();
    assert_eq!(shard_of(&a), "SHARD_1");
    let a_ids: Vec<String> = [batch(&a, "A", 100, None), batch(&a, "A2", 100, None)]
        .iter()
        .flat_map(client_ids)
        .collect();
    let middle = report(server);
    assert!(
        middle.shards[1].takes_new_workspaces && middle.shards[0].bytes > middle.shards[1].bytes,
        "{middle:?}"
    );
    let b = server.tenant();
    assert_eq!(shard_of(&b), "SHARD_2");
    let b_ids = client_ids(&batch(&b, "B", 3, None));

    // Each shard mints client ids of its own class, its place in SHARDS: no id one mints
    // can ever be minted by the other.
    let class = |id: &String| ClientId::parse(id).unwrap().class().number();
    assert!(a_ids.iter().all(|id| class(id) == 0), "{a_ids:?}");
    assert!(b_ids.iter().all(|id| class(id) == 1), "{b_ids:?}");

    // Each shard holds its own workspaces' rows and nothing of the other's.
    let apps_in = |database: &str, t: &Tenant| -> i64 {
        let rows = server.d1_in(
            database,
            &format!(
                "SELECT count(*) AS n FROM apps WHERE workspace_id = '{}'",
                t.workspace
            ),
        );
        rows[0]["n"].as_i64().unwrap()
    };
    assert_eq!((apps_in("connect", &a), apps_in("connect-2", &a)), (200, 0));
    assert_eq!((apps_in("connect", &b), apps_in("connect-2", &b)), (0, 3));
    let key_rows = server.d1_in(
        "connect-2",
        &format!(
            "SELECT id FROM api_keys WHERE workspace_id = '{}'",
            b.workspace
        ),
    );
    assert_eq!(key_rows.len(), 1, "B's key is in B's shard");

    // Every route on an app of the other shard's workspace is a 404, both ways, and
    // changes nothing.
    let routes: [(&str, &str, Option<Value>); 9] = [
        ("GET", "", None),
        ("PATCH", "", Some(json!({ "name": "taken over" }))),
        ("POST", "/rotate-client-secret", None),
        ("GET", "/redirect-uris", None),
        (
            "PUT",
            "/redirect-uris",
            Some(json!({ "redirectUris": ["https://evil.example/cb"] })),
        ),
        ("GET", "/webhook-config", None),
        (
            "PATCH",
            "/webhook-config",
            Some(json!({ "url": "https://evil.example/hook", "enabled": true })),
        ),
        ("POST", "/webhook-config/rotate-secret", None),
        ("DELETE", "", None),
    ];
    for (intruder, victim_app) in [(&b, &a_ids[0]), (&a, &b_ids[0])] {
        let path = format!("/connect/v1/apps/{victim_app}");
        let before = server.d1(&format!(
            "SELECT version, doc FROM apps WHERE client_id = '{victim_app}'"
        ));
        for (method, tail, body) in &routes {
            let mut req = intruder.request(method, &format!("{path}{tail}"));
            if let Some(body) = body {
                req = req.json(body);
            }
            let res = req.send();
            assert_error(&res, 404, ErrorCode::ResourceNotFound, None);
        }
        let after = server.d1(&format!(
            "SELECT version, doc FROM apps WHERE client_id = '{victim_app}'"
        ));
        assert_eq!(
            before, after,
            "{victim_app} was changed from the other shard"
        );
    }
    assert_eq!((a.total(), b.total()), (200, 3));

    // The lists: each workspace's own apps, in creation order.
    let listed = |t: &Tenant| -> Vec<String> {
        let res = t.get("/connect/v1/apps?limit=100&offset=0");
        assert_eq!(res.status, 200, "{}", res.text());
        res.json_value()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|app| app["clientId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed(&a), a_ids[..100]);
    assert_eq!(listed(&b), b_ids);

    // Idempotency per workspace: one key in both workspaces is two requests.
    let key = format!("shared-{}", random_hex(8));
    let a_first = batch(&a, "Same", 1, Some(&key));
    let b_first = batch(&b, "Same", 1, Some(&key));
    assert_ne!(client_ids(&a_first), client_ids(&b_first));
    let b_again = batch(&b, "Same", 1, Some(&key));
    assert_eq!(b_again.header("idempotency-replayed"), Some("true"));
    assert_eq!(b_again.body, b_first.body);
    assert_eq!((a.total(), b.total()), (201, 4));

    // The report: the directory's workspaces, every shard's apps and bytes, adding up.
    let after = report(server);
    let total_workspaces = server.d1_sum("SELECT count(*) AS n FROM workspaces", "n");
    let listed_workspaces = server
        .d1_in("connect", "SELECT count(*) AS n FROM directory_workspaces")[0]["n"]
        .as_i64()
        .unwrap();
    assert_eq!(total_workspaces, listed_workspaces);
    let [s1, s2] = &after.shards[..] else {
        panic!("{after:?}")
    };
    assert_eq!((s1.name.as_str(), s2.name.as_str()), ("SHARD_1", "SHARD_2"));
    assert_eq!((s1.apps, s2.apps), (201, 4), "{after:?}");
    assert_eq!((s1.workspaces, s2.workspaces), (1, 1), "{after:?}");
    assert_eq!(after.total.workspaces, s1.workspaces + s2.workspaces);
    assert_eq!(after.total.workspaces as i64, listed_workspaces);
    assert_eq!(after.total.apps, 205);
    assert_eq!(after.total.bytes, s1.bytes + s2.bytes);
    assert!(s1.bytes > 0 && s2.bytes > 0);
    assert_eq!(
        after
            .shards
            .iter()
            .filter(|s| s.takes_new_workspaces)
            .count(),
        1
    );

    // Keys: a new key of B is made in B's shard; revoking B's first key (in the second
    // shard, through the directory) refuses it at once, and the new one still works.
    let res = server
        .post(format!("/admin/v1/workspaces/{}/api-keys", b.workspace))
        .bearer(admin)
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    let second_key = res.json_value()["key"].as_str().unwrap().to_owned();
    let key_rows = server.d1_in(
        "connect-2",
        &format!(
            "SELECT id FROM api_keys WHERE workspace_id = '{}'",
            b.workspace
        ),
    );
    assert_eq!(key_rows.len(), 2);
    let res = server
        .request("DELETE", format!("/admin/v1/api-keys/{}", b.key_id))
        .bearer(admin)
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_error(
        &b.get("/connect/v1/apps?limit=1"),
        401,
        ErrorCode::AuthInvalidCredentials,
        None,
    );
    let res = server
        .get("/connect/v1/apps?limit=1")
        .bearer(&second_key)
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json_value()["total"], 4);
    assert_eq!(a.total(), 201, "A's key, in the other shard, still works");

    // A single create mints in its shard's class too.
    for (key, expected) in [(&a.key, 0), (&second_key, 1)] {
        let res = server
            .post("/connect/v1/apps")
            .bearer(key)
            .json(&json!({ "name": "Single" }))
            .send();
        assert_eq!(res.status, 201, "{}", res.text());
        let id = res.json_value()["clientId"].as_str().unwrap().to_owned();
        assert_eq!(class(&id), expected, "{id}");
    }
}

#[test]
fn a_read_that_sends_a_writes_bookmark_sees_the_write() {
    let server = Server::shared();
    let t = server.tenant();
    let shard = shard_of(&t);

    // Every answer after the key is known carries the bookmark: a read, a write, a 404.
    let first = t.get("/connect/v1/workspace");
    assert_eq!(first.status, 200);
    let read_mark = bookmark(&first, &shard);
    let created = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "Fresh" }));
    assert_eq!(created.status, 201, "{}", created.text());
    let write_mark = bookmark(&created, &shard);
    let id = created.json_value()["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    // D1's bookmarks are ordered: the write's is no older than the read before it.
    assert!(
        write_mark.split_once(':').unwrap().1 >= read_mark.split_once(':').unwrap().1,
        "{read_mark} then {write_mark}"
    );
    let missing = t.get("/connect/v1/apps/AAAAAAAA");
    assert_error(&missing, 404, ErrorCode::ResourceNotFound, None);
    bookmark(&missing, &shard);

    // Sent back, it is honoured: the read sees the write, and its own bookmark is at
    // least as recent.
    for path in [
        format!("/connect/v1/apps/{id}"),
        "/connect/v1/apps?limit=100".to_owned(),
        "/connect/v1/workspace".to_owned(),
    ] {
        let res = t.request("GET", &path).header(HEADER, &write_mark).send();
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        assert!(
            res.text().contains(&id) || res.json_value()["apps_count"] == 1,
            "{path} does not show the write: {}",
            res.text()
        );
        let mark = bookmark(&res, &shard);
        assert!(
            mark.split_once(':').unwrap().1 >= write_mark.split_once(':').unwrap().1,
            "{path}: sent {write_mark}, answered {mark}"
        );
    }

    // A bookmark of another shard is well formed but says nothing about this one: the
    // request is served, with this shard's bookmark.
    let other = if shard == "SHARD_1" {
        "SHARD_2"
    } else {
        "SHARD_1"
    };
    let foreign = format!("{other}:{}", write_mark.split_once(':').unwrap().1);
    let res = t
        .request("GET", &format!("/connect/v1/apps/{id}"))
        .header(HEADER, &foreign)
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    bookmark(&res, &shard);

    // An empty one is none (a script sending its last bookmark before it has one).
    let res = t
        .request("GET", &format!("/connect/v1/apps/{id}"))
        .header(HEADER, "")
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    bookmark(&res, &shard);

    // Malformed: a 400 naming the header, on a read and on a write, which writes nothing.
    for bad in [
        "garbage",
        "first-primary",
        write_mark.split_once(':').unwrap().1,
        &format!("{shard}:00000000-00000003-00000000"),
        &format!("{shard}:zzzzzzzz-00000003-00000000-00000000000000000000000000000000"),
        &format!("no such:{}", write_mark.split_once(':').unwrap().1),
    ] {
        let read = t
            .request("GET", "/connect/v1/apps?limit=1")
            .header(HEADER, bad)
            .send();
        assert_error(
            &read,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("X-Connect-Bookmark"),
        );
        let write = t
            .request("POST", "/connect/v1/apps")
            .header(HEADER, bad)
            .json(&json!({ "name": "Not made" }))
            .send();
        assert_error(
            &write,
            400,
            ErrorCode::ValidationInvalidParameter,
            Some("X-Connect-Bookmark"),
        );
    }
    assert_eq!(t.total(), 1, "a refused write made nothing");
}

#[test]
fn a_warm_key_costs_one_round_trip_in_either_shard() {
    let server = &Server::start(ServerConfig::project());
    // The first workspace goes to the first shard; its apps tip new ones to the second.
    let a = server.tenant();
    batch(&a, "Weight", 100, None);
    batch(&a, "Weight2", 100, None);
    let b = server.tenant();
    assert_eq!(
        (shard_of(&a), shard_of(&b)),
        ("SHARD_1".into(), "SHARD_2".into())
    );
    let cold = b.get("/connect/v1/apps?limit=10");
    assert_eq!(
        d1_costs(&cold).round_trips,
        2,
        "the directory, then the shard"
    );
    for t in [&a, &b] {
        let res = batch(t, "Warm", 100, Some(&format!("rt-{}", random_hex(8))));
        assert_eq!(d1_costs(&res).round_trips, 1, "a batch of 100");
        let id = &client_ids(&res)[0];
        let res = t.get("/connect/v1/apps?limit=100&offset=50");
        assert_eq!(res.status, 200);
        assert_eq!(d1_costs(&res).round_trips, 1, "a list page");
        let res = t.get(&format!("/connect/v1/apps/{id}"));
        assert_eq!(res.status, 200);
        assert_eq!(d1_costs(&res).round_trips, 1, "a read");
    }
}
