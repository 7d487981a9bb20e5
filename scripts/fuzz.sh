#!/usr/bin/env bash
# Coverage-guided fuzzing of connect-core (cargo-fuzz, libFuzzer) on the stable toolchain:
# every target of fuzz/ (or those named) for FUZZ_SECONDS seconds each, one after another.
# Prints one line per target and exits 1 if any target crashed (or hit a timeout or OOM).
#
#   ./scripts/fuzz.sh                            # every target, 60 s each
#   FUZZ_SECONDS=600 ./scripts/fuzz.sh batch     # one target, 10 minutes
#
# Settings (environment):
#   FUZZ_SECONDS=60        seconds per target
#   FUZZ_SANITIZER=none    `none` needs nothing but stable Rust: cargo-fuzz then passes only
#                          stable flags (SanitizerCoverage, trace-compares, debug assertions
#                          and overflow checks), no nightly and no RUSTC_BOOTSTRAP. connect-core
#                          forbids unsafe code, so AddressSanitizer has nothing of the core's
#                          own to watch; `address` builds with it anyway (on stable through
#                          RUSTC_BOOTSTRAP=1, for the fuzz build only), about 10x slower.
#   FUZZ_KEEP_GOING=1      libFuzzer's fork mode with -ignore_crashes: keep fuzzing past a
#                          crash and collect every crashing input, instead of stopping at the
#                          first (useful while a known crash is not fixed yet).
#
# Corpora grow in fuzz/corpus/<target> (git-ignored), seeded from fuzz/seeds/<target>
# (committed). A crashing input is saved in fuzz/artifacts/<target>/ and the full log in
# fuzz/artifacts/<target>.log. Replay, then minimise, a crash with
#   cargo fuzz run  --sanitizer none <target> fuzz/artifacts/<target>/crash-...
#   cargo fuzz tmin --sanitizer none <target> fuzz/artifacts/<target>/crash-...
# and add the input to core/tests/fuzz_regressions.rs, which replays it through the same
# checks (fuzz/src/lib.rs) under plain `cargo test`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
keep_going="${FUZZ_KEEP_GOING:-0}"
case "$seconds" in '' | *[!0-9]*) die "FUZZ_SECONDS must be a whole number of seconds" ;; esac
case "$sanitizer" in none | address) ;; *) die "FUZZ_SANITIZER must be none or address" ;; esac

# --- set-up: a C++ compiler (libfuzzer-sys compiles libFuzzer) and cargo-fuzz.
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup"
if ! command -v c++ >/dev/null; then
  say "installing g++ (libfuzzer-sys compiles libFuzzer from source)"
  apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# One target dir per sanitizer, so switching does not rebuild everything.
flags=(-O -a --sanitizer "$sanitizer" --target-dir "fuzz/target/$sanitizer")
run_env=()
[ "$sanitizer" = none ] || run_env=(env RUSTC_BOOTSTRAP=1)
fuzz() { ${run_env[@]+"${run_env[@]}"} cargo fuzz "$@"; }

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
[ "${#targets[@]}" -gt 0 ] || die "no fuzz targets found in fuzz/"

say "building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
fuzz build "${flags[@]}" >/dev/null

libfuzzer_args=(
  -max_total_time="$seconds"
  -dict=fuzz/connect.dict
  -print_final_stats=1
  -timeout=10
  -rss_limit_mb=2048
)
[ "$keep_going" = 1 ] && libfuzzer_args+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)

# The last value of `key: N` in a libFuzzer log.
last_stat() { grep -oE "$1: ?[0-9]+" "$2" | tail -n1 | grep -oE '[0-9]+$' || true; }

failed=()
started=$SECONDS
for t in "${targets[@]}"; do
  [ -d "fuzz/seeds/$t" ] || die "no seeds for target $t (fuzz/seeds/$t)"
  corpus="fuzz/corpus/$t" artifacts="fuzz/artifacts/$t" log="fuzz/artifacts/$t.log"
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -maxdepth 1 -type f | LC_ALL=C sort)
  say "fuzzing $t for ${seconds}s"
  t0=$SECONDS
  rc=0
  fuzz run "${flags[@]}" "$t" "$corpus" "fuzz/seeds/$t" -- "${libfuzzer_args[@]}" >"$log" 2>&1 || rc=$?
  took=$((SECONDS - t0))
  after=$(find "$artifacts" -maxdepth 1 -type f | LC_ALL=C sort)
  new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')

  runs=$(last_stat 'stat::number_of_executed_units' "$log")
  [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#' || true)
  stats="${runs:-?} runs in ${took}s, coverage $(last_stat cov "$log") edges, $(last_stat ft "$log") features, corpus $(find "$corpus" -type f | wc -l) inputs"
  if [ "$rc" -eq 0 ] && [ -z "$new" ]; then
    printf '%-16s ok     %s\n' "$t" "$stats"
  else
    failed+=("$t")
    why=$(grep -m1 -A1 'panicked at' "$log" | tail -n1 || true)
    [ -n "$why" ] || why=$(grep -m1 -E 'ERROR: libFuzzer|^error' "$log" || true)
    printf '%-16s CRASH  %s; %s new artifact(s); %s (log: %s)\n' \
      "$t" "$stats" "$(printf '%s' "$new" | grep -c . || true)" "${why:-see the log}" "$log"
    printf '%s\n' "$new" | sed '/^$/d; s/^/                 input: /'
  fi
done

say "fuzzed ${#targets[@]} targets in $((SECONDS - started))s"
if [ "${#failed[@]}" -gt 0 ]; then
  die "crashes in: ${failed[*]} (replay: cargo fuzz run --sanitizer none <target> <input>)"
fi
