-- Workspaces, their API keys and their apps.
--
-- Secrets are never stored in plain text: API keys only as SHA-256 hashes, client and
-- webhook secrets sealed with AES-256-GCM (see connect_core::sealed).

CREATE TABLE workspaces (
  id          TEXT PRIMARY KEY,                 -- org_<27 base62>
  created_at  TEXT NOT NULL,                    -- ISO-8601 UTC with milliseconds
  -- Kept in the same atomic batch as every insert and delete of apps, so `total` and
  -- `apps_count` never cost a scan of the workspace.
  apps_count  INTEGER NOT NULL DEFAULT 0 CHECK (apps_count >= 0)
);

CREATE TABLE api_keys (
  id            TEXT PRIMARY KEY,               -- key_<16 base62>, what an operator revokes
  workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
  key_hash      TEXT NOT NULL UNIQUE,           -- lowercase hex SHA-256 of the whole key
  created_at    TEXT NOT NULL,
  revoked_at    TEXT                            -- NULL while the key is live
);

CREATE TABLE apps (
  client_id       TEXT PRIMARY KEY,             -- 8 base62, globally unique
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  version         INTEGER NOT NULL DEFAULT 1,   -- optimistic concurrency for updates
  client_secret   TEXT NOT NULL,                -- sealed, never plain
  webhook_secret  TEXT,                         -- sealed; NULL until the first rotation
  doc             TEXT NOT NULL                 -- the rest of the App as JSON, no secrets
);

-- List: WHERE workspace_id = ? ORDER BY created_at, client_id LIMIT ? OFFSET ?
-- Covers the page's key walk so a deep offset skips index entries, not rows.
CREATE INDEX apps_by_workspace ON apps (workspace_id, created_at, client_id);
