#!/usr/bin/env python3
"""Event fan-out and webhook delivery throughput on a running stack.

The stack runs with three modules subscribed to every event: the webhooks module and
the probe bound twice (PROBE and PROBE_B, forwarding to tests/sims/subscriber.py).
The firm gets one webhook endpoint for `jobs.sla_breached`, pointing at
tests/sims/webhook_receiver.py, which verifies every signature with the Standard
Webhooks library.

N `jobs.sla_breached` events (the catalogue's example as data) are written to the
outbox as a request that could not publish would leave them; the gateway's cron
(fired through wrangler's /__scheduled) republishes them 100 per tick onto the events
queue, the dispatcher hands each to its three subscribers, and the webhooks module
turns each into a signed delivery to the receiver. Everything is read back from the
D1 rows, so the numbers are what the platform recorded:

- drain: from the first tick to the last of the 3N (event, subscriber) rows marked
  delivered;
- webhooks: from the first delivery attempt to the last success, over N deliveries.

Prints "drain_s events_per_s hooks_s deliveries_per_s".

Usage: run.py BASE_URL TOKEN STATE_DIR RECEIVER_URL N
"""

import glob
import json
import os
import sqlite3
import sys
import time
import urllib.request

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A public type only the webhooks module subscribes to in the platform's own table.
KIND = "jobs.sla_breached"
SUBSCRIBERS = 3
DEADLINE_S = 1800


def call(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("authorization", "Bearer " + token)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text.strip() else None


def ulid(ms, serial):
    """A ULID whose order follows `serial` within one millisecond."""
    value = (ms << 80) | (serial << 16) | int.from_bytes(os.urandom(2), "big")
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def database(state):
    """The local D1 file that holds the platform's tables."""
    for path in glob.glob(os.path.join(state, "v3", "d1", "**", "*.sqlite"), recursive=True):
        db = sqlite3.connect(path, timeout=30)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "kernel_outbox" in tables:
            return db
        db.close()
    sys.exit(f"no D1 database with kernel_outbox under {state}")


def count(db, sql, *args):
    return db.execute(sql, args).fetchone()[0]


def main():
    base, token, state, receiver, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    firm_id = call(base, token, "GET", "/v1/firm")["id"]
    catalogue = call(base, None, "GET", "/v1/events/types")["items"]
    example = next(t["example"] for t in catalogue if t["type"] == KIND)
    endpoint = call(base, token, "POST", "/v1/webhooks/endpoints", {
        "name": "Bench receiver", "url": f"{receiver}/hooks/bench", "event_types": [KIND]})
    call(receiver, None, "POST", "/_sim/endpoints/bench",
         {"secrets": [endpoint["secret"]], "plan": [], "default": {"status": 204}})

    db = database(state)
    now = int(time.time() * 1000)
    ids = [f"evt_{ulid(now, i)}" for i in range(n)]
    # Millisecond precision: an endpoint receives only events after its creation.
    occurred = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1000)) + f".{now % 1000:03d}Z"
    rows = []
    for event_id in ids:
        envelope = {"id": event_id, "type": KIND, "firm_id": firm_id,
                    "occurred_at": occurred, "schema_version": 1, "data": example}
        rows.append((event_id, firm_id, KIND, json.dumps(envelope), now, 0))
    with db:
        db.executemany("INSERT INTO kernel_outbox (id, firm_id, type, payload, created_at, available_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows)
    first, last = ids[0], ids[-1]
    unpublished = ("SELECT count(*) FROM kernel_outbox WHERE id BETWEEN ? AND ? AND published_at IS NULL")
    delivered = ("SELECT count(*) FROM dispatch_deliveries WHERE event_id BETWEEN ? AND ? "
                 "AND status = 'delivered'")
    succeeded = ("SELECT count(*) FROM webhooks_deliveries WHERE endpoint_id = ? AND status = 'succeeded'")

    started = time.time()
    deadline = started + DEADLINE_S
    while count(db, unpublished, first, last) > 0:
        if time.time() > deadline:
            sys.exit("the outbox sweep did not publish every event")
        with urllib.request.urlopen(base + "/__scheduled?cron=*+*+*+*+*", timeout=60) as r:
            r.read()
    drained = None
    while time.time() < deadline:
        if drained is None and count(db, delivered, first, last) >= SUBSCRIBERS * n:
            drained = time.time() - started
        if drained is not None and count(db, succeeded, endpoint["id"]) >= n:
            break
        time.sleep(0.2)
    else:
        done = count(db, delivered, first, last)
        hooks = count(db, succeeded, endpoint["id"])
        sys.exit(f"not drained in {DEADLINE_S}s: {done} of {SUBSCRIBERS * n} hand-overs, {hooks} of {n} webhooks")
    first_attempt, last_success = db.execute(
        "SELECT min(started_at), max(started_at + duration_ms) FROM webhooks_attempts WHERE endpoint_id = ?",
        (endpoint["id"],)).fetchone()
    hooks_s = (last_success - first_attempt) / 1000
    print(f"{drained:.1f} {n / drained:.0f} {hooks_s:.1f} {n / hooks_s:.0f}")


if __name__ == "__main__":
    main()
