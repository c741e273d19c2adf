#!/usr/bin/env python3
"""Jobs enqueue-to-start latency on a running stack.

Starts N jobs of a type that runs inside the jobs worker (jobs.purge_history) one
after another through the API, waits until every one has completed, and prints
"p50_ms p99_ms" of (started_at - scheduled_at): the time from enqueue (the row and
its queue message) to a runner's claim, as the rows record it.

Usage: start_latency.py BASE_URL TOKEN N
"""

import json
import sys
import time
import urllib.request


def call(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("authorization", "Bearer " + token)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def percentile(values, q):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def main():
    base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ids = []
    for i in range(n):
        job = call(base, token, "POST", "/v1/jobs",
                   {"type": "jobs.purge_history", "payload": {"idempotency_key": f"bench-{time.time_ns()}-{i}"}})
        ids.append(job["id"])
    waits = {}
    deadline = time.time() + 120
    while len(waits) < n and time.time() < deadline:
        for job_id in ids:
            if job_id in waits:
                continue
            job = call(base, token, "GET", f"/v1/jobs/{job_id}")
            if job["status"] == "completed":
                waits[job_id] = job["started_at"] - job["scheduled_at"]
        time.sleep(0.2)
    if len(waits) < n:
        sys.exit(f"only {len(waits)} of {n} jobs completed")
    values = list(waits.values())
    print(f"{percentile(values, 50)} {percentile(values, 99)}")


if __name__ == "__main__":
    main()
