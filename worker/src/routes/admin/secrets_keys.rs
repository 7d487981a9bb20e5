//! `/admin/v1/secrets-keys`: what each key of the ring seals, and the re-seal.

use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use connect_core::server::failure::Failure;
use connect_core::server::reseal::{self, Reseal};
use worker::Response;

/// `GET /admin/v1/secrets-keys`: the ring's keys and what each seals in all shards, from
/// the counts kept with every write (one small read a shard, whatever the number of apps).
pub async fn get(cx: &Cx) -> ApiResult<Response> {
    let ring = config::key_ring(&cx.env)?;
    let counts = reseal::counts(&cx.backend, config::shards(&cx.env)?.names()).await?;
    http::json_of(200, &reseal::secrets_keys(&ring, &counts))
}

/// `POST /admin/v1/secrets-keys/reseal`: one chunk of the re-seal (see `Reseal`).
pub fn reseal(cx: &Cx) -> Result<Reseal, Failure> {
    Ok(Reseal::new(config::shards(&cx.env)?.names().to_vec()))
}
