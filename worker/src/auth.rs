//! Who is calling: a workspace API key (`/connect/v1`) or the operator (`/admin/v1`).

use crate::error::{ApiError, ApiResult};
use crate::store::d1::Store;
use connect_core::ids::WorkspaceId;
use connect_core::secrets::{constant_time_eq, ApiKey, KeyEnvironment};
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

/// The workspace of a live key.
pub async fn workspace(key: &ApiKey, store: &Store) -> ApiResult<WorkspaceId> {
    store
        .workspace_for_key(&key.hash())
        .await?
        .ok_or(ApiError::Unauthorized("the API key is unknown or revoked"))
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
