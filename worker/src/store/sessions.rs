//! D1 sessions: where a request's reads and writes start. Writes, and every read of a
//! request that writes, start at the primary; a read-only request may be served by a read
//! replica, at least as recent as the bookmark it sent. D1 keeps a session sequentially
//! consistent, so a request sees its own writes and never goes back in time.

use crate::store::costs::Costs;
use crate::store::d1::D1;
use connect_core::server::bookmark::Bookmark;
use connect_core::server::failure::Failure;
use connect_core::wire::ids::WorkspaceId;
use std::rc::Rc;
use worker::{D1SessionConstraint, Env};

/// Where a session starts.
#[derive(Debug, Clone, Copy)]
pub enum Freshness<'a> {
    /// At the primary: writes, what decides them (idempotency above all), the operators'
    /// routes and the scheduled work.
    Primary,
    /// At any replica at least as recent as the bookmark, if any: the reads of a request
    /// that writes nothing.
    Replica(Option<&'a Bookmark>),
}

/// The database of `shard` (a D1 binding), in a session starting as `freshness` says,
/// counting into `costs`.
pub fn open(
    env: &Env,
    shard: &str,
    freshness: Freshness<'_>,
    costs: Rc<Costs>,
) -> Result<D1, Failure> {
    let db = env
        .d1(shard)
        .map_err(|e| Failure::Internal(format!("SHARDS names {shard}: {e}")))?;
    let session = match freshness {
        Freshness::Primary => db.with_session_constraint(D1SessionConstraint::FirstPrimary),
        Freshness::Replica(Some(bookmark)) => db.with_session(Some(bookmark.d1())),
        Freshness::Replica(None) => {
            db.with_session_constraint(D1SessionConstraint::FirstUnconstrained)
        }
    }
    .map_err(|e| Failure::Internal(format!("a D1 session of {shard}: {e}")))?;
    Ok(D1::new(session, shard, costs))
}

/// The bookmark of the latest state `db`'s session saw (or started at), if any, for an
/// answer to `workspace`.
pub fn bookmark(db: &D1, workspace: &WorkspaceId) -> Option<Bookmark> {
    let d1 = db.session().get_bookmark().ok().flatten()?;
    Bookmark::new(workspace, db.shard(), &d1)
}
