"""A webhook receiver for tests: a local HTTP server that checks each delivery's Sapa-Signature as a shop's system would."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """A local HTTP server that keeps what it is sent and answers the statuses it is told (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, secret: str) -> list[dict]:
        """The bodies received, each checked against its Sapa-Signature."""
        return [verified(secret, headers, body) for headers, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verified(secret: str, headers: dict, body: bytes) -> dict:
    """The event in `body`, after checking its signature as a receiver would (Stripe's scheme)."""
    parts = dict(item.split("=", 1) for item in headers["sapa-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "bad signature"
    assert headers["content-type"] == "application/json"
    return json.loads(body)


@pytest.fixture
def receiver():
    """A Receiver on 127.0.0.1, closed after the test."""
    server = Receiver()
    yield server
    server.close()
