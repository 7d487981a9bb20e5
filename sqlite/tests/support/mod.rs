//! What the native tests share: a deployment of shards in a temporary folder, key rings,
//! workspaces, requests sent as the Worker sends them (`perform` on the workspace's shard,
//! the recorded answer's KV copy put after the answer), the operations of the app routes
//! built as the Worker builds them, and reads of the stored state for the checks.
//!
//! Each test binary uses a part of it.
#![allow(dead_code)]

use connect_core::rules::app::{AppPatch, NewApp};
use connect_core::rules::batch;
use connect_core::rules::input::{FromJson, Path};
use connect_core::server::admin::CreatedWorkspace;
use connect_core::server::app::Held;
use connect_core::server::failure::Failure;
use connect_core::server::operations::app::{Change, ChangeApp, ChangeTools};
use connect_core::server::operations::apps::{BatchCreate, CreateApp};
use connect_core::server::operations::workspaces::CreateWorkspace;
use connect_core::server::perform::{
    perform, Backend, Operation, Performed, Tools, WriteRequest, OPERATORS,
};
use connect_core::server::recorded::RecordedResponse;
use connect_core::server::seal::KeyRing;
use connect_core::server::shards::ClientIdClass;
use connect_core::server::storage::KeyValue;
use connect_core::test_util::SeededEntropy;
use connect_core::wire::app::{App, RotatedClientSecret, RotatedWebhookSecret};
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::request::{CreateAppRequest, UpdateAppRequest};
use connect_core::wire::response::BatchCreateResponse;
use connect_core::wire::secrets::{ApiKey, ClientSecret, KeyEnvironment, WebhookSecret};
use connect_core::wire::time::Timestamp;
use connect_sqlite::faults::Faults;
use connect_sqlite::{block_on, MemoryKv, Native, Shards};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::cell::Cell;
use std::rc::Rc;
use tempfile::TempDir;

/// The first shard: the directory, the operators' records.
pub const SHARD_1: &str = "SHARD_1";
/// A second shard, where the tests' workspaces live unless they say otherwise.
pub const SHARD_2: &str = "SHARD_2";

/// 2026-03-01T00:00:00.000Z: every test's "now" unless it moves its clock.
pub const T0_MS: i64 = 1_772_323_200_000;

/// The time of [`T0_MS`].
pub fn t0() -> Timestamp {
    Timestamp::from_millis(T0_MS)
}

/// The path of `POST /apps/batch`.
pub const BATCH_PATH: &str = "/connect/v1/apps/batch";

/// A key ring of the ids in `ids`, the first the primary (`"k2,k1"`). Each key's bytes are
/// the SHA-256 of its id, so `k1` is the same key in every ring.
pub fn ring(ids: &str) -> KeyRing {
    let text: Vec<String> = ids
        .split(',')
        .map(|id| {
            format!(
                "{id}:{}",
                connect_core::rules::api_key::sha256_hex(id.as_bytes())
            )
        })
        .collect();
    KeyRing::parse(&text.join(",")).expect("a valid ring")
}

/// A seed for one request of one test: distinct inputs give distinct seeds.
pub fn seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0x9E37_79B9_7F4A_7C15, |acc, &p| {
        (acc ^ p)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
            .rotate_left(31)
    })
}

/// A fresh folder for a test's files, removed after it: in memory where the system has a
/// tmpfs at `/dev/shm` (the shards' writes then cost no disk I/O, which other work on the
/// machine would slow down), else in the system's temporary folder.
pub fn temp_dir() -> TempDir {
    let shm = std::path::Path::new("/dev/shm");
    match shm.is_dir() {
        true => tempfile::tempdir_in(shm),
        false => tempfile::tempdir(),
    }
    .expect("a temporary folder")
}

/// A deployment: shards as migrated SQLite files in a folder of the test's own, and a
/// key-value store.
pub struct Deployment {
    /// The shards (their files are removed with the folder).
    pub shards: Shards,
    /// The key-value store of recorded answers.
    pub kv: MemoryKv,
    /// A connection to each shard, open as long as the deployment: a request opens and
    /// closes its own, and the last connection to close a file checkpoints its WAL and
    /// removes it, with an fsync, on every request (as no long-lived D1 database does).
    _held: std::sync::Mutex<Vec<Connection>>,
    _dir: TempDir,
}

impl Deployment {
    /// Shards `names`, migrated, in a fresh folder; an empty key-value store.
    pub fn new(names: &[&str]) -> Self {
        let dir = temp_dir();
        let shards = Shards::create(dir.path(), names).expect("migrated shards");
        let held = names
            .iter()
            .map(|name| Connection::open(shards.path(name)).expect("the shard's file"))
            .collect();
        Self {
            shards,
            kv: MemoryKv::new(),
            _held: std::sync::Mutex::new(held),
            _dir: dir,
        }
    }

    /// Shards `names` in a fresh folder with the migrations up to `last` applied (a
    /// deployment from before the later ones); an empty key-value store.
    pub fn through(names: &[&str], last: &str) -> Self {
        let dir = temp_dir();
        let shards = Shards::create_through(dir.path(), names, last).expect("migrated shards");
        let held = names
            .iter()
            .map(|name| Connection::open(shards.path(name)).expect("the shard's file"))
            .collect();
        Self {
            shards,
            kv: MemoryKv::new(),
            _held: std::sync::Mutex::new(held),
            _dir: dir,
        }
    }

    /// A request's backend: these shards and key-value store, on a clock stopped at `now`.
    pub fn at(&self, now: Timestamp) -> Native<'_> {
        Native::new(&self.shards, Some(self.kv.clone())).with_clock(move || now)
    }

    /// A request's backend without a key-value store (every replay from the database).
    pub fn without_kv(&self, now: Timestamp) -> Native<'_> {
        Native::new(&self.shards, None).with_clock(move || now)
    }

    /// A connection of the test's own to shard `name`, for its checks.
    pub fn sql(&self, name: &str) -> Connection {
        Connection::open(self.shards.path(name)).expect("the shard's file")
    }

    /// The one integer `query` reads in shard `name`.
    pub fn int(&self, name: &str, query: &str) -> i64 {
        self.sql(name)
            .query_row(query, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    }
}

/// Shards and a key-value store that fail as `faults` says, over the same files and
/// entries as `deployment`'s.
pub struct Faulty {
    /// The shards, every connection failing as planned.
    pub shards: Shards,
    /// The key-value store, failing as planned, sharing the deployment's entries.
    pub kv: MemoryKv,
}

impl Faulty {
    /// `deployment`'s storage failing as `faults` says.
    pub fn new(deployment: &Deployment, faults: &Faults) -> Self {
        Self {
            shards: deployment.shards.clone().with_faults(faults.clone()),
            kv: deployment.kv.clone().with_faults(faults.clone()),
        }
    }

    /// A request's backend on this storage, on a clock stopped at `now`.
    pub fn at(&self, now: Timestamp) -> Native<'_> {
        Native::new(&self.shards, Some(self.kv.clone())).with_clock(move || now)
    }
}

/// A workspace, its shard and its first API key.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// Its shard.
    pub shard: String,
    /// The class of the client ids its shard mints.
    pub class: ClientIdClass,
    /// Its first API key.
    pub api_key: ApiKey,
    /// That key's id.
    pub key_id: ApiKeyId,
    /// That key's hash.
    pub key_hash: String,
}

impl Tenant {
    /// The workspace id, as a request's scope.
    pub fn scope(&self) -> &str {
        self.workspace.as_str()
    }
}

/// A request as [`perform`] takes it, owned.
#[derive(Debug, Clone)]
pub struct Req {
    /// The method.
    pub method: &'static str,
    /// The path.
    pub path: String,
    /// The body, if any.
    pub body: Option<Value>,
    /// The `Idempotency-Key`, if any.
    pub key: Option<String>,
    /// The workspace id, or the operators'.
    pub scope: String,
}

impl Req {
    /// `POST path` with `body` and `key` in `scope`.
    pub fn post(path: &str, body: Option<Value>, key: Option<&str>, scope: &str) -> Self {
        Self {
            method: "POST",
            path: path.to_owned(),
            body,
            key: key.map(str::to_owned),
            scope: scope.to_owned(),
        }
    }

    /// `method path` with `body`, no key, in `scope`.
    pub fn unkeyed(method: &'static str, path: &str, body: Option<Value>, scope: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            body,
            key: None,
            scope: scope.to_owned(),
        }
    }

    fn write(&self) -> WriteRequest<'_> {
        WriteRequest {
            method: self.method,
            path: &self.path,
            body: self.body.as_ref(),
            key: self.key.as_deref(),
            scope: &self.scope,
        }
    }
}

/// What a request came to, and whether a write of it may have happened.
#[derive(Debug)]
pub struct Answer {
    /// The answer, or the failure.
    pub result: Result<Performed, Failure>,
    /// `Writes::may_have_happened` after it: whether a failure may hide a change.
    pub may_have_happened: bool,
}

impl Answer {
    /// The answer, which must have come.
    pub fn ok(self) -> Performed {
        match self.result {
            Ok(done) => done,
            Err(e) => panic!("the request failed: {e:?}"),
        }
    }

    /// The failure, which must have come.
    pub fn err(self) -> Failure {
        match self.result {
            Ok(done) => panic!("the request succeeded: {:?}", done.answer),
            Err(e) => e,
        }
    }
}

/// How a request is sent: with which backend, ring, time and randomness, to which shard,
/// and which API key its session confirms (none for the operators').
pub struct Sender<'a, 'b> {
    /// The backend (one per request: it counts the request's writes).
    pub native: &'b Native<'a>,
    /// The key ring.
    pub ring: &'b KeyRing,
    /// The request's time.
    pub now: Timestamp,
    /// The seed of its randomness.
    pub seed: u64,
    /// The shard its transaction goes to.
    pub shard: &'b str,
    /// The hash of the API key its session confirms, if any.
    pub confirm: Option<&'b str>,
}

impl<'a> Sender<'a, '_> {
    /// Sends `req` as the Worker does: `perform` on the shard's session (confirming the
    /// key, then confirming it at the end if nothing did), and the recorded answer's
    /// key-value copy put once the answer is out.
    pub fn send<O: Operation<Native<'a>>>(&self, req: &Req, op: Result<O, Failure>) -> Answer {
        let mut random = SeededEntropy::new(self.seed);
        let result = block_on(async {
            let db = self.native.shard(self.shard)?;
            if let Some(hash) = self.confirm {
                db.confirm_key(hash.to_owned());
            }
            let mut tools = Tools {
                backend: self.native,
                ring: self.ring,
                now: self.now,
                random: &mut random,
            };
            let answer = perform(&db, &mut tools, req.write(), op).await;
            if let (Ok(done), Some(kv)) = (&answer, self.native.kv()) {
                if let Some(put) = &done.remember {
                    kv.put(&put.name, put.text.clone(), put.ttl_seconds).await;
                }
            }
            // A request that reached no database call confirms its key now: a revoked
            // key is refused whatever it was answered.
            db.finish_key_check().await?;
            answer
        });
        Answer {
            result,
            may_have_happened: self.native.writes().may_have_happened(),
        }
    }
}

/// Sends `req` for `tenant` (to its shard, confirming its key) on `native`, at `now`.
pub fn send<'a, O: Operation<Native<'a>>>(
    native: &Native<'a>,
    ring: &KeyRing,
    now: Timestamp,
    seed: u64,
    tenant: &Tenant,
    req: &Req,
    op: Result<O, Failure>,
) -> Answer {
    Sender {
        native,
        ring,
        now,
        seed,
        shard: &tenant.shard,
        confirm: Some(&tenant.key_hash),
    }
    .send(req, op)
}

/// Creates a workspace in shard `shard` through the operators' route, with ring `ring`,
/// at [`t0`]; `n` tells the workspaces of a test apart.
pub fn create_workspace(deployment: &Deployment, ring: &KeyRing, shard: &str, n: u64) -> Tenant {
    let native = deployment.at(t0());
    let sender = Sender {
        native: &native,
        ring,
        now: t0(),
        seed: seed(&[0x0C0F_FEE5, n]),
        shard: SHARD_1,
        confirm: None,
    };
    let req = Req::post(
        "/admin/v1/workspaces",
        None,
        Some(&format!("workspace-{n}")),
        OPERATORS,
    );
    let done = sender
        .send(
            &req,
            Ok(CreateWorkspace::new(shard.to_owned(), KeyEnvironment::Test)),
        )
        .ok();
    assert_eq!(done.answer.status, 201);
    let created: CreatedWorkspace = serde_json::from_str(&done.answer.body).expect("the answer");
    let place = deployment
        .shards
        .names()
        .iter()
        .position(|n| n == shard)
        .expect("a shard of the deployment");
    Tenant {
        workspace: created.workspace.id,
        shard: shard.to_owned(),
        class: ClientIdClass::new(place).expect("a class"),
        key_hash: created.api_key.key.hash(),
        api_key: created.api_key.key,
        key_id: created.api_key.id,
    }
}

/// A batch body of `n` items named `{prefix} i{i}`, each with an item `idempotencyKey`.
pub fn batch_body(prefix: &str, n: usize) -> Value {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "name": format!("{prefix} i{i:03}"),
                "redirectUris": [format!("https://{}.example.com/cb", i % 7)],
                "idempotencyKey": format!("{prefix}-item-{i}"),
            })
        })
        .collect();
    json!({ "items": items })
}

/// The operation of `POST /apps/batch` with `body`, judged as the Worker judges it.
pub fn batch_op(tenant: &Tenant, body: &Value) -> Result<BatchCreate, Failure> {
    Ok(BatchCreate::new(
        tenant.workspace.clone(),
        batch::plan(body)?,
        tenant.class,
    ))
}

/// The operation of `POST /apps` with `body`, judged as the Worker judges it.
pub fn create_op(tenant: &Tenant, body: &Value) -> Result<CreateApp, Failure> {
    let request = CreateAppRequest::from_json(body, "")?;
    Ok(CreateApp::new(
        tenant.workspace.clone(),
        NewApp::validate(&request, Path::Root)?,
        tenant.class,
    ))
}

/// `POST /apps/batch` with `body` and `key` in `tenant`'s workspace.
pub fn batch_req(tenant: &Tenant, body: &Value, key: Option<&str>) -> Req {
    Req::post(BATCH_PATH, Some(body.clone()), key, tenant.scope())
}

/// The client ids a batch's answer gave, in item order (every item must have succeeded).
pub fn batch_ids(answer: &RecordedResponse) -> Vec<String> {
    let body: BatchCreateResponse = serde_json::from_str(&answer.body).expect("a batch answer");
    body.results
        .iter()
        .map(|r| {
            r.app
                .as_ref()
                .expect("every item succeeded")
                .client_id
                .to_string()
        })
        .collect()
}

/// The path of app `id`, with `rest` after it.
pub fn app_path(id: &str, rest: &str) -> String {
    format!("/connect/v1/apps/{id}{rest}")
}

/// Where a change records the `updatedAt` of its last attempt: after a fresh success,
/// that of the write that committed. A change's `updatedAt` is one past the app's last
/// when the clock stands still, so it is the change's place in the app's history.
pub type Committed = Rc<Cell<Option<Timestamp>>>;

/// A change of the app routes' kind, its last attempt's `updatedAt` kept in `committed`.
pub type AppChange =
    ChangeApp<Box<dyn FnMut(&App<Held>, &mut ChangeTools<'_>) -> Result<Change, Failure>>>;

/// `PATCH /apps/{id}` with `body`, as the Worker builds it.
pub fn patch_op(
    tenant: &Tenant,
    id: &str,
    body: &Value,
    committed: Committed,
) -> Result<AppChange, Failure> {
    let patch = AppPatch::validate(&UpdateAppRequest::from_json(body, "")?)?;
    Ok(ChangeApp::new(
        tenant.workspace.clone(),
        id,
        Box::new(move |current, cx| {
            let next = current.patched(&patch, cx.now)?;
            committed.set(next.as_ref().map(|n| n.updated_at));
            let shown = next.as_ref().unwrap_or(current).show()?;
            Ok((next, RecordedResponse::json(200, &shown)?))
        }),
    ))
}

/// `POST /apps/{id}/rotate-client-secret`, as the Worker builds it.
pub fn rotate_client_secret_op(tenant: &Tenant, id: &str, committed: Committed) -> AppChange {
    ChangeApp::new(
        tenant.workspace.clone(),
        id,
        Box::new(move |current, cx| {
            let secret = ClientSecret::generate(&mut *cx.random);
            let answer = RotatedClientSecret {
                client_secret: secret.clone(),
            };
            let next = current.with_client_secret(secret, cx.now);
            committed.set(Some(next.updated_at));
            Ok((Some(next), RecordedResponse::json(201, &answer)?))
        }),
    )
}

/// `POST /apps/{id}/webhook-config/rotate-secret`, as the Worker builds it.
pub fn rotate_webhook_secret_op(tenant: &Tenant, id: &str, committed: Committed) -> AppChange {
    ChangeApp::new(
        tenant.workspace.clone(),
        id,
        Box::new(move |current, cx| {
            let secret = WebhookSecret::generate(&mut *cx.random);
            let answer = RotatedWebhookSecret {
                secret: secret.clone(),
            };
            let next = current.with_webhook_secret(secret, cx.now);
            committed.set(Some(next.updated_at));
            Ok((Some(next), RecordedResponse::json(200, &answer)?))
        }),
    )
}

/// The client secret a rotation's answer gave.
pub fn rotated_client_secret(answer: &RecordedResponse) -> String {
    let body: RotatedClientSecret = serde_json::from_str(&answer.body).expect("a rotation");
    body.client_secret.expose().to_owned()
}

/// The webhook secret a rotation's answer gave.
pub fn rotated_webhook_secret(answer: &RecordedResponse) -> String {
    let body: RotatedWebhookSecret = serde_json::from_str(&answer.body).expect("a rotation");
    body.secret.expose().to_owned()
}

/// A stored app, as its row holds it.
#[derive(Debug, Clone)]
pub struct StoredApp {
    /// Its client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: i64,
    /// The ids of the keys its sealed values name (the row's `key_ids`).
    pub key_ids: Vec<String>,
    /// The stored document.
    pub doc: String,
}

impl StoredApp {
    /// The app, its secrets opened with `ring`.
    pub fn open(&self, ring: &KeyRing) -> App<Held> {
        let stored: App<connect_core::server::row::Stored> =
            serde_json::from_str(&self.doc).expect("a stored app");
        stored.open(ring)
    }

    /// Its client secret, opened with `ring` (which must open it).
    pub fn client_secret(&self, ring: &KeyRing) -> String {
        let app = self.open(ring);
        app.client_secret
            .open()
            .expect("the client secret opens")
            .expose()
            .to_owned()
    }

    /// Its webhook secret, if it has one, opened with `ring` (which must open it).
    pub fn webhook_secret(&self, ring: &KeyRing) -> Option<String> {
        let app = self.open(ring);
        app.webhook_config.secret.as_ref().map(|s| {
            s.open()
                .expect("the webhook secret opens")
                .expose()
                .to_owned()
        })
    }
}

/// The apps of `workspace` stored in shard `shard`, in creation order.
pub fn stored_apps(deployment: &Deployment, shard: &str, workspace: &str) -> Vec<StoredApp> {
    let conn = deployment.sql(shard);
    let mut query = conn
        .prepare(
            "SELECT client_id, doc ->> '$.name', version, key_ids, doc FROM apps \
             WHERE workspace_id = ?1 ORDER BY position",
        )
        .expect("the query");
    let rows = query
        .query_map([workspace], |r| {
            let key_ids: String = r.get(3)?;
            Ok(StoredApp {
                client_id: r.get(0)?,
                name: r.get(1)?,
                version: r.get(2)?,
                key_ids: serde_json::from_str(&key_ids).expect("key ids"),
                doc: r.get(4)?,
            })
        })
        .expect("the rows");
    rows.collect::<Result<_, _>>().expect("the rows")
}

/// The workspace's `apps_count`.
pub fn apps_count(deployment: &Deployment, tenant: &Tenant) -> i64 {
    deployment.int(
        &tenant.shard,
        &format!(
            "SELECT apps_count FROM workspaces WHERE id = '{}'",
            tenant.scope()
        ),
    )
}

/// The hashes of the keys claimed in `scope`, in shard `shard`.
pub fn claimed(deployment: &Deployment, shard: &str, scope: &str) -> Vec<String> {
    let conn = deployment.sql(shard);
    let mut query = conn
        .prepare("SELECT key_hash FROM idempotency_keys WHERE scope = ?1 ORDER BY key_hash")
        .expect("the query");
    let rows = query.query_map([scope], |r| r.get(0)).expect("the rows");
    rows.collect::<Result<_, _>>().expect("the rows")
}

/// The hash an `Idempotency-Key` is stored under.
pub fn key_hash(key: &str) -> String {
    connect_core::rules::idempotency::IdempotencyKey::parse(key)
        .expect("a valid key")
        .hash()
}

/// `(kind, key id, sealed)` of every row of `sealed_counts` in shard `shard`.
pub fn sealed_counts(deployment: &Deployment, shard: &str) -> Vec<(String, String, i64)> {
    let conn = deployment.sql(shard);
    let mut query = conn
        .prepare("SELECT kind, key_id, sealed FROM sealed_counts ORDER BY kind, key_id")
        .expect("the query");
    let rows = query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("the rows");
    rows.collect::<Result<_, _>>().expect("the rows")
}

/// How many values of `kind` key `key_id` seals in shard `shard`, by `sealed_counts`.
pub fn sealed_under(deployment: &Deployment, shard: &str, kind: &str, key_id: &str) -> i64 {
    sealed_counts(deployment, shard)
        .into_iter()
        .find(|(k, id, _)| k == kind && id == key_id)
        .map_or(0, |(_, _, n)| n)
}
