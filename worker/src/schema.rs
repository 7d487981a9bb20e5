//! The schema this Worker was built for: the D1 migrations of `migrations/`, listed by
//! `build.rs` when it was built. Every shard must have applied all of them; `wrangler d1
//! migrations apply` records each by its file name in the shard's `d1_migrations` table.

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The newest migration: a shard that has applied it is migrated (wrangler applies them
/// in order).
pub fn latest() -> &'static str {
    MIGRATIONS.last().copied().unwrap_or_default()
}
