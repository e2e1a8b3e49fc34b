"""Login, sessions, rate limit, CSRF, cookie flags, and no data without login."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from crm.models import AuditLog, Message, Note, StaffUser
from tests.conftest import make_settings
from tests.crm.inbox.conftest import PASSWORD, ROLE_EMAILS, csrf_token, log_in


def test_root_redirects_to_the_inbox_and_the_login_links_the_simulator(client):
    assert client.get("/").location.endswith("/inbox/")
    response = client.get("/inbox/")
    assert response.status_code == 302 and "/inbox/login" in response.location
    page = client.get("/inbox/login").get_data(as_text=True)
    assert 'href="/simulator/"' in page


def test_login_with_the_right_password_opens_the_inbox_and_is_audited(app, staff, session):
    client, _ = log_in(app, ROLE_EMAILS["agent"])
    assert client.get("/inbox/").status_code == 200
    assert session.exec(select(AuditLog).where(AuditLog.action == "staff.login")).first().staff_user_id == staff["agent"]


def test_wrong_password_is_refused_with_a_reason(client, staff):
    token = csrf_token(client)
    response = client.post("/inbox/login", data={"email": ROLE_EMAILS["agent"], "password": "nope-nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Email atau kata sandi salah" in response.get_data(as_text=True)
    assert client.get("/inbox/").status_code == 302


def test_the_session_expires_on_the_server(app, staff):
    client, _ = log_in(app, ROLE_EMAILS["agent"])
    with client.session_transaction() as s:
        s["auth_at"] = int(time.time()) - 13 * 3600  # config: 12 hours
    assert client.get("/inbox/").status_code == 302


def test_a_deactivated_user_is_logged_out_on_the_next_request(app, staff, runtime):
    from core.db import session_scope

    client, _ = log_in(app, ROLE_EMAILS["agent"])
    with session_scope(runtime.engine) as s:
        s.get(StaffUser, staff["agent"]).active = False
    assert client.get("/inbox/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example", "/\\evil.example", "/\tx"])
def test_login_redirect_never_leaves_the_site(app, staff, target):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/inbox/login", data={"email": ROLE_EMAILS["agent"], "password": PASSWORD,
                                                 "csrf_token": token, "next": target})
    assert response.location == "/inbox/"


def test_session_cookie_is_httponly_and_samesite(app, staff):
    client = app.test_client()
    token = csrf_token(client)
    response = client.post("/inbox/login", data={"email": ROLE_EMAILS["agent"], "password": PASSWORD, "csrf_token": token})
    cookie = next(v for k, v in response.headers if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_over_https(sqlite_url, fake_line, fake_telegram, nlu_model_path):
    from bot.app import create_app
    from core.db import get_engine, session_scope
    from crm.staff import create_user

    settings = make_settings(sqlite_url, public_url="https://shop.example", nlu={"model_path": nlu_model_path})
    with session_scope(get_engine(sqlite_url)) as s:
        create_user(session=s, email="a@shop.test", password=PASSWORD, role="agent")
    client = create_app(settings).test_client()
    token = csrf_token(client)
    response = client.post("/inbox/login", data={"email": "a@shop.test", "password": PASSWORD, "csrf_token": token},
                           base_url="https://shop.example")
    cookie = next(v for k, v in response.headers if k == "Set-Cookie" and v.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_login_without_csrf_token_is_refused(client, staff):
    response = client.post("/inbox/login", data={"email": ROLE_EMAILS["agent"], "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/inbox/").status_code == 302


def test_state_changes_without_csrf_token_are_refused_and_write_nothing(agent, line_chat, session):
    conversation_id, contact_id = line_chat
    for path, form in ((f"/inbox/c/{conversation_id}/reply", {"text": "hi"}),
                       (f"/inbox/c/{conversation_id}/note", {"text": "secret"}),
                       (f"/inbox/c/{conversation_id}/status", {"status": "resolved"}),
                       (f"/inbox/contacts/{contact_id}", {"display_name": "x"})):
        response = agent.client.post(path, data=form)  # no csrf_token
        assert response.status_code == 400, path
        assert "Formulir kedaluwarsa" in response.get_data(as_text=True)
        bad = agent.client.post(path, data={**form, "csrf_token": "forged"})
        assert bad.status_code == 400, path
    assert session.exec(select(Note)).all() == []
    assert session.exec(select(Message).where(Message.sender == "staff")).all() == []


def test_script_posts_need_the_csrf_header(agent, line_chat):
    conversation_id, _ = line_chat
    path = f"/inbox/c/{conversation_id}/presence"
    assert agent.client.post(path, json={"state": "typing"}).status_code == 400
    assert agent.client.post(path, json={"state": "typing"}, headers={"X-CSRFToken": agent.token}).status_code == 200


def _inbox_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("inbox.") and rule.endpoint not in ("inbox.static", "inbox.login"):
            values = {arg: 1 for arg in rule.arguments}
            if "action" in values:
                values["action"] = "status"
            yield rule, app.url_map.bind("localhost").build(rule.endpoint, values)


def test_no_inbox_endpoint_answers_without_login(app, line_chat):
    client = app.test_client()
    token = csrf_token(client)  # a valid anonymous CSRF token: only the missing login may refuse
    checked = 0
    for rule, url in _inbox_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.endpoint in ("inbox.logout", "inbox.language"):
                continue  # harmless without a session (they only touch the caller's own cookie)
            if rule.endpoint == "inbox.password_reset":
                continue  # the one-time link is the credential (a wrong one is 404: test_canned_and_staff.py)
            if method == "GET":
                response = client.get(url)
                assert response.status_code in (302, 401), (url, response.status_code)
                if response.status_code == 302:
                    assert "/inbox/login" in response.location
            else:
                response = client.post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token})
                assert response.status_code == 401, (method, url, response.status_code)
            body = response.get_data(as_text=True)
            assert "Putri" not in body and "halo kak" not in body
            checked += 1
    assert checked >= 25


def test_pages_send_a_strict_content_security_policy(agent):
    response = agent.get("/inbox/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("language, word", [("en", "Conversations"), ("id", "Percakapan")])
def test_staff_choose_their_language(agent, language, word, session, staff):
    agent.post("/inbox/language", {"lang": language, "next": "/inbox/"})
    assert f">{word}<" in agent.get("/inbox/").get_data(as_text=True)
    session.expire_all()
    assert session.get(StaffUser, staff["agent"]).language == language


def test_unknown_language_is_a_clear_400(agent):
    assert agent.post("/inbox/language", {"lang": "fr"}).status_code == 400
