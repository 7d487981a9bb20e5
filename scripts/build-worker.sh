#!/usr/bin/env bash
# Builds the Worker (worker/build/) with worker-build, using the installed wasm-bindgen CLI
# and binaryen's wasm-opt from npm so nothing is fetched from GitHub. Skips the build when no
# Rust source, manifest, the lockfile or the OpenAPI document changed since the last success.
# This is wrangler.toml's [build] command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

inputs_hash() {
  { printf '%s\n' Cargo.lock Cargo.toml core/Cargo.toml worker/Cargo.toml openapi.json
    find core/src worker/src -type f; } | LC_ALL=C sort | while read -r f; do
      [ -f "$f" ] && { printf '%s\n' "$f"; sha256sum < "$f"; }
    done | sha256sum | cut -d' ' -f1
}

stamp=worker/build/.stamp
want=$(inputs_hash)
if [ -f worker/build/worker/shim.mjs ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
if [ -x "$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild" ]; then
  export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
fi
say "building the Worker (worker-build --release)"
(cd worker && worker-build --release)
echo "$want" > "$stamp"
