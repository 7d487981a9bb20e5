//! The `apps` table: inserts, reads, guarded updates and deletes, list pages.

use super::{n, s, Store};
use crate::error::ApiResult;
use connect_core::rules::pagination::PageRequest;
use connect_core::server::row::{NewRow, Stored};
use connect_core::wire::app::App;
use connect_core::wire::ids::{ClientId, WorkspaceId};
use serde::Deserialize;
use worker::D1PreparedStatement;

/// What a failing guard statement's error says (the name of the `write_guards` check).
pub const GUARD_FAILED: &str = "write_guard_state_moved";

/// A stored app and the version an update of it must find.
pub struct VersionedApp {
    /// Bumped by every update; an update applies only to the version it read.
    pub version: i64,
    /// The app as stored.
    pub app: App<Stored>,
}

#[derive(Deserialize)]
struct VersionedRow {
    version: i64,
    doc: String,
}

/// A list page as [`Store::list_apps`] reads it: the workspace's generation and count, and
/// the page's documents as one JSON array (none when the generation is the one the caller
/// knew).
#[derive(Deserialize)]
struct PageRow {
    generation: i64,
    total: i64,
    page: Option<String>,
}

/// What [`Store::list_apps`] found.
pub enum Listing {
    /// The workspace is still at the generation the caller knew.
    Unchanged,
    /// The page's apps.
    Fresh {
        /// The workspace's generation they were read at; `None` if the workspace is gone.
        generation: Option<i64>,
        /// The workspace's app count.
        total: u64,
        /// The page, in list order.
        apps: Vec<App<Stored>>,
    },
}

/// The statement that fails the whole transaction (rolling it back) when the statement
/// just before it changed no row: an update or delete of a version that is no longer
/// current. It inserts nothing otherwise. Every guarded write is built here, the guard
/// right after its statement, so no other statement can come between them.
fn guard(store: &Store) -> ApiResult<D1PreparedStatement> {
    store.stmt(
        "INSERT INTO write_guards (ok) SELECT 0 WHERE changes() = 0",
        &[],
    )
}

impl Store {
    /// Statements inserting `rows`, new apps of `workspace`, and moving its count.
    pub fn insert_apps(
        &self,
        workspace: &WorkspaceId,
        rows: &[NewRow],
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all the rows, as one JSON parameter: a statement per row
        // costs a prepare, a bind and a conversion of each value into JavaScript, and D1
        // binds at most 100 values a statement.
        let insert = self.stmt(
            "INSERT INTO apps (client_id, workspace_id, created_at, doc) \
             SELECT value ->> 'client_id', ?2, value ->> 'created_at', value ->> 'doc' \
             FROM json_each(?1)",
            &[s(&serde_json::to_string(rows)?), s(workspace.as_str())],
        )?;
        let count = self.stmt(
            "UPDATE workspaces SET apps_count = apps_count + ?2, generation = generation + 1 \
             WHERE id = ?1",
            &[s(workspace.as_str()), n(rows.len() as i64)],
        )?;
        Ok(vec![insert, count])
    }

    /// One app of `workspace`, with its version.
    pub async fn get_app(
        &self,
        workspace: &WorkspaceId,
        client_id: &ClientId,
    ) -> ApiResult<Option<VersionedApp>> {
        let row: Option<VersionedRow> = self
            .first(self.stmt(
                "SELECT version, doc FROM apps WHERE client_id = ?1 AND workspace_id = ?2",
                &[s(client_id.as_str()), s(workspace.as_str())],
            )?)
            .await?;
        row.map(|r| {
            Ok(VersionedApp {
                version: r.version,
                app: serde_json::from_str(&r.doc)?,
            })
        })
        .transpose()
    }

    /// Statements writing `app` over the stored app if it is still at `version`; the
    /// transaction fails as [`super::Refused::StateMoved`] when another update came first
    /// or the app was deleted.
    pub fn update_app(
        &self,
        workspace: &WorkspaceId,
        app: &App<Stored>,
        version: i64,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let update = self.stmt(
            "UPDATE apps SET doc = ?3, version = version + 1 \
             WHERE client_id = ?1 AND workspace_id = ?2 AND version = ?4",
            &[
                s(app.client_id.as_str()),
                s(workspace.as_str()),
                s(&app.doc()),
                n(version),
            ],
        )?;
        Ok(vec![update, guard(self)?])
    }

    /// Statements deleting the app if it is still at `version`, and moving the count; the
    /// transaction fails as [`super::Refused::StateMoved`] when it changed or went away.
    pub fn delete_app(
        &self,
        workspace: &WorkspaceId,
        client_id: &ClientId,
        version: i64,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        Ok(vec![
            self.stmt(
                "DELETE FROM apps WHERE client_id = ?1 AND workspace_id = ?2 AND version = ?3",
                &[s(client_id.as_str()), s(workspace.as_str()), n(version)],
            )?,
            guard(self)?,
            self.stmt(
                "UPDATE workspaces SET apps_count = apps_count - 1, generation = generation + 1 \
                 WHERE id = ?1",
                &[s(workspace.as_str())],
            )?,
        ])
    }

    /// One page of `workspace`'s apps, oldest first (ties by client id), with the total and
    /// the workspace's generation; or only [`Listing::Unchanged`] when the generation is
    /// still `known_generation` (the caller holds that page already).
    ///
    /// One statement, so the generation, the count and the page are one consistent
    /// snapshot. The total is the maintained counter, not a count; the page walks the
    /// covering index `apps_by_workspace` to skip `offset` entries before touching any
    /// row, and is not built at all when the generation has not moved (SQLite evaluates
    /// only the branch of the CASE it takes). The page comes back as one JSON text built
    /// by SQLite, which the Worker parses with serde instead of converting each value.
    pub async fn list_apps(
        &self,
        workspace: &WorkspaceId,
        page: PageRequest,
        known_generation: Option<i64>,
    ) -> ApiResult<Listing> {
        let row: Option<PageRow> = self
            .first(self.stmt(
                "SELECT w.generation AS generation, w.apps_count AS total, \
                        CASE WHEN w.generation = ?4 THEN NULL ELSE \
                        (SELECT json_group_array(json(a.doc) ORDER BY a.created_at, a.client_id) \
                         FROM (SELECT client_id FROM apps WHERE workspace_id = ?1 \
                               ORDER BY created_at, client_id LIMIT ?2 OFFSET ?3) AS p \
                         JOIN apps AS a ON a.client_id = p.client_id) END AS page \
                 FROM workspaces AS w WHERE w.id = ?1",
                &[
                    s(workspace.as_str()),
                    n(page.limit().into()),
                    n(page.offset() as i64),
                    // Generations start at 0: -1 matches none.
                    n(known_generation.unwrap_or(-1)),
                ],
            )?)
            .await?;
        let Some(row) = row else {
            // No such workspace (its key outlived it): an empty page, not to be kept.
            return Ok(Listing::Fresh {
                generation: None,
                total: 0,
                apps: Vec::new(),
            });
        };
        let Some(page) = row.page else {
            return Ok(Listing::Unchanged);
        };
        Ok(Listing::Fresh {
            generation: Some(row.generation),
            total: row.total.max(0) as u64,
            apps: serde_json::from_str(&page)?,
        })
    }
}
