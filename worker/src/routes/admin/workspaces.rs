//! `POST /admin/v1/workspaces`: a workspace and its first key, written to its shard and
//! then entered in the directory.

use super::api_keys::issue_key;
use super::{shards_as_bound, unwrite, write_to_shard};
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::schema;
use crate::store::directory::Tenant;
use crate::store::Freshness;
use crate::store::Store;
use connect_core::server::shards::{place, Probe};
use connect_core::wire::ids::{ApiKeyId, WorkspaceId};
use connect_core::wire::response::{CreatedWorkspace, Workspace};

/// `POST /admin/v1/workspaces`: a workspace and its first key, in the shard with the
/// fewest bytes, if that shard is ready. Each shard is asked in one statement, which
/// reads one index entry: whether it has the Worker's latest migration, and its size.
/// Any shard not bound or never migrated, or a smallest shard without the latest
/// migration, refuses the request before anything is written.
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
        let mut probes = Vec::new();
        for (name, store) in shards_as_bound(cx)? {
            let probe = match store {
                Some(store) => store.probe(schema::latest()).await?,
                None => Probe::Unknown("is not bound to a D1 database".into()),
            };
            probes.push((name, probe));
        }
        let shard = place(&probes).map_err(ApiError::NotReady)?.to_owned();
        let workspace = WorkspaceId::generate(&mut cx.random);
        let key = issue_key(cx, &workspace)?;
        let hash = key.key.hash();
        let store = cx.store(&shard, Freshness::Primary)?;
        write_to_shard(
            &store,
            store.create_workspace(&workspace, &key.id, &key.key, cx.now)?,
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
