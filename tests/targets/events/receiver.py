"""A real HTTP receiver for the webhook tests: a local server on a free port, in a thread, that
checks each request's signature the way docs/events.md tells receivers to."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from targets.events.signing import verify


class Receiver:
    def __init__(self):
        self.secret = None
        self.fail_next = 0  # answer this many requests 500 before answering 200
        self.received = []  # dicts: delivery, event, type, verified, status, body
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = 500 if receiver.fail_next > 0 else 200
                    receiver.fail_next = max(0, receiver.fail_next - 1)
                    receiver.received.append(
                        {
                            "delivery": self.headers.get("Loyalty-Delivery-Id"),
                            "event": self.headers.get("Loyalty-Event-Id"),
                            "type": self.headers.get("Loyalty-Event-Type"),
                            "verified": verify(
                                receiver.secret or "",
                                self.headers.get("Loyalty-Signature", ""),
                                body,
                                now=int(time.time()),
                            ),
                            "status": status,
                            "path": self.path,
                            "body": json.loads(body),
                        }
                    )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/loyalty?src=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def succeeded(self):
        return [r for r in self.received if r["status"] == 200]
