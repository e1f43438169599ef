#!/usr/bin/env python3
"""An OTLP/HTTP trace sink for the benchmark: accepts every export on 127.0.0.1:PORT
(POST /v1/traces), counts the requests and bytes, and answers with an empty
ExportTraceServiceResponse. It keeps nothing: it stands for a collector that keeps up, so that
the benchmark measures what tracing costs Legate.

    python3 otlp_sink.py PORT COUNT_FILE
"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sink(BaseHTTPRequestHandler):
    exports = 0
    received = 0

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        Sink.exports += 1
        Sink.received += length
        with open(sys.argv[2], "w", encoding="utf-8") as counts:
            counts.write(f"{Sink.exports} {Sink.received}\n")
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
