//! Settings read from the Worker's environment: vars and secrets.

use crate::error::{ApiError, ApiResult};
use connect_core::sealed::SealingKey;
use connect_core::secrets::KeyEnvironment;
use worker::Env;

/// `KEY_ENVIRONMENT` (`test` or `prod`): which API keys this deployment accepts and mints.
pub fn key_environment(env: &Env) -> ApiResult<KeyEnvironment> {
    let raw = env
        .var("KEY_ENVIRONMENT")
        .map_err(|_| ApiError::Internal("KEY_ENVIRONMENT is not set".into()))?
        .to_string();
    KeyEnvironment::parse(&raw).ok_or_else(|| {
        ApiError::Internal(format!("KEY_ENVIRONMENT must be test or prod, not {raw:?}"))
    })
}

/// `SECRETS_KEY`: 64 hex digits, the AES-256-GCM key for every secret at rest.
pub fn sealing_key(env: &Env) -> ApiResult<SealingKey> {
    let raw = env
        .secret("SECRETS_KEY")
        .map_err(|_| ApiError::Internal("the SECRETS_KEY secret is not set".into()))?
        .to_string();
    SealingKey::from_hex(&raw).map_err(|e| ApiError::Internal(format!("SECRETS_KEY: {e}")))
}

/// `ADMIN_TOKEN`, if set; without it the admin routes do not exist.
pub fn admin_token(env: &Env) -> Option<String> {
    env.secret("ADMIN_TOKEN")
        .ok()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty())
}

/// `PAGE_CACHE`: the per-isolate list page cache is on unless this says `off`.
pub fn page_cache(env: &Env) -> bool {
    connect_core::page_cache::enabled(env.var("PAGE_CACHE").ok().map(|v| v.to_string()).as_deref())
}
