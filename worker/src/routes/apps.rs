//! `/connect/v1/apps` and `/connect/v1/apps/batch`.

use super::Cx;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{self, Begin, Outcome};
use crate::store::d1::Store;
use connect_core::batch;
use connect_core::idempotency::StoredResponse;
use connect_core::ids::WorkspaceId;
use connect_core::pagination::{ListAppsResponse, PageRequest};
use connect_core::stored::AppRow;
use worker::{Request, Response};

/// How many fresh sets of client ids a batch tries before giving up. A collision is
/// about one in 2^40 for a 100-item batch; three in a row means something else is wrong.
const MINT_ATTEMPTS: usize = 3;

const BATCH_PATH: &str = "/connect/v1/apps/batch";

/// `POST /apps/batch`.
pub async fn batch_create(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    req: &mut Request,
) -> ApiResult<Response> {
    let body = http::read_json(req).await?;
    let guard = match idempotency::begin(cx, req, workspace, BATCH_PATH, Some(&body)).await? {
        Begin::Replay(response) => return Ok(response),
        Begin::Proceed(guard) => guard,
    };
    let plan = match batch::plan(&body) {
        Ok(plan) => plan,
        Err(e) => return Err(idempotency::refuse(guard.as_ref(), cx, store, e.into()).await),
    };
    let key = config::sealing_key(&cx.env)?;
    for _ in 0..MINT_ATTEMPTS {
        let created = plan.execute(workspace, cx.now, &mut cx.random);
        let rows: Vec<AppRow> = created
            .records
            .iter()
            .map(|r| AppRow::seal(r, &key, &mut cx.random))
            .collect();
        let response = StoredResponse {
            status: 201,
            headers: Vec::new(),
            body: serde_json::to_string(&created.response)?,
        };
        match idempotency::commit(
            cx,
            store,
            guard.as_ref(),
            store.insert_apps(workspace, &rows)?,
            response,
        )
        .await?
        {
            Outcome::Send(response) => return Ok(response),
            Outcome::ClientIdTaken => continue,
        }
    }
    Err(ApiError::Internal(
        "client id collisions on every attempt".into(),
    ))
}

/// `GET /apps?limit&offset`.
pub async fn list(
    cx: &mut Cx,
    store: &Store,
    workspace: &WorkspaceId,
    query: &str,
) -> ApiResult<Response> {
    let page = PageRequest::from_query(query)?;
    let (total, rows) = store.list_apps(workspace, page).await?;
    let key = config::sealing_key(&cx.env)?;
    let data = rows
        .iter()
        .map(|row| row.open(workspace, &key).map(|r| r.to_app()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = ListAppsResponse {
        data,
        total,
        limit: page.limit(),
        offset: page.offset(),
    };
    let mut response = http::json_of(200, &body)?;
    if let Some(link) = page.link_header("/connect/v1/apps", total) {
        response.headers_mut().set("link", &link)?;
    }
    Ok(response)
}
