#!/usr/bin/env python3
"""Notification fan-out to N people on a running stack.

The firm gets N members (rows written straight into the local D1 file, as a firm
that grew would have them) and one `notification.requested` event naming all of
them is written to the outbox, as a module's request leaves it. The gateway's cron
publishes it; the dispatcher hands it to the notifications module, which splits it
into requests of 50 and serves each: an in-app item and a queued e-mail per person,
sent to the mail simulator. Everything is read back from the D1 rows:

- in-app: from the first tick to the N-th in-app item;
- mail: from the first tick to the N-th e-mail recorded as sent.

Prints "inapp_s mail_s mails_per_s".

Usage: run.py BASE_URL TOKEN STATE_DIR N
"""

import json
import sys
import time
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/fanout")
from run import call, count, database, ulid  # noqa: E402  (the fan-out bench's helpers)

DEADLINE_S = 900


def main():
    base, token, state, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    firm = call(base, token, "GET", "/v1/firm")
    firm_id = firm["id"]
    db = database(state)
    now = int(time.time() * 1000)
    people = [f"usr_{ulid(now, i)}" for i in range(n)]
    with db:
        db.executemany("INSERT INTO auth_users (id, email, name, created_at, updated_at) VALUES (?, ?, 'Bench', ?, ?)",
                       [(p, f"{p.lower()}@bench.test", now, now) for p in people])
        db.executemany("INSERT INTO firm_memberships (firm_id, user_id, role, created_at) VALUES (?, ?, 'staff', ?)",
                       [(firm_id, p, now) for p in people])
    event_id = f"evt_{ulid(now, n + 1)}"
    occurred = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1000)) + f".{now % 1000:03d}Z"
    data = {"template": "firm.role_changed", "recipients": [{"user_id": p} for p in people],
            "variables": {"firm_name": firm["name"], "role": "staff"}}
    envelope = {"id": event_id, "type": "notification.requested", "firm_id": firm_id,
                "occurred_at": occurred, "schema_version": 1, "data": data}
    with db:
        db.execute("INSERT INTO kernel_outbox (id, firm_id, type, payload, created_at, available_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (event_id, firm_id, "notification.requested", json.dumps(envelope), now, 0))
    inapp = ("SELECT count(*) FROM notify_notifications WHERE firm_id = ? AND template = 'firm.role_changed' "
             "AND created_at >= ?")
    sent = ("SELECT count(*) FROM kernel_mail_outbox WHERE to_addr LIKE '%@bench.test' AND sent_at IS NOT NULL "
            "AND created_at >= ?")
    started = time.time()
    with urllib.request.urlopen(base + "/__scheduled?cron=*+*+*+*+*", timeout=60) as r:
        r.read()
    shown = None
    deadline = started + DEADLINE_S
    while time.time() < deadline:
        if shown is None and count(db, inapp, firm_id, now) >= n:
            shown = time.time() - started
        if shown is not None and count(db, sent, now) >= n:
            mailed = time.time() - started
            break
        time.sleep(0.2)
    else:
        sys.exit(f"not done in {DEADLINE_S}s: {count(db, inapp, firm_id, now)} in-app, {count(db, sent, now)} mails")
    print(f"{shown:.1f} {mailed:.1f} {n / mailed:.0f}")


if __name__ == "__main__":
    main()
