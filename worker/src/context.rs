//! What a request carries through the Worker besides the request itself.

use crate::error::ApiResult;
use crate::random::RandomPool;
use crate::store::{Costs, Store};
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
}

impl Cx {
    /// The D1 store, counting into this request's costs.
    pub fn store(&self) -> ApiResult<Store> {
        Store::new(&self.env, self.costs.clone())
    }
}
