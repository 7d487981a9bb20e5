//! Exactly once and no partial state through the real Worker while requests are cut and
//! answers lost, and clients retry (issues 20 and 31).
//!
//! The protocol under storage faults (D1 and KV calls failing before or after they take
//! effect) is proven natively, in seconds, by `sqlite/tests/faults.rs`; the Worker's
//! production build has no fault code. What only the real Worker can show is the same
//! promise over HTTP, D1 and KV as deployed, when the network fails the client: here a
//! seeded share of the attempts is cut mid-flight (the connection closed after a few
//! milliseconds, whether or not the Worker had finished: its write may or may not have
//! happened) and another share has its answer lost (the Worker answered, the client never
//! read it). `CHAOS_CLIENTS` clients (8) each create `CHAOS_BATCHES` (15) logical batches of
//! 1 to 60 apps, each under its own `Idempotency-Key`, every item with an `idempotencyKey`
//! unique across the run, retrying with the same key on connection errors, 5xx and 409 in
//! progress; between batches they PATCH, rotate and delete apps any client created. Then,
//! from the stored state and the API:
//!
//! - every logical batch exists exactly once: each item's app is stored once, under the
//!   client id its batch answered (unless a client deleted it), and no app is stored
//!   that no answer named;
//! - every successful answer to one key is the same body;
//! - `apps_count` and the list's `total` equal the rows;
//! - a batch's record (its key's claim) exists exactly when its apps do, and every KV copy
//!   of a record is of a record D1 holds;
//! - no secret is stored or logged in plain text;
//! - every response was a success or the contract's envelope, and no 500 that said
//!   "nothing was changed" was followed by a replay of a change it had made;
//! - the faults struck writes that happened: a lost answer's retry is a replay.
//!
//! Deterministic inputs: `CHAOS_SEED` seeds the clients' choices and which attempts are
//! cut or lose their answer; what a cut interrupts depends on timing. `CHAOS_CUT` and
//! `CHAOS_LOSE` set the shares of attempts (percent, 15 each).

use connect_core::rules::api_key::sha256_hex;
use connect_core::wire::error::{ErrorCode, ErrorEnvelope};
use connect_core::wire::response::BatchCreateResponse;
use connect_e2e::api::{assert_no_secret_shapes, Tenant};
use connect_e2e::{Response, Server, ServerConfig};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Attempts of one logical request before the client gives up on it.
const MAX_TRIES: u32 = 40;

/// What the run saw.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    retries: AtomicU64,
    server_errors: AtomicU64,
    in_doubt: AtomicU64,
    connection_errors: AtomicU64,
    /// Attempts cut mid-flight, and answers lost.
    cut: AtomicU64,
    lost: AtomicU64,
    /// Keyed requests replayed after a lost success, or after a cut (the cut write happened).
    replayed_after_lost: AtomicU64,
    replayed_after_cut: AtomicU64,
    /// Responses that were neither a success nor the contract's envelope.
    opaque: Mutex<Vec<String>>,
    /// Keys of rotations whose successful answers differ.
    differing: Mutex<Vec<String>>,
    /// 500s that said nothing was changed, when a later replay showed it had been.
    false_nothing_changed: Mutex<Vec<String>>,
}

/// The outcome of one logical request, after its retries.
struct Outcome {
    /// The final answer, if any came.
    last: Option<Response>,
    /// Every response received, in order.
    all: Vec<Response>,
}

/// How the network treats the clients' attempts, in percent of attempts.
#[derive(Clone, Copy)]
struct Network {
    /// Attempts whose connection is closed 2 to 40 ms after the request was written.
    cut: u64,
    /// Attempts whose answer is read and then dropped, as if the connection had failed.
    lose: u64,
}

/// Sends `build()` until it gets an answer that is not a connection error, a 5xx or a 409
/// in progress, checking each answer is a success or the contract's envelope. The
/// network cuts some attempts and loses some answers, as `net` says.
fn send_retrying(
    tally: &Tally,
    rng: &mut fastrand::Rng,
    net: Network,
    what: &str,
    build: impl Fn() -> connect_e2e::RequestBuilder,
) -> Outcome {
    let mut all: Vec<Response> = Vec::new();
    // Whether an earlier attempt's answer was lost, and whether one was cut.
    let (mut lost_before, mut cut_before) = (false, false);
    for attempt in 0..MAX_TRIES {
        if attempt > 0 {
            tally.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20 * u64::from(attempt.min(10))));
        }
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let draw = rng.u64(0..=99);
        let cut = draw < net.cut;
        let lose = !cut && draw < net.cut + net.lose;
        let timeout = if cut {
            Duration::from_millis(rng.u64(2..=40))
        } else {
            Duration::from_secs(120)
        };
        let res = match build().timeout(timeout).try_send() {
            Ok(res) if lose => {
                tally.lost.fetch_add(1, Ordering::Relaxed);
                lost_before |= res.status == 201 || res.status == 200;
                continue;
            }
            Ok(res) => res,
            Err(_) => {
                if cut {
                    tally.cut.fetch_add(1, Ordering::Relaxed);
                    cut_before = true;
                } else {
                    tally.connection_errors.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
        };
        if res.header("idempotency-replayed") == Some("true") {
            if lost_before {
                tally.replayed_after_lost.fetch_add(1, Ordering::Relaxed);
            } else if cut_before {
                tally.replayed_after_cut.fetch_add(1, Ordering::Relaxed);
            }
        }
        let retry = match res.status {
            200..=299 => false,
            _ => {
                let env = serde_json::from_slice::<ErrorEnvelope>(&res.body)
                    .ok()
                    .filter(|e| {
                        res.header("content-type") == Some("application/json")
                            && res.header("x-request-id") == Some(e.request_id.as_str())
                    });
                let Some(env) = env else {
                    tally.opaque.lock().unwrap().push(format!(
                        "{what}: {} {}",
                        res.status,
                        res.text()
                    ));
                    all.push(res);
                    continue;
                };
                if res.status >= 500 {
                    tally.server_errors.fetch_add(1, Ordering::Relaxed);
                    if env.error.code != ErrorCode::SystemInternalError {
                        tally
                            .opaque
                            .lock()
                            .unwrap()
                            .push(format!("{what}: {}", res.text()));
                    }
                    if env.error.message.contains("may or may not have happened") {
                        tally.in_doubt.fetch_add(1, Ordering::Relaxed);
                    }
                }
                res.status >= 500 || env.error.code == ErrorCode::IdempotencyRequestInProgress
            }
        };
        // A replay after 500s that all said "nothing was changed": one of them lied.
        if res.header("idempotency-replayed") == Some("true")
            && !all.iter().any(|r| r.status < 300)
            && all.iter().any(|r| r.status >= 500)
            && all
                .iter()
                .filter(|r| r.status >= 500)
                .all(|r| r.text().contains("nothing was changed"))
        {
            tally
                .false_nothing_changed
                .lock()
                .unwrap()
                .push(what.to_owned());
        }
        all.push(res);
        if !retry {
            break;
        }
    }
    let last = all.last().filter(|r| r.status < 500).cloned();
    Outcome { last, all }
}

/// One logical batch: its key, items (by name) and what came of it.
struct Batch {
    key: String,
    names: Vec<String>,
    /// The bodies of every 201 to this key.
    successes: Vec<Vec<u8>>,
}

/// Shared by the clients: apps created so far (for the changes), and the deletes.
#[derive(Default)]
struct Shared {
    apps: Mutex<Vec<String>>,
    /// Apps a client sent a DELETE for (it may have happened whatever the answer).
    delete_sent: Mutex<HashSet<String>>,
}

fn client_run(
    t: &Tenant,
    seed: u64,
    c: usize,
    batches: usize,
    net: Network,
    tally: &Tally,
    shared: &Shared,
) -> Vec<Batch> {
    let mut rng = fastrand::Rng::with_seed(seed ^ (c as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut done = Vec::with_capacity(batches);
    for b in 0..batches {
        let n = rng.u64(1..=60) as usize;
        let names: Vec<String> = (0..n)
            .map(|i| format!("chaos c{c:02} b{b:02} i{i:03}"))
            .collect();
        let items: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({ "name": name, "redirectUris": [format!("https://c{c}.example.com/cb")],
                        "idempotencyKey": format!("item-{seed}-{c}-{b}-{i}") })
            })
            .collect();
        let body = json!({ "items": items });
        let key = format!("chaos-{seed}-{c}-{b}");
        let out = send_retrying(tally, &mut rng, net, &key, || {
            t.request("POST", "/connect/v1/apps/batch")
                .header("Idempotency-Key", &key)
                .json(&body)
        });
        let successes: Vec<Vec<u8>> = out
            .all
            .iter()
            .filter(|r| r.status == 201)
            .map(|r| r.body.clone())
            .collect();
        if let Some(res) = out.last.as_ref().filter(|r| r.status == 201) {
            let answer: BatchCreateResponse = res.json();
            let ids: Vec<String> = answer
                .results
                .iter()
                .filter_map(|r| r.app.as_ref().map(|a| a.client_id.to_string()))
                .collect();
            shared.apps.lock().unwrap().extend(ids);
        }
        done.push(Batch {
            key,
            names,
            successes,
        });

        // Changes of apps any client created, concurrent with the other clients' batches.
        for op in 0..rng.u64(0..=3) {
            let target = {
                let apps = shared.apps.lock().unwrap();
                if apps.is_empty() {
                    break;
                }
                apps[rng.usize(..apps.len())].clone()
            };
            let path = format!("/connect/v1/apps/{target}");
            match rng.u64(0..=99) {
                0..=44 => {
                    let patch = json!({ "redirectUris": [format!("https://patched{}.example.com/cb", rng.u64(..1000))] });
                    send_retrying(tally, &mut rng, net, &format!("PATCH {target}"), || {
                        t.request("PATCH", &path).json(&patch)
                    });
                }
                45..=84 => {
                    let key = format!("rotate-{seed}-{c}-{b}-{op}");
                    let out = send_retrying(tally, &mut rng, net, &key, || {
                        t.request("POST", &format!("{path}/rotate-client-secret"))
                            .header("Idempotency-Key", &key)
                    });
                    let answers: Vec<&Response> =
                        out.all.iter().filter(|r| r.status == 201).collect();
                    if answers.iter().any(|r| r.body != answers[0].body) {
                        tally.differing.lock().unwrap().push(key);
                    }
                }
                _ => {
                    shared.delete_sent.lock().unwrap().insert(target.clone());
                    send_retrying(tally, &mut rng, net, &format!("DELETE {target}"), || {
                        t.request("DELETE", &path)
                    });
                }
            }
        }
    }
    done
}

#[test]
fn exactly_once_and_no_partial_state_when_requests_are_cut_and_answers_lost() {
    let seed: u64 = env_or("CHAOS_SEED", 20_261_206);
    let clients: usize = env_or("CHAOS_CLIENTS", 8);
    let batches: usize = env_or("CHAOS_BATCHES", 15);
    let net = Network {
        cut: env_or("CHAOS_CUT", 15),
        lose: env_or("CHAOS_LOSE", 15),
    };
    // The per-key rate limit (100 requests in 10 s) would answer most of the load 429.
    let server = Server::start(ServerConfig::project().with_rate_limit_lifted());
    let t = server.tenant();
    let t0 = Instant::now();
    let tally = Tally::default();
    let shared = Shared::default();
    let runs: Vec<Batch> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (t, tally, shared) = (&t, &tally, &shared);
                s.spawn(move || client_run(t, seed, c, batches, net, tally, shared))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = t0.elapsed();

    let ws = t.workspace.to_string();
    let mut problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut problem =
        |kind: &'static str, what: String| problems.entry(kind).or_default().push(what);

    let rows = server.d1(&format!(
        "SELECT client_id, doc ->> '$.name' AS name FROM apps WHERE workspace_id = '{ws}'"
    ));
    let mut stored: HashMap<String, Vec<String>> = HashMap::new();
    for row in &rows {
        stored
            .entry(row["name"].as_str().unwrap().to_owned())
            .or_default()
            .push(row["client_id"].as_str().unwrap().to_owned());
    }
    let claims: HashSet<String> = server
        .d1(&format!(
            "SELECT key_hash FROM idempotency_keys WHERE scope = '{ws}'"
        ))
        .iter()
        .map(|r| r["key_hash"].as_str().unwrap().to_owned())
        .collect();
    // KV's copies of the records: each is a record D1 holds.
    let prefix = format!("idem/{ws}/");
    for name in server.kv_keys() {
        if let Some(hash) = name.strip_prefix(&prefix) {
            if !claims.contains(hash) {
                problem("a KV record without its D1 record", name.clone());
            }
        }
    }
    let delete_sent = shared.delete_sent.lock().unwrap().clone();
    let mut named = 0usize;
    let mut answered = 0usize;
    let mut apps_created = 0usize;
    for batch in &runs {
        let has_claim = claims.contains(&sha256_hex(batch.key.as_bytes()));
        let ids: Option<Vec<String>> = batch.successes.first().map(|body| {
            serde_json::from_slice::<BatchCreateResponse>(body)
                .unwrap()
                .results
                .iter()
                .map(|r| {
                    r.app
                        .as_ref()
                        .expect("every item is valid")
                        .client_id
                        .to_string()
                })
                .collect()
        });
        if batch.successes.iter().any(|b| b != &batch.successes[0]) {
            problem("answers to one key differ", batch.key.clone());
        }
        let present: usize = batch
            .names
            .iter()
            .map(|n| stored.get(n).map_or(0, Vec::len))
            .sum();
        named += present;
        match ids {
            Some(ids) => {
                answered += 1;
                apps_created += ids.len();
                if !has_claim {
                    problem(
                        "apps of a keyed batch without its record",
                        batch.key.clone(),
                    );
                }
                for (name, id) in batch.names.iter().zip(&ids) {
                    let found = stored.get(name).cloned().unwrap_or_default();
                    match found.as_slice() {
                        [one] if one == id => {}
                        [] if delete_sent.contains(id) => {}
                        _ => problem(
                            "an item not stored exactly once as answered",
                            format!("{name}: answered {id}, stored {found:?}"),
                        ),
                    }
                }
            }
            // Never answered (the client gave up): all of it or none, with its record.
            None => {
                if present != 0 && (present != batch.names.len() || !has_claim) {
                    problem(
                        "partial state",
                        format!(
                            "{}: {present} of {} apps, record {has_claim}",
                            batch.key,
                            batch.names.len()
                        ),
                    );
                }
                if has_claim && present == 0 {
                    problem("a recorded response without its apps", batch.key.clone());
                }
            }
        }
    }
    if named != rows.len() {
        problem(
            "apps no answer named",
            format!("{} rows, {named} named", rows.len()),
        );
    }
    let count = server.d1(&format!(
        "SELECT apps_count FROM workspaces WHERE id = '{ws}'"
    ));
    let apps_count = count[0]["apps_count"].as_u64().unwrap() as usize;
    if apps_count != rows.len() {
        problem(
            "apps_count is not the rows",
            format!("apps_count {apps_count}, rows {}", rows.len()),
        );
    }
    let total = t.total() as usize;
    if total != rows.len() {
        problem(
            "total is not the rows",
            format!("total {total}, rows {}", rows.len()),
        );
    }
    for key in tally.differing.lock().unwrap().iter() {
        problem("answers to one key differ", key.clone());
    }
    for o in tally.opaque.lock().unwrap().iter() {
        problem("a response neither a success nor the envelope", o.clone());
    }
    for o in tally.false_nothing_changed.lock().unwrap().iter() {
        problem(
            "a 500 said nothing was changed, then its change was replayed",
            o.clone(),
        );
    }
    let log = server.log();
    let logged_secret = ["sh_app_", "whsec_"].iter().any(|prefix| {
        log.match_indices(prefix).any(|(i, _)| {
            let rest = &log.as_bytes()[i + prefix.len()..];
            rest.len() >= 64
                && rest[..64]
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        })
    });
    if logged_secret {
        problem("a secret in the log", "wrangler.log".into());
    }

    let count = |n: &AtomicU64| n.load(Ordering::Relaxed);
    eprintln!(
        "chaos: seed {seed}, {clients} clients x {batches} batches ({answered} answered, {apps_created} apps created, {} stored after deletes): {} requests, {} retries, {} cut ({} of them replayed later: their write had happened), {} answers lost ({} replayed later), {} 5xx ({} in doubt), {} other connection errors, in {:.1} s",
        rows.len(),
        count(&tally.requests),
        count(&tally.retries),
        count(&tally.cut),
        count(&tally.replayed_after_cut),
        count(&tally.lost),
        count(&tally.replayed_after_lost),
        count(&tally.server_errors),
        count(&tally.in_doubt),
        count(&tally.connection_errors),
        elapsed.as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "chaos (seed {seed}) found:\n{}",
        problems
            .iter()
            .map(|(kind, list)| format!(
                "  {} x {kind}: {:?}",
                list.len(),
                &list[..list.len().min(5)]
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if net.lose > 0 {
        assert!(
            count(&tally.replayed_after_lost) > 0,
            "no lost answer was followed by a replay: the faults struck no write"
        );
    }
    if net.cut > 0 {
        assert!(count(&tally.cut) > 0, "no attempt was cut");
    }
    assert_eq!(
        answered,
        runs.len(),
        "every logical batch was answered within {MAX_TRIES} tries"
    );
    // Stored state scanned last (it is the largest read).
    assert_no_secret_shapes(&server);
}
