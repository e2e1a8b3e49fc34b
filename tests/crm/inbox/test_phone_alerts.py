"""Alerts reach the linked chats of the staff who want them, and staff answer a customer from there
with `/r <conversation id> <text>`: real webhooks, the fake LINE and Telegram APIs."""

from __future__ import annotations

import html

import time
from datetime import datetime, timedelta
from datetime import time as clock_time

import pytest
from sqlalchemy import select, update

from core.db import session_scope, utcnow
from crm import alerts, phone_alerts, staff_links
from crm.alerts import StaffAlert
from crm.models import Conversation, Message, StaffUser
from tests.factories import line_text, tg_text
from tests.crm.inbox.conftest import LINE_USER

ADMIN_TELEGRAM = 7_700_000_010
AGENT_TELEGRAM = 7_700_000_020
STRANGER_TELEGRAM = 7_700_000_030
UPSET_COMPLAINT = "kopinya tumpah semua, kecewa bgt"  # a complaint alert


def link_telegram(runtime, webhooks, fake_telegram, staff_id: int, chat_id: int) -> None:
    """Link a staff member's Telegram chat the way they do: /start with a code from the inbox."""
    with session_scope(runtime.engine) as s:
        code, _ = staff_links.new_code(session=s, staff_user_id=staff_id)
    assert webhooks.telegram(tg_text(f"/start {code}", user_id=chat_id)).status_code == 200
    assert "terhubung" in fake_telegram.texts_to(chat_id)[-1]


def alerts_to(fake_telegram, chat_id: int) -> list[str]:
    return [text for text in fake_telegram.texts_to(chat_id) if text.startswith("🔔")]


def wait_for(found, seconds: float):
    """What `found()` returns once it is truthy, within `seconds` (else the assertion fails)."""
    deadline = time.monotonic() + seconds
    while not (result := found()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result, f"nothing within {seconds} s"
    return result


def complain(webhooks, fake_line, text: str = UPSET_COMPLAINT) -> None:
    fake_line.profiles[LINE_USER] = {"displayName": "Putri Customer", "userId": LINE_USER, "language": "id"}
    assert webhooks.line(line_text(text, user=LINE_USER)).status_code == 200


def the_alert(session) -> StaffAlert:
    session.expire_all()
    return session.execute(select(StaffAlert).where(StaffAlert.kind == "complaint")).scalars().one()


def test_the_owner_gets_the_complaint_on_telegram_and_answers_the_line_customer_with_r(
        runtime, webhooks, staff, session, fake_line, fake_telegram, client, auth):
    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    started = time.monotonic()
    complain(webhooks, fake_line)
    [told] = wait_for(lambda: alerts_to(fake_telegram, ADMIN_TELEGRAM), 10)
    assert time.monotonic() - started < 10
    conversation_id = the_alert(session).conversation_id
    assert told.startswith("🔔 Keluhan: Putri Customer (percakapan #%d)" % conversation_id)
    assert UPSET_COMPLAINT in told and f"/r {conversation_id} <teks>" in told
    assert "complaint" not in told and "CMP" not in told  # no internal keys
    # The alert is a message row in the admin's chat history, sent by the outbound path.
    row = session.execute(select(Message).where(Message.batch_id.like("alert:%"))).scalars().one()
    assert (row.direction, row.sender, row.status) == ("out", "system", "sent")

    before = len(fake_line.delivered_to(LINE_USER))
    webhooks.telegram(tg_text(f"/r {conversation_id} Baik kak, kami cek", user_id=ADMIN_TELEGRAM))
    assert [m["text"] for m in fake_line.delivered_to(LINE_USER)[before:]] == ["Baik kak, kami cek"]
    assert fake_telegram.texts_to(ADMIN_TELEGRAM)[-1] == "Terkirim ke Putri Customer."
    contact_id = the_alert(session).contact_id
    last = client.get(f"/api/v1/contacts/{contact_id}/messages", headers=auth).get_json()["items"][-1]
    assert (last["direction"], last["text"], last["status"]) == ("out", "Baik kak, kami cek", "sent")
    session.expire_all()
    reply = session.execute(select(Message).where(Message.conversation_id == conversation_id)
                            .order_by(Message.id.desc())).scalars().first()
    assert (reply.sender, reply.staff_user_id, reply.direction) == ("staff", staff["admin"], "out")


def test_r_from_a_chat_that_is_not_a_staff_account_sends_nothing(
        runtime, webhooks, staff, session, fake_line, fake_telegram):
    complain(webhooks, fake_line)
    conversation_id = the_alert(session).conversation_id
    before = len(fake_line.delivered_to(LINE_USER))
    webhooks.telegram(tg_text(f"/r {conversation_id} transfer ke rekening saya ya", user_id=STRANGER_TELEGRAM))
    assert len(fake_line.delivered_to(LINE_USER)) == before
    assert session.execute(select(Message).where(Message.sender == "staff")).first() is None
    assert not any("Terkirim" in text for text in fake_telegram.texts_to(STRANGER_TELEGRAM))


def test_an_unknown_conversation_or_no_text_is_said_to_the_staff_chat(
        runtime, webhooks, staff, session, fake_line, fake_telegram):
    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    webhooks.telegram(tg_text("/r 999999 halo kak", user_id=ADMIN_TELEGRAM))
    assert fake_telegram.texts_to(ADMIN_TELEGRAM)[-1] == \
        "Percakapan #999999 tidak ada. Cek nomornya di pesan notifikasi."
    for typed in ("/r", "/r 12", "/r@sapa_test_bot abc halo"):
        webhooks.telegram(tg_text(typed, user_id=ADMIN_TELEGRAM))
        assert fake_telegram.texts_to(ADMIN_TELEGRAM)[-1].startswith("Cara membalas: /r <nomor percakapan> <teks>")
    assert session.execute(select(Message).where(Message.sender == "staff")).first() is None


def test_a_bump_is_news_only_once_seen_and_the_rate_limit_holds(
        runtime, webhooks, staff, session, fake_line, fake_telegram, client, auth, monkeypatch):
    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    complain(webhooks, fake_line)
    complain(webhooks, fake_line, "kalian parah banget, nyesel saya, kecewa berat!!")  # bumps the open alert
    alert = the_alert(session)
    assert alert.repeats >= 1 and len(alerts_to(fake_telegram, ADMIN_TELEGRAM)) == 1  # still new: no second message
    client.patch(f"/api/v1/alerts/{alert.id}", json={"status": "seen"}, headers=auth)
    complain(webhooks, fake_line, "kopinya tumpah lagi, kecewa bgt")  # back to new: someone must look again
    assert len(alerts_to(fake_telegram, ADMIN_TELEGRAM)) == 2
    monkeypatch.setattr(phone_alerts, "PER_WINDOW", 2)
    client.patch(f"/api/v1/alerts/{alert.id}", json={"status": "seen"}, headers=auth)
    complain(webhooks, fake_line, "kopinya tumpah lagi lagi, kecewa bgt")
    assert the_alert(session).status == "new" and len(alerts_to(fake_telegram, ADMIN_TELEGRAM)) == 2  # limited


def test_staff_without_the_kind_get_nothing(runtime, webhooks, staff, session, fake_line, fake_telegram):
    link_telegram(runtime, webhooks, fake_telegram, staff["agent"], AGENT_TELEGRAM)  # agents: none by default
    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    with session_scope(runtime.engine) as s:
        phone_alerts.set_kinds(session=s, staff=s.get(StaffUser, staff["admin"]), kinds=["handoff"],
                               known=alerts.KINDS)
    complain(webhooks, fake_line)
    assert alerts_to(fake_telegram, AGENT_TELEGRAM) == [] and alerts_to(fake_telegram, ADMIN_TELEGRAM) == []
    webhooks.line(line_text("mau ngomong sama admin aja", user=LINE_USER))
    [told] = alerts_to(fake_telegram, ADMIN_TELEGRAM)
    assert told.startswith("🔔 Minta bicara dengan staf: Putri Customer")
    with pytest.raises(ValueError, match="unknown alert kinds: everything"):
        with session_scope(runtime.engine) as s:
            phone_alerts.set_kinds(session=s, staff=s.get(StaffUser, staff["admin"]), kinds=["everything"],
                                   known=alerts.KINDS)


def test_a_rolled_back_alert_sends_nothing(runtime, webhooks, staff, session, fake_line, fake_telegram):
    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    complain(webhooks, fake_line, "halo kak")
    conversation_id = session.execute(select(Message.conversation_id).where(Message.contact_id.is_not(None),
                                                                           Message.direction == "in")
                                      .order_by(Message.id.desc())).scalars().first()
    with pytest.raises(RuntimeError):
        with session_scope(runtime.engine) as s:
            # An alert always follows a write of its transaction (on SQLite a savepoint opened
            # before any write would commit on release).
            s.execute(update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow()))
            alerts.raise_alert(session=s, kind="handoff", text="x", conversation_id=conversation_id)
            raise RuntimeError("the transaction fails after the alert")
    assert alerts_to(fake_telegram, ADMIN_TELEGRAM) == []
    session.expire_all()
    assert session.execute(select(Message).where(Message.batch_id.like("alert:%"))).first() is None
    with session_scope(runtime.engine) as s:  # committed: sent once
        alerts.raise_alert(session=s, kind="handoff", text="x", conversation_id=conversation_id)
    assert len(alerts_to(fake_telegram, ADMIN_TELEGRAM)) == 1


def test_staff_choose_their_alert_kinds_on_their_own_page(as_role, staff, session):
    admin = as_role("admin")
    page = admin.get("/inbox/me").get_data(as_text=True)
    assert 'value="complaint" checked' in page and 'value="handoff" checked' in page
    assert 'value="sla" checked' not in page  # the admin default: complaint, negative, handoff
    saved = admin.post("/inbox/me", {"action": "alerts", "kinds": ["handoff", "sla"]})
    assert saved.status_code == 303 and saved.location.endswith("/inbox/me")
    session.expire_all()
    assert session.get(StaffUser, staff["admin"]).phone_alert_kinds == "handoff,sla"
    assert 'value="complaint" checked' not in admin.get("/inbox/me").get_data(as_text=True)
    refused = admin.post("/inbox/me", {"action": "alerts", "kinds": ["everything"]})
    assert refused.status_code == 400 and "Pilih jenis notifikasi dari daftar." in refused.get_data(as_text=True)
    admin.post("/inbox/me", {"action": "alerts", "email_alerts": "1"})  # none ticked: none
    session.expire_all()
    assert phone_alerts.kinds_of(session.get(StaffUser, staff["admin"])) == ()
    # No mail server set: no email box, and a forged one changes nothing.
    assert not session.get(StaffUser, staff["admin"]).email_alerts
    page = admin.get("/inbox/me").get_data(as_text=True)
    assert 'name="email_alerts"' not in page and "Notifikasi lewat email belum diaktifkan" in page


def test_r_from_a_linked_line_chat_answers_the_customer_too(runtime, webhooks, staff, session, fake_line):
    staff_line = "U" + "6" * 32
    with session_scope(runtime.engine) as s:
        code, _ = staff_links.new_code(session=s, staff_user_id=staff["agent"])
    webhooks.line(line_text(code, user=staff_line))
    complain(webhooks, fake_line)
    conversation_id = the_alert(session).conversation_id
    before = len(fake_line.delivered_to(LINE_USER))
    webhooks.line(line_text(f"/r {conversation_id} Sudah kami kirim ulang ya kak", user=staff_line,
                            reply_token="tok-r"))
    assert fake_line.replied[-1][0] == "tok-r" and fake_line.replied[-1][1]["text"] == "Terkirim ke Putri Customer."
    assert [m["text"] for m in fake_line.delivered_to(LINE_USER)[before:]] == ["Sudah kami kirim ulang ya kak"]
    session.expire_all()
    reply = session.execute(select(Message).where(Message.sender == "staff")).scalars().one()
    assert (reply.conversation_id, reply.staff_user_id, reply.status) == (conversation_id, staff["agent"], "sent")


# --- each staff member's own hours and daily digest -------------------------------------------


def complaint_and_handoff(webhooks, fake_line, session) -> int:
    """Two alerts (a complaint, then a handoff request) from one LINE customer; their conversation id."""
    complain(webhooks, fake_line)
    webhooks.line(line_text("mau ngomong sama admin aja", user=LINE_USER))
    return the_alert(session).conversation_id


def test_outside_their_hours_alerts_wait_and_arrive_in_one_message_when_their_hours_start(
        runtime, webhooks, staff, session, fake_line, fake_telegram):
    from bot.clock import release_phone_alerts

    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    tz = runtime.settings.tz
    later = utcnow().astimezone(tz).date() + timedelta(days=2)  # their only hours: the day after tomorrow
    with session_scope(runtime.engine) as s:
        phone_alerts.set_schedule(session=s, staff=s.get(StaffUser, staff["admin"]),
                                  hours={later.strftime("%a").lower(): [["09:00", "17:00"]]}, digest_at=None)
    conversation_id = complaint_and_handoff(webhooks, fake_line, session)
    assert alerts_to(fake_telegram, ADMIN_TELEGRAM) == []  # not at once
    starts = datetime.combine(later, clock_time(9, 0), tz)
    assert release_phone_alerts() == 0 and release_phone_alerts(starts - timedelta(minutes=1)) == 0
    assert release_phone_alerts(starts) == 1
    [told] = alerts_to(fake_telegram, ADMIN_TELEGRAM)
    assert told.startswith("🔔 2 notifikasi selama di luar jam kerja:")
    assert f"• Keluhan: Putri Customer (percakapan #{conversation_id})" in told
    assert f"• Minta bicara dengan staf: Putri Customer (percakapan #{conversation_id})" in told
    assert f"/r {conversation_id} <teks>" in told
    assert release_phone_alerts(starts + timedelta(minutes=1)) == 0  # released once
    assert len(alerts_to(fake_telegram, ADMIN_TELEGRAM)) == 1


def test_a_daily_digest_lists_the_alerts_since_the_last_one_and_is_sent_once(
        runtime, webhooks, staff, session, fake_line, fake_telegram):
    from bot.clock import release_phone_alerts

    link_telegram(runtime, webhooks, fake_telegram, staff["admin"], ADMIN_TELEGRAM)
    with session_scope(runtime.engine) as s:
        phone_alerts.set_schedule(session=s, staff=s.get(StaffUser, staff["admin"]), hours=None, digest_at="18:00")
    conversation_id = complaint_and_handoff(webhooks, fake_line, session)
    assert alerts_to(fake_telegram, ADMIN_TELEGRAM) == []  # for the digest, even within any hours
    tz = runtime.settings.tz
    now = utcnow().astimezone(tz)
    digest = datetime.combine(now.date(), clock_time(18, 0), tz)
    digest += timedelta(days=1) if digest <= now else timedelta(0)
    assert release_phone_alerts(digest - timedelta(minutes=1)) == 0
    assert release_phone_alerts(digest) == 1 and release_phone_alerts(digest) == 0  # the clock runs twice: sent once
    [told] = alerts_to(fake_telegram, ADMIN_TELEGRAM)
    assert told.startswith("🔔 Ringkasan: 2 notifikasi sejak ringkasan terakhir:")
    assert f"Keluhan: Putri Customer (percakapan #{conversation_id})" in told and "Minta bicara dengan staf" in told
    assert f"Balas dari sini: /r {conversation_id} <teks>" in told
    # The digest is a message row of the admin's chat, sent by the outbound path under an idempotent batch id.
    session.expire_all()
    [row] = session.execute(select(Message).where(Message.batch_id.like("alerts-held:%"))).scalars().all()
    assert (row.direction, row.sender, row.status) == ("out", "system", "sent")
    assert release_phone_alerts(digest + timedelta(days=1)) == 0  # nothing new: no empty digest


def test_staff_set_their_alert_hours_and_digest_on_their_own_page(as_role, staff, session):
    admin = as_role("admin")
    page = admin.get("/inbox/me").get_data(as_text=True)
    assert 'name="hours_mode" value="any" checked' in page and 'name="delivery" value="now" checked' in page
    saved = admin.post("/inbox/me", {"action": "alert_schedule", "hours_mode": "hours",
                                     "hours_mon": "08:00-12:00, 13:00-17:00", "hours_sat": "09:00-12:00",
                                     "delivery": "digest", "digest_at": "19:30"})
    assert saved.status_code == 303
    session.expire_all()
    user = session.get(StaffUser, staff["admin"])
    assert user.phone_hours["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]] and user.phone_hours["sun"] == []
    assert user.phone_digest_at == "19:30"
    assert 'value="08:00-12:00, 13:00-17:00"' in admin.get("/inbox/me").get_data(as_text=True)
    for bad, words in (({"hours_mode": "hours", "hours_tue": "9-17"}, "Selasa: Tulis jam seperti 08:00-17:00"),
                       ({"delivery": "digest", "digest_at": "25:00"}, "Jam ringkasan harus berupa jam"),
                       ({"delivery": "digest", "digest_at": ""}, "Pilih jam untuk ringkasan harian."),
                       ({"hours_mode": "hours"}, "Isi jam untuk minimal satu hari")):
        refused = admin.post("/inbox/me", {"action": "alert_schedule", **bad})
        assert refused.status_code == 400 and words in html.unescape(refused.get_data(as_text=True))
    session.expire_all()
    assert session.get(StaffUser, staff["admin"]).phone_digest_at == "19:30"  # nothing half-written
    admin.post("/inbox/me", {"action": "alert_schedule", "hours_mode": "any", "delivery": "now"})
    session.expire_all()
    user = session.get(StaffUser, staff["admin"])
    assert (user.phone_hours, user.phone_digest_at) == (None, None)


def test_a_long_digest_lists_the_first_alerts_and_counts_the_rest():
    from types import SimpleNamespace

    held = [SimpleNamespace(kind="handoff", contact_id=None, conversation_id=n) for n in range(1, 33)]
    words = phone_alerts.held_text(None, held, "en", digest=True).splitlines()
    assert words[0] == "🔔 Digest: 32 alerts since the last digest:"
    assert words[1] == "• Asks for staff: a customer (conversation #1)" and len(words) == 1 + 30 + 2
    assert words[-2:] == ["… and 2 more in the inbox", "Answer from here: /r 1 <text>"]
