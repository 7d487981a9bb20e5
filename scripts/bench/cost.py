"""What a scenario's requests cost D1 on one server, read from its Server-Timing: a few
requests like the load's, sent by scripts/bench.sh right after each wrk run (the server
still warm, its API key cached, a repeated page kept). Appends a JSON line to --out with
each request's (round trips, rows read, rows written), null where the server sends none.

  cost.py walk BASE KEY --total N        5 pages (limit 100) spread over an N-app workspace
  cost.py page BASE KEY --path PATH      PATH 5 times
  cost.py get BASE KEY --path PATH       PATH 5 times
  cost.py batch BASE KEY --body FILE     3 batch creates, each with a fresh Idempotency-Key
"""
import argparse
import json
import uuid

from client import Refused, call, d1_cost


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["walk", "page", "get", "batch"])
    parser.add_argument("base")
    parser.add_argument("key")
    parser.add_argument("--server", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--total", type=int)
    parser.add_argument("--path")
    parser.add_argument("--body")
    a = parser.parse_args()
    if a.scenario == "walk":
        pages = a.total // 100
        requests = [("GET", f"/connect/v1/apps?limit=100&offset={pages * tenth // 10 * 100}", None, {})
                    for tenth in (1, 3, 5, 7, 9)]
    elif a.scenario == "batch":
        body = open(a.body, "rb").read()
        requests = [("POST", "/connect/v1/apps/batch", body, {"Idempotency-Key": f"cost-{uuid.uuid4()}"})
                    for _ in range(3)]
    else:
        requests = [("GET", a.path, None, {})] * 5
    samples = []
    for method, path, body, headers in requests:
        status, _, timing, payload = call(a.base, a.key, method, path, body, headers)
        if status >= 300:
            raise Refused(f"{method} {path} answered {status}: {payload[:300]!r}")
        samples.append(d1_cost(timing))
    with open(a.out, "a") as out:
        out.write(json.dumps({"kind": "cost", "scenario": a.scenario, "server": a.server, "samples": samples}) + "\n")


if __name__ == "__main__":
    main()
