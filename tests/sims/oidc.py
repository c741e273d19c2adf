#!/usr/bin/env python3
"""An OpenID Connect provider for the end-to-end tests, standing in for Google and
Microsoft (one issuer each, under /google and /microsoft).

It follows the OpenID Connect Core and Discovery contracts the client relies on:
`/.well-known/openid-configuration`, a JWKS with RS256 keys (`kid`, `n`, `e`), an
authorization endpoint that requires `response_type=code`, a registered
`client_id` and `redirect_uri`, `state`, `nonce` and a PKCE S256 challenge and
redirects back with `code` and `state`, and a token endpoint (client_secret_post or
HTTP Basic) that checks the code once, the redirect URI and the PKCE verifier, and
returns a signed ID token with `iss`, `sub`, `aud`, `exp`, `iat`, `nonce`, `email`
and `email_verified` (Microsoft's also as `xms_edov`). Errors use the OAuth JSON form.

There is no login page: the user is the `login_hint` of the authorization request.
Test controls: POST /_sim/users {"email", "email_verified"} sets how an address
signs in; POST /{provider}/_sim/rotate replaces the signing key.

Usage: oidc.py PORT CLIENT_ID CLIENT_SECRET  (prints "ready" once listening)
"""

import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlparse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from simserver import Server

LOCK = threading.Lock()
USERS = {}
CODES = {}
KEYS = {}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key(provider):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    KEYS[provider] = (f"{provider}-{secrets.token_hex(4)}", key)


def jwk(provider):
    kid, key = KEYS[provider]
    numbers = key.public_key().public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": b64url(n), "e": b64url(e)}


def sign(provider, claims):
    kid, key = KEYS[provider]
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{b64url(signature)}"


class Handler(BaseHTTPRequestHandler):
    server_version = "oidc-sim/1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def oauth_error(self, status, error, description):
        self.answer(status, {"error": error, "error_description": description})

    def issuer(self, provider):
        return f"http://127.0.0.1:{self.server.server_port}/{provider}"

    def route(self):
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/", 1)
        provider = parts[0] if parts and parts[0] in KEYS else None
        rest = "/" + (parts[1] if len(parts) > 1 else "")
        return url, provider, rest

    def do_GET(self):
        url, provider, rest = self.route()
        if provider is None:
            return self.oauth_error(404, "not_found", "unknown path")
        if rest == "/.well-known/openid-configuration":
            base = self.issuer(provider)
            return self.answer(200, {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            })
        if rest == "/jwks":
            return self.answer(200, {"keys": [jwk(provider)]})
        if rest == "/authorize":
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            if q.get("response_type") != "code":
                return self.oauth_error(400, "unsupported_response_type", "only code")
            if q.get("client_id") != self.server.client_id:
                return self.oauth_error(400, "unauthorized_client", "unknown client_id")
            for required in ("redirect_uri", "state", "nonce", "code_challenge", "login_hint"):
                if not q.get(required):
                    return self.oauth_error(400, "invalid_request", f"{required} is required")
            if q.get("code_challenge_method") != "S256":
                return self.oauth_error(400, "invalid_request", "code_challenge_method must be S256")
            if "openid" not in q.get("scope", "").split():
                return self.oauth_error(400, "invalid_scope", "openid is required")
            code = secrets.token_urlsafe(24)
            with LOCK:
                CODES[code] = {"provider": provider, "redirect_uri": q["redirect_uri"], "challenge": q["code_challenge"],
                               "nonce": q["nonce"], "email": q["login_hint"].lower(), "issued": time.time()}
            location = q["redirect_uri"] + ("&" if "?" in q["redirect_uri"] else "?") + urlencode({"code": code, "state": q["state"]})
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.oauth_error(404, "not_found", "unknown path")

    def do_POST(self):
        url, provider, rest = self.route()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if url.path == "/_sim/users":
            user = json.loads(raw)
            with LOCK:
                USERS[user["email"].lower()] = user
            return self.answer(200, user)
        if provider and rest == "/_sim/rotate":
            new_key(provider)
            return self.answer(200, {"kid": KEYS[provider][0]})
        if provider is None or rest != "/token":
            return self.oauth_error(404, "not_found", "unknown path")
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.server.client_id or client_secret != self.server.client_secret:
            return self.oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return self.oauth_error(400, "unsupported_grant_type", "only authorization_code")
        with LOCK:
            grant = CODES.pop(form.get("code", ""), None)
        if grant is None or grant["provider"] != provider or time.time() - grant["issued"] > 300:
            return self.oauth_error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self.oauth_error(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
            return self.oauth_error(400, "invalid_grant", "PKCE verification failed")
        email = grant["email"]
        with LOCK:
            user = USERS.get(email, {"email": email, "email_verified": True})
        now = int(time.time())
        claims = {"iss": self.issuer(provider), "sub": "sub-" + hashlib.sha256(f"{provider}:{email}".encode()).hexdigest()[:20],
                  "aud": self.server.client_id, "iat": now, "exp": now + 3600, "nonce": grant["nonce"],
                  "email": email, "email_verified": bool(user.get("email_verified", True)), "name": email.split("@")[0]}
        if provider == "microsoft":
            claims["xms_edov"] = claims["email_verified"]
        self.answer(200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 3600,
                          "scope": "openid email profile", "id_token": sign(provider, claims)})


def main():
    port, client_id, client_secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    for provider in ("google", "microsoft"):
        new_key(provider)
    server = Server(("127.0.0.1", port), Handler)
    server.client_id, server.client_secret = client_id, client_secret
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
