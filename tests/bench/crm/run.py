#!/usr/bin/env python3
"""The CRM's list under load: 100,000 leads written into one firm's local D1 (SQL
through wrangler, the same file the workers use), then the filtered lead list read
page after page with its cursor. Prints `p50_ms p95_ms pages` of the paged reads.
Usage: run.py BASE_URL TOKEN FIRM_ID STATE_DIR [LEADS]"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

base, token, firm_id, state = sys.argv[1:5]
count = int(sys.argv[5]) if len(sys.argv) > 5 else 100_000
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rng):
    value = (ms << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


rng = random.Random(7)
statuses = ["new", "contacted", "qualified", "lost"]
sources = ["website", "referral", "campaign", "event", "cold_outreach"]
now = int(time.time() * 1000) - count
with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as sql:
    for start in range(0, count, 200):
        rows = []
        for i in range(start, min(start + 200, count)):
            rows.append(
                "('led_%s', '%s', 'Person %d', 'Company %d', 'p%d@bench.test', '%s', '%s', %d, '[\"bench\"]', '{}', 1, 'import', %d, %d)"
                % (ulid(now + i, rng), firm_id, i, i % 5000, i, rng.choice(sources), rng.choice(statuses),
                   rng.randrange(0, 101), now + i, now + i))
        sql.write("INSERT INTO crm_leads (id, firm_id, contact_name, company_name, email, source, status, score, tags, "
                  "custom_fields, version, created_by, created_at, updated_at) VALUES\n" + ",\n".join(rows) + ";\n")
    path = sql.name
subprocess.run(["wrangler", "d1", "execute", "DB", "--local", "--persist-to", state, "--file", path, "-c", "wrangler.toml"],
               check=True, stdout=subprocess.DEVNULL)
os.unlink(path)


# One kept-alive connection, as a browser or wrk holds one: the time is the
# request's, not a TCP handshake's.
parsed = urllib.parse.urlsplit(base)
conn = http.client.HTTPConnection(parsed.hostname, parsed.port)


def get(url):
    t = time.perf_counter()
    conn.request("GET", url, headers={"authorization": "Bearer " + token})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    if resp.status != 200:
        sys.exit(f"GET {url}: {resp.status} {body}")
    return (time.perf_counter() - t) * 1000, body


# Warm up, then page through two filtered lists with their cursors.
get("/v1/crm/leads?limit=25")
samples = []
for query in ["status=qualified&min_score=50", "source=referral&tag=bench"]:
    cursor = None
    for _ in range(100):
        url = f"/v1/crm/leads?{query}&limit=25" + (f"&cursor={cursor}" if cursor else "")
        ms, body = get(url)
        samples.append(ms)
        cursor = body.get("next_cursor")
        if not cursor:
            break
samples.sort()
print(f"{statistics.median(samples):.2f} {samples[int(len(samples) * 0.95) - 1]:.2f} {len(samples)}")
