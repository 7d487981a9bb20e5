-- Shards: workspaces spread over several D1 databases (SHARDS in wrangler.toml names their
-- bindings). Every shard has the whole schema and holds its workspaces' apps, API keys and
-- idempotency records. The directory below is used in the first shard only: which shard
-- each workspace and API key lives in. That never changes, so a Worker isolate caches it,
-- and a request whose key it has seen makes its one round trip to the shard alone.

-- Workspace -> shard: what the operators' routes on a workspace look up.
CREATE TABLE directory_workspaces (
  workspace_id  TEXT PRIMARY KEY,               -- org_<27 base62>
  shard         TEXT NOT NULL,                  -- the D1 binding of its database
  created_at    TEXT NOT NULL
);

-- API key -> workspace and shard: what an uncached request looks up by the key's hash; an
-- operator revokes by the key's id. Whether the key is live is kept in its shard's
-- api_keys, which the request's own round trip confirms.
CREATE TABLE directory_api_keys (
  key_hash      TEXT PRIMARY KEY,               -- lowercase hex SHA-256 of the whole key
  key_id        TEXT NOT NULL UNIQUE,           -- key_<16 base62>
  workspace_id  TEXT NOT NULL,
  shard         TEXT NOT NULL
);

-- The workspaces the directory places in each shard, for GET /admin/v1/shards: kept in the
-- transaction of every directory insert, so the report reads a row a shard, not a count.
CREATE TABLE directory_shards (
  shard         TEXT PRIMARY KEY,
  workspaces    INTEGER NOT NULL CHECK (workspaces >= 0)
) WITHOUT ROWID;

CREATE TRIGGER directory_workspaces_counted AFTER INSERT ON directory_workspaces
BEGIN
  INSERT INTO directory_shards (shard, workspaces) VALUES (NEW.shard, 1)
    ON CONFLICT (shard) DO UPDATE SET workspaces = workspaces + 1;
END;

-- A workspace an operators' request wrote to its shard but never entered in the directory
-- is removed again (worker/src/store/sql.rs, WORKSPACE_DELETE_UNLISTED); the foreign key
-- of api_keys makes that delete look for the workspace's keys, by this index.
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id);

-- A deployment from before shards had one database, bound as DB; bound as SHARD_1 it
-- becomes the first shard, and its workspaces and keys are entered in the directory here.
-- (On any other shard these tables are empty and nothing is entered.)
INSERT INTO directory_workspaces (workspace_id, shard, created_at)
  SELECT id, 'SHARD_1', created_at FROM workspaces;
INSERT INTO directory_api_keys (key_hash, key_id, workspace_id, shard)
  SELECT key_hash, id, workspace_id, 'SHARD_1' FROM api_keys;
