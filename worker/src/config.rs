//! Settings read from the Worker's environment: vars and secrets.

use crate::error::{ApiError, ApiResult};
use crate::webcrypto::NativeKey;
use connect_core::sealed::{SealError, SealingKey};
use connect_core::secrets::KeyEnvironment;
use std::cell::RefCell;
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
    let raw = secrets_key(env)?;
    if let Some(key) = KEYS.with(|k| k.borrow().sealing_for(&raw)) {
        return Ok(key);
    }
    let key = SealingKey::from_hex(&raw).map_err(bad_key)?;
    KEYS.with(|k| k.borrow_mut().set_sealing(&raw, key.clone()));
    Ok(key)
}

/// `SECRETS_KEY` imported into the runtime's WebCrypto (see `webcrypto`).
pub async fn native_sealing_key(env: &Env) -> ApiResult<NativeKey> {
    let raw = secrets_key(env)?;
    if let Some(key) = KEYS.with(|k| k.borrow().native_for(&raw)) {
        return Ok(key);
    }
    let bytes = SealingKey::bytes_from_hex(&raw).map_err(bad_key)?;
    let key = NativeKey::import(&bytes)
        .await
        .map_err(|e| ApiError::Internal(format!("SECRETS_KEY into WebCrypto: {e:?}")))?;
    KEYS.with(|k| k.borrow_mut().set_native(&raw, key.clone()));
    Ok(key)
}

fn secrets_key(env: &Env) -> ApiResult<String> {
    Ok(env
        .secret("SECRETS_KEY")
        .map_err(|_| ApiError::Internal("the SECRETS_KEY secret is not set".into()))?
        .to_string())
}

fn bad_key(e: SealError) -> ApiError {
    ApiError::Internal(format!("SECRETS_KEY: {e}"))
}

thread_local! {
    // The isolate's keys, made once: reading the key schedules AES (about as much work as
    // sealing one secret), and a batch create used to read it twice per request.
    static KEYS: RefCell<Keys> = RefCell::new(Keys::default());
}

/// Keys made from one `SECRETS_KEY` text. The text is compared on every use, so a key
/// that changes under a live isolate (tests start Workers with fresh keys) is never
/// served stale.
#[derive(Default)]
struct Keys {
    raw: String,
    sealing: Option<SealingKey>,
    native: Option<NativeKey>,
}

impl Keys {
    fn sealing_for(&self, raw: &str) -> Option<SealingKey> {
        self.sealing.clone().filter(|_| self.raw == raw)
    }

    fn native_for(&self, raw: &str) -> Option<NativeKey> {
        self.native.clone().filter(|_| self.raw == raw)
    }

    fn set_sealing(&mut self, raw: &str, key: SealingKey) {
        self.reset_for(raw);
        self.sealing = Some(key);
    }

    fn set_native(&mut self, raw: &str, key: NativeKey) {
        self.reset_for(raw);
        self.native = Some(key);
    }

    fn reset_for(&mut self, raw: &str) {
        if self.raw != raw {
            *self = Self {
                raw: raw.to_owned(),
                ..Self::default()
            };
        }
    }
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
