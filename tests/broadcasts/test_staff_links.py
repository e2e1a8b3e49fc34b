"""Staff chat accounts are linked only by a one-time code sent from them; campaign test-sends go
only there, through the outbound path every message takes, and land in that account's history."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from broadcasts.models import Campaign
from crm import staff_links
from core.db import session_scope, utcnow
from core.localtime import format_moment
from crm.models import Contact, Message, StaffChatLink
from tests.factories import Webhooks, line_text, tg_text
from tests.openapi import check
from tests.crm.inbox.conftest import as_role, staff  # noqa: F401 - fixtures

STAFF_LINE = "U" + "5" * 32
CUSTOMER_LINE = "U" + "c" * 32
STAFF_TELEGRAM = 7_700_000_001


@pytest.fixture
def marketer(as_role):  # noqa: F811
    return as_role("marketer")


@pytest.fixture
def hooks(client):
    return Webhooks(client)


def draft(marketer, session) -> Campaign:
    response = marketer.post("/inbox/campaigns/new", {
        "name": "Promo", "text": "Halo {first_name}, diskon 10%!", "channels": ["line", "telegram", "simulator"],
        "audience": "rules", "rules": '{"all": []}', "when": "now", "submit": "draft", "quota_policy": "refuse"})
    assert response.status_code == 303
    return session.execute(select(Campaign)).scalars().one()


def shown_code(marketer) -> str | None:
    """The link code /inbox/me shows now, if any."""
    page = marketer.get("/inbox/me")
    assert page.status_code == 200
    found = re.search(r'id="code">([A-Z2-9]{4}-[A-Z2-9]{4})<', page.get_data(as_text=True))
    return found.group(1) if found else None


def new_code(marketer) -> str:
    made = marketer.post("/inbox/me", {"action": "code"})
    assert made.status_code == 303 and made.location.endswith("/inbox/me")
    return shown_code(marketer)


def history_of(session, external_id: str) -> list[Message]:
    session.expire_all()
    contact_id = session.execute(select(StaffChatLink.contact_id).where(StaffChatLink.external_id == external_id)
                                 ).scalar_one()
    return list(session.execute(select(Message).where(Message.contact_id == contact_id).order_by(Message.id))
                .scalars())


def test_a_typed_in_customer_id_links_nothing_and_no_test_reaches_the_customer(
        marketer, hooks, session, fake_line):
    assert hooks.line(line_text("halo, mau tanya", user=CUSTOMER_LINE)).status_code == 200
    campaign = draft(marketer, session)
    page = marketer.get("/inbox/me").get_data(as_text=True)
    assert CUSTOMER_LINE not in page  # recent customers' ids are not offered any more
    refused = marketer.post("/inbox/me", {"line_user_id": CUSTOMER_LINE, "telegram_chat_id": ""})
    assert refused.status_code == 400
    assert session.execute(select(func.count()).select_from(StaffChatLink)).scalar_one() == 0
    before = fake_line.deliveries_per_user()[CUSTOMER_LINE]
    unlinked = marketer.post(f"/inbox/campaigns/{campaign.id}/test")
    assert unlinked.status_code == 303 and unlinked.location.endswith("/inbox/me")
    assert fake_line.deliveries_per_user()[CUSTOMER_LINE] == before


def test_a_code_sent_from_line_links_that_account_once_and_test_sends_land_in_its_history(
        marketer, hooks, session, fake_line):
    campaign = draft(marketer, session)
    code = new_code(marketer)
    fake_line.profiles[STAFF_LINE] = {"displayName": "Rina Marketing", "userId": STAFF_LINE, "language": "id"}
    assert hooks.line(line_text(code.lower(), user=STAFF_LINE, reply_token="tok-link")).status_code == 200
    assert "terhubung" in fake_line.replied[-1][1]["text"]
    link = session.execute(select(StaffChatLink)).scalars().one()
    assert (link.staff_user_id, link.channel, link.external_id) == (marketer.user_id, "line", STAFF_LINE)
    # single use: the same code from another account links nothing
    hooks.line(line_text(code, user=CUSTOMER_LINE, reply_token="tok-again"))
    assert "tidak berlaku" in fake_line.replied[-1][1]["text"]
    assert session.execute(select(func.count()).select_from(StaffChatLink)).scalar_one() == 1
    page = marketer.get("/inbox/me").get_data(as_text=True)
    assert "Rina Marketing" in page and STAFF_LINE not in page

    sent = marketer.post(f"/inbox/campaigns/{campaign.id}/test", follow_redirects=True)
    assert "Tes terkirim ke LINE" in sent.get_data(as_text=True)
    assert fake_line.delivered_to(STAFF_LINE)[-1]["text"] == "Halo Rina, diskon 10%!"
    assert CUSTOMER_LINE not in fake_line.deliveries_per_user()
    out = [row for row in history_of(session, STAFF_LINE) if row.direction == "out"]
    assert [(row.text, row.status, row.sender, row.staff_user_id) for row in out][-1] == \
        ("Halo Rina, diskon 10%!", "sent", "system", marketer.user_id)
    assert out[-1].payload["campaign_id"] == campaign.id and out[-1].payload["test_send"] is True
    assert marketer.post("/inbox/me", {"action": "unlink", "channel": "line"}).status_code == 303
    assert marketer.post(f"/inbox/campaigns/{campaign.id}/test").location.endswith("/inbox/me")


def test_telegram_start_code_links_and_an_expired_code_does_not(marketer, hooks, session, runtime, fake_telegram):
    with session_scope(runtime.engine) as s:
        old, _ = staff_links.new_code(session=s, staff_user_id=marketer.user_id, now=utcnow() - timedelta(minutes=16))
    hooks.telegram(tg_text(f"/start {old}", user_id=STAFF_TELEGRAM))
    assert "tidak berlaku" in fake_telegram.texts_to(STAFF_TELEGRAM)[-1]
    assert session.execute(select(func.count()).select_from(StaffChatLink)).scalar_one() == 0
    hooks.telegram(tg_text(f"/start {new_code(marketer).replace('-', '')}", user_id=STAFF_TELEGRAM))
    assert "terhubung" in fake_telegram.texts_to(STAFF_TELEGRAM)[-1]
    campaign = draft(marketer, session)
    marketer.post(f"/inbox/campaigns/{campaign.id}/test")
    assert fake_telegram.texts_to(STAFF_TELEGRAM)[-1] == "Halo Alice, diskon 10%!"
    assert history_of(session, str(STAFF_TELEGRAM))[-1].status == "sent"


def test_a_simulator_account_links_and_sees_the_test_in_its_chat(marketer, client, session):
    code = new_code(marketer)
    assert client.post("/simulator/api/send", json={"user": "rina-hp", "text": code}).status_code in (200, 202)
    campaign = draft(marketer, session)
    marketer.post(f"/inbox/campaigns/{campaign.id}/test")
    chat = client.get("/simulator/api/messages?user=rina-hp").get_json()["items"]
    assert "terhubung" in chat[1]["text"] and chat[-1]["text"] == "Halo Kak, diskon 10%!"
    assert chat[-1]["direction"] == "out" and chat[-1]["status"] == "sent"


def test_the_api_test_sends_only_to_proven_staff_accounts(marketer, client, auth, spec, hooks, session, fake_line):
    assert hooks.line(line_text("halo", user=CUSTOMER_LINE)).status_code == 200
    customer = session.execute(select(Contact.id).order_by(Contact.id)).scalars().first()
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "t", "message": {"text": "Halo {name}"}, "draft": True}).get_json()
    before = fake_line.deliveries_per_user()[CUSTOMER_LINE]
    for body in ({"targets": [{"channel": "line", "external_id": CUSTOMER_LINE}]}, {"contact_ids": [customer]}):
        refused = client.post(f"/api/v1/campaigns/{created['id']}/test", headers=auth, json=body)
        assert refused.status_code == 422
        check(spec, "/campaigns/{id}/test", "post", refused)
        assert "not a linked staff account" in refused.get_json()["details"][0]["message"]
    assert fake_line.deliveries_per_user()[CUSTOMER_LINE] == before
    hooks.line(line_text(new_code(marketer), user=STAFF_LINE))
    tested = check(spec, "/campaigns/{id}/test", "post", client.post(
        f"/api/v1/campaigns/{created['id']}/test", headers=auth,
        json={"targets": [{"channel": "line", "external_id": STAFF_LINE}]}))
    assert tested["items"] == [{"channel": "line", "external_id": STAFF_LINE, "status": "sent", "error": None}]
    staff_contact = session.execute(select(StaffChatLink.contact_id)).scalar_one()
    messages = client.get(f"/api/v1/contacts/{staff_contact}/messages", headers=auth).get_json()["items"]
    assert (messages[-1]["direction"], messages[-1]["text"], messages[-1]["status"]) == ("out", "Halo User 5555", "sent")


def test_chat_ids_typed_in_before_codes_existed_do_not_count_as_linked(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from core.db import get_engine
    from bot.migrate import alembic_config, upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0005")
    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO staffuser (email, display_name, password_hash, role, language, active, notes_access, "
            "line_user_id, created_at) VALUES ('m@shop.test', 'M', 'x', 'marketer', 'id', 1, 0, :line, "
            "'2026-12-01 00:00:00')"), {"line": CUSTOMER_LINE})
    upgrade(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM staffchatlink")).scalar_one() == 0
    assert "line_user_id" not in {column["name"] for column in inspect(engine).get_columns("staffuser")}
    command.downgrade(alembic_config(url), "0005")  # and back
    engine.dispose()


def test_reloading_the_page_shows_the_same_code_until_it_links_an_account(marketer, hooks, session):
    code = new_code(marketer)
    assert shown_code(marketer) == code  # a reload neither makes a new code nor loses this one
    hooks.line(line_text(code, user=STAFF_LINE))
    page = marketer.get("/inbox/me").get_data(as_text=True)
    assert shown_code(marketer) is None and "terhubung" in page
    linked = session.execute(select(StaffChatLink.linked_at)).scalar_one()
    # the shop's time, as the code's expiry is shown, in the staff's one date format ("7 Des 2026 14.27")
    assert format_moment(linked, "id", ZoneInfo("Asia/Jakarta")) in page
