//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`.

use super::Cx;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::store::d1::Store;
use connect_core::ids::{ApiKeyId, WorkspaceId};
use connect_core::routes::RouteName;
use connect_core::secrets::ApiKey;
use connect_core::workspace::{CreatedWorkspace, IssuedApiKey, RevokedApiKey, Workspace};
use worker::{Request, Response};

/// Dispatches an admin route (method already checked, operator authenticated); `id` is
/// the route's path parameter.
pub async fn handle(
    cx: &mut Cx,
    req: &mut Request,
    route: RouteName,
    id: &str,
) -> ApiResult<Response> {
    let store = Store::new(&cx.env, cx.round_trips.clone())?;
    match route {
        RouteName::AdminWorkspaces => create_workspace(cx, &store, req).await,
        RouteName::AdminWorkspaceApiKeys => add_key(cx, &store, req, id).await,
        RouteName::AdminApiKey => revoke_key(cx, &store, id).await,
        _ => Err(ApiError::Internal(
            "a workspace route reached the admin dispatch".into(),
        )),
    }
}

fn issue_key(cx: &mut Cx, workspace: &WorkspaceId) -> ApiResult<IssuedApiKey> {
    Ok(IssuedApiKey {
        id: ApiKeyId::generate(&mut cx.random),
        key: ApiKey::generate(config::key_environment(&cx.env)?, &mut cx.random),
        workspace_id: workspace.clone(),
        created_at: cx.now,
    })
}

async fn create_workspace(cx: &mut Cx, store: &Store, req: &mut Request) -> ApiResult<Response> {
    http::read_no_fields(req).await?;
    let workspace = WorkspaceId::generate(&mut cx.random);
    let key = issue_key(cx, &workspace)?;
    store
        .create_workspace(&workspace, &key.id, &key.key.hash(), cx.now)
        .await?;
    http::json_of(
        201,
        &CreatedWorkspace {
            workspace: Workspace::new(workspace, 0, cx.now),
            api_key: key,
        },
    )
}

async fn add_key(cx: &mut Cx, store: &Store, req: &mut Request, id: &str) -> ApiResult<Response> {
    http::read_no_fields(req).await?;
    let not_found = || ApiError::NotFound(format!("no workspace {id}"));
    let workspace = WorkspaceId::parse(id).ok_or_else(not_found)?;
    let key = issue_key(cx, &workspace)?;
    if !store
        .add_key(&workspace, &key.id, &key.key.hash(), cx.now)
        .await?
    {
        return Err(not_found());
    }
    http::json_of(201, &key)
}

async fn revoke_key(cx: &mut Cx, store: &Store, id: &str) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound(format!("no API key {id}"));
    let key_id = ApiKeyId::parse(id).ok_or_else(not_found)?;
    let revoked_at = store
        .revoke_key(&key_id, cx.now)
        .await?
        .ok_or_else(not_found)?;
    http::json_of(
        200,
        &RevokedApiKey {
            id: key_id,
            revoked: true,
            revoked_at,
        },
    )
}
