"""Faults in front of a real agent: a slow network (for the renew-once
rule) and the 503 a stopping agent gives to calls that reach it while it
shuts down (a window too short to hit on purpose)."""

import json

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_FORWARDED = ("Authorization", "Content-Type", "Tenure-Lease-Key")


#: The agent's answer to a keepalive or release once it is stopping.
STOPPING = {"error": "agent is stopping: it neither renews nor releases tenures any more; "
                     "act only until your last deadline"}


class FaultyProxy:
    """An HTTP proxy to ``upstream`` that holds back the answer to the first
    acquire (a POST that is not a keepalive) by ``delay`` seconds, as a slow
    network would, and, once ``stopping`` is set, answers keepalives and
    releases itself with the 503 of a stopping agent. ``requests`` lists
    (method, path) of every call."""

    def __init__(self, upstream, delay=0.0):
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.stopping = False
        self.requests = []
        self._lock = threading.Lock()
        self._delayed = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                    hold = self.command == "POST" and not self.path.endswith("/keepalive") and not proxy._delayed
                    proxy._delayed = proxy._delayed or hold
                    stopping = proxy.stopping and (self.command == "DELETE" or self.path.endswith("/keepalive"))
                if stopping:
                    self._answer(503, json.dumps(STOPPING).encode())
                    return
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                for name in _FORWARDED:
                    if self.headers.get(name):
                        req.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        status, data = resp.status, resp.read()
                except urllib.error.HTTPError as e:
                    status, data = e.code, e.read()
                    e.close()
                if hold:
                    time.sleep(proxy.delay)  # the slow network this proxy stands for
                self._answer(status, data)

            def _answer(self, status, data):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
