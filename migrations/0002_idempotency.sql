-- Idempotency-Key claims: the source of truth for "created exactly once".
--
-- A claim is inserted in the same D1 batch (one transaction) as the writes of the request
-- it answers, together with that request's response, sealed (it holds secrets). The
-- primary key makes exactly one of any number of concurrent requests win; the others
-- fail on it, roll back everything, and replay the winner's response.
CREATE TABLE idempotency_keys (
  workspace_id  TEXT NOT NULL,
  key_hash      TEXT NOT NULL,               -- SHA-256 hex of the Idempotency-Key
  fingerprint   TEXT NOT NULL,               -- SHA-256 hex of method, path, canonical body
  response      TEXT NOT NULL,               -- KeptResponse JSON: body, its secrets sealed
  created_at    INTEGER NOT NULL,            -- ms since the epoch
  expires_at    INTEGER NOT NULL,            -- ms since the epoch; 24 h after created_at
  PRIMARY KEY (workspace_id, key_hash)
);

-- The hourly purge: DELETE ... WHERE expires_at <= ?
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
