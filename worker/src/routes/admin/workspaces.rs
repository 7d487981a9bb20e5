//! `POST /admin/v1/workspaces`: a workspace and its first key, written to its shard and
//! then entered in the directory (`connect_core::server::operations::workspaces`).

use super::shards_as_bound;
use crate::config;
use crate::context::Cx;
use crate::schema;
use connect_core::server::failure::Failure;
use connect_core::server::operations::workspaces::CreateWorkspace;
use connect_core::server::shards::{place, Probe};

/// A workspace in the shard with the fewest bytes, if that shard is ready. Each shard is
/// asked in one statement, which reads one index entry: whether it has the Worker's latest
/// migration, and its size. Any shard not bound or never migrated, or a smallest shard
/// without the latest migration, refuses the request before anything is written.
pub async fn create(cx: &Cx) -> Result<CreateWorkspace, Failure> {
    let mut probes = Vec::new();
    for (name, store) in shards_as_bound(cx)? {
        let probe = match store {
            Some(store) => store.database().probe(schema::latest()).await?,
            None => Probe::Unknown("is not bound to a D1 database".into()),
        };
        probes.push((name, probe));
    }
    let shard = place(&probes).map_err(Failure::NotReady)?.to_owned();
    Ok(CreateWorkspace::new(
        shard,
        config::key_environment(&cx.env)?,
    ))
}
