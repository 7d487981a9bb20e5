//! A workspace's API keys: `POST` and `GET /admin/v1/workspaces/{id}/api-keys` (add one,
//! list them), `DELETE /admin/v1/api-keys/{keyId}` and `POST /admin/v1/api-keys/revoke`
//! (revoke one, by its id or by its text). Keys live in their workspace's shard; the
//! directory says which, by workspace, by key id and by the key's hash.

use super::{unwrite, write_to_shard};
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::store::directory::Tenant;
use crate::store::{Freshness, Store};
use connect_core::rules::input::FromJson;
use connect_core::rules::pagination::PageRequest;
use connect_core::rules::query::Query;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::request::RevokeApiKeyRequest;
use connect_core::wire::response::{ApiKeyList, IssuedApiKey, RevokedApiKey};
use connect_core::wire::secrets::ApiKey;
use serde_json::Value;
use worker::Response;

/// A fresh key of `workspace`, shown once in the answer; only its hash and its last four
/// characters are stored.
pub(super) fn issue_key(cx: &mut Cx, workspace: &WorkspaceId) -> ApiResult<IssuedApiKey> {
    Ok(IssuedApiKey {
        id: ApiKeyId::generate(&mut cx.random),
        key: ApiKey::generate(config::key_environment(&cx.env)?, &mut cx.random),
        workspace_id: workspace.clone(),
        created_at: cx.now,
    })
}

fn workspace_not_found(id: &str) -> ApiError {
    match WorkspaceId::parse(id) {
        Some(id) => ApiError::NotFound(format!("no workspace {id}")),
        None => ApiError::NotFound("no such workspace".into()),
    }
}

fn key_not_found() -> ApiError {
    ApiError::NotFound("no such API key".into())
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

impl Operation for AddApiKey {
    async fn attempt(&mut self, cx: &mut Cx, directory: &Store) -> ApiResult<Attempt> {
        // Workspaces are never deleted: one the directory lists now is there at the insert.
        let shard = directory
            .shard_of_workspace(&self.workspace)
            .await?
            .ok_or_else(|| workspace_not_found(self.workspace.as_str()))?;
        let key = issue_key(cx, &self.workspace)?;
        let store = cx.store(&shard, Freshness::Primary)?;
        let insert = store.insert_key(&self.workspace, &key.id, &key.key, cx.now)?;
        write_to_shard(&store, vec![insert]).await?;
        self.written = Some((shard.clone(), key.id.clone()));
        let tenant = Tenant {
            workspace: self.workspace.clone(),
            shard,
        };
        Ok(Attempt::Write {
            statements: vec![directory.list_key(&key.key.hash(), &key.id, &tenant)?],
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

/// `GET /admin/v1/workspaces/{id}/api-keys?limit&offset`: a page of the workspace's keys,
/// oldest first, revoked ones included: each key's id, creation and revocation times and
/// last four characters, never the key or its hash. One round trip to the directory and
/// one to the shard.
pub async fn list(cx: &Cx, directory: &Store, id: &str, query: &Query) -> ApiResult<Response> {
    let page = PageRequest::from_parameters(query)?;
    let workspace = WorkspaceId::parse(id).ok_or_else(|| workspace_not_found(id))?;
    let shard = directory
        .shard_of_workspace(&workspace)
        .await?
        .ok_or_else(|| workspace_not_found(id))?;
    let (data, total) = cx
        .store(&shard, Freshness::Primary)?
        .api_keys(&workspace, page)
        .await?;
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

/// Revokes key `key_id` in `shard`, at once: the next request with it is refused (a
/// Worker isolate that remembers the key confirms it in that request's own D1 call).
/// Revoking a revoked key answers its first revocation.
async fn revoke(cx: &Cx, key_id: ApiKeyId, shard: &str) -> ApiResult<RevokedApiKey> {
    let (revoked_at, workspace_id) = cx
        .store(shard, Freshness::Primary)?
        .revoke_key(&key_id, cx.now)
        .await?
        .ok_or_else(key_not_found)?;
    Ok(RevokedApiKey {
        id: key_id,
        workspace_id,
        revoked: true,
        revoked_at,
    })
}

/// `DELETE /admin/v1/api-keys/{keyId}`: the directory says which shard holds the key.
pub async fn revoke_by_id(cx: &Cx, directory: &Store, id: &str) -> ApiResult<Response> {
    let key_id = ApiKeyId::parse(id).ok_or_else(key_not_found)?;
    let shard = directory
        .shard_of_key(&key_id)
        .await?
        .ok_or_else(key_not_found)?;
    http::json_of(200, &revoke(cx, key_id, &shard).await?)
}

/// `POST /admin/v1/api-keys/revoke` with `{ "key": "sk_workspace_..." }`: a leaked key,
/// found by its hash in the directory and revoked as by its id. A POST, so it honours
/// `Idempotency-Key`; the key itself is dropped once hashed, so neither the request's
/// fingerprint (a SHA-256 of the body) nor its recorded answer (the revocation, sealed)
/// holds it, and nothing logs it.
pub struct RevokeByText {
    key_hash: String,
}

impl RevokeByText {
    /// Judges the body: 400 naming `key` unless it is a key of this deployment.
    pub fn new(cx: &Cx, body: &Value) -> ApiResult<Self> {
        let request = RevokeApiKeyRequest::from_json(body, "")?;
        let key = request.api_key(config::key_environment(&cx.env)?)?;
        Ok(Self {
            key_hash: key.hash(),
        })
    }
}

impl Operation for RevokeByText {
    async fn attempt(&mut self, cx: &mut Cx, directory: &Store) -> ApiResult<Attempt> {
        let (key_id, shard) = directory
            .key_of_hash(&self.key_hash)
            .await?
            .ok_or_else(key_not_found)?;
        // Written to the key's shard before the claim commits in the directory: a retry
        // that lost the race to its key has revoked the key too, which is what both asked.
        let revoked = revoke(cx, key_id, &shard).await?;
        Ok(Attempt::Write {
            statements: Vec::new(),
            answer: http::recorded(200, &revoked, Vec::new())?,
        })
    }
}
