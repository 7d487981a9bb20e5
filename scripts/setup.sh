#!/usr/bin/env bash
# Installs what building and serving the Worker needs, skipping whatever is already present
# at the right version (a second run takes seconds): the wasm32 target, worker-build, the
# wasm-bindgen CLI matching Cargo.lock, the npm packages (wrangler, binaryen's wasm-opt), and
# a git-ignored .dev.vars with local secrets. Works without GitHub downloads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "no wasm-bindgen in Cargo.lock" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # --locked fails on this registry; the exact version is what matters.
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x "$WRANGLER" ] || [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm packages (wrangler, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-stamp
fi

if [ ! -f .dev.vars ]; then
  say "writing local secrets to .dev.vars (git-ignored)"
  umask 077
  {
    echo "ADMIN_TOKEN=$(random_base62 40)"
    echo "SECRETS_KEY=$(random_hex 32)"
  } > .dev.vars
fi
