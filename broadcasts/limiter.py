"""Platform rate limits for broadcast traffic, with the `limits` library (moving windows).

Scaled: the windows and the send slots live in Redis, so every worker on every machine
shares one budget (Telegram's ~30 messages/s per bot). Embedded (one machine, SQLite
queue): the worker processes share the slots through a small locked file next to the
queue, and each keeps a moving window in memory as a safety cap.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from pathlib import Path

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.settings import Settings

MAX_SLEEP = 0.05  # wake often: another worker's window may free up sooner


def _per_second(rate: float) -> RateLimitItemPerSecond:
    """The moving window for `rate` messages/s: whole hits per the shortest whole number of seconds.

    14.5/s (29 shared by two processes) becomes 29 per 2 s; the even slots (see
    `Limiter._take_slot`) keep such a window from being spent in one burst.
    """
    if rate < 1:
        return RateLimitItemPerSecond(1, max(1, round(1 / rate)))
    for seconds in range(1, 11):
        amount = rate * seconds
        if abs(amount - round(amount)) < 1e-6:
            return RateLimitItemPerSecond(round(amount), seconds)
    return RateLimitItemPerSecond(int(rate), 1)


class FileSlots:
    """Evenly spaced slots shared by the processes of one machine: the next free slot time
    kept in a file under an exclusive lock (a few microseconds per message)."""

    def __init__(self, path: Path, rate: float) -> None:
        self.path, self.interval = path, 1.0 / rate
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.lock = threading.Lock()  # flock excludes other processes, not this one's threads

    def take(self) -> float:
        """Reserve the next slot; the seconds to wait for it."""
        with self.lock:
            return self._take()

    def _take(self) -> float:
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(self.fd, 8, 0)
            now = time.time()
            slot = max(now, struct.unpack("d", raw)[0] if len(raw) == 8 else 0.0)
            os.pwrite(self.fd, struct.pack("d", slot + self.interval), 0)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        return slot - now


class RedisSlots:
    """The same even slots for all workers on all machines: the next free slot time in Redis,
    moved atomically by a tiny script using Redis's clock (so machines' clocks may differ)."""

    SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
    local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
    redis.call('SET', KEYS[1], string.format('%.6f', slot + tonumber(ARGV[1])), 'PX', 60000)
    return string.format('%.6f', slot - now)
    """

    def __init__(self, url: str, key: str, rate: float) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key, self.interval = key, 1.0 / rate
        self.script = self.client.register_script(self.SCRIPT)

    def take(self) -> float:
        """Reserve the next slot; the seconds to wait for it."""
        return float(self.script(keys=[self.key], args=[self.interval]))


class Limiter:
    """Blocks until a message may go out under the global and the per-chat windows."""

    def __init__(self, storage_url: str | None, *, per_second: float, per_chat_per_second: float,
                 namespace: str = "sapa", slots_file: Path | None = None) -> None:
        self.storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.overall = _per_second(per_second)
        self.per_chat = _per_second(per_chat_per_second)
        self.namespace = namespace
        self.rate = per_second
        self.slot = RateLimitItemPerSecond(1, 1)
        if storage_url and storage_url.startswith(("redis:", "rediss:")):
            self.slots = RedisSlots(storage_url, f"{namespace}:slots", per_second)
        elif slots_file is not None:
            self.slots = FileSlots(slots_file, per_second)
        else:
            self.slots = None
        self.waited = 0.0  # seconds spent waiting (for logs and benchmarks)
        self._lock = threading.Lock()

    def acquire(self, key: str, chat: str | None = None, deadline: float | None = None) -> bool:
        """Wait for a slot for one message (to `chat`); False if `deadline` (monotonic) passes first."""
        if chat is not None and not self._wait(self.per_chat, f"{key}:chat:{chat}", deadline):
            return False
        if not self._take_slot(key, deadline):
            return False
        return self._wait(self.overall, key, deadline)

    def _take_slot(self, key: str, deadline: float | None) -> bool:
        """Evenly spaced sends: each message reserves the next 1/rate slot and sleeps until it.

        The moving window alone lets a whole second's budget out in one burst at the start
        of each window; network jitter then squeezes two bursts into one second at
        Telegram's end (429). The slots are shared: through Redis when scaled, a locked
        file when embedded (several worker processes on one machine). Without either (tests,
        the memory queue) slots are indices of the clock, taken in the in-memory storage.
        """
        started = time.monotonic()
        if self.slots is not None:
            wait = self.slots.take()  # exact whatever the round trip: workers never race for a slot
            if wait > 0:
                time.sleep(wait)
        else:
            while True:
                index = int(time.time() * self.rate)
                if self.strategy.hit(self.slot, self.namespace, f"{key}:slot:{index}"):
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(max(0.001, (index + 1) / self.rate - time.time()))
        with self._lock:
            self.waited += time.monotonic() - started
        return True

    def _wait(self, item, key: str, deadline: float | None) -> bool:
        started = time.monotonic()
        while not self.strategy.hit(item, self.namespace, key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            reset, _remaining = self.strategy.get_window_stats(item, self.namespace, key)
            time.sleep(min(MAX_SLEEP, max(0.002, reset - time.time())))
        waited = time.monotonic() - started
        if waited:
            with self._lock:
                self.waited += waited
        return True

    def reset(self) -> None:
        """Forget every window (tests, benchmarks)."""
        self.storage.reset()


_limiters: dict[str, Limiter] = {}
_lock = threading.Lock()


def storage_url(settings: Settings) -> str | None:
    """Where the windows live: limiter_url, else the queue's Redis, else None (in process)."""
    if settings.broadcasts.limiter_url:
        return settings.broadcasts.limiter_url
    if settings.queue_url.startswith(("redis:", "rediss:")):
        return settings.queue_url
    return None


def slots_file(settings: Settings, name: str) -> Path | None:
    """Embedded mode: the file the worker processes share their send slots through."""
    if storage_url(settings) is not None or not settings.queue_url.startswith("sqlite:"):
        return None
    return Path(settings.queue_url.split("///", 1)[-1]).parent / f"{name}.slots"


def _limiter(settings: Settings, name: str, rate: float, per_chat: float) -> Limiter:
    url = storage_url(settings)
    slots = slots_file(settings, name)
    key = f"{name}|{url}|{slots}|{rate}|{per_chat}"
    with _lock:
        if key not in _limiters:
            _limiters[key] = Limiter(url, per_second=rate, per_chat_per_second=per_chat, namespace=f"sapa-{name}",
                                     slots_file=slots)
        return _limiters[key]


def telegram_limiter(settings: Settings) -> Limiter:
    """The process's Telegram limiter for these settings (built once)."""
    b = settings.broadcasts
    return _limiter(settings, "telegram", b.telegram_per_second, b.telegram_per_chat_per_second)


def line_limiter(settings: Settings) -> Limiter:
    """The process's LINE multicast limiter (requests per second)."""
    return _limiter(settings, "line", settings.broadcasts.line_multicast_per_second, 1)
