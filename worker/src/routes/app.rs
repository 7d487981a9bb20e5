//! `/connect/v1/apps/{clientId}` and everything under it: read, change, delete, rotate.
//!
//! A change reads the app, lets the core compute the changed app and the answer, and
//! writes it only if the app is still at the version it read (see [`ChangeApp`]); the
//! write mechanism attempts again when another change came first.

use crate::config;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::store::apps::VersionedApp;
use crate::store::Store;
use connect_core::rules::app::Held;
use connect_core::rules::input::FromJson;
use connect_core::server::recorded::RecordedResponse;
use connect_core::wire::app::{
    App, DeletedApp, RedirectUrisResponse, RotatedClientSecret, RotatedWebhookSecret,
};
use connect_core::wire::ids::{ClientId, WorkspaceId};
use connect_core::wire::request::{
    ReplaceRedirectUrisRequest, UpdateAppRequest, WebhookConfigInput,
};
use connect_core::wire::secrets::{ClientSecret, WebhookSecret};
use serde_json::Value;
use worker::Response;

/// `GET /apps/{clientId}`.
pub async fn get(cx: &Cx, store: &Store, workspace: &WorkspaceId, id: &str) -> ApiResult<Response> {
    let app = open(cx, &read(store, workspace, id).await?)?;
    http::json_of(200, &app.show()?)
}

/// `GET /apps/{clientId}/redirect-uris`: no secret is opened for it.
pub async fn get_redirect_uris(
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let stored = read(store, workspace, id).await?;
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
    store: &Store,
    workspace: &WorkspaceId,
    id: &str,
) -> ApiResult<Response> {
    let app = open(cx, &read(store, workspace, id).await?)?;
    http::json_of(200, &app.shown_webhook_config())
}

/// `PATCH /apps/{clientId}`.
pub fn update(workspace: &WorkspaceId, id: &str, body: &Value) -> ApiResult<impl Operation> {
    let patch = UpdateAppRequest::from_json(body, "")?;
    Ok(ChangeApp::new(workspace, id, move |current, cx| {
        let next = current.patched(&patch, cx.now)?;
        let shown = next.as_ref().unwrap_or(current).show()?;
        Ok((next, http::recorded(200, &shown, Vec::new())?))
    }))
}

/// `PUT /apps/{clientId}/redirect-uris`: replaces the list.
pub fn replace_redirect_uris(
    workspace: &WorkspaceId,
    id: &str,
    body: &Value,
) -> ApiResult<impl Operation> {
    let body = ReplaceRedirectUrisRequest::from_json(body, "")?;
    Ok(ChangeApp::new(workspace, id, move |current, cx| {
        let next = current.with_redirect_uris(&body.redirect_uris, cx.now)?;
        let redirect_uris = next.as_ref().unwrap_or(current).redirect_uris.clone();
        let answer = RedirectUrisResponse { redirect_uris };
        Ok((next, http::recorded(200, &answer, Vec::new())?))
    }))
}

/// `PATCH /apps/{clientId}/webhook-config`: a merge; `secret` is refused.
pub fn update_webhook_config(
    workspace: &WorkspaceId,
    id: &str,
    body: &Value,
) -> ApiResult<impl Operation> {
    let input = WebhookConfigInput::from_json(body, "")?;
    Ok(ChangeApp::new(workspace, id, move |current, cx| {
        let next = current.with_webhook(&input, cx.now)?;
        let shown = next.as_ref().unwrap_or(current).shown_webhook_config();
        Ok((next, http::recorded(200, &shown, Vec::new())?))
    }))
}

/// `POST /apps/{clientId}/rotate-client-secret`: the old secret is dead when this answers.
pub fn rotate_client_secret(workspace: &WorkspaceId, id: &str) -> impl Operation {
    ChangeApp::new(workspace, id, |current, cx| {
        let secret = ClientSecret::generate(&mut cx.random);
        let answer = RotatedClientSecret {
            client_secret: secret.clone(),
        };
        let next = current.with_client_secret(secret, cx.now);
        Ok((Some(next), http::recorded(201, &answer, Vec::new())?))
    })
}

/// `POST /apps/{clientId}/webhook-config/rotate-secret`: the only answer that shows the
/// signing secret in full.
pub fn rotate_webhook_secret(workspace: &WorkspaceId, id: &str) -> impl Operation {
    ChangeApp::new(workspace, id, |current, cx| {
        let secret = WebhookSecret::generate(&mut cx.random);
        let answer = RotatedWebhookSecret {
            secret: secret.clone(),
        };
        let next = current.with_webhook_secret(secret, cx.now);
        Ok((Some(next), http::recorded(200, &answer, Vec::new())?))
    })
}

/// `DELETE /apps/{clientId}`.
pub fn delete(workspace: &WorkspaceId, id: &str) -> DeleteApp {
    DeleteApp {
        workspace: workspace.clone(),
        id: id.to_owned(),
    }
}

/// The operation of `DELETE /apps/{clientId}`: deletes the version it read.
pub struct DeleteApp {
    workspace: WorkspaceId,
    id: String,
}

impl Operation for DeleteApp {
    async fn attempt(&mut self, _cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let current = read(store, &self.workspace, &self.id).await?;
        let client_id = current.app.client_id;
        Ok(Attempt::Write {
            statements: store.delete_app(&self.workspace, &current)?,
            answer: http::recorded(
                200,
                &DeletedApp {
                    client_id,
                    deleted: true,
                },
                Vec::new(),
            )?,
        })
    }
}

/// A change of one app: reads it, lets the route's `change` derive the changed app
/// (`None`: nothing changes) and the answer, and writes the changed app only if it is
/// still at the version read.
pub struct ChangeApp<F> {
    workspace: WorkspaceId,
    id: String,
    change: F,
}

impl<F> ChangeApp<F>
where
    F: FnMut(&App<Held>, &mut Cx) -> ApiResult<(Option<App<Held>>, RecordedResponse)>,
{
    fn new(workspace: &WorkspaceId, id: &str, change: F) -> Self {
        Self {
            workspace: workspace.clone(),
            id: id.to_owned(),
            change,
        }
    }
}

impl<F> Operation for ChangeApp<F>
where
    F: FnMut(&App<Held>, &mut Cx) -> ApiResult<(Option<App<Held>>, RecordedResponse)>,
{
    async fn attempt(&mut self, cx: &mut Cx, store: &Store) -> ApiResult<Attempt> {
        let stored = read(store, &self.workspace, &self.id).await?;
        let current = open(cx, &stored)?;
        let (next, answer) = (self.change)(&current, cx)?;
        let Some(next) = next else {
            return Ok(Attempt::Answer(answer));
        };
        let ring = config::key_ring(&cx.env)?;
        let sealed = next.seal(&ring, &mut cx.random);
        Ok(Attempt::Write {
            statements: store.update_app(&self.workspace, &sealed, stored.version)?,
            answer,
        })
    }
}

fn not_found(id: &str) -> ApiError {
    // The id is echoed only once known to be well formed, so a hostile path segment is
    // never reflected.
    match ClientId::parse(id) {
        Some(id) => ApiError::NotFound(format!("no app {id} in this workspace")),
        None => ApiError::NotFound("no such app in this workspace".into()),
    }
}

/// The stored app `id` of `workspace`, or 404.
async fn read(store: &Store, workspace: &WorkspaceId, id: &str) -> ApiResult<VersionedApp> {
    let client_id = ClientId::parse(id).ok_or_else(|| not_found(id))?;
    store
        .get_app(workspace, &client_id)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The app a stored app holds, its secrets opened where they open (see `Kept`).
fn open(cx: &Cx, stored: &VersionedApp) -> ApiResult<App<Held>> {
    let ring = config::key_ring(&cx.env)?;
    Ok(stored.app.open(&ring))
}
