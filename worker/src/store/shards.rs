//! What a shard holds, for the operators: its apps and its size.

use super::sql;
use super::Store;
use crate::error::{ApiError, ApiResult};
use serde::Deserialize;

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

impl Store {
    /// The shard's apps and bytes, in one read.
    pub async fn usage(&self) -> ApiResult<Usage> {
        let results = self.read(vec![self.stmt(sql::SHARD_APPS, &[])?]).await?;
        let [result] = results.as_slice() else {
            return Err(ApiError::Internal(
                "D1 answered one read with another count".into(),
            ));
        };
        let apps = result
            .results::<AppsRow>()?
            .first()
            .map_or(0, |r| r.apps.max(0.0) as u64);
        let bytes = result
            .meta()?
            .and_then(|m| m.size_after)
            .ok_or_else(|| ApiError::Internal("D1 reported no database size".into()))?;
        Ok(Usage {
            apps,
            bytes: bytes as u64,
        })
    }
}
