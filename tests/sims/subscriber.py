#!/usr/bin/env python3
"""A module for the end-to-end tests of event fan-out and of jobs.

The dispatcher hands every event to the modules subscribed to its type over their
service bindings, and the jobs worker hands each job to the module that runs it. In
the tests one more module takes part: a tiny worker (probe/worker.js) subscribed to
every event type and running the probe job types, which forwards each hand-over
here, so that a test can see what the module received and script its answers.

POST /deliver                 an event envelope; answers 204, or the status a test asked for
POST /_sim/fail               {"match": TEXT, "count": N, "status": 500}: the next N
                              hand-overs whose body contains TEXT answer `status`
GET  /_sim/deliveries?firm=F  every hand-over of firm F's events, oldest first:
                              {"event_id", "type", "answered"}

POST /job                     a job hand-over; answers 200 {"ran": job_id}, or what a
                              plan scripted
POST /_sim/job-plan           {"match": TEXT, "answers": [{"status": 503, "delay_ms": 0,
                              "retry_after": null}, ...]}: the next hand-overs whose body
                              contains TEXT answer these, in order
GET  /_sim/jobs?firm=F        every job hand-over of firm F, oldest first: {"job_id",
                              "type", "attempt", "idempotency_key", "traceparent",
                              "started", "finished", "answered"} (times in Unix ms)

Usage: subscriber.py PORT  (prints "ready" once listening)
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from simserver import Server

LOCK = threading.Lock()
DELIVERIES = []
FAILURES = {}
JOBS = []
PLANS = {}


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
        firm = parse_qs(url.query).get("firm", [""])[0]
        if url.path == "/_sim/deliveries":
            with LOCK:
                found = [d for d in DELIVERIES if d["firm_id"] == firm]
            return self.answer(200, found)
        if url.path == "/_sim/jobs":
            with LOCK:
                found = [j for j in JOBS if j["firm_id"] == firm]
            return self.answer(200, found)
        self.answer(404, {"error": "not found"})

    def job(self, raw, body):
        if not isinstance(body, dict) or not {"job_id", "type", "firm_id", "idempotency_key"} <= body.keys():
            return self.answer(400, {"error": "not a job hand-over"})
        text = raw.decode("utf-8", "replace")
        plan = {"status": 200, "delay_ms": 0, "retry_after": None}
        with LOCK:
            for match, answers in PLANS.items():
                if answers and match in text:
                    plan = {**plan, **answers.pop(0)}
                    break
            record = {"job_id": body["job_id"], "type": body["type"], "firm_id": body["firm_id"],
                      "attempt": body.get("attempt"), "idempotency_key": body["idempotency_key"],
                      "traceparent": self.headers.get("traceparent"),
                      "started": int(time.time() * 1000), "finished": None, "answered": plan["status"]}
            JOBS.append(record)
        time.sleep(plan["delay_ms"] / 1000)
        with LOCK:
            record["finished"] = int(time.time() * 1000)
        status = plan["status"]
        if status < 300:
            return self.answer(status, {"ran": body["job_id"]})
        data = json.dumps({"error": "failing on command"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if plan["retry_after"] is not None:
            self.send_header("Retry-After", str(plan["retry_after"]))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
        if url.path == "/_sim/job-plan":
            with LOCK:
                PLANS[body["match"]] = list(body["answers"])
            return self.answer(204)
        if url.path == "/job":
            return self.job(raw, body)
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
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    print("ready", flush=True)
    server.serve_forever()
