//! The answers of the routes about many apps (batch create, list) and about the
//! workspace (`GET /workspace`). The operators' admin API answers are the server's
//! (`connect_core::server::admin`, feature `server`).

use crate::wire::app::App;
use crate::wire::error::ErrorObject;
use crate::wire::ids::WorkspaceId;
use crate::wire::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The 201 body of `POST /apps/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCreateResponse {
    /// One per input item, in input order.
    pub results: Vec<BatchResult>,
    /// Items created.
    pub success_count: usize,
    /// Items that failed.
    pub error_count: usize,
}

/// One item's outcome: `app` on success, `error` on failure, never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    /// The created app, secret included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
    /// Why the item failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// The item's `idempotencyKey`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The 200 body of `GET /apps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAppsResponse {
    /// The page, in creation order.
    pub data: Vec<App>,
    /// Apps in the workspace.
    pub total: u64,
    /// Page size applied.
    pub limit: u32,
    /// Offset applied.
    pub offset: u64,
}

/// `GET /connect/v1/workspace`. The casings are the reference's own: `apps_count` and
/// the legacy `created_at` (Unix seconds) beside `createdAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// `org_...`
    pub id: WorkspaceId,
    /// Apps in the workspace now.
    pub apps_count: u64,
    /// Creation time.
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    /// Creation time in Unix seconds, kept for backward compatibility.
    #[serde(rename = "created_at")]
    pub created_at_unix: i64,
}

impl Workspace {
    /// A workspace's public view.
    pub fn new(id: WorkspaceId, apps_count: u64, created_at: Timestamp) -> Self {
        Self {
            id,
            apps_count,
            created_at,
            created_at_unix: created_at.unix_seconds(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_keeps_the_reference_casings() {
        let w = Workspace::new(
            WorkspaceId::parse("org_3C4Ysr9QkNkdbAZR5AD0uoLpgWl").unwrap(),
            12,
            Timestamp::parse_iso("2025-11-13T09:00:00.000Z").unwrap(),
        );
        assert_eq!(
            serde_json::to_value(&w).unwrap(),
            serde_json::json!({ "id": "org_3C4Ysr9QkNkdbAZR5AD0uoLpgWl", "apps_count": 12,
                                "createdAt": "2025-11-13T09:00:00.000Z", "created_at": 1763024400 })
        );
    }
}
