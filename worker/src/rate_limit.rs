//! Rate limits, with the Workers rate-limiting binding (`[[ratelimits]]` in
//! `wrangler.toml`, where the limits live).
//!
//! - [`Limit::ApiKey`]: requests per API key, checked after the key's format and before its
//!   D1 lookup, so a flood of requests costs the database nothing. The counter is keyed by
//!   the key's hash (the key itself never leaves the Worker).
//! - [`Limit::AdminLogins`]: failed operator authentications per client address (see
//!   `connect_core::server::client_address`). Only failures count, and the right token is
//!   accepted before the limiter is asked anything, so an operator is never slowed by
//!   someone else's failures, even behind a shared address.

use crate::error::{ApiError, ApiResult};
use worker::{console_warn, Env};

/// A limit of `wrangler.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Requests per API key: 100 per 10 seconds.
    ApiKey,
    /// Failed operator authentications per client address: 10 per 60 seconds.
    AdminLogins,
}

impl Limit {
    /// The binding's name in `wrangler.toml`.
    fn binding(self) -> &'static str {
        match self {
            Self::ApiKey => "RATE_LIMITER",
            Self::AdminLogins => "ADMIN_AUTH_LIMITER",
        }
    }

    /// The `period` of the binding in wrangler.toml, in seconds: when to retry
    /// (`Retry-After`). They must match.
    pub fn period_seconds(self) -> u32 {
        match self {
            Self::ApiKey => 10,
            Self::AdminLogins => 60,
        }
    }

    /// Counts one more under `key`: 429 if that is past the limit. A missing binding or a
    /// failing limiter lets the request through: rate limiting protects capacity, it is
    /// not an authorization rule, and an outage of it must not take the API down.
    pub async fn count(self, env: &Env, key: String) -> ApiResult<()> {
        let Ok(limiter) = env.rate_limiter(self.binding()) else {
            return Ok(());
        };
        match limiter.limit(key).await {
            Ok(outcome) if !outcome.success => Err(ApiError::RateLimited(self)),
            Ok(_) => Ok(()),
            Err(e) => {
                console_warn!(
                    "rate limiter {} failed, letting the request through: {e}",
                    self.binding()
                );
                Ok(())
            }
        }
    }
}
