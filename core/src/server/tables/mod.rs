//! The statements of each table, built from domain values, and the rows they read back.
//! The SQL itself is in [`super::sql`]; the schema in `migrations/`.

pub mod apps;
pub mod claims;
pub mod directory;
pub mod shards;
pub mod workspaces;
