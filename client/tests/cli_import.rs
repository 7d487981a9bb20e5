//! `connect apps import` against the real Worker on `wrangler dev`: a customer list
//! becomes apps exactly once per customer row, whatever happens to the run (killed, its
//! answers lost) and to the file (rows fixed, edited, moved) between runs; bad rows are
//! judged before any request; the results file is a journal of one workspace that holds
//! no API key.

mod support;

use connect_client::{App, Client, ClientId};
use connect_e2e::Server;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use support::proxy::{Answers, Proxy};
use support::{connect, connect_to, customers_csv, describe, journal_entries, mode, run, Double};

fn client_of(tenant: &connect_e2e::api::Tenant) -> Client {
    Client::builder(tenant.server.base_url(), &tenant.key)
        .build()
        .unwrap()
}

/// Every app of the workspace.
fn apps_of(tenant: &connect_e2e::api::Tenant) -> Vec<App> {
    client_of(tenant).apps().map(Result::unwrap).collect()
}

/// The entries of a journal of one kind (`created`, `refused`, `sending`...).
fn entries(all: &[Value], kind: &str) -> Vec<Value> {
    all.iter().filter(|e| e["entry"] == kind).cloned().collect()
}

/// Checks the journal of `n` good customers (lines 2 to n + 1 of `customers_csv`): each
/// row created once, with its line, name, key, client id and secret, and the client ids
/// exactly the workspace's apps.
fn assert_complete(journal: &[Value], n: usize, apps: &[App]) {
    let created = entries(journal, "created");
    let keys: Vec<&str> = created
        .iter()
        .map(|r| r["idempotencyKey"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), n, "one outcome per row");
    assert_eq!(unique.len(), n, "every row, once");
    for r in &created {
        let line = r["line"].as_u64().unwrap();
        assert_eq!(r["name"], format!("Customer {}", line - 2), "{r}");
        assert_eq!(r["idempotencyKey"], format!("customer-{}", line - 2), "{r}");
        assert!(
            r["clientSecret"]
                .as_str()
                .is_some_and(|s| s.starts_with("sh_app_")),
            "{r}"
        );
    }
    let ids: HashSet<&str> = created
        .iter()
        .map(|r| r["clientId"].as_str().unwrap())
        .collect();
    let listed: HashSet<&str> = apps.iter().map(|a| a.client_id.as_str()).collect();
    assert_eq!(ids, listed, "the journal's apps are the workspace's apps");
}

#[test]
fn importing_1000_rows_creates_1000_apps_and_a_rerun_sends_nothing() {
    let server = Server::shared();
    let tenant = server.tenant();
    let proxy = Proxy::start(server);
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "customers.csv", 1000);
    let out = run(connect_to(&proxy.base_url, &tenant.key)
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let results = dir.path().join("customers.results.jsonl");
    assert_eq!(mode(&results), 0o600);
    let journal = journal_entries(&results);
    assert_eq!(journal[0]["entry"], "journal");
    assert_eq!(journal[0]["workspaceId"], tenant.workspace.as_str());
    assert_eq!(journal[0]["baseUrl"], format!("{}/", proxy.base_url));
    assert_eq!(entries(&journal, "sending").len(), 10);
    let apps = apps_of(&tenant);
    assert_eq!(apps.len(), 1000);
    assert_complete(&journal, 1000, &apps);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1000 created, 0 already created, 0 not created"),
        "{stdout}"
    );
    let everything = [
        std::fs::read(&results).unwrap(),
        out.stdout.clone(),
        out.stderr.clone(),
    ]
    .concat();
    let everything = String::from_utf8_lossy(&everything);
    assert!(
        !everything.contains(&tenant.key),
        "the API key is never printed or written"
    );
    let secret = journal
        .iter()
        .find_map(|e| e["clientSecret"].as_str())
        .unwrap();
    let printed = describe(&out);
    assert!(
        !printed.contains(secret),
        "secrets stay in the results file"
    );

    // The same file again: every row has its app, nothing is sent.
    proxy.clear();
    let again = run(connect_to(&proxy.base_url, &tenant.key)
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout)
            .contains("0 created, 1000 already created, 0 not created"),
        "{}",
        describe(&again)
    );
    let paths: Vec<String> = proxy.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(paths, ["/connect/v1/workspace"], "one read, no batch");
    assert_eq!(tenant.total(), 1000);
    assert_eq!(journal_entries(&results), journal, "nothing appended");
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
    let partial = journal_entries(&results);
    let created_before = tenant.total();
    assert!(
        (300..1000).contains(&entries(&partial, "created").len()),
        "three batches recorded, not all: {partial:?}"
    );
    assert!(created_before >= 300, "{created_before}");
    // As if the crash had come after the third batch was committed and before its answer
    // was recorded: its outcomes are taken out, its "sending" entry stays.
    let third = entries(&partial, "sending")[2]["batch"].clone();
    let (lost, kept): (Vec<Value>, Vec<Value>) = partial
        .iter()
        .cloned()
        .partition(|e| e["entry"] == "created" && e["batch"] == third);
    assert_eq!(lost.len(), 100);
    let text: String = kept.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&results, text).unwrap();

    let rerun = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(rerun.status.code(), Some(0), "{}", describe(&rerun));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    let third = third.as_str().unwrap();
    assert!(
        stderr.contains(&format!("replaying batch {third} sent "))
            && stderr.contains("(lines 202-301 of that run): 100 created, 0 refused"),
        "{stderr}"
    );
    let apps = apps_of(&tenant);
    assert_eq!(
        apps.len(),
        1000,
        "exactly once: {created_before} before the rerun"
    );
    let journal = journal_entries(&results);
    assert_complete(&journal, 1000, &apps);
    // The entries kept from the killed run are untouched, and the third batch, sent again
    // with its key, came back as the same apps with the same secrets.
    assert_eq!(&journal[..kept.len()], &kept[..]);
    let again: Vec<&Value> = journal[kept.len()..]
        .iter()
        .filter(|e| e["batch"] == third)
        .collect();
    assert_eq!(again, lost.iter().collect::<Vec<_>>());
}

/// A customer list with rows the server refuses: a `javascript:` redirect URI, an empty
/// name, a name of 101 characters, plain http to a host that is not local (without a key).
/// The header's case is the spreadsheet's, and it has a column of its own.
fn refused_list(dir: &Path) -> PathBuf {
    let path = dir.join("customers.csv");
    let long = "n".repeat(101);
    std::fs::write(
        &path,
        format!(
            "Name,RedirectURIs,IDEMPOTENCYKEY,Notes\n\
             Acme Corp,https://acme.example.com/cb,c-1,gold\n\
             Evil,javascript:alert(1),c-2,\n\
             ,https://empty.example.com/cb,c-3,\n\
             {long},https://long.example.com/cb,c-4,\n\
             Eta,https://eta.example.com/cb,c-5,\n\
             Keyless Good,https://kg.example.com/cb,,\n\
             Keyless Bad,http://kb.example.com/cb,,\n"
        ),
    )
    .unwrap();
    path
}

/// The same customers, corrected, moved about and one more added.
fn fixed_list(dir: &Path) -> PathBuf {
    let path = dir.join("customers.csv");
    std::fs::write(
        &path,
        "name,redirectUris,idempotencyKey,notes\n\
         Zeta,https://zeta.example.com/cb,c-6,new\n\
         Keyless Good,https://kg.example.com/cb,,\n\
         Evil Corp,https://evil.example.com/cb,c-2,fixed\n\
         Acme Corp,https://acme.example.com/cb,c-1,gold\n\
         Empty No More,https://empty.example.com/cb,c-3,\n\
         Long Name Shortened,https://long.example.com/cb,c-4,\n\
         Eta,https://eta.example.com/cb,c-5,\n\
         Keyless Bad,https://kb.example.com/cb,,\n",
    )
    .unwrap();
    path
}

/// The names of the workspace's apps, each with how many apps bear it.
fn names(tenant: &connect_e2e::api::Tenant) -> BTreeMap<String, usize> {
    let mut counted = BTreeMap::new();
    for app in apps_of(tenant) {
        *counted.entry(app.name).or_insert(0) += 1;
    }
    counted
}

#[test]
fn refused_rows_fixed_in_the_file_become_apps_once_and_a_third_run_sends_nothing() {
    let server = Server::shared();
    let tenant = server.tenant();
    let proxy = Proxy::start(server);
    let dir = tempfile::tempdir().unwrap();
    let file = refused_list(dir.path());
    let results = dir.path().join("customers.results.jsonl");
    let import = |args: &[&str]| {
        run(connect_to(&proxy.base_url, &tenant.key)
            .args(["apps", "import", "--ignore-extra-columns"])
            .args(args)
            .arg(&file))
    };

    // An unknown column is refused by name unless left out on purpose.
    let strict = run(connect_to(&proxy.base_url, &tenant.key)
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(strict.status.code(), Some(2), "{}", describe(&strict));
    assert!(describe(&strict).contains("unknown column(s) \"Notes\""));
    assert!(proxy.seen().is_empty());

    // First run: the server judges every row and refuses four.
    let first = import(&["--continue-on-error"]);
    assert_eq!(first.status.code(), Some(1), "{}", describe(&first));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("ignoring column(s) \"Notes\""), "{stderr}");
    for refused in [
        "line 3 (c-2, \"Evil\"): refused: redirectUris[0]: VALIDATION_INVALID_PARAMETER: redirectUris[0] ",
        "line 4 (c-3, \"\"): refused: name: VALIDATION_",
        "line 5 (c-4, \"nnnn",
        "line 8 (\"Keyless Bad\"): refused: redirectUris[0]: VALIDATION_INVALID_PARAMETER",
    ] {
        assert!(stderr.contains(refused), "{refused:?} in\n{stderr}");
    }
    assert!(String::from_utf8_lossy(&first.stdout)
        .contains("3 created, 0 already created, 4 not created"));
    let journal = journal_entries(&results);
    let refused = entries(&journal, "refused");
    assert_eq!(refused.len(), 4);
    assert_eq!(refused[0]["line"], 3);
    assert_eq!(refused[0]["name"], "Evil");
    assert_eq!(refused[0]["idempotencyKey"], "c-2");
    assert_eq!(refused[0]["error"]["parameter"], "redirectUris[0]");
    assert_eq!(entries(&journal, "created").len(), 3);
    assert_eq!(tenant.total(), 3);

    // Again unchanged, without --continue-on-error: refused before anything is sent.
    proxy.clear();
    let unchanged = import(&[]);
    assert_eq!(unchanged.status.code(), Some(2), "{}", describe(&unchanged));
    assert!(
        describe(&unchanged)
            .contains("refused by the server in an earlier run, and unchanged since")
            && describe(&unchanged).contains("4 row(s) would not be created; nothing was sent"),
        "{}",
        describe(&unchanged)
    );
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());

    // Fixed, reordered, one customer added. A dry run says what a run will send and
    // sends nothing.
    fixed_list(dir.path());
    let before = std::fs::read(&results).unwrap();
    let dry = import(&["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", describe(&dry));
    let plan = String::from_utf8_lossy(&dry.stdout);
    assert!(
        plan.contains("Would send 5 row(s) in 1 batch(es):"),
        "{plan}"
    );
    for line in [
        "2       c-6",
        "4       c-2",
        "6       c-3",
        "7       c-4",
        "9       -",
    ] {
        assert!(plan.contains(line), "{line:?} in\n{plan}");
    }
    assert!(
        plan.contains("Already created, skipped: 3 row(s)."),
        "{plan}"
    );
    let json = import(&["--dry-run", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", describe(&json));
    let summary: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(summary["counts"]["toSend"], 5, "{summary}");
    assert_eq!(summary["rows"][0]["outcome"], "toSend");
    assert_eq!(summary["rows"][1]["outcome"], "alreadyCreated");
    assert_eq!(tenant.total(), 3, "a dry run creates nothing");
    assert_eq!(
        std::fs::read(&results).unwrap(),
        before,
        "and writes nothing"
    );
    assert!(proxy.batch_requests().is_empty());

    // Second run: exactly the missing apps.
    let second = import(&[]);
    assert_eq!(second.status.code(), Some(0), "{}", describe(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout)
            .contains("5 created, 3 already created, 0 not created"),
        "{}",
        describe(&second)
    );
    let expected: BTreeMap<String, usize> = [
        "Acme Corp",
        "Evil Corp",
        "Empty No More",
        "Long Name Shortened",
        "Eta",
        "Keyless Good",
        "Keyless Bad",
        "Zeta",
    ]
    .into_iter()
    .map(|n| (n.to_owned(), 1))
    .collect();
    assert_eq!(names(&tenant), expected, "one app per customer");

    // Third run: nothing to do, nothing sent.
    proxy.clear();
    let third = import(&[]);
    assert_eq!(third.status.code(), Some(0), "{}", describe(&third));
    assert!(proxy.batch_requests().is_empty(), "{:?}", proxy.seen());
    assert!(String::from_utf8_lossy(&third.stdout).contains("0 created, 8 already created"));
    let json = run(connect_to(&proxy.base_url, &tenant.key)
        .args(["--json", "apps", "import", "--ignore-extra-columns"])
        .arg(&file));
    assert_eq!(json.status.code(), Some(0), "{}", describe(&json));
    let summary: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(summary["counts"]["alreadyCreated"], 8, "{summary}");
    assert_eq!(summary["batchesSent"], 0);
    assert_eq!(tenant.total(), 8);
}

#[test]
fn a_batch_committed_but_unanswered_is_replayed_as_recorded_after_the_file_is_edited() {
    let server = Server::shared();
    let tenant = server.tenant();
    let proxy = Proxy::start(server);
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "customers.csv", 9);
    let results = dir.path().join("customers.results.jsonl");
    let import = || {
        run(connect_to(&proxy.base_url, &tenant.key)
            .args(["apps", "import", "--batch-size", "3"])
            .arg(&file))
    };

    // The second batch is committed, but its answer never comes back, on any attempt.
    proxy.set(Answers::LoseBatchesFrom(1));
    let cut = import();
    assert_eq!(cut.status.code(), Some(3), "{}", describe(&cut));
    assert!(
        describe(&cut).contains("may or may not have been created: run the import again"),
        "{}",
        describe(&cut)
    );
    let attempts = proxy.batch_requests();
    assert_eq!(attempts.len(), 7, "batch 1 once, batch 2 six times");
    assert!(attempts[1..]
        .iter()
        .all(|a| a.idempotency_key == attempts[1].idempotency_key));
    assert_eq!(tenant.total(), 6, "batch 2 was committed once");
    let journal = journal_entries(&results);
    assert_eq!(entries(&journal, "sending").len(), 2);
    assert_eq!(entries(&journal, "created").len(), 3);

    // The file changes meanwhile: customer 3 (in the lost batch) renamed, customer 4 (in
    // it too) removed, customer 6 (never sent) changed, a customer added at the top.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[4] = lines[4].replace("Customer 3,", "Customer Three,");
    lines[7] = lines[7].replace("https://c6.example.com/alt", "https://c6.example.com/new");
    lines.remove(5);
    lines.insert(
        1,
        "Newcomer,https://new.example.com/callback,customer-new".into(),
    );
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    proxy.set(Answers::Relay);
    proxy.clear();
    let rerun = import();
    assert_eq!(rerun.status.code(), Some(0), "{}", describe(&rerun));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    let lost_key = attempts[1].idempotency_key.clone().unwrap();
    assert!(
        stderr.contains(&format!("replaying batch {lost_key} sent "))
            && stderr.contains("(lines 5-7 of that run): 3 created, 0 refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(customer-3, \"Customer Three\"): changed since its app"),
        "{stderr}"
    );
    let sent = proxy.batch_requests();
    assert_eq!(
        sent[0].idempotency_key.as_deref(),
        Some(lost_key.as_str()),
        "the replay comes first"
    );
    let replayed: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        replayed["items"][0]["name"], "Customer 3",
        "its rows as recorded"
    );

    // One app per customer: customers 0 to 8 (4 included, from the replay) and the
    // newcomer; customer 3 as it was sent.
    let apps = apps_of(&tenant);
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for app in &apps {
        *by_name.entry(app.name.clone()).or_insert(0) += 1;
    }
    let mut expected: BTreeMap<String, usize> =
        (0..9).map(|i| (format!("Customer {i}"), 1)).collect();
    expected.insert("Newcomer".into(), 1);
    assert_eq!(by_name, expected);
    let journal = journal_entries(&results);
    let created = entries(&journal, "created");
    assert_eq!(created.len(), 10);
    let ids: HashSet<&str> = created
        .iter()
        .map(|c| c["clientId"].as_str().unwrap())
        .collect();
    let listed: HashSet<&str> = apps.iter().map(|a| a.client_id.as_str()).collect();
    assert_eq!(ids, listed);

    // And once more: nothing.
    proxy.clear();
    let third = import();
    assert_eq!(third.status.code(), Some(0), "{}", describe(&third));
    assert!(proxy.batch_requests().is_empty());
    assert_eq!(tenant.total(), 10);
}

#[test]
fn a_results_file_of_another_workspace_is_refused_and_nothing_is_created_there() {
    let server = Server::shared();
    let sandbox = server.tenant();
    let production = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "customers.csv", 3);
    let results = dir.path().join("customers.results.jsonl");
    let first = run(connect(&sandbox).args(["apps", "import"]).arg(&file));
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let journal = std::fs::read(&results).unwrap();

    for args in [
        &["apps", "import"][..],
        &["apps", "import", "--dry-run"][..],
    ] {
        let out = run(connect(&production).args(args).arg(&file));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let said = describe(&out);
        assert!(
            said.contains(&format!(
                "records an import into workspace {} at {}/, and this key is of workspace {}",
                sandbox.workspace,
                server.base_url(),
                production.workspace
            )) && said.contains("Nothing was sent"),
            "{said}"
        );
        assert_eq!(production.total(), 0, "nothing created there");
        assert_eq!(
            std::fs::read(&results).unwrap(),
            journal,
            "the journal untouched"
        );
    }

    // The same workspace at another address is refused too: it could be another
    // deployment holding a copy of the workspace.
    let proxy = Proxy::start(server);
    let out = run(connect_to(&proxy.base_url, &sandbox.key)
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        describe(&out).contains(&format!("this run is at {}/", proxy.base_url)),
        "{}",
        describe(&out)
    );
    assert!(proxy.batch_requests().is_empty());
    assert_eq!(sandbox.total(), 3);
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

fn mixed_file(dir: &Path) -> PathBuf {
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
        "line 3 (c-2, \"Evil\"): redirectUris[0]: VALIDATION_INVALID_PARAMETER: redirectUris[0] ",
        "line 4 (c-3, \"\"): name: VALIDATION_INVALID_PARAMETER: name ",
        "line 5 (c-4, \"nnnn",
        "line 6 (c-5, \"Too Many\"): row: VALIDATION_INVALID_PARAMETER: row has 6 fields; the header has 5",
        "4 row(s) would not be created; nothing was sent",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in\n{stderr}");
    }
    for good in ["line 2 ", "line 7 ", "line 8 "] {
        assert!(!stderr.contains(good), "{good} is a good row:\n{stderr}");
    }
    assert!(double.seen().is_empty(), "{:?}", double.seen());
    assert!(!dir.path().join("mixed.results.jsonl").exists());

    // A results file named .csv, or the input itself: refused before any request.
    for results in [dir.path().join("out.csv"), file.clone()] {
        let out = run(connect_to(&double.base_url, "sk_workspace_test_unused")
            .args(["apps", "import", "--continue-on-error", "--results"])
            .arg(&results)
            .arg(&file));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    }
    assert!(double.seen().is_empty(), "{:?}", double.seen());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        MIXED.replace("NAME_101", &"n".repeat(101))
    );

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
fn continue_on_error_creates_the_good_rows_and_records_what_the_server_refused() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = mixed_file(dir.path());
    let results = dir.path().join("out.jsonl");
    let out = run(connect(&tenant)
        .args(["apps", "import", "--continue-on-error", "--results"])
        .arg(&results)
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_eq!(mode(&results), 0o600);
    assert!(
        describe(&out).contains(
            "line 6 (c-5, \"Too Many\"): not sent: row: VALIDATION_INVALID_PARAMETER: row has 6 fields"
        ),
        "{}",
        describe(&out)
    );
    let journal = journal_entries(&results);
    let line_of = |e: &Value| e["line"].as_u64().unwrap();
    let refused: Vec<u64> = entries(&journal, "refused").iter().map(line_of).collect();
    assert_eq!(refused, [3, 4, 5], "refused by the server");
    let sent: Vec<u64> = entries(&journal, "sending")[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(line_of)
        .collect();
    assert_eq!(sent, [2, 3, 4, 5, 7, 8], "line 6 cannot be sent");
    let apps = client_of(&tenant);
    let mut names = Vec::new();
    for created in entries(&journal, "created") {
        let id = ClientId::parse(created["clientId"].as_str().unwrap()).unwrap();
        let app = apps.get_app(&id).unwrap();
        assert_eq!(app.client_secret.expose(), created["clientSecret"]);
        assert_eq!(app.name, created["name"]);
        names.push(app.name);
    }
    assert_eq!(
        names,
        ["Acme Corp", "Quoted, Commas & Co", "Ünïcödé 株式会社 🚀"]
    );
    let unicode = apps
        .apps()
        .map(Result::unwrap)
        .find(|a| a.name.starts_with("Ünïcödé"))
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
    assert!(!dir.path().join("few.results.jsonl").exists());

    // A server that keeps failing, or keeps limiting the rate: retried, then 3.
    for (status, code) in [(503, "SYSTEM_INTERNAL_ERROR"), (429, "RATE_LIMITED")] {
        let failing = Double::start(
            (0..6)
                .map(|_| {
                    (
                        status,
                        vec![("retry-after", "0".to_owned())],
                        format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"not now\"}}}}"),
                    )
                })
                .collect(),
        );
        let out = run(connect_to(&failing.base_url, wrong).arg("workspace"));
        assert_eq!(out.status.code(), Some(3), "{status}: {}", describe(&out));
        assert!(describe(&out).contains(code));
        assert_eq!(failing.seen().len(), 6, "six attempts");
    }

    // No key at all: a usage error before any request.
    let out = run(connect_to(&server.base_url(), "")
        .env_remove("CONNECT_API_KEY")
        .arg("workspace"));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONNECT_API_KEY"));
}

/// Runs `cmd` with a terminal (a pseudo-terminal) as its stdin, on which `typed` is typed.
fn run_on_terminal(cmd: &mut std::process::Command, typed: &str) -> std::process::Output {
    use std::io::Write;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors, which are owned here from now on.
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(made, 0, "openpty");
    let mut master = unsafe { std::fs::File::from_raw_fd(master) };
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    master.write_all(typed.as_bytes()).unwrap();
    let out = run(cmd.stdin(Stdio::from(slave)));
    drop(master);
    out
}

#[test]
fn the_other_commands_print_text_or_json_and_delete_asks_first() {
    let server = Server::shared();
    let tenant = server.tenant();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.jsonl");
    std::fs::write(
        &file,
        "{\"name\":\"Solo\",\"redirectUris\":[\"https://solo.example.com/cb\"]}\n\
         {\"name\":\"Duo\"}\n",
    )
    .unwrap();
    let out = run(connect(&tenant).args(["apps", "import"]).arg(&file));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let created = entries(
        &journal_entries(&dir.path().join("two.results.jsonl")),
        "created",
    );
    let id = created[0]["clientId"].as_str().unwrap().to_owned();
    let other = created[1]["clientId"].as_str().unwrap().to_owned();
    let secret = created[0]["clientSecret"].as_str().unwrap().to_owned();

    let list = run(connect(&tenant).args(["apps", "list"]));
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    let rows: Vec<&str> = listed.lines().collect();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(
        rows[0].starts_with("CLIENT ID") && rows[0].ends_with("NAME"),
        "{listed}"
    );
    assert!(
        rows[1].starts_with(&format!("{id}   ")) && rows[1].ends_with("  Solo"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));
    for json in [
        &["apps", "list", "--json"][..],
        &["--json", "apps", "list"][..],
    ] {
        let out = run(connect(&tenant).args(json));
        let apps: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0]["clientId"], id.as_str());
    }

    let get = run(connect(&tenant).args(["apps", "get", &id]));
    let text = String::from_utf8_lossy(&get.stdout);
    assert!(text.contains("Name           Solo"), "{text}");
    assert!(
        text.contains("Redirect URIs  https://solo.example.com/cb"),
        "{text}"
    );
    assert!(
        !text.contains(&secret),
        "the view for people leaves the secret out"
    );
    let get = run(connect(&tenant).args(["apps", "get", &id, "--json"]));
    let got: Value = serde_json::from_slice(&get.stdout).unwrap();
    assert_eq!(got["name"], "Solo");
    assert_eq!(got["clientSecret"], secret.as_str());

    let rotated = run(connect(&tenant).args(["apps", "rotate-secret", &id]));
    assert_eq!(rotated.status.code(), Some(0), "{}", describe(&rotated));
    let new_secret = String::from_utf8_lossy(&rotated.stdout).trim().to_owned();
    assert!(
        new_secret.starts_with("sh_app_") && new_secret != secret,
        "{new_secret}"
    );
    let rotated = run(connect(&tenant).args(["apps", "rotate-secret", &id, "--json"]));
    let json: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_ne!(json["clientSecret"], new_secret.as_str());

    let workspace = run(connect(&tenant).arg("workspace"));
    let text = String::from_utf8_lossy(&workspace.stdout);
    assert!(
        text.contains(&format!("Workspace  {}", tenant.workspace)),
        "{text}"
    );
    assert!(text.contains("Apps       2"), "{text}");
    let workspace = run(connect(&tenant).args(["workspace", "--json"]));
    let w: Value = serde_json::from_slice(&workspace.stdout).unwrap();
    assert_eq!(w["apps_count"], 2);

    // No terminal to ask on and no --yes: refused, nothing deleted.
    let refused = run(connect(&tenant).args(["apps", "delete", &id]));
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(describe(&refused).contains("pass --yes"));
    // On a terminal it asks: "n" keeps the app (1), "y" deletes it.
    let kept = run_on_terminal(connect(&tenant).args(["apps", "delete", &id]), "n\n");
    assert_eq!(kept.status.code(), Some(1), "{}", describe(&kept));
    assert!(describe(&kept).contains(&format!("Delete app {id} (\"Solo\")?")));
    assert_eq!(tenant.total(), 2);
    let deleted = run_on_terminal(connect(&tenant).args(["apps", "delete", &id]), "y\n");
    assert_eq!(deleted.status.code(), Some(0), "{}", describe(&deleted));
    assert!(String::from_utf8_lossy(&deleted.stdout).contains(&format!("Deleted app {id}.")));
    let deleted = run(connect(&tenant).args(["apps", "delete", &other, "--yes", "--json"]));
    assert_eq!(deleted.status.code(), Some(0), "{}", describe(&deleted));
    let json: Value = serde_json::from_slice(&deleted.stdout).unwrap();
    assert_eq!(json["deleted"], true);
    assert_eq!(tenant.total(), 0);

    let gone = run(connect(&tenant).args(["apps", "get", &id]));
    assert_eq!(gone.status.code(), Some(2), "{}", describe(&gone));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("RESOURCE_NOT_FOUND"));
    let malformed = run(connect(&tenant).args(["apps", "get", "not-an-id"]));
    assert_eq!(malformed.status.code(), Some(2));
    let empty = run(connect(&tenant).args(["apps", "list"]));
    assert_eq!(
        String::from_utf8_lossy(&empty.stdout),
        "No apps in this workspace.\n"
    );
}

/// `GET /connect/v1/workspace` as the double answers it.
fn double_workspace() -> support::Scripted {
    (
        200,
        vec![],
        "{\"id\":\"org_double\",\"apps_count\":0,\"createdAt\":\"2026-01-01T00:00:00.000Z\",\"created_at\":1767225600}"
            .to_owned(),
    )
}

/// A batch answer of the double: every item refused on its name.
fn double_refusals(n: usize) -> support::Scripted {
    let result = "{\"error\":{\"code\":\"VALIDATION_INVALID_PARAMETER\",\"message\":\"name is taken\",\"details\":{\"parameter\":\"items[0].name\"}}}";
    (
        201,
        vec![],
        format!(
            "{{\"results\":[{}],\"successCount\":0,\"errorCount\":{n}}}",
            vec![result; n].join(",")
        ),
    )
}

#[test]
fn a_batch_refused_whole_without_continue_on_error_is_recorded_and_its_rows_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "all.csv", 3);
    let results = dir.path().join("all.results.jsonl");
    // A server whose rules refuse what the CLI's accept (a newer server, say).
    let refused_whole = (
        400,
        vec![],
        "{\"error\":{\"code\":\"VALIDATION_INVALID_PARAMETER\",\"message\":\"items[1].name is reserved\",\"details\":{\"parameter\":\"items[1].name\",\"index\":1}},\"request_id\":\"r-1\"}"
            .to_owned(),
    );
    let revoked = (
        401,
        vec![],
        "{\"error\":{\"code\":\"AUTH_INVALID_CREDENTIALS\",\"message\":\"revoked\"}}".to_owned(),
    );
    let double = Double::start(vec![
        double_workspace(),
        refused_whole,
        double_workspace(),
        revoked,
        double_workspace(),
        double_refusals(3),
        double_refusals(1),
    ]);
    let import = || {
        run(connect_to(&double.base_url, "sk_workspace_test_x")
            .args(["apps", "import"])
            .arg(&file))
    };
    let out = import();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let said = describe(&out);
    assert!(
        said.contains("line 3 (customer-1, \"Customer 1\"): refused: name: VALIDATION_INVALID_PARAMETER: name is reserved")
            && said.contains("refused because of line 3, so none of its apps was created"),
        "{said}"
    );
    let first: Value = serde_json::from_slice(&double.seen()[1].body).unwrap();
    assert_eq!(first["continueOnError"], false, "all or nothing");
    let journal = journal_entries(&results);
    assert_eq!(entries(&journal, "refused").len(), 1);
    let unsent = entries(&journal, "unsent");
    assert_eq!(unsent.len(), 2);
    assert_eq!(
        unsent[0]["reason"],
        "not created: its batch was refused because of line 3"
    );

    // Unchanged: stopped before any request.
    let out = import();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        describe(&out).contains("unchanged since"),
        "{}",
        describe(&out)
    );
    assert_eq!(double.seen().len(), 2);

    // Changed: all three rows go again, in a batch of a new key. The key is refused on
    // the way (revoked meanwhile, say), which says nothing of whether the batch was
    // created by an attempt whose answer was lost: it stays unanswered, and the next
    // run sends it again first, with its key and items.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("Customer 1,", "Customer One,")).unwrap();
    let out = import();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        describe(&out).contains("The batch stays unanswered"),
        "{}",
        describe(&out)
    );
    assert_eq!(entries(&journal_entries(&results), "sending").len(), 2);
    std::fs::write(&file, text.replace("Customer 1,", "Customer Uno,")).unwrap();
    let out = run(connect_to(&double.base_url, "sk_workspace_test_x")
        .args(["apps", "import", "--continue-on-error"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let seen = double.seen();
    assert_eq!(seen[5].idempotency_key, seen[3].idempotency_key, "a replay");
    assert_eq!(seen[5].body, seen[3].body, "of the items as recorded");
    let again: Value = serde_json::from_slice(&seen[3].body).unwrap();
    let names: Vec<&str> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Customer 0", "Customer One", "Customer 2"]);
    assert_ne!(seen[3].idempotency_key, seen[1].idempotency_key);
    // The replay settled the batch (its rows refused); then Customer Uno, changed since,
    // goes alone in a batch of its own key; the other two, unchanged, are not sent.
    assert_eq!(seen.len(), 7);
    let last: Value = serde_json::from_slice(&seen[6].body).unwrap();
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    assert_eq!(last["items"][0]["name"], "Customer Uno");
    assert_eq!(last["continueOnError"], true);
    assert_ne!(seen[6].idempotency_key, seen[3].idempotency_key);
}

#[test]
fn an_unanswered_batch_older_than_the_api_remembers_is_not_replayed_blindly() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers_csv(dir.path(), "old.csv", 1);
    let results = dir.path().join("old.results.jsonl");
    let double = Double::start(vec![
        double_workspace(),
        double_workspace(),
        double_refusals(1),
    ]);
    // A journal whose one batch went out 25 hours ago and was never answered.
    let sent_at = connect_core::wire::time::Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 25 * 3_600_000,
    );
    let header = serde_json::json!({ "entry": "journal", "version": 1,
        "baseUrl": format!("{}/", double.base_url), "workspaceId": "org_double",
        "startedAt": sent_at.to_string() });
    let sending = serde_json::json!({ "entry": "sending", "batch": "old-batch",
        "sentAt": sent_at.to_string(), "continueOnError": false,
        "items": [{ "line": 2, "row": "key:customer-0", "content": "0".repeat(64),
                    "item": { "name": "Customer 0", "idempotencyKey": "customer-0" } }] });
    std::fs::write(&results, format!("{header}\n{sending}\n")).unwrap();

    let out = run(connect_to(&double.base_url, "sk_workspace_test_x")
        .args(["apps", "import"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        describe(&out).contains("batch old-batch (line 2 of the run of ")
            && describe(&out).contains("--forget-unanswered"),
        "{}",
        describe(&out)
    );
    assert_eq!(double.seen().len(), 1, "a read, no batch");

    let out = run(connect_to(&double.base_url, "sk_workspace_test_x")
        .args(["apps", "import", "--forget-unanswered"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let seen = double.seen();
    assert_eq!(seen.len(), 3);
    assert_ne!(seen[2].idempotency_key.as_deref(), Some("old-batch"));
    let journal = journal_entries(&results);
    assert_eq!(entries(&journal, "forgotten")[0]["batch"], "old-batch");
    assert_eq!(entries(&journal, "sending").len(), 2);
}
