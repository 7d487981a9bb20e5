//! `/connect/v1/apps` and everything under it.
//!
//! Creating handlers mint in the core and insert; changing handlers read the app, let
//! the core compute the changed record, and write it back only if nobody changed it in
//! between (the row's `version`). Both go through [`idempotency::commit`], so every POST
//! honours `Idempotency-Key` through one mechanism.

use super::Cx;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{self, Begin, Guard, Outcome, Writes};
use crate::store::d1::{Listing, Store};
use connect_core::app::{
    AppRecord, DeletedApp, NewApp, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret,
};
use connect_core::batch;
use connect_core::idempotency::StoredResponse;
use connect_core::ids::{ClientId, WorkspaceId};
use connect_core::input::FromJson;
use connect_core::page_cache::{CachedPage, PageCache, PageKey};
use connect_core::pagination::{ListAppsResponse, PageRequest};
use connect_core::request::{
    CreateAppRequest, ReplaceRedirectUrisRequest, UpdateAppRequest, WebhookConfigInput,
};
use connect_core::sealed::SealingKey;
use connect_core::secrets::{ClientSecret, WebhookSecret};
use connect_core::stored::AppRow;
use std::cell::RefCell;
use worker::{Request, Response};

/// How many fresh sets of client ids a create tries before giving up. A collision is
/// about one in 2^40 for a 100-item batch; three in a row means something else is wrong.
const MINT_ATTEMPTS: usize = 3;
/// How many times a change is recomputed when another change to the same app won the
/// race; then the caller gets 409 and retries later.
const CHANGE_ATTEMPTS: usize = 10;

const APPS_PATH: &str = "/connect/v1/apps";

/// `POST /apps/batch`.
pub async fn batch_create(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    req: &mut Request,
) -> ApiResult<Response> {
    let body = http::read_json(req).await?;
    let guard = match idempotency::begin(
        cx,
        req,
        workspace,
        &format!("{APPS_PATH}/batch"),
        Some(&body),
    )
    .await?
    {
        Begin::Replay(response) => return Ok(response),
        Begin::Proceed(guard) => guard,
    };
    let plan = match batch::plan(&body) {
        Ok(plan) => plan,
        Err(e) => return Err(idempotency::refuse(guard.as_ref(), cx, store, e.into()).await),
    };
    create_minted(cx, store, workspace, guard.as_ref(), |cx, key| {
        let created = plan.execute(workspace, cx.now, &mut cx.random);
        let (rows, body) = created.rows_and_body(key, &mut cx.random);
        let response = StoredResponse {
            status: 201,
            headers: Vec::new(),
            body,
        };
        Ok((rows, response))
    })
    .await
}

/// `POST /apps`.
pub async fn create(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    req: &mut Request,
) -> ApiResult<Response> {
    let body = http::read_json(req).await?;
    let guard = match idempotency::begin(cx, req, workspace, APPS_PATH, Some(&body)).await? {
        Begin::Replay(response) => return Ok(response),
        Begin::Proceed(guard) => guard,
    };
    let new = match CreateAppRequest::from_json(&body, "").and_then(|r| {
        NewApp::validate(
            &r.name,
            r.redirect_uris.as_deref(),
            r.webhook_config.as_ref(),
            "",
        )
    }) {
        Ok(new) => new,
        Err(e) => return Err(idempotency::refuse(guard.as_ref(), cx, store, e.into()).await),
    };
    create_minted(cx, store, workspace, guard.as_ref(), |cx, key| {
        let app = new.mint(workspace, cx.now, &mut cx.random).into_app();
        let row = AppRow::seal_app(&app, key, &mut cx.random);
        let location = vec![(
            "location".to_owned(),
            format!("{APPS_PATH}/{}", app.client_id),
        )];
        Ok((vec![row], http::to_store(201, &app, location)?))
    })
    .await
}

/// `GET /apps?limit&offset`: from this isolate's page cache when the workspace has not
/// changed since the page was rendered, which the one D1 query tells (see
/// `connect_core::page_cache`).
pub async fn list(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    query: &str,
) -> ApiResult<Response> {
    let page = PageRequest::from_query(query)?;
    let key = PageKey::new(workspace.as_str(), page);
    let cache = config::page_cache(&cx.env);
    // Taken now, not after the query: other requests of this isolate run while it waits
    // and may replace or evict the entry.
    let kept = cache
        .then(|| PAGES.with(|c| c.borrow().get(&key, cx.now.millis()).cloned()))
        .flatten();
    let known = kept.as_ref().map(|p| p.generation);
    let (total, body, source) = match store.list_apps(workspace, page, known).await? {
        // D1 answers unchanged only to the generation sent, which came from `kept`.
        Listing::Unchanged => {
            let kept = kept.ok_or_else(|| {
                ApiError::Internal("D1 answered unchanged without a known generation".into())
            })?;
            (kept.total, kept.body, "kept")
        }
        Listing::Fresh {
            generation,
            total,
            rows,
        } => {
            let generation = generation.filter(|_| cache);
            let body = keep(cx, workspace, page, &key, generation, total, &rows)?;
            (total, body, "read")
        }
    };
    let mut response = http::json(200, body)?;
    if let Some(link) = page.link_header(APPS_PATH, total) {
        response.headers_mut().set("link", &link)?;
    }
    // Whether the page came from the cache, beside the round trips (see the fetch handler).
    response
        .headers_mut()
        .set("server-timing", &format!("page;desc=\"{source}\""))?;
    Ok(response)
}

thread_local! {
    // Rendered list pages of this isolate; see connect_core::page_cache.
    static PAGES: RefCell<PageCache> = RefCell::new(PageCache::new());
}

/// The page's JSON, kept in the cache when its generation is given.
fn keep(
    cx: &Cx,
    workspace: &WorkspaceId,
    page: PageRequest,
    key: &PageKey,
    generation: Option<i64>,
    total: u64,
    rows: &[AppRow],
) -> ApiResult<String> {
    let sealing_key = config::sealing_key(&cx.env)?;
    let apps = rows
        .iter()
        .map(|row| row.app_json(workspace, &sealing_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = ListAppsResponse::json_from_parts(&apps, total, page);
    if let Some(generation) = generation {
        PAGES.with(|c| {
            c.borrow_mut().put(
                key.clone(),
                CachedPage {
                    generation,
                    total,
                    body: body.clone(),
                    rendered_at: cx.now.millis(),
                },
            )
        });
    }
    Ok(body)
}

/// `GET /apps/{clientId}`: the stored row served as it is (see `AppRow::app_json`).
pub async fn get(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let json = read_row(store, workspace, id)
        .await?
        .app_json(workspace, &config::sealing_key(&cx.env)?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    http::json(200, json)
}

/// `PATCH /apps/{clientId}`.
pub async fn update(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    req: &mut Request,
) -> ApiResult<Response> {
    let patch = UpdateAppRequest::from_json(&http::read_json(req).await?, "")?;
    change(cx, store, workspace, id, None, |current, cx| {
        let next = current.patched(&patch, cx.now)?;
        let shown = next.as_ref().unwrap_or(current).to_app();
        Ok((next, http::to_store(200, &shown, Vec::new())?))
    })
    .await
}

/// `DELETE /apps/{clientId}`.
pub async fn delete(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let client_id = ClientId::parse(id).ok_or_else(|| not_found(id))?;
    let response = http::to_store(
        200,
        &DeletedApp {
            client_id,
            deleted: true,
        },
        Vec::new(),
    )?;
    let writes = Writes {
        statements: store.delete_app(workspace, &client_id)?,
        guarded: true,
    };
    match idempotency::commit(cx, store, None, writes, response).await? {
        Outcome::Send(response) => Ok(response),
        Outcome::Unchanged => Err(not_found(id)),
        Outcome::ClientIdTaken => Err(ApiError::Internal(
            "a delete reported a taken client id".into(),
        )),
    }
}

/// `POST /apps/{clientId}/rotate-client-secret`: the old secret is dead when this answers.
pub async fn rotate_client_secret(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    req: &mut Request,
) -> ApiResult<Response> {
    http::read_no_fields(req).await?;
    let path = format!("{APPS_PATH}/{id}/rotate-client-secret");
    let guard = match idempotency::begin(cx, req, workspace, &path, None).await? {
        Begin::Replay(response) => return Ok(response),
        Begin::Proceed(guard) => guard,
    };
    change(cx, store, workspace, id, guard.as_ref(), |current, cx| {
        let secret = ClientSecret::generate(&mut cx.random);
        let response = http::to_store(
            201,
            &RotatedClientSecret {
                client_secret: secret.clone(),
            },
            Vec::new(),
        )?;
        Ok((Some(current.with_client_secret(secret, cx.now)), response))
    })
    .await
}

/// `GET /apps/{clientId}/redirect-uris`.
pub async fn get_redirect_uris(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let record = read(cx, store, workspace, id).await?;
    http::json_of(
        200,
        &RedirectUrisResponse {
            redirect_uris: record.doc.redirect_uris,
        },
    )
}

/// `PUT /apps/{clientId}/redirect-uris`: replaces the list.
pub async fn replace_redirect_uris(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    req: &mut Request,
) -> ApiResult<Response> {
    let body = ReplaceRedirectUrisRequest::from_json(&http::read_json(req).await?, "")?;
    change(cx, store, workspace, id, None, |current, cx| {
        let next = current.with_redirect_uris(&body.redirect_uris, cx.now)?;
        let redirect_uris = next.as_ref().unwrap_or(current).doc.redirect_uris.clone();
        Ok((
            next,
            http::to_store(200, &RedirectUrisResponse { redirect_uris }, Vec::new())?,
        ))
    })
    .await
}

/// `GET /apps/{clientId}/webhook-config`.
pub async fn get_webhook_config(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    http::json_of(200, &read(cx, store, workspace, id).await?.webhook_config())
}

/// `PATCH /apps/{clientId}/webhook-config`: a merge; `secret` is refused.
pub async fn update_webhook_config(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    req: &mut Request,
) -> ApiResult<Response> {
    let input = WebhookConfigInput::from_json(&http::read_json(req).await?, "")?;
    change(cx, store, workspace, id, None, |current, cx| {
        let next = current.with_webhook(&input, cx.now)?;
        let shown = next.as_ref().unwrap_or(current).webhook_config();
        Ok((next, http::to_store(200, &shown, Vec::new())?))
    })
    .await
}

/// `POST /apps/{clientId}/webhook-config/rotate-secret`: the only response that shows the
/// signing secret in full.
pub async fn rotate_webhook_secret(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    req: &mut Request,
) -> ApiResult<Response> {
    http::read_no_fields(req).await?;
    let path = format!("{APPS_PATH}/{id}/webhook-config/rotate-secret");
    let guard = match idempotency::begin(cx, req, workspace, &path, None).await? {
        Begin::Replay(response) => return Ok(response),
        Begin::Proceed(guard) => guard,
    };
    change(cx, store, workspace, id, guard.as_ref(), |current, cx| {
        let secret = WebhookSecret::generate(&mut cx.random);
        let response = http::to_store(
            200,
            &RotatedWebhookSecret {
                secret: secret.clone(),
            },
            Vec::new(),
        )?;
        Ok((Some(current.with_webhook_secret(secret, cx.now)), response))
    })
    .await
}

fn not_found(id: &str) -> ApiError {
    // The id is echoed only once known to be well formed, so a hostile path segment is
    // never reflected.
    match ClientId::parse(id) {
        Some(id) => ApiError::NotFound(format!("no app {id} in this workspace")),
        None => ApiError::NotFound("no such app in this workspace".into()),
    }
}

async fn read(cx: &Cx, store: &Store, workspace: &WorkspaceId, id: &str) -> ApiResult<AppRecord> {
    open(cx, workspace, &read_row(store, workspace, id).await?)
}

/// The stored row of app `id` of `workspace`, or 404.
async fn read_row(store: &Store, workspace: &WorkspaceId, id: &str) -> ApiResult<AppRow> {
    let client_id = ClientId::parse(id).ok_or_else(|| not_found(id))?;
    store
        .get_app(workspace, &client_id)
        .await?
        .ok_or_else(|| not_found(id))
}

fn open(cx: &Cx, workspace: &WorkspaceId, row: &AppRow) -> ApiResult<AppRecord> {
    row.open(workspace, &config::sealing_key(&cx.env)?)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Mints with `mint` (which returns the sealed rows to insert and the response) and
/// inserts what it made, minting again if a client id is taken.
async fn create_minted<F>(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    guard: Option<&Guard>,
    mut mint: F,
) -> ApiResult<Response>
where
    F: FnMut(&mut Cx, &SealingKey) -> ApiResult<(Vec<AppRow>, StoredResponse)>,
{
    let key = config::sealing_key(&cx.env)?;
    for _ in 0..MINT_ATTEMPTS {
        let (rows, response) = mint(cx, &key)?;
        let writes = Writes {
            statements: store.insert_apps(workspace, &rows)?,
            guarded: false,
        };
        match idempotency::commit(cx, store, guard, writes, response).await? {
            Outcome::Send(response) => return Ok(response),
            Outcome::ClientIdTaken => continue,
            Outcome::Unchanged => {
                return Err(ApiError::Internal("an insert reported no change".into()))
            }
        }
    }
    Err(ApiError::Internal(
        "client id collisions on every attempt".into(),
    ))
}

/// Reads the app, lets `compute` derive the changed record (`None`: nothing changes) and
/// the response, and writes the record if the app is still as read; otherwise reads
/// again. A refusal (404, validation) records nothing under the key.
async fn change<F>(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
    guard: Option<&Guard>,
    mut compute: F,
) -> ApiResult<Response>
where
    F: FnMut(&AppRecord, &mut Cx) -> ApiResult<(Option<AppRecord>, StoredResponse)>,
{
    let Some(client_id) = ClientId::parse(id) else {
        return Err(idempotency::refuse(guard, cx, store, not_found(id)).await);
    };
    let key = config::sealing_key(&cx.env)?;
    for _ in 0..CHANGE_ATTEMPTS {
        let Some(row) = store.get_app(workspace, &client_id).await? else {
            return Err(idempotency::refuse(guard, cx, store, not_found(id)).await);
        };
        let current = open(cx, workspace, &row)?;
        let (next, response) = match compute(&current, cx) {
            Ok(change) => change,
            Err(e) => return Err(idempotency::refuse(guard, cx, store, e).await),
        };
        let Some(next) = next else {
            return http::stored(&response, false);
        };
        let sealed = AppRow::seal(&next, &key, &mut cx.random);
        let writes = Writes {
            statements: vec![store.update_app(workspace, &sealed, row.version)?],
            guarded: true,
        };
        match idempotency::commit(cx, store, guard, writes, response).await? {
            Outcome::Send(response) => return Ok(response),
            Outcome::Unchanged => continue,
            Outcome::ClientIdTaken => {
                return Err(ApiError::Internal(
                    "an update reported a taken client id".into(),
                ))
            }
        }
    }
    Err(ApiError::Conflict(
        "the app was changed by another request while this one was applied; retry",
    ))
}
