"""Fixtures for the staff inbox: staff of each role, logged-in clients, CSRF tokens, a chat."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from core.db import session_scope
from crm.staff import create_user
from tests.factories import Webhooks, line_text

PASSWORD = "correct-horse-battery"
ROLE_EMAILS = {"admin": "admin@shop.test", "agent": "agent@shop.test", "marketer": "marketer@shop.test"}
LINE_USER = "U2222222222222222222222222222222b"


def csrf_token(client, path: str = "/inbox/login") -> str:
    """The CSRF token of the client's session, read from a page's <meta> tag."""
    page = client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


@dataclass
class StaffClient:
    """A test client logged in as one staff member, posting forms with the CSRF token."""

    client: object
    user_id: int
    token: str

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)


@pytest.fixture
def staff(runtime) -> dict[str, int]:
    """One active staff user per role: role -> id."""
    ids = {}
    with session_scope(runtime.engine) as s:
        for role, email in ROLE_EMAILS.items():
            ids[role] = create_user(session=s, email=email, password=PASSWORD, role=role,
                                    display_name=f"{role.title()} Test").id
    return ids


def log_in(app, email: str, password: str = PASSWORD):
    """A fresh client logged in as `email` (asserts the login worked)."""
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/inbox/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client, csrf_token(client, "/inbox/dashboard")


@pytest.fixture
def as_role(app, staff):
    """as_role("agent") -> a StaffClient logged in with that role."""
    def make(role: str) -> StaffClient:
        client, token = log_in(app, ROLE_EMAILS[role])
        return StaffClient(client, staff[role], token)
    return make


@pytest.fixture
def agent(as_role) -> StaffClient:
    """A logged-in agent."""
    return as_role("agent")


@pytest.fixture
def webhooks(client) -> Webhooks:
    """Posts signed platform payloads."""
    return Webhooks(client)


@pytest.fixture
def line_chat(webhooks, session, fake_line):
    """A LINE customer who wrote once; returns (conversation_id, contact_id)."""
    from sqlmodel import select

    from crm.models import Conversation

    fake_line.profiles[LINE_USER] = {"displayName": "Putri Customer", "userId": LINE_USER, "language": "id"}
    assert webhooks.line(line_text("halo kak, mau tanya", user=LINE_USER)).status_code == 200
    conversation = session.exec(select(Conversation).where(Conversation.external_chat_id == LINE_USER)).one()
    return conversation.id, conversation.contact_id
