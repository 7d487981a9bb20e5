//! The route table: every path the Worker serves, the methods each allows (which also
//! answers 405 with `Allow`), and the dispatch to handlers.

pub mod admin;
pub mod apps;

use crate::auth;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::random::RandomPool;
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
    /// `/connect/v1/apps`
    Apps,
    /// `/connect/v1/apps/batch`
    AppsBatch,
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
        Some(match segments.as_slice() {
            ["connect", "v1", "apps"] => Self::Apps,
            ["connect", "v1", "apps", "batch"] => Self::AppsBatch,
            ["admin", "v1", "workspaces"] => Self::AdminWorkspaces,
            ["admin", "v1", "workspaces", id, "api-keys"] => {
                Self::AdminWorkspaceApiKeys((*id).to_owned())
            }
            ["admin", "v1", "api-keys", id] => Self::AdminApiKey((*id).to_owned()),
            _ => return None,
        })
    }

    /// The methods the route allows.
    pub fn methods(&self) -> &'static [&'static str] {
        match self {
            Self::Apps => &["GET"],
            Self::AppsBatch | Self::AdminWorkspaces | Self::AdminWorkspaceApiKeys(_) => &["POST"],
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
    let store = Store::new(&cx.env)?;
    let workspace = auth::workspace(&req, config::key_environment(&cx.env)?, &store).await?;
    match route {
        Route::Apps => apps::list(cx, &store, &workspace, url.query().unwrap_or("")).await,
        Route::AppsBatch => apps::batch_create(cx, &store, &workspace, &mut req).await,
        Route::AdminWorkspaces | Route::AdminWorkspaceApiKeys(_) | Route::AdminApiKey(_) => Err(
            ApiError::Internal("admin route reached the workspace dispatch".into()),
        ),
    }
}

fn check_method(route: &Route, method: &str) -> ApiResult<()> {
    if route.methods().contains(&method) {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed(route.methods()))
    }
}
