//! What a shard holds, for the operators: its apps and its size.

use super::sql;
use super::Store;
use crate::error::{ApiError, ApiResult};
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

    /// The shard's bytes, reading no row.
    pub async fn bytes(&self) -> ApiResult<u64> {
        size_after(&self.read_one(self.stmt(sql::SHARD_SIZE, &[])?).await?)
    }
}
