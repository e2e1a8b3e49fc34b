"""Pytest fixtures for the fake LINE and Telegram API servers.

One server per platform is started once per test session (cheap: a thread and a socket)
and reset before every test, so each test sees a pristine fake::

    # in a conftest.py (or a test module) that wants the fixtures
    pytest_plugins = ["tests.fakes.fixtures"]
    # ...or: from tests.fakes.fixtures import fake_line, fake_telegram  # noqa: F401

    def test_push(fake_line, line_config):
        MessagingApi(ApiClient(line_config)).push_message(...)
        fake_line.wait_for("/v2/bot/message/push")

Fixtures:

* ``fake_line_server`` / ``fake_telegram_server`` (session): the running servers;
* ``fake_line`` / ``fake_telegram`` (function): the same servers after ``reset()``;
* ``line_config``: ``linebot.v3.messaging.Configuration`` pointing at ``fake_line``;
* ``telegram_bot_kwargs``: ``dict(token=..., base_url=..., base_file_url=...)`` for
  ``telegram.Bot(**telegram_bot_kwargs)`` / ``ExtBot`` pointing at ``fake_telegram``.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .line_api import FakeLine
from .telegram_api import FakeTelegram

LINE_TOKEN = "test-line-token"
TELEGRAM_TOKEN = "123:ABC"


@pytest.fixture(scope="session")
def fake_line_server() -> Iterator[FakeLine]:
    """Session-wide fake LINE API server (use ``fake_line`` for a reset instance)."""
    with FakeLine(access_token=LINE_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_telegram_server() -> Iterator[FakeTelegram]:
    """Session-wide fake Telegram Bot API server (use ``fake_telegram`` for a reset instance)."""
    with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_line(fake_line_server: FakeLine) -> Iterator[FakeLine]:
    """The fake LINE API, reset before (and after) the test."""
    fake_line_server.reset()
    yield fake_line_server
    fake_line_server.reset()


@pytest.fixture
def fake_telegram(fake_telegram_server: FakeTelegram) -> Iterator[FakeTelegram]:
    """The fake Telegram Bot API, reset before (and after) the test."""
    fake_telegram_server.reset()
    yield fake_telegram_server
    fake_telegram_server.reset()


@pytest.fixture
def line_config(fake_line: FakeLine):
    """A LINE SDK Configuration whose every call (data API included) goes to ``fake_line``."""
    from linebot.v3.messaging import Configuration

    return Configuration(access_token=fake_line.access_token, host=fake_line.url)


@pytest.fixture
def telegram_bot_kwargs(fake_telegram: FakeTelegram) -> dict:
    """Keyword arguments for ``telegram.Bot`` / ``ExtBot`` pointing at ``fake_telegram``."""
    return {
        "token": fake_telegram.token,
        "base_url": f"{fake_telegram.url}/bot",
        "base_file_url": f"{fake_telegram.url}/file/bot",
    }
