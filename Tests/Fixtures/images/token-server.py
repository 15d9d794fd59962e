#!/usr/bin/env python3
"""A minimal Docker-registry token server for the tests (registry.sh start ... --auth token).

GET /token?service=S&scope=repository:NAME:pull,push[&scope=...] with HTTP basic
auth USER:PASSWORD returns {"token": JWT, "access_token": JWT, ...}; the JWT grants
every requested action. Without (or with wrong) credentials it answers 401, so an
anonymous client cannot pull. GET /token with no scope and good credentials gives a
token with no access (what `docker login` asks for). POST /token with an OAuth2 form
(grant_type=refresh_token, refresh_token=R, service, scope) gives the same token when R
is the --refresh-token; that is how clients use an identity token.

The JWT is RS256, signed by the `openssl` CLI (python's stdlib has no RSA), and
carries the signing certificate in its `x5c` header; distribution 2.8 checks that
certificate against its `rootcertbundle` and `iss`/`aud` against its config.
Python stdlib + openssl only; listens on 127.0.0.1 only.
"""
import argparse
import base64
import json
import os
import subprocess
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert_der_b64(cert_path):
    der = subprocess.run(["openssl", "x509", "-in", cert_path, "-outform", "DER"],
                         stdout=subprocess.PIPE, check=True).stdout
    return base64.b64encode(der).decode()  # x5c uses standard base64, not base64url


def make_token(args, x5c, subject, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    claims = {"iss": args.issuer, "sub": subject, "aud": args.service,  # 2.8 wants a string aud
              "iat": now, "nbf": now - 10, "exp": now + 300,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.key], input=signing_input,
                         stdout=subprocess.PIPE, check=True).stdout
    return signing_input.decode() + "." + b64url(sig)


def parse_scopes(scopes):
    """`repository:busybox:pull,push` -> access entries; repository names may hold ':' in a port."""
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) < 3:
                continue
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")})
    return access


def main():
    ap = argparse.ArgumentParser()
    for flag in ("--port", "--key", "--cert", "--issuer", "--service", "--user", "--password", "--refresh-token"):
        ap.add_argument(flag, required=True)
    args = ap.parse_args()
    x5c = cert_der_b64(args.cert)
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/token":
                return self.reply(404, {"error": "not found"})
            if self.headers.get("Authorization") != expected:
                return self.reply(401, {"error": "credentials required"},
                                  {"WWW-Authenticate": 'Basic realm="skiff-token"'})
            query = parse_qs(url.query)
            token = make_token(args, x5c, args.user, parse_scopes(query.get("scope", [])))
            self.reply(200, {"token": token, "access_token": token, "expires_in": 300,
                             "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

        def do_POST(self):
            if urlparse(self.path).path != "/token":
                return self.reply(404, {"error": "not found"})
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [args.refresh_token]:
                return self.reply(401, {"error": "invalid_grant"})
            token = make_token(args, x5c, args.user, parse_scopes(form.get("scope", [])))
            self.reply(200, {"access_token": token, "expires_in": 300, "scope": " ".join(form.get("scope", []))})

        def reply(self, code, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer(("127.0.0.1", int(args.port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
