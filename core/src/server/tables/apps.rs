//! The `apps` table and its counts: inserts, reads, guarded updates and deletes, list
//! pages.

use crate::rules::pagination::PageRequest;
use crate::server::failure::Failure;
use crate::server::row::Stored;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{Database, Statement};
use crate::wire::app::App;
use crate::wire::ids::{ClientId, WorkspaceId};
use serde::Deserialize;

/// A stored app, where it sits and the version an update of it must find.
#[derive(Debug, Clone)]
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

/// What [`list`] found.
#[derive(Debug)]
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

/// Statements inserting `apps`, new apps of `workspace` in this order, at the end of its
/// creation order, and counting them (in the workspace, and under their keys).
pub fn insert(workspace: &WorkspaceId, apps: &[App<Stored>]) -> Result<Vec<Statement>, Failure> {
    let Some(first) = apps.first() else {
        return Ok(Vec::new());
    };
    // Sealed together under the primary key, they all name the same keys.
    let key_ids = first.key_ids();
    if apps.iter().any(|app| app.key_ids() != key_ids) {
        return Err(Failure::Internal(
            "new apps of one request were sealed under different keys".into(),
        ));
    }
    let key_ids = serde_json::to_string(&key_ids)?;
    let ws = workspace.as_str();
    // One statement for all the apps, their documents as one JSON array parameter: a
    // statement per app costs a prepare, a bind and a conversion of each value on D1, and
    // D1 binds at most 100 values a statement.
    Ok(vec![
        Statement::new(
            sql::APPS_INSERT,
            vec![
                serde_json::to_string(apps)?.into(),
                ws.into(),
                key_ids.as_str().into(),
            ],
        ),
        Statement::new(
            sql::SEALED_COUNTS_ADD_APPS,
            vec![key_ids.into(), apps.len().into()],
        ),
        Statement::new(sql::WORKSPACE_ADD_APPS, vec![ws.into(), apps.len().into()]),
    ])
}

/// The statement reading app `client_id` of `workspace` (see [`read_app`]).
pub fn get(workspace: &WorkspaceId, client_id: &ClientId) -> Statement {
    Statement::new(
        sql::APP_GET,
        vec![client_id.as_str().into(), workspace.as_str().into()],
    )
}

/// One app of `workspace`, with its position and version.
pub async fn read_app<D: Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
    client_id: &ClientId,
) -> Result<Option<VersionedApp>, Failure> {
    let row: Option<VersionedRow> = db.first(get(workspace, client_id)).await?;
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
/// transaction is refused as `StateMoved` when another update came first or the app was
/// deleted.
pub fn update(
    workspace: &WorkspaceId,
    app: &App<Stored>,
    version: i64,
) -> Result<Vec<Statement>, Failure> {
    Ok(vec![
        Statement::new(
            sql::APP_UPDATE,
            vec![
                app.client_id.as_str().into(),
                workspace.as_str().into(),
                app.doc().into(),
                version.into(),
                serde_json::to_string(&app.key_ids())?.into(),
            ],
        ),
        Statement::new(sql::GUARD, Vec::new()),
    ])
}

/// Statements deleting `app` if it is still at its version, counting it out, and counting
/// its position as deleted (for the list's descent); the transaction is refused as
/// `StateMoved` when the app changed or went away.
pub fn delete(workspace: &WorkspaceId, app: &VersionedApp) -> Vec<Statement> {
    let ws = workspace.as_str();
    vec![
        Statement::new(
            sql::APP_DELETE,
            vec![ws.into(), app.position.into(), app.version.into()],
        ),
        Statement::new(sql::GUARD, Vec::new()),
        Statement::new(sql::APP_DELETIONS_ADD, vec![ws.into(), app.position.into()]),
        Statement::new(sql::WORKSPACE_REMOVE_ONE, vec![ws.into()]),
    ]
}

/// One page of `workspace`'s apps in creation order, with the total and the workspace's
/// generation; or only [`Listing::Unchanged`] when the generation is still
/// `known_generation` (the caller holds that page already). One statement, so the
/// generation, the count and the page are one consistent snapshot; what it reads does not
/// grow with the offset or the workspace (see `LIST_PAGE`).
pub async fn list<D: Database>(
    db: &Session<D>,
    workspace: &WorkspaceId,
    page: PageRequest,
    known_generation: Option<i64>,
) -> Result<Listing, Failure> {
    let row: Option<PageRow> = db
        .first(Statement::new(
            sql::LIST_PAGE,
            vec![
                workspace.as_str().into(),
                i64::from(page.limit()).into(),
                (page.offset() as i64).into(),
                // Generations start at 0: -1 matches none.
                known_generation.unwrap_or(-1).into(),
            ],
        ))
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
