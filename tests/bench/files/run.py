#!/usr/bin/env python3
"""Upload throughput through the files API on local workerd.

Usage: run.py BASE_URL TOKEN [SINGLES] [MULTIPART_MIB]

Prints "single_p50_ms single_p99_ms multipart_s multipart_mb_per_s":
- SINGLES (default 30) single uploads of 1 MiB, each declared (POST /v1/files)
  and sent (PUT .../content); the percentiles are of the PUT, which carries the
  bytes through the gateway into R2 with their SHA-256;
- one MULTIPART_MIB (default 50) MiB upload in 10 MiB parts, timed from the
  declaration to the completion's answer (which carries the whole file's SHA-256),
  as MB/s (10^6 bytes) of file content.
"""

import hashlib
import json
import os
import statistics
import sys
import time
import urllib.request

MIB = 1024 * 1024


def request(base, token, method, path, body=None, content_type="application/json"):
    data = body if isinstance(body, (bytes, bytearray)) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("content-type", content_type)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def declare(base, token, name, size, part_size=None):
    body = {"name": name, "media_type": "application/pdf", "size": size, "usage": "document"}
    if part_size:
        body["part_size"] = part_size
    return request(base, token, "POST", "/v1/files", body)["id"]


def main():
    base, token = sys.argv[1].rstrip("/"), sys.argv[2]
    singles = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    total_mib = int(sys.argv[4]) if len(sys.argv) > 4 else 50

    timings = []
    for n in range(singles):
        content = b"%PDF-1.7\n" + os.urandom(MIB - 9)
        file_id = declare(base, token, f"bench-{n}.pdf", len(content))
        t0 = time.perf_counter()
        stored = request(base, token, "PUT", f"/v1/files/{file_id}/content", content, "application/pdf")
        timings.append((time.perf_counter() - t0) * 1000)
        assert stored["sha256"] == hashlib.sha256(content).hexdigest(), stored
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]

    part = 10 * MIB
    content = b"%PDF-1.7\n" + os.urandom(total_mib * MIB - 9)
    t0 = time.perf_counter()
    file_id = declare(base, token, "bench-multipart.pdf", len(content), part)
    for n in range(0, len(content), part):
        request(base, token, "PUT", f"/v1/files/{file_id}/parts/{n // part + 1}", content[n:n + part], "application/pdf")
    done = request(base, token, "POST", f"/v1/files/{file_id}/complete")
    seconds = time.perf_counter() - t0
    assert done["sha256"] == hashlib.sha256(content).hexdigest(), done
    print(f"{p50:.1f} {p99:.1f} {seconds:.2f} {len(content) / seconds / 1e6:.1f}")


if __name__ == "__main__":
    main()
