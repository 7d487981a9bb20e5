//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`: workspaces, their API
//! keys, the secrets key ring and the shards. Its POSTs honour `Idempotency-Key` like every
//! POST, in the operators' own scope, decided in the directory's database (the first
//! shard): a retried workspace creation returns the same workspace and key.
//!
//! A workspace or key is written to its shard first, then entered in the directory in the
//! transaction that holds the claim; until then nothing leads to it. If that transaction
//! is refused (a retry won), what the attempt wrote to the shard is removed again
//! (`Operation::abandon`).

use super::write;
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation, OPERATORS};
use crate::reseal;
use crate::store::directory::Tenant;
use crate::store::{Freshness, Store};
use connect_core::server::reseal::secrets_keys as keys_of;
use connect_core::server::shards::roomiest;
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::response::{
    CreatedWorkspace, IssuedApiKey, RevokedApiKey, Shard, ShardTotals, Shards, Workspace,
};
use connect_core::wire::routes::RouteName;
use connect_core::wire::secrets::ApiKey;
use worker::{console_error, D1PreparedStatement, Request, Response};

/// Dispatches an admin route (method already checked, operator authenticated); `id` is
/// the route's path parameter.
pub async fn handle(
    cx: &mut Cx,
    req: &mut Request,
    route: RouteName,
    id: &str,
) -> ApiResult<Response> {
    let directory = cx.directory()?;
    match route {
        RouteName::AdminWorkspaces => {
            http::read_no_body(req).await?;
            let op = Ok(CreateWorkspace { written: None });
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys => {
            http::read_no_body(req).await?;
            let op = AddApiKey::new(id);
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminApiKey => {
            http::read_no_body(req).await?;
            revoke_key(cx, &directory, id).await
        }
        RouteName::AdminSecretsKeys => {
            http::read_no_body(req).await?;
            secrets_keys(cx).await
        }
        RouteName::AdminSecretsKeysReseal => {
            http::read_no_body(req).await?;
            write(cx, &directory, req, OPERATORS, None, Ok(Reseal)).await
        }
        RouteName::AdminShards => {
            http::read_no_body(req).await?;
            shards(cx, &directory).await
        }
        _ => Err(ApiError::Internal(
            "a workspace route reached the admin dispatch".into(),
        )),
    }
}

/// Every shard's database, at its primary.
fn every_shard(cx: &Cx) -> ApiResult<Vec<Store>> {
    config::shards(&cx.env)?
        .names()
        .iter()
        .map(|shard| cx.store(shard, Freshness::Primary))
        .collect()
}

/// Writes `statements` to the shard's database, outside the directory's transaction.
async fn write_to_shard(shard: &Store, statements: Vec<D1PreparedStatement>) -> ApiResult<()> {
    match shard.commit(statements).await? {
        Ok(()) => Ok(()),
        Err(refused) => Err(ApiError::Internal(format!(
            "writing to shard {}: refused ({refused:?})",
            shard.shard()
        ))),
    }
}

/// Removes what an abandoned attempt wrote to a shard; what it cannot remove stays
/// unreachable (nothing in the directory leads to it), and is logged.
async fn unwrite(shard: &Store, statements: ApiResult<Vec<D1PreparedStatement>>) {
    let outcome = match statements {
        Ok(statements) => shard.commit(statements).await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        console_error!(
            "an abandoned operators' write stays in shard {} (unreachable): {e:?}",
            shard.shard()
        );
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

/// `POST /admin/v1/workspaces`: a workspace and its first key, in the shard with the
/// fewest bytes.
struct CreateWorkspace {
    /// What the last attempt wrote to a shard: the shard, the workspace and its key.
    written: Option<(String, WorkspaceId, ApiKeyId)>,
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
        match cx.store(&shard, Freshness::Primary) {
            Ok(store) => {
                let statements = store.delete_unlisted_workspace(&workspace, &key_id);
                unwrite(&store, statements).await;
            }
            Err(e) => console_error!("abandoning workspace {workspace}: {e:?}"),
        }
    }
}

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace, in its shard.
struct AddApiKey {
    workspace: WorkspaceId,
    /// What the last attempt wrote to the shard: the shard and the key.
    written: Option<(String, ApiKeyId)>,
}

impl AddApiKey {
    fn new(id: &str) -> ApiResult<Self> {
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
        match cx.store(&shard, Freshness::Primary) {
            Ok(store) => {
                let statement = store.delete_unlisted_key(&key_id).map(|s| vec![s]);
                unwrite(&store, statement).await;
            }
            Err(e) => console_error!("abandoning API key {key_id}: {e:?}"),
        }
    }
}

/// `DELETE /admin/v1/api-keys/{keyId}`: revoking twice answers the first revocation. The
/// directory says which shard holds the key; the shard records the revocation.
async fn revoke_key(cx: &mut Cx, directory: &Store, id: &str) -> ApiResult<Response> {
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

/// `GET /admin/v1/secrets-keys`: the ring's keys and what each seals in all shards, from
/// the counts kept with every write (one small read a shard, whatever the number of apps).
async fn secrets_keys(cx: &Cx) -> ApiResult<Response> {
    let ring = config::key_ring(&cx.env)?;
    let mut counts = Vec::new();
    for shard in every_shard(cx)? {
        counts.extend(shard.sealed_counts().await?);
    }
    http::json_of(200, &keys_of(&ring, &counts))
}

/// `POST /admin/v1/secrets-keys/reseal`: one chunk of the re-seal, in the first shard with
/// values to move (see `reseal`). The chunk commits in its shard; the claim of the
/// request's key, in the directory's transaction, records the answer. A retry that lost
/// the race has done one more chunk, which only moves what is left to the primary.
struct Reseal;

impl Operation for Reseal {
    async fn attempt(&mut self, cx: &mut Cx, _directory: &Store) -> ApiResult<Attempt> {
        let shards = every_shard(cx)?;
        let progress = reseal::chunk_in_any_shard(&cx.env, &shards, &mut cx.random).await?;
        Ok(Attempt::Write {
            statements: Vec::new(),
            answer: http::recorded(200, &progress, Vec::new())?,
        })
    }
}

/// `GET /admin/v1/shards`: each shard's workspaces (the directory's counts), apps and
/// bytes, and which one the next workspace goes to.
async fn shards(cx: &Cx, directory: &Store) -> ApiResult<Response> {
    let listed = directory.workspaces_by_shard().await?;
    let mut shards = Vec::new();
    for store in every_shard(cx)? {
        let usage = store.usage().await?;
        let name = store.shard().to_owned();
        let workspaces = listed
            .iter()
            .find(|(shard, _)| *shard == name)
            .map_or(0, |(_, n)| *n);
        shards.push(Shard {
            name,
            workspaces,
            apps: usage.apps,
            bytes: usage.bytes,
            takes_new_workspaces: false,
        });
    }
    let sizes: Vec<(String, u64)> = shards.iter().map(|s| (s.name.clone(), s.bytes)).collect();
    if let Some(next) = roomiest(&sizes).map(str::to_owned) {
        for shard in shards.iter_mut().filter(|s| s.name == next) {
            shard.takes_new_workspaces = true;
        }
    }
    let total = shards
        .iter()
        .fold(ShardTotals::default(), |t, s| ShardTotals {
            workspaces: t.workspaces + s.workspaces,
            apps: t.apps + s.apps,
            bytes: t.bytes + s.bytes,
        });
    http::json_of(200, &Shards { shards, total })
}
