//! The operators' admin API (`/admin/v1`), guarded by `ADMIN_TOKEN`: workspaces, their API
//! keys, the secrets key ring and the shards. Its POSTs honour `Idempotency-Key` like every
//! POST, in the operators' own scope, decided in the directory's database (the first
//! shard): a retried workspace creation returns the same workspace and key.
//!
//! A workspace or key is written to its shard first, then entered in the directory in the
//! transaction that holds the claim; until then nothing leads to it. If that transaction
//! is refused (a retry won), what the attempt wrote to the shard is removed again
//! (`Operation::abandon`).
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
use crate::idempotency::OPERATORS;
use crate::store::{Freshness, Store};
use connect_core::rules::query::Query;
use connect_core::wire::routes::RouteName;
use worker::{console_error, D1PreparedStatement, Request, Response};

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
            let op = Ok(workspaces::CreateWorkspace::new());
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys if method == "POST" => {
            http::read_no_body(req).await?;
            let op = api_keys::AddApiKey::new(id);
            write(cx, &directory, req, OPERATORS, None, op).await
        }
        RouteName::AdminWorkspaceApiKeys => {
            http::read_no_body(req).await?;
            api_keys::list(cx, &directory, id, query).await
        }
        RouteName::AdminApiKeysRevoke => {
            let body = http::read_json(req).await?;
            let op = api_keys::RevokeByText::new(cx, &body);
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
            write(
                cx,
                &directory,
                req,
                OPERATORS,
                None,
                Ok(secrets_keys::Reseal),
            )
            .await
        }
        RouteName::AdminShards => {
            http::read_no_body(req).await?;
            shards::get(cx, &directory).await
        }
        _ => Err(ApiError::Internal(
            "a workspace route reached the admin dispatch".into(),
        )),
    }
}

/// Every shard's database, at its primary.
pub(super) fn every_shard(cx: &Cx) -> ApiResult<Vec<Store>> {
    config::shards(&cx.env)?
        .names()
        .iter()
        .map(|shard| cx.store(shard, Freshness::Primary))
        .collect()
}

/// Every shard of `SHARDS` by name, with its database at its primary if one is bound
/// under that name.
pub(super) fn shards_as_bound(cx: &Cx) -> ApiResult<Vec<(String, Option<Store>)>> {
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

/// Writes `statements` to the shard's database, outside the directory's transaction.
pub(super) async fn write_to_shard(
    shard: &Store,
    statements: Vec<D1PreparedStatement>,
) -> ApiResult<()> {
    match shard.commit(statements).await? {
        Ok(()) => Ok(()),
        Err(refused) => Err(ApiError::Internal(format!(
            "writing to shard {}: refused ({refused:?})",
            shard.shard()
        ))),
    }
}

/// Removes what an abandoned attempt wrote to `shard` (the statements `undo` makes for
/// its database); what it cannot remove stays unreachable (nothing in the directory leads
/// to it), and is logged.
pub(super) async fn unwrite(
    cx: &Cx,
    shard: &str,
    undo: impl FnOnce(&Store) -> ApiResult<Vec<D1PreparedStatement>>,
) {
    let outcome: ApiResult<_> = async {
        let store = cx.store(shard, Freshness::Primary)?;
        store.commit(undo(&store)?).await
    }
    .await;
    if let Err(e) = outcome {
        console_error!("an abandoned operators' write stays in shard {shard} (unreachable): {e:?}");
    }
}
