"""The scale scenario of scripts/bench.sh, one step per call (bash restarts the servers
between steps: local workerd aborts after about 100 s of constant load).

  scale.py fill BASE KEY BATCH_JSON COUNT     COUNT apps through batch creates of 100
  scale.py pages BASE KEY TOTAL LABEL OUT     p50 and most rows read of 40 pages at the
                                              start and 40 at the end, appended to OUT
  scale.py ids BASE KEY TOTAL OUT             every client id, walking the list
  scale.py delete BASE KEY IDS FROM TO        deletes the ids FROM..TO of a random sample
                                              of 10 % of IDS (fixed seed)
  scale.py table OUT N                        the table
"""
import json, random, statistics, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor


def call(base, key, method, path, data=None):
    req = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    for attempt in range(5):
        try:
            start = time.perf_counter()
            with urllib.request.urlopen(req, timeout=120) as res:
                payload = res.read()
                return time.perf_counter() - start, res.headers.get("server-timing") or "", payload
        except Exception:
            if attempt == 4:
                raise
            time.sleep(1)


def rows_read(timing):
    for part in timing.replace('"', " ").replace(",", " ").split():
        if part.startswith("rows-read="):
            return int(part.split("=")[1])
    return None


def sample(ids):
    return random.Random(16).sample(ids, len(ids) // 10)


cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "fill":
    base, key, batch, count = args[0], args[1], open(args[2], "rb").read(), int(args[3])
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: call(base, key, "POST", "/connect/v1/apps/batch", batch), range(count // 100)))
elif cmd == "pages":
    base, key, total, label, out = args[0], args[1], int(args[2]), args[3], args[4]
    with open(out, "a") as f:
        for where, first in (("start", 0), ("end", total - 100 * 40)):
            got = [call(base, key, "GET", f"/connect/v1/apps?limit=100&offset={first + 100 * i}") for i in range(40)]
            p50 = statistics.median(t for t, _, _ in got) * 1000
            reads = [rows_read(h) for _, h, _ in got]
            most = max(reads) if reads[0] is not None else None
            f.write(json.dumps([label, where, p50, most]) + "\n")
elif cmd == "ids":
    base, key, total, out = args[0], args[1], int(args[2]), args[3]
    ids = []
    for offset in range(0, total, 100):
        _, _, payload = call(base, key, "GET", f"/connect/v1/apps?limit=100&offset={offset}")
        ids += [a["clientId"] for a in json.loads(payload)["data"]]
    json.dump(ids, open(out, "w"))
elif cmd == "delete":
    base, key, ids, lo, hi = args[0], args[1], json.load(open(args[2])), int(args[3]), int(args[4])
    doomed = sample(ids)[lo:hi]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: call(base, key, "DELETE", f"/connect/v1/apps/{i}"), doomed))
elif cmd == "table":
    rows = [json.loads(line) for line in open(args[0])]
    n = int(args[1])
    print()
    print(f"| {n:,}-app workspace | pages | p50 ms | most rows read of a page (limit 100; budget 1,400) |")
    print("|---|---|---|---|")
    for label, where, p50, most in rows:
        print(f"| {label} | 40 at the {where} | {p50:.1f} | {most if most is not None else 'n/a'} |")
    for label in dict.fromkeys(r[0] for r in rows):
        s = next(r[2] for r in rows if r[0] == label and r[1] == "start")
        e = next(r[2] for r in rows if r[0] == label and r[1] == "end")
        print(f"{label}: the last pages' p50 is {e / s:.2f}x the first pages'")
