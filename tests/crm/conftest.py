"""Fixtures for API tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def auth(api_token) -> dict:
    """Authorization header with a valid API token."""
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def spec(client) -> dict:
    """The app's OpenAPI document."""
    return client.get("/api/v1/openapi.json").get_json()
