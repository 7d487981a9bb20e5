//! Every SQL statement of the Worker, by table. The schema is in `migrations/`; each
//! statement's comment names the index it uses, and `sqlite/tests/query_plans.rs` holds
//! that to SQLite's own `EXPLAIN QUERY PLAN` on a migrated database; a statement added
//! here without a plan there fails that test.
//!
//! Parameters are numbered (`?1`); the functions of [`super::tables`] bind them.

//! Deleted positions are counted in a Fenwick tree over positions 0 to 2^32 - 1 (see
//! `app_deletions` in `migrations/0001_baseline.sql`), kept up to each workspace's cap: the
//! smallest power of two at least its `next_position` and at least 128 (see
//! `migrations/0004_apps_keyed_by_position.sql`, whose trigger extends it as the
//! workspace grows).

/// An SQL expression for the smallest power of two greater than `$x`, for `$x` from 0 to
/// 2^32 - 1: `$x` with every bit below its highest one set, plus one (SQLite has no
/// logarithm everywhere D1 runs; this is arithmetic on the row, no read). `$x` appears 32
/// times, so it should be a column or a short expression.
#[rustfmt::skip]
macro_rules! power_of_two_above {
    ($x:literal) => {
        concat!(
            "((", $x, ") | ((", $x, ") >> 1) | ((", $x, ") >> 2) | ((", $x, ") >> 3) | ((",
            $x, ") >> 4) | ((", $x, ") >> 5) | ((", $x, ") >> 6) | ((", $x, ") >> 7) | ((",
            $x, ") >> 8) | ((", $x, ") >> 9) | ((", $x, ") >> 10) | ((", $x, ") >> 11) | ((",
            $x, ") >> 12) | ((", $x, ") >> 13) | ((", $x, ") >> 14) | ((", $x, ") >> 15) | ((",
            $x, ") >> 16) | ((", $x, ") >> 17) | ((", $x, ") >> 18) | ((", $x, ") >> 19) | ((",
            $x, ") >> 20) | ((", $x, ") >> 21) | ((", $x, ") >> 22) | ((", $x, ") >> 23) | ((",
            $x, ") >> 24) | ((", $x, ") >> 25) | ((", $x, ") >> 26) | ((", $x, ") >> 27) | ((",
            $x, ") >> 28) | ((", $x, ") >> 29) | ((", $x, ") >> 30) | ((", $x, ") >> 31)) + 1"
        )
    };
}

/// New apps of workspace ?2 from the JSON array ?1 of their documents, at the workspace's
/// next positions in array order (`json_each`'s key is the array index); ?3 the ids of the
/// keys their sealed values name (the same for all: they were sealed together, under the
/// primary). `WORKSPACE_ADD_APPS` runs after it in the same transaction, so both read the
/// same `next_position`.
pub const APPS_INSERT: &str = "INSERT INTO apps (workspace_id, position, client_id, doc, key_ids) \
     SELECT ?2, w.next_position + j.key, j.value ->> '$.clientId', j.value, ?3 \
     FROM json_each(?1) AS j, workspaces AS w WHERE w.id = ?2";

/// ?2 more apps sealed under the keys of the JSON array ?1: beside every `APPS_INSERT` (the
/// primary key of `sealed_counts`). Updates and deletes are counted by the schema's
/// triggers.
pub const SEALED_COUNTS_ADD_APPS: &str = "INSERT INTO sealed_counts (kind, key_id, sealed) \
     SELECT 'apps', value, ?2 FROM json_each(?1) WHERE true \
     ON CONFLICT (kind, key_id) DO UPDATE SET sealed = sealed + excluded.sealed";

/// App ?1 of workspace ?2: its position, version and document (`apps_by_client_id`, whose
/// entry holds the table's key: one row read).
pub const APP_GET: &str =
    "SELECT position, version, doc FROM apps WHERE client_id = ?1 AND workspace_id = ?2";

/// Writes document ?3, sealed under the keys ?5 names, over app ?1 of workspace ?2 if it is
/// still at version ?4 (`apps_by_client_id`); followed by `GUARD`. The row is written
/// again, no index entry: none holds what changes.
pub const APP_UPDATE: &str = "UPDATE apps SET doc = ?3, key_ids = ?5, version = version + 1 \
     WHERE client_id = ?1 AND workspace_id = ?2 AND version = ?4";

/// Deletes the app at position ?2 of workspace ?1 if it is still at version ?3 (the
/// primary key); followed by `GUARD` and the counts.
pub const APP_DELETE: &str =
    "DELETE FROM apps WHERE workspace_id = ?1 AND position = ?2 AND version = ?3";

/// Counts position ?2 of workspace ?1 as deleted: one more in each Fenwick node above it
/// (`node + (node & -node)` is the next) up to the workspace's cap, by primary key: at
/// most log2(cap) + 1 nodes, among them every node a list page reads (`LIST_PAGE`). The
/// nodes lead to the cap, and those past it are powers of two; a power of two is past the
/// cap when it is at least twice `max(next_position, 128)`.
pub const APP_DELETIONS_ADD: &str = "WITH RECURSIVE up(node, past) AS ( \
       SELECT ?2 + 1, 2 * max(next_position, 128) FROM workspaces WHERE id = ?1 \
       UNION ALL \
       SELECT node + (node & -node), past FROM up WHERE node + (node & -node) < past) \
     INSERT INTO app_deletions (workspace_id, node, dead) SELECT ?1, node, 1 FROM up WHERE true \
     ON CONFLICT (workspace_id, node) DO UPDATE SET dead = dead + 1";

/// Fails the transaction when the statement before it changed no row (see
/// `write_guards` in the schema).
pub const GUARD: &str = "INSERT INTO write_guards (ok) SELECT 0 WHERE changes() = 0";

/// Fails the transaction when the statement before it changed other than ?1 rows.
pub const GUARD_CHANGED: &str = "INSERT INTO write_guards (ok) SELECT 0 WHERE changes() <> ?1";

/// A list page of workspace ?1: ?2 apps from the ?3-th (from 0) in creation order, as one
/// JSON array text; with the workspace's generation and app count. When the generation is
/// ?4 (the caller holds the page already) the page is not read at all (SQLite evaluates
/// only the CASE branch it takes). No row when the workspace does not exist.
///
/// Where the page starts (`descent`, whose row with `k` = 0 holds it in `pos`): while no
/// app of the workspace was ever deleted, the ?3-th app is at position ?3, and past the
/// last app (?3 at least the count) there is no page to read; the descent is that one
/// row. Otherwise it walks the Fenwick tree of deletions from the smallest power of two
/// at least `next_position` (`n`) down, a row a level: at each level it moves past the
/// node's range (of `k` positions from `pos`) if the live apps in it, the range's
/// positions below `n` less the node's deletions, are no more than the ?3-th app still to
/// skip (`t`). It ends at the position of the ?3-th live app. A range that reaches `n`
/// holds every app left from `pos` on, more than `t` (?3 is below the count), so the
/// descent never moves past it and its node is not read (the probe's key is NULL, which
/// SQLite does not look up): of the log2(n) + 2 rows, only those inside the workspace's
/// positions probe a node, by primary key. The page then reads ?2 apps from there, a
/// range of the primary key. What a page reads does not grow with the offset, and the
/// descent grows with the logarithm of the workspace's positions.
///
/// The descent is the statement's outer query, its rows read once each as they come (in
/// a subquery SQLite would store them and read them again), and carries the workspace's
/// count and generation, read once. The page's documents are joined in the order the
/// subquery gives them (`ORDER BY` with `LIMIT`, which SQLite keeps, reading the key's
/// range in order): an `ORDER BY` inside `group_concat` would sort them again, and D1
/// counts every row of a sort as a row read.
pub const LIST_PAGE: &str = concat!(
    "WITH RECURSIVE \
     descent(pos, k, t, n, total, generation) AS ( \
       SELECT iif(generation = ?4 OR ?3 >= apps_count OR apps_count = next_position, ?3, 0), \
              iif(generation = ?4 OR ?3 >= apps_count OR apps_count = next_position, 0, ",
    power_of_two_above!("max(next_position, 1) - 1"),
    "), \
              ?3, next_position, apps_count, generation \
       FROM workspaces WHERE id = ?1 \
       UNION ALL \
       SELECT d.pos + iif(max(0, min(d.pos + d.k, d.n) - d.pos) - coalesce(f.dead, 0) <= d.t, d.k, 0), \
              d.k / 2, \
              d.t - iif(max(0, min(d.pos + d.k, d.n) - d.pos) - coalesce(f.dead, 0) <= d.t, \
                        max(0, min(d.pos + d.k, d.n) - d.pos) - coalesce(f.dead, 0), 0), \
              d.n, d.total, d.generation \
       FROM descent AS d \
       LEFT JOIN app_deletions AS f \
         ON f.workspace_id = ?1 AND f.node = iif(d.pos + d.k < d.n, d.pos + d.k, NULL) \
       WHERE d.k >= 1) \
     SELECT s.generation AS generation, s.total AS total, \
       CASE WHEN s.generation = ?4 THEN NULL WHEN ?3 >= s.total THEN '[]' ELSE ( \
         SELECT '[' || coalesce(group_concat(doc, ','), '') || ']' FROM ( \
           SELECT a.doc FROM apps AS a \
           WHERE a.workspace_id = ?1 AND a.position >= s.pos \
           ORDER BY a.position LIMIT ?2)) END AS page \
     FROM descent AS s WHERE s.k = 0"
);

/// ?2 more apps in workspace ?1: the last of the insert's statements.
pub const WORKSPACE_ADD_APPS: &str = "UPDATE workspaces SET next_position = next_position + ?2, \
     apps_count = apps_count + ?2, generation = generation + 1 WHERE id = ?1";

/// One app less in workspace ?1.
pub const WORKSPACE_REMOVE_ONE: &str =
    "UPDATE workspaces SET apps_count = apps_count - 1, generation = generation + 1 WHERE id = ?1";

/// Forgets workspace ?1 if it has no app: one an operators' request wrote to its shard
/// but never entered in the directory, because a retry of the request won (primary key).
pub const WORKSPACE_DELETE_UNLISTED: &str =
    "DELETE FROM workspaces WHERE id = ?1 AND apps_count = 0 AND next_position = 0";

/// Workspace ?1's creation time and app count.
pub const WORKSPACE_GET: &str = "SELECT created_at, apps_count FROM workspaces WHERE id = ?1";

/// A new workspace ?1 created at ?2.
pub const WORKSPACE_INSERT: &str = "INSERT INTO workspaces (id, created_at) VALUES (?1, ?2)";

/// A row if the key with hash ?1 is live: the confirmation of a key an isolate had cached,
/// read in one batch with the request's first read (the `key_hash` index).
pub const API_KEY_LIVE: &str =
    "SELECT 1 AS live FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL";

/// Fails the transaction it starts if the key with hash ?1 is not live: the confirmation
/// of a key an isolate had cached, in the request's write (see `write_guards`).
pub const API_KEY_GUARD: &str = "INSERT INTO write_guards (ok) SELECT 2 \
     WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL)";

/// Key ?1 of workspace ?2, with hash ?3 and last four characters ?5, created at ?4.
pub const API_KEY_INSERT: &str =
    "INSERT INTO api_keys (id, workspace_id, key_hash, created_at, last4) \
     VALUES (?1, ?2, ?3, ?4, ?5)";

/// Revokes key ?1 at ?2, keeping the first revocation time (primary key); its workspace.
pub const API_KEY_REVOKE: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) \
     WHERE id = ?1 RETURNING revoked_at, workspace_id";

/// Key ?1's workspace and revocation time, if it is in the shard (primary key).
pub const API_KEY_STATE: &str = "SELECT workspace_id, revoked_at FROM api_keys WHERE id = ?1";

/// Revokes key ?1 at ?2 if it is still live (primary key); followed by `GUARD`, so a key
/// revoked by another request in between moves the state.
pub const API_KEY_REVOKE_LIVE: &str =
    "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";

/// ?2 keys of workspace ?1 from the ?3-th, oldest first: never the hash (the
/// `api_keys_by_workspace_created` index, which holds every column but `last4` and
/// `revoked_at`). A workspace has few keys, so the offset costs little.
pub const API_KEYS_PAGE: &str = "SELECT id, created_at, revoked_at, last4 FROM api_keys \
     WHERE workspace_id = ?1 ORDER BY created_at, id LIMIT ?2 OFFSET ?3";

/// How many keys workspace ?1 has, revoked ones included (the same index).
pub const API_KEYS_COUNT: &str = "SELECT count(*) AS total FROM api_keys WHERE workspace_id = ?1";

/// Frees key ?2 of scope ?1 if its claim expired at ?3 (the primary key).
pub const CLAIM_RELEASE_EXPIRED: &str =
    "DELETE FROM idempotency_keys WHERE scope = ?1 AND key_hash = ?2 AND expires_at <= ?3";

/// Claims key ?2 of scope ?1 with fingerprint ?3 and the answer ?4, sealed under key ?7.
pub const CLAIM_INSERT: &str = "INSERT INTO idempotency_keys \
     (scope, key_hash, fingerprint, response, created_at, expires_at, key_id) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// The claim on key ?2 of scope ?1 (the primary key).
pub const CLAIM_GET: &str = "SELECT fingerprint, response, expires_at FROM idempotency_keys \
     WHERE scope = ?1 AND key_hash = ?2";

/// Removes at most ?2 of the claims expired at ?1, the longest expired first, a row for
/// each it removed: one chunk of the hourly purge (connect_core::server::purge). The
/// `expires_at` index finds them, each is deleted by its row id.
pub const CLAIMS_PURGE_EXPIRED: &str = "DELETE FROM idempotency_keys WHERE rowid IN ( \
     SELECT rowid FROM idempotency_keys WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2) \
     RETURNING 1 AS removed";

/// How many apps and idempotency records each key seals: the whole table, one row per
/// kind and key (a handful).
pub const SEALED_COUNTS_ALL: &str = "SELECT kind, key_id, sealed FROM sealed_counts";

/// The re-seal's next window of apps: ?1 rows after its cursor (a workspace and a
/// position; none: from the beginning) in the order of the primary key, each with its key
/// and version, and its document unless it is sealed under the key ids ?2 alone (the
/// primary).
pub const RESEAL_APPS_WINDOW: &str = "SELECT workspace_id, position, version, \
     iif(key_ids = ?2, NULL, doc) AS doc FROM apps \
     WHERE (workspace_id, position) > ( \
       SELECT coalesce(max(after_workspace), ''), coalesce(max(after), 0) FROM reseal_cursors \
       WHERE kind = 'apps') \
     ORDER BY workspace_id, position LIMIT ?1";

/// The re-seal's next window of idempotency records: ?1 rows from its cursor on (the
/// rowid), each with what it was sealed for, and its answer unless sealed under key ?2.
pub const RESEAL_RECORDS_WINDOW: &str = "SELECT rowid AS row_id, scope, key_hash, created_at, \
     iif(key_id = ?2, NULL, response) AS response FROM idempotency_keys \
     WHERE rowid > (SELECT coalesce(max(after), 0) FROM reseal_cursors \
                    WHERE kind = 'idempotency_records') \
     ORDER BY rowid LIMIT ?1";

/// Writes the apps of the JSON array ?1 (`workspace_id`, `position`, `version`, `doc`,
/// `key_ids`), each only if still at the version read (by primary key); followed by
/// `GUARD_CHANGED`.
pub const RESEAL_APPS_WRITE: &str = "UPDATE apps SET doc = j.value ->> '$.doc', \
     key_ids = j.value ->> '$.key_ids', version = version + 1 \
     FROM json_each(?1) AS j \
     WHERE apps.workspace_id = j.value ->> '$.workspace_id' \
       AND apps.position = j.value ->> '$.position' \
       AND apps.version = j.value ->> '$.version'";

/// Writes the answers of the JSON array ?1 (`row_id`, `key_hash`, `created_at`,
/// `response`, `key_id`), each only if the row still holds the claim read (by rowid);
/// followed by `GUARD_CHANGED`.
pub const RESEAL_RECORDS_WRITE: &str = "UPDATE idempotency_keys \
     SET response = j.value ->> '$.response', key_id = j.value ->> '$.key_id' \
     FROM json_each(?1) AS j \
     WHERE idempotency_keys.rowid = j.value ->> '$.row_id' \
       AND idempotency_keys.key_hash = j.value ->> '$.key_hash' \
       AND idempotency_keys.created_at = j.value ->> '$.created_at'";

/// The re-seal of kind ?1 goes on after ?2: for idempotency records a rowid (0: from the
/// beginning) and ?3 NULL; for apps a position in workspace ?3 (NULL: from the
/// beginning).
pub const RESEAL_CURSOR_SET: &str = "INSERT INTO reseal_cursors (kind, after, after_workspace) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (kind) DO UPDATE SET after = excluded.after, \
       after_workspace = excluded.after_workspace";

/// Forgets API key ?1, written to its shard but never entered in the directory (see
/// `WORKSPACE_DELETE_UNLISTED`; primary key).
pub const API_KEY_DELETE_UNLISTED: &str = "DELETE FROM api_keys WHERE id = ?1";

/// Whether migration ?1 (a file name) was applied to the shard, in the table `wrangler d1
/// migrations apply` keeps (its unique index on `name`): one entry read at most. D1
/// reports the database's size after every statement (`size_after`), so this also sizes
/// the shard for a new workspace. Fails if no migration was ever applied (no table).
pub const SHARD_MIGRATED: &str = "SELECT count(*) AS applied FROM d1_migrations WHERE name = ?1";

/// The migrations applied to the shard, by file name: the whole table, a row a migration
/// (a handful), for the operators' health check.
pub const SHARD_MIGRATIONS: &str = "SELECT name FROM d1_migrations";

/// The apps of the shard's workspaces: a read of every workspace row (there is no index
/// that would spare it), for the operators' report only.
pub const SHARD_APPS: &str = "SELECT total(apps_count) AS apps FROM workspaces";

// The directory, in the first shard (`migrations/0002_shards.sql`).

/// The workspace and shard of the API key with hash ?1 (primary key).
pub const DIRECTORY_KEY: &str =
    "SELECT workspace_id, shard FROM directory_api_keys WHERE key_hash = ?1";

/// The id and shard of the API key with hash ?1 (primary key): a key revoked by its text.
pub const DIRECTORY_KEY_ID: &str =
    "SELECT key_id, shard FROM directory_api_keys WHERE key_hash = ?1";

/// The shard of the API key with id ?1 (the `key_id` unique index).
pub const DIRECTORY_KEY_SHARD: &str = "SELECT shard FROM directory_api_keys WHERE key_id = ?1";

/// The shard of workspace ?1 (primary key).
pub const DIRECTORY_WORKSPACE_SHARD: &str =
    "SELECT shard FROM directory_workspaces WHERE workspace_id = ?1";

/// Workspace ?1 lives in shard ?2, created at ?3; the trigger counts it in
/// `directory_shards` (primary keys).
pub const DIRECTORY_WORKSPACE_INSERT: &str =
    "INSERT INTO directory_workspaces (workspace_id, shard, created_at) VALUES (?1, ?2, ?3)";

/// The API key with hash ?1 and id ?2 opens workspace ?3 in shard ?4 (primary key, unique
/// `key_id`).
pub const DIRECTORY_KEY_INSERT: &str = "INSERT INTO directory_api_keys \
     (key_hash, key_id, workspace_id, shard) VALUES (?1, ?2, ?3, ?4)";

/// The workspaces the directory places in each shard: a row a shard.
pub const DIRECTORY_SHARDS_ALL: &str = "SELECT shard, workspaces FROM directory_shards";
