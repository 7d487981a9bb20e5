#!/usr/bin/env python3
"""Runs every test of the workspace as `cargo test --workspace --exclude connect-worker
--all-features` would, but several test binaries at a time: the step of scripts/test.sh that
runs the tests. The Worker is a wasm32 crate with no test of its own (the end-to-end tests
are its tests); built natively it would only cost time.

`cargo test` runs its test binaries one after the other. Most of the end-to-end binaries'
time is waiting (a `wrangler dev` starting, the wrangler CLI reading the stored state,
retries' back-off), so running them side by side takes about half as long on 2 cores.
Each binary still starts its own servers on free ports with their own state, as the
harness makes it (tests/src/lib.rs), so they do not meet.

1. `cargo test --no-run` builds every test binary (its JSON messages give their paths).
2. The binaries run TEST_JOBS at a time (default 4), the longest first (their times are
   kept in target/test-times.json, over those of scripts/test-times.json, a fresh clone's
   run on 2 cores; a binary never timed goes first), each in its package's
   directory as cargo runs it, its output in target/test-logs/<name>.log. The doctests
   run as one more job (`cargo test --doc`). The longest, one a core, run at normal
   priority and the others at `nice` 10: the longest are the run's critical path (the
   schemathesis run takes 70 s alone, but with four binaries sharing two cores it got a
   quarter of them and ended last, after 250 s, the other cores idle meanwhile); niced,
   the others take what they leave.
3. A line per binary as it ends; the whole output of each that failed; exit 1 if any did.

Arguments after `--` go to every test binary (a filter, `--nocapture`).
"""
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO_ARGS = ["--workspace", "--exclude", "connect-worker", "--all-features"]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
LOGS = TARGET / "test-logs"
TIMES = TARGET / "test-times.json"
# The times of a fresh clone's run on 2 cores, for the order of a run that has none of its own.
SEED_TIMES = ROOT / "scripts" / "test-times.json"

running = set()


def build():
    """Every test binary: (name, executable, package directory)."""
    out = subprocess.run(
        ["cargo", "test", *CARGO_ARGS, "--no-run", "--message-format=json-render-diagnostics"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        sys.exit("cargo test --no-run failed (above)")
    binaries = []
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
            continue
        if not msg["profile"]["test"]:
            continue
        target = msg["target"]
        package = Path(msg["manifest_path"]).parent
        kind = target["kind"][0]
        name = f"{package.name}/{target['name'] if kind == 'test' else kind + ':' + target['name']}"
        binaries.append((name, msg["executable"], package))
    return binaries


# The niceness of every job but the longest, one a core (see the module docs).
NICE = 10


def run(job, args):
    """Runs one job to its end: (name, passed, seconds, summary)."""
    name, command, cwd, niceness = job
    log = LOGS / (name.replace("/", "__").replace(":", "_") + ".log")
    env = dict(os.environ, CARGO_MANIFEST_DIR=str(cwd))
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen([*command, *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: os.nice(niceness))
        running.add(proc)
        code = proc.wait()
        running.discard(proc)
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    results = [line for line in text.splitlines() if line.startswith("test result:")]
    summary = "; ".join(r.removeprefix("test result: ").split("; finished")[0] for r in results)
    return name, code == 0, seconds, summary, log


def main():
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    jobs_at_once = int(os.environ.get("TEST_JOBS", "4"))
    binaries = build()
    LOGS.mkdir(parents=True, exist_ok=True)
    times = {}
    for kept in (SEED_TIMES, TIMES):
        try:
            times.update(json.loads(kept.read_text()))
        except (OSError, ValueError):
            pass
    jobs = [(name, [exe], cwd) for name, exe, cwd in binaries]
    jobs.append(("doctests", ["cargo", "test", *CARGO_ARGS, "--doc", "--"], ROOT))
    # The longest first, so that the last to start are short; a job never timed first.
    jobs.sort(key=lambda job: -times.get(job[0], 1e9))
    unniced = os.cpu_count() or 1
    jobs = [(*job, 0 if i < unniced else NICE) for i, job in enumerate(jobs)]

    def stop(signum, _frame):
        for proc in list(running):
            proc.send_signal(signum)
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    print(f"running {len(jobs)} test binaries, {jobs_at_once} at a time (logs in {LOGS})", flush=True)
    start = time.monotonic()
    failed = []
    with ThreadPoolExecutor(jobs_at_once) as pool:
        for done in as_completed([pool.submit(run, job, args) for job in jobs]):
            name, passed, seconds, summary, log = done.result()
            times[name] = round(seconds, 1)
            print(f"{'ok    ' if passed else 'FAILED'} {seconds:6.1f} s  {name}  {summary}", flush=True)
            if not passed:
                failed.append((name, log))
    TIMES.write_text(json.dumps(times, indent=1, sort_keys=True))
    for name, log in failed:
        print(f"\n===== {name} failed: {log}\n{log.read_text(errors='replace')}", flush=True)
    print(f"\n{len(jobs) - len(failed)} of {len(jobs)} test binaries passed in {time.monotonic() - start:.0f} s")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
