//! The core's [`Backend`] on the Workers runtime: the shards' D1 databases at their
//! primary, KV, the runtime's clock, and sealing through its WebCrypto.

use crate::config;
use crate::store::kv::Kv;
use crate::store::{sessions, Costs, Freshness, D1};
use connect_core::server::failure::Failure;
use connect_core::server::perform::Backend;
use connect_core::server::seal::{KeyRing, SealJob, Sealed};
use connect_core::server::session::{Session, Writes};
use connect_core::wire::time::Timestamp;
use std::rc::Rc;
use worker::{Date, Env};

/// What a request (or a scheduled run) writes through: its costs and its writes counted
/// once over every database it uses.
pub struct WorkerBackend {
    env: Env,
    kv: Option<Kv>,
    costs: Rc<Costs>,
    writes: Rc<Writes>,
}

impl WorkerBackend {
    /// The backend of `env`, counting into `costs` and `writes`.
    pub fn new(env: &Env, costs: Rc<Costs>, writes: Rc<Writes>) -> Self {
        Self {
            env: env.clone(),
            kv: Kv::new(env),
            costs,
            writes,
        }
    }

    /// The database of `shard`, in a session starting as `freshness` says.
    pub fn session(&self, shard: &str, freshness: Freshness<'_>) -> Result<Session<D1>, Failure> {
        let db = sessions::open(&self.env, shard, freshness, self.costs.clone())?;
        Ok(Session::new(db, self.writes.clone()))
    }
}

/// The time now, from the runtime.
pub fn now() -> Timestamp {
    Timestamp::from_millis(Date::now().as_millis() as i64)
}

impl Backend for WorkerBackend {
    type Db = D1;
    type Kv = Kv;

    fn clock(&self) -> Timestamp {
        now()
    }

    fn kv(&self) -> Option<&Kv> {
        self.kv.as_ref()
    }

    fn shard(&self, name: &str) -> Result<Session<D1>, Failure> {
        self.session(name, Freshness::Primary)
    }

    /// The recorded answer sealed by the runtime's WebCrypto (see `webcrypto`).
    async fn seal(&self, _ring: &KeyRing, job: &SealJob) -> Result<Sealed, Failure> {
        config::native_primary_key(&self.env)
            .await?
            .seal(job)
            .await
            .map_err(|e| Failure::Internal(format!("WebCrypto AES-GCM: {e:?}")))
    }
}
