//! Every SQL statement of the Worker. Statements that must happen together go through
//! [`Store::commit`], one D1 batch: a single round trip and a single transaction, so a
//! failure leaves nothing behind.

use crate::error::{ApiError, ApiResult};
use connect_core::ids::{ApiKeyId, ClientId, WorkspaceId};
use connect_core::pagination::PageRequest;
use connect_core::stored::AppRow;
use connect_core::time::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

/// The uniqueness rule a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A freshly minted client id exists already (about one in 2^47 per app).
    ClientId,
    /// Another request claimed the `Idempotency-Key` first.
    IdempotencyKey,
}

/// The outcome of a transaction whose only expected failure is a uniqueness conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The transaction ran; `changes` is what its statement at the index asked for by
    /// [`Store::commit`] changed.
    Done {
        /// Rows changed by the watched statement.
        changes: usize,
    },
    /// Nothing was written: a unique value was taken.
    Taken(Taken),
}

/// The D1 database.
pub struct Store {
    db: D1Database,
    round_trips: RoundTrips,
}

/// How many D1 round trips a request made (each `batch`, `first` or `run` is one),
/// reported in `Server-Timing` so tests and benchmarks can hold the count down.
pub type RoundTrips = Rc<Cell<u32>>;

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

/// D1 hands numbers over as JavaScript doubles; every count here is far below 2^53.
fn n(v: u64) -> JsValue {
    JsValue::from_f64(v as f64)
}

fn ms(t: Timestamp) -> JsValue {
    JsValue::from_f64(t.millis() as f64)
}

#[derive(Deserialize)]
struct WorkspaceIdRow {
    workspace_id: String,
}

#[derive(Deserialize)]
struct WorkspaceRow {
    created_at: String,
    apps_count: f64,
}

/// A list page as `list_apps` reads it: the workspace's generation and count, and the
/// page's rows as one JSON array of [`AppTuple`]s (none when the generation is the one the
/// caller knew).
#[derive(Deserialize)]
struct PageRow {
    generation: f64,
    total: f64,
    page: Option<String>,
}

/// What [`Store::list_apps`] found.
pub enum Listing {
    /// The workspace is still at the generation the caller knew.
    Unchanged,
    /// The page's rows.
    Fresh {
        /// The workspace's generation they were read at; `None` if the workspace is gone.
        generation: Option<i64>,
        /// The workspace's app count.
        total: u64,
        /// The page.
        rows: Vec<AppRow>,
    },
}

/// An apps row as `json_array` writes it, in the column order of `list_apps`. The doc
/// comes as JSON, not as a string of it: SQLite writes it as stored, byte for byte, and
/// neither side escapes or unescapes its quotes.
type AppTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Box<RawValue>,
    i64,
);

/// A stored idempotency claim.
#[derive(Debug, Deserialize)]
pub struct ClaimRow {
    /// Fingerprint of the request that claimed the key.
    pub fingerprint: String,
    /// The sealed response.
    pub response: String,
    /// Ms since the epoch when the key is free again.
    pub expires_at: f64,
}

#[derive(Deserialize)]
struct RevokedRow {
    revoked_at: String,
}

impl Store {
    /// The `DB` binding, counting round trips into `round_trips`.
    pub fn new(env: &Env, round_trips: RoundTrips) -> ApiResult<Self> {
        Ok(Self {
            db: env.d1("DB")?,
            round_trips,
        })
    }

    fn round_trip(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }

    fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        Ok(self.db.prepare(sql).bind(args)?)
    }

    /// Runs `statements` as one transaction, reporting the rows changed by statement
    /// `watch`.
    pub async fn commit(
        &self,
        statements: Vec<D1PreparedStatement>,
        watch: usize,
    ) -> ApiResult<Commit> {
        self.round_trip();
        match self.db.batch(statements).await {
            Ok(results) => {
                let changes = match results.get(watch) {
                    Some(r) => r.meta()?.and_then(|m| m.changes).unwrap_or(0),
                    None => 0,
                };
                Ok(Commit::Done { changes })
            }
            Err(e) => {
                let text = e.to_string();
                if text.contains("UNIQUE constraint failed: apps.client_id") {
                    Ok(Commit::Taken(Taken::ClientId))
                } else if text.contains("UNIQUE constraint failed: idempotency_keys.") {
                    Ok(Commit::Taken(Taken::IdempotencyKey))
                } else {
                    Err(ApiError::Internal(format!("D1 write: {text}")))
                }
            }
        }
    }

    /// The statement that frees an `Idempotency-Key` whose claim has expired; it runs
    /// before the request's writes in the same transaction.
    pub fn release_expired_claim(
        &self,
        workspace: &WorkspaceId,
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            "DELETE FROM idempotency_keys WHERE workspace_id = ?1 AND key_hash = ?2 AND expires_at <= ?3",
            &[s(workspace.as_str()), s(key_hash), ms(now)],
        )
    }

    /// The statement claiming an `Idempotency-Key` with the response it records. It fails,
    /// rolling back the whole transaction, if a live claim exists. With `only_if_changed`
    /// it inserts nothing unless the statement just before it changed a row (SQLite's
    /// `changes()`), so an update that found nothing to update records no response.
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        &self,
        workspace: &WorkspaceId,
        key_hash: &str,
        fingerprint: &str,
        sealed_response: &str,
        now: Timestamp,
        expires_at: Timestamp,
        only_if_changed: bool,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            "INSERT INTO idempotency_keys (workspace_id, key_hash, fingerprint, response, created_at, expires_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ?7 = 0 OR changes() > 0",
            &[
                s(workspace.as_str()),
                s(key_hash),
                s(fingerprint),
                s(sealed_response),
                ms(now),
                ms(expires_at),
                n(u64::from(only_if_changed)),
            ],
        )
    }

    /// The claim on a key, expired or not.
    pub async fn find_claim(
        &self,
        workspace: &WorkspaceId,
        key_hash: &str,
    ) -> ApiResult<Option<ClaimRow>> {
        self.round_trip();
        Ok(self
            .stmt(
                "SELECT fingerprint, response, expires_at FROM idempotency_keys WHERE workspace_id = ?1 AND key_hash = ?2",
                &[s(workspace.as_str()), s(key_hash)],
            )?
            .first(None)
            .await?)
    }

    /// Removes every claim expired at `now`; returns how many.
    pub async fn purge_expired_claims(&self, now: Timestamp) -> ApiResult<usize> {
        self.round_trip();
        let result = self
            .stmt(
                "DELETE FROM idempotency_keys WHERE expires_at <= ?1",
                &[JsValue::from_f64(now.millis() as f64)],
            )?
            .run()
            .await?;
        Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
    }

    /// The live key with this hash, and its workspace.
    pub async fn workspace_for_key(&self, key_hash: &str) -> ApiResult<Option<WorkspaceId>> {
        self.round_trip();
        let row: Option<WorkspaceIdRow> = self
            .stmt(
                "SELECT workspace_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
                &[s(key_hash)],
            )?
            .first(None)
            .await?;
        Ok(row.and_then(|r| WorkspaceId::parse(&r.workspace_id)))
    }

    /// Statements inserting `rows`, apps created together (one creation time, no webhook
    /// secret yet, as every create mints them), into `workspace` and moving its count.
    pub fn insert_apps(
        &self,
        workspace: &WorkspaceId,
        rows: &[AppRow],
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        if rows.iter().any(|r| {
            r.created_at != first.created_at
                || r.updated_at != first.updated_at
                || r.webhook_secret.is_some()
        }) {
            return Err(ApiError::Internal(
                "insert_apps takes new apps created together".into(),
            ));
        }
        // One statement for every row, the rows as one JSON parameter: a statement per row
        // costs a prepare, a bind and a conversion of each value into JavaScript, and D1
        // runs each statement of a batch on its own. What the rows share is bound once:
        // each value in the JSON is one more for SQLite to extract per row.
        let rows_json = serde_json::to_string(
            &rows
                .iter()
                .map(|r| (&r.client_id, &r.client_secret, &r.doc))
                .collect::<Vec<_>>(),
        )?;
        let insert = self.stmt(
            "INSERT INTO apps (client_id, workspace_id, created_at, updated_at, client_secret, doc) \
             SELECT value ->> 0, ?2, ?3, ?4, value ->> 1, value ->> 2 FROM json_each(?1)",
            &[
                s(&rows_json),
                s(workspace.as_str()),
                s(&first.created_at),
                s(&first.updated_at),
            ],
        )?;
        let count = self.stmt(
            "UPDATE workspaces SET apps_count = apps_count + ?2, generation = generation + 1 WHERE id = ?1",
            &[s(workspace.as_str()), n(rows.len() as u64)],
        )?;
        Ok(vec![insert, count])
    }

    /// One app of `workspace`.
    pub async fn get_app(
        &self,
        workspace: &WorkspaceId,
        client_id: &ClientId,
    ) -> ApiResult<Option<AppRow>> {
        self.round_trip();
        Ok(self
            .stmt(
                "SELECT client_id, created_at, updated_at, client_secret, webhook_secret, doc, version \
                 FROM apps WHERE client_id = ?1 AND workspace_id = ?2",
                &[s(client_id.as_str()), s(workspace.as_str())],
            )?
            .first(None)
            .await?)
    }

    /// The statement writing `row` over the app, if it is still at `version`: it changes
    /// no row when another update came first (or the app was deleted).
    pub fn update_app(
        &self,
        workspace: &WorkspaceId,
        row: &AppRow,
        version: i64,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            "UPDATE apps SET updated_at = ?3, client_secret = ?4, webhook_secret = ?5, doc = ?6, version = version + 1 \
             WHERE client_id = ?1 AND workspace_id = ?2 AND version = ?7",
            &[
                s(&row.client_id),
                s(workspace.as_str()),
                s(&row.updated_at),
                s(&row.client_secret),
                row.webhook_secret.as_deref().map_or(JsValue::NULL, s),
                s(&row.doc),
                JsValue::from_f64(version as f64),
            ],
        )
    }

    /// Statements deleting an app and, only if it was deleted, moving the count (the
    /// second changes no row when the first found nothing).
    pub fn delete_app(
        &self,
        workspace: &WorkspaceId,
        client_id: &ClientId,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        Ok(vec![
            self.stmt(
                "DELETE FROM apps WHERE client_id = ?1 AND workspace_id = ?2",
                &[s(client_id.as_str()), s(workspace.as_str())],
            )?,
            self.stmt(
                "UPDATE workspaces SET apps_count = apps_count - 1, generation = generation + 1 \
                 WHERE id = ?1 AND changes() > 0",
                &[s(workspace.as_str())],
            )?,
        ])
    }

    /// The workspace's creation time and app count.
    pub async fn workspace(&self, workspace: &WorkspaceId) -> ApiResult<Option<(Timestamp, u64)>> {
        self.round_trip();
        let row: Option<WorkspaceRow> = self
            .stmt(
                "SELECT created_at, apps_count FROM workspaces WHERE id = ?1",
                &[s(workspace.as_str())],
            )?
            .first(None)
            .await?;
        Ok(row.and_then(|r| Some((Timestamp::parse_iso(&r.created_at)?, r.apps_count as u64))))
    }

    /// One page of `workspace`'s apps, oldest first (ties by client id), with the total and
    /// the workspace's generation; or only [`Listing::Unchanged`] when the generation is
    /// still `known_generation` (the caller holds that page already).
    ///
    /// One statement, so the generation, the count and the page are one consistent
    /// snapshot. The total is the maintained counter, not a scan; the page walks the
    /// covering index `apps_by_workspace` to skip `offset` entries before touching any row,
    /// and is not built at all when the generation has not moved (SQLite evaluates only the
    /// branch of the CASE it takes).
    pub async fn list_apps(
        &self,
        workspace: &WorkspaceId,
        page: PageRequest,
        known_generation: Option<i64>,
    ) -> ApiResult<Listing> {
        self.round_trip();
        // The page comes back as one JSON text built by SQLite, which the Worker parses
        // with serde_json instead of converting 700 JavaScript values one by one.
        let page_sql = self.stmt(
            "SELECT w.generation AS generation, w.apps_count AS total, \
                    CASE WHEN w.generation = ?4 THEN NULL ELSE \
                    (SELECT json_group_array(json_array(a.client_id, a.created_at, a.updated_at, \
                            a.client_secret, a.webhook_secret, json(a.doc), a.version) \
                            ORDER BY a.created_at, a.client_id) \
                     FROM (SELECT client_id FROM apps WHERE workspace_id = ?1 \
                           ORDER BY created_at, client_id LIMIT ?2 OFFSET ?3) AS p \
                     JOIN apps AS a ON a.client_id = p.client_id) END AS page \
             FROM workspaces AS w WHERE w.id = ?1",
            &[
                s(workspace.as_str()),
                n(page.limit().into()),
                n(page.offset()),
                // Generations start at 0: -1 matches none.
                JsValue::from_f64(known_generation.unwrap_or(-1) as f64),
            ],
        )?;
        let row: Option<PageRow> = page_sql.first(None).await?;
        let Some(row) = row else {
            // No such workspace (its key outlived it): an empty page, not to be kept.
            return Ok(Listing::Fresh {
                generation: None,
                total: 0,
                rows: Vec::new(),
            });
        };
        let generation = row.generation as i64;
        let Some(page_json) = row.page else {
            return Ok(Listing::Unchanged);
        };
        let rows = serde_json::from_str::<Vec<AppTuple>>(&page_json)?
            .into_iter()
            .map(
                |(
                    client_id,
                    created_at,
                    updated_at,
                    client_secret,
                    webhook_secret,
                    doc,
                    version,
                )| {
                    AppRow {
                        client_id,
                        created_at,
                        updated_at,
                        client_secret,
                        webhook_secret,
                        doc: doc.get().to_owned(),
                        version,
                    }
                },
            )
            .collect();
        Ok(Listing::Fresh {
            generation: Some(generation),
            total: row.total as u64,
            rows,
        })
    }

    /// A new workspace and its first key, together.
    pub async fn create_workspace(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<()> {
        self.round_trip();
        let at = now.to_string();
        let statements = vec![
            self.stmt(
                "INSERT INTO workspaces (id, created_at, apps_count) VALUES (?1, ?2, 0)",
                &[s(workspace.as_str()), s(&at)],
            )?,
            self.insert_key(workspace, key_id, key_hash, &at)?,
        ];
        self.db.batch(statements).await?;
        Ok(())
    }

    fn insert_key(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key_hash: &str,
        at: &str,
    ) -> ApiResult<D1PreparedStatement> {
        // INSERT ... SELECT: no row is written unless the workspace exists.
        self.stmt(
            "INSERT INTO api_keys (id, workspace_id, key_hash, created_at) \
             SELECT ?1, id, ?3, ?4 FROM workspaces WHERE id = ?2",
            &[
                s(key_id.as_str()),
                s(workspace.as_str()),
                s(key_hash),
                s(at),
            ],
        )
    }

    /// A new key for an existing workspace; `false` if there is no such workspace.
    pub async fn add_key(
        &self,
        workspace: &WorkspaceId,
        key_id: &ApiKeyId,
        key_hash: &str,
        now: Timestamp,
    ) -> ApiResult<bool> {
        self.round_trip();
        let result = self
            .insert_key(workspace, key_id, key_hash, &now.to_string())?
            .run()
            .await?;
        Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0) > 0)
    }

    /// Revokes a key (keeping the first revocation time); `None` if there is no such key.
    pub async fn revoke_key(
        &self,
        key_id: &ApiKeyId,
        now: Timestamp,
    ) -> ApiResult<Option<Timestamp>> {
        self.round_trip();
        let row: Option<RevokedRow> = self
            .stmt(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING revoked_at",
                &[s(key_id.as_str()), s(&now.to_string())],
            )?
            .first(None)
            .await?;
        Ok(row.and_then(|r| Timestamp::parse_iso(&r.revoked_at)))
    }
}
