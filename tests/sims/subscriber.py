#!/usr/bin/env python3
"""A subscribing module for the end-to-end tests of event fan-out.

The dispatcher hands every event to the modules subscribed to its type over their
service bindings. In the tests one more module is subscribed to every type: a tiny
worker (probe/worker.js) that forwards each hand-over here, so that a test can see
what a subscriber received and make it fail.

POST /deliver                 an event envelope; answers 204, or the status a test asked for
POST /_sim/fail               {"match": TEXT, "count": N, "status": 500}: the next N
                              hand-overs whose body contains TEXT answer `status`
GET  /_sim/deliveries?firm=F  every hand-over of firm F's events, oldest first:
                              {"event_id", "type", "answered"}

Usage: subscriber.py PORT  (prints "ready" once listening)
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
DELIVERIES = []
FAILURES = {}


class Handler(BaseHTTPRequestHandler):
    server_version = "subscriber-sim/1"

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def raw(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/_sim/deliveries":
            return self.answer(404, {"error": "not found"})
        firm = parse_qs(url.query).get("firm", [""])[0]
        with LOCK:
            found = [d for d in DELIVERIES if d["firm_id"] == firm]
        self.answer(200, found)

    def do_POST(self):
        url = urlparse(self.path)
        raw = self.raw()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return self.answer(400, {"error": "not JSON"})
        if url.path == "/_sim/fail":
            with LOCK:
                FAILURES[body["match"]] = [int(body["count"]), int(body.get("status", 500))]
            return self.answer(204)
        if url.path != "/deliver":
            return self.answer(404, {"error": "not found"})
        if not isinstance(body, dict) or not {"id", "type", "firm_id", "data"} <= body.keys():
            return self.answer(400, {"error": "not an event envelope"})
        with LOCK:
            answered = 204
            text = raw.decode("utf-8", "replace")
            for match, (left, status) in FAILURES.items():
                if left > 0 and match in text:
                    FAILURES[match] = [left - 1, status]
                    answered = status
                    break
            DELIVERIES.append({"event_id": body["id"], "type": body["type"],
                               "firm_id": body["firm_id"], "answered": answered})
        if answered == 204:
            return self.answer(204)
        self.answer(answered, {"error": "failing on command"})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
