#!/usr/bin/env bash
# Installs what building and serving the Worker needs, skipping whatever is already present
# at the right version (a second run takes seconds): the wasm32 target, worker-build, the
# wasm-bindgen CLI matching Cargo.lock, the npm packages (wrangler, binaryen's wasm-opt), and
# a git-ignored .dev.vars with local secrets. Works without GitHub downloads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

WORKER_BUILD_VERSION=0.8.7
# The CLI must equal the wasm-bindgen library exactly: read its version from Cargo.lock.
WASM_BINDGEN_VERSION=$(awk -F'"' '
  /^\[\[package\]\]/ { found = 0 }
  $0 == "name = \"wasm-bindgen\"" { found = 1 }
  found && /^version = / { print $2; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen package in Cargo.lock"

command -v rustup >/dev/null || die "rustup not found: install Rust from https://rustup.rs"
command -v npm >/dev/null || die "npm not found: install Node.js 20"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The two build tools are compiled from crates.io (no GitHub downloads here). They are
# built side by side, and with opt-level 1 and no debug info rather than cargo install's
# full release profile: they run for a second or two per Worker build, while compiling
# them at opt-level 3 was the longest step of a fresh machine's set-up.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256
installs=()
if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  say "installing worker-build $WORKER_BUILD_VERSION (once)"
  cargo install --quiet worker-build --version "$WORKER_BUILD_VERSION" &
  installs+=($!)
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  # --locked fails on this registry; the exact version is what matters.
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (once)"
  cargo install --quiet wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" &
  installs+=($!)
fi
for pid in "${installs[@]}"; do
  wait "$pid" || die "cargo install failed (see above)"
done
unset CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_DEBUG \
  CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS

# node_modules is current when its stamp holds the lockfile's hash (written after npm ci).
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -x "$WRANGLER" ] || [ ! -x node_modules/.bin/wasm-opt ] ||
   [ "$(cat node_modules/.setup-stamp 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm packages (wrangler, binaryen, openapi-typescript, typescript)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.setup-stamp
fi

if [ ! -f .dev.vars ] || ! grep -q '^SECRETS_KEYS=' .dev.vars; then
  say "writing local secrets to .dev.vars (git-ignored)"
  (
    umask 077
    {
      echo "ADMIN_TOKEN=$(random_base62 40)"
      # The secrets key ring: kid:64hex, the first key seals (docs/configuration.md).
      echo "SECRETS_KEYS=local1:$(random_hex 32)"
    } > .dev.vars.tmp
    mv .dev.vars.tmp .dev.vars
  )
fi
