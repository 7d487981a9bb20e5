//! A workspace's API keys: `POST` and `GET /admin/v1/workspaces/{id}/api-keys` (add one,
//! list them), `DELETE /admin/v1/api-keys/{keyId}` and `POST /admin/v1/api-keys/revoke`
//! (revoke one, by its id or by its text). Keys live in their workspace's shard; the
//! directory says which, by workspace, by key id and by the key's hash.

use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::store::{Freshness, D1};
use connect_core::rules::input::FromJson;
use connect_core::rules::pagination::PageRequest;
use connect_core::rules::query::Query;
use connect_core::server::admin::{ApiKeyList, RevokedApiKey};
use connect_core::server::failure::Failure;
use connect_core::server::operations::workspaces::{
    key_not_found, workspace_not_found, AddApiKey, RevokeByText,
};
use connect_core::server::session::Session;
use connect_core::server::tables::{directory, workspaces};
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::request::RevokeApiKeyRequest;
use serde_json::Value;
use worker::Response;

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace, in its shard.
pub fn add(cx: &Cx, id: &str) -> Result<AddApiKey, Failure> {
    AddApiKey::new(id, config::key_environment(&cx.env)?)
}

/// `GET /admin/v1/workspaces/{id}/api-keys?limit&offset`: a page of the workspace's keys,
/// oldest first, revoked ones included: each key's id, creation and revocation times and
/// last four characters, never the key or its hash. One round trip to the directory and
/// one to the shard.
pub async fn list(
    cx: &Cx,
    directory: &Session<D1>,
    id: &str,
    query: &Query,
) -> ApiResult<Response> {
    let page = PageRequest::from_parameters(query)?;
    let workspace = WorkspaceId::parse(id).map_err(|_| workspace_not_found(id))?;
    let shard = directory::shard_of_workspace(directory, &workspace)
        .await?
        .ok_or_else(|| workspace_not_found(id))?;
    let db = cx.store(&shard, Freshness::Primary)?;
    let (data, total) = workspaces::api_keys(&db, &workspace, page).await?;
    let body = ApiKeyList {
        data,
        total,
        limit: page.limit(),
        offset: page.offset(),
    };
    let mut response = http::json_of(200, &body)?;
    let path = format!("/admin/v1/workspaces/{workspace}/api-keys");
    if let Some(link) = page.link_header(&path, total) {
        response.headers_mut().set("link", &link)?;
    }
    Ok(response)
}

/// `DELETE /admin/v1/api-keys/{keyId}`: the directory says which shard holds the key;
/// revoked at once (a Worker isolate that remembers the key confirms it in the next
/// request's own D1 call). Revoking twice answers the first revocation.
pub async fn revoke_by_id(cx: &Cx, directory: &Session<D1>, id: &str) -> ApiResult<Response> {
    let key_id = ApiKeyId::parse(id).map_err(|_| key_not_found())?;
    let shard = directory::shard_of_key(directory, &key_id)
        .await?
        .ok_or_else(key_not_found)?;
    let db = cx.store(&shard, Freshness::Primary)?;
    let (revoked_at, workspace_id) = workspaces::revoke_key(&db, &key_id, cx.now)
        .await?
        .ok_or_else(key_not_found)?;
    http::json_of(
        200,
        &RevokedApiKey {
            id: key_id,
            workspace_id,
            revoked: true,
            revoked_at,
        },
    )
}

/// `POST /admin/v1/api-keys/revoke` with `{ "key": "sk_workspace_..." }`: 400 naming `key`
/// unless it is a key of this deployment (see `RevokeByText`).
pub fn revoke_by_text(cx: &Cx, body: &Value) -> Result<RevokeByText, Failure> {
    let request = RevokeApiKeyRequest::from_json(body, "")?;
    let key = request.api_key(config::key_environment(&cx.env)?)?;
    Ok(RevokeByText::new(&key))
}
