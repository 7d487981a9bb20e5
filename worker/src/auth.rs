//! Who is calling: a workspace API key (`/connect/v1`), and where its workspace lives; or
//! the operator (`/admin/v1`).

use crate::error::{ApiError, ApiResult};
use crate::isolate;
use crate::rate_limit::Limit;
use crate::store::D1;
use connect_core::server::client_address;
use connect_core::server::failure::Failure;
use connect_core::server::session::Session;
use connect_core::server::tables::directory::{self, Tenant};
use connect_core::wire::secrets::{ApiKey, KeyEnvironment};
use connect_core::wire::time::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use worker::{Env, Request};

/// The refusals of a credential, each naming what to send.
struct Refusals {
    missing: &'static str,
    malformed: &'static str,
}

/// A workspace route's.
const API_KEY: Refusals = Refusals {
    missing: "the Authorization header is missing: send Authorization: Bearer <API key>",
    malformed: "the Authorization header must be: Bearer <API key>",
};

/// An admin route's.
const ADMIN_TOKEN: Refusals = Refusals {
    missing: "the Authorization header is missing: send Authorization: Bearer <ADMIN_TOKEN>",
    malformed: "the Authorization header must be: Bearer <ADMIN_TOKEN>",
};

/// The refusal of a wrong admin token.
const WRONG_ADMIN_TOKEN: &str =
    "the admin token is not valid: send Authorization: Bearer <ADMIN_TOKEN>, the ADMIN_TOKEN secret of this deployment";

/// A 401 saying `why`.
fn unauthorized(why: &'static str) -> ApiError {
    Failure::Unauthorized(why).into()
}

/// The token of `Authorization: Bearer <token>` (scheme in any case).
fn bearer(req: &Request, refusals: &Refusals) -> ApiResult<String> {
    let header = req
        .headers()
        .get("authorization")?
        .ok_or(unauthorized(refusals.missing))?;
    match header.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(unauthorized(refusals.malformed)),
    }
}

/// The presented API key, if it can be a key of this deployment (no lookup yet).
pub fn api_key(req: &Request, env: KeyEnvironment) -> ApiResult<ApiKey> {
    let token = bearer(req, &API_KEY)?;
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
/// neither where they differ nor the token's length shows in the timing. The right token
/// is accepted at once. A missing, malformed or wrong one counts as a failure of the
/// client's address (`CF-Connecting-IP`): 401 naming the admin token, or 429 once the
/// address is past its limit of failures ([`Limit::AdminLogins`]).
pub async fn operator(env: &Env, req: &Request, admin_token: &str) -> ApiResult<()> {
    let refusal = match bearer(req, &ADMIN_TOKEN) {
        Ok(token) => {
            let presented = Sha256::digest(token.as_bytes());
            let expected = Sha256::digest(admin_token.as_bytes());
            if bool::from(presented.ct_eq(&expected)) {
                return Ok(());
            }
            unauthorized(WRONG_ADMIN_TOKEN)
        }
        Err(refusal @ ApiError::Server(Failure::Unauthorized(_))) => refusal,
        Err(other) => return Err(other),
    };
    let address = req.headers().get("cf-connecting-ip")?;
    Limit::AdminLogins
        .count(env, client_address::limiter_key(address.as_deref()))
        .await?;
    Err(refusal)
}
