#!/usr/bin/env bash
# Benchmark: this project's Worker against the plain TypeScript baseline
# (../shared/bench/peer-ts), side by side in one run on this machine, both on wrangler dev
# with local D1 and KV, loaded with the same requests by wrk. Prints requests per second,
# p50 and p99 per scenario and the project/peer ratios, the growth check (list at offset 0
# against offset 19,900 in a 20,000-app workspace), the D1 round trips per request, the
# core's criterion figures and the deployable size. Per scenario it also prints the CPU time
# each server's processes spent per request: the runtime (the workerd running the Worker
# and its local D1 and KV), wrangler's proxy (the workerd in front of it) and wrangler
# itself (node), read from /proc before and after the load.
#
# The project's lists are measured twice: as served (repeated pages come from the isolate's
# page cache after a one-row D1 check) and with PAGE_CACHE=off (every page read from D1, as
# a client walking pages once gets them); the growth check uses the latter.
#
# Both servers keep their local state on tmpfs (/dev/shm) when the machine has one: the
# figures measure the Workers and their local D1 and KV, not this machine's disk flushes.
#
# Lists are also measured as a client walks them (scripts/bench/walk.lua: distinct pages in
# turn, none from a cache). Last, the scale scenario (scripts/bench/scale.py): a workspace
# of BENCH_SCALE apps (default 1,000,000; 0 skips it) made through the API on each side,
# the p50 and the rows read (Server-Timing) of 40 pages at its start and 40 at its end,
# and the same on the project after deleting 10 % of the apps at random through the API.
#
# BENCH_BEFORE=<git revision>: the project's Worker as it was at that revision is built too
# (in a scratch worktree) and served beside the others, and the batch create, the list and
# the walk are measured on it right after the project's: the table then has a project /
# before column, for checking that a change costs no throughput.
#
# BENCH_INSPECTOR=off: every server is started without wrangler's inspector, through
# wrangler's programmatic API (scripts/bench/serve-without-inspector.mjs), instead of by
# `wrangler dev`, which always relays a report of each D1 and KV call, its response body
# included, through its proxy to node. The relay costs more CPU than the Workers' own work
# on a list page and favours the Worker making fewer binding calls; production has none
# (docs/performance.md). The figures the issues set are those of `wrangler dev` (on).
#
# BENCH_SECONDS (default 15) per scenario, BENCH_CONNECTIONS (default 8), BENCH_TMP (the
# directory for state, default /dev/shm if writable, else /tmp).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

SECONDS_PER=${BENCH_SECONDS:-15}
BEFORE=${BENCH_BEFORE:-}
SCALE=${BENCH_SCALE:-1000000}
CONNS=${BENCH_CONNECTIONS:-8}
INSPECTOR=${BENCH_INSPECTOR:-on}
PEER_SRC="$ROOT/../shared/bench/peer-ts"

bash scripts/setup.sh
bash scripts/build-worker.sh
command -v wrk >/dev/null || { say "installing wrk"; apt-get install -y -qq wrk >/dev/null; }

if [ -z "${BENCH_TMP:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then BENCH_TMP=/dev/shm; else BENCH_TMP=/tmp; fi
fi
WORK=$(mktemp -d "$BENCH_TMP/connect-bench.XXXXXX")
# Process group and `wrangler dev` arguments of each server, by name.
declare -A PGID SERVE_ARGS
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/project.log "$WORK"/peer.log; do
      [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 30 "$log"; }
    done
  fi
  for pid in "${PGID[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PGID[@]}"; do kill -9 -- "-$pid" 2>/dev/null || true; done
  [ -z "$BEFORE" ] || git -C "$ROOT" worktree remove --force "$WORK/before-src" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT


# How a server is started: `wrangler dev`, or with BENCH_INSPECTOR=off the same through
# wrangler's programmatic API without an inspector (scripts/bench/serve-without-inspector.mjs).
case "$INSPECTOR" in
  on) SERVE=("$WRANGLER" dev) ;;
  off) SERVE=(node "$ROOT/scripts/bench/serve-without-inspector.mjs") ;;
  *) die "BENCH_INSPECTOR is on or off, not $INSPECTOR" ;;
esac

# serve NAME CONFIG_DIR D1_NAMES PORT [--var ...]: migrations of each database (D1_NAMES
# is one word, names separated by commas), then the server (SERVE) in its own process group;
# waits until it answers.
serve() {
  local name=$1 dir=$2 d1=$3 port=$4 database; shift 4
  for database in ${d1//,/ }; do
    CI=true "$WRANGLER" d1 migrations apply "$database" --local -c "$dir/wrangler.toml" --persist-to "$WORK/$name-state" </dev/null >/dev/null
  done
  SERVE_ARGS[$name]="$dir $port $*"
  start "$name"
}
# start NAME: wrangler dev for a server that `serve` set up.
start() {
  local name=$1 dir port
  read -r dir port rest <<<"${SERVE_ARGS[$name]}"
  # shellcheck disable=SC2086 # rest is a list of --var NAME:VALUE words without spaces
  setsid "${SERVE[@]}" -c "$dir/wrangler.toml" --ip 127.0.0.1 --port "$port" \
    --persist-to "$WORK/$name-state" $rest </dev/null >>"$WORK/$name.log" 2>&1 &
  PGID[$name]=$!
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.5
  done
  echo "$name did not start:"; tail -30 "$WORK/$name.log"; exit 1
}
# restart NAME: a fresh server on the same state, so that every measurement starts alike.
# With `wrangler dev` it is also needed: wrangler's proxy keeps every inspector report while
# no DevTools is attached, D1 response bodies included, and under the walk it reached V8's
# heap limit (1.7 GB) and aborted after about 85 s; without the inspector the proxy stayed
# under 400 MB through 150 s (docs/performance.md).
restart() {
  local name=$1
  kill -- "-${PGID[$name]}" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- "-${PGID[$name]}" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- "-${PGID[$name]}" 2>/dev/null || true
  start "$name"
}

# The project, from a copy of wrangler.toml that skips the build (done above) and lifts the
# per-key rate limit: one benchmark key would exceed the production limit in a second. The
# limiter binding is still called on every request.
mkdir -p "$WORK/project"
prebuilt_config -e 's#simple = { limit = 100, period = 10 }#simple = { limit = 10000000, period = 10 }#' \
  >"$WORK/project/wrangler.toml"
cp -r "$PEER_SRC" "$WORK/peer"

ADMIN=$(random_base62 40)
P_PORT=$(free_port); Q_PORT=$(free_port)
say "starting both Workers"
serve project "$WORK/project" "$(project_databases | paste -sd, -)" "$P_PORT" --var "ADMIN_TOKEN:$ADMIN" --var "SECRETS_KEYS:bench:$(random_hex 32)"
serve peer "$WORK/peer" peer "$Q_PORT"
P="http://127.0.0.1:$P_PORT"; Q="http://127.0.0.1:$Q_PORT"

if [ -n "$BEFORE" ]; then
  say "building the project's Worker as of $BEFORE (a scratch worktree)"
  git -C "$ROOT" worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null 2>&1
  ln -s "$ROOT/node_modules" "$WORK/before-src/node_modules"
  # A target directory of its own, kept under target/ so that later runs reuse it. Not the
  # project's: its crates have the same names and paths of the same shape, and cargo then
  # took the old revision's connect-core as fresh for the next build of this one.
  (cd "$WORK/before-src" && CARGO_TARGET_DIR="$ROOT/target/bench-before" bash scripts/build-worker.sh >/dev/null)
  mkdir -p "$WORK/before"
  prebuilt_config_of "$WORK/before-src" \
    -e 's#simple = { limit = 100, period = 10 }#simple = { limit = 10000000, period = 10 }#' \
    >"$WORK/before/wrangler.toml"
  B_PORT=$(free_port)
  serve before "$WORK/before" "$(project_databases "$WORK/before/wrangler.toml" | paste -sd, -)" "$B_PORT" \
    --var "ADMIN_TOKEN:$ADMIN" --var "SECRETS_KEYS:bench:$(random_hex 32)"
  B="http://127.0.0.1:$B_PORT"
fi

# new_project_key [BASE]: a workspace and its key on the project (or on BASE).
new_project_key() {
  curl -s -X POST "${1:-$P}/admin/v1/workspaces" -H "Authorization: Bearer $ADMIN" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["apiKey"]["key"])'
}
# The peer has one seeded workspace; give it more, with keys, straight in its D1.
new_peer_key() {
  local key="sk_workspace_test_$(random_base62 24)" ws="org_$(random_base62 12)"
  local hash; hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
  CI=true "$WRANGLER" d1 execute peer --local -c "$WORK/peer/wrangler.toml" --persist-to "$WORK/peer-state" \
    --command "INSERT INTO api_keys VALUES ('$hash', '$ws')" </dev/null >/dev/null
  echo "$key"
}

python3 - "$WORK/batch.json" <<'PY'
import json, sys
items = [{"name": f"Customer {i:03} Ltd", "redirectUris": [f"https://customer{i}.example.com/callback"],
          "idempotencyKey": f"customer-{i:03}"} for i in range(100)]
json.dump({"items": items, "continueOnError": True}, open(sys.argv[1], "w"))
PY

# fill BASE KEY N: N apps through batches of 100.
fill() {
  local base=$1 key=$2 n=$3
  for _ in $(seq 1 $((n / 100))); do
    curl -s -o /dev/null -w '%{http_code}' -X POST "$base/connect/v1/apps/batch" -H "Authorization: Bearer $key" \
      -H "Content-Type: application/json" --data-binary "@$WORK/batch.json" | grep -q 201
  done
}

# cpu_ticks PGID: "runtime proxy wrangler", the CPU clock ticks (user + system) used so far by
# the processes of one server: the workerd that runs the Worker (its entry socket on a port
# of the system's choosing), the workerd in front of it (on the port served), and node.
cpu_ticks() {
  local runtime=0 proxy=0 wrangler=0 p cmd t
  for p in $(pgrep -g "$1"); do
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
    case "$cmd" in
      *workerd*--socket-addr=entry=127.0.0.1:0\ *) runtime=$((runtime + t)) ;;
      *workerd*) proxy=$((proxy + t)) ;;
      *node*) wrangler=$((wrangler + t)) ;;
    esac
  done
  echo "$runtime $proxy $wrangler"
}
TICKS_PER_SECOND=$(getconf CLK_TCK)

# measure LABEL BASE SCRIPT: runs wrk, appends "LABEL rps p50ms p99ms non2xx runtime proxy
# wrangler" (the last three in CPU ms per request) to results.
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms/,"",v) } else if (v ~ /s$/) { sub(/s/,"",v); v*=1000 }; printf "%.2f", v }'; }
measure() {
  local label=$1 base=$2 script=$3 name=${1%% *}
  restart "$name"
  # One request first: the new isolate compiles the Worker and the key cache fills.
  wrk -t1 -c1 -d1s -s "scripts/bench/$script" "$base" >/dev/null 2>&1 || true
  local before after out
  before=$(cpu_ticks "${PGID[$name]}")
  out=$(wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" --latency -s "scripts/bench/$script" "$base" 2>&1)
  after=$(cpu_ticks "${PGID[$name]}")
  local rps p50 p99 bad n cpu
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_ms)
  p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_ms)
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); bad=${bad:-0}
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  [ "${n:-0}" -gt 0 ] || die "$label: wrk made no requests: $out"
  cpu=$(awk -v b="$before" -v a="$after" -v n="$n" -v hz="$TICKS_PER_SECOND" 'BEGIN {
    split(b, x, " "); split(a, y, " ");
    for (i = 1; i <= 3; i++) printf "%.2f ", (y[i] - x[i]) * 1000 / hz / n }')
  echo "$label $rps $p50 $p99 $bad $cpu" >> "$WORK/results"
  printf '  %-34s %9s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s  CPU ms/request (runtime proxy wrangler) %s\n' \
    "$label" "$rps" "$p50" "$p99" "$bad" "$cpu"
}

say "seeding: 1,000 apps in a list workspace on each side"
PK_LIST=$(new_project_key); QK_LIST=$(new_peer_key)
fill "$P" "$PK_LIST" 1000; fill "$Q" "$QK_LIST" 1000
APP=$(curl -s "$P/connect/v1/apps?limit=1" -H "Authorization: Bearer $PK_LIST" | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"][0]["clientId"])')

if [ -n "$BEFORE" ]; then
  BK_LIST=$(new_project_key "$B"); fill "$B" "$BK_LIST" 1000
fi

say "load: ${SECONDS_PER}s per scenario, $CONNS connections, wrk -t2, inspector $INSPECTOR"
PK_BATCH=$(new_project_key); QK_BATCH=$(new_peer_key)
BENCH_BODY="$WORK/batch.json" BENCH_KEY=$PK_BATCH measure "project batch create (100 items)" "$P" batch.lua
if [ -n "$BEFORE" ]; then
  BK_BATCH=$(new_project_key "$B")
  BENCH_BODY="$WORK/batch.json" BENCH_KEY=$BK_BATCH measure "before batch create (100 items)" "$B" batch.lua
fi
BENCH_BODY="$WORK/batch.json" BENCH_KEY=$QK_BATCH measure "peer batch create (100 items)" "$Q" batch.lua
BENCH_KEY=$PK_LIST BENCH_PATH="/connect/v1/apps?limit=100" measure "project list (limit=100)" "$P" get.lua
[ -z "$BEFORE" ] || BENCH_KEY=$BK_LIST BENCH_PATH="/connect/v1/apps?limit=100" measure "before list (limit=100)" "$B" get.lua
BENCH_KEY=$QK_LIST BENCH_PATH="/connect/v1/apps?limit=100" measure "peer list (limit=100)" "$Q" get.lua
BENCH_KEY=$PK_LIST BENCH_PATH="/connect/v1/apps/$APP" measure "project get app" "$P" get.lua

say "growth: a 20,000-app workspace on each side"
PK_BIG=$(new_project_key); QK_BIG=$(new_peer_key)
fill "$P" "$PK_BIG" 20000; fill "$Q" "$QK_BIG" 20000
if [ -n "$BEFORE" ]; then
  BK_BIG=$(new_project_key "$B"); fill "$B" "$BK_BIG" 20000
fi
BENCH_KEY=$PK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=0" measure "project list 20k offset=0" "$P" get.lua
BENCH_KEY=$PK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=19900" measure "project list 20k offset=19900" "$P" get.lua
BENCH_KEY=$QK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=0" measure "peer list 20k offset=0" "$Q" get.lua
BENCH_KEY=$QK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=19900" measure "peer list 20k offset=19900" "$Q" get.lua

# The same lists with the page cache off: every page read from D1, as a client walking the
# pages once gets them. The growth check is made on these.
say "lists with the page cache off (PAGE_CACHE=off)"
SERVE_ARGS[project]="${SERVE_ARGS[project]} --var PAGE_CACHE:off"
BENCH_KEY=$PK_LIST BENCH_PATH="/connect/v1/apps?limit=100" measure "project read list (limit=100)" "$P" get.lua
BENCH_KEY=$PK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=0" measure "project read list 20k offset=0" "$P" get.lua
BENCH_KEY=$PK_BIG BENCH_PATH="/connect/v1/apps?limit=100&offset=19900" measure "project read list 20k offset=19900" "$P" get.lua

# A walk asks for each page in turn. It goes round the 200 pages many times in a run, and a
# page asked for again within 60 s would come from the page cache, which a client walking
# its list once never sees: so the project's walk runs with the cache off too.
say "walks: every page of the 20,000-app workspace in turn, as a client syncing its list"
BENCH_KEY=$PK_BIG BENCH_TOTAL=20000 measure "project walk 20k" "$P" walk.lua
if [ -n "$BEFORE" ]; then
  SERVE_ARGS[before]="${SERVE_ARGS[before]} --var PAGE_CACHE:off"
  BENCH_KEY=$BK_BIG BENCH_TOTAL=20000 measure "before walk 20k" "$B" walk.lua
  SERVE_ARGS[before]="${SERVE_ARGS[before]% --var PAGE_CACHE:off}"
fi
BENCH_KEY=$QK_BIG BENCH_TOTAL=20000 measure "peer walk 20k" "$Q" walk.lua
SERVE_ARGS[project]="${SERVE_ARGS[project]% --var PAGE_CACHE:off}"

# round_trips KEY CURL_ARGS...: the D1 round trips of one request with a warm key. The key
# cache lives 30 s and the load above took longer, so a GET first puts the key back in it.
round_trips() {
  local key=$1; shift
  curl -s -o /dev/null "$P/connect/v1/workspace" -H "Authorization: Bearer $key"
  curl -s -D - -o /dev/null "$@" -H "Authorization: Bearer $key" | tr -d '\r' |
    awk -F'round-trips=' 'tolower($0) ~ /^server-timing:/ {split($2, a, "[\",; ]"); print a[1]}'
}
say "D1 round trips per request (from Server-Timing), warm key"
RT_BATCH=$(round_trips "$PK_BATCH" -X POST "$P/connect/v1/apps/batch" -H "Content-Type: application/json" -H "Idempotency-Key: rt-$(random_base62 12)" --data-binary "@$WORK/batch.json")
RT_LIST=$(round_trips "$PK_LIST" "$P/connect/v1/apps?limit=100")
RT_GET=$(round_trips "$PK_LIST" "$P/connect/v1/apps/$APP")

OUT=$(mktemp -d "$WORK/deploy.XXXX")
CI=true "$WRANGLER" deploy --dry-run --env production --outdir "$OUT" </dev/null >/dev/null
WASM=$(find "$OUT" -name '*.wasm' | head -n1)
WASM_GZ=$(gzip -9c "$WASM" | wc -c); BUNDLE_GZ=$(tar -C "$OUT" -cf - . | gzip -9 | wc -c)

say "core (criterion, natively)"
cargo bench -q -p connect-core --all-features --bench core -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
  awk '/^batch|^idempotency|^list/ {name=$0} /time:/ {printf "  %-70s %s %s\n", name, $4, $5}' | tee "$WORK/criterion"

SCALE_TABLE=""
if [ "$SCALE" -gt 0 ]; then
  say "scale: $SCALE apps in one workspace on each side (minutes; servers restarted between steps)"
  S="python3 scripts/bench/scale.py"
  PK_SCALE=$(new_project_key); QK_SCALE=$(new_peer_key)
  CHUNK=100000
  for _ in $(seq 1 $(( (SCALE + CHUNK - 1) / CHUNK ))); do
    restart project; restart peer
    $S fill "$P" "$PK_SCALE" "$WORK/batch.json" "$CHUNK" & filling=$!
    $S fill "$Q" "$QK_SCALE" "$WORK/batch.json" "$CHUNK"
    wait "$filling" # not a bare `wait`: the servers are background jobs of this shell too
  done
  restart project; restart peer
  $S pages "$P" "$PK_SCALE" "$SCALE" project "$WORK/scale"
  $S pages "$Q" "$QK_SCALE" "$SCALE" peer "$WORK/scale"
  restart project
  $S ids "$P" "$PK_SCALE" "$SCALE" "$WORK/ids.json"
  DEAD=$((SCALE / 10))
  for lo in $(seq 0 20000 $((DEAD - 1))); do
    restart project
    $S delete "$P" "$PK_SCALE" "$WORK/ids.json" "$lo" $((lo + 20000))
  done
  restart project
  $S pages "$P" "$PK_SCALE" $((SCALE - DEAD)) "project, 10 % deleted at random" "$WORK/scale"
  SCALE_TABLE=$($S table "$WORK/scale" "$SCALE")
fi

python3 - "$WORK/results" "$RT_BATCH" "$RT_LIST" "$RT_GET" "$WASM_GZ" "$BUNDLE_GZ" "$INSPECTOR" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    rows[" ".join(parts[:-7])] = [float(x) for x in parts[-7:]]
def row(name):
    return rows[name]
print()
print("served by `wrangler dev`" if sys.argv[7] == "on" else "served without wrangler's inspector (BENCH_INSPECTOR=off)")
print()
print("| scenario | project req/s | peer req/s | ratio | project p50 / p99 ms | peer p50 / p99 ms |")
print("|---|---|---|---|---|---|")
for label, p, q in [("batch create, 100 items", "project batch create (100 items)", "peer batch create (100 items)"),
                    ("list, limit=100 (1,000 apps)", "project list (limit=100)", "peer list (limit=100)"),
                    ("list, 20,000 apps, offset=0", "project list 20k offset=0", "peer list 20k offset=0"),
                    ("list, 20,000 apps, offset=19,900", "project list 20k offset=19900", "peer list 20k offset=19900"),
                    ("list, limit=100, page cache off", "project read list (limit=100)", "peer list (limit=100)"),
                    ("list, 20,000 apps, offset=0, page cache off", "project read list 20k offset=0", "peer list 20k offset=0"),
                    ("list, 20,000 apps, offset=19,900, page cache off", "project read list 20k offset=19900", "peer list 20k offset=19900"),
                    ("list walked page by page, 20,000 apps", "project walk 20k", "peer walk 20k")]:
    a, b = row(p), row(q)
    print(f"| {label} | {a[0]:.0f} | {b[0]:.0f} | {a[0]/b[0]:.2f}x | {a[1]:.1f} / {a[2]:.1f} | {b[1]:.1f} / {b[2]:.1f} |")
g = row("project get app")
print(f"| get app (project only) | {g[0]:.0f} | | | {g[1]:.1f} / {g[2]:.1f} | |")
print()
print("CPU ms per request, from /proc: runtime (workerd: the Worker, its D1 and KV) + proxy (wrangler's workerd) + wrangler (node)")
print()
print("| scenario | project runtime + proxy + wrangler = total | peer runtime + proxy + wrangler = total |")
print("|---|---|---|")
def cpu(r):
    return f"{r[4]:.2f} + {r[5]:.2f} + {r[6]:.2f} = {sum(r[4:7]):.2f}"
for label, p, q in [("batch create, 100 items", "project batch create (100 items)", "peer batch create (100 items)"),
                    ("list, limit=100 (1,000 apps)", "project list (limit=100)", "peer list (limit=100)"),
                    ("list, limit=100, page cache off", "project read list (limit=100)", "peer list (limit=100)"),
                    ("list walked page by page, 20,000 apps", "project walk 20k", "peer walk 20k")]:
    print(f"| {label} | {cpu(row(p))} | {cpu(row(q))} |")
print(f"| get app (project only) | {cpu(g)} | |")
print()
deep, shallow = row("project read list 20k offset=19900")[1], row("project read list 20k offset=0")[1]
print(f"growth, page cache off: project list p50 at offset 19,900 is {deep/shallow:.2f}x the p50 at offset 0 ({deep:.1f} ms vs {shallow:.1f} ms)")
deep, shallow = row("project list 20k offset=19900")[1], row("project list 20k offset=0")[1]
print(f"growth, pages kept: {deep/shallow:.2f}x ({deep:.1f} ms vs {shallow:.1f} ms)")
print(f"D1 round trips (warm key): batch create {sys.argv[2]}, list {sys.argv[3]}, get {sys.argv[4]}")
print(f"deployable size: wasm {int(sys.argv[5])/1024:.0f} KiB gzipped, whole bundle {int(sys.argv[6])/1024:.0f} KiB gzipped")
if "before batch create (100 items)" in rows:
    print()
    print("| scenario | project req/s | before req/s | project / before | project p50 / p99 ms | before p50 / p99 ms |")
    print("|---|---|---|---|---|---|")
    for label, p, b in [("batch create, 100 items", "project batch create (100 items)", "before batch create (100 items)"),
                        ("list, limit=100 (1,000 apps)", "project list (limit=100)", "before list (limit=100)"),
                        ("list walked page by page, 20,000 apps", "project walk 20k", "before walk 20k")]:
        a, c = row(p), row(b)
        print(f"| {label} | {a[0]:.0f} | {c[0]:.0f} | {a[0]/c[0]:.2f}x | {a[1]:.1f} / {a[2]:.1f} | {c[1]:.1f} / {c[2]:.1f} |")
bad = {k: v[3] for k, v in rows.items() if v[3]}
if bad:
    print(f"non-2xx responses: {bad}")
PY
printf '%s\n' "$SCALE_TABLE"
