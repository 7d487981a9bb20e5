-- The schema of the Connect app-management API, as one baseline.
--
-- (Rewritten from three earlier migrations before any deployment held data: none had been
-- applied outside a developer's machine. A local database from before needs a fresh start:
-- remove .wrangler/state.)
--
-- Secrets are never stored in plain text: API keys only as SHA-256 hashes; client and
-- webhook secrets, and recorded answers of idempotent requests, sealed with AES-256-GCM
-- under the SECRETS_KEYS key ring (connect_core::server::seal), each naming its key.

CREATE TABLE workspaces (
  id          TEXT PRIMARY KEY,                 -- org_<27 base62>
  created_at  TEXT NOT NULL,                    -- ISO-8601 UTC with milliseconds
  -- Kept in the same transaction as every insert and delete of apps, so `total` and
  -- `apps_count` never cost a count of the workspace's apps.
  apps_count  INTEGER NOT NULL DEFAULT 0 CHECK (apps_count >= 0),
  -- Moves with every change to the workspace's apps, in the same transaction: inserts and
  -- deletes move it in the statements that keep apps_count (worker/src/store/apps.rs),
  -- updates through the trigger below. A Worker isolate serves a kept list page only while
  -- the generation it was rendered at is current (connect_core::server::page_cache).
  generation  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
  id            TEXT PRIMARY KEY,               -- key_<16 base62>, what an operator revokes
  workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
  key_hash      TEXT NOT NULL UNIQUE,           -- lowercase hex SHA-256 of the whole key
  created_at    TEXT NOT NULL,
  revoked_at    TEXT                            -- NULL while the key is live
);

CREATE TABLE apps (
  client_id     TEXT PRIMARY KEY,               -- 8 base62, globally unique
  workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
  created_at    TEXT NOT NULL,                  -- the list's order (also in doc)
  version       INTEGER NOT NULL DEFAULT 1,     -- an update applies only to the version it read
  -- The App object as JSON (connect_core::server::row): the API's own field names, the
  -- client and webhook secrets sealed, the Default workflow as its three node ids.
  doc           TEXT NOT NULL
);

-- List: WHERE workspace_id = ? ORDER BY created_at, client_id LIMIT ? OFFSET ?
-- Covers the page's key walk so a deep offset skips index entries, not rows.
CREATE INDEX apps_by_workspace ON apps (workspace_id, created_at, client_id);

CREATE TRIGGER apps_update_moves_generation AFTER UPDATE ON apps
BEGIN
  UPDATE workspaces SET generation = generation + 1 WHERE id = NEW.workspace_id;
END;

-- Idempotency-Key claims: the source of truth for "created exactly once".
--
-- A claim is inserted in the same D1 batch (one transaction) as the writes of the request
-- it answers, together with that request's answer, sealed (it holds secrets). The primary
-- key makes exactly one of any number of concurrent requests win; the others fail on it,
-- roll back everything, and replay the winner's answer.
CREATE TABLE idempotency_keys (
  scope         TEXT NOT NULL,               -- the workspace id, or 'operators' (admin API)
  key_hash      TEXT NOT NULL,               -- SHA-256 hex of the Idempotency-Key
  fingerprint   TEXT NOT NULL,               -- SHA-256 hex of method, path, canonical body
  response      TEXT NOT NULL,               -- the answer, compressed and sealed
  created_at    INTEGER NOT NULL,            -- ms since the epoch
  expires_at    INTEGER NOT NULL,            -- ms since the epoch; 24 h after created_at
  PRIMARY KEY (scope, key_hash)
);

-- The hourly purge: DELETE ... WHERE expires_at <= ?
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- Never holds a row. A guarded write (an update or delete of the version it read) is
-- followed in its transaction by INSERT INTO write_guards SELECT 0 WHERE changes() = 0:
-- when the write changed no row, the check fails and rolls back the whole transaction,
-- claim included (worker/src/store/apps.rs).
CREATE TABLE write_guards (
  ok INTEGER NOT NULL,
  CONSTRAINT write_guard_state_moved CHECK (ok = 1)
);
