"""Shared fixtures: settings pointing at a fresh database and the fake platform APIs.

The suite runs on SQLite. With CI=true the database tests also run on the PostgreSQL
of the machine (127.0.0.1:5432, database `test`) and fail if it is missing; locally they
run there when it answers and are skipped otherwise.
"""

from __future__ import annotations

import os

# Before any project import: tests never read a developer's .env or real secrets.
os.environ["SAPA_ENV"] = "test"
os.environ["SAPA_QUEUE_URL"] = "memory:"
os.environ.setdefault("PTB_TIMEDELTA", "1")
for _key in [k for k in os.environ if k.startswith(("SAPA_LINE__", "SAPA_TELEGRAM__", "SAPA_SMTP__", "SAPA_DATABASE"))]:
    del os.environ[_key]

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from bot.runtime import build_runtime
from core.runtime import Runtime, set_runtime  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.db import dispose_engines, get_engine, release_engine  # noqa: E402
from tests.fakes.fixtures import (  # noqa: E402,F401
    fake_line,
    fake_line_server,
    fake_telegram,
    fake_telegram_server,
    line_config,
    telegram_bot_kwargs,
)
from tests.factories import LINE_SECRET, TELEGRAM_SECRET  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get("SAPA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SAPA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def service_or_skip(name: str, available: bool) -> None:
    """Skip locally when a service is missing; fail under CI=true."""
    if not available:
        message = f"{name} is not reachable"
        if IN_CI:
            pytest.fail(f"{message} (CI=true requires it)")
        pytest.skip(message)


def _postgres_up() -> bool:
    try:
        with get_engine(POSTGRES_URL).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001
        return False


def redis_up() -> bool:
    """True when the test Redis answers."""
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def _reset_postgres(url: str) -> None:
    import bot.all_models  # noqa: F401

    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    from bot.migrate import upgrade

    upgrade(url)


@pytest.fixture(scope="session")
def postgres_schema() -> str:
    """The PostgreSQL test database, migrated once per session."""
    service_or_skip("PostgreSQL", _postgres_up())
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database: SQLite, and PostgreSQL when available (always in CI)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/sapa.db"
        import bot.all_models  # noqa: F401

        SQLModel.metadata.create_all(get_engine(url))
        yield url
        # Its engine and checkpoint thread go with the test: thousands of idle threads waking up slowed the
        # whole run (the GIL), more with every test.
        release_engine(url)
        return
    url = request.getfixturevalue("postgres_schema")
    engine = get_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield url


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """A fresh, migrated SQLite database only (for tests that are about SQLite)."""
    import bot.all_models  # noqa: F401

    url = f"sqlite:///{tmp_path}/sapa.db"
    SQLModel.metadata.create_all(get_engine(url))
    yield url
    release_engine(url)


@pytest.fixture(scope="session")
def nlu_model_path(tmp_path_factory) -> str:
    """The intent model, trained once per test session."""
    from handlers.nlu import get_model

    path = str(tmp_path_factory.mktemp("nlu") / "model.joblib")
    get_model(path)
    return path


def make_settings(database_url: str, fake_line=None, fake_telegram=None, **overrides) -> Settings:
    """Settings for a test: the given database, queue inline, channels pointed at the fakes."""
    values = {"env": "test", "database_url": database_url, "queue_url": "memory:", **overrides}
    if fake_line is not None:
        values["line"] = {"channel_secret": LINE_SECRET, "access_token": fake_line.access_token,
                          "api_base": fake_line.url, "timeout_seconds": 5}
    if fake_telegram is not None:
        values["telegram"] = {"bot_token": fake_telegram.token, "secret_token": TELEGRAM_SECRET,
                              "api_base": fake_telegram.url, "timeout_seconds": 5}
    return Settings(**values)


@pytest.fixture
def settings(database_url, fake_line, fake_telegram, nlu_model_path, tmp_path) -> Settings:
    """Settings with both channels on (pointed at the fakes) and a fresh database."""
    return make_settings(database_url, fake_line, fake_telegram, nlu={"model_path": nlu_model_path},
                         media_dir=str(tmp_path / "media"))


@pytest.fixture
def runtime(settings) -> Iterator[Runtime]:
    """The worker runtime for `settings`, installed as the process runtime."""
    rt = build_runtime(settings)
    previous = set_runtime(rt)
    yield rt
    rt.close()
    set_runtime(previous)


@pytest.fixture
def app(settings, runtime):
    """The Flask app; queue tasks run inline (memory queue) against the same runtime."""
    from bot.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def session(runtime) -> Iterator[Session]:
    """A session on the test database (for assertions)."""
    with Session(runtime.engine) as s:
        yield s


@pytest.fixture
def api_token(runtime) -> str:
    """A valid API token."""
    from core.db import session_scope
    from crm.tokens import create_token

    with session_scope(runtime.engine) as s:
        return create_token(session=s, name="tests")


@pytest.fixture
def auth(api_token) -> dict:
    """Authorization header with a valid API token."""
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def spec(client) -> dict:
    """The app's OpenAPI document."""
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture(autouse=True, scope="session")
def _dispose_engines_at_end():
    yield
    dispose_engines()
