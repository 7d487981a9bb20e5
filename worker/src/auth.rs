//! Who is calling: a workspace API key (`/connect/v1`) or the operator (`/admin/v1`).

use crate::error::{ApiError, ApiResult};
use crate::store::d1::Store;
use connect_core::ids::WorkspaceId;
use connect_core::secrets::{constant_time_eq, ApiKey, KeyEnvironment};
use connect_core::time::Timestamp;
use std::cell::RefCell;
use std::collections::HashMap;
use worker::Request;

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer(req: &Request) -> ApiResult<String> {
    let header = req
        .headers()
        .get("authorization")?
        .ok_or(ApiError::Unauthorized(
            "the Authorization header is missing: send Authorization: Bearer <API key>",
        ))?;
    match header.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized(
            "the Authorization header must be: Bearer <API key>",
        )),
    }
}

/// The presented API key, if it can be a key of this deployment (no lookup yet).
pub fn api_key(req: &Request, env: KeyEnvironment) -> ApiResult<ApiKey> {
    let token = bearer(req)?;
    ApiKey::parse(env, &token).ok_or(ApiError::Unauthorized(match env {
        KeyEnvironment::Test => {
            "the API key is malformed: this deployment takes sk_workspace_test_ keys"
        }
        KeyEnvironment::Prod => {
            "the API key is malformed: this deployment takes sk_workspace_prod_ keys"
        }
    }))
}

/// How long an isolate trusts a key it has looked up: a revoked key stops working within
/// this bound, and a warm request pays no D1 read for authentication.
pub const KEY_CACHE_MS: i64 = 30_000;
/// Entries kept per isolate before the cache starts afresh.
const KEY_CACHE_MAX: usize = 10_000;

thread_local! {
    // Key hash -> (workspace, when it was looked up). Only live keys are cached, so a key
    // created a moment ago works at once. Never the key itself.
    static KEY_CACHE: RefCell<HashMap<String, (WorkspaceId, i64)>> = RefCell::new(HashMap::new());
}

/// The workspace of a live key: from this isolate's cache while fresh, else from D1.
pub async fn workspace(key: &ApiKey, store: &Store, now: Timestamp) -> ApiResult<WorkspaceId> {
    let hash = key.hash();
    let now = now.millis();
    let cached = KEY_CACHE.with(|c| {
        c.borrow()
            .get(&hash)
            .filter(|(_, at)| now - at < KEY_CACHE_MS)
            .map(|(ws, _)| ws.clone())
    });
    if let Some(ws) = cached {
        return Ok(ws);
    }
    let ws = store
        .workspace_for_key(&hash)
        .await?
        .ok_or(ApiError::Unauthorized("the API key is unknown or revoked"))?;
    KEY_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= KEY_CACHE_MAX {
            c.clear();
        }
        c.insert(hash, (ws.clone(), now));
    });
    Ok(ws)
}

/// Checks the operator's `ADMIN_TOKEN`, in constant time.
pub fn operator(req: &Request, admin_token: &str) -> ApiResult<()> {
    let token = bearer(req)?;
    if constant_time_eq(token.as_bytes(), admin_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the admin token is not valid"))
    }
}
