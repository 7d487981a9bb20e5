#!/usr/bin/env bash
# Builds the Worker (worker/build/) with `worker-build --release`, using the installed
# wasm-bindgen CLI and binaryen's wasm-opt from npm so nothing is fetched from GitHub.
# Skips the build when no Rust source, manifest, the lockfile, the OpenAPI document or the
# migrations (their names are compiled in by worker/build.rs) changed since the last
# successful build (stamp: worker/build/.stamp). This is wrangler.toml's [build] command;
# it works from any directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

out=build
[ $# -eq 0 ] || die "usage: build-worker.sh"

# One build at a time (wrangler dev instances started together each run this script).
exec 9<"$ROOT/scripts/build-worker.sh"
flock 9

# sha256 over the path and contents of everything the wasm is built from, in a fixed order:
# one sha256sum for every file (this runs before each test process's first server and at
# each start of dev.sh's wrangler dev; a process per file cost the end-to-end tests about
# half a CPU-second a server when every server ran it).
inputs_hash() {
  {
    printf '%s\n' Cargo.lock Cargo.toml */Cargo.toml openapi.json scripts/build-worker.sh worker/build.rs
    find core/src worker/src migrations -type f
  } | LC_ALL=C sort -u | while IFS= read -r f; do
    if [ -f "$f" ]; then
      printf '%s\0' "$f"
    fi
  done | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

stamp=worker/$out/.stamp
want=$(inputs_hash)
if [ -f "worker/$out/worker/shim.mjs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

WASM_BINDGEN_BIN="$(command -v wasm-bindgen)" || die "wasm-bindgen not found: run scripts/setup.sh"
export WASM_BINDGEN_BIN
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
[ -x "$WASM_OPT_BIN" ] || die "$WASM_OPT_BIN not found: run scripts/setup.sh"
if [ -x "$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild" ]; then
  export ESBUILD_BIN="$ROOT/node_modules/@esbuild/linux-x64/bin/esbuild"
fi
command -v worker-build >/dev/null || die "worker-build not found: run scripts/setup.sh"

say "building the Worker (worker-build --release into worker/$out)"
rm -f "$stamp"
# A target directory of its own: cargo locks its target directory for the length of a
# build, so the Worker's build would otherwise wait for (or hold up) every other cargo
# command, and test.sh runs it beside clippy and the test build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/worker"
(cd worker && worker-build --release --out-dir "$out")
[ -f "worker/$out/worker/shim.mjs" ] || die "worker-build left no worker/$out/worker/shim.mjs"
echo "$want" >"$stamp"
