#!/usr/bin/env python3
"""A stand-in for Slack, PagerDuty and webhook receivers on loopback.

    receiver.py PORT DIR

Every POST is appended to DIR/requests.jsonl as one JSON object
{"path", "t", "body"} (body parsed as JSON when it is JSON), then answered
as DIR/mode says: a line "STATUS [RETRY-AFTER]" per path prefix, e.g.
"/pd 500" or "/slack 429 2", "hang" for a receiver that answers 200
only after 5 s, "stall" for one that reads the request and never
answers (recorded with status 0; the connection is dropped once the mode
changes), or "flaky" for one that answers 500 a third of the time and is
sometimes slow (one answer in ten after 0.5 to 3 s); paths without a line
get 200 (PagerDuty's path /pd gets
202, as PagerDuty answers). Write DIR/mode to change the
behaviour while it runs; stop the process to be "down".
"""
import json
import os
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, folder = int(sys.argv[1]), sys.argv[2]
flaky = random.Random(12)


def behaviour(path):
    try:
        with open(os.path.join(folder, "mode")) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and path.startswith(parts[0]):
                    if parts[1] in ("hang", "stall", "flaky"):
                        return parts[1], None
                    return int(parts[1]), (parts[2] if len(parts) > 2 else None)
    except FileNotFoundError:
        pass
    return (202 if path.startswith("/pd") else 200), None


def record(path, status, body):
    with open(os.path.join(folder, "requests.jsonl"), "a") as f:
        f.write(json.dumps({"path": path, "t": time.time(),
                            "status": status, "body": body}) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        status, retry_after = behaviour(self.path)
        if status == "stall":
            record(self.path, 0, body)
            while behaviour(self.path)[0] == "stall":
                time.sleep(0.1)
            self.close_connection = True
            return
        if status == "hang":
            time.sleep(5)
            status = 200
        elif status == "flaky":
            if flaky.random() < 0.1:
                time.sleep(flaky.uniform(0.5, 3))
            status = 500 if flaky.random() < 1 / 3 else 200
        record(self.path, status, body)
        answer = json.dumps({"status": "success" if status < 300 else "error",
                             "message": "mode %d" % status}).encode()
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(os.path.join(folder, "ready"), "w") as f:
    f.write("%d\n" % os.getpid())
server.serve_forever()
