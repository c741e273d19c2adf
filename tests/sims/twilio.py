#!/usr/bin/env python3
"""A Twilio Programmable Messaging simulator for the end-to-end tests.

Follows the documented contract of "Create a Message":
POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth with the
Account SID and Auth Token, form-encoded `To`, `From` (or `MessagingServiceSid`)
and `Body`. Success is 201 with the message resource (`sid` "SM…", `status`
"queued", `to`, `from`, `body`, `account_sid`, `date_created`); errors are Twilio's
JSON form `{"code", "message", "more_info", "status"}`: 401/20003 for bad
credentials, 400/21211 for an invalid `To`, 400/21602 for a missing `Body`.

Test control: GET /_sim/messages?to=+15551234567 lists accepted messages.

Usage: twilio.py PORT ACCOUNT_SID AUTH_TOKEN  (prints "ready" once listening)
"""

import base64
import json
import re
import secrets
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from simserver import Server

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
LOCK = threading.Lock()
MESSAGES = []


class Handler(BaseHTTPRequestHandler):
    server_version = "twilio-sim/1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.answer(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/_sim/messages":
            return self.error(404, 20404, "The requested resource was not found")
        to = parse_qs(url.query).get("to", [None])[0]
        with LOCK:
            self.answer(200, [m for m in MESSAGES if to is None or m["to"] == to])

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        match = re.fullmatch(r"/2010-04-01/Accounts/([^/]+)/Messages\.json", url.path)
        if not match:
            return self.error(404, 20404, "The requested resource was not found")
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.server.sid}:{self.server.token}".encode()).decode()
        if match.group(1) != self.server.sid or auth != expected:
            return self.error(401, 20003, "Authenticate")
        if not E164.match(form.get("To", "")):
            return self.error(400, 21211, f"The 'To' number {form.get('To', '')} is not a valid phone number.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return self.error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not form.get("Body"):
            return self.error(400, 21602, "Message body is required.")
        message = {"sid": "SM" + secrets.token_hex(16), "account_sid": self.server.sid, "to": form["To"],
                   "from": form.get("From"), "body": form["Body"], "status": "queued", "num_segments": "1",
                   "direction": "outbound-api", "date_created": datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")}
        with LOCK:
            MESSAGES.append(message)
        self.answer(201, message)


def main():
    port, sid, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = Server(("127.0.0.1", port), Handler)
    server.sid, server.token = sid, token
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
