"""Workspaces of many apps for scripts/bench.sh, one step per call (bash restarts the server
between steps, as before every measurement). Each step appends a JSON line to --out, which
scripts/bench/report.py reads.

  scale.py fill BASE KEY BODY COUNT      COUNT apps through batch creates of BODY (100 items)
                                         on several connections; the seconds taken
  scale.py pages BASE KEY TOTAL          the p50 and the rows read (Server-Timing) of the
                                         first 40 pages (limit 100) of a TOTAL-app workspace
                                         and of its last 40 (fewer in a small workspace)
  scale.py delete BASE KEY IDS FROM TO   deletes the ids FROM..TO of a sample of 10 % of the
                                         client ids in the file IDS (fixed seed, so the
                                         sample is the same on every call); the seconds taken
                                         and each delete's rows written (Server-Timing)

Every step takes --server and --set (which workspace: list or scale), which go into its line;
fill also --ids FILE (the new client ids are appended to it), pages also --state (a word
saying what was done to the workspace, e.g. "deleted").
"""
import argparse
import json
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from client import Refused, call, d1_cost, fill

PAGES = 40


def pages(base, key, total):
    """The first and the last n pages' p50 (ms) and rows read, n = 40 or fewer so that the
    two sets do not overlap."""
    n = min(PAGES, total // 200)
    call(base, key, "GET", "/connect/v1/apps?limit=1")  # the isolate compiled, the key cached
    for where, first in (("first", 0), ("last", total - 100 * n)):
        got = []
        for i in range(n):
            status, seconds, timing, payload = call(base, key, "GET", f"/connect/v1/apps?limit=100&offset={first + 100 * i}")
            if status != 200:
                raise Refused(f"list page answered {status}: {payload[:300]!r}")
            got.append((seconds, d1_cost(timing)))
        costs = [c for _, c in got]
        yield {"where": where, "pages": n, "p50": statistics.median(s for s, _ in got) * 1000,
               "reads": None if None in costs else [c[1] for c in costs]}


def delete(base, key, ids, lo, hi):
    doomed = random.Random(16).sample(ids, len(ids) // 10)[lo:hi]

    def one(client_id):
        status, _, timing, payload = call(base, key, "DELETE", f"/connect/v1/apps/{client_id}", retry_on=(429, 500, 502, 503))
        # A 404 is a delete retried after its answer was lost (the sample holds each id once).
        if status not in (200, 204, 404):
            raise Refused(f"delete answered {status}: {payload[:300]!r}")
        cost = d1_cost(timing)
        return status == 404, None if cost is None or status == 404 else cost[2]

    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(one, doomed))
    written = [w for _, w in done if w is not None]
    return len(doomed), time.perf_counter() - start, sum(g for g, _ in done), written


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["fill", "pages", "delete"])
    parser.add_argument("base")
    parser.add_argument("key")
    parser.add_argument("args", nargs="+")
    parser.add_argument("--server", required=True)
    parser.add_argument("--set", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ids")
    parser.add_argument("--state", default="")
    a = parser.parse_args()
    line = {"set": a.set, "server": a.server}
    if a.step == "fill":
        body, count = open(a.args[0], "rb").read(), int(a.args[1])
        lines = [{"kind": "fill", **line, "apps": count, "seconds": fill(a.base, a.key, body, count // 100, ids=a.ids)}]
    elif a.step == "pages":
        lines = [{"kind": "pages", **line, "state": a.state, "total": int(a.args[0]), **got}
                 for got in pages(a.base, a.key, int(a.args[0]))]
    else:
        ids = open(a.args[0]).read().split()
        count, seconds, gone_before, written = delete(a.base, a.key, ids, int(a.args[1]), int(a.args[2]))
        lines = [{"kind": "delete", **line, "apps": count, "seconds": seconds, "gone_before": gone_before,
                  "rows_written": written}]
    with open(a.out, "a") as out:
        out.write("".join(json.dumps(x) + "\n" for x in lines))


if __name__ == "__main__":
    main()
