//! The `apps` table and its counts: inserts, reads, guarded updates and deletes, list
//! pages. The statements are in [`super::sql`].

use super::sql;
use super::{n, s, Store};
use crate::error::{ApiError, ApiResult};
use connect_core::rules::pagination::PageRequest;
use connect_core::server::row::Stored;
use connect_core::wire::app::App;
use connect_core::wire::ids::{ClientId, WorkspaceId};
use serde::Deserialize;
use worker::D1PreparedStatement;

/// What a failing guard statement's error says (the name of the `write_guards` check).
pub const GUARD_FAILED: &str = "write_guard_state_moved";

/// A stored app, where it sits and the version an update of it must find.
pub struct VersionedApp {
    /// Its place in the workspace's creation order.
    pub position: i64,
    /// Bumped by every update; an update applies only to the version it read.
    pub version: i64,
    /// The app as stored.
    pub app: App<Stored>,
}

#[derive(Deserialize)]
struct VersionedRow {
    position: i64,
    version: i64,
    doc: String,
}

/// A list page as `LIST_PAGE` reads it: the workspace's generation and count, and the
/// page's documents as one JSON array (none when the generation is the one the caller
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
        /// The page, in creation order.
        apps: Vec<App<Stored>>,
    },
}

impl Store {
    /// Statements inserting `apps`, new apps of `workspace` in this order, at the end of
    /// its creation order, and counting them (in the workspace, and under their key).
    pub fn insert_apps(
        &self,
        workspace: &WorkspaceId,
        apps: &[App<Stored>],
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let Some(first) = apps.first() else {
            return Ok(Vec::new());
        };
        // Sealed together under the primary key, they all name the same keys.
        let key_ids = first.key_ids();
        if apps.iter().any(|app| app.key_ids() != key_ids) {
            return Err(ApiError::Internal(
                "new apps of one request were sealed under different keys".into(),
            ));
        }
        let (ws, key_ids) = (s(workspace.as_str()), s(&serde_json::to_string(&key_ids)?));
        let count = n(apps.len() as i64);
        // One statement for all the apps, their documents as one JSON array parameter: a
        // statement per app costs a prepare, a bind and a conversion of each value into
        // JavaScript, and D1 binds at most 100 values a statement.
        Ok(vec![
            self.stmt(
                sql::APPS_INSERT,
                &[
                    s(&serde_json::to_string(apps)?),
                    ws.clone(),
                    key_ids.clone(),
                ],
            )?,
            self.stmt(sql::SEALED_COUNTS_ADD_APPS, &[key_ids, count.clone()])?,
            self.stmt(sql::WORKSPACE_ADD_APPS, &[ws, count])?,
        ])
    }

    /// One app of `workspace`, with its position and version.
    pub async fn get_app(
        &self,
        workspace: &WorkspaceId,
        client_id: &ClientId,
    ) -> ApiResult<Option<VersionedApp>> {
        let row: Option<VersionedRow> = self
            .first(self.stmt(
                sql::APP_GET,
                &[s(client_id.as_str()), s(workspace.as_str())],
            )?)
            .await?;
        row.map(|r| {
            Ok(VersionedApp {
                position: r.position,
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
            sql::APP_UPDATE,
            &[
                s(app.client_id.as_str()),
                s(workspace.as_str()),
                s(&app.doc()),
                n(version),
                s(&serde_json::to_string(&app.key_ids())?),
            ],
        )?;
        Ok(vec![update, self.stmt(sql::GUARD, &[])?])
    }

    /// Statements deleting `app` if it is still at its version, counting it out, and
    /// counting its position as deleted (for the list's descent); the transaction fails as
    /// [`super::Refused::StateMoved`] when the app changed or went away.
    pub fn delete_app(
        &self,
        workspace: &WorkspaceId,
        app: &VersionedApp,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let (ws, position) = (s(workspace.as_str()), n(app.position));
        Ok(vec![
            self.stmt(
                sql::APP_DELETE,
                &[ws.clone(), position.clone(), n(app.version)],
            )?,
            self.stmt(sql::GUARD, &[])?,
            self.stmt(sql::APP_DELETIONS_ADD, &[ws.clone(), position])?,
            self.stmt(sql::WORKSPACE_REMOVE_ONE, &[ws])?,
        ])
    }

    /// One page of `workspace`'s apps in creation order, with the total and the
    /// workspace's generation; or only [`Listing::Unchanged`] when the generation is still
    /// `known_generation` (the caller holds that page already). One statement, so the
    /// generation, the count and the page are one consistent snapshot; what it reads does
    /// not grow with the offset or the workspace (see `LIST_PAGE`).
    pub async fn list_apps(
        &self,
        workspace: &WorkspaceId,
        page: PageRequest,
        known_generation: Option<i64>,
    ) -> ApiResult<Listing> {
        let row: Option<PageRow> = self
            .first(self.stmt(
                sql::LIST_PAGE,
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
