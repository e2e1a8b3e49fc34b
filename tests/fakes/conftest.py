"""Make the fake-server fixtures available to the tests in this directory."""

from tests.fakes.fixtures import (  # noqa: F401
    fake_line,
    fake_line_server,
    fake_telegram,
    fake_telegram_server,
    line_config,
    telegram_bot_kwargs,
)
