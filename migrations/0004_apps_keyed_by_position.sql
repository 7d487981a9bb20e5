-- Apps keyed by their place in the list: D1 bills every B-tree entry an insert writes as a
-- row written, and an app needs two (found by its client id, found by its place in its
-- workspace's creation order). An ordinary table with a position index wrote three: the
-- table's row (keyed by a rowid nothing looks up), the position entry and the client id
-- entry. Here the table is the position index: 2 rows written per new app instead of 3.
--
-- Every row is kept: the apps are copied into the new table, the old one dropped (which
-- fires no trigger: sealed_counts stays as it is) and the new one takes its name. The
-- triggers on apps are made again, as 0001 made them. Nothing references apps, so the
-- foreign keys (enforced while D1 migrates) have nothing to check but apps.workspace_id,
-- which every copied row already met.

CREATE TABLE apps_keyed (
  workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
  position      INTEGER NOT NULL,               -- creation order in the workspace; a batch's items in input order
  client_id     TEXT NOT NULL,                  -- 8 base62, globally unique (apps_by_client_id)
  version       INTEGER NOT NULL DEFAULT 1,     -- an update applies only to the version it read
  -- The App object as JSON (connect_core::server::row): the API's own field names, the
  -- client and webhook secrets sealed, the Default workflow as its three node ids.
  doc           TEXT NOT NULL,
  -- The ids of the keys its sealed values name, as a JSON array: the re-seal moves apps
  -- under older keys to the primary; sealed_counts counts them.
  key_ids       TEXT NOT NULL,
  -- List pages (a range of a workspace's positions), deletes, the re-seal's walk. A
  -- batch's new apps are appended at the end of its workspace's range.
  PRIMARY KEY (workspace_id, position)
) WITHOUT ROWID;

-- In key order, so the new table's pages are filled in order.
INSERT INTO apps_keyed (workspace_id, position, client_id, version, doc, key_ids)
  SELECT workspace_id, position, client_id, version, doc, key_ids FROM apps
  ORDER BY workspace_id, position;

DROP TABLE apps;
ALTER TABLE apps_keyed RENAME TO apps;

-- Reads, updates and the uniqueness of client ids; an entry holds the client id and the
-- app's key (workspace, position).
CREATE UNIQUE INDEX apps_by_client_id ON apps (client_id);

CREATE TRIGGER apps_update_moves_generation AFTER UPDATE ON apps
BEGIN
  UPDATE workspaces SET generation = generation + 1 WHERE id = NEW.workspace_id;
END;

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

-- The re-seal walks apps by their key now (there is no rowid): its cursor is the last
-- (workspace, position) it read, `after_workspace` and `after` (NULL: from the
-- beginning). The walk of apps starts again from the beginning, which only reads again
-- what it had read. Idempotency records are walked by rowid as before (`after`).
ALTER TABLE reseal_cursors ADD COLUMN after_workspace TEXT;
DELETE FROM reseal_cursors WHERE kind = 'apps';

-- The Fenwick tree of deleted positions is kept up to each workspace's cap from now on:
-- the smallest power of two at least its next_position and at least 128. A delete adds
-- one to the nodes above its position up to the cap (core/src/server/sql.rs,
-- APP_DELETIONS_ADD): at most log2(cap) + 1 of them, rather than all those up to 2^32.
-- Every node a list page reads is below the workspace's next_position, so under the cap.
--
-- When a workspace's cap doubles (a batch takes its next_position past it), the new top
-- node, whose range [0, cap) holds every position, takes the count of every deletion:
-- that of the old top, the one node whose range held every position before the batch.
-- Nodes between the two tops hold only new positions: none was deleted, none is
-- written. A batch adds at most 100 positions and a cap is at least 128, so a batch
-- crosses at most one power of two: one row written more, once in a doubling. This is a
-- trigger so that every insert keeps it, whichever build of the Worker runs it; it
-- overwrites what is there (a node above the cap may hold a count that a Worker from
-- before this migration wrote, never read since).
--
-- With x and y the old and new next_position less one (at least 127): the cap is the
-- power of two above x's highest bit, and it doubles when y's highest bit is above x's,
-- that is when the bits in which they differ outnumber (as a number) those they share.
-- The old top is the one power of two in (x, 2x + 1]; the new nodes the powers above it
-- up to 2y.
CREATE TRIGGER workspaces_cap_of_deletions AFTER UPDATE OF next_position ON workspaces
WHEN ((max(OLD.next_position, 128) - 1) | (max(NEW.next_position, 128) - 1))
       - ((max(OLD.next_position, 128) - 1) & (max(NEW.next_position, 128) - 1))
     > ((max(OLD.next_position, 128) - 1) & (max(NEW.next_position, 128) - 1))
BEGIN
  INSERT INTO app_deletions (workspace_id, node, dead)
    SELECT NEW.id, p.value, top.dead
    FROM app_deletions AS top,
      json_each('[256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144,
                  524288, 1048576, 2097152, 4194304, 8388608, 16777216, 33554432, 67108864,
                  134217728, 268435456, 536870912, 1073741824, 2147483648, 4294967296]') AS p
    WHERE top.workspace_id = NEW.id
      AND top.node > max(OLD.next_position, 128) - 1
      AND top.node <= 2 * (max(OLD.next_position, 128) - 1) + 1
      AND (top.node & (top.node - 1)) = 0
      AND p.value > top.node AND p.value <= 2 * (max(NEW.next_position, 128) - 1)
    ON CONFLICT (workspace_id, node) DO UPDATE SET dead = excluded.dead;
END;

-- Nodes above the cap, which every delete wrote until now, are never read: removed. (A
-- delete's nodes up to the cap lead to the cap; above it they are all powers of two, and
-- a power of two is above the cap when it is at least twice max(next_position, 128).)
DELETE FROM app_deletions
  WHERE node >= 2 * (SELECT max(next_position, 128) FROM workspaces
                     WHERE workspaces.id = app_deletions.workspace_id);
