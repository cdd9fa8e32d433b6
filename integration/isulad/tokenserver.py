#!/usr/bin/env python3
"""tokenserver.py PORT TLS_CERT TLS_KEY DIR ISSUER USER PASSWORD

A bearer-token service for the docker-registry "token" instance of check.sh, HTTPS on
127.0.0.1:PORT. At start it makes a self-signed RS256 signing certificate DIR/signer.crt
(the registry's rootcertbundle). GET /token?service=S&scope=repository:NAME:ACTIONS with
Basic USER:PASSWORD answers {"token": JWT, "expires_in": 300} granting the asked actions;
other or missing credentials get 401. GET /healthz answers 200. Stops on SIGTERM.
Needs python3-cryptography.
"""
import base64
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_signer(d):
    key, crt = os.path.join(d, "signer.key"), os.path.join(d, "signer.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                    "-days", "30", "-subj", "/CN=isulad-check token signer",
                    "-keyout", key, "-out", crt + ".tmp"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(key, "rb") as f:
        private = serialization.load_pem_private_key(f.read(), password=None)
    with open(crt + ".tmp", "rb") as f:
        pem = f.read()
    der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    os.rename(crt + ".tmp", crt)  # the harness waits for this file
    return private, base64.b64encode(der).decode()


def main():
    port, cert, tls_key, d, issuer, user, password = sys.argv[1:8]
    private, x5c = make_signer(d)
    want = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()

    def token(service, scopes):
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) >= 3:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                               "actions": parts[-1].split(",")})
        now = int(time.time())
        head = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
        claims = {"iss": issuer, "sub": user, "aud": service, "iat": now, "nbf": now - 10,
                  "exp": now + 300, "jti": b64url(os.urandom(12)), "access": access}
        signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
        sig = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("tokenserver: " + (fmt % args) + "\n")

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            if url.path == "/healthz":
                return self.reply(200, {})
            if url.path != "/token":
                return self.reply(404, {"error": "not found"})
            if self.headers.get("Authorization") != want:
                return self.reply(401, {"error": "check credentials"})
            q = urllib.parse.parse_qs(url.query)
            return self.reply(200, {"token": token(q.get("service", [""])[0], q.get("scope", [])),
                                    "expires_in": 300})

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, tls_key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()
