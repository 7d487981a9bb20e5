//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`: workspaces, their API
//! keys, the secrets key ring and the shards. Its POSTs honour `Idempotency-Key` like every
//! POST, in the operators' own scope, decided in the directory's database (the first
//! shard): a retried workspace creation returns the same workspace and key. The writes
//! themselves are the core's (`connect_core::server::operations::workspaces`,
//! `connect_core::server::reseal`).
//!
//! By resource: `workspaces` (workspaces and their API keys), `secrets_keys` (the key ring
//! and the re-seal), `shards` (the operators' report).

mod secrets_keys;
mod shards;
mod workspaces;

use super::write;
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::store::{Freshness, D1};
use connect_core::server::failure::Failure;
use connect_core::server::perform::OPERATORS;
use connect_core::server::session::Session;
use connect_core::wire::routes::RouteName;
use worker::{Request, Response};

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
            let op = workspaces::create(cx).await;
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys => {
            http::read_no_body(req).await?;
            let op = workspaces::add_key(cx, id);
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminApiKey => {
            http::read_no_body(req).await?;
            workspaces::revoke_key(cx, &directory, id).await
        }
        RouteName::AdminSecretsKeys => {
            http::read_no_body(req).await?;
            secrets_keys::get(cx).await
        }
        RouteName::AdminSecretsKeysReseal => {
            http::read_no_body(req).await?;
            let op = secrets_keys::reseal(cx);
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminShards => {
            http::read_no_body(req).await?;
            shards::get(cx, &directory).await
        }
        _ => Err(ApiError::internal(
            "a workspace route reached the admin dispatch",
        )),
    }
}

/// Every shard's database, at its primary, with its name.
pub(super) fn every_shard(cx: &Cx) -> Result<Vec<Session<D1>>, Failure> {
    config::shards(&cx.env)?
        .names()
        .iter()
        .map(|shard| cx.store(shard, Freshness::Primary))
        .collect()
}
