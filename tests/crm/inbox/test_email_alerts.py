"""Alerts by email: one more channel of the phone alerts' decision, sent to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from datetime import time as clock_time
from email import message_from_bytes, policy

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from core.db import session_scope, utcnow
from crm import alerts, phone_alerts
from crm.alert_emails import AlertEmail
from crm.models import StaffUser
from tests.conftest import make_settings
from tests.crm.inbox.conftest import ROLE_EMAILS
from tests.crm.inbox.test_phone_alerts import UPSET_COMPLAINT, complain, complaint_and_handoff, the_alert


class Mailbox:
    """An aiosmtpd handler keeping what it was given; refuses recipients listed in `refuse`."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [message for message in self.messages if message["To"] == address]


@pytest.fixture
def smtp_port() -> int:
    """A free local port for the SMTP server (nothing listens there until `mailbox` starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings(database_url, fake_line, fake_telegram, nlu_model_path, tmp_path, smtp_port):
    """The usual test settings, with email on: the local SMTP server, no TLS."""
    return make_settings(database_url, fake_line, fake_telegram, nlu={"model_path": nlu_model_path},
                         media_dir=str(tmp_path / "media"),
                         smtp={"host": "127.0.0.1", "port": smtp_port, "from_address": "alerts@shop.test",
                               "tls": "none", "timeout_seconds": 5})


def start_mailbox(port: int) -> tuple[Mailbox, Controller]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    return box, controller


@pytest.fixture
def mailbox(smtp_port):
    """The SMTP server, up for the whole test."""
    box, controller = start_mailbox(smtp_port)
    yield box
    controller.stop()


def choose_email(runtime, staff_id: int, language: str = "id", **schedule) -> None:
    with session_scope(runtime.engine) as s:
        user = s.get(StaffUser, staff_id)
        user.email_alerts, user.language = True, language
        if schedule:
            phone_alerts.set_schedule(session=s, staff=user, **schedule)


def email_rows(session) -> list[AlertEmail]:
    session.expire_all()
    return list(session.execute(select(AlertEmail).order_by(AlertEmail.id)).scalars().all())


ADMIN = ROLE_EMAILS["admin"]


def test_an_alert_reaches_the_staff_member_who_chose_email(runtime, webhooks, staff, session, fake_line, mailbox):
    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)
    alert = the_alert(session)
    [mail] = mailbox.to(ADMIN)
    assert mail["Subject"] == "[Sapa Coffee] Keluhan: Putri Customer"
    assert mail["From"] == "alerts@shop.test"
    assert mail["Message-ID"] == f"<alert.{alert.id}.0.{staff['admin']}@shop.test>"
    body = mail.get_content()
    assert f"Keluhan: Putri Customer (percakapan #{alert.conversation_id})" in body
    assert f"“{UPSET_COMPLAINT}”" in body
    assert f"Buka percakapan di inbox: http://127.0.0.1:8000/inbox/c/{alert.conversation_id}" in body
    assert "complaint" not in body and "/r " not in body  # no internal keys, no chat command
    [row] = email_rows(session)
    assert (row.status, row.attempts, row.error, row.to_address) == ("sent", 1, None, ADMIN)
    assert mailbox.to(ROLE_EMAILS["agent"]) == []  # agents get no complaint alerts by default


def test_the_email_is_in_the_staff_members_language(runtime, webhooks, staff, session, fake_line, mailbox):
    choose_email(runtime, staff["admin"], language="en")
    complain(webhooks, fake_line)
    [mail] = mailbox.to(ADMIN)
    conversation_id = the_alert(session).conversation_id
    assert mail["Subject"] == "[Sapa Coffee] Complaint: Putri Customer"
    assert f"Open the conversation in the inbox: http://127.0.0.1:8000/inbox/c/{conversation_id}" in \
        mail.get_content()


def test_no_email_for_staff_who_did_not_choose_it(runtime, webhooks, staff, session, fake_line, mailbox):
    complain(webhooks, fake_line)  # the admin wants complaints, but not by email
    assert the_alert(session).status == "new"
    assert mailbox.messages == [] and email_rows(session) == []


def test_a_digest_holds_the_emails_and_sends_them_in_one_once(runtime, webhooks, staff, session, fake_line, mailbox):
    from bot.clock import release_phone_alerts

    choose_email(runtime, staff["admin"], hours=None, digest_at="18:00")
    conversation_id = complaint_and_handoff(webhooks, fake_line, session)
    assert mailbox.messages == [] and email_rows(session) == []  # held, not sent at once
    tz = runtime.settings.tz
    now = utcnow().astimezone(tz)
    digest = datetime.combine(now.date(), clock_time(18, 0), tz)
    digest += timedelta(days=1) if digest <= now else timedelta(0)
    release_phone_alerts(digest - timedelta(minutes=1))
    assert mailbox.messages == []
    release_phone_alerts(digest)
    release_phone_alerts(digest)  # the clock runs twice: sent once
    [mail] = mailbox.to(ADMIN)
    assert mail["Subject"] == "[Sapa Coffee] Ringkasan: 2 notifikasi"
    body = mail.get_content()
    assert f"• Keluhan: Putri Customer (percakapan #{conversation_id})" in body
    assert "• Minta bicara dengan staf: Putri Customer" in body
    assert f"http://127.0.0.1:8000/inbox/c/{conversation_id}" in body
    [row] = email_rows(session)
    assert row.status == "sent" and row.key.startswith("alerts-held:")


def test_outside_their_hours_the_email_waits(runtime, webhooks, staff, session, fake_line, mailbox):
    from bot.clock import release_phone_alerts

    tz = runtime.settings.tz
    later = utcnow().astimezone(tz).date() + timedelta(days=2)
    choose_email(runtime, staff["admin"], hours={later.strftime("%a").lower(): [["09:00", "17:00"]]}, digest_at=None)
    complain(webhooks, fake_line)
    assert mailbox.messages == []
    release_phone_alerts(datetime.combine(later, clock_time(9, 0), tz))
    [mail] = mailbox.to(ADMIN)
    assert mail["Subject"] == "[Sapa Coffee] 1 notifikasi selama di luar jam kerja"


def test_the_smtp_server_down_then_up_delivers_once(runtime, webhooks, staff, session, fake_line, smtp_port):
    from bot.clock import sweep

    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)  # nothing listens on the port yet
    [row] = email_rows(session)
    assert (row.status, row.attempts) == ("queued", 1) and "Connection" in row.error
    sweep()  # not due again yet
    assert email_rows(session)[0].attempts == 1
    box, controller = start_mailbox(smtp_port)
    try:
        with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
            sweep()
            sweep()
        with time_machine.travel(utcnow() + timedelta(hours=3), tick=False):
            sweep()
    finally:
        controller.stop()
    assert len(box.to(ADMIN)) == 1
    [row] = email_rows(session)
    assert (row.status, row.attempts, row.error) == ("sent", 2, None)


def test_an_email_caught_mid_send_is_left_alone_until_stale_then_sent_under_the_same_message_id(
        runtime, webhooks, staff, session, fake_line, smtp_port):
    from bot.clock import sweep

    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)  # the server is down: queued
    with session_scope(runtime.engine) as s:  # a worker claimed it and died before the outcome
        s.execute(update(AlertEmail).values(status="sending", claimed_at=utcnow()))
    box, controller = start_mailbox(smtp_port)
    try:
        with time_machine.travel(utcnow() + timedelta(minutes=2), tick=False):
            sweep()  # due by its wait, but another worker may still be sending it
            assert box.messages == []
        with time_machine.travel(utcnow() + timedelta(minutes=11), tick=False):
            sweep()
    finally:
        controller.stop()
    [mail] = box.to(ADMIN)
    [row] = email_rows(session)
    assert row.status == "sent" and mail["Message-ID"] == row.message_id


def test_a_refused_recipient_fails_the_row_and_is_not_retried(runtime, webhooks, staff, session, fake_line,
                                                              mailbox):
    from bot.clock import sweep

    mailbox.refuse.add(ADMIN)
    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)
    [row] = email_rows(session)
    assert row.status == "failed" and "550" in row.error
    with time_machine.travel(utcnow() + timedelta(hours=3), tick=False):
        sweep()
    assert email_rows(session)[0].attempts == 1 and mailbox.messages == []


def test_an_alert_raised_twice_is_one_email(runtime, webhooks, staff, session, fake_line, mailbox):
    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)
    alert = the_alert(session)
    with session_scope(runtime.engine) as s:  # the same event decided again (a task run twice)
        phone_alerts.notify(session=s, alert=s.get(alerts.StaffAlert, alert.id))
    with session_scope(runtime.engine) as s:  # the same cause again while the alert is new: a bump, not news
        alerts.raise_alert(session=s, kind="complaint", text="again", conversation_id=alert.conversation_id,
                           contact_id=alert.contact_id)
    assert len(mailbox.to(ADMIN)) == 1 and len(email_rows(session)) == 1


def test_at_most_per_window_emails_reach_one_person(runtime, webhooks, staff, session, fake_line, mailbox,
                                                    monkeypatch):
    monkeypatch.setattr(phone_alerts, "PER_WINDOW", 1)
    choose_email(runtime, staff["admin"])
    complain(webhooks, fake_line)
    alert = the_alert(session)
    with session_scope(runtime.engine) as s:
        alerts.raise_alert(session=s, kind="handoff", text="x", conversation_id=alert.conversation_id)
    assert len(mailbox.to(ADMIN)) == 1


def test_staff_choose_email_on_their_own_page(as_role, staff, session):
    admin = as_role("admin")
    page = admin.get("/inbox/me").get_data(as_text=True)
    assert 'name="email_alerts" value="1">' in page and f"Juga lewat email ke {ADMIN}" in page
    saved = admin.post("/inbox/me", {"action": "alerts", "kinds": ["complaint"], "email_alerts": "1"})
    assert saved.status_code == 303
    session.expire_all()
    user = session.get(StaffUser, staff["admin"])
    assert user.email_alerts and user.phone_alert_kinds == "complaint"
    assert 'name="email_alerts" value="1" checked' in admin.get("/inbox/me").get_data(as_text=True)
    admin.post("/inbox/me", {"action": "alerts", "kinds": ["complaint"]})  # unticked: no more email
    session.expire_all()
    assert not session.get(StaffUser, staff["admin"]).email_alerts
