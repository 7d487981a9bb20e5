//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`: workspaces, their API
//! keys, and the secrets key ring. Its POSTs honour `Idempotency-Key` like every POST, in
//! the operators' own scope: a retried workspace creation returns the same workspace and
//! key.

use super::write;
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation, OPERATORS};
use crate::reseal;
use crate::store::Store;
use connect_core::server::reseal::secrets_keys as keys_of;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::response::{CreatedWorkspace, IssuedApiKey, RevokedApiKey, Workspace};
use connect_core::wire::routes::RouteName;
use connect_core::wire::secrets::ApiKey;
use worker::{Request, Response};

/// Dispatches an admin route (method already checked, operator authenticated); `id` is
/// the route's path parameter.
pub async fn handle(
    cx: &mut Cx,
    req: &mut Request,
    route: RouteName,
    id: &str,
) -> ApiResult<Response> {
    let store = cx.store()?;
    match route {
        RouteName::AdminWorkspaces => {
            http::read_no_body(req).await?;
            write(cx, &store, req, OPERATORS, None, Ok(CreateWorkspace)).await
        }
        RouteName::AdminWorkspaceApiKeys => {
            http::read_no_body(req).await?;
            let op = AddApiKey::new(id);
            write(cx, &store, req, OPERATORS, None, op).await
        }
        RouteName::AdminApiKey => {
            http::read_no_body(req).await?;
            revoke_key(cx, &store, id).await
        }
        RouteName::AdminSecretsKeys => {
            http::read_no_body(req).await?;
            secrets_keys(cx, &store).await
        }
        RouteName::AdminSecretsKeysReseal => {
            http::read_no_body(req).await?;
            write(cx, &store, req, OPERATORS, None, Ok(Reseal)).await
        }
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

/// `POST /admin/v1/workspaces`: a workspace and its first key.
struct CreateWorkspace;

impl Operation for CreateWorkspace {
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let workspace = WorkspaceId::generate(&mut cx.random);
        let key = issue_key(cx, &workspace)?;
        let statements = store.create_workspace(&workspace, &key.id, &key.key.hash(), cx.now)?;
        let answer = CreatedWorkspace {
            workspace: Workspace::new(workspace, 0, cx.now),
            api_key: key,
        };
        Ok(Attempt::Write {
            statements,
            answer: http::recorded(201, &answer, Vec::new())?,
        })
    }
}

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace.
struct AddApiKey {
    workspace: WorkspaceId,
}

impl AddApiKey {
    fn new(id: &str) -> ApiResult<Self> {
        let workspace = WorkspaceId::parse(id).ok_or_else(|| workspace_not_found(id))?;
        Ok(Self { workspace })
    }
}

fn workspace_not_found(id: &str) -> ApiError {
    match WorkspaceId::parse(id) {
        Some(id) => ApiError::NotFound(format!("no workspace {id}")),
        None => ApiError::NotFound("no such workspace".into()),
    }
}

impl Operation for AddApiKey {
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        // Workspaces are never deleted: one that exists now still exists at the insert.
        if store.workspace(&self.workspace).await?.is_none() {
            return Err(workspace_not_found(self.workspace.as_str()));
        }
        let key = issue_key(cx, &self.workspace)?;
        let insert = store.insert_key(&self.workspace, &key.id, &key.key.hash(), cx.now)?;
        Ok(Attempt::Write {
            statements: vec![insert],
            answer: http::recorded(201, &key, Vec::new())?,
        })
    }
}

/// `DELETE /admin/v1/api-keys/{keyId}`: revoking twice answers the first revocation.
async fn revoke_key(cx: &mut Cx, store: &Store, id: &str) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound("no such API key".into());
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

/// `GET /admin/v1/secrets-keys`: the ring's keys and what each seals, from the counts kept
/// with every write (one small read, whatever the number of apps).
async fn secrets_keys(cx: &Cx, store: &Store) -> ApiResult<Response> {
    let ring = config::key_ring(&cx.env)?;
    http::json_of(200, &keys_of(&ring, &store.sealed_counts().await?))
}

/// `POST /admin/v1/secrets-keys/reseal`: one chunk of the re-seal (see `reseal`).
struct Reseal;

impl Operation for Reseal {
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let chunk = reseal::next_chunk(&cx.env, store, &mut cx.random).await?;
        Ok(Attempt::Write {
            statements: chunk.statements,
            answer: http::recorded(200, &chunk.progress, Vec::new())?,
        })
    }
}
