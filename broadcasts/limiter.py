"""Platform rate limits for broadcast traffic, with the `limits` library (moving windows).

Scaled: the windows live in Redis, so every worker on every machine shares one budget
(Telegram's ~30 messages/s per bot). Embedded: in process memory, and each worker process
takes an equal share of the budget, so the sum stays within the limit.
"""

from __future__ import annotations

import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.settings import Settings

MAX_SLEEP = 0.05  # wake often: another worker's window may free up sooner


def _per_second(rate: float) -> RateLimitItemPerSecond:
    """The moving window for `rate` messages/s: whole hits per the shortest whole number of seconds.

    14.5/s (29 shared by two processes) becomes 29 per 2 s; the even pacing below keeps
    such a window from being spent in one burst.
    """
    if rate < 1:
        return RateLimitItemPerSecond(1, max(1, round(1 / rate)))
    for seconds in range(1, 11):
        amount = rate * seconds
        if abs(amount - round(amount)) < 1e-6:
            return RateLimitItemPerSecond(round(amount), seconds)
    return RateLimitItemPerSecond(int(rate), 1)


class _Pace:
    """Spreads one process's slots evenly (1/rate apart).

    The moving window alone lets a whole second's budget out in one burst at the start of
    each window; network jitter then squeezes two bursts into one second at Telegram's end
    (429). Evenly spaced sends leave a slot of slack for jitter.
    """

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next)
            self.next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Limiter:
    """Blocks until a message may go out under the global and the per-chat windows."""

    def __init__(self, storage_url: str | None, *, per_second: float, per_chat_per_second: float,
                 namespace: str = "sapa") -> None:
        self.storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.overall = _per_second(per_second)
        self.per_chat = _per_second(per_chat_per_second)
        self.namespace = namespace
        self.pace = _Pace(per_second)
        self.waited = 0.0  # seconds spent waiting (for logs and benchmarks)
        self._lock = threading.Lock()

    def acquire(self, key: str, chat: str | None = None, deadline: float | None = None) -> bool:
        """Wait for a slot for one message (to `chat`); False if `deadline` (monotonic) passes first."""
        if chat is not None and not self._wait(self.per_chat, f"{key}:chat:{chat}", deadline):
            return False
        self.pace.wait()
        return self._wait(self.overall, key, deadline)

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


def process_share(settings: Settings) -> int:
    """How many processes split an in-process budget (embedded worker processes)."""
    if storage_url(settings) is not None or settings.queue_url.startswith("memory:"):
        return 1
    return settings.queue.workers if settings.queue.worker_type == "process" else 1


def telegram_limiter(settings: Settings) -> Limiter:
    """The process's Telegram limiter for these settings (built once)."""
    url = storage_url(settings)
    share = process_share(settings)
    key = f"telegram|{url}|{settings.broadcasts.telegram_per_second}|{share}"
    with _lock:
        if key not in _limiters:
            _limiters[key] = Limiter(url, per_second=settings.broadcasts.telegram_per_second / share,
                                     per_chat_per_second=settings.broadcasts.telegram_per_chat_per_second,
                                     namespace="sapa-telegram")
        return _limiters[key]


def line_limiter(settings: Settings) -> Limiter:
    """The process's LINE multicast limiter (requests per second)."""
    url = storage_url(settings)
    share = process_share(settings)
    key = f"line|{url}|{settings.broadcasts.line_multicast_per_second}|{share}"
    with _lock:
        if key not in _limiters:
            _limiters[key] = Limiter(url, per_second=settings.broadcasts.line_multicast_per_second / share,
                                     per_chat_per_second=1, namespace="sapa-line")
        return _limiters[key]
