"""A customer links their LINE and Telegram accounts in chat: a code asked for on one, sent from the other."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from crm import account_links
from crm.models import AccountLinkCode, ChannelIdentity, Contact, ContactMerge, Message
from handlers.router import explicit_request
from tests.factories import Webhooks, line_text, tg_text

LINE_USER = "U3333333333333333333333333333333c"
TG_USER = 424242424


@pytest.fixture
def hooks(client) -> Webhooks:
    return Webhooks(client)


def _code_from(text: str) -> str:
    return re.search(r"\b([A-HJ-KM-NP-Z2-9]{3}-[A-HJ-KM-NP-Z2-9]{3}-[A-HJ-KM-NP-Z2-9]{3})\b", text).group(1)


def _ask_on_line(hooks, fake_line, text: str = "hubungkan akun") -> str:
    hooks.line(line_text("halo kak", user=LINE_USER))
    hooks.line(line_text(text, user=LINE_USER))
    return fake_line.replied[-1][1]["text"]


def test_a_code_asked_on_line_and_sent_on_telegram_makes_one_contact_with_the_history_in_order(
        hooks, fake_line, fake_telegram, session, client, auth):
    hooks.telegram(tg_text("pesan 1 kopi susu", user_id=TG_USER))  # the Telegram account has a history first
    answer = _ask_on_line(hooks, fake_line)
    code = _code_from(answer)
    assert "15" in answer and f"https://t.me/sapa_test_bot?start={code.replace('-', '')}" in answer
    fake_telegram.reset()
    hooks.telegram(tg_text(f"/start {code.replace('-', '')}", user_id=TG_USER))
    assert "terhubung" in fake_telegram.texts_to(TG_USER)[-1]
    assert any("terhubung" in call.json["messages"][0]["text"] for call in fake_line.calls("/v2/bot/message/push"))

    session.expire_all()
    line_identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "line")).one()
    tg_identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).one()
    survivor = line_identity.contact_id  # the contact that asked survives
    assert tg_identity.contact_id == survivor
    merged = session.exec(select(Contact).where(Contact.merged_into == survivor)).one()
    body = client.get(f"/api/v1/contacts/{survivor}", headers=auth).get_json()
    assert sorted(i["channel"] for i in body["identities"]) == ["line", "telegram"]
    away = client.get(f"/api/v1/contacts/{merged.id}", headers=auth)
    assert away.status_code == 200 and away.get_json() == {"merged_into": survivor}
    history = client.get(f"/api/v1/contacts/{survivor}/messages", headers=auth).get_json()["items"]
    times = [item["created_at"] for item in history]
    assert times == sorted(times) and history[0]["text"] == "pesan 1 kopi susu"
    assert {item["channel"] for item in history} == {"line", "telegram"}
    assert session.exec(select(Message).where(Message.contact_id == merged.id)).all() == []


def test_link_command_and_english_words_give_a_code(hooks, fake_line):
    assert _code_from(_ask_on_line(hooks, fake_line, "/link")) is not None
    assert _code_from(_ask_on_line(hooks, fake_line, "Link account!")) is not None


def test_a_wrong_an_expired_a_reused_and_an_own_code_are_refused_politely(hooks, fake_line, fake_telegram, session):
    code = _code_from(_ask_on_line(hooks, fake_line)).replace("-", "")
    hooks.line(line_text(code, user=LINE_USER))  # from the same account
    assert "akun ini sendiri" in fake_line.replied[-1][1]["text"]
    hooks.telegram(tg_text("K7M-Q2P-X9A", user_id=TG_USER))  # nobody's code
    assert "tidak kami kenali" in fake_telegram.texts_to(TG_USER)[-1]
    hooks.telegram(tg_text(code, user_id=TG_USER))
    assert "terhubung" in fake_telegram.texts_to(TG_USER)[-1]
    hooks.telegram(tg_text(code, user_id=TG_USER + 1))  # a third account with the used code
    assert "sudah terpakai" in fake_telegram.texts_to(TG_USER + 1)[-1]
    assert session.exec(select(ContactMerge)).all() and len(session.exec(select(ContactMerge)).all()) == 1

    expired = _code_from(_ask_on_line(hooks, fake_line)).replace("-", "")
    with session_scope(session.get_bind()) as s:
        row = s.exec(select(AccountLinkCode).where(AccountLinkCode.used_at.is_(None))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    hooks.telegram(tg_text(expired, user_id=TG_USER + 2))
    assert "kedaluwarsa" in fake_telegram.texts_to(TG_USER + 2)[-1]
    session.expire_all()
    assert len(session.exec(select(ContactMerge)).all()) == 1


def test_codes_are_unambiguous_single_shaped_and_never_a_word():
    assert account_links.code_in("k7m-q2p-x9a") == "K7MQ2PX9A"
    assert account_links.code_in("/start K7MQ2PX9A") == "K7MQ2PX9A"
    assert account_links.code_in("ABCD-EFG2") is None  # a staff link code's shape
    assert account_links.code_in("bagus-sek-ali") is None and account_links.code_in("pesan 2 kopi") is None
    assert account_links.asks_for_code("Hubungkan akun.", None) and account_links.asks_for_code(None, "link")
    assert not account_links.asks_for_code("akun saya kena hack, tolong hubungkan ke admin", None)
    for typed in ("mau hubungkan akun telegram aku", "kak gimana cara gabungin akun line sama telegram?",
                  "How do I link my Telegram account?", "can you connect my LINE and Telegram accounts pls"):
        assert account_links.asks_for_code(typed, None), typed
    for typed in ("minta link akun ig nya dong kak", "kirim link pembayaran", "akun saya tidak bisa login",
                  "hubungkan saya ke admin", "I can't log in to my account, please link me to support"):
        assert not account_links.asks_for_code(typed, None), typed
    assert explicit_request("link account") and not explicit_request("ada promo?")


def test_deep_links_go_to_the_other_configured_channels_only():
    from types import SimpleNamespace

    from bot.answer import _link_urls
    from core.settings import Settings

    settings = Settings(env="test", database_url="sqlite://", line={"channel_secret": "s", "access_token": "t",
                                                                    "basic_id": "@123abcde"},
                        telegram={"bot_token": "1:x", "username": "toko_bot"})
    rt = SimpleNamespace(settings=settings, senders=SimpleNamespace(get=lambda channel: None))
    assert _link_urls(rt, "line", "K7MQ2PX9A") == ["https://t.me/toko_bot?start=K7MQ2PX9A"]
    assert _link_urls(rt, "telegram", "K7MQ2PX9A") == ["https://line.me/R/oaMessage/%40123abcde/?K7M-Q2P-X9A"]
    assert len(_link_urls(rt, "simulator", "K7MQ2PX9A")) == 2
    no_basic_id = SimpleNamespace(settings=Settings(env="test", database_url="sqlite://",
                                                    line={"channel_secret": "s", "access_token": "t"}))
    assert _link_urls(no_basic_id, "telegram", "K7MQ2PX9A") == []  # the code alone


def test_linked_simulator_accounts_each_see_only_their_own_chat(client):
    import re

    def say(user: str, text: str) -> list[dict]:
        assert client.post("/simulator/api/send", json={"user": user, "kind": "text", "text": text}).status_code == 200
        return client.get(f"/simulator/api/messages?user={user}").get_json()["items"]

    say("sim-ana", "halo kak, aku zulfikar")
    chat = say("sim-ana", "hubungkan akun")
    code = re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}", chat[-1]["text"]).group(0)
    say("sim-budi", "halo, aku wibisono")
    budi = say("sim-budi", code)
    ana = client.get("/simulator/api/messages?user=sim-ana").get_json()["items"]
    assert not any("wibisono" in (m["text"] or "") for m in ana)  # one person now, but each app shows its own chat
    assert not any("zulfikar" in (m["text"] or "") for m in budi) and budi[-1]["direction"] == "out"
