# The servers of scripts/bench.sh: each Worker in its own process group on local D1 and
# KV, restarted alike before every measurement, and the CPU its processes use.
# Sourced by bench.sh, which sets WORK (the state directory), SERVE (the command that
# serves a Worker) and WRANGLER first.

# By server name: the process group, the base URL, the serving arguments.
declare -A PGID URL SERVE_ARGS

# prepare NAME CONFIG_DIR [--var NAME:VALUE ...]: the migrations of each D1 database of
# CONFIG_DIR/wrangler.toml into the server's state, a free port, the arguments of `start`.
prepare() {
  local name=$1 dir=$2 database port; shift 2
  for database in $(project_databases "$dir/wrangler.toml"); do
    d1 "$name" "$dir" migrations apply "$database"
  done
  port=$(free_port)
  URL[$name]="http://127.0.0.1:$port"
  SERVE_ARGS[$name]="$dir $port $*"
}

# d1 NAME CONFIG_DIR ARGS...: `wrangler d1 ARGS... --local` on the server's state.
d1() {
  local name=$1 dir=$2; shift 2
  CI=true "$WRANGLER" d1 "$@" --local -c "$dir/wrangler.toml" --persist-to "$WORK/$name-state" </dev/null >/dev/null
}

# start NAME [--var NAME:VALUE ...]: the server as `prepare` set it up, with these variables
# too, in a process group of its own (setsid: its pid is the group's id); waits until it
# answers.
start() {
  local name=$1 dir port rest; shift
  read -r dir port rest <<<"${SERVE_ARGS[$name]}"
  # shellcheck disable=SC2086 # rest is a list of --var NAME:VALUE words without spaces
  setsid "${SERVE[@]}" -c "$dir/wrangler.toml" --ip 127.0.0.1 --port "$port" \
    --persist-to "$WORK/$name-state" $rest "$@" </dev/null >>"$WORK/$name.log" 2>&1 &
  PGID[$name]=$!
  for _ in $(seq 1 240); do
    curl -s -o /dev/null "${URL[$name]}/" && return 0
    kill -0 "${PGID[$name]}" 2>/dev/null || break
    sleep 0.5
  done
  echo "$name did not start:" >&2; tail -30 "$WORK/$name.log" >&2; exit 1
}

# stop NAME: the server's whole process group, SIGTERM then after 5 s SIGKILL.
stop() {
  local pgid=${PGID[$1]:-}
  [ -n "$pgid" ] || return 0
  kill -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- "-$pgid" 2>/dev/null || true
  unset "PGID[$1]"
}

# restart NAME [--var NAME:VALUE ...]: a fresh server on the same state, so that every
# measurement starts alike. With `wrangler dev` it is also needed: wrangler's proxy keeps
# every inspector report while no DevTools is attached, D1 response bodies included, and
# under the walk it reached V8's heap limit (1.7 GB) and aborted after about 85 s; without
# the inspector the proxy stayed under 400 MB through 150 s (docs/performance.md).
restart() {
  stop "$1"
  start "$@"
}

stop_all() {
  local name
  for name in "${!PGID[@]}"; do stop "$name"; done
}

# peer_keys NAME CONFIG_DIR SCHEMA WORKSPACES...: a workspace and an API key of each name
# in the peer's D1 (the peers have no admin routes), before it is started; sets
# KEY[NAME:WORKSPACE]. SCHEMA is full (peer-ts-full: workspaces and api_keys tables) or
# minimal (peer-ts: api_keys only).
declare -A KEY
peer_keys() {
  local name=$1 dir=$2 schema=$3 sql="" ws key id hash; shift 3
  for ws in "$@"; do
    key="sk_workspace_test_$(random_base62 24)"; id="org_bench_$ws"
    hash=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
    [ "$schema" = minimal ] ||
      sql+="INSERT INTO workspaces (id, created_at) VALUES ('$id', '2026-01-01T00:00:00.000Z'); "
    sql+="INSERT INTO api_keys (key_hash, workspace_id) VALUES ('$hash', '$id'); "
    KEY[$name:$ws]=$key
  done
  d1 "$name" "$dir" execute "$(project_databases "$dir/wrangler.toml" | head -n1)" --command "$sql"
}

# project_keys NAME ADMIN_TOKEN WORKSPACES...: a workspace and its key of each name through
# the project's admin API; sets KEY[NAME:WORKSPACE].
project_keys() {
  local name=$1 admin=$2 ws; shift 2
  for ws in "$@"; do
    KEY[$name:$ws]=$(curl -sf -X POST "${URL[$name]}/admin/v1/workspaces" -H "Authorization: Bearer $admin" |
      python3 -c 'import sys,json; print(json.load(sys.stdin)["apiKey"]["key"])')
  done
}

# cpu_ticks NAME: "runtime proxy node", the CPU clock ticks (user + system) the server's
# processes used so far: the workerd that runs the Worker with its D1 and KV (its entry
# socket on a port of the system's choosing), the workerd in front of it (on the port
# served) and wrangler's node. esbuild, idle once the Worker is bundled, is left out.
cpu_ticks() {
  local runtime=0 proxy=0 node=0 p cmd exe t
  for p in $(pgrep -g "${PGID[$1]}"); do
    cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
    exe=${cmd%% *}
    case "${exe##*/}:$cmd" in
      workerd:*--socket-addr=entry=127.0.0.1:0\ *) runtime=$((runtime + t)) ;;
      workerd:*) proxy=$((proxy + t)) ;;
      node:*) node=$((node + t)) ;;
    esac
  done
  echo "$runtime $proxy $node"
}
