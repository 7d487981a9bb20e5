//! What a request carries through the Worker besides the request itself.

use crate::backend::WorkerBackend;
use crate::config;
use crate::random::RandomPool;
use crate::store::{Costs, Freshness, D1};
use connect_core::server::bookmark::Bookmark;
use connect_core::server::failure::Failure;
use connect_core::server::perform::Tools;
use connect_core::server::seal::KeyRing;
use connect_core::server::session::{Session, Writes};
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
    /// What its writes came to: whether one may have happened.
    pub writes: Rc<Writes>,
    /// The bookmark its answer carries in `X-Connect-Bookmark`, tagged as it goes out: the
    /// latest state of the workspace's shard the request saw, set once its key is confirmed
    /// live (see `routes::handle`).
    pub bookmark: Option<Bookmark>,
    /// The databases and KV, as the core's writes use them.
    pub backend: WorkerBackend,
}

impl Cx {
    /// The context of a request that arrived at `now`.
    pub fn new(env: Env, ctx: Context, random: RandomPool, now: Timestamp) -> Self {
        let costs = Rc::new(Costs::default());
        let writes = Rc::new(Writes::default());
        Self {
            backend: WorkerBackend::new(&env, costs.clone(), writes.clone()),
            env,
            ctx,
            random,
            now,
            costs,
            writes,
            bookmark: None,
        }
    }

    /// The database of `shard`, in a session starting as `freshness` says, counting into
    /// this request's costs and writes.
    pub fn store(&self, shard: &str, freshness: Freshness<'_>) -> Result<Session<D1>, Failure> {
        self.backend.session(shard, freshness)
    }

    /// The directory's database (the first shard), at its primary.
    pub fn directory(&self) -> Result<Session<D1>, Failure> {
        self.store(config::shards(&self.env)?.directory(), Freshness::Primary)
    }

    /// What the core's writes work with: the backend, `ring`, the request's time and its
    /// randomness.
    pub fn tools<'a>(&'a mut self, ring: &'a KeyRing) -> Tools<'a, WorkerBackend> {
        Tools {
            backend: &self.backend,
            ring,
            now: self.now,
            random: &mut self.random,
        }
    }
}
