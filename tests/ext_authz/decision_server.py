#!/usr/bin/env python3
"""A compliance service for the ext_authz end-to-end tests, speaking Legate's check protocol.

Every check request is appended, one JSON object per line, to the log file the test reads.
Decisions go by the To user:
  blocked...  -> deny 403 with a reason (quotes and a line break included, to be sanitised)
  otherwise   -> allow, asking Legate to add `X-Compliance: checked`

Usage: decision_server.py PORT LOG [CERTIFICATE KEY]   (with a certificate and key: HTTPS)
Listens on 127.0.0.1 only.
"""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, so Legate's connection pool is exercised.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        check = json.loads(self.rfile.read(length))
        with open(self.server.log, "a", encoding="utf-8") as log:
            log.write(json.dumps(check) + "\n")
        user = check.get("to", "").split(":", 1)[-1]
        if user.startswith("blocked"):
            answer = {
                "result": "deny",
                "status": 403,
                "reason": 'Blocked by "compliance"\r\narchive required',
                "case": "C-17",
            }
        else:
            answer = {
                "result": "allow",
                "headers": {"set": [{"name": "X-Compliance", "value": "checked"}]},
            }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.log = log
    if len(sys.argv) == 5:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
