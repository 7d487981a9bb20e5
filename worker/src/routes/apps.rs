//! `/connect/v1/apps` and `/connect/v1/apps/batch`: the list, and creating apps.

use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::isolate;
use crate::store::D1;
use connect_core::rules::app::NewApp;
use connect_core::rules::batch;
use connect_core::rules::input::{FromJson, Path};
use connect_core::rules::pagination::PageRequest;
use connect_core::rules::query::Query;
use connect_core::server::failure::Failure;
use connect_core::server::operations::apps::{BatchCreate, CreateApp};
use connect_core::server::page_cache::{CachedPage, PageKey};
use connect_core::server::session::Session;
use connect_core::server::tables::apps::{self, Listing};
use connect_core::wire::app::App;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::request::CreateAppRequest;
use connect_core::wire::routes::APPS_PATH;
use serde_json::Value;
use worker::Response;

/// Judges the body of `POST /apps`: one app in `workspace`, of shard `shard`.
pub fn create(
    cx: &Cx,
    workspace: &WorkspaceId,
    shard: &str,
    body: &Value,
) -> Result<CreateApp, Failure> {
    let request = CreateAppRequest::from_json(body, "")?;
    let new = NewApp::validate(&request, Path::Root)?;
    let class = config::client_id_class(&cx.env, shard)?;
    Ok(CreateApp::new(workspace.clone(), new, class))
}

/// Judges the body of `POST /apps/batch`: 1 to 100 apps in `workspace`, of shard `shard`.
pub fn batch_create(
    cx: &Cx,
    workspace: &WorkspaceId,
    shard: &str,
    body: &Value,
) -> Result<BatchCreate, Failure> {
    let plan = batch::plan(body)?;
    let class = config::client_id_class(&cx.env, shard)?;
    Ok(BatchCreate::new(workspace.clone(), plan, class))
}

/// `GET /apps?limit&offset`: from this isolate's page cache when the workspace has not
/// changed since the page was rendered, which the one D1 query tells (see
/// `connect_core::server::page_cache`).
pub async fn list(
    cx: &mut Cx,
    db: &Session<D1>,
    workspace: &WorkspaceId,
    query: &Query,
) -> ApiResult<Response> {
    let page = PageRequest::from_parameters(query)?;
    let key = PageKey::new(workspace.as_str(), page);
    let cache = config::page_cache(&cx.env);
    // Taken now, not after the query: other requests of this isolate run while it waits
    // and may replace or evict the entry.
    let kept = cache
        .then(|| isolate::kept_page(&key, cx.now.millis()))
        .flatten();
    let known = kept.as_ref().map(|p| p.generation);
    let (total, body, source) = match (apps::list(db, workspace, page, known).await?, kept) {
        // D1 answers unchanged only to the generation sent, which came from `kept`.
        (Listing::Unchanged, Some(kept)) => (kept.total, kept.body, "kept"),
        (Listing::Unchanged, None) => {
            return Err(Failure::Internal(
                "D1 answered unchanged without a known generation".into(),
            )
            .into())
        }
        (
            Listing::Fresh {
                generation,
                total,
                apps,
            },
            _,
        ) => {
            let ring = config::key_ring(&cx.env)?;
            let (shown, lost): (Vec<_>, Vec<_>) = apps
                .iter()
                .map(|app| app.open(&ring).show())
                .partition(Result::is_ok);
            if !lost.is_empty() {
                // The page must show every app's secret: name each that did not open.
                return Err(Failure::from_not_opened(
                    lost.into_iter().filter_map(Result::err).collect(),
                )
                .into());
            }
            let apps: Vec<App> = shown.into_iter().filter_map(Result::ok).collect();
            let body = serde_json::to_string(&page.response(apps, total))?;
            if let Some(generation) = generation.filter(|_| cache) {
                let rendered = CachedPage {
                    generation,
                    total,
                    body: body.clone(),
                    rendered_at: cx.now.millis(),
                };
                isolate::keep_page(key, rendered);
            }
            (total, body, "read")
        }
    };
    let mut response = http::json(200, body)?;
    if let Some(link) = page.link_header(APPS_PATH, total) {
        response.headers_mut().set("link", &link)?;
    }
    // Whether the page came from the cache, beside D1's costs (see the fetch handler).
    response
        .headers_mut()
        .set("server-timing", &format!("page;desc=\"{source}\""))?;
    Ok(response)
}
