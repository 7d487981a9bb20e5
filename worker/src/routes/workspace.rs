//! `GET /connect/v1/workspace`.

use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::store::Store;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::response::Workspace;
use worker::Response;

/// The caller's workspace, with its app count (a maintained counter, not a scan).
pub async fn get(store: &Store, workspace: &WorkspaceId) -> ApiResult<Response> {
    let (created_at, apps_count) = store
        .workspace(workspace)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("the key's workspace {workspace} has no row")))?;
    http::json_of(
        200,
        &Workspace::new(workspace.clone(), apps_count, created_at),
    )
}
