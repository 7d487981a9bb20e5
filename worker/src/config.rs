//! Settings read from the Worker's environment: vars and secrets.

use crate::isolate;
use crate::webcrypto::NativeKey;
use connect_core::server::bookmark::BookmarkKeys;
use connect_core::server::failure::Failure;
use connect_core::server::page_cache;
use connect_core::server::seal::KeyRing;
use connect_core::server::shards::ClientIdClass;
use connect_core::server::shards::ShardList;
use connect_core::wire::secrets::KeyEnvironment;
use std::rc::Rc;
use worker::Env;

/// `KEY_ENVIRONMENT` (`test` or `prod`): which API keys this deployment accepts and mints.
pub fn key_environment(env: &Env) -> Result<KeyEnvironment, Failure> {
    let raw = env
        .var("KEY_ENVIRONMENT")
        .map_err(|_| Failure::Internal("KEY_ENVIRONMENT is not set".into()))?
        .to_string();
    KeyEnvironment::parse(&raw).map_err(|_| {
        Failure::Internal(format!("KEY_ENVIRONMENT must be test or prod, not {raw:?}"))
    })
}

/// The `SECRETS_KEYS` secret's text: `kid:64hex[,kid:64hex...]`, the primary key first.
fn secrets_keys(env: &Env) -> Result<String, Failure> {
    Ok(env
        .secret("SECRETS_KEYS")
        .map_err(|_| Failure::Internal("the SECRETS_KEYS secret is not set".into()))?
        .to_string())
}

/// The key ring of `SECRETS_KEYS`, which seals and opens every secret at rest. A malformed
/// ring is an internal error whose log line says what is wrong, never a key.
pub fn key_ring(env: &Env) -> Result<Rc<KeyRing>, Failure> {
    isolate::key_ring(&secrets_keys(env)?)
        .map_err(|e| Failure::Internal(format!("SECRETS_KEYS: {e}")))
}

/// The keys that tag and check `X-Connect-Bookmark`, derived from the ring's keys.
pub fn bookmark_keys(env: &Env) -> Result<Rc<BookmarkKeys>, Failure> {
    isolate::bookmark_keys(&secrets_keys(env)?)
        .map_err(|e| Failure::Internal(format!("SECRETS_KEYS: {e}")))
}

/// The ring's primary key imported into the runtime's WebCrypto (see `webcrypto`).
pub async fn native_primary_key(env: &Env) -> Result<NativeKey, Failure> {
    let text = secrets_keys(env)?;
    if let Some(key) = isolate::native_primary(&text) {
        return Ok(key);
    }
    let ring =
        isolate::key_ring(&text).map_err(|e| Failure::Internal(format!("SECRETS_KEYS: {e}")))?;
    let key = NativeKey::import(ring.primary_key_bytes())
        .await
        .map_err(|e| Failure::Internal(format!("the primary key into WebCrypto: {e:?}")))?;
    isolate::keep_native_primary(&text, key.clone());
    Ok(key)
}

/// `SHARDS`: the D1 bindings workspaces live in, comma-separated, in the order they were
/// added; the first holds the directory (`connect_core::server::shards`).
pub fn shards(env: &Env) -> Result<ShardList, Failure> {
    let text = env
        .var("SHARDS")
        .map_err(|_| Failure::Internal("SHARDS is not set".into()))?
        .to_string();
    ShardList::parse(&text).map_err(|e| Failure::Internal(format!("SHARDS {e}")))
}

/// The class of the client ids `shard` mints: its place in `SHARDS`.
pub fn client_id_class(env: &Env, shard: &str) -> Result<ClientIdClass, Failure> {
    shards(env)?
        .client_id_class(shard)
        .ok_or_else(|| Failure::Internal(format!("SHARDS does not name {shard}")))
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
    page_cache::enabled(env.var("PAGE_CACHE").ok().map(|v| v.to_string()).as_deref())
}
