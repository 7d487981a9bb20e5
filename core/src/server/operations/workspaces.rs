//! The operators' writes of workspaces and their API keys. A workspace or key is written
//! to its shard first ([`Elsewhere`]), then entered in the directory (in the first shard)
//! in the transaction that holds the claim of the request's `Idempotency-Key`; until then
//! nothing leads to it, and if that transaction is refused (a retry won) it is removed
//! again. A key revoked by its text is found in the directory and revoked in its shard.

use crate::rules::random::Entropy;
use crate::server::admin::{CreatedWorkspace, IssuedApiKey, RevokedApiKey};
use crate::server::failure::Failure;
use crate::server::perform::{Attempt, Backend, Elsewhere, Operation, Tools, Write};
use crate::server::recorded::RecordedResponse;
use crate::server::session::Session;
use crate::server::tables::directory::{self, Tenant};
use crate::server::tables::workspaces;
use crate::wire::ids::{ApiKeyId, WorkspaceId};
use crate::wire::response::Workspace;
use crate::wire::secrets::{ApiKey, KeyEnvironment};
use crate::wire::time::Timestamp;

/// A new API key of `workspace`.
fn issue_key(
    workspace: &WorkspaceId,
    environment: KeyEnvironment,
    now: Timestamp,
    random: &mut dyn Entropy,
) -> IssuedApiKey {
    IssuedApiKey {
        id: ApiKeyId::generate(random),
        key: ApiKey::generate(environment, random),
        workspace_id: workspace.clone(),
        created_at: now,
    }
}

/// The 404 of a workspace the directory does not list.
pub fn workspace_not_found(id: &str) -> Failure {
    match WorkspaceId::parse(id) {
        Ok(id) => Failure::NotFound(format!("no workspace {id}")),
        Err(_) => Failure::NotFound("no such workspace".into()),
    }
}

/// `POST /admin/v1/workspaces`: a workspace and its first key, in a chosen shard.
#[derive(Debug, Clone)]
pub struct CreateWorkspace {
    shard: String,
    environment: KeyEnvironment,
}

impl CreateWorkspace {
    /// A workspace in `shard` (the one with the fewest bytes: `shards::roomiest`), its key
    /// of `environment`.
    pub fn new(shard: String, environment: KeyEnvironment) -> Self {
        Self { shard, environment }
    }
}

impl<B: Backend> Operation<B> for CreateWorkspace {
    async fn attempt(
        &mut self,
        _directory: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let workspace = WorkspaceId::generate(tools.random);
        let key = issue_key(&workspace, self.environment, tools.now, tools.random);
        let hash = key.key.hash();
        let tenant = Tenant {
            workspace: workspace.clone(),
            shard: self.shard.clone(),
        };
        let statements = vec![
            directory::list_workspace(&workspace, &tenant.shard, tools.now),
            directory::list_key(&hash, &key.id, &tenant),
        ];
        let elsewhere = Elsewhere {
            shard: self.shard.clone(),
            statements: workspaces::create(&workspace, &key.id, &key.key, tools.now),
            undo: workspaces::delete_unlisted(&workspace, &key.id),
        };
        let answer = CreatedWorkspace {
            workspace: Workspace::new(workspace, 0, tools.now),
            api_key: key,
        };
        Ok(Attempt::Write(Write {
            elsewhere: Some(elsewhere),
            ..Write::new(statements, RecordedResponse::json(201, &answer)?)
        }))
    }
}

/// `POST /admin/v1/workspaces/{id}/api-keys`: another key for a workspace, in its shard.
#[derive(Debug, Clone)]
pub struct AddApiKey {
    workspace: WorkspaceId,
    environment: KeyEnvironment,
}

impl AddApiKey {
    /// A key of `environment` for workspace `id` (404 if it is not a workspace id).
    pub fn new(id: &str, environment: KeyEnvironment) -> Result<Self, Failure> {
        let workspace = WorkspaceId::parse(id).map_err(|_| workspace_not_found(id))?;
        Ok(Self {
            workspace,
            environment,
        })
    }
}

impl<B: Backend> Operation<B> for AddApiKey {
    async fn attempt(
        &mut self,
        directory: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        // Workspaces are never deleted: one the directory lists now is there at the insert.
        let shard = directory::shard_of_workspace(directory, &self.workspace)
            .await?
            .ok_or_else(|| workspace_not_found(self.workspace.as_str()))?;
        let key = issue_key(&self.workspace, self.environment, tools.now, tools.random);
        let hash = key.key.hash();
        let elsewhere = Elsewhere {
            shard: shard.clone(),
            statements: vec![workspaces::insert_key(
                &self.workspace,
                &key.id,
                &key.key,
                tools.now,
            )],
            undo: vec![workspaces::delete_unlisted_key(&key.id)],
        };
        let tenant = Tenant {
            workspace: self.workspace.clone(),
            shard,
        };
        Ok(Attempt::Write(Write {
            elsewhere: Some(elsewhere),
            ..Write::new(
                vec![directory::list_key(&hash, &key.id, &tenant)],
                RecordedResponse::json(201, &key)?,
            )
        }))
    }
}

/// The 404 of a key this deployment never issued.
pub fn key_not_found() -> Failure {
    Failure::NotFound("no such API key".into())
}

/// `POST /admin/v1/api-keys/revoke` with `{ "key": "sk_workspace_..." }`: a leaked key,
/// found by its hash in the directory and revoked in its shard, at once. The key itself is
/// dropped once hashed, so neither the request's fingerprint (a SHA-256 of the body) nor
/// its recorded answer (the revocation, sealed) holds it. Revoking a revoked key answers
/// its first revocation.
#[derive(Debug, Clone)]
pub struct RevokeByText {
    key_hash: String,
}

impl RevokeByText {
    /// The key `key` (judged by the rules: a key of this deployment).
    pub fn new(key: &ApiKey) -> Self {
        Self {
            key_hash: key.hash(),
        }
    }
}

impl<B: Backend> Operation<B> for RevokeByText {
    async fn attempt(
        &mut self,
        directory: &Session<B::Db>,
        tools: &mut Tools<'_, B>,
    ) -> Result<Attempt, Failure> {
        let (key_id, shard) = directory::key_of_hash(directory, &self.key_hash)
            .await?
            .ok_or_else(key_not_found)?;
        let (workspace_id, revoked_at) =
            workspaces::key_state(&tools.backend.shard(&shard)?, &key_id)
                .await?
                .ok_or_else(key_not_found)?;
        let revoked = |revoked_at| RevokedApiKey {
            id: key_id.clone(),
            workspace_id: workspace_id.clone(),
            revoked: true,
            revoked_at,
        };
        if let Some(at) = revoked_at {
            return Ok(Attempt::Answer(RecordedResponse::json(200, &revoked(at))?));
        }
        // Revoked in the key's shard before the claim commits in the directory; another
        // request revoking it in between moves the state, and the next attempt answers
        // that revocation.
        Ok(Attempt::Write(Write {
            elsewhere: Some(Elsewhere {
                shard,
                statements: workspaces::revoke_live(&key_id, tools.now),
                undo: Vec::new(),
            }),
            ..Write::new(
                Vec::new(),
                RecordedResponse::json(200, &revoked(tools.now))?,
            )
        }))
    }
}
