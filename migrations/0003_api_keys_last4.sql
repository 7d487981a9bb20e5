-- The last four characters of each API key, kept beside its hash so that an operator can
-- tell a workspace's keys apart (GET /admin/v1/workspaces/{id}/api-keys): four of at least
-- 16 random base62 characters, which leave at least 71 bits unknown. A key issued before
-- this migration has none (NULL): only its hash was kept, and the key cannot be recovered.
ALTER TABLE api_keys ADD COLUMN last4 TEXT CHECK (last4 IS NULL OR length(last4) = 4);

-- A workspace's keys in creation order, for the operators' list (WHERE workspace_id = ?
-- ORDER BY created_at, id, worker/src/store/sql.rs API_KEYS_PAGE) and its count. It also
-- serves what api_keys_by_workspace served (the foreign key's lookup when an unlisted
-- workspace is removed), so that one goes.
CREATE INDEX api_keys_by_workspace_created ON api_keys (workspace_id, created_at, id);
DROP INDEX api_keys_by_workspace;
