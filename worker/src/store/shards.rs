//! What a shard holds, for the operators: its apps and its size, and which migrations it
//! has (`d1_migrations`, kept by `wrangler d1 migrations apply`).

use super::sql;
use super::{s, Store};
use crate::error::{ApiError, ApiResult};
use connect_core::server::health::ShardState;
use connect_core::server::shards::Probe;
use serde::Deserialize;
use worker::D1Result;

/// A shard's apps and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Apps in its workspaces.
    pub apps: u64,
    /// The size of its database, as D1 reports it after a query.
    pub bytes: u64,
}

#[derive(Deserialize)]
struct AppsRow {
    apps: f64,
}

#[derive(Deserialize)]
struct AppliedRow {
    applied: f64,
}

#[derive(Deserialize)]
struct MigrationRow {
    name: String,
}

/// What a shard without `d1_migrations` is: never migrated.
const NEVER_MIGRATED: &str = "is not migrated: no migration was ever applied to its database";

/// The database's size D1 reports with `result`.
fn size_after(result: &D1Result) -> ApiResult<u64> {
    result
        .meta()?
        .and_then(|m| m.size_after)
        .map(|bytes| bytes as u64)
        .ok_or_else(|| ApiError::Internal("D1 reported no database size".into()))
}

impl Store {
    /// The shard's apps (a read of every workspace row) and bytes.
    pub async fn usage(&self) -> ApiResult<Usage> {
        let result = self.read_one(self.stmt(sql::SHARD_APPS, &[])?).await?;
        let apps = result
            .results::<AppsRow>()?
            .first()
            .map_or(0, |r| r.apps.max(0.0) as u64);
        Ok(Usage {
            apps,
            bytes: size_after(&result)?,
        })
    }

    /// Whether the shard has migration `latest`, and its bytes, in one statement reading
    /// one entry of an index: what a new workspace is placed by.
    pub async fn probe(&self, latest: &str) -> ApiResult<Probe> {
        let result = match self
            .read_one(self.stmt(sql::SHARD_MIGRATED, &[s(latest)])?)
            .await
        {
            Ok(result) => result,
            Err(ApiError::NotReady(_)) => return Ok(Probe::Unknown(NEVER_MIGRATED.to_owned())),
            Err(e) => return Err(e),
        };
        let bytes = size_after(&result)?;
        let applied = result
            .results::<AppliedRow>()?
            .first()
            .is_some_and(|r| r.applied > 0.0);
        Ok(if applied {
            Probe::Ready(bytes)
        } else {
            Probe::Behind(bytes)
        })
    }

    /// The migrations the shard has applied, for the health check. A failure to read is
    /// part of the answer, not an error of the request.
    pub async fn migrations(&self) -> ShardState {
        let read = async {
            let result = self
                .read_one(self.stmt(sql::SHARD_MIGRATIONS, &[])?)
                .await?;
            Ok::<_, ApiError>(result.results::<MigrationRow>()?)
        };
        match read.await {
            Ok(rows) => ShardState::Migrated(rows.into_iter().map(|r| r.name).collect()),
            Err(ApiError::NotReady(_)) => ShardState::NeverMigrated,
            Err(ApiError::Internal(e)) => ShardState::Unreadable(e),
            Err(e) => ShardState::Unreadable(format!("{e:?}")),
        }
    }
}
