"""The process-wide pieces work needs: settings, database engine, senders and router, built once per process.

The top floor (bot) knows how to build them and says so with `set_builder`; every floor
below reads them with `get_runtime()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Any

from sqlalchemy.engine import Engine

from core.sending import SenderLookup
from core.settings import Settings, get_settings


@dataclass
class Runtime:
    """Settings plus the long-lived objects built from them (one per process)."""

    settings: Settings
    engine: Engine
    senders: SenderLookup
    router: Any = None  # handlers.router.Router: the conversation (set by the builder)

    def close(self) -> None:
        """Release platform clients."""
        close = getattr(self.senders, "close", None)
        if close:
            close()


_runtime: Runtime | None = None
_builder: Callable[[Settings], Runtime] | None = None
_lock = Lock()


def set_builder(builder: Callable[[Settings], Runtime]) -> None:
    """How this process builds its runtime (the app factory and the CLI say it before any work)."""
    global _builder
    _builder = builder


def get_runtime() -> Runtime:
    """The current process's runtime (built from the settings on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            if _builder is None:
                raise RuntimeError("no runtime builder: import bot.runtime (the app and the CLI do)")
            _runtime = _builder(get_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install a runtime (tests, CLI) and return the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
        return previous
