"""Every campaign message a contact is sent is an outbound row of their history, written with its
delivery row and following its status; a retried fan-out adds nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from broadcasts import campaigns, delivery, recipient_history, runs
from broadcasts.models import Campaign, CampaignRecipient
from crm import history
from core.db import session_scope, utcnow
from crm.models import ChannelIdentity, Conversation, Message
from crm.outbound import RetryLater
from tests.broadcasts.helpers import line_id, make_campaign, run_to_end, seed, statuses, tg_id
from tests.factories import Webhooks, line_text
from tests.crm.inbox.conftest import agent, as_role, staff  # noqa: F401 - fixtures

MULTICAST = "/v2/bot/message/multicast"


def campaign_rows(session, contact_id: int) -> list[Message]:
    """The contact's campaign messages (the history as crm.history reads it)."""
    session.expire_all()
    return [row for row in history.contact_messages(session=session, contact_id=contact_id)
            if row.sender == "campaign"]


def one_message_per_delivery(session, campaign_id: int) -> None:
    """Every recipient who is sent something points at a campaign message of their own."""
    recipients = session.execute(select(CampaignRecipient.id, CampaignRecipient.message_id, Message.contact_id,
                                        Message.sender)
                                 .join(Message, Message.id == CampaignRecipient.message_id, isouter=True)
                                 .where(CampaignRecipient.campaign_id == campaign_id,
                                        CampaignRecipient.status.not_in(("skipped", "held")))).all()
    assert recipients and all(message_id is not None and sender == "campaign" for _, message_id, _, sender in recipients)
    assert len({message_id for _, message_id, _, _ in recipients}) == len(recipients)


def test_a_campaign_on_line_and_telegram_puts_one_sent_row_in_each_recipients_history(
        runtime, client, auth, session, fake_line, fake_telegram):
    Webhooks(client).line(line_text("halo", user=line_id(0)))  # this customer already has a chat
    known = session.execute(select(ChannelIdentity.contact_id)).scalar_one()
    ids = [known] + seed(runtime.engine, line=2, start=1) + seed(runtime.engine, telegram=3)
    campaign_id = make_campaign(runtime, name="Promo Kopi", message={"text": "Diskon 10% hari ini!"})
    run_to_end(runtime, campaign_id)
    assert len(fake_line.calls(MULTICAST)) == 1 and len(fake_telegram.sent) == 3
    for contact_id, channel in zip(ids, ["line"] * 3 + ["telegram"] * 3):
        (row,) = campaign_rows(session, contact_id)
        assert (row.channel, row.direction, row.status, row.text, row.error) == \
            (channel, "out", "sent", "Diskon 10% hari ini!", None)
        assert row.payload["campaign_id"] == campaign_id and row.payload["campaign"] == "Promo Kopi"
        assert row.sent_at is not None and row.batch_id is None  # the bot's outbound sweep never resends it
        chat = session.get(Conversation, row.conversation_id)
        assert (chat.channel, chat.contact_id, chat.kind) == (channel, contact_id, "direct")
    known_row = campaign_rows(session, known)[0]
    customer_chat = session.get(Conversation, known_row.conversation_id)
    assert customer_chat.status == "open"  # their own chat, untouched but for the message
    new_chat = session.get(Conversation, campaign_rows(session, ids[4])[0].conversation_id)
    assert new_chat.status == "resolved"  # a chat opened for the campaign asks nothing of staff

    listed = client.get(f"/api/v1/contacts/{known}/messages", headers=auth).get_json()["items"]
    assert [(m["direction"], m["sender"], m["text"], m["status"]) for m in listed] == [
        ("in", "customer", "halo", "received"), ("out", "bot", listed[1]["text"], "sent"),
        ("out", "campaign", "Diskon 10% hari ini!", "sent")]
    assert listed[-1]["payload"]["campaign"] == "Promo Kopi"


def test_failed_and_blocked_recipients_get_a_failed_row(runtime, session, fake_line, fake_telegram):
    line_ids = seed(runtime.engine, line=2)
    tg_ids = seed(runtime.engine, telegram=2)
    fake_line.fail_next(MULTICAST, 400, times=1)
    fake_telegram.blocked_chats.add(int(tg_id(1)))
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    assert statuses(runtime.engine, campaign_id) == {"failed": 2, "sent": 1, "blocked": 1}
    for contact_id in line_ids:
        (row,) = campaign_rows(session, contact_id)
        assert row.status == "failed" and "400" in row.error
    assert [r.status for r in campaign_rows(session, tg_ids[0])] == ["sent"]
    (blocked,) = campaign_rows(session, tg_ids[1])
    assert blocked.status == "failed" and "blocked" in blocked.error.lower()
    # known to be blocked now: the next campaign is not sent to them, and their history says so
    second = make_campaign(runtime, name="Lagi")
    run_to_end(runtime, second)
    assert [(r.status, r.error) for r in campaign_rows(session, tg_ids[1])][-1] == ("failed", "not sent: blocked")
    one_message_per_delivery(session, second)


def test_opted_out_and_capped_contacts_get_no_row(runtime, session, fake_line):
    from broadcasts import consent

    ids = seed(runtime.engine, line=2)
    with session_scope(runtime.engine) as s:
        consent.set_opt_out(session=s, contact_id=ids[0], channel="line", opted_out=True)
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    assert campaign_rows(session, ids[0]) == [] and [r.status for r in campaign_rows(session, ids[1])] == ["sent"]


def test_a_retried_fan_out_adds_nothing_twice(runtime, session, fake_line, fake_telegram):
    ids = seed(runtime.engine, line=3, telegram=3)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    # as if the worker died after committing the rows but before recording its progress
    with session_scope(runtime.engine) as s:
        s.execute(text("UPDATE campaignrun SET status = 'resolving', resolved_upto = 0"))
    runs.resolve(runtime, run_id)
    plan = runs.dispatch(runtime, run_id)
    delivery.send_chunk(runtime, run_id, plan.chunks[0])
    # the chunk is sent again after a crash (LINE answers 409 to the repeated retry key)
    with session_scope(runtime.engine) as s:
        s.execute(text("UPDATE delivery SET status = 'sending' WHERE channel = 'line'"))
        s.execute(text("UPDATE campaignrun SET status = 'sending', finished_at = NULL"))
    delivery.send_chunk(runtime, run_id, plan.chunks[0])
    run_to_end(runtime, campaign_id)
    run_to_end(runtime, campaign_id)  # the task fired again
    assert statuses(runtime.engine, campaign_id) == {"sent": 6}
    for contact_id in ids:
        assert [r.status for r in campaign_rows(session, contact_id)] == ["sent"]
    assert session.execute(select(func.count()).select_from(Conversation)).scalar_one() == 6
    one_message_per_delivery(session, campaign_id)


def test_two_tasks_recording_the_same_rows_at_once_keep_one_message_per_recipient(runtime, session, fake_line,
                                                                                   fake_telegram):
    seed(runtime.engine, line=4, telegram=4)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    with session_scope(runtime.engine) as s:  # back to rows written but not yet recorded
        s.execute(text("UPDATE delivery SET message_id = NULL"))
        s.execute(text("DELETE FROM message WHERE sender = 'campaign'"))
    first_done, errors = threading.Event(), []

    def record(hold: bool) -> None:
        try:
            with session_scope(runtime.engine) as s:
                campaign = s.get(Campaign, campaign_id)
                if not hold:
                    first_done.wait(10)
                recipient_history.record(s, campaign=campaign, now=utcnow(),
                                         previews=runs.history_previews(runtime, s, campaign, [""]),
                                         where=[CampaignRecipient.__table__.c.run_id == run_id])
                if hold:  # the second task starts while this transaction is still open
                    first_done.set()
                    time.sleep(0.5)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
            first_done.set()

    tasks = [threading.Thread(target=record, args=(hold,)) for hold in (True, False)]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(30)
    assert errors == []
    one_message_per_delivery(session, campaign_id)
    assert session.execute(select(func.count()).select_from(Message).where(Message.sender == "campaign")
                           ).scalar_one() == 8


def _fail_campaign_messages(engine) -> None:
    """A database fault: writing a campaign message fails (as a full disk or a lost connection would)."""
    with session_scope(engine) as s:
        if engine.dialect.name == "postgresql":
            s.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; "
                           "END $$ LANGUAGE plpgsql"))
            s.execute(text("CREATE TRIGGER refuse_campaign BEFORE INSERT ON message FOR EACH ROW "
                           "WHEN (NEW.sender = 'campaign') EXECUTE FUNCTION refuse()"))
        else:
            s.execute(text("CREATE TRIGGER refuse_campaign BEFORE INSERT ON message WHEN NEW.sender = 'campaign' "
                           "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))


def test_a_failure_writing_the_history_leaves_no_delivery_without_its_message(runtime, session, fake_line):
    ids = seed(runtime.engine, line=3)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    _fail_campaign_messages(runtime.engine)
    with pytest.raises(Exception, match="disk full"):
        runs.resolve(runtime, run_id)
    assert statuses(runtime.engine, campaign_id) == {}
    with session_scope(runtime.engine) as s:
        s.execute(text("DROP TRIGGER refuse_campaign" + (" ON message" if s.get_bind().dialect.name ==
                                                         "postgresql" else "")))
    run_to_end(runtime, campaign_id)
    assert all([r.status for r in campaign_rows(session, contact_id)] == ["sent"] for contact_id in ids)


def test_personalised_text_cancel_and_ab_winner_follow_into_the_history(runtime, session, fake_line, fake_telegram):
    budi = seed(runtime.engine, telegram=1, display_name="Budi Santoso")
    personal = make_campaign(runtime, name="Sapa", message={"text": "Halo {first_name}!"})
    run_to_end(runtime, personal)
    assert [r.text for r in campaign_rows(session, budi[0])] == ["Halo Budi!"]

    ids = seed(runtime.engine, line=40, start=100)
    variants = [{"name": "A", "message": {"text": "Versi A"}}, {"name": "B", "message": {"text": "Versi B"}}]
    ab = make_campaign(runtime, name="AB", variants=variants, message=None, ab_test={"test_percent": 50},
                       rules={"all": [{"field": "channel", "op": "eq", "value": "line"}]})
    run_to_end(runtime, ab)
    held = statuses(runtime.engine, ab)["held"]
    assert sum(len(campaign_rows(session, i)) for i in ids) == 40 - held  # the held rest has been sent nothing
    delivery.release_winner(runtime, ab, "B")
    assert sum(len(campaign_rows(session, i)) for i in ids) == 40
    with session_scope(runtime.engine) as s:
        campaigns.cancel(session=s, campaign_id=ab)
    rows = [row for i in ids for row in campaign_rows(session, i)]
    assert {(r.text, r.status, r.error) for r in rows if r.status != "sent"} == {("Versi B", "failed",
                                                                                 "not sent: cancelled")}
    assert len([r for r in rows if r.status == "failed"]) == held
    one_message_per_delivery(session, ab)


def test_the_inbox_shows_a_campaign_message_with_its_marker(runtime, client, agent, session, fake_line):  # noqa: F811
    Webhooks(client).line(line_text("halo", user=line_id(0)))
    run_to_end(runtime, make_campaign(runtime, name="Promo Gajian", message={"text": "Gajian, diskon 25%!"}))
    chat = session.execute(select(Conversation)).scalar_one()
    page = agent.get(f"/inbox/c/{chat.id}").get_data(as_text=True)
    assert "Gajian, diskon 25%!" in page
    assert "kampanye: Promo Gajian" in page


def test_the_recipient_row_points_at_its_message_and_the_message_follows_the_send(
        runtime, session, fake_line, fake_telegram):
    (tg_contact,) = seed(runtime.engine, telegram=1)
    fake_telegram.fail_next("sendMessage", 429, retry_after=1)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    recipient = session.execute(select(CampaignRecipient).where(CampaignRecipient.run_id == run_id)).scalar_one()
    message = session.get(Message, recipient.message_id)
    assert (message.contact_id, message.sender, message.status) == (tg_contact, "campaign", "queued")
    runs.dispatch(runtime, run_id)
    (first, last), = runs.iter_ranges(runtime, run_id, 10)
    with pytest.raises(RetryLater) as raised:  # 429: not sent, tried again after retry_after
        delivery.send_range(runtime, run_id, first, last, max_retries=0)
    assert raised.value.delay == 1
    session.expire_all()
    assert session.get(Message, recipient.message_id).status == "queued"
    delivery.send_range(runtime, run_id, first, last)
    session.expire_all()
    sent = session.get(Message, recipient.message_id)
    assert (sent.status, sent.sent_at is not None, len(fake_telegram.sent)) == ("sent", True, 1)
    assert campaign_rows(session, tg_contact) == [sent]


def test_a_broadcast_to_someone_who_blocked_the_bot_marks_them_blocked_like_a_bot_reply(
        runtime, session, fake_telegram, monkeypatch):
    from crm import outbound

    (contact_id,) = seed(runtime.engine, telegram=1)
    fake_telegram.blocked_chats.add(int(tg_id(0)))
    marked = []
    real = outbound._mark_blocked
    monkeypatch.setattr(outbound, "_mark_blocked", lambda s, channel, chat: (marked.append((channel, chat)),
                                                                             real(s, channel, chat)))
    run_to_end(runtime, make_campaign(runtime))
    assert marked == [("telegram", tg_id(0))]  # the one place a bot reply marks it too
    identity = session.execute(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id)).scalar_one()
    assert identity.blocked
    (row,) = campaign_rows(session, contact_id)
    assert row.status == "failed" and "blocked" in row.error.lower()


def test_migration_0008_moves_the_link_from_the_message_to_the_recipient(tmp_path):
    from alembic import command

    from bot.migrate import alembic_config, upgrade
    from core.db import get_engine

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0007")
    engine = get_engine(url)
    stamp = "'2026-12-01 00:00:00'"
    with engine.begin() as c:
        c.execute(text("PRAGMA foreign_keys = OFF"))  # only the two rows the migration reads
        c.execute(text(f"INSERT INTO delivery (id, campaign_id, run_id, contact_id, channel, external_id, variant, "
                       f"status, attempts, created_at) VALUES (7, 1, 1, 1, 'line', 'U1', '', 'sent', 1, {stamp})"))
        c.execute(text(f"INSERT INTO message (id, conversation_id, contact_id, channel, direction, sender, type, "
                       f"payload, status, attempts, hidden, seq, delivery_id, created_at) VALUES (3, 1, 1, 'line', "
                       f"'out', 'campaign', 'text', '{{}}', 'sent', 0, 0, 0, 7, {stamp})"))
    upgrade(url)
    with engine.connect() as c:
        assert c.execute(text("SELECT message_id FROM delivery WHERE id = 7")).scalar_one() == 3
    command.downgrade(alembic_config(url), "0007")  # and back
    with engine.connect() as c:
        assert c.execute(text("SELECT delivery_id FROM message WHERE id = 3")).scalar_one() == 7
    engine.dispose()
