//! `GET /admin/v1/shards`: the operators' report of the shards.

use super::every_shard;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::store::D1;
use connect_core::server::admin::{Shard, ShardTotals, Shards};
use connect_core::server::session::Session;
use connect_core::server::shards::roomiest;
use connect_core::server::tables::directory;
use worker::Response;

/// `GET /admin/v1/shards`: each shard's workspaces (the directory's counts), apps and
/// bytes, and which one the next workspace goes to.
pub async fn get(cx: &Cx, db: &Session<D1>) -> ApiResult<Response> {
    let listed = directory::workspaces_by_shard(db).await?;
    let mut shards = Vec::new();
    for shard in every_shard(cx)? {
        let (apps, bytes) = shard.database().usage().await?;
        let name = shard.database().shard().to_owned();
        let workspaces = listed
            .iter()
            .find(|(shard, _)| *shard == name)
            .map_or(0, |(_, n)| *n);
        shards.push(Shard {
            name,
            workspaces,
            apps,
            bytes,
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
