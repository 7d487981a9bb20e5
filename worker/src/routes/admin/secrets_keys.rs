//! `/admin/v1/secrets-keys`: what each key of the ring seals, and the re-seal.

use super::every_shard;
use crate::config;
use crate::context::Cx;
use crate::error::ApiResult;
use crate::http;
use crate::idempotency::{Attempt, Operation};
use crate::reseal;
use crate::store::Store;
use connect_core::server::reseal::secrets_keys as keys_of;
use worker::Response;

/// `GET /admin/v1/secrets-keys`: the ring's keys and what each seals in all shards, from
/// the counts kept with every write (one small read a shard, whatever the number of apps).
pub async fn get(cx: &Cx) -> ApiResult<Response> {
    let ring = config::key_ring(&cx.env)?;
    let mut counts = Vec::new();
    for shard in every_shard(cx)? {
        counts.extend(shard.sealed_counts().await?);
    }
    http::json_of(200, &keys_of(&ring, &counts))
}

/// `POST /admin/v1/secrets-keys/reseal`: one chunk of the re-seal, in the first shard with
/// values to move (see `reseal`). The chunk commits in its shard; the claim of the
/// request's key, in the directory's transaction, records the answer. A retry that lost
/// the race has done one more chunk, which only moves what is left to the primary.
pub struct Reseal;

impl Operation for Reseal {
    async fn attempt(&mut self, cx: &mut Cx, _directory: &Store) -> ApiResult<Attempt> {
        let shards = every_shard(cx)?;
        let progress = reseal::chunk_in_any_shard(&cx.env, &shards, &mut cx.random).await?;
        Ok(Attempt::Write {
            statements: Vec::new(),
            answer: http::recorded(200, &progress, Vec::new())?,
        })
    }
}
