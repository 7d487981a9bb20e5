//! Per-API-key rate limiting with the Workers rate-limiting binding.
//!
//! The limit is checked after the key's format and before its D1 lookup, so a flood of
//! requests costs the database nothing. The counter is keyed by the key's hash (the key
//! itself never leaves the Worker). The limits live in `wrangler.toml` (`[[ratelimits]]`).

use crate::error::{ApiError, ApiResult};
use connect_core::wire::secrets::ApiKey;
use worker::{console_warn, Env};

/// The period of `[[ratelimits]]` in wrangler.toml, in seconds: when to retry.
pub const PERIOD_SECONDS: u32 = 10;

/// Refuses the request with 429 if `key` is over its limit. A missing binding or a failing
/// limiter lets the request through: rate limiting protects capacity, it is not an
/// authorization rule, and an outage of it must not take the API down.
pub async fn check(env: &Env, key: &ApiKey) -> ApiResult<()> {
    let Ok(limiter) = env.rate_limiter("RATE_LIMITER") else {
        return Ok(());
    };
    match limiter.limit(key.hash()).await {
        Ok(outcome) if !outcome.success => Err(ApiError::RateLimited),
        Ok(_) => Ok(()),
        Err(e) => {
            console_warn!("rate limiter failed, letting the request through: {e}");
            Ok(())
        }
    }
}
