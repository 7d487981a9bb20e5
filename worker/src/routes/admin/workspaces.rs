//! `/admin/v1/workspaces` and `/admin/v1/api-keys`: workspaces and their API keys, each
//! written to its shard and then entered in the directory.

use super::{every_shard, unwrite, write_to_shard};
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::store::directory::Tenant;
use crate::store::{Freshness, Store};
use connect_core::server::shards::roomiest;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::response::{CreatedWorkspace, IssuedApiKey, RevokedApiKey, Workspace};
use connect_core::wire::secrets::ApiKey;
use worker::Response;

fn issue_key(cx: &mut Cx, workspace: &WorkspaceId) -> ApiResult<IssuedApiKey> {
    Ok(IssuedApiKey {
        id: ApiKeyId::generate(&mut cx.random),
        key: ApiKey::generate(config::key_environment(&cx.env)?, &mut cx.random),
        workspace_id: workspace.clone(),
        created_at: cx.now,
    })
}

/// `POST /admin/v1/workspaces`: a workspace and its first key, in the shard with the
/// fewest bytes.
pub struct CreateWorkspace {
    /// What the last attempt wrote to a shard: the shard, the workspace and its key.
    written: Option<(String, WorkspaceId, ApiKeyId)>,
}

impl CreateWorkspace {
    /// Nothing written yet.
    pub fn new() -> Self {
        Self { written: None }
    }
}

impl Operation for CreateWorkspace {
    async fn attempt(&mut self, cx: &mut Cx, directory: &Store) -> ApiResult<Attempt> {
        let mut sizes = Vec::new();
        for shard in every_shard(cx)? {
            sizes.push((shard.shard().to_owned(), shard.bytes().await?));
        }
        let shard = roomiest(&sizes)
            .ok_or_else(|| ApiError::Internal("SHARDS names no shard".into()))?
            .to_owned();
        let workspace = WorkspaceId::generate(&mut cx.random);
        let key = issue_key(cx, &workspace)?;
        let hash = key.key.hash();
        let store = cx.store(&shard, Freshness::Primary)?;
        write_to_shard(
            &store,
            store.create_workspace(&workspace, &key.id, &hash, cx.now)?,
        )
        .await?;
        self.written = Some((shard.clone(), workspace.clone(), key.id.clone()));
        let tenant = Tenant {
            workspace: workspace.clone(),
            shard,
        };
        let statements = vec![
            directory.list_workspace(&workspace, &tenant.shard, cx.now)?,
            directory.list_key(&hash, &key.id, &tenant)?,
        ];
        let answer = CreatedWorkspace {
            workspace: Workspace::new(workspace, 0, cx.now),
            api_key: key,
        };
        Ok(Attempt::Write {
            statements,
            answer: http::recorded(201, &answer, Vec::new())?,
        })
    }

    async fn abandon(&mut self, cx: &mut Cx) {
        let Some((shard, workspace, key_id)) = self.written.take() else {
            return;
        };
        unwrite(cx, &shard, |store| {
            store.delete_unlisted_workspace(&workspace, &key_id)
        })
        .await;
    }
}

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace, in its shard.
pub struct AddApiKey {
    workspace: WorkspaceId,
    /// What the last attempt wrote to the shard: the shard and the key.
    written: Option<(String, ApiKeyId)>,
}

impl AddApiKey {
    pub fn new(id: &str) -> ApiResult<Self> {
        let workspace = WorkspaceId::parse(id).ok_or_else(|| workspace_not_found(id))?;
        Ok(Self {
            workspace,
            written: None,
        })
    }
}

fn workspace_not_found(id: &str) -> ApiError {
    match WorkspaceId::parse(id) {
        Some(id) => ApiError::NotFound(format!("no workspace {id}")),
        None => ApiError::NotFound("no such workspace".into()),
    }
}

impl Operation for AddApiKey {
    async fn attempt(&mut self, cx: &mut Cx, directory: &Store) -> ApiResult<Attempt> {
        // Workspaces are never deleted: one the directory lists now is there at the insert.
        let shard = directory
            .shard_of_workspace(&self.workspace)
            .await?
            .ok_or_else(|| workspace_not_found(self.workspace.as_str()))?;
        let key = issue_key(cx, &self.workspace)?;
        let hash = key.key.hash();
        let store = cx.store(&shard, Freshness::Primary)?;
        let insert = store.insert_key(&self.workspace, &key.id, &hash, cx.now)?;
        write_to_shard(&store, vec![insert]).await?;
        self.written = Some((shard.clone(), key.id.clone()));
        let tenant = Tenant {
            workspace: self.workspace.clone(),
            shard,
        };
        Ok(Attempt::Write {
            statements: vec![directory.list_key(&hash, &key.id, &tenant)?],
            answer: http::recorded(201, &key, Vec::new())?,
        })
    }

    async fn abandon(&mut self, cx: &mut Cx) {
        let Some((shard, key_id)) = self.written.take() else {
            return;
        };
        unwrite(cx, &shard, |store| {
            Ok(vec![store.delete_unlisted_key(&key_id)?])
        })
        .await;
    }
}

/// `DELETE /admin/v1/api-keys/{keyId}`: revoking twice answers the first revocation. The
/// directory says which shard holds the key; the shard records the revocation.
pub async fn revoke_key(cx: &mut Cx, directory: &Store, id: &str) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound("no such API key".into());
    let key_id = ApiKeyId::parse(id).ok_or_else(not_found)?;
    let shard = directory
        .shard_of_key(&key_id)
        .await?
        .ok_or_else(not_found)?;
    let revoked_at = cx
        .store(&shard, Freshness::Primary)?
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
