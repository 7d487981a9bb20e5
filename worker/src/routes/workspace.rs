//! `GET /connect/v1/workspace`.

use crate::error::ApiResult;
use crate::http;
use crate::store::D1;
use connect_core::server::failure::Failure;
use connect_core::server::session::Session;
use connect_core::server::tables::workspaces;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::response::Workspace;
use worker::Response;

/// The caller's workspace, with its app count (a maintained counter, not a scan).
pub async fn get(db: &Session<D1>, workspace: &WorkspaceId) -> ApiResult<Response> {
    let (created_at, apps_count) = workspaces::read(db, workspace)
        .await?
        .ok_or_else(|| Failure::Internal(format!("the key's workspace {workspace} has no row")))?;
    http::json_of(
        200,
        &Workspace::new(workspace.clone(), apps_count, created_at),
    )
}
