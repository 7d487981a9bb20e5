# Shared by the scripts: the repository root, PATH, quiet wrangler. Source it, don't run it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
WRANGLER="$ROOT/node_modules/.bin/wrangler"

say() { printf '==> %s\n' "$*" >&2; }

random_base62() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "$1"; }
random_hex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }
