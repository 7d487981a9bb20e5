"""HTTP calls of scripts/bench/*.py: one kept-alive connection per thread and server, a
request's time, its status and its D1 cost read from Server-Timing, and filling a
workspace through batch creates."""
import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

_local = threading.local()


class Refused(Exception):
    pass


def call(base, key, method, path, body=None, headers=None, retry_on=(), attempts=5):
    """(status, seconds, server-timing, body) of one request; a lost connection, and a status
    in retry_on, are tried again (up to `attempts` in all) after a second."""
    conns = _local.__dict__.setdefault("conns", {})
    url = urllib.parse.urlsplit(base)
    sent = {"Authorization": f"Bearer {key}", **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    for attempt in range(attempts):
        conn = conns.get(base) or conns.setdefault(base, http.client.HTTPConnection(url.hostname, url.port, timeout=300))
        try:
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=sent)
            res = conn.getresponse()
            payload = res.read()
            seconds = time.perf_counter() - start
        except (OSError, http.client.HTTPException):
            conn.close()
            del conns[base]
            if attempt == attempts - 1:
                raise
            time.sleep(1)
            continue
        if res.status in retry_on and attempt < attempts - 1:
            time.sleep(1)
            continue
        return res.status, seconds, res.getheader("server-timing") or "", payload
    raise AssertionError("unreachable")


def d1_cost(timing):
    """(round trips, rows read, rows written) from `d1;desc="round-trips=N rows-read=R
    rows-written=W"`, or None when the server sends no such metric."""
    found = re.search(r'd1;\s*desc="([^"]*)"', timing)
    if not found:
        return None
    fields = dict(part.split("=", 1) for part in found.group(1).split() if "=" in part)
    try:
        return int(fields["round-trips"]), int(fields["rows-read"]), int(fields["rows-written"])
    except (KeyError, ValueError):
        return None


def fill(base, key, body, batches, connections=4, ids=None):
    """`batches` batch creates of `body` with a fresh Idempotency-Key each, so that a retry
    after a lost answer or a 5xx cannot create twice; the new client ids are appended to the
    file `ids` when given. Returns the seconds taken."""
    lock = threading.Lock()
    out = open(ids, "a") if ids else None

    def one(_):
        status, _, _, payload = call(base, key, "POST", "/connect/v1/apps/batch", body,
                                     {"Idempotency-Key": f"fill-{uuid.uuid4()}"},
                                     retry_on=(429, 500, 502, 503))
        if status != 201:
            raise Refused(f"batch create answered {status}: {payload[:300]!r}")
        if out:
            made = [r["app"]["clientId"] for r in json.loads(payload)["results"] if "app" in r]
            with lock:
                out.write("".join(i + "\n" for i in made))

    start = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(one, range(batches)))
    if out:
        out.close()
    return time.perf_counter() - start
