//! The route table: every path the Worker serves, the methods each allows (which also
//! answers 405 with `Allow`), and the dispatch to handlers.

pub mod admin;
pub mod apps;
pub mod openapi;
pub mod workspace;

use crate::auth;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::random::RandomPool;
use crate::rate_limit;
use crate::store::d1::{RoundTrips, Store};
use connect_core::routes::{self, Matched, RouteName, RouteSpec};
use connect_core::time::Timestamp;
use worker::{Context, Env, Request, Response};

/// What a handler needs besides the request.
pub struct Cx {
    /// Bindings, vars and secrets.
    pub env: Env,
    /// The execution context, for work that may finish after the response.
    pub ctx: Context,
    /// Randomness for ids and secrets.
    pub random: RandomPool,
    /// The time the request arrived, for every timestamp it writes.
    pub now: Timestamp,
    /// D1 round trips made so far.
    pub round_trips: RoundTrips,
}

/// Routes the request by `connect_core::routes`: 404 for an unknown path, 405 (with
/// `Allow`) for a known path with another method, then authentication, then the handler.
pub async fn handle(cx: &mut Cx, mut req: Request) -> ApiResult<Response> {
    let url = req.url()?;
    let no_route = || ApiError::NotFound("no such route".into());
    let Matched { route, param } = routes::match_path(url.path()).ok_or_else(no_route)?;
    let id = param.unwrap_or_default();
    let method = req.inner().method();
    if route.is_admin() {
        // Without ADMIN_TOKEN the admin API does not exist, not even as a 405.
        let token = config::admin_token(&cx.env).ok_or_else(no_route)?;
        check_method(route, &method)?;
        auth::operator(&req, &token)?;
        return admin::handle(cx, &mut req, route.name, id).await;
    }
    check_method(route, &method)?;
    if route.name == RouteName::OpenApi {
        return openapi::get();
    }
    let key = auth::api_key(&req, config::key_environment(&cx.env)?)?;
    rate_limit::check(&cx.env, &key).await?;
    let store = Store::new(&cx.env, cx.round_trips.clone())?;
    let ws = auth::workspace(&key, &store, cx.now).await?;
    let req = &mut req;
    match (route.name, method.as_str()) {
        (RouteName::Workspace, _) => workspace::get(&store, &ws).await,
        (RouteName::Apps, "GET") => apps::list(cx, &store, &ws, url.query().unwrap_or("")).await,
        (RouteName::Apps, _) => apps::create(cx, &store, &ws, req).await,
        (RouteName::AppsBatch, _) => apps::batch_create(cx, &store, &ws, req).await,
        (RouteName::App, "GET") => apps::get(cx, &store, &ws, id).await,
        (RouteName::App, "PATCH") => apps::update(cx, &store, &ws, id, req).await,
        (RouteName::App, _) => apps::delete(cx, &store, &ws, id).await,
        (RouteName::RotateClientSecret, _) => {
            apps::rotate_client_secret(cx, &store, &ws, id, req).await
        }
        (RouteName::RedirectUris, "GET") => apps::get_redirect_uris(cx, &store, &ws, id).await,
        (RouteName::RedirectUris, _) => apps::replace_redirect_uris(cx, &store, &ws, id, req).await,
        (RouteName::WebhookConfig, "GET") => apps::get_webhook_config(cx, &store, &ws, id).await,
        (RouteName::WebhookConfig, _) => {
            apps::update_webhook_config(cx, &store, &ws, id, req).await
        }
        (RouteName::RotateWebhookSecret, _) => {
            apps::rotate_webhook_secret(cx, &store, &ws, id, req).await
        }
        (
            RouteName::OpenApi
            | RouteName::AdminWorkspaces
            | RouteName::AdminWorkspaceApiKeys
            | RouteName::AdminApiKey,
            _,
        ) => Err(ApiError::Internal(format!(
            "{} reached the workspace dispatch",
            route.path
        ))),
    }
}

fn check_method(route: &RouteSpec, method: &str) -> ApiResult<()> {
    if route.methods.contains(&method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(route.methods))
    }
}
