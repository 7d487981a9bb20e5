# Shared by the scripts: the repository root, PATH, quiet wrangler, random strings, free
# ports, and the config of an already built Worker.
# Source it, don't run it.
# The repository, its symlinks resolved: the end-to-end tests run wrangler from a directory
# of symlinks to it, whose [build] command runs build-worker.sh through them. Taken as it
# came (there `find migrations` found a symlink, not the files), the Worker's inputs
# hashed differently from the repository's and each side rebuilt the Worker in turn.
ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
case ":$PATH:" in
  *":$HOME/.cargo/bin:"*) ;;
  *) export PATH="$HOME/.cargo/bin:$PATH" ;;
esac
export WRANGLER_SEND_METRICS=false
WRANGLER="$ROOT/node_modules/.bin/wrangler"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# N random base62 characters from /dev/urandom (rejection sampling by tr, so uniform).
# No pipe is cut short: under `set -o pipefail` a SIGPIPE'd `tr` would fail the caller.
random_base62() {
  local out=""
  while [ "${#out}" -lt "$1" ]; do
    out+=$(head -c 512 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
  done
  printf '%s' "${out:0:$1}"
}

# 2*N random lowercase hex characters (N bytes) from /dev/urandom.
random_hex() { od -An -v -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }

# A random (version 4) UUID.
random_uuid() { cat /proc/sys/kernel/random/uuid; }

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The project's wrangler.toml, on stdout, for serving the Worker already built by
# build-worker.sh from anywhere: absolute paths, no [build] table (so no build step and no
# file watching). Extra arguments are more sed expressions (-e '...') applied with these.
prebuilt_config() { prebuilt_config_of "$ROOT" "$@"; }

# prebuilt_config_of DIR [-e ...]: the same for the checkout at DIR (another revision of
# the project, built there).
prebuilt_config_of() {
  local dir=$1; shift
  sed -e "s#^main = .*#main = \"$dir/worker/build/worker/shim.mjs\"#" \
    -e '/^\[build\]/,/^\[/{/^\[build\]/d;/^\[/!d;}' \
    -e "s#^migrations_dir = .*#migrations_dir = \"$dir/migrations\"#" \
    "$@" "$dir/wrangler.toml"
}

# The local D1 databases of the project's Worker, one a line: the database_name of each
# shard in the top-level [[d1_databases]] of wrangler.toml (not those of an [env.*]); of
# another wrangler.toml when given one.
project_databases() {
  awk '/^\[env\./ { exit } /^database_name *=/ { gsub(/.*= *"|".*/, ""); print }' "${1:-$ROOT/wrangler.toml}"
}
