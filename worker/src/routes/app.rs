//! `/connect/v1/apps/{clientId}` and everything under it: read, change, delete, rotate.
//! Each change is a `connect_core` operation (`ChangeApp`, `DeleteApp`); this module says
//! what each route changes and answers.

use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::store::D1;
use connect_core::rules::app::AppPatch;
use connect_core::rules::input::FromJson;
use connect_core::rules::redirect_uri::RedirectUris;
use connect_core::rules::webhook::WebhookPatch;
use connect_core::server::app::Held;
use connect_core::server::failure::Failure;
use connect_core::server::operations::app::{
    self as change, Change, ChangeApp, ChangeTools, DeleteApp,
};
use connect_core::server::perform::{Backend, Operation};
use connect_core::server::recorded::RecordedResponse;
use connect_core::server::session::Session;
use connect_core::wire::app::{
    App, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret,
};
use connect_core::wire::ids::WorkspaceId;
use connect_core::wire::request::{
    ReplaceRedirectUrisRequest, UpdateAppRequest, WebhookConfigInput,
};
use connect_core::wire::secrets::{ClientSecret, WebhookSecret};
use serde_json::Value;
use worker::Response;

/// The app `id` of `workspace`, its secrets opened where they open.
async fn read_open(
    cx: &Cx,
    db: &Session<D1>,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<App<Held>> {
    let stored = change::read(db, workspace, id).await?;
    let ring = config::key_ring(&cx.env)?;
    Ok(stored.app.open(&ring))
}

/// `GET /apps/{clientId}`.
pub async fn get(
    cx: &Cx,
    db: &Session<D1>,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let app = read_open(cx, db, workspace, id).await?;
    http::json_of(200, &app.show().map_err(Failure::from)?)
}

/// `GET /apps/{clientId}/redirect-uris`: no secret is opened for it.
pub async fn get_redirect_uris(
    db: &Session<D1>,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let stored = change::read(db, workspace, id).await?;
    http::json_of(
        200,
        &RedirectUrisResponse {
            redirect_uris: stored.app.redirect_uris,
        },
    )
}

/// `GET /apps/{clientId}/webhook-config`, the signing secret as a preview.
pub async fn get_webhook_config(
    cx: &Cx,
    db: &Session<D1>,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let app = read_open(cx, db, workspace, id).await?;
    http::json_of(200, &app.shown_webhook_config())
}

/// A change of app `id`: `change` gives the changed app and the answer.
fn changing<B: Backend>(
    workspace: &WorkspaceId,
    id: &str,
    change: impl FnMut(&App<Held>, &mut ChangeTools<'_>) -> Result<Change, Failure>,
) -> impl Operation<B> {
    ChangeApp::new(workspace.clone(), id, change)
}

/// `PATCH /apps/{clientId}`: the body is judged before the app is read.
pub fn update<B: Backend>(
    workspace: &WorkspaceId,
    id: &str,
    body: &Value,
) -> Result<impl Operation<B>, Failure> {
    let patch = AppPatch::validate(&UpdateAppRequest::from_json(body, "")?)?;
    Ok(changing(workspace, id, move |current, at| {
        let next = current.patched(&patch, at.now)?;
        let shown = next.as_ref().unwrap_or(current).show()?;
        Ok((next, RecordedResponse::json(200, &shown)?))
    }))
}

/// `PUT /apps/{clientId}/redirect-uris`: replaces the list (judged before the app is
/// read).
pub fn replace_redirect_uris<B: Backend>(
    workspace: &WorkspaceId,
    id: &str,
    body: &Value,
) -> Result<impl Operation<B>, Failure> {
    let uris = RedirectUris::validate(&ReplaceRedirectUrisRequest::from_json(body, "")?)?;
    Ok(changing(workspace, id, move |current, at| {
        let next = current.with_redirect_uris(&uris, at.now);
        let redirect_uris = next.as_ref().unwrap_or(current).redirect_uris.clone();
        let answer = RedirectUrisResponse { redirect_uris };
        Ok((next, RecordedResponse::json(200, &answer)?))
    }))
}

/// `PATCH /apps/{clientId}/webhook-config`: a merge; `secret` is refused. What needs no
/// app is judged before it is read.
pub fn update_webhook_config<B: Backend>(
    workspace: &WorkspaceId,
    id: &str,
    body: &Value,
) -> Result<impl Operation<B>, Failure> {
    let patch = WebhookPatch::validate(&WebhookConfigInput::from_json(body, "")?, "")?;
    Ok(changing(workspace, id, move |current, at| {
        let next = current.with_webhook(&patch, at.now)?;
        let shown = next.as_ref().unwrap_or(current).shown_webhook_config();
        Ok((next, RecordedResponse::json(200, &shown)?))
    }))
}

/// `POST /apps/{clientId}/rotate-client-secret`: the old secret is dead when this answers.
pub fn rotate_client_secret<B: Backend>(workspace: &WorkspaceId, id: &str) -> impl Operation<B> {
    changing(workspace, id, |current, at| {
        let secret = ClientSecret::generate(at.random);
        let answer = RotatedClientSecret {
            client_secret: secret.clone(),
        };
        let next = current.with_client_secret(secret, at.now);
        Ok((Some(next), RecordedResponse::json(201, &answer)?))
    })
}

/// `POST /apps/{clientId}/webhook-config/rotate-secret`: the only answer that shows the
/// signing secret in full.
pub fn rotate_webhook_secret<B: Backend>(workspace: &WorkspaceId, id: &str) -> impl Operation<B> {
    changing(workspace, id, |current, at| {
        let secret = WebhookSecret::generate(at.random);
        let answer = RotatedWebhookSecret {
            secret: secret.clone(),
        };
        let next = current.with_webhook_secret(secret, at.now);
        Ok((Some(next), RecordedResponse::json(200, &answer)?))
    })
}

/// `DELETE /apps/{clientId}`.
pub fn delete(workspace: &WorkspaceId, id: &str) -> DeleteApp {
    DeleteApp::new(workspace.clone(), id)
}
