"""A small, efficient HTTP/1.1 load generator for the benchmarks (no dependencies).

One thread, one epoll loop, keep-alive connections, requests pre-serialised as bytes:
on a 2-core machine the generator must leave the CPU to the server under test.

* closed loop: ``connections`` connections, each sends its next request as soon as the
  previous response arrived (max sustained throughput);
* open loop: request ``i`` is due at ``t0 + i / rate`` whatever the server does; it goes
  out on an idle connection (a new one is opened when all are busy, up to
  ``max_connections``, else it waits) and its latency is measured from the *scheduled*
  time, so a slow server cannot hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import selectors
import socket
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["LoadResult", "run_load", "percentile"]


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


@dataclass
class LoadResult:
    """What one load run measured."""

    label: str
    mode: str                      # "closed" | "open"
    target_rate: float | None      # open loop only
    duration: float                # seconds during which requests were issued
    elapsed: float                 # first scheduled send -> last response
    sent: int = 0
    completed: int = 0             # responses received (any status)
    errors: int = 0                # connection errors / missing responses
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)   # seconds, successful (2xx) responses
    max_backlog: int = 0           # open loop: most requests waiting for a connection
    unsent: int = 0                # open loop: requests still waiting 1 s after the end (server too slow)
    connections_opened: int = 0

    @property
    def rate(self) -> float:
        """Completed 2xx responses per second over the run."""
        ok = sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        return ok / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        ms = lambda v: None if v is None else round(v * 1000, 2)  # noqa: E731
        return {
            "label": self.label, "mode": self.mode, "target_rate": self.target_rate,
            "duration_s": round(self.duration, 2), "elapsed_s": round(self.elapsed, 2),
            "sent": self.sent, "completed": self.completed, "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "rate_per_s": round(self.rate, 1),
            "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)),
                           "p99": ms(percentile(lat, 99)), "max": ms(lat[-1] if lat else None),
                           "mean": ms(sum(lat) / len(lat) if lat else None)},
            "max_backlog": self.max_backlog, "unsent": self.unsent, "connections": self.connections_opened,
        }


class _Conn:
    __slots__ = ("sock", "buf", "index", "t_sched", "last_used")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.index = -1          # request in flight (-1: idle)
        self.t_sched = 0.0
        self.last_used = time.monotonic()


def _parse(buf: bytes) -> tuple[int, bytes, int, bool] | None:
    """(status, body, bytes consumed, server closes) for a complete response in buf, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    close = lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection":
            close = value.strip().lower() == "close"
        elif name == "transfer-encoding" and "chunked" in value.lower():
            raise ValueError("chunked responses are not supported by the load generator")
    total = end + 4 + length
    if len(buf) < total:
        return None
    return status, buf[end + 4:total], total, close


def run_load(
    address: tuple[str, int],
    request: Callable[[int], bytes],
    *,
    label: str,
    duration: float,
    mode: str = "closed",
    connections: int = 16,
    rate: float = 0.0,
    max_connections: int = 64,
    on_response: Callable[[int, int, bytes, float, float], None] | None = None,
    on_send: Callable[[int, float], None] | None = None,
    progress: Callable[[float, int], None] | None = None,
    drain_timeout: float = 15.0,
    count: int | None = None,
) -> LoadResult:
    """Run one load phase against ``address``.

    ``request(i)`` returns the bytes of request ``i`` (0, 1, 2, ...).  Closed loop issues
    requests for ``duration`` seconds; open loop issues ``count`` (default
    ``rate * duration``) requests at ``rate`` per second.  ``on_response(i, status, body,
    t_scheduled, t_done)`` sees every response, ``on_send(i, t_scheduled)`` every send,
    ``progress(seconds_left, completed)`` is called about once a second.
    """
    if mode not in ("closed", "open"):
        raise ValueError(mode)
    sel = selectors.DefaultSelector()
    result = LoadResult(label=label, mode=mode, target_rate=rate if mode == "open" else None,
                        duration=duration, elapsed=0.0)
    idle: list[_Conn] = []   # LIFO: most recently used on top (old ones may be closed by keep-alive)
    busy: set[_Conn] = set()
    backlog: deque[tuple[int, float]] = deque()
    monotonic = time.monotonic

    def connect() -> _Conn:
        sock = socket.create_connection(address, timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)  # blocking sends (small requests); reads only after readiness
        conn = _Conn(sock)
        sel.register(sock, selectors.EVENT_READ, conn)
        result.connections_opened += 1
        return conn

    def drop(conn: _Conn) -> None:
        try:
            sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        busy.discard(conn)
        if conn in idle:
            idle.remove(conn)

    def send(conn: _Conn, index: int, t_sched: float) -> None:
        conn.index, conn.t_sched = index, t_sched
        busy.add(conn)
        result.sent += 1
        if on_send is not None:
            on_send(index, t_sched)
        try:
            conn.sock.sendall(request(index))
        except OSError:
            result.errors += 1
            drop(conn)

    def take_idle(now: float) -> _Conn | None:
        while idle:
            conn = idle.pop()
            if now - conn.last_used > 1.0:   # gunicorn drops idle keep-alive connections after 2 s
                drop(conn)
                continue
            return conn
        return None

    total = count if count is not None else (int(rate * duration) if mode == "open" else None)
    next_index = 0
    t0 = monotonic() + 0.05
    deadline = t0 + duration
    last_done = t0
    next_progress = t0 + 1.0

    if mode == "closed":
        for _ in range(connections):
            idle.append(connect())
    else:
        for _ in range(min(connections, max_connections)):
            idle.append(connect())
    while monotonic() < t0:
        time.sleep(0.001)

    while True:
        now = monotonic()
        if mode == "closed":
            if now < deadline:
                while idle:
                    conn = take_idle(now) or connect()
                    send(conn, next_index, now)
                    next_index += 1
            elif not busy:
                break
        else:
            while next_index < total and t0 + next_index / rate <= now:
                backlog.append((next_index, t0 + next_index / rate))
                next_index += 1
            while backlog:
                conn = take_idle(now)
                if conn is None:
                    if len(busy) >= max_connections:
                        break
                    conn = connect()
                index, t_sched = backlog.popleft()
                send(conn, index, t_sched)
            result.max_backlog = max(result.max_backlog, len(backlog))
            if now >= deadline + 1.0 and (backlog or next_index < total):
                # the server cannot keep up: give up on what was not sent yet (bounded phase time)
                result.unsent += len(backlog) + (total - next_index)
                backlog.clear()
                next_index = total
            if next_index >= total and not backlog and not busy:
                break
        if now >= deadline + drain_timeout and busy:
            # responses that never came: count them as errors
            result.errors += len(busy)
            for conn in list(busy):
                drop(conn)
            if mode == "closed" or (next_index >= total and not backlog):
                break
        if progress is not None and now >= next_progress:
            progress(max(0.0, deadline - now), result.completed)
            next_progress += 1.0
        # wait for a response, or until the next open-loop send is due
        if mode == "open" and next_index < total:
            timeout = max(0.0, t0 + next_index / rate - monotonic())
        else:
            timeout = 0.2
        if mode == "open" and backlog and len(busy) < max_connections:
            timeout = 0.0
        for key, _events in sel.select(min(timeout, 0.2)):
            conn: _Conn = key.data
            try:
                data = conn.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                if conn.index >= 0:
                    result.errors += 1
                drop(conn)
                continue
            conn.buf += data
            while True:
                try:
                    parsed = _parse(conn.buf)
                except ValueError as exc:
                    print(f"load generator: {exc}", file=sys.stderr)
                    raise
                if parsed is None:
                    break
                status, body, used, close = parsed
                conn.buf = conn.buf[used:]
                t_done = monotonic()
                result.completed += 1
                result.statuses[status] += 1
                if 200 <= status < 300:
                    result.latencies.append(t_done - conn.t_sched)
                if on_response is not None:
                    on_response(conn.index, status, body, conn.t_sched, t_done)
                last_done = t_done
                conn.index = -1
                conn.last_used = t_done
                busy.discard(conn)
                if close:
                    drop(conn)
                else:
                    idle.append(conn)
                break
    result.elapsed = max(1e-9, min(last_done, deadline + drain_timeout) - t0) if result.completed else 0.0
    if mode == "closed":
        # closed-loop rate: responses over the issuing window (plus the drain of in-flight ones)
        result.elapsed = max(1e-9, last_done - t0)
    for conn in list(idle) + list(busy):
        drop(conn)
    sel.close()
    return result
