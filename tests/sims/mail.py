#!/usr/bin/env python3
"""A Postmark-compatible mail provider for the end-to-end tests.

Follows the documented contract of Postmark's "send a single email" API:
POST /email with headers `Accept: application/json`, `Content-Type: application/json`
and `X-Postmark-Server-Token`, a JSON body with `From`, `To`, `Subject` and
`TextBody` and/or `HtmlBody` (optionally `MessageStream`, `Tag`); it answers 200 with
`{"To", "SubmittedAt", "MessageID", "ErrorCode": 0, "Message": "OK"}`, 401 with
ErrorCode 10 for a missing or wrong token, and 422 with ErrorCode 300 for an invalid
request.

For the tests it also keeps every accepted message and exposes them:
GET /_sim/messages?to=ADDRESS lists them (newest last), and POST /_sim/fail?count=N
makes the next N sends fail with 500, to exercise retries (with &to=ADDRESS, only the
next N sends to that address, so tests running side by side do not take each
other's failures).

Usage: mail.py PORT TOKEN  (prints "ready" once listening)
"""

import json
import re
import sys
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from simserver import Server

ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCK = threading.Lock()
MESSAGES = []
FAILURES = {"left": 0, "to": None}


class Handler(BaseHTTPRequestHandler):
    server_version = "mail-sim/1"

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/_sim/messages":
            return self.answer(404, {"ErrorCode": 404, "Message": "not found"})
        to = parse_qs(url.query).get("to", [None])[0]
        with LOCK:
            found = [m for m in MESSAGES if to is None or m["To"].lower() == to.lower()]
        self.answer(200, found)

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if url.path == "/_sim/fail":
            query = parse_qs(url.query)
            count = int(query.get("count", ["1"])[0])
            with LOCK:
                FAILURES["left"] = count
                FAILURES["to"] = query.get("to", [None])[0]
            return self.answer(200, {"failing_next": count})
        if url.path != "/email":
            return self.answer(404, {"ErrorCode": 404, "Message": "not found"})
        if self.headers.get("X-Postmark-Server-Token") != self.server.token:
            return self.answer(401, {"ErrorCode": 10, "Message": "Request does not contain a valid Server token."})
        try:
            body = json.loads(raw)
        except ValueError:
            return self.answer(422, {"ErrorCode": 300, "Message": "Invalid JSON"})
        with LOCK:
            target = FAILURES["to"]
            concerned = target is None or str(body.get("To", "")).lower() == target.lower()
            if FAILURES["left"] > 0 and concerned:
                FAILURES["left"] -= 1
                return self.answer(500, {"ErrorCode": 500, "Message": "Simulated outage"})
        problems = [f for f in ("From", "To", "Subject") if not isinstance(body.get(f), str) or not body.get(f)]
        if not body.get("TextBody") and not body.get("HtmlBody"):
            problems.append("TextBody or HtmlBody")
        if problems:
            return self.answer(422, {"ErrorCode": 300, "Message": "Missing: " + ", ".join(problems)})
        if not ADDRESS.match(body["To"]) or not ADDRESS.match(body["From"].split("<")[-1].rstrip(">")):
            return self.answer(422, {"ErrorCode": 300, "Message": "Invalid 'To' or 'From' address"})
        message_id = str(uuid.uuid4())
        submitted = datetime.now(timezone.utc).isoformat()
        with LOCK:
            MESSAGES.append({**body, "MessageID": message_id, "SubmittedAt": submitted})
        self.answer(200, {"To": body["To"], "SubmittedAt": submitted, "MessageID": message_id, "ErrorCode": 0, "Message": "OK"})


def main():
    port, token = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), Handler)
    server.token = token
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
