"""Sessions end everywhere on logout, password change, role change and deactivation; passwords."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from core.db import session_scope
from crm.models import AuditLog, StaffUser
from crm.staff import StaffError, create_user
from tests.crm.inbox.conftest import PASSWORD, ROLE_EMAILS, csrf_token, log_in

NEW_PASSWORD = "kopi-susu-hujan-sore"


def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (what an attacker replays)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_a_copied_session_cookie_stops_working_at_logout(app, agent):
    stolen = copy_of(app, agent.client)
    assert stolen.get("/inbox/").status_code == 200
    assert agent.post("/inbox/logout").status_code == 302
    assert stolen.get("/inbox/").status_code == 302  # to the login page, which says why
    assert "Sesi ini sudah diakhiri" in stolen.get("/inbox/login").get_data(as_text=True)
    assert stolen.get("/inbox/c/1/messages", headers={"X-Requested-With": "fetch"}).status_code == 401


def test_logout_ends_the_other_sessions_of_the_same_staff_member_only(app, staff):
    phone, phone_token = log_in(app, ROLE_EMAILS["agent"])
    laptop, _ = log_in(app, ROLE_EMAILS["agent"])
    admin, _ = log_in(app, ROLE_EMAILS["admin"])
    phone.post("/inbox/logout", data={"csrf_token": phone_token})
    assert laptop.get("/inbox/").status_code == 302
    assert admin.get("/inbox/").status_code == 200
    assert log_in(app, ROLE_EMAILS["agent"])[0].get("/inbox/").status_code == 200  # a new login works


@pytest.mark.parametrize("change", [{"role": "marketer", "active": "1"}, {"role": "agent"}])
def test_a_role_change_or_deactivation_ends_the_sessions_at_once(app, as_role, staff, change):
    agent = as_role("agent")
    admin = as_role("admin")
    assert admin.post(f"/inbox/users/{staff['agent']}", change).status_code == 303
    assert agent.get("/inbox/").status_code == 302
    unchanged = as_role("marketer")
    assert admin.post(f"/inbox/users/{staff['marketer']}", {"role": "marketer", "active": "1"}).status_code == 303
    assert unchanged.get("/inbox/").status_code == 200  # saving without a change ends nothing


def test_requests_without_a_session_cookie_do_not_touch_the_database(app, runtime, staff):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(runtime.engine, "before_cursor_execute", listener)
    try:
        client = app.test_client()
        assert client.get("/inbox/login").status_code == 200
        assert client.get("/inbox/").status_code == 302  # with the CSRF-only session cookie now
        assert client.get("/healthz").status_code == 200
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listener)
    assert [s for s in statements if "staffuser" in s.lower()] == []


# --- passwords -----------------------------------------------------------------------


@pytest.mark.parametrize("password", ["12345678", "password1", "qwertyuiop", "iloveyou", "agent@shop.test"])
def test_common_passwords_are_refused(session, password):
    with pytest.raises(StaffError) as refused:
        create_user(session=session, email="agent@shop.test", password=password, role="agent")
    assert refused.value.code == "password_weak"


def test_a_password_longer_than_the_login_form_reads_is_refused(session):
    with pytest.raises(StaffError) as refused:
        create_user(session=session, email="agent@shop.test", password="kopi susu " * 101, role="agent")
    assert refused.value.code == "password_long:1000"


def test_the_staff_page_refuses_a_common_password_in_the_staff_members_language(as_role, session):
    admin = as_role("admin")
    response = admin.post("/inbox/users", {"email": "new@shop.test", "password": "12345678", "role": "agent"})
    assert response.status_code == 400
    assert "Kata sandi terlalu umum atau mudah ditebak" in response.get_data(as_text=True)
    admin.post("/inbox/language", {"lang": "en"})
    response = admin.post("/inbox/users", {"email": "new@shop.test", "password": "password", "role": "agent"})
    assert "too common or too easy to guess" in response.get_data(as_text=True)
    assert session.exec(select(StaffUser).where(StaffUser.email == "new@shop.test")).first() is None


def test_staff_change_their_own_password_and_their_other_sessions_end(app, staff, as_role, session):
    other_device, _ = log_in(app, ROLE_EMAILS["agent"])
    agent = as_role("agent")
    page = agent.get("/inbox/password")
    assert page.status_code == 200 and 'name="current_password"' in page.get_data(as_text=True)
    response = agent.post("/inbox/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD})
    assert response.status_code == 303
    assert agent.get("/inbox/").status_code == 200  # this session goes on
    assert other_device.get("/inbox/").status_code == 302  # the others are over
    assert log_in(app, ROLE_EMAILS["agent"], NEW_PASSWORD)[0].get("/inbox/").status_code == 200
    fresh = app.test_client()
    old = fresh.post("/inbox/login", data={"email": ROLE_EMAILS["agent"], "password": PASSWORD,
                                           "csrf_token": csrf_token(fresh)})
    assert old.status_code == 401
    assert session.exec(select(AuditLog).where(AuditLog.action == "staff.password")).one().staff_user_id == staff["agent"]


@pytest.mark.parametrize(("form", "reason"), [
    ({"current_password": "not-my-password", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
     "Kata sandi sekarang salah"),
    ({"current_password": PASSWORD, "new_password": "12345678", "confirm_password": "12345678"},
     "Kata sandi terlalu umum"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"}, "minimal 8 karakter"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"},
     "tidak sama"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(app, agent, form, reason, runtime):
    with session_scope(runtime.engine) as s:
        before = s.get(StaffUser, agent.user_id).password_hash
    response = agent.post("/inbox/password", form)
    assert response.status_code == 400 and reason in response.get_data(as_text=True)
    with session_scope(runtime.engine) as s:
        assert s.get(StaffUser, agent.user_id).password_hash == before
    assert agent.get("/inbox/").status_code == 200


def test_the_password_page_needs_a_login_and_a_csrf_token(app, agent):
    assert app.test_client().get("/inbox/password").status_code == 302
    response = agent.client.post("/inbox/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                          "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_guessing_the_current_password_on_the_password_page_is_slowed_down(agent):
    wrong = {"current_password": "guess-guess", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert [agent.post("/inbox/password", wrong).status_code for _ in range(6)] == [400] * 5 + [429]
