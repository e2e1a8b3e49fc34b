"""Shared machinery for the fake platform API servers (LINE, Telegram).

A :class:`FakeServer` is a tiny WSGI application served by werkzeug's threaded
development server on ``127.0.0.1`` (random free port) in a daemon thread.
Subclasses implement :meth:`FakeServer.handle` and :meth:`FakeServer.target_of`;
this module provides everything else:

* start/stop (also as a context manager) and ``url``;
* thread-safe request recording (:class:`Recorded`), or count-only mode
  (``fake.record = False``) for benchmarks;
* ``calls(target)``, ``wait_for(target, count, timeout)``;
* failure injection with ``fail_next(target, status, body, times, headers)``;
* ``delay`` (artificial latency per request, slept outside the lock);
* ``reset()`` back to the pristine state.

Usage::

    with FakeLine() as fake:            # or fake.start() / fake.stop()
        cfg = Configuration(access_token="test-line-token", host=fake.url)
        ...
        assert fake.calls("/v2/bot/message/push")

All request handling happens while holding one lock (``fake.lock``), so the
state of a fake can be inspected from the test thread without races; the
handlers are cheap enough for thousands of requests per second.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

__all__ = ["CIDict", "Recorded", "Reply", "FakeServer"]


class CIDict(dict):
    """A dict of HTTP headers with case-insensitive lookups (keys stored lower-case)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        """Return the header value, looked up case-insensitively."""
        return super().get(key.lower(), default)


@dataclass
class Recorded:
    """One request that reached a fake server."""

    method: str                    # HTTP method: "GET", "POST", ...
    path: str                      # URL path, e.g. "/v2/bot/message/push"
    headers: CIDict                # request headers (case-insensitive get)
    json: Any                      # parsed JSON body, or form fields (Telegram)
    raw: bytes                     # the raw request body
    time: float                    # time.monotonic() on arrival
    query: dict = field(default_factory=dict)   # query-string parameters
    target: str = ""               # LINE: path; Telegram: API method name
    files: dict = field(default_factory=dict)   # multipart uploads: name -> (filename, bytes)
    status: int | None = None      # response status, filled in after handling
    response: Any = None           # response body (parsed JSON) that was sent

    def header(self, name: str, default: Any = None) -> Any:
        """Return a request header, case-insensitively."""
        return self.headers.get(name, default)


class Reply:
    """A response produced by a handler: status, JSON-able body (or bytes), headers."""

    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int = 200, body: Any = None, headers: dict | None = None,
                 content_type: str | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type

    def encode(self) -> tuple[str, list[tuple[str, str]], bytes]:
        """Return (WSGI status line, header list, body bytes) for this reply."""
        if isinstance(self.body, (bytes, bytearray)):
            data = bytes(self.body)
            ctype = self.content_type or "application/octet-stream"
        else:
            data = b"" if self.body is None else json.dumps(self.body, separators=(",", ":")).encode()
            ctype = self.content_type or "application/json"
        headers = [("Content-Type", ctype), ("Content-Length", str(len(data)))]
        headers.extend((str(k), str(v)) for k, v in self.headers.items())
        return f"{self.status} {HTTP_STATUS_CODES.get(self.status, 'Unknown')}", headers, data


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug request handler with HTTP/1.1 keep-alive and no per-request logging.

    werkzeug's own ``run_wsgi`` closes the connection after every response, which caps a
    single client at a few hundred requests per second (new TCP connection and thread each
    time).  Request bodies here are small and always sized (Content-Length or chunked), so
    this handler reads the whole body, runs the WSGI app and writes a sized response,
    keeping the connection open for SDK connection pools (urllib3, httpx).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60  # idle keep-alive connections are dropped after a minute

    def setup(self) -> None:
        """Register the connection so stop() can drop it."""
        super().setup()
        self.server.fake_connections.add(self.connection)

    def finish(self) -> None:
        """Unregister the connection and flush/close its files."""
        self.server.fake_connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self) -> None:
        """Serve requests on this connection until the client closes it."""
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.handle_one_request()
        except (OSError, ValueError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def handle_one_request(self) -> None:
        """Read one request, run the WSGI app and write a sized response."""
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        if (self.headers.get("Expect") or "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._read_body()
        environ = self.make_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        started: list = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            """Remember status and headers; the body is written in one go below."""
            started[:] = [status, headers]
            return lambda data: None

        app_iter = self.server.app(environ, start_response)
        try:
            payload = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        status, headers = started
        code, _, reason = status.partition(" ")
        self.send_response_only(int(code), reason)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # one write for status line, headers and body (avoids Nagle / delayed-ACK stalls)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(payload)
        self.flush_headers()

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Do not log every request (benchmarks send thousands)."""
        pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        """Log errors only."""
        if type == "error":
            super().log(type, message, *args)


@dataclass
class _Failure:
    target: str
    status: int
    body: Any
    headers: dict | None
    remaining: int


class FakeServer:
    """Base class: threaded werkzeug server, request recording and failure injection."""

    #: subclasses override: used in error messages / thread names
    name = "fake"

    def __init__(self) -> None:
        self.lock = threading.Condition(threading.RLock())
        self._server = None
        self._thread: threading.Thread | None = None
        self.url: str = ""
        self.port: int | None = None
        self._reset_common()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeServer":
        """Start serving on 127.0.0.1 (random free port) in a daemon thread; return self."""
        if self._server is not None:
            return self
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True,
                                   request_handler=_KeepAliveHandler)
        self._server.fake_connections = set()
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server thread and close the listening socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._server.fake_connections):  # drop pooled keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ state
    def _reset_common(self) -> None:
        self.requests: list[Recorded] = []
        self.counts: Counter = Counter()   # target -> number of requests (also when record=False)
        self.count = 0                     # total number of requests
        self.record = True
        self.delay = 0.0
        self.clock = time.monotonic        # time source for rate limits / TTLs (tests may replace)
        self._failures: list[_Failure] = []

    def reset(self) -> None:
        """Clear recorded requests, injected failures and all platform state."""
        with self.lock:
            self._reset_common()
            self._reset_state()

    def _reset_state(self) -> None:
        """Subclasses: reset platform-specific state and settings."""

    # ------------------------------------------------------------------ helpers for tests
    def target_of(self, path: str) -> str:
        """Subclasses: map a URL path to its target (LINE path / Telegram method name)."""
        return path

    def matches(self, target: str, wanted: str) -> bool:
        """True if a request target equals or ends with ``wanted`` ("*" matches everything)."""
        return wanted == "*" or target == wanted or target.endswith(wanted)

    def calls(self, target: str | None = None) -> list[Recorded]:
        """Return recorded requests, optionally only those matching ``target``."""
        with self.lock:
            if target is None:
                return list(self.requests)
            return [r for r in self.requests if self.matches(r.target, target)]

    def count_of(self, target: str) -> int:
        """Number of requests (recorded or not) whose target matches ``target``."""
        with self.lock:
            return sum(n for t, n in self.counts.items() if self.matches(t, target))

    def fail_next(self, target: str, status: int, body: Any = None, times: int = 1,
                  headers: dict | None = None) -> None:
        """Make the next ``times`` requests to ``target`` answer ``status`` with ``body``."""
        with self.lock:
            self._failures.append(_Failure(target, int(status), body, headers, int(times)))

    def wait_for(self, target: str, count: int = 1, timeout: float = 5.0) -> list[Recorded]:
        """Block until ``count`` requests matching ``target`` arrived; return them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                seen = self.count_of(target)
                if seen >= count:
                    return self.calls(target)
                left = deadline - time.monotonic()
                if left <= 0:
                    got = Counter(self.counts)
                    raise AssertionError(
                        f"{self.name}: expected {count} call(s) to {target!r} within "
                        f"{timeout}s, got {seen}. Requests so far: {dict(got) or 'none'}")
                self.lock.wait(left)

    # ------------------------------------------------------------------ plumbing
    def _default_error_body(self, target: str, status: int) -> Any:
        """Subclasses: the body used by fail_next() when no body was given."""
        return {"message": f"Injected error {status}"}

    def _failure_reply(self, f: _Failure) -> Reply:
        body = f.body if f.body is not None else self._default_error_body(f.target, f.status)
        return Reply(f.status, body, f.headers)

    def _take_failure(self, target: str) -> _Failure | None:
        for f in self._failures:
            if self.matches(target, f.target):
                f.remaining -= 1
                if f.remaining <= 0:
                    self._failures.remove(f)
                return f
        return None

    def handle(self, req: Request, rec: Recorded) -> Reply:
        """Subclasses: produce the reply for one request (called with the lock held)."""
        raise NotImplementedError

    def parse_body(self, req: Request, rec: Recorded) -> None:
        """Fill ``rec.json`` (and ``rec.files``) from the request body; JSON by default."""
        if rec.raw:
            try:
                rec.json = json.loads(rec.raw)
            except ValueError:
                rec.json = None

    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        req = Request(environ)
        raw = req.get_data(cache=True)
        rec = Recorded(method=req.method, path=req.path, headers=CIDict(req.headers.items()),
                       json=None, raw=raw, time=time.monotonic(),
                       query=req.args.to_dict(), target=self.target_of(req.path))
        try:
            self.parse_body(req, rec)
        except Exception:  # noqa: BLE001 - a malformed body must not kill the fake
            rec.json = None
        delay = self.delay
        if delay:
            time.sleep(delay)
        try:
            return self._dispatch(req, rec, environ, start_response)
        finally:
            if "files" in req.__dict__:  # multipart was parsed: close its spool files
                for storage in req.files.values():
                    storage.close()
            req.close()

    def _dispatch(self, req: Request, rec: Recorded, environ: dict, start_response: Any) -> Any:
        with self.lock:
            self.count += 1
            self.counts[rec.target] += 1
            if self.record:
                self.requests.append(rec)
            failure = self._take_failure(rec.target)
            if failure is not None:
                reply = self._failure_reply(failure)
            else:
                try:
                    reply = self.handle(req, rec)
                except Exception as exc:  # noqa: BLE001 - report as 500 like a broken server
                    reply = Reply(500, {"message": f"fake server error: {exc!r}"})
            rec.status = reply.status
            rec.response = reply.body
            self.lock.notify_all()
        status, headers, data = reply.encode()
        start_response(status, headers)
        return [data]
