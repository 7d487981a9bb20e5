#!/usr/bin/env bash
# The first command of the README: from a fresh machine to the API served locally on
# http://127.0.0.1:8787 (wrangler dev, local D1 and KV under .wrangler/state). Installs what
# is missing, builds, migrates, makes sure a local workspace and API key exist, prints the key
# with ready-to-paste curl commands, and serves. DEV_PERSIST_DIR and DEV_PORT override the
# state directory and the port.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="${DEV_PORT:-8787}"
persist=()
[ -n "${DEV_PERSIST_DIR:-}" ] && persist=(--persist-to "$DEV_PERSIST_DIR")

bash scripts/setup.sh
bash scripts/build-worker.sh

say "applying D1 migrations to the local database"
CI=true "$WRANGLER" d1 migrations apply connect --local "${persist[@]}" </dev/null >/dev/null

d1() { CI=true "$WRANGLER" d1 execute connect --local "${persist[@]}" --json --command "$1" </dev/null; }

key=$(cat .dev-api-key 2>/dev/null || true)
known=0
if [ -n "$key" ]; then
  hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  d1 "SELECT 1 AS live FROM api_keys WHERE key_hash = '$hash' AND revoked_at IS NULL" | grep -q '"live"' && known=1
fi
if [ "$known" = 0 ]; then
  say "creating a local workspace and API key"
  workspace="org_$(random_base62 27)"
  key="sk_workspace_test_$(random_base62 32)"
  hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  d1 "INSERT INTO workspaces (id, created_at, apps_count) VALUES ('$workspace', '$now', 0);
      INSERT INTO api_keys (id, workspace_id, key_hash, created_at) VALUES ('key_$(random_base62 16)', '$workspace', '$hash', '$now');" >/dev/null
  (umask 077; echo "$key" > .dev-api-key)
fi

uuid=$(cat /proc/sys/kernel/random/uuid)
cat <<EOT

  Local API key (also in .dev-api-key):

    $key

  Try it:

    curl -X POST http://127.0.0.1:$PORT/connect/v1/apps/batch \\
      -H "Authorization: Bearer $key" \\
      -H "Content-Type: application/json" \\
      -H "Idempotency-Key: $uuid" \\
      -d '{"items":[{"name":"Acme Corp","redirectUris":["https://acme.example.com/callback"],"idempotencyKey":"customer-001"},{"name":"Gamma Inc","idempotencyKey":"customer-003"}],"continueOnError":true}'

    curl -H "Authorization: Bearer $key" "http://127.0.0.1:$PORT/connect/v1/apps?limit=20&offset=0"

  Operators' admin API: Authorization: Bearer <ADMIN_TOKEN from .dev.vars>

EOT
exec "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" "${persist[@]}"
