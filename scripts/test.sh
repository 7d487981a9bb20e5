#!/usr/bin/env bash
# The second command of the README, and what CI runs (.ci/run): set-up, the Worker build
# (in the background), every check and test, stopping at the first failure: rustfmt,
# clippy (native and wasm32), the core's docs, every test of cargo test, several binaries
# at a time (scripts/run-tests.py: unit, property, native and end-to-end tests; the e2e
# tests start their own wrangler dev with their own port and state, and one of them runs
# scripts/schemathesis.sh, which serves its own), and a `wrangler deploy --dry-run` of
# production with the bundle's gzipped size.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Every crate is built once here, from scratch in CI: the incremental caches rustc would
# write for the workspace's crates are never read. Without them the test build took 151
# CPU-seconds from a cold target/ instead of 182 (81 s instead of 97 s on 2 cores).
# (Switching between this and a plain `cargo test` rebuilds the workspace's own crates.)
export CARGO_INCREMENTAL=0

say "set-up (scripts/setup.sh)"
bash scripts/setup.sh

# The Worker's release build (link-time optimization in one codegen unit, then wasm-opt)
# spends most of its time on one core: it runs in the background while the checks and
# the test build use the other, and the tests wait for it.
say "building the Worker in the background (scripts/build-worker.sh; its output in target/build-worker.log)"
mkdir -p target
# In a session of its own, so that a failed check stops the whole build (cargo included).
setsid bash scripts/build-worker.sh >target/build-worker.log 2>&1 &
worker_build=$!
trap 'kill -- -"$worker_build" 2>/dev/null || true' EXIT

# Property tests draw from a fixed seed in CI on purpose: a red build then means the code
# changed, never that the dice found a new case, so a failure is reproduced by rerunning
# the same command, and past failures are replayed from core/proptest-regressions/. The
# generators are built so that the fixed cases reach both sides of every rule (each
# module's `*_reach_both_sides` test checks it). Exploring new cases is a separate run
# with random seeds (docs/testing.md, "Property tests"); a case it finds is
# saved to core/proptest-regressions/ and so joins the fixed run.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-20261122}"

say "cargo fmt --check"
cargo fmt --all --check

# The Worker only ever runs as wasm32: it is linted for that target below, not natively
# (natively it would pull in js-sys, web-sys and the worker crate for nothing).
say "clippy (native, all targets, all features; the Worker on wasm32 below)"
cargo clippy --quiet --workspace --exclude connect-worker --all-targets --all-features -- -D warnings

say "clippy (wasm32: core and the Worker)"
cargo clippy --quiet -p connect-core -p connect-worker --target wasm32-unknown-unknown -- -D warnings

say "cargo doc for connect-core and connect-client"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet -p connect-core -p connect-client --no-deps --all-features

say "connect-core as a client uses it: no AES-GCM, HMAC, LZ4 or base64"
# subtle is expected here: the wire types compare secrets in constant time with it.
client_tree=$(cargo tree -e normal -p connect-core --no-default-features --features rules --prefix none)
if grep -E '^(aes-gcm|hmac|lz4_flex|base64) ' <<<"$client_tree"; then
  die "connect-core's client features pull in a server encoding"
fi
grep -q '^subtle ' <<<"$client_tree" || die "connect-core's wire types lost their constant-time comparison (subtle)"
cargo check --quiet -p connect-core --no-default-features

say "connect-client (what a crate depending on it gets): no AES-GCM, LZ4 or Worker crate"
if cargo tree -e normal -p connect-client --prefix none | grep -E '^(aes-gcm|lz4_flex|worker|connect-worker) '; then
  die "connect-client pulls in a server encoding or the Worker"
fi

say "building the test binaries (cargo test --no-run)"
cargo test --quiet --workspace --exclude connect-worker --all-features --no-run

say "waiting for the Worker's build"
if ! wait "$worker_build"; then
  cat target/build-worker.log >&2
  die "scripts/build-worker.sh failed (above)"
fi
trap - EXIT

say "tests (cargo test's binaries, several at a time: scripts/run-tests.py): core unit, property and fuzz-regression tests, the native protocol tests on SQLite, end-to-end tests on wrangler dev, the doctests"
python3 scripts/run-tests.py

say "wrangler deploy --dry-run --env production"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! log=$(CI=true "$WRANGLER" deploy --dry-run --env production --outdir "$out" </dev/null 2>&1); then
  printf '%s\n' "$log" >&2
  die "wrangler deploy --dry-run failed"
fi
grep -a 'Total Upload' <<<"$log" || true
# Every shard SHARDS names in production is bound to a D1 database of its own.
shards=$(grep -ao 'env.SHARDS ("[^"]*")' <<<"$log" | sed 's/.*("\(.*\)")/\1/')
[ -n "$shards" ] || die "the production environment sets no SHARDS"
for shard in ${shards//,/ }; do
  grep -aq "env.$shard (.*D1 Database" <<<"$log" || die "SHARDS names $shard, which production does not bind to a D1 database"
done
printf 'production shards: %s\n' "$shards"
# Both rate limiters are bound in production: the Worker lets requests through when one is
# missing (worker/src/rate_limit.rs), so a missing binding would lift its limit unseen.
for limiter in RATE_LIMITER ADMIN_AUTH_LIMITER; do
  grep -aq "env.$limiter (.*Rate Limit" <<<"$log" || die "production does not bind the rate limiter $limiter"
done
wasm=$(find "$out" -name '*.wasm' | head -n1)
[ -n "$wasm" ] || die "the dry-run bundle has no .wasm"
# What is uploaded: the wasm and the JavaScript modules (not README.md, not source maps).
mapfile -t modules < <(find "$out" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' \) | LC_ALL=C sort)
printf 'deployable size (gzip): wasm %s bytes, total %s bytes (%s modules)\n' \
  "$(gzip -c "$wasm" | wc -c)" "$(cat "${modules[@]}" | gzip -c | wc -c)" "${#modules[@]}"
