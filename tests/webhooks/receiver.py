"""A webhook receiver for the tests: verifies every delivery with the Standard Webhooks reference
library (PyPI `standardwebhooks`) and logs it as a JSON line. The path chooses the answer:

  /ok…      200
  /flaky…   500 to the first two calls on that path, then 200
  /down…    503, always
  /slow…    the first call waits 3 seconds (longer than the tests' timeout), then 200

Secrets are read, per path, from `secrets.json` in the working directory (the test writes it once
the endpoints are registered). Usage: receiver.py PORT DIRECTORY
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

PORT = int(sys.argv[1])
DIRECTORY = sys.argv[2]
LOCK = threading.Lock()
CALLS = {}


def secret_for(path):
    with open(os.path.join(DIRECTORY, "secrets.json"), encoding="utf-8") as file:
        return json.load(file).get(path)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with LOCK:
            CALLS[self.path] = CALLS.get(self.path, 0) + 1
            call = CALLS[self.path]
        verified, error = False, None
        try:
            secret = secret_for(self.path)
            Webhook(secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
            verified = True
        except Exception as exc:  # the log says why
            error = f"{type(exc).__name__}: {exc}"
        if self.path.startswith("/flaky") and call <= 2:
            status = 500
        elif self.path.startswith("/down"):
            status = 503
        else:
            status = 200
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        entry = {
            "path": self.path,
            "call": call,
            "id": self.headers.get("webhook-id"),
            "verified": verified,
            "error": error,
            "answered": status,
            "payload": payload,
        }
        with LOCK, open(os.path.join(DIRECTORY, "log.jsonl"), "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        if self.path.startswith("/slow") and call == 1:
            time.sleep(3)
        try:
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


with open(os.path.join(DIRECTORY, "ready"), "w", encoding="utf-8") as ready:
    ready.write("ok")
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
