#!/usr/bin/env bash
# Measures what the Worker stores in local D1 per app, per idempotency record and per
# workspace, through the HTTP API only, and derives how many apps fit in one 10 GB D1
# database. Used for docs/scaling.md ("Storage measured").
#
# It builds the Worker, serves it with `wrangler dev` on a free port with its own state
# directory (a mktemp directory, removed at the end), applies the migrations to every
# database_name of the top-level [[d1_databases]] sections of wrangler.toml, then:
#
#   baseline  one workspace (its API key makes the apps below)
#   step A    FOOTPRINT_APPS apps in batches of 100 without Idempotency-Key (apps only)
#   step B    FOOTPRINT_SINGLES single POST /connect/v1/apps, each with an Idempotency-Key
#             (one app and one idempotency record holding a 1-app answer each)
#   step C    FOOTPRINT_KEYED_BATCHES batches of 100 with an Idempotency-Key (100 apps and
#             one record holding a 100-app answer each)
#   step D    FOOTPRINT_WORKSPACES more workspaces with no apps (each with its one API key)
#
# After the baseline and after each step it stops wrangler dev (so no database is being
# written) and adds up the sizes of all the local D1 SQLite files
# (<state>/v3/d1/**/*.sqlite) as page_count * page_size (sqlite3, else python3's sqlite3
# module, both of which read a WAL left behind; else the file sizes, -wal files added). Each step's difference divided by its count gives the
# per-item figure. KV (the edge copy of idempotency answers) is not counted.
#
# Sizes (environment): FOOTPRINT_APPS (default 5000, a multiple of 100), FOOTPRINT_SINGLES
# (300), FOOTPRINT_KEYED_BATCHES (20), FOOTPRINT_WORKSPACES (200). FOOTPRINT_TMP: where the
# state directory goes (default /dev/shm if writable, else /tmp). The defaults take about
# 70 s on a 2-core machine once the Worker is built.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

APPS=${FOOTPRINT_APPS:-5000}
SINGLES=${FOOTPRINT_SINGLES:-300}
KEYED=${FOOTPRINT_KEYED_BATCHES:-20}
WORKSPACES=${FOOTPRINT_WORKSPACES:-200}
DB_LIMIT=10000000000 # D1's maximum database size (Workers Paid), in bytes
for n in "$APPS" "$SINGLES" "$KEYED" "$WORKSPACES"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "the FOOTPRINT_* sizes must be positive integers"
done
[ $((APPS % 100)) -eq 0 ] || die "FOOTPRINT_APPS must be a multiple of 100"

bash scripts/setup.sh
bash scripts/build-worker.sh

if [ -z "${FOOTPRINT_TMP:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then FOOTPRINT_TMP=/dev/shm; else FOOTPRINT_TMP=/tmp; fi
fi
WORK=$(mktemp -d "$FOOTPRINT_TMP/connect-footprint.XXXXXX")
STATE="$WORK/state"
PGID=""
stop_server() {
  [ -n "$PGID" ] || return 0
  kill -- "-$PGID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 -- "-$PGID" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 -- "-$PGID" 2>/dev/null || true
  PGID=""
}
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -f "$WORK/wrangler.log" ]; then
    echo "--- last lines of the wrangler dev log" >&2
    tail -n 30 "$WORK/wrangler.log" >&2
  fi
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

# A copy of wrangler.toml that serves the Worker built above and lifts the per-key rate
# limit (100 requests per 10 s), as scripts/bench.sh does: the steps below send several
# hundred requests with one key. The limiter binding is still called on every request.
mkdir -p "$WORK/config"
CONFIG="$WORK/config/wrangler.toml"
prebuilt_config -e 's#simple = { limit = 100, period = 10 }#simple = { limit = 10000000, period = 10 }#' >"$CONFIG"

mapfile -t DATABASES < <(project_databases "$CONFIG")
[ "${#DATABASES[@]}" -gt 0 ] || die "no [[d1_databases]] section with a database_name in wrangler.toml"
say "applying migrations to the local D1 databases: ${DATABASES[*]}"
for db in "${DATABASES[@]}"; do
  if ! out=$(CI=true "$WRANGLER" d1 migrations apply "$db" --local -c "$CONFIG" --persist-to "$STATE" </dev/null 2>&1); then
    printf '%s\n' "$out" >&2
    die "migrations of $db failed"
  fi
done

ADMIN=$(random_base62 40)
SECRETS="footprint:$(random_hex 32)"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
start_server() {
  setsid "$WRANGLER" dev -c "$CONFIG" --ip 127.0.0.1 --port "$PORT" --inspector-port "$(free_port)" \
    --persist-to "$STATE" --var "ADMIN_TOKEN:$ADMIN" --var "SECRETS_KEYS:$SECRETS" \
    </dev/null >>"$WORK/wrangler.log" 2>&1 &
  PGID=$!
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "$BASE/" && return 0
    kill -0 "$PGID" 2>/dev/null || die "wrangler dev exited"
    sleep 0.5
  done
  die "wrangler dev did not answer on $BASE"
}

# How the bytes are counted: page_count * page_size of each file, by the first tool found.
if command -v sqlite3 >/dev/null; then
  METHOD="page_count * page_size (sqlite3)"
elif python3 -c 'import sqlite3' 2>/dev/null; then
  METHOD="page_count * page_size (python3 sqlite3)"
else
  METHOD="file sizes (.sqlite plus any -wal; no sqlite3 found)"
fi
# db_bytes: the total over every local D1 file, on stdout; each file's bytes and tables in
# $WORK/files.
db_bytes() {
  local f bytes total=0 n=0
  : >"$WORK/files"
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$METHOD" in
      *"(sqlite3)")
        bytes=$(( $(sqlite3 "$f" 'PRAGMA page_count;') * $(sqlite3 "$f" 'PRAGMA page_size;') )) ;;
      *"(python3 sqlite3)")
        bytes=$(python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("PRAGMA page_count").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0])
c.close()' "$f") ;;
      *)
        bytes=$(stat -c %s "$f")
        if [ -f "$f-wal" ]; then bytes=$((bytes + $(stat -c %s "$f-wal"))); fi ;;
    esac
    total=$((total + bytes))
    printf '  %12s  %s\n' "$bytes" "${f#"$STATE"/}" >>"$WORK/files"
  done < <(find "$STATE/v3/d1" -name '*.sqlite' -type f -print0 | sort -z)
  [ "$n" -gt 0 ] || die "no *.sqlite file under $STATE/v3/d1"
  echo "$total"
}
FILES=0
# measure VAR: stops wrangler dev, sets VAR to the bytes, starts it again (not in a
# subshell: the server's process group is kept in PGID).
measure() {
  stop_server
  FILES=$(find "$STATE/v3/d1" -name '*.sqlite' -type f | wc -l)
  printf -v "$1" '%s' "$(db_bytes)"
  start_server
}

# post EXPECTED CURL_ARGS...: one request, which must answer EXPECTED; prints the body.
post() {
  local want=$1 code; shift
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST "$@")
  [ "$code" = "$want" ] || die "POST $* answered $code, not $want: $(head -c 500 "$WORK/body")"
  cat "$WORK/body"
}
new_workspace_key() {
  post 201 "$BASE/admin/v1/workspaces" -H "Authorization: Bearer $ADMIN" |
    python3 -c 'import sys, json; print(json.load(sys.stdin)["apiKey"]["key"])'
}
# batch_body FILE FIRST: a batch of 100 apps numbered from FIRST, each with a name and one
# redirect URI of typical length.
batch_body() {
  python3 - "$1" "$2" <<'PY'
import json, sys
first = int(sys.argv[2])
items = [{"name": f"Customer {i:06} Ltd",
          "redirectUris": [f"https://customer{i:06}.example.com/callback"],
          "idempotencyKey": f"c-{i}"} for i in range(first, first + 100)]
json.dump({"items": items}, open(sys.argv[1], "w"))
PY
}

start_server
say "baseline: one workspace"
KEY=$(new_workspace_key)
measure B0

say "step A: $APPS apps in batches of 100, no Idempotency-Key"
n=0
for _ in $(seq 1 $((APPS / 100))); do
  batch_body "$WORK/batch.json" "$n"
  post 201 "$BASE/connect/v1/apps/batch" -H "Authorization: Bearer $KEY" \
    -H "Content-Type: application/json" --data-binary "@$WORK/batch.json" >/dev/null
  n=$((n + 100))
done
measure B1

say "step B: $SINGLES single creates, each with an Idempotency-Key"
for i in $(seq 1 "$SINGLES"); do
  j=$((n + i))
  post 201 "$BASE/connect/v1/apps" -H "Authorization: Bearer $KEY" \
    -H "Content-Type: application/json" -H "Idempotency-Key: $(random_uuid)" \
    --data-binary "{\"name\":\"Customer $(printf %06d "$j") Ltd\",\"redirectUris\":[\"https://customer$(printf %06d "$j").example.com/callback\"]}" >/dev/null
done
n=$((n + SINGLES))
measure B2

say "step C: $KEYED batches of 100, each with an Idempotency-Key"
for _ in $(seq 1 "$KEYED"); do
  batch_body "$WORK/batch.json" "$n"
  post 201 "$BASE/connect/v1/apps/batch" -H "Authorization: Bearer $KEY" \
    -H "Content-Type: application/json" -H "Idempotency-Key: $(random_uuid)" \
    --data-binary "@$WORK/batch.json" >/dev/null
  n=$((n + 100))
done
measure B3

say "step D: $WORKSPACES workspaces without apps"
for _ in $(seq 1 "$WORKSPACES"); do new_workspace_key >/dev/null; done
measure B4

# A check that the steps made what they say: the apps of the workspace, through the API.
TOTAL=$(curl -s "$BASE/connect/v1/workspace" -H "Authorization: Bearer $KEY" |
  python3 -c 'import sys, json; print(json.load(sys.stdin)["apps_count"])')
stop_server

echo
echo "local D1 files at the end (bytes, path under the state directory):"
cat "$WORK/files"
python3 - "$METHOD" "$FILES" "${DATABASES[*]}" "$DB_LIMIT" "$TOTAL" \
  "$APPS" "$SINGLES" "$KEYED" "$WORKSPACES" "$B0" "$B1" "$B2" "$B3" "$B4" <<'PY'
import sys
method, files, dbs, limit, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
apps, singles, keyed, workspaces = (int(x) for x in sys.argv[6:10])
b0, b1, b2, b3, b4 = (int(x) for x in sys.argv[10:15])
app = (b1 - b0) / apps
single = (b2 - b1) / singles            # one app + one record of a 1-app answer
rec1 = single - app
batch = (b3 - b2) / keyed               # 100 apps + one record of a 100-app answer
rec100 = batch - 100 * app
ws = (b4 - b3) / workspaces
print()
print(f"local D1 databases: {dbs} ({files} SQLite file(s)); bytes counted as {method}")
print(f"bytes: baseline {b0:,}; after A {b1:,}; after B {b2:,}; after C {b3:,}; after D {b4:,}")
print(f"apps in the measured workspace at the end: {total} (expected {apps + singles + 100 * keyed:,})")
print()
print("| item | bytes each | from |")
print("|---|---|---|")
print(f"| app (name ~19 chars, 1 redirect URI, sealed client secret; row + indexes) | {app:,.0f} | step A: {b1 - b0:,} B / {apps:,} apps |")
print(f"| idempotency record of a 1-app answer | {rec1:,.0f} | step B: {b2 - b1:,} B / {singles:,} creates, less one app each |")
print(f"| idempotency record of a 100-app answer | {rec100:,.0f} | step C: {b3 - b2:,} B / {keyed:,} batches, less 100 apps each |")
print(f"| workspace with its one API key | {ws:,.0f} | step D: {b4 - b3:,} B / {workspaces:,} workspaces |")
print()
print(f"apps per 10 GB database ({limit:,} bytes):")
print(f"- apps only (idempotency records expire after 24 h and are purged): {limit / app:,.0f}")
print(f"- counting one 100-app record per 100 apps (every app made in a keyed batch within the last 24 h): {limit / (app + rec100 / 100):,.0f}")
print(f"- counting one 1-app record per app (every app made by a keyed single create within the last 24 h): {limit / (app + rec1):,.0f}")
print(f"- one workspace with its key costs as much as {ws / app:.1f} apps")
PY
