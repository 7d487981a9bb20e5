//! Who is calling: a workspace API key (`/connect/v1`), and where its workspace lives; or
//! the operator (`/admin/v1`).

use crate::error::{ApiError, ApiResult};
use crate::isolate;
use crate::store::D1;
use connect_core::server::failure::Failure;
use connect_core::server::session::Session;
use connect_core::server::tables::directory::{self, Tenant};
use connect_core::wire::secrets::{ApiKey, KeyEnvironment};
use connect_core::wire::time::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use worker::Request;

/// A 401 saying `why`.
fn unauthorized(why: &'static str) -> ApiError {
    Failure::Unauthorized(why).into()
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer(req: &Request) -> ApiResult<String> {
    let header = req.headers().get("authorization")?.ok_or(unauthorized(
        "the Authorization header is missing: send Authorization: Bearer <API key>",
    ))?;
    match header.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(unauthorized(
            "the Authorization header must be: Bearer <API key>",
        )),
    }
}

/// The presented API key, if it can be a key of this deployment (no lookup yet).
pub fn api_key(req: &Request, env: KeyEnvironment) -> ApiResult<ApiKey> {
    let token = bearer(req)?;
    ApiKey::parse(env, &token).map_err(|_| {
        unauthorized(match env {
            KeyEnvironment::Test => {
                "the API key is malformed: this deployment takes sk_workspace_test_ keys"
            }
            KeyEnvironment::Prod => {
                "the API key is malformed: this deployment takes sk_workspace_prod_ keys"
            }
        })
    })
}

/// Where a key leads: from this isolate's cache, else from the directory (`directory`,
/// the first shard's primary). Either way the key is not yet known to be live: the
/// request's first call to its shard confirms that (see `Store::confirm_key`).
pub async fn tenant(
    key: &ApiKey,
    directory: impl FnOnce() -> Result<Session<D1>, Failure>,
    now: Timestamp,
) -> ApiResult<(Tenant, String)> {
    let hash = key.hash();
    let now = now.millis();
    if let Some(tenant) = isolate::tenant_of_key(&hash, now) {
        return Ok((tenant, hash));
    }
    let tenant = directory::tenant_of_key(&directory()?, &hash)
        .await?
        .ok_or(unauthorized("the API key is unknown or revoked"))?;
    isolate::remember_key(hash.clone(), tenant.clone(), now);
    Ok((tenant, hash))
}

/// Checks the operator's `ADMIN_TOKEN`, in constant time: both sides are hashed first, so
/// neither where they differ nor the token's length shows in the timing.
pub fn operator(req: &Request, admin_token: &str) -> ApiResult<()> {
    let token = bearer(req)?;
    let presented = Sha256::digest(token.as_bytes());
    let expected = Sha256::digest(admin_token.as_bytes());
    if bool::from(presented.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(unauthorized("the admin token is not valid"))
    }
}
