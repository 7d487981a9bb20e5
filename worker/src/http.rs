//! Reading request bodies under the transport rules, and writing JSON responses.
//!
//! A body is JSON: `application/json` or any `application/*+json` type, UTF-8 (a `charset`
//! other than `utf-8` is 415), sent as is (a `Content-Encoding` other than `identity` is
//! 415), at most 1 MiB (413). A route that takes no body accepts none, or `{}`.

use crate::error::{ApiError, ApiResult};
use connect_core::rules::input::{parse_body, MAX_BODY_BYTES};
use connect_core::rules::media_type::check_body_headers;
use connect_core::server::recorded::RecordedResponse;
use connect_core::wire::error::FieldError;
use serde_json::Value;
use worker::{Headers, Request, Response};

/// Reads the JSON body of a route that takes one: 413 over 1 MiB (by `Content-Length`
/// before reading, and by what actually arrived), 415 for a non-empty body that is not
/// declared as UTF-8 JSON or is encoded, 400 for bytes that are not JSON.
pub async fn read_json(req: &mut Request) -> ApiResult<Value> {
    let bytes = read_bytes(req).await?;
    if !bytes.is_empty() {
        check_declared_json(req.headers())?;
    }
    Ok(parse_body(&bytes)?)
}

/// Reads the body of a route that takes none (GET, HEAD, DELETE, the rotations): nothing,
/// or `{}` under the same transport rules as [`read_json`]. Anything else is 400 naming
/// `body`, whatever it is declared as: the route would ignore it, and a caller who sent it
/// meant something the route does not do.
pub async fn read_no_body(req: &mut Request) -> ApiResult<()> {
    let bytes = read_bytes(req).await?;
    if bytes.is_empty() {
        return Ok(());
    }
    match parse_body(&bytes) {
        Ok(Value::Object(members)) if members.is_empty() => check_declared_json(req.headers()),
        _ => {
            Err(FieldError::invalid("body", "must be empty or {}: this route takes no body").into())
        }
    }
}

async fn read_bytes(req: &mut Request) -> ApiResult<Vec<u8>> {
    let declared = req.headers().get("content-length")?;
    if declared
        .and_then(|n| n.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(ApiError::TooLarge);
    }
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge);
    }
    Ok(bytes)
}

/// Checks the headers that declare a body (see `connect_core::rules::media_type`).
fn check_declared_json(headers: &Headers) -> ApiResult<()> {
    let content_type = headers.get("content-type")?;
    let content_encoding = headers.get("content-encoding")?;
    check_body_headers(content_type.as_deref(), content_encoding.as_deref())
        .map_err(ApiError::UnsupportedMediaType)
}

/// A JSON response of `status` with an already serialized body.
pub fn json(status: u16, body: String) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::from_bytes(body.into_bytes())?
        .with_status(status)
        .with_headers(headers))
}

/// A JSON response of `status` serializing `value`.
pub fn json_of<T: serde::Serialize>(status: u16, value: &T) -> ApiResult<Response> {
    json(status, serde_json::to_string(value)?)
}

/// The response a [`RecordedResponse`] describes; a replay says so in
/// `Idempotency-Replayed: true`.
pub fn answer(recorded: &RecordedResponse, replayed: bool) -> ApiResult<Response> {
    let mut response = json(recorded.status, recorded.body.clone())?;
    let headers = response.headers_mut();
    for (name, value) in &recorded.headers {
        headers.set(name, value)?;
    }
    if replayed {
        headers.set("idempotency-replayed", "true")?;
    }
    Ok(response)
}
