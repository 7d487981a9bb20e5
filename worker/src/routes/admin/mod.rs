//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`: workspaces, their API
//! keys, the secrets key ring, the shards and the deployment's health. Its POSTs honour
//! `Idempotency-Key` like every POST, in the operators' own scope, decided in the
//! directory's database (the first shard): a retried workspace creation returns the same
//! workspace and key. The writes themselves are the core's
//! (`connect_core::server::operations::workspaces`, `connect_core::server::reseal`).
//!
//! By resource: `workspaces` (creating one), `api_keys` (a workspace's keys: adding,
//! listing, revoking by id or by the key's text), `secrets_keys` (the key ring and the
//! re-seal), `shards` (the operators' report), `health` (whether the deployment is ready).

mod api_keys;
mod health;
mod secrets_keys;
mod shards;
mod workspaces;

use super::write;
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::store::{Freshness, D1};
use connect_core::rules::query::Query;
use connect_core::server::failure::Failure;
use connect_core::server::perform::OPERATORS;
use connect_core::server::session::Session;
use connect_core::wire::routes::RouteName;
use worker::{Request, Response};

/// Dispatches an admin route (method and query already checked, operator authenticated);
/// `id` is the route's path parameter.
pub async fn handle(
    cx: &mut Cx,
    req: &mut Request,
    route: RouteName,
    method: &str,
    id: &str,
    query: &Query,
) -> ApiResult<Response> {
    if route == RouteName::AdminHealth {
        // Before anything that needs a working deployment: this says what does not work.
        http::read_no_body(req).await?;
        return health::get(cx).await;
    }
    let directory = cx.directory()?;
    match route {
        RouteName::AdminWorkspaces => {
            http::read_no_body(req).await?;
            let op = workspaces::create(cx).await;
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys if method == "POST" => {
            http::read_no_body(req).await?;
            let op = api_keys::add(cx, id);
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys => {
            http::read_no_body(req).await?;
            api_keys::list(cx, &directory, id, query).await
        }
        RouteName::AdminApiKeysRevoke => {
            let body = http::read_json(req).await?;
            let op = api_keys::revoke_by_text(cx, &body);
            write(cx, &directory, req, OPERATORS, Some(&body), op).await
        }
        RouteName::AdminApiKey => {
            http::read_no_body(req).await?;
            api_keys::revoke_by_id(cx, &directory, id).await
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

/// Every shard's database, at its primary.
pub(super) fn every_shard(cx: &Cx) -> Result<Vec<Session<D1>>, Failure> {
    config::shards(&cx.env)?
        .names()
        .iter()
        .map(|shard| cx.store(shard, Freshness::Primary))
        .collect()
}

/// A shard of `SHARDS` by name, with its database at its primary if one is bound under
/// that name.
type BoundShard = (String, Option<Session<D1>>);

/// Every shard of `SHARDS` (see [`BoundShard`]).
pub(super) fn shards_as_bound(cx: &Cx) -> Result<Vec<BoundShard>, Failure> {
    config::shards(&cx.env)?
        .names()
        .iter()
        .map(|shard| {
            let store = match cx.env.d1(shard) {
                Ok(_) => Some(cx.store(shard, Freshness::Primary)?),
                Err(_) => None,
            };
            Ok((shard.clone(), store))
        })
        .collect()
}
