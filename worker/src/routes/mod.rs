//! The dispatch: every path of `connect_core`'s route table to its handler, after the
//! method (405 with `Allow`), the query parameters the route takes (any other is a 400
//! naming it), authentication, the rate limit and the `X-Connect-Bookmark` sent. Reads
//! answer directly; every write goes through `idempotency::perform` (see [`write`]).
//! `HEAD` is served as the `GET` of its route (RFC 9110); the fetch handler then drops
//! the body.

pub mod admin;
pub mod app;
pub mod apps;
pub mod openapi;
pub mod workspace;

use crate::auth;
use crate::backend::WorkerBackend;
use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::isolate;
use crate::rate_limit::Limit;
use crate::store::kv::Kv;
use crate::store::{sessions, Freshness, D1};
use connect_core::rules::query::Query;
use connect_core::server::bookmark::{self, Bookmark};
use connect_core::server::failure::Failure;
use connect_core::server::perform::{perform, Operation, WriteRequest};
use connect_core::server::session::Session;
use connect_core::server::storage::KeyValue;
use connect_core::server::tables::directory::Tenant;
use connect_core::wire::routes::{self, Matched, RouteName, RouteSpec};
use serde_json::Value;
use worker::{Request, Response};

/// Routes the request: 404 for an unknown path, 405 (with `Allow`) for a known path with
/// another method, 400 for a query parameter the route does not take, then
/// authentication, then the handler, which gets the query read. A route that takes no
/// body refuses one (other than `{}`).
pub async fn handle(cx: &mut Cx, mut req: Request) -> ApiResult<Response> {
    let url = req.url()?;
    let path = url.path();
    let no_route = || ApiError::from(Failure::NotFound("no such route".into()));
    let Matched { route, param } = routes::match_path(path).ok_or_else(no_route)?;
    let id = param.unwrap_or_default();
    let method = req.inner().method();
    // Without ADMIN_TOKEN the admin API does not exist, not even as a 405.
    let admin_token = if route.is_admin() {
        Some(config::admin_token(&cx.env).ok_or_else(no_route)?)
    } else {
        None
    };
    check_method(route, &method)?;
    let query = Query::parse(
        url.query().unwrap_or_default(),
        route.query_parameters(&method),
    )?;
    if let Some(token) = admin_token {
        auth::operator(&cx.env, &req, &token).await?;
        return admin::handle(cx, &mut req, route.name, &method, id, &query).await;
    }
    let method = if method == "HEAD" {
        "GET".to_owned()
    } else {
        method
    };
    if route.name == RouteName::OpenApi {
        http::read_no_body(&mut req).await?;
        return openapi::get();
    }
    let key = auth::api_key(&req, config::key_environment(&cx.env)?)?;
    Limit::ApiKey.count(&cx.env, key.hash()).await?;
    let (tenant, key_hash) = auth::tenant(&key, || cx.directory(), cx.now).await?;
    // A bookmark this API sent to this workspace, for its shard; anything else is refused
    // as the request's answer, so that the refusal, like every answer to a live key,
    // carries a bookmark of its own.
    let sent = sent_bookmark(cx, &req, &tenant);
    // A read may be served by a replica, at least as recent as the bookmark sent; a
    // request that writes, and so decides idempotency, starts at the primary.
    let freshness = if method == "GET" {
        Freshness::Replica(sent.as_ref().ok().and_then(Option::as_ref))
    } else {
        Freshness::Primary
    };
    let store = cx.store(&tenant.shard, freshness)?;
    store.confirm_key(key_hash.clone());
    let request = Dispatched {
        method: &method,
        route,
        id,
        query: &query,
    };
    let answer = match sent {
        Ok(_) => dispatch(cx, &store, &mut req, &tenant, request).await,
        Err(refused) => Err(refused),
    };
    // A request that reached no D1 call (refused before, or replayed from KV) confirms its
    // key now: a revoked key gets 401, whatever it was answered.
    let answer = store
        .finish_key_check()
        .await
        .map_err(ApiError::from)
        .and(answer);
    if matches!(answer, Err(ApiError::Server(Failure::Unauthorized(_)))) {
        // The key was found revoked: this isolate forgets it, and it learns nothing.
        isolate::forget_key(&key_hash);
    } else {
        // Every answer to a live key, errors included, says how recent a state it saw:
        // the latest of its session, which the key's confirmation reached if nothing
        // else did.
        cx.bookmark = sessions::bookmark(store.database(), &tenant.workspace);
    }
    answer
}

/// The `X-Connect-Bookmark` the caller sent back, if any (an empty one is none): a 400
/// naming the header unless this API sent it to `tenant`'s workspace for its shard.
fn sent_bookmark(cx: &Cx, req: &Request, tenant: &Tenant) -> ApiResult<Option<Bookmark>> {
    let Some(raw) = req.headers().get(bookmark::HEADER)? else {
        return Ok(None);
    };
    let keys = config::bookmark_keys(&cx.env)?;
    Ok(keys.read(&raw, &tenant.workspace, &tenant.shard)?)
}

/// What the dispatch knows of a workspace route's request once it is authenticated.
struct Dispatched<'a> {
    /// The request's method, `HEAD` read as `GET`.
    method: &'a str,
    route: &'static RouteSpec,
    /// The path parameter, if the route has one.
    id: &'a str,
    /// The query, holding only parameters the route takes.
    query: &'a Query,
}

/// Runs the handler of a workspace route.
async fn dispatch(
    cx: &mut Cx,
    store: &Session<D1>,
    req: &mut Request,
    tenant: &Tenant,
    request: Dispatched<'_>,
) -> ApiResult<Response> {
    let Dispatched {
        method,
        route,
        id,
        query,
    } = request;
    let (ws, shard) = (&tenant.workspace, tenant.shard.as_str());
    if method == "GET" {
        http::read_no_body(req).await?;
    }
    match (route.name, method) {
        (RouteName::Workspace, _) => workspace::get(store, ws).await,
        (RouteName::Apps, "GET") => apps::list(cx, store, ws, query).await,
        (RouteName::App, "GET") => app::get(cx, store, ws, id).await,
        (RouteName::RedirectUris, "GET") => app::get_redirect_uris(store, ws, id).await,
        (RouteName::WebhookConfig, "GET") => app::get_webhook_config(cx, store, ws, id).await,
        (RouteName::Apps, _) => {
            let body = http::read_json(req).await?;
            let op = apps::create(cx, ws, shard, &body);
            write(cx, store, req, ws.as_str(), Some(&body), op).await
        }
        (RouteName::AppsBatch, _) => {
            let body = http::read_json(req).await?;
            let op = apps::batch_create(cx, ws, shard, &body);
            write(cx, store, req, ws.as_str(), Some(&body), op).await
        }
        (RouteName::App, "PATCH") => {
            let body = http::read_json(req).await?;
            let op = app::update(ws, id, &body);
            write(cx, store, req, ws.as_str(), Some(&body), op).await
        }
        (RouteName::App, _) => {
            http::read_no_body(req).await?;
            write(cx, store, req, ws.as_str(), None, Ok(app::delete(ws, id))).await
        }
        (RouteName::RotateClientSecret, _) => {
            http::read_no_body(req).await?;
            let op = Ok(app::rotate_client_secret(ws, id));
            write(cx, store, req, ws.as_str(), None, op).await
        }
        (RouteName::RedirectUris, _) => {
            let body = http::read_json(req).await?;
            let op = app::replace_redirect_uris(ws, id, &body);
            write(cx, store, req, ws.as_str(), Some(&body), op).await
        }
        (RouteName::WebhookConfig, _) => {
            let body = http::read_json(req).await?;
            let op = app::update_webhook_config(ws, id, &body);
            write(cx, store, req, ws.as_str(), Some(&body), op).await
        }
        (RouteName::RotateWebhookSecret, _) => {
            http::read_no_body(req).await?;
            let op = Ok(app::rotate_webhook_secret(ws, id));
            write(cx, store, req, ws.as_str(), None, op).await
        }
        (
            RouteName::OpenApi
            | RouteName::AdminWorkspaces
            | RouteName::AdminWorkspaceApiKeys
            | RouteName::AdminApiKeysRevoke
            | RouteName::AdminApiKey
            | RouteName::AdminSecretsKeys
            | RouteName::AdminSecretsKeysReseal
            | RouteName::AdminShards
            | RouteName::AdminHealth,
            _,
        ) => Err(ApiError::internal(format!(
            "{} reached the workspace dispatch",
            route.path
        ))),
    }
}

/// Performs a write: every route that changes state comes through here, so every POST
/// honours `Idempotency-Key` in `scope` (a workspace id, or the operators').
pub async fn write<O: Operation<WorkerBackend>>(
    cx: &mut Cx,
    db: &Session<D1>,
    req: &Request,
    scope: &str,
    body: Option<&Value>,
    operation: Result<O, Failure>,
) -> ApiResult<Response> {
    let url = req.url()?;
    let method = req.inner().method();
    let key = req.headers().get("idempotency-key")?;
    let request = WriteRequest {
        method: &method,
        path: url.path(),
        body,
        key: key.as_deref(),
        scope,
    };
    // Writes seal what they store, and a keyed request its answer: a ring that does not
    // parse fails the request before anything is written. A request the operation
    // already refused, without a key, gets that refusal instead.
    let ring = match config::key_ring(&cx.env) {
        Ok(ring) => ring,
        Err(e) if key.is_none() => return Err(operation.err().unwrap_or(e).into()),
        Err(e) => return Err(e.into()),
    };
    let performed = perform(db, &mut cx.tools(&ring), request, operation).await?;
    if let (Some(put), Some(kv)) = (performed.remember, Kv::new(&cx.env)) {
        // The edge copy, written after the answer is sent.
        cx.ctx
            .wait_until(async move { kv.put(&put.name, put.text, put.ttl_seconds).await });
    }
    http::answer(&performed.answer, performed.replayed)
}

fn check_method(route: &RouteSpec, method: &str) -> ApiResult<()> {
    if route.methods.contains(&method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(route.methods))
    }
}
