"""The `sapa` command: database, demo data, users, tokens, history, Telegram webhook."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from bot.app import create_app
from bot.cli import main
from bot.ingest import RawEvent, store_events
from bot.migrate import not_search_index, upgrade
from bot.runtime import build_runtime
from core.db import get_engine, session_scope
from core.runtime import set_runtime
from core.settings import get_settings
from crm.models import ApiToken, StaffChatLink, StaffUser, WebhookEvent
from tests.conftest import make_settings
from tests.factories import TELEGRAM_SECRET, Webhooks, line_text, tg_text


@pytest.fixture
def sapa(sqlite_url, monkeypatch):
    """Run `sapa …` against a fresh database; returns (exit_code, output)."""
    monkeypatch.setenv("SAPA_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        return result.exit_code, result.output

    yield run
    get_settings.cache_clear()


def test_python_m_bot_cli_is_the_sapa_command():
    """`sapa run` starts its children as `python -m bot.cli …`: the same command, every group on it."""
    result = subprocess.run([sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    for command in ("run", "web", "worker", "clock", "db", "demo", "user", "token", "telegram", "contacts", "events",
                    "nlu", "segments", "campaigns", "journeys", "cross-sell"):
        assert f"\n  {command} " in result.stdout, command


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/fresh.db"
    monkeypatch.setenv("SAPA_DATABASE_URL", url)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert {"contact", "message", "webhookevent", "alembic_version"} <= set(inspect(get_engine(url)).get_table_names())


# The phone index is an expression (migration 0039): neither dialect's reflection reads one back to compare.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_migrations_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(url)
    with get_engine(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"include_object": not_search_index}),
                                SQLModel.metadata)
    assert diff == [], "models changed without a migration: run bot.migrate.revision(...)"


def test_old_staff_alerts_are_carried_into_the_alert_states(tmp_path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0009")
    with get_engine(url).connect() as connection:
        connection.execute(text("PRAGMA foreign_keys=OFF"))  # alert rows alone, without their chat
        for kind, acknowledged in (("negative_sentiment", None), ("complaint", "2026-01-02"), ("handoff", None),
                                   ("handoff", None)):
            connection.execute(text("INSERT INTO staffalert (kind, severity, conversation_id, text, created_at, "
                                    "acknowledged_at) VALUES (:kind, 'high', 1, '', '2026-01-01', :at)"),
                               {"kind": kind, "at": acknowledged})
        connection.commit()
    upgrade(url)
    with get_engine(url).connect() as connection:
        rows = connection.execute(text("SELECT kind, status FROM staffalert ORDER BY id")).all()
    # Renamed, acknowledged = done, and of two open alerts of one cause only the newest stays open.
    assert [tuple(row) for row in rows] == [("negative", "new"), ("complaint", "done"), ("handoff", "done"),
                                            ("handoff", "new")]


def test_demo_is_idempotent_and_prints_the_login(sapa, sqlite_url):
    code, out = sapa("demo")
    assert code == 0 and "admin@sapa.local" in out
    code, out = sapa("demo")
    assert code == 0 and "already present" in out
    code, out = sapa("demo", "--if-empty")
    assert "not loaded" in out
    code, out = sapa("contacts", "list")
    assert "Budi Santoso" in out and "telegram:5012345678" in out


def test_user_add_reads_the_password_from_stdin(sapa, sqlite_url):
    code, out = sapa("user", "add", "Agent@Shop.id", "--role", "agent", input="correct horse battery\n")
    assert code == 0 and "agent@shop.id" in out
    with Session(get_engine(sqlite_url)) as session:
        user = session.exec(select(StaffUser)).one()
        assert user.password_hash.startswith("$argon2") and user.role == "agent"
    code, out = sapa("user", "add", "agent@shop.id", "--role", "agent", input="another password\n")
    assert code != 0 and "already exists" in out
    code, out = sapa("user", "add", "x@shop.id", "--role", "agent", input="short\n")
    assert code != 0 and "at least 8" in out


def test_token_add_prints_a_token_that_works(sapa, sqlite_url, fake_line, fake_telegram):
    code, out = sapa("token", "add", "pos")
    token = out.splitlines()[0].strip()
    assert code == 0 and token.startswith("sapa_")
    with Session(get_engine(sqlite_url)) as session:
        assert session.exec(select(ApiToken)).one().token_hash != token
    client = create_app(make_settings(sqlite_url)).test_client()
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_user_link_code_links_the_staff_members_telegram_chat(sapa, sqlite_url, fake_line, fake_telegram):
    """The code alone on the last line; "/start CODE" from a Telegram chat links that chat to the staff member."""
    sapa("user", "add", "owner@shop.id", "--role", "admin", input="correct horse battery\n")
    code, out = sapa("user", "link-code", "Owner@Shop.id")
    link = out.strip().splitlines()[-1]
    assert code == 0 and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", link)
    settings = make_settings(sqlite_url, fake_line, fake_telegram)
    previous = set_runtime(build_runtime(settings))
    try:
        Webhooks(create_app(settings).test_client()).telegram(tg_text(f"/start {link}", user_id=7_700_000_009))
    finally:
        set_runtime(previous).close()
    with Session(get_engine(sqlite_url)) as session:
        owner = session.exec(select(StaffUser)).one()
        linked = session.exec(select(StaffChatLink)).one()
        assert (linked.staff_user_id, linked.channel, linked.external_id) == (owner.id, "telegram", "7700000009")
    code, out = sapa("user", "link-code", "nobody@shop.id")
    assert code != 0 and "no active staff member" in out


def test_contacts_history_shows_both_directions(sapa, sqlite_url, fake_line, fake_telegram):
    settings = make_settings(sqlite_url, fake_line, fake_telegram)
    previous = set_runtime(build_runtime(settings))
    try:
        Webhooks(create_app(settings).test_client()).line(line_text("mau pesen kopi", user="U9"))
    finally:
        set_runtime(previous).close()
    code, out = sapa("contacts", "list", "--json")
    contact_id = json.loads(out)[0]["id"]
    code, out = sapa("contacts", "history", str(contact_id))
    assert code == 0 and "← mau pesen kopi" in out and "→" in out
    code, out = sapa("contacts", "history", "424242")
    assert code != 0 and "sapa contacts list" in out


def test_telegram_set_webhook_sends_the_secret(sapa, fake_telegram, monkeypatch):
    monkeypatch.setenv("SAPA_TELEGRAM__BOT_TOKEN", fake_telegram.token)
    monkeypatch.setenv("SAPA_TELEGRAM__API_BASE", fake_telegram.url)
    monkeypatch.setenv("SAPA_TELEGRAM__SECRET_TOKEN", TELEGRAM_SECRET)
    get_settings.cache_clear()
    code, out = sapa("telegram", "set-webhook", "https://shop.example/webhooks/telegram")
    assert code == 0, out
    assert fake_telegram.webhook["url"] == "https://shop.example/webhooks/telegram"
    assert fake_telegram.webhook["secret_token"] == TELEGRAM_SECRET


def test_telegram_set_webhook_without_token_says_what_to_do(sapa):
    code, out = sapa("telegram", "set-webhook", "https://x")
    assert code != 0 and "SAPA_TELEGRAM__BOT_TOKEN" in out


def test_invalid_configuration_is_explained(monkeypatch):
    monkeypatch.setenv("SAPA_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["db", "upgrade"])
    get_settings.cache_clear()
    assert result.exit_code != 0 and "unknown timezone" in result.output


def test_failed_events_can_be_listed_and_retried(sapa, sqlite_url):
    engine = get_engine(sqlite_url)
    [event_id] = store_events(engine, "line", [RawEvent("k1", "message", "{}")])
    with session_scope(engine) as s:
        event = s.get(WebhookEvent, event_id)
        event.status, event.error = "failed", "RuntimeError: boom"
        s.add(event)
    code, out = sapa("events", "list")
    assert "boom" in out
    code, out = sapa("events", "retry", "--all-failed")
    assert code == 0 and "queued 1" in out


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "another-sapa-web"])
def test_web_refuses_a_port_that_is_already_served(sapa, reuse_port, monkeypatch):
    # Sapa's workers each bind with SO_REUSEPORT, which must not let a second server share the port.
    monkeypatch.setattr("gunicorn.app.base.BaseApplication.run", lambda self: pytest.fail("gunicorn was started"))
    with socket.socket() as server:
        if reuse_port:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code, output = sapa("web", "--port", str(port))
    assert code == 1 and f"127.0.0.1:{port} is already in use" in output and "--port" in output


def test_token_list_and_revoke_by_name_or_id(sapa, sqlite_url):
    pos = sapa("token", "add", "pos")[1].splitlines()[0].strip()
    sheet = sapa("token", "add", "sheet")[1].splitlines()[0].strip()
    client = create_app(make_settings(sqlite_url)).test_client()
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {pos}"}).status_code == 200
    code, out = sapa("token", "list")
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == ["ID", "NAME", "ACCESS", "CREATED", "LAST", "USED", "REVOKED"]
    assert first.split()[:3] == ["1", "pos", "full"] and first.split()[-1] == "no" and first.split()[5] != "-"  # used
    assert second.split()[:2] == ["2", "sheet"] and second.split()[5] == "-"  # never used
    assert sapa("token", "revoke", "pos") == (0, "revoked token 1 (pos)\n")
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {pos}"}).status_code == 401
    assert sapa("token", "revoke", "2") == (0, "revoked token 2 (sheet)\n")
    assert client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {sheet}"}).status_code == 401
    assert sapa("token", "revoke", "pos") == (0, "pos was revoked already\n")
    revoked = sapa("token", "list")[1].splitlines()[1]
    assert revoked.split()[-2].startswith("20")  # the date it was revoked
    code, out = sapa("token", "revoke", "nope")
    assert code != 0 and "no token has the id or name 'nope'" in out


def test_a_token_limited_to_a_role_does_what_that_role_does(sapa, sqlite_url):
    agent = sapa("token", "add", "till", "--role", "agent")[1].splitlines()[0].strip()
    marketer = sapa("token", "add", "mailer", "--role", "marketer")[1].splitlines()[0].strip()
    code, out = sapa("token", "add", "x", "--role", "owner")
    assert code != 0 and "owner" in out and "admin" in out
    client = create_app(make_settings(sqlite_url)).test_client()

    def status(token, method, path, **body):
        return client.open(path, method=method, headers={"Authorization": f"Bearer {token}"}, **body).status_code

    assert status(agent, "GET", "/api/v1/conversations") == 200 and status(agent, "GET", "/api/v1/products") == 200
    refused = client.patch("/api/v1/settings", json={}, headers={"Authorization": f"Bearer {agent}"})
    assert refused.status_code == 403 and "agent" in refused.get_json()["error"]
    assert status(agent, "POST", "/api/v1/segments", json={"name": "x", "rules": {}}) == 403
    assert status(marketer, "POST", "/api/v1/segments", json={"name": "x", "rules": {}}) == 201
    assert status(marketer, "GET", "/api/v1/contacts") == 200
    assert status(marketer, "POST", "/api/v1/products", json={"sku": "A1", "name": "A", "price": 1}) == 403
    assert status(marketer, "GET", "/api/v1/settings") == 403
    assert sapa("token", "list")[1].splitlines()[1].split()[2] == "agent"


def test_user_add_refuses_a_common_password(sapa):
    code, out = sapa("user", "add", "x@shop.id", "--role", "agent", input="12345678\n")
    assert code != 0 and "too common or too easy to guess" in out and "Kata sandi terlalu umum" in out


def test_each_opened_conversation_becomes_one_episode_with_its_times(tmp_path):
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0011")
    with get_engine(url).connect() as connection:
        connection.execute(text("PRAGMA foreign_keys=OFF"))  # chats alone, without contacts
        connection.execute(text("INSERT INTO staffuser (id, email, display_name, password_hash, role, language, active, "
                                "notes_access, created_at, session_generation) VALUES (7, 'a@x', 'A', 'h', 'agent', "
                                "'id', 1, 0, '2026-01-01', 0)"))
        for chat, opened, first, resolved in (("a", "2026-01-01 01:00:00", "2026-01-01 01:05:00", "2026-01-01 02:00:00"),
                                              ("b", "2026-01-02 01:00:00", None, None), ("c", None, None, None)):
            connection.execute(text(
                "INSERT INTO conversation (channel, external_chat_id, kind, status, assignee_id, labels, bot_active, "
                "bot_member, state, unread_count, created_at, opened_at, first_response_at, resolved_at) VALUES "
                "('line', :chat, 'direct', 'open', 7, '[]', 1, 1, '{}', 0, '2026-01-01', :opened, :first, :resolved)"),
                {"chat": chat, "opened": opened, "first": first, "resolved": resolved})
        connection.execute(text("INSERT INTO message (conversation_id, channel, direction, sender, staff_user_id, type, "
                                "payload, status, attempts, hidden, seq, created_at) VALUES (1, 'line', 'out', 'staff', "
                                "7, 'text', '{}', 'sent', 1, 0, 0, '2026-01-01 01:05:00')"))
        connection.commit()
    upgrade(url)
    with get_engine(url).connect() as connection:
        rows = connection.execute(text("SELECT conversation_id, opened_at, first_response_at, responder_id, "
                                       "resolved_at, resolver_id FROM conversationepisode ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [
        (1, "2026-01-01 01:00:00", "2026-01-01 01:05:00", 7, "2026-01-01 02:00:00", 7),
        (2, "2026-01-02 01:00:00", None, None, None, None)]  # never opened: no episode


def test_contacts_import_prints_one_summary_line_and_the_export_reads_back(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("SAPA_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    source = tmp_path / "pelanggan.csv"
    source.write_text("Nama;HP;kota\nBudi;0812-3456-7890;Bogor\nAni;+62 813 1111 2222;\n;08123;\n", encoding="utf-8")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    code, out, err = run("contacts", "import", str(source), "--dry-run", "--map", "Nama=name", "HP=phone",
                         "--map", "kota=custom.kota")
    assert (code, out) == (0, "created 2, merged 0, unchanged 0, rejected 1\n")
    assert "pelanggan.rejected.csv" in err
    assert run("contacts", "import", str(source), "--map", "Nama=name", "--map", "HP=phone")[1] == \
        "created 2, merged 0, unchanged 0, rejected 1\n"
    assert run("contacts", "import", str(source), "--map", "Nama=name", "--map", "HP=phone")[1] == \
        "created 0, merged 0, unchanged 2, rejected 1\n"
    assert (tmp_path / "pelanggan.rejected.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith(
        "4,Nama,no name")
    exported = tmp_path / "semua.xlsx"
    assert run("contacts", "export", "-o", str(exported), "--rules",
               '{"field": "channel", "op": "eq", "value": "line"}')[1] == f"exported 0 contacts to {exported}\n"
    assert run("contacts", "export", "-o", str(exported))[1] == f"exported 2 contacts to {exported}\n"
    assert run("contacts", "import", str(exported))[1] == "created 0, merged 0, unchanged 2, rejected 0\n"
    code, out, err = run("contacts", "import", str(source), "--map", "Telepon=phone")
    assert code == 1 and "no column 'Telepon'" in err
    assert run("contacts", "export", "-o", str(exported), "--segment", "99")[0] == 1
    get_settings.cache_clear()
