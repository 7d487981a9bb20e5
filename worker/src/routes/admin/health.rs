//! `GET /admin/v1/health`: whether the deployment is ready to serve, and if not, each
//! problem by name (`connect_core::server::health`): the settings (`SECRETS_KEYS`,
//! `KEY_ENVIRONMENT`, `SHARDS`), every shard bound and migrated to the schema this Worker
//! was built for, the directory present in the first. 200 when ready, else 503. Nothing
//! it reads needs a working deployment, and nothing it answers holds key material.

use super::shards_as_bound;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::schema;
use connect_core::server::failure::Failure;
use connect_core::server::health::{Checkup, DirectoryState, ShardState};
use connect_core::server::tables::{directory, shards};
use worker::Response;

/// The report: one read of `d1_migrations` a shard and one of the directory's counts.
pub async fn get(cx: &Cx) -> ApiResult<Response> {
    let env = &cx.env;
    let mut checkup = Checkup::new(schema::MIGRATIONS);
    let secret = |name| env.secret(name).ok().map(|s| s.to_string());
    let var = |name| env.var(name).ok().map(|v| v.to_string());
    checkup.key_ring(secret("SECRETS_KEYS").as_deref());
    checkup.key_environment(var("KEY_ENVIRONMENT").as_deref());
    if let Some(shards_list) = checkup.shards(var("SHARDS").as_deref()) {
        let mut state = DirectoryState::Unbound;
        for (name, store) in shards_as_bound(cx)? {
            let Some(store) = store else {
                checkup.shard(&name, &ShardState::Unbound);
                continue;
            };
            checkup.shard(&name, &shards::migrations(&store).await);
            if name == shards_list.directory() {
                state = match directory::workspaces_by_shard(&store).await {
                    Ok(placed) => DirectoryState::Listed(placed),
                    Err(Failure::NotReady(_)) => DirectoryState::Missing,
                    Err(e) => DirectoryState::Unreadable(e.to_string()),
                };
            }
        }
        checkup.directory(&shards_list, &state);
    }
    let report = checkup.report();
    http::json_of(if report.ready { 200 } else { 503 }, &report)
}
