//! Reading request bodies under the transport rules, and writing JSON responses.

use crate::error::{ApiError, ApiResult};
use connect_core::rules::input::{parse_body, Object, MAX_BODY_BYTES};
use connect_core::server::recorded::RecordedResponse;
use serde_json::Value;
use worker::{Headers, Request, Response};

/// Reads a JSON body: 413 over 1 MiB (by `Content-Length` before reading, and by what
/// actually arrived), 415 for a non-empty body that is not declared as JSON, 400 for
/// bytes that are not JSON.
pub async fn read_json(req: &mut Request) -> ApiResult<Value> {
    let bytes = read_bytes(req).await?;
    if !bytes.is_empty() && !is_json(req)? {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(parse_body(&bytes)?)
}

/// Reads a body that may be absent: `None` when empty. Used by routes whose body is
/// optional; a present body follows the same rules as [`read_json`].
pub async fn read_optional_json(req: &mut Request) -> ApiResult<Option<Value>> {
    let bytes = read_bytes(req).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !is_json(req)? {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(Some(parse_body(&bytes)?))
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

/// `application/json`, in any case, with or without parameters such as `charset`.
fn is_json(req: &Request) -> ApiResult<bool> {
    let ct = req.headers().get("content-type")?.unwrap_or_default();
    let media = ct.split(';').next().unwrap_or_default().trim();
    Ok(media.eq_ignore_ascii_case("application/json"))
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

/// An answer that can be recorded for replay: status and JSON body, with `headers`.
pub fn recorded<T: serde::Serialize>(
    status: u16,
    value: &T,
    headers: Vec<(String, String)>,
) -> ApiResult<RecordedResponse> {
    Ok(RecordedResponse {
        status,
        headers,
        body: serde_json::to_string(value)?,
    })
}

/// Routes that take no body: nothing, or `{}`.
pub async fn read_no_fields(req: &mut Request) -> ApiResult<()> {
    if let Some(body) = read_optional_json(req).await? {
        Object::new(&body, "")?.only(&[])?;
    }
    Ok(())
}
