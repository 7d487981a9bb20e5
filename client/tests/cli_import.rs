//! `connect apps import` against the real Worker on `wrangler dev`: a customer list
//! becomes apps exactly once, even when the CLI is killed halfway and run again; bad rows
//! are judged before any request; the results file says what happened to every line and
//! holds no API key.

mod support;

use connect_client::Client;
use connect_e2e::Server;
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use support::{connect, connect_to, customers_csv, describe, mode, results_jsonl, run, Double};

fn client_of(tenant: &connect_e2e::api::Tenant) -> Client {
    Client::builder(tenant.server.base_url(), &tenant.key)
        .build()
        .unwrap()
}

/// Every app of the workspace, by client id.
fn app_ids(client: &Client) -> Vec<String> {
    client
        .apps()
        .map(|a| a.unwrap().client_id.to_string())
        .collect()
}

/// Checks a results file of `n` good customers (lines 2 to n + 1): each line once, each
/// with a client id and secret, and the client ids exactly the workspace's apps.
fn assert_complete(records: &[Value], n: usize, apps: &[String]) {
    let lines: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let unique: BTreeSet<u64> = lines.iter().copied().collect();
    assert_eq!(lines.len(), n, "one record per line");
    assert_eq!(unique, (2..n as u64 + 2).collect(), "every line, once");
    let ids: HashSet<&str> = records
        .iter()
        .map(|r| {
            assert!(
                r["clientSecret"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("sh_app_")),
                "{r}"
            );
            r["clientId"].as_str().unwrap()
        })
        .collect();
    let listed: HashSet<&str> = apps.iter().map(String::as_str).collect();
    assert_eq!(ids, listed, "the results' apps are the workspace's apps");
}

#[test]
fn importing_1000_rows_creates_1000_apps_and_records_each_line_once() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "customers.csv", 1000);
    let out = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let results = dir.path().join("customers.results.jsonl");
    assert_eq!(mode(&results), 0o600);
    let records = results_jsonl(&results);
    let apps = app_ids(&client_of(&tenant));
    assert_eq!(apps.len(), 1000);
    assert_complete(&records, 1000, &apps);
    assert_eq!(records[0]["idempotencyKey"], "customer-0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1000 app(s) created"), "{stdout}");
    let everything = [
        std::fs::read(&results).unwrap(),
        out.stdout.clone(),
        out.stderr.clone(),
    ]
    .concat();
    assert!(
        !String::from_utf8_lossy(&everything).contains(&tenant.key),
        "the API key is never printed or written"
    );

    // The same file again: every batch is in the results file already, nothing is sent.
    let again = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr)
            .matches("already recorded")
            .count(),
        10,
        "{}",
        describe(&again)
    );
    assert_eq!(tenant.total(), 1000);
    assert_eq!(results_jsonl(&results).len(), 1000);
}

#[test]
fn an_import_killed_after_its_third_batch_completes_exactly_once_when_run_again() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "killed.csv", 1000);
    let results = dir.path().join("killed.results.jsonl");

    let mut child = connect(&tenant)
        .args(["apps", "import"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let third = line.starts_with("batch 3/10");
        seen.push(line);
        if third {
            child.kill().unwrap(); // SIGKILL: no chance to tidy up
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {seen:?}");
    let partial = results_jsonl(&results);
    assert!(
        (300..1000).contains(&partial.len()),
        "three batches recorded, not all: {} records",
        partial.len()
    );
    let created_before = tenant.total();
    assert!(created_before >= 300, "{created_before}");
    // As if the crash had come after the third batch's answer and before its record:
    // the rerun must send that batch again and get the same apps back (a replay).
    let (kept, lost) = partial.split_at(200);
    let text: String = kept.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&results, text).unwrap();

    let rerun = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(rerun.status.code(), Some(0), "{}", describe(&rerun));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        stderr.contains("batch 2/10 (lines 102-201): already recorded"),
        "{stderr}"
    );
    assert!(
        stderr.contains("batch 3/10 (lines 202-301): 100 created"),
        "{stderr}"
    );
    let apps = app_ids(&client_of(&tenant));
    assert_eq!(
        apps.len(),
        1000,
        "exactly once: {created_before} before the rerun"
    );
    let records = results_jsonl(&results);
    assert_complete(&records, 1000, &apps);
    // The records kept from the killed run are untouched by the rerun, and the third
    // batch, sent again with its key, came back as the same apps with the same secrets.
    assert_eq!(&records[..200], kept);
    let again: Vec<&Value> = records
        .iter()
        .filter(|r| (202..=301).contains(&r["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(again, lost[..100].iter().collect::<Vec<_>>());
}

/// The file of the issue: every kind of bad row beside rows that only look odd.
const MIXED: &str = "\u{FEFF}name,redirectUris,idempotencyKey,webhookUrl,webhookEvents\r\n\
    Acme Corp,https://acme.example.com/callback,c-1,,\r\n\
    Evil,javascript:alert(1),c-2,,\r\n\
    ,https://empty.example.com/callback,c-3,,\r\n\
    NAME_101,https://long.example.com/callback,c-4,,\r\n\
    Too Many,https://many.example.com/callback,c-5,,,surplus\r\n\
    \"Quoted, Commas & Co\",\"https://q.example.com/a https://q.example.com/b\",c-6,,\r\n\
    Ünïcödé 株式会社 🚀,https://u.example.com/callback,c-7,https://hooks.u.example.com/in,verification.completed\r\n";

fn mixed_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("mixed.csv");
    std::fs::write(&path, MIXED.replace("NAME_101", &"n".repeat(101))).unwrap();
    path
}

#[test]
fn bad_rows_are_judged_by_line_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = mixed_file(dir.path());
    // A server that records every request: none may reach it.
    let double = Double::start(vec![]);
    let out = run(connect_to(&double.base_url, "sk_workspace_test_unused")
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "line 3: redirectUris[0]: VALIDATION_INVALID_PARAMETER: redirectUris[0] ",
        "line 4: name: VALIDATION_INVALID_PARAMETER: name ",
        "line 5: name: VALIDATION_INVALID_PARAMETER: name ",
        "line 6: row: VALIDATION_INVALID_PARAMETER: row has 6 fields; the header has 5",
        "4 bad row(s); nothing was sent",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in\n{stderr}");
    }
    for good in ["line 2:", "line 7:", "line 8:"] {
        assert!(!stderr.contains(good), "{good} is a good row:\n{stderr}");
    }
    assert!(double.seen().is_empty(), "{:?}", double.seen());
    assert!(!dir.path().join("mixed.results.jsonl").exists());

    // The server judges each refused row the same way, through the same reader.
    let server = Server::shared();
    let tenant = server.tenant();
    let judged = tenant.batch(
        &serde_json::json!({ "items": [
            { "name": "Evil", "redirectUris": ["javascript:alert(1)"] },
            { "name": "", "redirectUris": ["https://empty.example.com/callback"] },
            { "name": "n".repeat(101) },
        ], "continueOnError": true }),
        None,
    );
    let body = judged.json_value();
    let parameters: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["details"]["parameter"].as_str().unwrap())
        .collect();
    assert_eq!(
        parameters,
        ["items[0].redirectUris[0]", "items[1].name", "items[2].name"]
    );
}

#[test]
fn continue_on_error_skips_bad_rows_and_reports_every_line() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = mixed_file(dir.path());
    let results = dir.path().join("out.csv");
    let out = run(connect(&tenant)
        .args(["apps", "import", "--continue-on-error", "--results"])
        .arg(&results)
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(mode(&results), 0o600);
    let mut reader = csv::Reader::from_path(&results).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let by_line = |line: &str| rows.iter().find(|r| &r[0] == line).unwrap().clone();
    assert_eq!(rows.len(), 7, "one record per data line");
    for bad in ["3", "4", "5", "6"] {
        let r = by_line(bad);
        assert!(r[3].is_empty() && !r[5].is_empty(), "{r:?}");
    }
    let apps = client_of(&tenant);
    let mut names = Vec::new();
    for good in ["2", "7", "8"] {
        let r = by_line(good);
        let id = connect_client::ClientId::parse(&r[3]).unwrap();
        let app = apps.get_app(&id).unwrap();
        assert_eq!(app.client_secret.expose(), &r[4]);
        names.push(app.name);
    }
    assert_eq!(
        names,
        ["Acme Corp", "Quoted, Commas & Co", "Ünïcödé 株式会社 🚀"]
    );
    let unicode = apps
        .get_app(&connect_client::ClientId::parse(&by_line("8")[3]).unwrap())
        .unwrap();
    assert!(unicode.webhook_config.enabled);
    assert_eq!(unicode.webhook_config.events, ["verification.completed"]);
    assert_eq!(tenant.total(), 3);
}

#[test]
fn configuration_and_server_failures_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "few.csv", 3);
    let server = Server::shared();

    // A key the server refuses: the caller's to fix (2), and the key is not printed.
    let wrong = "sk_workspace_test_0000000000000000000000000000wrong";
    let out = run(connect_to(&server.base_url(), wrong)
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AUTH_INVALID_CREDENTIALS"));
    assert!(!describe(&out).contains(wrong));

    // A server that keeps failing: retried, then 3.
    let failing = Double::start(
        (0..6)
            .map(|_| {
                (
                    503,
                    vec![],
                    "{\"error\":{\"code\":\"SYSTEM_INTERNAL_ERROR\",\"message\":\"down\"}}"
                        .to_owned(),
                )
            })
            .collect(),
    );
    let out = run(connect_to(&failing.base_url, wrong).arg("workspace"));
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert_eq!(failing.seen().len(), 6, "six attempts");

    // No key at all: a usage error before any request.
    let out = run(connect_to(&server.base_url(), "")
        .env_remove("CONNECT_API_KEY")
        .arg("workspace"));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONNECT_API_KEY"));
}

#[test]
fn the_other_commands_manage_one_app() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.jsonl");
    std::fs::write(
        &file,
        "{\"name\":\"Solo\",\"redirectUris\":[\"https://solo.example.com/cb\"]}\n",
    )
    .unwrap();
    let out = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = &results_jsonl(&dir.path().join("one.results.jsonl"))[0];
    let id = record["clientId"].as_str().unwrap().to_owned();

    let list = run(connect(&tenant).args(["apps", "list"]));
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        listed.starts_with(&format!("{id}\t")) && listed.trim_end().ends_with("\tSolo"),
        "{listed}"
    );
    let json = run(connect(&tenant).args(["apps", "list", "--json"]));
    let apps: Vec<Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["clientId"], id.as_str());

    let get = run(connect(&tenant).args(["apps", "get", &id]));
    let got: Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(got["name"], "Solo");
    let rotated = run(connect(&tenant).args(["apps", "rotate-secret", &id]));
    assert_eq!(rotated.status.code(), Some(0), "{}", describe(&rotated));
    let secret: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_ne!(secret["clientSecret"], record["clientSecret"]);
    let workspace = run(connect(&tenant).arg("workspace"));
    let w: Value = serde_json::from_slice(&workspace.stdout).unwrap();
    assert_eq!(w["apps_count"], 1);
    let deleted = run(connect(&tenant).args(["apps", "delete", &id]));
    assert_eq!(deleted.status.code(), Some(0), "{}", describe(&deleted));
    let gone = run(connect(&tenant).args(["apps", "get", &id]));
    assert_eq!(gone.status.code(), Some(2), "{}", describe(&gone));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("RESOURCE_NOT_FOUND"));
    let malformed = run(connect(&tenant).args(["apps", "get", "not-an-id"]));
    assert_eq!(malformed.status.code(), Some(2));
}
