//! The Cloudflare Worker of the Connect app-management API: `connect_core` wired to D1
//! and KV. Handlers parse, call the core, store, and answer; the rules live in the core.

mod auth;
mod backend;
mod config;
mod context;
mod error;
mod http;
mod isolate;
mod random;
mod rate_limit;
mod routes;
mod schema;
mod store;
mod webcrypto;

use backend::WorkerBackend;
use connect_core::rules::random::request_id;
use connect_core::server::bookmark;
use connect_core::server::failure::Failure;
use connect_core::server::session::Writes;
use connect_core::server::{purge, reseal, LogLine};
use context::Cx;
use error::ApiError;
use random::RandomPool;
use std::rc::Rc;
use store::Costs;
use worker::{
    console_error, console_log, event, Context, Date, Env, Headers, Method, Request, Response,
    Result, ScheduleContext, ScheduledEvent,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let mut random = RandomPool::new();
    let request_id = request_id(&mut random);
    let started = Date::now().as_millis();
    let head = req.method() == Method::Head;
    let mut cx = Cx::new(env, ctx, random, backend::now());
    let mut response = match routes::handle(&mut cx, req).await {
        Ok(response) => response,
        Err(err) => {
            // A failure after a write was sent cannot say that nothing was changed.
            let err = match err {
                ApiError::Server(failure) if cx.writes.may_have_happened() => {
                    ApiError::Server(failure.after_write())
                }
                err => err,
            };
            match &err {
                ApiError::Server(Failure::Internal(detail)) => {
                    console_error!("request_id={request_id} internal error: {detail}")
                }
                ApiError::Server(Failure::NotReady(detail)) => {
                    console_error!("request_id={request_id} the deployment is not ready: {detail}")
                }
                ApiError::Server(Failure::InDoubt(detail)) => console_error!(
                    "request_id={request_id} internal error after a write was sent (it may have happened): {detail}"
                ),
                ApiError::Server(Failure::NotOpened {
                    client_ids,
                    key_ids,
                }) => console_error!(
                    "request_id={request_id} stored secrets did not open: sealed under key(s) {key_ids:?} (in the ring or not: see GET /admin/v1/secrets-keys), apps {client_ids:?}"
                ),
                _ => {}
            }
            error_response(&err, &request_id)
        }
    };
    if head {
        response = without_body(response).await;
    }
    let elapsed = Date::now().as_millis().saturating_sub(started);
    // Our own responses have mutable headers; setting a valid header cannot fail.
    let headers = response.headers_mut();
    let _ = headers.set("x-request-id", &request_id);
    // Responses hold client secrets, webhook secrets and API keys: no cache may keep one.
    let _ = headers.set("cache-control", "no-store");
    // Tagged here, where every answer gets its headers, so that no bookmark leaves
    // untagged. A ring that does not parse tags nothing (and fails every request that
    // sends a bookmark or needs a secret: see GET /admin/v1/health).
    if let Some(bookmark) = &cx.bookmark {
        if let Ok(keys) = config::bookmark_keys(&cx.env) {
            let _ = headers.set(bookmark::HEADER, &keys.header_value(bookmark));
        }
    }
    // One header line, after any metric the handler put there.
    let timing = format!("{}, total;dur={elapsed}", cx.costs.server_timing());
    let timing = match headers.get("server-timing") {
        Ok(Some(own)) => format!("{own}, {timing}"),
        _ => timing,
    };
    let _ = headers.set("server-timing", &timing);
    // No access line of our own: the platform already logs every request (wrangler dev
    // prints it; Workers Logs keeps it in production, see [observability] in wrangler.toml),
    // and on wrangler dev each console line costs about 0.8 ms of CPU across its processes.
    // What the platform cannot know is logged: internal errors, with their request id.
    Ok(response)
}

/// The answer to a HEAD request: `response` (the GET's) without its body, its length kept
/// in `Content-Length`.
async fn without_body(mut response: Response) -> Response {
    let length = response.bytes().await.map_or(0, |b| b.len());
    let headers = response.headers().clone();
    let _ = headers.set("content-length", &length.to_string());
    Response::empty()
        .expect("an empty Response")
        .with_status(response.status_code())
        .with_headers(headers)
}

/// The contract's envelope for `err`. Never fails: returning `Err` from the fetch handler
/// would give the caller workerd's opaque 500.
fn error_response(err: &ApiError, request_id: &str) -> Response {
    let body = serde_json::to_vec(&err.envelope(request_id)).unwrap_or_default();
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    match err {
        ApiError::MethodNotAllowed(allow) => {
            let _ = headers.set("allow", &allow.join(", "));
        }
        ApiError::RateLimited(limit) => {
            let _ = headers.set("retry-after", &limit.period_seconds().to_string());
        }
        _ => {}
    }
    // Building a Response from bytes fails only if the runtime's constructor throws, which
    // it does not for a byte body; there is no better answer to give if it ever did.
    Response::from_bytes(body)
        .expect("a Response from a byte body")
        .with_status(err.status())
        .with_headers(headers)
}

/// Every minute (`* * * * *` in `wrangler.toml`): the re-seal goes on while values remain
/// under older keys of the ring (see `reseal`); with none, it costs one small read a
/// shard. Hourly (`17 * * * *`): removes the idempotency claims past their 24 hours, in
/// every shard, in bounded chunks (see `purge`). A key is also freed on its next use (the
/// claim's insert deletes an expired claim first); this keeps the table from growing with
/// keys that are never reused.
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now = backend::now();
    let shards = match config::shards(&env) {
        Ok(shards) => shards,
        Err(e) => return console_error!("{e}"),
    };
    let backend = WorkerBackend::new(&env, Rc::new(Costs::default()), Rc::new(Writes::default()));
    let log = if event.cron() == PURGE_CRON {
        purge::run(&backend, shards.names(), now).await
    } else {
        match config::key_ring(&env) {
            Ok(ring) => reseal::run(&backend, shards.names(), &ring, &mut RandomPool::new()).await,
            Err(e) => vec![LogLine::Error(format!("re-seal: {e}"))],
        }
    };
    for line in log {
        match line {
            LogLine::Info(line) => console_log!("{line}"),
            LogLine::Error(line) => console_error!("{line}"),
        }
    }
}

/// The hourly cron of `wrangler.toml`.
const PURGE_CRON: &str = "17 * * * *";
