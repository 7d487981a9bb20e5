#!/usr/bin/env bash
# The first command of the README: from a fresh machine to the API served locally on
# http://127.0.0.1:8787 (wrangler dev, local D1 and KV under .wrangler/state). Installs what
# is missing, builds, migrates, makes sure a local workspace and API key exist (the key is
# kept in the git-ignored .dev-api-key), prints the key with ready-to-paste curl commands,
# and serves. DEV_PERSIST_DIR and DEV_PORT override the state directory and the port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="${DEV_PORT:-8787}"
BASE="http://127.0.0.1:$PORT"
persist=()
if [ -n "${DEV_PERSIST_DIR:-}" ]; then
  persist=(--persist-to "$DEV_PERSIST_DIR")
fi

bash scripts/setup.sh
bash scripts/build-worker.sh

# Runs wrangler without a prompt (CI=true, no stdin: it would ask before applying migrations
# on a terminal), its chatter kept back unless it fails.
wrangler_quiet() {
  local out
  if ! out=$(CI=true "$WRANGLER" "$@" </dev/null 2>&1); then
    printf '%s\n' "$out" >&2
    die "wrangler $1 $2 failed"
  fi
  printf '%s\n' "$out"
}
d1() { wrangler_quiet d1 execute connect --local "${persist[@]}" --json --command "$1"; }

say "applying D1 migrations to the local database"
# A local database made before the schema became one baseline (its first migration was
# 0001_init.sql) cannot take it: say so rather than fail inside wrangler.
if d1 "SELECT name FROM d1_migrations" 2>/dev/null | grep -q '0001_init.sql'; then
  die "the local database predates migrations/0001_baseline.sql: remove .wrangler/state and run again"
fi
for database in $(project_databases); do
  wrangler_quiet d1 migrations apply "$database" --local "${persist[@]}" >/dev/null
done

key=$(head -n1 .dev-api-key 2>/dev/null || true)
known=0
if [ -n "$key" ]; then
  hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  rows=$(d1 "SELECT id AS live_key FROM api_keys WHERE key_hash = '$hash' AND revoked_at IS NULL")
  if grep -q '"live_key"' <<<"$rows"; then
    known=1
  fi
fi
if [ "$known" = 0 ]; then
  say "creating a local workspace and API key"
  workspace="org_$(random_base62 27)"
  key_id="key_$(random_base62 16)"
  key="sk_workspace_test_$(random_base62 32)"
  hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  # In the first shard (SHARD_1, database connect), which also holds the directory.
  d1 "INSERT INTO workspaces (id, created_at, apps_count) VALUES ('$workspace', '$now', 0);
      INSERT INTO api_keys (id, workspace_id, key_hash, created_at, revoked_at, last4)
        VALUES ('$key_id', '$workspace', '$hash', '$now', NULL, '${key: -4}');
      INSERT INTO directory_workspaces (workspace_id, shard, created_at)
        VALUES ('$workspace', 'SHARD_1', '$now');
      INSERT INTO directory_api_keys (key_hash, key_id, workspace_id, shard)
        VALUES ('$hash', '$key_id', '$workspace', 'SHARD_1');" >/dev/null
  (umask 077 && printf '%s\n' "$key" >.dev-api-key)
fi

cat <<EOT

  Local API key (also in .dev-api-key):

    $key

  Create two apps in one batch:

    curl -X POST $BASE/connect/v1/apps/batch \\
      -H "Authorization: Bearer $key" \\
      -H "Content-Type: application/json" \\
      -H "Idempotency-Key: $(random_uuid)" \\
      -d '{"items":[{"name":"Acme Corp","redirectUris":["https://acme.example.com/callback"],"idempotencyKey":"customer-001"},{"name":"Gamma Inc","idempotencyKey":"customer-003"}],"continueOnError":true}'

  List them:

    curl -H "Authorization: Bearer $key" "$BASE/connect/v1/apps?limit=20&offset=0"

  Or with the CLI (cargo install --path client):

    export CONNECT_BASE_URL=$BASE CONNECT_API_KEY=\$(cat .dev-api-key)
    connect apps import customers.csv && connect apps list

  Operators' admin API: Authorization: Bearer <ADMIN_TOKEN from .dev.vars>

EOT
say "serving on $BASE (Ctrl-C to stop)"
exec "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" "${persist[@]}"
