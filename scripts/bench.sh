#!/usr/bin/env bash
# Benchmark: this project's Worker side by side with two TypeScript peers in one run on this
# machine, served as production serves a Worker (without wrangler's inspector relay), on
# local D1 and KV, loaded with the same requests by wrk in alternating rounds:
# - peer-ts-full: the TypeScript Worker a careful team would write for the same contract (the
#   whole App, sealed secrets, validation, an Idempotency-Key claim in the same D1 batch); it
#   reports its D1 cost in Server-Timing as this Worker does;
# - peer-ts: the minimal one (plaintext secrets, little validation, no atomic guard, no
#   route to get an app, no Server-Timing).
# The peers are not part of this repository: they are read at run time from BENCH_PEERS
# (default ../shared/bench beside the checkout) and copied into the state directory.
#
# A run:
# 1. Each server started on its own local state (on tmpfs where the machine has one: the
#    figures measure the Workers and their D1 and KV, not this machine's disk flushes), with
#    a list workspace of BENCH_APPS apps (default 20,000) and an empty batch workspace, the
#    apps made through the API the same way on each; then the p50 and rows read of the list
#    workspace's first 40 and last 40 pages.
# 2. BENCH_ROUNDS rounds (default 3) of the list scenarios; in each, every scenario on every
#    server in turn, the order of the servers rotating by one each round. A run is
#    BENCH_SECONDS (default 10) of `wrk -t2 -cBENCH_CONNECTIONS` (default 8) against a
#    server restarted just before it (and warmed by a second of one connection):
#    - walk: the list page by page (scripts/bench/walk.lua), as a client syncing its apps;
#      this Worker with PAGE_CACHE=off, since a client walking its list never gets a page
#      twice;
#    - page: one page (limit 100, offset 0) again and again, this Worker as served (the
#      isolate keeps the page and checks the workspace's generation);
#    - get: one app (peer-ts has no such route).
# 3. As many rounds of batch create (100 items, a fresh Idempotency-Key each request,
#    scripts/bench/batch.lua), after every list round since a batch run grows the database.
#    After every run of 2. and 3., a few requests like the run's read what they cost D1 from
#    the server's Server-Timing (scripts/bench/cost.py).
# 4. The tables, in Markdown (scripts/bench/report.py): medians over the rounds of req/s,
#    p50 and p99, this Worker's ratio to each other server and issue 32's bar; D1 round trips,
#    rows read and rows written per request; the CPU per request of each server's processes
#    (read from /proc); every round's req/s.
# 5. The scale scenario (BENCH_SCALE apps, default 1,000,000; 0 skips it; at least 1,000):
#    on each server a workspace of that many apps made through the API (batches of 100 on
#    4 connections, the server restarted every 200,000 apps; the time taken is reported),
#    the p50 and rows read of its first 40 and last 40 pages; then on this Worker the same
#    after deleting 10 % at random through the API (the peers have no delete route).
# 6. The deployable size and the core's criterion figures (BENCH_CRITERION=off skips them).
# Every server is stopped at the end, on failure and on Ctrl-C (each runs in a process group
# of its own).
#
# BENCH_INSPECTOR=on: every server served by `wrangler dev` instead, for comparison. Its
# inspector relays a report of each D1 and KV call, its response body included, through
# wrangler's proxy to node: more CPU than the Workers' own work on a list page, and it
# favours the Worker that makes fewer binding calls; production has no such relay
# (docs/performance.md). The default (off) serves through wrangler's programmatic API
# without an inspector (scripts/bench/serve-without-inspector.mjs).
#
# BENCH_BEFORE=<git revision>: the project's Worker as it was at that revision is built too
# (in a scratch worktree) and measured in every round beside the others, for a column that
# shows whether a change costs throughput.
#
# BENCH_TMP: the directory for state (default /dev/shm if writable, else /tmp).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

COMMAND="$({ env | grep '^BENCH_' || true; } | sort | tr '\n' ' ')./scripts/bench.sh"
SECONDS_PER=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
APPS=${BENCH_APPS:-20000}
SCALE=${BENCH_SCALE:-1000000}
CONNS=${BENCH_CONNECTIONS:-8}
INSPECTOR=${BENCH_INSPECTOR:-off}
BEFORE=${BENCH_BEFORE:-}
CRITERION=${BENCH_CRITERION:-on}
PEERS=${BENCH_PEERS:-$ROOT/../shared/bench}

[ "$((APPS % 100))" -eq 0 ] && [ "$APPS" -ge 400 ] || die "BENCH_APPS is a multiple of 100 from 400, not $APPS"
[ "$((SCALE % 100))" -eq 0 ] && { [ "$SCALE" -eq 0 ] || [ "$SCALE" -ge 1000 ]; } ||
  die "BENCH_SCALE is 0 or a multiple of 100 from 1,000, not $SCALE"
[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS is at least 1"
for peer in peer-ts-full peer-ts; do
  [ -f "$PEERS/$peer/wrangler.toml" ] || die "no $PEERS/$peer: the peers are read from BENCH_PEERS"
done
case "$INSPECTOR" in
  off) SERVE=(node "$ROOT/scripts/bench/serve-without-inspector.mjs") ;;
  on) SERVE=("$WRANGLER" dev) ;;
  *) die "BENCH_INSPECTOR is on or off, not $INSPECTOR" ;;
esac
case "$CRITERION" in on | off) ;; *) die "BENCH_CRITERION is on or off, not $CRITERION" ;; esac
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
# thousands N: N with a comma every three digits.
thousands() { sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta' <<<"$1"; }
# phase NAME: the time since the last phase (or the start) goes to NAME, in TIMES.
TIMES=() PHASE_START=$SECONDS
phase() { TIMES+=("$1 $((SECONDS - PHASE_START)) s"); PHASE_START=$SECONDS; }
COMMIT=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo "+changes")

bash scripts/setup.sh
bash scripts/build-worker.sh
command -v wrk >/dev/null || { say "installing wrk"; apt-get install -y -qq wrk >/dev/null; }

if [ -z "${BENCH_TMP:-}" ]; then
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then BENCH_TMP=/dev/shm; else BENCH_TMP=/tmp; fi
fi
WORK=$(mktemp -d "$BENCH_TMP/connect-bench.XXXXXX")
RESULTS=$WORK/results.jsonl
source scripts/bench/servers.sh
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "--- last lines of $log"; tail -n 30 "$log"; } >&2
    done
  fi
  stop_all
  [ -z "$BEFORE" ] || git -C "$ROOT" worktree remove --force "$WORK/before-src" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The servers, in the order of the tables: this Worker, [before,] peer-ts-full, peer-ts.
SERVERS=(project)
[ -z "$BEFORE" ] || SERVERS+=(before)
SERVERS+=(full minimal)
SERVER_LIST=$(IFS=,; echo "${SERVERS[*]}")
WORKSPACES=(list batch)
[ "$SCALE" -eq 0 ] || WORKSPACES+=(scale)

# The project, from a copy of wrangler.toml that skips the build (done above) and lifts the
# per-key rate limit: one benchmark key would exceed the production limit in a second. The
# limiter binding is still called on every request.
ADMIN=$(random_base62 40)
LIFT='s#simple = { limit = 100, period = 10 }#simple = { limit = 10000000, period = 10 }#'
mkdir -p "$WORK/project"
prebuilt_config -e "$LIFT" >"$WORK/project/wrangler.toml"
say "starting the servers (inspector $INSPECTOR)"
prepare project "$WORK/project" --var "ADMIN_TOKEN:$ADMIN" --var "SECRETS_KEYS:bench:$(random_hex 32)"
start project
project_keys project "$ADMIN" "${WORKSPACES[@]}"

if [ -n "$BEFORE" ]; then
  say "building the project's Worker as of $BEFORE (a scratch worktree)"
  git -C "$ROOT" worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null 2>&1
  ln -s "$ROOT/node_modules" "$WORK/before-src/node_modules"
  # A target directory of its own, kept under target/ so that later runs reuse it. Not the
  # project's: its crates have the same names and paths of the same shape, and cargo then
  # took the old revision's connect-core as fresh for the next build of this one.
  (cd "$WORK/before-src" && CARGO_TARGET_DIR="$ROOT/target/bench-before" bash scripts/build-worker.sh >/dev/null)
  mkdir -p "$WORK/before"
  prebuilt_config_of "$WORK/before-src" -e "$LIFT" >"$WORK/before/wrangler.toml"
  prepare before "$WORK/before" --var "ADMIN_TOKEN:$ADMIN" --var "SECRETS_KEYS:bench:$(random_hex 32)"
  start before
  project_keys before "$ADMIN" "${WORKSPACES[@]}"
fi

# The peers, copied (wrangler bundles them and writes beside their wrangler.toml); their
# workspaces and keys are rows of their D1, written before they start.
cp -r "$PEERS/peer-ts-full" "$WORK/full"
cp -r "$PEERS/peer-ts" "$WORK/minimal"
chmod -R u+w "$WORK/full" "$WORK/minimal"
prepare full "$WORK/full"
peer_keys full "$WORK/full" full "${WORKSPACES[@]}"
start full
prepare minimal "$WORK/minimal"
peer_keys minimal "$WORK/minimal" minimal "${WORKSPACES[@]}"
start minimal

python3 - "$WORK/batch.json" <<'PY'
import json, sys
items = [{"name": f"Customer {i:03} Ltd", "redirectUris": [f"https://customer{i}.example.com/callback"],
          "idempotencyKey": f"customer-{i:03}"} for i in range(100)]
json.dump({"items": items, "continueOnError": True}, open(sys.argv[1], "w"))
PY

S="python3 scripts/bench/scale.py"
REPORT="python3 scripts/bench/report.py"
declare -A APP
say "seeding: $(thousands "$APPS") apps in a list workspace on each server"
for s in "${SERVERS[@]}"; do
  $S fill "${URL[$s]}" "${KEY[$s:list]}" "$WORK/batch.json" "$APPS" --server "$s" --set list --out "$RESULTS"
  [ "$s" = minimal ] || APP[$s]=$(curl -sf "${URL[$s]}/connect/v1/apps?limit=1" -H "Authorization: Bearer ${KEY[$s:list]}" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["data"][0]["clientId"])')
done
say "the first and last pages of each list workspace"
for s in "${SERVERS[@]}"; do
  restart "$s"
  $S pages "${URL[$s]}" "${KEY[$s:list]}" "$APPS" --server "$s" --set list --out "$RESULTS"
done

phase "setup and seeding"

HZ=$(getconf CLK_TCK)
# measure SCENARIO SERVER ROUND: one wrk run on a freshly restarted server, its line in the
# results, then the D1 cost of a few requests like the run's.
measure() {
  local scenario=$1 s=$2 round=$3 vars=() script lua cost b1 b2 b3 a1 a2 a3 out path
  case "$scenario" in
    walk)
      script=walk.lua; lua=(BENCH_KEY="${KEY[$s:list]}" BENCH_TOTAL="$APPS"); cost=(--total "$APPS")
      [ "$s" = full ] || [ "$s" = minimal ] || vars=(--var PAGE_CACHE:off) ;;
    page | get)
      [ "$scenario" = page ] && path="/connect/v1/apps?limit=100&offset=0" || path="/connect/v1/apps/${APP[$s]}"
      script=get.lua; lua=(BENCH_KEY="${KEY[$s:list]}" BENCH_PATH="$path"); cost=(--path "$path") ;;
    batch) script=batch.lua; lua=(BENCH_KEY="${KEY[$s:batch]}" BENCH_BODY="$WORK/batch.json"); cost=(--body "$WORK/batch.json") ;;
  esac
  script=scripts/bench/$script
  restart "$s" "${vars[@]}"
  # One connection for a second first: the new isolate compiles the Worker, the key cache fills.
  env "${lua[@]}" wrk -t1 -c1 -d1s -s "$script" "${URL[$s]}" >/dev/null 2>&1 || true
  read -r b1 b2 b3 <<<"$(cpu_ticks "$s")"
  out=$(env "${lua[@]}" wrk -t2 -c"$CONNS" -d"${SECONDS_PER}s" --latency -s "$script" "${URL[$s]}" 2>&1)
  read -r a1 a2 a3 <<<"$(cpu_ticks "$s")"
  $REPORT wrk "$scenario" "$s" "$round" --out "$RESULTS" --hz "$HZ" --cpu "$((a1 - b1)) $((a2 - b2)) $((a3 - b3))" \
    ${BEFORE:+--before "$BEFORE"} <<<"$out"
  python3 scripts/bench/cost.py "$scenario" "${URL[$s]}" "${lua[0]#*=}" "${cost[@]}" --server "$s" --out "$RESULTS"
}
# rotated ROUND: the servers, the first of them ROUND places further on.
rotated() {
  local i n=${#SERVERS[@]}
  for ((i = 0; i < n; i++)); do echo "${SERVERS[$(((i + $1) % n))]}"; done
}

RUNS=$((ROUNDS * (4 * ${#SERVERS[@]} - 1)))
say "load: $RUNS runs of ${SECONDS_PER} s (wrk -t2 -c$CONNS), about $((RUNS * (SECONDS_PER + 12) / 60 + 1)) minutes with the restarts"
for ((round = 0; round < ROUNDS; round++)); do
  say "list round $((round + 1)) of $ROUNDS"
  for scenario in walk page get; do
    for s in $(rotated "$round"); do
      [ "$scenario:$s" = get:minimal ] || measure "$scenario" "$s" "$round"
    done
  done
done
phase "list rounds"
for ((round = 0; round < ROUNDS; round++)); do
  say "batch round $((round + 1)) of $ROUNDS"
  for s in $(rotated "$round"); do measure batch "$s" "$round"; done
done
phase "batch rounds"

echo "## scripts/bench.sh, $(date -u +%Y-%m-%d), commit $COMMIT, $(nproc) cores, load average $LOAD_AT_START at the start"
echo
echo "\`$COMMAND\`: $([ "$INSPECTOR" = off ] && echo "served without wrangler's inspector relay" || echo "served by \`wrangler dev\` (BENCH_INSPECTOR=on)");" \
  "$ROUNDS alternating round$([ "$ROUNDS" -eq 1 ] || echo s) of ${SECONDS_PER} s a run, \`wrk -t2 -c$CONNS\`, every server restarted before each run;" \
  "list workspaces of $(thousands "$APPS") apps; medians over the rounds."
echo
$REPORT load "$RESULTS" --servers "$SERVER_LIST" ${BEFORE:+--before "$BEFORE"}
$REPORT pages "$RESULTS" --servers "$SERVER_LIST" ${BEFORE:+--before "$BEFORE"}

if [ "$SCALE" -gt 0 ]; then
  CHUNK=200000
  for s in project full minimal; do
    say "scale: $(thousands "$SCALE") apps in one workspace on $s"
    ids=(); [ "$s" != project ] || ids=(--ids "$WORK/ids")
    for ((made = 0; made < SCALE; made += CHUNK)); do
      restart "$s"
      $S fill "${URL[$s]}" "${KEY[$s:scale]}" "$WORK/batch.json" $((SCALE - made < CHUNK ? SCALE - made : CHUNK)) \
        --server "$s" --set scale --out "$RESULTS" "${ids[@]}"
    done
    restart "$s"
    $S pages "${URL[$s]}" "${KEY[$s:scale]}" "$SCALE" --server "$s" --set scale --out "$RESULTS"
  done
  DEAD=$((SCALE / 10)); STEP=25000
  say "scale: deleting $(thousands "$DEAD") apps at random on project"
  for ((lo = 0; lo < DEAD; lo += STEP)); do
    restart project
    $S delete "${URL[project]}" "${KEY[project:scale]}" "$WORK/ids" "$lo" $((lo + STEP)) \
      --server project --set scale --out "$RESULTS"
  done
  restart project
  $S pages "${URL[project]}" "${KEY[project:scale]}" $((SCALE - DEAD)) --server project --set scale --state deleted --out "$RESULTS"
  $REPORT pages <(grep '"set": "scale"' "$RESULTS") --servers project,full,minimal
  phase "scale ($(thousands "$SCALE") apps)"
fi
stop_all

OUT=$(mktemp -d "$WORK/deploy.XXXX")
CI=true "$WRANGLER" deploy --dry-run --env production --outdir "$OUT" </dev/null >/dev/null
WASM=$(find "$OUT" -name '*.wasm' | head -n1)
echo
echo "deployable size: wasm $(($(gzip -9c "$WASM" | wc -c) / 1024)) KiB gzipped," \
  "whole bundle $(($(tar -C "$OUT" -cf - . | gzip -9 | wc -c) / 1024)) KiB gzipped"
if [ "$CRITERION" = on ]; then
  say "core (criterion, natively)"
  echo
  cargo bench -q -p connect-core --all-features --bench core -- --warm-up-time 1 --measurement-time 3 2>/dev/null |
    awk '/^batch|^idempotency|^list/ {name=$0} /time:/ {printf "  %-70s %s %s\n", name, $4, $5}'
  phase "criterion"
fi
echo
echo "time taken: $(printf '%s, ' "${TIMES[@]}")$SECONDS s in all"
