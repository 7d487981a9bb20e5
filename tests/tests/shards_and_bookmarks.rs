//! Served from everywhere (issue 21), on a server of its own with the project's two local
//! shards: workspaces in both, each shard holding only its own workspaces' rows; every
//! route's tenant isolation across shards; idempotency, counts and lists per workspace; the
//! operators' shard report adding up; revocation and new keys in the right shard; and
//! `X-Connect-Bookmark` (issue 30): on every answer to a live key, a read that sends back a
//! write's bookmark sees the write; only bookmarks this API sent to the workspace are
//! taken (a made-up, altered, malformed or another workspace's one is a 400 naming the
//! header, on a write too, which then writes nothing); and a bookmark outlives a rotation
//! of the secrets key ring while its key is in the ring.

use connect_core::server::admin::Shards;
use connect_core::wire::error::ErrorCode;
use connect_core::wire::ids::ClientId;
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

/// A bookmark as the API sends it: `<shard>:<D1 bookmark>:<key id>.<tag>`.
struct Parts<'a> {
    shard: &'a str,
    d1: &'a str,
    key_id: &'a str,
    tag: &'a str,
}

/// The parts of bookmark `b`, checked: D1's 8-8-8-32 hex digits, a key id and a tag of
/// 32 lowercase hex digits.
fn parts(b: &str) -> Parts<'_> {
    let [shard, d1, signature] = b.split(':').collect::<Vec<_>>()[..] else {
        panic!("{b} is not shard:d1:kid.tag")
    };
    let (key_id, tag) = signature.split_once('.').expect("kid.tag");
    let groups: Vec<usize> = d1.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 8, 8, 32], "{b}");
    assert!(
        d1.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()),
        "{b}"
    );
    assert!(!key_id.is_empty(), "{b}");
    assert!(
        tag.len() == 32 && tag.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "{b}"
    );
    Parts {
        shard,
        d1,
        key_id,
        tag,
    }
}

/// The bookmark of `res`, checked to be of `shard` and of the form the API sends.
fn bookmark(res: &Response, shard: &str) -> String {
    let b = res
        .header(HEADER)
        .unwrap_or_else(|| panic!("no {HEADER} on {} {}", res.status, res.text()))
        .to_owned();
    assert_eq!(parts(&b).shard, shard, "{b} is not of {shard}");
    b
}

/// `b` with the character at byte `at` replaced by another of its kind (a hex digit by
/// another, a letter by another).
fn altered(b: &str, at: usize) -> String {
    let mut bytes = b.as_bytes().to_vec();
    bytes[at] = match bytes[at] {
        b'0' => b'1',
        b'f' => b'e',
        b'z' => b'y',
        c if c.is_ascii_alphanumeric() => c + 1,
        c => panic!("{:?} at {at} of {b} is not a letter or digit", c as char),
    };
    String::from_utf8(bytes).unwrap()
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
    // A replay and a conflict carry a bookmark too, as every answer to a live key does.
    bookmark(&b_again, "SHARD_2");
    let conflict = b.batch(&json!({ "items": [ { "name": "Other" } ] }), Some(&key));
    assert_error(&conflict, 409, ErrorCode::IdempotencyKeyConflict, None);
    bookmark(&conflict, "SHARD_2");
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
    let revoked = b.get("/connect/v1/apps?limit=1");
    assert_error(&revoked, 401, ErrorCode::AuthInvalidCredentials, None);
    assert_eq!(
        revoked.header(HEADER),
        None,
        "a revoked key learns no bookmark"
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
        parts(&write_mark).d1 >= parts(&read_mark).d1,
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
            parts(&mark).d1 >= parts(&write_mark).d1,
            "{path}: sent {write_mark}, answered {mark}"
        );
    }

    // An empty one is none (a script sending its last bookmark before it has one).
    let res = t
        .request("GET", &format!("/connect/v1/apps/{id}"))
        .header(HEADER, "")
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    bookmark(&res, &shard);

    // Malformed: a 400 naming the header, on a read and on a write, which writes nothing.
    let d1 = parts(&write_mark).d1;
    for bad in [
        "garbage",
        "first-primary",
        d1,
        &format!("{shard}:{d1}"),
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
        // The refusals carry a bookmark of their own, as every answer to a live key does.
        bookmark(&read, &shard);
        bookmark(&write, &shard);
    }
    assert_eq!(t.total(), 1, "a refused write made nothing");
}

/// What a workspace holds in its shard (its apps with their versions and documents, its
/// idempotency claims, its count) and every KV entry: equal before and after means that
/// nothing was written.
fn stored_state(t: &Tenant) -> (Vec<Value>, Vec<String>) {
    let ws = &t.workspace;
    let rows = t.server.d1(&format!(
        "SELECT (SELECT json_group_array(client_id || ' ' || version || ' ' || doc) FROM apps WHERE workspace_id = '{ws}') AS apps, \
                (SELECT json_group_array(key_hash || ' ' || fingerprint) FROM idempotency_keys WHERE scope = '{ws}') AS claims, \
                (SELECT apps_count FROM workspaces WHERE id = '{ws}') AS apps_count"
    ));
    let mut kv = t.server.kv_keys();
    kv.sort();
    (rows, kv)
}

#[test]
fn only_bookmarks_this_api_sent_to_the_workspace_are_taken() {
    // Many refusals in a row from one key: the limiter is not what this tests.
    let server = &Server::start(ServerConfig::project().with_rate_limit_lifted());
    // The first workspace goes to the first shard; its apps tip the next two to the second.
    let a = server.tenant();
    batch(&a, "Weight", 100, None);
    batch(&a, "Weight2", 100, None);
    let b = server.tenant();
    let c = server.tenant();
    assert_eq!(
        (shard_of(&a), shard_of(&b), shard_of(&c)),
        ("SHARD_1".into(), "SHARD_2".into(), "SHARD_2".into())
    );
    let created = b.send_json("POST", "/connect/v1/apps", &json!({ "name": "Kept" }));
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json_value()["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mark = bookmark(&created, "SHARD_2");
    let p = parts(&mark);
    let a_mark = bookmark(&a.get("/connect/v1/workspace"), "SHARD_1");
    let c_mark = bookmark(&c.get("/connect/v1/workspace"), "SHARD_2");
    // Where each part of `mark` starts.
    let d1_at = p.shard.len() + 1;
    let kid_at = d1_at + p.d1.len() + 1;
    let tag_at = kid_at + p.key_id.len() + 1;
    let ones = "f".repeat(32);

    let refused: Vec<(&str, String)> = vec![
        // The issue's: a D1 bookmark of the right shape, made up, as the API sent them before.
        (
            "made up, untagged",
            format!("SHARD_2:ffffffff-ffffffff-ffffffff-{ones}"),
        ),
        (
            "made up, tagged",
            format!(
                "SHARD_2:ffffffff-ffffffff-ffffffff-{ones}:{}.{}",
                p.key_id, p.tag
            ),
        ),
        (
            "a tag of zeros",
            format!("{}:{}:{}.{}", p.shard, p.d1, p.key_id, "0".repeat(32)),
        ),
        ("the D1 bookmark altered", altered(&mark, d1_at + 7)),
        (
            "the D1 bookmark altered at its end",
            altered(&mark, kid_at - 2),
        ),
        ("the tag altered", altered(&mark, tag_at)),
        ("the tag altered at its end", altered(&mark, mark.len() - 1)),
        ("the key id altered", altered(&mark, kid_at)),
        ("the shard altered", mark.replacen("SHARD_2", "SHARD_1", 1)),
        ("the tag cut", mark[..mark.len() - 1].to_owned()),
        (
            "the tag in capitals",
            format!("{}{}", &mark[..tag_at], p.tag.to_uppercase()),
        ),
        ("another workspace's, of the same shard", c_mark.clone()),
        ("another workspace's, of another shard", a_mark.clone()),
        ("untagged", format!("{}:{}", p.shard, p.d1)),
        ("two bookmarks", format!("{mark}, {mark}")),
        ("garbage", "garbage".to_owned()),
    ];

    let before = stored_state(&b);
    let version = |server: &Server| {
        server.d1(&format!(
            "SELECT version FROM apps WHERE client_id = '{id}'"
        ))[0]["version"]
            .clone()
    };
    let version_before = version(server);
    for (i, (what, bad)) in refused.iter().enumerate() {
        let path = format!("/connect/v1/apps/{id}");
        let requests = [
            b.request("GET", "/connect/v1/apps?limit=1"),
            b.request("GET", &path),
            b.request("HEAD", &path),
            b.request("POST", "/connect/v1/apps")
                .header("Idempotency-Key", format!("refused-{i}"))
                .json(&json!({ "name": "Not made" })),
            b.request("PATCH", &path)
                .json(&json!({ "name": "Not renamed" })),
            b.request("DELETE", &path),
            b.request("POST", &format!("{path}/rotate-client-secret")),
        ];
        for req in requests {
            let res = req.header(HEADER, bad).send();
            assert_eq!(res.status, 400, "{what} ({bad}): {}", res.text());
            if !res.body.is_empty() {
                let e = assert_error(
                    &res,
                    400,
                    ErrorCode::ValidationInvalidParameter,
                    Some("X-Connect-Bookmark"),
                );
                assert!(
                    e.error.message.starts_with("X-Connect-Bookmark "),
                    "{}",
                    e.error.message
                );
            }
            // The refusal carries a bookmark of the workspace's own, and it works.
            let good = bookmark(&res, "SHARD_2");
            let again = b.request("GET", &path).header(HEADER, &good).send();
            assert_eq!(
                again.status,
                200,
                "{what}: {good} was refused: {}",
                again.text()
            );
        }
    }
    assert_eq!(
        stored_state(&b),
        before,
        "a refused request wrote something"
    );
    assert_eq!(version(server), version_before);

    // A key refused with a bad bookmark was not recorded: it is free for its request.
    let res = b
        .request("POST", "/connect/v1/apps")
        .header("Idempotency-Key", "refused-0")
        .header(HEADER, &mark)
        .json(&json!({ "name": "Made" }))
        .send();
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("idempotency-replayed"), None);

    // Every bookmark the API sent works, on reads and on writes: each workspace's own.
    let d = b.get(&format!("/connect/v1/apps/{id}"));
    for (t, sent, shard) in [
        (&b, &mark, "SHARD_2"),
        (&b, &bookmark(&d, "SHARD_2"), "SHARD_2"),
        (&c, &c_mark, "SHARD_2"),
        (&a, &a_mark, "SHARD_1"),
    ] {
        let read = t
            .request("GET", "/connect/v1/workspace")
            .header(HEADER, sent)
            .send();
        assert_eq!(read.status, 200, "{sent}: {}", read.text());
        let write = t
            .request("POST", "/connect/v1/apps")
            .header(HEADER, sent)
            .json(&json!({ "name": "With a bookmark" }))
            .send();
        assert_eq!(write.status, 201, "{sent}: {}", write.text());
        assert!(
            parts(&bookmark(&write, shard)).d1 >= parts(sent).d1,
            "{sent} then {:?}",
            write.header(HEADER)
        );
    }
    let res = b
        .request("PATCH", &format!("/connect/v1/apps/{id}"))
        .header(HEADER, &mark)
        .json(&json!({ "name": "Renamed" }))
        .send();
    assert_eq!(res.status, 200, "{}", res.text());

    // An empty value is none.
    let res = b
        .request("GET", "/connect/v1/workspace")
        .header(HEADER, "")
        .send();
    assert_eq!(res.status, 200, "{}", res.text());
    bookmark(&res, "SHARD_2");
}

#[test]
fn a_bookmark_outlives_a_rotation_while_its_key_is_in_the_ring() {
    let ring_a = format!("a:{}", random_hex(64));
    let ring_b = format!("b:{}", random_hex(64));
    let mut server = Server::start(ServerConfig::project().with_var("SECRETS_KEYS", &ring_a));
    let creds = server.tenant().credentials();
    let path = |id: &str| format!("/connect/v1/apps/{id}");

    // Under ring `a`: bookmarks of a read, a write and an error, tagged with `a`.
    let (id, under_a) = {
        let t = creds.on(&server);
        let created = t.send_json("POST", "/connect/v1/apps", &json!({ "name": "Before" }));
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json_value()["clientId"]
            .as_str()
            .unwrap()
            .to_owned();
        let shard = shard_of(&t);
        let marks = vec![
            bookmark(&created, &shard),
            bookmark(&t.get(&path(&id)), &shard),
            bookmark(&t.get("/connect/v1/apps/AAAAAAAA"), &shard),
        ];
        for m in &marks {
            assert_eq!(parts(m).key_id, "a", "{m}");
        }
        (id, marks)
    };

    // A new primary `b`, `a` kept: `a`'s bookmarks still work, on reads and writes; the
    // answers carry bookmarks tagged with `b`.
    server.restart_with_var("SECRETS_KEYS", &format!("{ring_b},{ring_a}"));
    let under_b = {
        let t = creds.on(&server);
        let mut marks = Vec::new();
        for m in &under_a {
            let read = t.request("GET", &path(&id)).header(HEADER, m).send();
            assert_eq!(read.status, 200, "{m}: {}", read.text());
            let write = t
                .request("PATCH", &path(&id))
                .header(HEADER, m)
                .json(&json!({ "name": format!("During {}", marks.len()) }))
                .send();
            assert_eq!(write.status, 200, "{m}: {}", write.text());
            for res in [&read, &write] {
                let new = res.header(HEADER).expect("a bookmark").to_owned();
                assert_eq!(parts(&new).key_id, "b", "{new}");
                marks.push(new);
            }
        }
        marks
    };

    // `a` removed: its bookmarks are refused, naming the header, and the refusal carries
    // one tagged with `b`; `b`'s work. A write refused so changes nothing.
    server.restart_with_var("SECRETS_KEYS", &ring_b);
    let t = creds.on(&server);
    let name = |t: &Tenant| t.get(&path(&id)).json_value()["name"].clone();
    let name_before = name(&t);
    for m in &under_a {
        for req in [
            t.request("GET", &path(&id)),
            t.request("PATCH", &path(&id))
                .json(&json!({ "name": "Not renamed" })),
        ] {
            let res = req.header(HEADER, m).send();
            let e = assert_error(
                &res,
                400,
                ErrorCode::ValidationInvalidParameter,
                Some("X-Connect-Bookmark"),
            );
            assert!(e.error.message.contains("no longer"), "{}", e.error.message);
            let given = res
                .header(HEADER)
                .expect("a bookmark on the 400")
                .to_owned();
            assert_eq!(parts(&given).key_id, "b", "{given}");
            let again = t.request("GET", &path(&id)).header(HEADER, &given).send();
            assert_eq!(again.status, 200, "{}", again.text());
        }
    }
    assert_eq!(name(&t), name_before, "a refused PATCH renamed the app");
    for m in &under_b {
        let res = t.request("GET", &path(&id)).header(HEADER, m).send();
        assert_eq!(res.status, 200, "{m}: {}", res.text());
    }
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
