//! Storage: D1 for workspaces, keys, apps and idempotency claims; KV for fast replays.

pub mod d1;
pub mod kv;
