"""Canned replies (edit, delete, reorder, English variants) and staff accounts (reset links, disable, role)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from crm.models import AuditLog, CannedResponse, StaffUser
from tests.crm.inbox.conftest import PASSWORD, ROLE_EMAILS, csrf_token, log_in
from tests.crm.inbox.test_settings_page import error_flash

NEW_PASSWORD = "kopi-susu-gula-aren-2027"


def _add(admin, shortcut: str, text: str = "Halo {name}", **extra):
    response = admin.post("/inbox/canned", {"shortcut": shortcut, "title": shortcut.title(), "text": text, **extra})
    assert response.status_code == 303, error_flash(response.get_data(as_text=True))


def _shortcuts(session) -> list[str]:
    session.expire_all()
    return [row.shortcut for row in session.exec(select(CannedResponse).order_by(CannedResponse.position))]


def test_canned_replies_are_edited_moved_and_deleted(as_role, session):
    admin = as_role("admin")
    for shortcut in ("halo", "ongkir", "tutup"):
        _add(admin, shortcut)
    ids = {row.shortcut: row.id for row in session.exec(select(CannedResponse))}
    edited = admin.post(f"/inbox/canned/{ids['ongkir']}", {
        "action": "save", "shortcut": "/ongkos", "title": "Ongkos kirim", "text": "Ongkir Rp10.000 ya kak",
        "text_en": "Delivery is Rp10,000", "quick_replies": "Pesan, Batal"})
    assert edited.status_code == 303
    row = session.get(CannedResponse, ids["ongkir"])
    session.refresh(row)
    assert (row.shortcut, row.text_en, row.quick_replies) == ("ongkos", "Delivery is Rp10,000", ["Pesan", "Batal"])
    assert (row.text_for("en"), row.text_for("id"), row.text_for(None)) == \
        ("Delivery is Rp10,000", "Ongkir Rp10.000 ya kak", "Ongkir Rp10.000 ya kak")

    admin.post(f"/inbox/canned/{ids['tutup']}", {"action": "up"})
    assert _shortcuts(session) == ["halo", "tutup", "ongkos"]
    admin.post(f"/inbox/canned/{ids['halo']}", {"action": "down"})
    admin.post(f"/inbox/canned/{ids['halo']}", {"action": "down"})
    admin.post(f"/inbox/canned/{ids['halo']}", {"action": "down"})  # already last: stays
    assert _shortcuts(session) == ["tutup", "ongkos", "halo"]
    _add(admin, "baru")  # a new one goes last
    assert _shortcuts(session)[-1] == "baru"
    page = admin.get("/inbox/canned").get_data(as_text=True)
    assert page.index("/tutup") < page.index("/ongkos") < page.index("/halo") and "Delivery is Rp10,000" in page

    assert admin.post(f"/inbox/canned/{ids['tutup']}", {"action": "delete"}).status_code == 303
    assert _shortcuts(session) == ["ongkos", "halo", "baru"]
    actions = list(session.exec(select(AuditLog.action).where(AuditLog.target_type == "canned")))
    assert {"canned.add", "canned.update", "canned.move", "canned.delete"} <= set(actions)


def test_a_bad_edit_is_re_shown_with_the_typed_values_and_changes_nothing(as_role, session):
    admin = as_role("admin")
    _add(admin, "halo")
    _add(admin, "ongkir")
    row_id = session.exec(select(CannedResponse.id).where(CannedResponse.shortcut == "halo")).one()
    taken = admin.post(f"/inbox/canned/{row_id}", {"action": "save", "shortcut": "ongkir", "title": "Diketik",
                                                   "text": "teks baru"})
    page = taken.get_data(as_text=True)
    assert taken.status_code == 400 and error_flash(page) and 'value="Diketik"' in page and "teks baru" in page
    empty = admin.post(f"/inbox/canned/{row_id}", {"action": "save", "shortcut": "halo", "title": "x", "text": " "})
    assert empty.status_code == 400 and error_flash(empty.get_data(as_text=True))
    assert admin.post("/inbox/canned/99999", {"action": "delete"}).status_code == 404
    assert _shortcuts(session) == ["halo", "ongkir"] and session.get(CannedResponse, row_id).text == "Halo {name}"


def test_an_agent_gets_the_english_text_for_an_english_customer(as_role, session, line_chat):
    admin = as_role("admin")
    _add(admin, "thanks", text="Makasih kak", text_en="Thank you!")
    conversation_id, contact_id = line_chat
    agent = as_role("agent")
    assert 'data-text="Makasih kak"' in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    agent.post(f"/inbox/contacts/{contact_id}", {"language": "en"})
    assert 'data-text="Thank you!"' in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    refused = agent.post(f"/inbox/contacts/{contact_id}", {"language": "Bahasa Jawa"})
    assert refused.status_code == 400


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins_manage_canned_replies_and_reset_links(as_role, staff, session, role):
    _add(as_role("admin"), "halo")
    row_id = session.exec(select(CannedResponse.id)).one()
    other = as_role(role)
    assert other.post(f"/inbox/canned/{row_id}", {"action": "delete"}).status_code == 403
    assert other.post(f"/inbox/users/{staff['admin']}/reset").status_code == 403
    assert session.get(StaffUser, staff["admin"]).reset_token_hash is None and _shortcuts(session) == ["halo"]


def _reset_link(admin, user_id: int) -> str:
    page = admin.post(f"/inbox/users/{user_id}/reset")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return re.search(r'id="reset-link" readonly value="http://[^/]+(/inbox/reset/[^"]+)"',
                     page.get_data(as_text=True)).group(1)


def test_a_reset_link_sets_a_new_password_once_and_ends_the_old_sessions(app, as_role, staff, session):
    admin, agent = as_role("admin"), as_role("agent")
    path = _reset_link(admin, staff["agent"])
    stored = session.get(StaffUser, staff["agent"]).reset_token_hash
    assert stored and path.rsplit("/", 1)[-1] not in stored  # only a hash is kept
    assert path not in admin.get("/inbox/users").get_data(as_text=True)  # shown once

    stranger = app.test_client()
    form = stranger.get(path)
    assert form.status_code == 200 and ROLE_EMAILS["agent"] in form.get_data(as_text=True)
    token = csrf_token(stranger, path)
    weak = stranger.post(path, data={"csrf_token": token, "new_password": "password", "confirm_password": "password"})
    assert weak.status_code == 400 and error_flash(weak.get_data(as_text=True))
    done = stranger.post(path, data={"csrf_token": token, "new_password": NEW_PASSWORD,
                                     "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/inbox/login")
    assert agent.get("/inbox/").status_code == 302  # the agent's old session is over
    log_in(app, ROLE_EMAILS["agent"], NEW_PASSWORD)
    assert stranger.get(path).status_code == 404  # used up
    assert {"staff.reset_link", "staff.password_reset"} <= set(session.exec(select(AuditLog.action)))


def test_an_expired_or_replaced_reset_link_does_not_work(app, as_role, staff, runtime):
    admin = as_role("admin")
    first = _reset_link(admin, staff["agent"])
    second = _reset_link(admin, staff["agent"])
    assert app.test_client().get(first).status_code == 404 and app.test_client().get(second).status_code == 200
    with session_scope(runtime.engine) as s:
        s.get(StaffUser, staff["agent"]).reset_expires_at = utcnow() - timedelta(minutes=1)
    assert app.test_client().get(second).status_code == 404
    assert app.test_client().get("/inbox/reset/nonsense").status_code == 404
    log_in(app, ROLE_EMAILS["agent"], PASSWORD)  # the old password still works until a link is used


def test_disabling_a_staff_member_ends_their_sessions_and_their_reset_link(app, as_role, staff):
    admin, agent = as_role("admin"), as_role("agent")
    path = _reset_link(admin, staff["agent"])
    assert admin.post(f"/inbox/users/{staff['agent']}", {"role": "agent"}).status_code == 303  # active unticked
    assert agent.get("/inbox/").status_code == 302
    assert app.test_client().get(path).status_code == 404
    assert "Nonaktif" in admin.get("/inbox/users").get_data(as_text=True)
    admin.post(f"/inbox/users/{staff['agent']}", {"role": "marketer", "active": "1"})
    marketer = log_in(app, ROLE_EMAILS["agent"])[0]
    assert marketer.get("/inbox/orders").status_code == 403  # the new role applies
