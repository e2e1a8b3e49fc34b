"""The process-wide pieces a worker needs: settings, database, senders, router."""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy import exc as db_errors
from sqlalchemy.engine import Engine

from bot.senders import SenderRegistry
from bot.settings import Settings, get_settings
from crm.db import get_engine
from handlers.router import Router, default_router, nlu_understanding


@dataclass
class Runtime:
    """Settings plus the long-lived objects built from them (one per process)."""

    settings: Settings
    engine: Engine
    senders: SenderRegistry
    router: Router = field(default_factory=default_router)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Build the runtime for `settings`."""
        understand = nlu_understanding(settings.nlu.model_path, settings.nlu.confidence_threshold)
        return cls(settings=settings, engine=get_engine(settings.database_url), senders=SenderRegistry(settings),
                   router=default_router(understand))

    def warm_up(self) -> None:
        """Load what the first message would otherwise wait for (the NLU model, SciPy for nearest stores)."""
        import scipy.spatial  # noqa: F401 - handlers.geo imports it only when it builds an index
        from handlers.nlu import get_model

        get_model(self.settings.nlu.model_path)

    def close(self) -> None:
        """Release platform clients."""
        self.senders.close()


def is_transient_db_error(exc: BaseException) -> bool:
    """A database error that passes: a lock held too long, a dropped connection, a full pool."""
    if isinstance(exc, db_errors.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (db_errors.OperationalError, db_errors.InterfaceError))
    return isinstance(exc, db_errors.TimeoutError)


def short_reason(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy appends the statement and parameters)."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


_runtime: Runtime | None = None
_lock = Lock()


def get_runtime() -> Runtime:
    """The current process's runtime (built from the settings on first use)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(get_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install a runtime (tests, CLI) and return the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
        return previous
