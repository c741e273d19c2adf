#!/usr/bin/env python3
"""A malware-scanner simulator for the end-to-end tests, following Firmament's
scanner port (docs/operations.md, "Files"):

POST /scan with JSON {"url", "sha256", "size"}; headers X-Scan-Timestamp (Unix
seconds) and X-Scan-Signature = hex HMAC-SHA256(secret, timestamp + "." + raw body).
A missing or wrong signature is 401; a timestamp more than 5 minutes from the
simulator's clock is 401. The scanner fetches `url` (a short-lived signed link),
checks the bytes against `sha256` and `size`, and answers
{"status": "clean" | "infected" | "error", "signature", "engine"}: the EICAR test
file and any content whose SHA-256 starts with "deadbeef" are infected.

Test control: POST /_sim/fail?count=N&sha256=HEX makes the next N scans of that
content answer 503 (without sha256: of any content); GET /_sim/scans lists the
scans it answered.

Usage: scanner.py PORT SECRET  (prints "ready" once listening)
"""

import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from simserver import Server

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
LOCK = threading.Lock()
SCANS = []
FAIL = {}
SECRET = b""


class Handler(BaseHTTPRequestHandler):
    server_version = "scanner-sim/1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if urlparse(self.path).path == "/_sim/scans":
            with LOCK:
                return self.answer(200, SCANS)
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == "/_sim/fail":
            query = parse_qs(url.query)
            digest = query.get("sha256", ["*"])[0]
            with LOCK:
                FAIL[digest] = int(query.get("count", ["1"])[0])
            return self.answer(200, {"failing": FAIL[digest], "sha256": digest})
        if url.path != "/scan":
            return self.answer(404, {"error": "not found"})
        stamp = self.headers.get("X-Scan-Timestamp", "")
        given = self.headers.get("X-Scan-Signature", "")
        want = hmac.new(SECRET, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not stamp.isdigit() or not hmac.compare_digest(given, want):
            return self.answer(401, {"error": "bad signature"})
        if abs(time.time() - int(stamp)) > 300:
            return self.answer(401, {"error": "stale timestamp"})
        request = json.loads(body)
        with LOCK:
            for digest in (request.get("sha256"), "*"):
                if FAIL.get(digest, 0) > 0:
                    FAIL[digest] -= 1
                    return self.answer(503, {"error": "scanner busy"})
        try:
            with urllib.request.urlopen(request["url"], timeout=30) as r:
                content = r.read()
        except Exception as e:  # noqa: BLE001 — any fetch failure is the answer
            return self.answer(200, {"status": "error", "signature": None, "engine": "sim", "detail": str(e)})
        digest = hashlib.sha256(content).hexdigest()
        if digest != request.get("sha256") or len(content) != request.get("size"):
            result = {"status": "error", "signature": None, "engine": "sim", "detail": "content does not match"}
        elif EICAR in content[:1024] or digest.startswith("deadbeef"):
            result = {"status": "infected", "signature": "EICAR-Test-File", "engine": "sim"}
        else:
            result = {"status": "clean", "signature": None, "engine": "sim"}
        with LOCK:
            SCANS.append({"sha256": digest, "size": len(content), **result})
        self.answer(200, result)


def main():
    global SECRET
    port, SECRET = int(sys.argv[1]), sys.argv[2].encode()
    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
