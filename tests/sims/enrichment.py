#!/usr/bin/env python3
"""A company-and-person data provider simulator for the end-to-end tests, following
the Clearbit Combined API's documented contract:

GET /v2/combined/find?email=ADDRESS (or ?domain=DOMAIN), with the API key as a
bearer token (Authorization: Bearer KEY). Answers:
  200 {"person": {...} | null, "company": {...} | null}  — found
  202 with Retry-After                                    — still looking, ask again
  404 {"error": {"type": "unknown_record"}}               — nothing known
  401 {"error": {"type": "auth_required"}}                — a missing or wrong key
  422 {"error": {"type": "invalid_email"}}                — neither parameter
  429 with Retry-After                                    — slow down

The domain (of the address, or given) picks the fixture: engines.example is known
at once; slow.example answers 202 on its first lookup, busy.example 429 on its
first, broken.example 500 every time; any other domain is unknown.

Test control: GET /_sim/lookups lists the lookups answered (query and status).

Usage: enrichment.py PORT KEY  (prints "ready" once listening)
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from simserver import Server

LOCK = threading.Lock()
LOOKUPS = []
SEEN = {}
KEY = ""


def company(name, domain, industry, employees, country):
    return {"name": name, "domain": domain, "category": {"industry": industry, "sector": None},
            "metrics": {"employees": employees}, "geo": {"countryCode": country}, "phone": None}


FIXTURES = {
    "engines.example": company("Analytical Engines Ltd", "engines.example", "Machinery", 120, "GB"),
    "slow.example": company("Slow Lorises SARL", "slow.example", "Zoology", 8, "FR"),
    "busy.example": company("Busy Bees GmbH", "busy.example", "Agriculture", 45, "DE"),
}


class Handler(BaseHTTPRequestHandler):
    server_version = "enrichment-sim/1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, retry_after=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/_sim/lookups":
            with LOCK:
                return self.answer(200, LOOKUPS)
        if url.path != "/v2/combined/find":
            return self.answer(404, {"error": {"type": "not_found"}})
        if self.headers.get("Authorization", "") != f"Bearer {KEY}":
            return self.answer(401, {"error": {"type": "auth_required", "message": "API key is missing or wrong"}})
        query = parse_qs(url.query)
        email = query.get("email", [None])[0]
        domain = query.get("domain", [None])[0]
        if email is None and domain is None:
            return self.answer(422, {"error": {"type": "invalid_email", "message": "email or domain is required"}})
        domain = (domain or email.rsplit("@", 1)[-1]).lower()
        key = email or domain
        with LOCK:
            SEEN[key] = SEEN.get(key, 0) + 1
            first = SEEN[key] == 1
        status, body, retry = self.decide(domain, email, first)
        with LOCK:
            LOOKUPS.append({"email": email, "domain": domain, "status": status})
        self.answer(status, body, retry)

    @staticmethod
    def decide(domain, email, first):
        if domain == "broken.example":
            return 500, {"error": {"type": "server_error"}}, None
        if domain == "slow.example" and first:
            return 202, {}, 1
        if domain == "busy.example" and first:
            return 429, {"error": {"type": "rate_limit"}}, 1
        found = FIXTURES.get(domain)
        if found is None:
            return 404, {"error": {"type": "unknown_record", "message": "Unknown email address"}}, None
        person = None
        if email:
            local = email.split("@", 1)[0]
            person = {"name": {"fullName": local.replace(".", " ").title()}, "email": email,
                      "employment": {"title": "Chief Technology Officer", "domain": domain, "name": found["name"]},
                      "geo": {"countryCode": found["geo"]["countryCode"]}}
        return 200, {"person": person, "company": found}, None


def main():
    global KEY
    port, KEY = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
