#!/usr/bin/env python3
"""Our Standard Webhooks signatures judged by the reference implementation.

The `standardwebhooks` package (PyPI, the specification's own library) verifies
every delivery our code signs, with each of its secrets (rotation signs with two),
and refuses them once tampered with; and our verifier accepts what the library
signs and refuses what it should. Run by scripts/test.

Usage: standard_webhooks.py ORACLE_BINARY
"""

import base64
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    oracle = sys.argv[1]
    lines = subprocess.run([oracle, "sign"], check=True, capture_output=True, text=True).stdout.splitlines()
    checked = 0
    for line in lines:
        case = json.loads(line)
        for secret in case["secrets"]:
            headers = {"webhook-id": case["id"], "webhook-timestamp": str(case["timestamp"]),
                       "webhook-signature": case["signature"]}
            wh = Webhook(secret)
            try:
                verify_at(wh, case["body"], headers, case["timestamp"])
            except WebhookVerificationError as e:
                sys.exit(f"the reference library refused our signature ({e}): {case['id']}")
            tampered = case["body"][:-1] + ("!" if not case["body"].endswith("!") else "?")
            try:
                verify_at(wh, tampered, headers, case["timestamp"])
                sys.exit(f"the reference library accepted a tampered body: {case['id']}")
            except WebhookVerificationError:
                pass
            checked += 1

    # The other way: the library signs, we verify.
    cases, expected = [], []
    for i in range(20):
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        body = json.dumps({"type": "invoice.paid", "data": {"n": i, "note": "é" * i}})
        msg_id = f"msg_lib_{i}"
        ts = 1_795_000_000 + i
        signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
        if i % 4 == 3:
            body += " "  # tampered after signing
            expected.append("BadSignature")
        else:
            expected.append("ok")
        cases.append(json.dumps({"secret": secret, "id": msg_id, "timestamp": ts, "body": body, "signature": signature}))
    got = subprocess.run([oracle, "verify"], input="\n".join(cases) + "\n", check=True,
                         capture_output=True, text=True).stdout.split()
    if got != expected:
        sys.exit(f"our verifier disagrees with the reference library: {got} != {expected}")
    print(f"standard webhooks: {checked} of our signatures verified by the reference library, "
          f"{len(cases)} of its verified by ours")


def verify_at(wh, body, headers, ts):
    """Verifies as the library does, at time `ts` (its tolerance is 5 minutes)."""
    import standardwebhooks.webhooks as module
    real = module.datetime

    class Frozen(real):
        @classmethod
        def now(cls, tz=None):
            return real.fromtimestamp(ts, tz=tz or timezone.utc)

    module.datetime = Frozen
    try:
        return wh.verify(body, headers)
    finally:
        module.datetime = real


if __name__ == "__main__":
    main()
