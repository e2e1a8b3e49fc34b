"""The authorization matrix: every role × every page and action."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from crm.inbox.auth import MATRIX, can
from crm.models import StaffUser

A, G, M = "admin", "agent", "marketer"
# (method, path, form, roles allowed); {c} = conversation id, {p} = contact id
CASES = [
    ("GET", "/inbox/", {}, {A, G, M}),
    ("GET", "/inbox/list", {}, {A, G, M}),
    ("GET", "/inbox/c/{c}", {}, {A, G, M}),
    ("GET", "/inbox/c/{c}/messages", {}, {A, G, M}),
    ("POST", "/inbox/c/{c}/reply", {"text": "hi"}, {A, G}),
    ("POST", "/inbox/c/{c}/note", {"text": "n"}, {A, G}),
    ("POST", "/inbox/c/{c}/assign", {"assignee_id": ""}, {A, G}),
    ("POST", "/inbox/c/{c}/labels", {"labels": "x"}, {A, G}),
    ("POST", "/inbox/c/{c}/status", {"status": "pending"}, {A, G}),
    ("POST", "/inbox/c/{c}/bot", {"active": "0"}, {A, G}),
    ("POST", "/inbox/c/{c}/presence", {}, {A, G, M}),
    ("GET", "/inbox/contacts/{p}", {}, {A, G, M}),
    ("POST", "/inbox/contacts/{p}", {"tags": "vip"}, {A, G, M}),
    ("POST", "/inbox/contacts/{p}/note", {"text": "n"}, {A, G}),
    ("GET", "/inbox/contacts", {}, {A, G, M}),
    ("GET", "/inbox/contacts/export", {}, {A}),
    ("GET", "/inbox/segments/999/export", {}, {A}),
    ("GET", "/inbox/contacts/import", {}, {A}),
    ("GET", "/inbox/orders", {}, {A, G}),
    ("POST", "/inbox/orders/999/status", {"status": "confirmed"}, {A, G}),
    ("GET", "/inbox/complaints", {}, {A, G}),
    ("POST", "/inbox/complaints/999/status", {"status": "resolved"}, {A, G}),
    ("GET", "/inbox/agenda", {}, {A, G}),
    ("POST", "/inbox/tasks", {"title": "t", "due_on": "2030-01-01", "contact_id": "{p}"}, {A, G}),
    ("POST", "/inbox/tasks/999/done", {}, {A, G}),
    ("GET", "/inbox/dashboard", {}, {A, G, M}),
    ("GET", "/inbox/dashboard/crm", {}, {A, M}),
    ("GET", "/inbox/canned", {}, {A}),
    ("POST", "/inbox/canned", {"shortcut": "x", "title": "t", "text": "t"}, {A}),
    ("GET", "/inbox/users", {}, {A}),
    ("POST", "/inbox/users", {"email": "n@shop.test", "password": "long-password", "role": "agent"}, {A}),
    ("POST", "/inbox/users/1", {"role": "admin", "active": "1"}, {A}),
    ("GET", "/inbox/audit", {}, {A}),
    ("GET", "/inbox/settings", {}, {A}),
    ("POST", "/inbox/settings", {"section": "bot"}, {A}),
    ("POST", "/inbox/canned/999", {"action": "delete"}, {A}),
    ("POST", "/inbox/users/1/reset", {}, {A}),
    ("GET", "/inbox/events?once=1", {}, {A, G, M}),
    # the marketer's screens (broadcasts/web.py): agents never manage segments or campaigns
    ("GET", "/inbox/segments", {}, {A, M}),
    ("GET", "/inbox/segments/new", {}, {A, M}),
    ("POST", "/inbox/segments/new", {"name": "s", "rules": ""}, {A, M}),
    ("POST", "/inbox/segments/999/delete", {}, {A, M}),
    ("GET", "/inbox/campaigns", {}, {A, M}),
    ("GET", "/inbox/campaigns/new", {}, {A, M}),
    ("POST", "/inbox/campaigns/new", {"name": "c", "text": "hi", "submit": "draft"}, {A, M}),
    ("GET", "/inbox/campaigns/999", {}, {A, M}),
    ("GET", "/inbox/campaigns/999/edit", {}, {A, M}),
    ("POST", "/inbox/campaigns/999/edit", {"name": "c", "text": "hi"}, {A, M}),
    ("POST", "/inbox/campaigns/999/pause", {}, {A, M}),
    ("POST", "/inbox/campaigns/999/resume", {}, {A, M}),
    ("POST", "/inbox/campaigns/999/cancel", {}, {A, M}),
    ("POST", "/inbox/campaigns/999/test", {}, {A, M}),
    ("POST", "/inbox/campaigns/999/winner", {}, {A, M}),
    ("GET", "/inbox/campaigns/999/export.csv", {}, {A, M}),
    ("GET", "/inbox/journeys", {}, {A, M}),
    ("POST", "/inbox/journeys/birthday", {"enabled": "1"}, {A, M}),
    ("GET", "/inbox/offers", {}, {A, M}),
    ("POST", "/inbox/offers/999", {}, {A, M}),
    ("GET", "/inbox/me", {}, {A, G, M}),
    ("POST", "/inbox/me", {"line_user_id": ""}, {A, G, M}),
    # the counter: marketers never record purchases or spend a customer's points
    ("GET", "/inbox/counter?q=putri", {}, {A, G}),
    ("GET", "/inbox/counter/{p}", {}, {A, G}),
    ("POST", "/inbox/counter/{p}/purchase", {"key": "k" * 20}, {A, G}),
    ("POST", "/inbox/counter/{p}/redeem", {"key": "k" * 20, "reward": "0", "points": "100"}, {A, G}),
    ("POST", "/inbox/counter/{p}/adjust", {"key": "k" * 20, "points": "x", "reason": "r"}, {A, G}),
]


@pytest.fixture
def short_streams(app):
    app.config["SAPA"].inbox.live_stream_seconds = 0.01


@pytest.mark.parametrize("role", [A, G, M])
def test_each_role_reaches_exactly_its_pages_and_actions(role, as_role, line_chat, short_streams):
    conversation_id, contact_id = line_chat
    client = as_role(role)
    for method, path, form, allowed in CASES:
        url = path.format(c=conversation_id, p=contact_id)
        data = {k: v.format(p=contact_id) for k, v in form.items()}
        if method == "GET":
            response = client.get(url)
        elif url.endswith("/presence"):
            response = client.client.post(url, json={"state": "viewing"}, headers={"X-CSRFToken": client.token})
        else:
            response = client.post(url, data)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, method, url, response.status_code)
            assert response.status_code < 500
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)


def test_the_nav_shows_only_what_the_role_may_open(as_role):
    marketer = as_role(M).get("/inbox/").get_data(as_text=True)
    assert 'href="/inbox/dashboard"' in marketer and 'href="/inbox/orders"' not in marketer
    assert 'href="/inbox/users"' not in marketer
    admin = as_role(A).get("/inbox/").get_data(as_text=True)
    assert 'href="/inbox/users"' in admin and 'href="/inbox/audit"' in admin


def test_a_marketer_granted_notes_access_sees_notes(as_role, runtime, staff, line_chat):
    conversation_id, _ = line_chat
    with session_scope(runtime.engine) as s:
        s.get(StaffUser, staff[M]).notes_access = True
    marketer = as_role(M)
    assert marketer.post(f"/inbox/c/{conversation_id}/note", {"text": "boleh"}).status_code == 303
    assert marketer.post(f"/inbox/c/{conversation_id}/reply", {"text": "hi"}).status_code == 403


def test_every_permission_is_held_by_admin():
    admin = StaffUser(email="a@x", password_hash="-", role="admin")
    assert all(can(permission, admin) for permission in MATRIX)


def test_the_last_admin_cannot_be_demoted(as_role, staff, runtime, session):
    with session_scope(runtime.engine) as s:
        for user in s.exec(select(StaffUser)).all():
            if user.id != staff[A]:
                user.role = "agent"
    admin = as_role(A)
    assert admin.post(f"/inbox/users/{staff[A]}", {"role": "agent", "active": "1"}).status_code == 409
