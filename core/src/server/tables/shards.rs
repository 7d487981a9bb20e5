//! What a shard holds, for the operators: which migrations it has (`d1_migrations`, kept
//! by `wrangler d1 migrations apply`, and by `connect-sqlite` the same way).

use crate::server::failure::Failure;
use crate::server::health::ShardState;
use crate::server::session::Session;
use crate::server::sql;
use crate::server::storage::{Database, Statement};
use serde::Deserialize;

#[derive(Deserialize)]
struct MigrationRow {
    name: String,
}

/// The migrations the shard has applied, for the health check. A failure to read is part
/// of the answer, not an error of the request.
pub async fn migrations<D: Database>(db: &Session<D>) -> ShardState {
    match db
        .rows::<MigrationRow>(Statement::new(sql::SHARD_MIGRATIONS, Vec::new()))
        .await
    {
        Ok(rows) => ShardState::Migrated(rows.into_iter().map(|r| r.name).collect()),
        Err(Failure::NotReady(_)) => ShardState::NeverMigrated,
        Err(e) => ShardState::Unreadable(e.to_string()),
    }
}
