//! What a request carries through the Worker besides the request itself.

use crate::config;
use crate::error::ApiResult;
use crate::random::RandomPool;
use crate::store::{Costs, Freshness, Store};
use connect_core::server::bookmark::Bookmark;
use connect_core::wire::time::Timestamp;
use std::rc::Rc;
use worker::{Context, Env};

/// The per-request context.
pub struct Cx {
    /// Bindings, vars and secrets.
    pub env: Env,
    /// The execution context, for work that may finish after the response.
    pub ctx: Context,
    /// Randomness for ids, secrets and nonces.
    pub random: RandomPool,
    /// The time the request arrived, for every timestamp it writes.
    pub now: Timestamp,
    /// What the request has cost D1 so far.
    pub costs: Rc<Costs>,
    /// The bookmark its answer carries in `X-Connect-Bookmark`, tagged as it goes out: the
    /// latest state of the workspace's shard the request saw, set once its key is confirmed
    /// live (see `routes::handle`).
    pub bookmark: Option<Bookmark>,
}

impl Cx {
    /// The database of `shard`, in a session starting as `freshness` says, counting into
    /// this request's costs.
    pub fn store(&self, shard: &str, freshness: Freshness<'_>) -> ApiResult<Store> {
        Store::open(&self.env, shard, freshness, self.costs.clone())
    }

    /// The directory's database (the first shard), at its primary.
    pub fn directory(&self) -> ApiResult<Store> {
        self.store(config::shards(&self.env)?.directory(), Freshness::Primary)
    }
}
