#!/usr/bin/env python3
"""A firm's own system receiving Firmament's webhooks, and the DNS it is found by.

Every delivery to /hooks/NAME is verified with the Standard Webhooks reference
library (`standardwebhooks`, PyPI), an implementation that is not ours, against each
secret the test gave for NAME; the record says which secrets verified. The receiver
answers what the test scripted for NAME: 2xx, 4xx, 5xx, 410, 429 with Retry-After, a
redirect, or a reply slower than the sender's timeout.

POST /hooks/NAME              a delivery: verified, recorded, answered per the script
POST /_sim/endpoints/NAME     {"secrets": ["whsec_..."], "plan": [{"status": 500,
                              "retry_after": 60, "location": URL, "delay_ms": 0,
                              "body": TEXT}], "default": {"status": 204}}: the next
                              deliveries answer the plan in order, then the default
GET  /_sim/deliveries/NAME    every delivery to NAME, oldest first: {"id", "timestamp",
                              "type", "body", "verified_with" (indices of the secrets
                              that verified), "verified", "answered", "at", "headers"}
GET  /dns-query?name=&type=   DNS-over-HTTPS, JSON answers (application/dns-json): names
                              under .private.test resolve to 10.0.0.7, metadata.test to
                              169.254.169.254, v6.private.test to fd00::7, public.test to
                              93.184.216.34; everything else is NXDOMAIN
POST /_sim/dns                {"name": N, "type": "A", "data": ["1.2.3.4"]}: add a record

Each verified delivery is printed as one line, so `scripts/dev` shows the demo
firm's deliveries as they arrive.

Usage: webhook_receiver.py PORT  (prints "ready" once listening)
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from simserver import Server

LOCK = threading.Lock()
ENDPOINTS = {}  # name -> {"secrets": [...], "plan": [...], "default": {...}}
DELIVERIES = {}  # name -> [record]
DNS = {
    ("metadata.test", "A"): ["169.254.169.254"],
    ("public.test", "A"): ["93.184.216.34"],
    ("v6.private.test", "AAAA"): ["fd00::7"],
}


def resolve(name, kind):
    name = name.rstrip(".").lower()
    with LOCK:
        if (name, kind) in DNS:
            return DNS[(name, kind)]
        if any(n == name for (n, _) in DNS):
            return []
    if name.endswith(".private.test"):
        return ["10.0.0.7"] if kind == "A" else []
    return None


class Handler(BaseHTTPRequestHandler):
    server_version = "webhook-receiver-sim/1"

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body=b"", headers=(), content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def raw(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/dns-query":
            q = parse_qs(url.query)
            name = (q.get("name") or [""])[0]
            kind = (q.get("type") or ["A"])[0].upper()
            found = resolve(name, kind)
            code = {"A": 1, "AAAA": 28}.get(kind, 1)
            if found is None:
                doc = {"Status": 3, "Question": [{"name": name, "type": code}]}
            else:
                doc = {"Status": 0, "Question": [{"name": name, "type": code}],
                       "Answer": [{"name": name, "type": code, "TTL": 60, "data": d} for d in found]}
            return self.answer(200, doc, content_type="application/dns-json")
        if url.path.startswith("/_sim/deliveries/"):
            name = url.path.rsplit("/", 1)[-1]
            with LOCK:
                return self.answer(200, list(DELIVERIES.get(name, [])))
        return self.answer(404, {"error": "no such path"})

    def do_POST(self):
        url = urlparse(self.path)
        body = self.raw()
        if url.path.startswith("/_sim/endpoints/"):
            name = url.path.rsplit("/", 1)[-1]
            spec = json.loads(body or b"{}")
            with LOCK:
                ENDPOINTS[name] = {"secrets": spec.get("secrets", []), "plan": list(spec.get("plan", [])),
                                   "default": spec.get("default", {"status": 204})}
            return self.answer(204)
        if url.path == "/_sim/dns":
            spec = json.loads(body or b"{}")
            with LOCK:
                DNS[(spec["name"].lower(), spec.get("type", "A").upper())] = spec.get("data", [])
            return self.answer(204)
        if url.path.startswith("/hooks/"):
            return self.delivery(url.path.split("/", 2)[-1], body)
        return self.answer(404, {"error": "no such path"})

    def delivery(self, name, body):
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            spec = ENDPOINTS.setdefault(name, {"secrets": [], "plan": [], "default": {"status": 204}})
            secrets = list(spec["secrets"])
            step = spec["plan"].pop(0) if spec["plan"] else spec["default"]
        verified_with = []
        for i, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(body, {k: headers.get(k, "") for k in
                                              ("webhook-id", "webhook-timestamp", "webhook-signature")})
                verified_with.append(i)
            except WebhookVerificationError:
                pass
        try:
            kind = json.loads(body).get("type")
        except ValueError:
            kind = None
        status = int(step.get("status", 204))
        record = {"id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"),
                  "type": kind, "body": body.decode("utf-8", "replace"), "verified_with": verified_with,
                  "verified": bool(verified_with), "answered": status, "at": int(time.time() * 1000),
                  "headers": {k: v for k, v in headers.items() if k not in ("webhook-signature",)}}
        with LOCK:
            DELIVERIES.setdefault(name, []).append(record)
        if verified_with:
            print(f"verified delivery {record['id']} of {kind} to /hooks/{name}: {record['body']}", flush=True)
        else:
            print(f"UNVERIFIED delivery {record['id']} to /hooks/{name}", flush=True)
        delay = step.get("delay_ms", 0)
        if delay:
            time.sleep(delay / 1000)
        extra = []
        if step.get("retry_after") is not None:
            extra.append(("Retry-After", str(step["retry_after"])))
        if step.get("location"):
            extra.append(("Location", step["location"]))
        try:
            self.answer(status, step.get("body", "").encode(), extra, content_type="text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    port = int(sys.argv[1])
    server = Server(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
