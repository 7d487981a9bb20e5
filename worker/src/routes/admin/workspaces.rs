//! `/admin/v1/workspaces` and `/admin/v1/api-keys`: workspaces and their API keys.

use super::every_shard;
use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::store::{Freshness, D1};
use connect_core::server::admin::RevokedApiKey;
use connect_core::server::failure::Failure;
use connect_core::server::operations::workspaces::{AddApiKey, CreateWorkspace};
use connect_core::server::session::Session;
use connect_core::server::shards::roomiest;
use connect_core::server::tables::{directory, workspaces};
use connect_core::wire::ids::ApiKeyId;
use worker::Response;

/// `POST /admin/v1/workspaces`: a workspace and its first key, in the shard with the
/// fewest bytes.
pub async fn create(cx: &Cx) -> Result<CreateWorkspace, Failure> {
    let mut sizes = Vec::new();
    for db in every_shard(cx)? {
        let bytes = db.database().bytes().await?;
        sizes.push((db.database().shard().to_owned(), bytes));
    }
    let shard = roomiest(&sizes)
        .ok_or_else(|| Failure::Internal("SHARDS names no shard".into()))?
        .to_owned();
    Ok(CreateWorkspace::new(
        shard,
        config::key_environment(&cx.env)?,
    ))
}

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace, in its shard.
pub fn add_key(cx: &Cx, id: &str) -> Result<AddApiKey, Failure> {
    AddApiKey::new(id, config::key_environment(&cx.env)?)
}

/// `DELETE /admin/v1/api-keys/{keyId}`: revoking twice answers the first revocation. The
/// directory says which shard holds the key; the shard records the revocation.
pub async fn revoke_key(cx: &Cx, directory: &Session<D1>, id: &str) -> ApiResult<Response> {
    let not_found = || Failure::NotFound("no such API key".into());
    let key_id = ApiKeyId::parse(id).map_err(|_| not_found())?;
    let shard = directory::shard_of_key(directory, &key_id)
        .await?
        .ok_or_else(not_found)?;
    let db = cx.store(&shard, Freshness::Primary)?;
    let revoked_at = workspaces::revoke_key(&db, &key_id, cx.now)
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
