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
  -- The position the next app created in the workspace gets: positions give the list its
  -- creation order and are never reused. While no app was ever deleted, apps_count equals
  -- next_position and the offset-th app sits at position offset.
  next_position INTEGER NOT NULL DEFAULT 0 CHECK (next_position <= 4294967296),
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

-- Apps, by workspace in creation order.
CREATE TABLE apps (
  workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
  position      INTEGER NOT NULL,               -- creation order in the workspace; a batch's items in input order
  client_id     TEXT NOT NULL UNIQUE,           -- 8 base62, globally unique: reads, updates, deletes
  version       INTEGER NOT NULL DEFAULT 1,     -- an update applies only to the version it read
  -- The App object as JSON (connect_core::server::row): the API's own field names, the
  -- client and webhook secrets sealed, the Default workflow as its three node ids.
  doc           TEXT NOT NULL,
  -- The ids of the keys its sealed values name, as a JSON array: the re-seal moves apps
  -- under older keys to the primary; sealed_counts counts them.
  key_ids       TEXT NOT NULL
);

-- List pages, from a position on: WHERE workspace_id = ? AND position >= ? ORDER BY position
-- LIMIT ?; deletes by position. A batch's new entries are appended at the end of its
-- workspace's range. (An ordinary table with this index, rather than a WITHOUT ROWID table
-- keyed by it: with rows of about 600 bytes a batch create of 100 apps ran 6 % faster,
-- 138 against 130 req/s in four alternating rounds of wrk.)
CREATE UNIQUE INDEX apps_by_position ON apps (workspace_id, position);

-- Deleted positions of each workspace, as a Fenwick tree (a binary indexed tree) over the
-- positions 0 to 2^32 - 1: node n holds how many of the positions n - (n & -n) to n - 1
-- were deleted; a node never written holds 0. A delete adds one to the at most 33 nodes
-- above its position, in the same transaction (worker/src/store/sql.rs, APP_DELETIONS_ADD);
-- an insert writes nothing here. A list page finds the position of its offset-th live app
-- by descending the tree: 33 probes by primary key whatever the offset or the workspace's
-- size (LIST_PAGE). While no app of a workspace was ever deleted, the page skips the
-- descent: the offset-th app is at position offset.
CREATE TABLE app_deletions (
  workspace_id  TEXT NOT NULL,
  node          INTEGER NOT NULL CHECK (node BETWEEN 1 AND 4294967296),
  dead          INTEGER NOT NULL CHECK (dead >= 1),
  PRIMARY KEY (workspace_id, node)
) WITHOUT ROWID;

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
  key_id        TEXT NOT NULL,               -- the key that sealed it
  created_at    INTEGER NOT NULL,            -- ms since the epoch
  expires_at    INTEGER NOT NULL,            -- ms since the epoch; 24 h after created_at
  PRIMARY KEY (scope, key_hash)
);

-- The hourly purge: DELETE ... WHERE expires_at <= ?
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- How many apps and idempotency records each key of the secrets key ring seals, so that
-- an operator knows when an old key can go (GET /admin/v1/secrets-keys) without a count
-- of the apps. An app counts once under each key its values name. Kept in the same
-- transaction as every write: a batch insert adds its apps in the statement beside it
-- (worker/src/store/sql.rs, SEALED_COUNTS_ADD_APPS); the triggers below count what
-- updates, deletes and idempotency records change.
CREATE TABLE sealed_counts (
  kind    TEXT NOT NULL CHECK (kind IN ('apps', 'idempotency_records')),
  key_id  TEXT NOT NULL,
  sealed  INTEGER NOT NULL CHECK (sealed >= 0),
  PRIMARY KEY (kind, key_id)
) WITHOUT ROWID;

CREATE TRIGGER apps_key_ids_counted AFTER UPDATE OF key_ids ON apps
WHEN OLD.key_ids IS NOT NEW.key_ids
BEGIN
  UPDATE sealed_counts SET sealed = sealed - 1
    WHERE kind = 'apps' AND key_id IN (SELECT value FROM json_each(OLD.key_ids));
  INSERT INTO sealed_counts (kind, key_id, sealed)
    SELECT 'apps', value, 1 FROM json_each(NEW.key_ids) WHERE true
    ON CONFLICT (kind, key_id) DO UPDATE SET sealed = sealed + 1;
END;

CREATE TRIGGER apps_delete_counted AFTER DELETE ON apps
BEGIN
  UPDATE sealed_counts SET sealed = sealed - 1
    WHERE kind = 'apps' AND key_id IN (SELECT value FROM json_each(OLD.key_ids));
END;

CREATE TRIGGER idempotency_keys_insert_counted AFTER INSERT ON idempotency_keys
BEGIN
  INSERT INTO sealed_counts (kind, key_id, sealed) VALUES ('idempotency_records', NEW.key_id, 1)
    ON CONFLICT (kind, key_id) DO UPDATE SET sealed = sealed + 1;
END;

CREATE TRIGGER idempotency_keys_update_counted AFTER UPDATE OF key_id ON idempotency_keys
WHEN OLD.key_id IS NOT NEW.key_id
BEGIN
  UPDATE sealed_counts SET sealed = sealed - 1
    WHERE kind = 'idempotency_records' AND key_id = OLD.key_id;
  INSERT INTO sealed_counts (kind, key_id, sealed) VALUES ('idempotency_records', NEW.key_id, 1)
    ON CONFLICT (kind, key_id) DO UPDATE SET sealed = sealed + 1;
END;

CREATE TRIGGER idempotency_keys_delete_counted AFTER DELETE ON idempotency_keys
BEGIN
  UPDATE sealed_counts SET sealed = sealed - 1
    WHERE kind = 'idempotency_records' AND key_id = OLD.key_id;
END;

-- Where the re-seal goes on, per table: it walks each by rowid, a bounded chunk a call, and
-- starts again from the beginning while values under older keys remain.
CREATE TABLE reseal_cursors (
  kind   TEXT PRIMARY KEY CHECK (kind IN ('apps', 'idempotency_records')),
  after  INTEGER NOT NULL
);

-- Never holds a row: every insert into it fails one of its checks and rolls back the whole
-- transaction, claim included (worker/src/store/sql.rs). A guarded write (an update or
-- delete of the version it read) is followed by INSERT ... SELECT 0 WHERE changes() = 0:
-- the state moved since it was read. A write of a request whose API key came from an
-- isolate's cache starts with INSERT ... SELECT 2 WHERE the key is no longer live.
CREATE TABLE write_guards (
  ok INTEGER NOT NULL,
  CONSTRAINT write_guard_state_moved CHECK (ok <> 0),
  CONSTRAINT write_guard_key_revoked CHECK (ok <> 2)
);
