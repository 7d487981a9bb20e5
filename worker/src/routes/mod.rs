//! The route table: every path the Worker serves, the methods each allows (which also
//! answers 405 with `Allow`), and the dispatch to handlers.

pub mod admin;
pub mod apps;
pub mod workspace;

use crate::auth;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::random::RandomPool;
use crate::rate_limit;
use crate::store::d1::Store;
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
}

/// A route of the API, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/connect/v1/workspace`
    Workspace,
    /// `/connect/v1/apps`
    Apps,
    /// `/connect/v1/apps/batch`
    AppsBatch,
    /// `/connect/v1/apps/{clientId}`
    App(String),
    /// `/connect/v1/apps/{clientId}/rotate-client-secret`
    RotateClientSecret(String),
    /// `/connect/v1/apps/{clientId}/redirect-uris`
    RedirectUris(String),
    /// `/connect/v1/apps/{clientId}/webhook-config`
    WebhookConfig(String),
    /// `/connect/v1/apps/{clientId}/webhook-config/rotate-secret`
    RotateWebhookSecret(String),
    /// `/admin/v1/workspaces`
    AdminWorkspaces,
    /// `/admin/v1/workspaces/{id}/api-keys`
    AdminWorkspaceApiKeys(String),
    /// `/admin/v1/api-keys/{keyId}`
    AdminApiKey(String),
}

impl Route {
    /// The route of `path`, if any. Path parameters are taken as they are; handlers
    /// parse them (a malformed id is simply not found).
    pub fn of(path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let id = |s: &&str| (*s).to_owned();
        Some(match segments.as_slice() {
            ["connect", "v1", "workspace"] => Self::Workspace,
            ["connect", "v1", "apps"] => Self::Apps,
            ["connect", "v1", "apps", "batch"] => Self::AppsBatch,
            ["connect", "v1", "apps", app] => Self::App(id(app)),
            ["connect", "v1", "apps", app, "rotate-client-secret"] => {
                Self::RotateClientSecret(id(app))
            }
            ["connect", "v1", "apps", app, "redirect-uris"] => Self::RedirectUris(id(app)),
            ["connect", "v1", "apps", app, "webhook-config"] => Self::WebhookConfig(id(app)),
            ["connect", "v1", "apps", app, "webhook-config", "rotate-secret"] => {
                Self::RotateWebhookSecret(id(app))
            }
            ["admin", "v1", "workspaces"] => Self::AdminWorkspaces,
            ["admin", "v1", "workspaces", ws, "api-keys"] => Self::AdminWorkspaceApiKeys(id(ws)),
            ["admin", "v1", "api-keys", key] => Self::AdminApiKey(id(key)),
            _ => return None,
        })
    }

    /// The methods the route allows.
    pub fn methods(&self) -> &'static [&'static str] {
        match self {
            Self::Workspace => &["GET"],
            Self::Apps => &["GET", "POST"],
            Self::App(_) => &["GET", "PATCH", "DELETE"],
            Self::RedirectUris(_) => &["GET", "PUT"],
            Self::WebhookConfig(_) => &["GET", "PATCH"],
            Self::AppsBatch
            | Self::RotateClientSecret(_)
            | Self::RotateWebhookSecret(_)
            | Self::AdminWorkspaces
            | Self::AdminWorkspaceApiKeys(_) => &["POST"],
            Self::AdminApiKey(_) => &["DELETE"],
        }
    }

    fn is_admin(&self) -> bool {
        matches!(
            self,
            Self::AdminWorkspaces | Self::AdminWorkspaceApiKeys(_) | Self::AdminApiKey(_)
        )
    }
}

/// Routes the request: 404 for an unknown path, 405 for a known path with another
/// method, then authentication, then the handler.
pub async fn handle(cx: &mut Cx, mut req: Request) -> ApiResult<Response> {
    let url = req.url()?;
    let route = Route::of(url.path()).ok_or_else(|| ApiError::NotFound("no such route".into()))?;
    let method = req.inner().method();
    if route.is_admin() {
        // Without ADMIN_TOKEN the admin API does not exist, not even as a 405.
        let token = config::admin_token(&cx.env)
            .ok_or_else(|| ApiError::NotFound("no such route".into()))?;
        check_method(&route, &method)?;
        auth::operator(&req, &token)?;
        return admin::handle(cx, &mut req, &route).await;
    }
    check_method(&route, &method)?;
    let key = auth::api_key(&req, config::key_environment(&cx.env)?)?;
    rate_limit::check(&cx.env, &key).await?;
    let store = Store::new(&cx.env)?;
    let ws = auth::workspace(&key, &store).await?;
    let req = &mut req;
    match (&route, method.as_str()) {
        (Route::Workspace, _) => workspace::get(&store, &ws).await,
        (Route::Apps, "GET") => apps::list(cx, &store, &ws, url.query().unwrap_or("")).await,
        (Route::Apps, _) => apps::create(cx, &store, &ws, req).await,
        (Route::AppsBatch, _) => apps::batch_create(cx, &store, &ws, req).await,
        (Route::App(id), "GET") => apps::get(cx, &store, &ws, id).await,
        (Route::App(id), "PATCH") => apps::update(cx, &store, &ws, id, req).await,
        (Route::App(id), _) => apps::delete(cx, &store, &ws, id).await,
        (Route::RotateClientSecret(id), _) => {
            apps::rotate_client_secret(cx, &store, &ws, id, req).await
        }
        (Route::RedirectUris(id), "GET") => apps::get_redirect_uris(cx, &store, &ws, id).await,
        (Route::RedirectUris(id), _) => apps::replace_redirect_uris(cx, &store, &ws, id, req).await,
        (Route::WebhookConfig(id), "GET") => apps::get_webhook_config(cx, &store, &ws, id).await,
        (Route::WebhookConfig(id), _) => {
            apps::update_webhook_config(cx, &store, &ws, id, req).await
        }
        (Route::RotateWebhookSecret(id), _) => {
            apps::rotate_webhook_secret(cx, &store, &ws, id, req).await
        }
        (Route::AdminWorkspaces | Route::AdminWorkspaceApiKeys(_) | Route::AdminApiKey(_), _) => {
            Err(ApiError::Internal(
                "admin route reached the workspace dispatch".into(),
            ))
        }
    }
}

fn check_method(route: &Route, method: &str) -> ApiResult<()> {
    if route.methods().contains(&method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(route.methods()))
    }
}
