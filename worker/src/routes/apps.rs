//! `/connect/v1/apps` and `/connect/v1/apps/batch`: the list, and creating apps.

use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::isolate;
use crate::store::apps::Listing;
use crate::store::Store;
use connect_core::rules::app::NewApp;
use connect_core::rules::batch::{self, BatchPlan};
use connect_core::rules::input::{FromJson, Path};
use connect_core::rules::pagination::PageRequest;
use connect_core::rules::query::Query;
use connect_core::server::page_cache::{CachedPage, PageKey};
use connect_core::server::row::Stored;
use connect_core::wire::app::App;
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::request::CreateAppRequest;
use serde_json::Value;
use worker::Response;

/// The collection's path, for `Location` and `Link`.
pub const APPS_PATH: &str = "/connect/v1/apps";

/// `POST /apps`: one app, minted afresh on each attempt.
pub struct CreateApp {
    workspace: WorkspaceId,
    new: NewApp,
}

/// Judges the body of `POST /apps`.
pub fn create(workspace: &WorkspaceId, body: &Value) -> ApiResult<CreateApp> {
    let request = CreateAppRequest::from_json(body, "")?;
    Ok(CreateApp {
        workspace: workspace.clone(),
        new: NewApp::validate(&request, Path::Root)?,
    })
}

impl Operation for CreateApp {
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let ring = config::key_ring(&cx.env)?;
        let class = config::client_id_class(&cx.env, store.shard())?;
        let app = self
            .new
            .mint(&self.workspace, class, cx.now, &mut cx.random);
        let stored = app.seal(&ring, &mut cx.random);
        let shown = app.show()?;
        let location = format!("{APPS_PATH}/{}", shown.client_id);
        Ok(Attempt::Write {
            statements: store.insert_apps(&self.workspace, &[stored])?,
            answer: http::recorded(201, &shown, vec![("location".to_owned(), location)])?,
        })
    }
}

/// `POST /apps/batch`: 1 to 100 apps in one transaction.
pub struct BatchCreate {
    workspace: WorkspaceId,
    plan: BatchPlan,
}

/// Judges the body of `POST /apps/batch`.
pub fn batch_create(workspace: &WorkspaceId, body: &Value) -> ApiResult<BatchCreate> {
    Ok(BatchCreate {
        workspace: workspace.clone(),
        plan: batch::plan(body)?,
    })
}

impl Operation for BatchCreate {
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let ring = config::key_ring(&cx.env)?;
        let class = config::client_id_class(&cx.env, store.shard())?;
        let outcome = self
            .plan
            .execute(&self.workspace, class, cx.now, &mut cx.random);
        let stored: Vec<App<Stored>> = outcome
            .apps()
            .map(|app| app.seal(&ring, &mut cx.random))
            .collect();
        Ok(Attempt::Write {
            statements: store.insert_apps(&self.workspace, &stored)?,
            answer: http::recorded(201, &outcome.response()?, Vec::new())?,
        })
    }
}

/// `GET /apps?limit&offset`: from this isolate's page cache when the workspace has not
/// changed since the page was rendered, which the one D1 query tells (see
/// `connect_core::server::page_cache`).
pub async fn list(
    cx: &mut Cx,
    store: &Store,
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
    let (total, body, source) = match (store.list_apps(workspace, page, known).await?, kept) {
        // D1 answers unchanged only to the generation sent, which came from `kept`.
        (Listing::Unchanged, Some(kept)) => (kept.total, kept.body, "kept"),
        (Listing::Unchanged, None) => {
            return Err(ApiError::Internal(
                "D1 answered unchanged without a known generation".into(),
            ))
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
                return Err(ApiError::from_not_opened(
                    lost.into_iter().filter_map(Result::err).collect(),
                ));
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
