"""Broadcast tests run with both channels on and a fast Telegram limiter."""

from __future__ import annotations

import pytest

from broadcasts import limiter


@pytest.fixture(autouse=True)
def _fresh_limiters():
    """Every test starts with empty rate windows."""
    limiter._limiters.clear()
    yield
    limiter._limiters.clear()
