"""Customer 360, orders, complaints, agenda, dashboard, canned responses, staff and audit screens."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from crm import complaints as complaint_data
from crm import orders as order_data
from core.db import session_scope, utcnow
from crm.inbox import customer_data, data, shop_data
from crm.models import AuditLog, CannedResponse, Contact, FollowUpTask, Message, StaffUser
from tests.factories import line_text
from tests.crm.inbox.conftest import LINE_USER


@pytest.fixture
def order(runtime, line_chat):
    """A delivery order of the LINE customer: (order id, number)."""
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        product = order_data.Product(sku="T-KOP", name="Kopi Tubruk", price=15_000, aliases=["tubruk"])
        s.add(product)
        s.flush()
        placed = order_data.place_order(session=s, contact_id=contact_id, conversation_id=conversation_id,
                                        lines=[order_data.CartLine(product.id, 2)], address="Jl. Melati 1", channel="line")
        return placed.id, placed.number


def test_contact_360_shows_identities_orders_interests_activity_and_notes(agent, line_chat, order, webhooks):
    conversation_id, contact_id = line_chat
    webhooks.line(line_text("kopi tubruk masih ada?", user=LINE_USER))
    agent.post(f"/inbox/c/{conversation_id}/note", {"text": "Pelanggan setia"})
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    for expected in (LINE_USER, f"#{order[1]}", "Kopi Tubruk ×2", "? Kopi Tubruk", "Aktif 2 minggu terakhir",
                     "Pelanggan setia", "Setuju menerima promosi"):
        assert expected in page, expected
    assert "Kopi Tubruk ×2" in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)


def test_inline_edit_of_profile_tags_consent_and_custom_fields(agent, line_chat, session, staff):
    _, contact_id = line_chat
    response = agent.post(f"/inbox/contacts/{contact_id}", {
        "display_name": "Putri A.", "phone": "+62 811 222 333", "email": "putri@mail.test", "birthday": "1995-04-02",
        "address": "Jl. Melati 1", "tags": "vip, reseller", "marketing_consent": "0", "attr_key": "ukuran",
        "attr_value": "L"})
    assert response.status_code == 303
    session.expire_all()
    contact = session.get(Contact, contact_id)
    assert (contact.display_name, contact.phone, contact.birthday, contact.tags, contact.marketing_consent) == \
        ("Putri A.", "+62 811 222 333", date(1995, 4, 2), ["reseller", "vip"], False)
    assert contact.attributes["ukuran"] == "L"
    audit = session.exec(select(AuditLog).where(AuditLog.action == "contact.update")).one()
    assert audit.staff_user_id == staff["agent"] and "tags" in audit.details["fields"]


@pytest.mark.parametrize("form, reason", [({"email": "not-an-email"}, "Email tidak valid"),
                                          ({"birthday": "2999-01-01"}, "Tanggal lahir tidak valid"),
                                          ({"phone": "<script>"}, "Nomor telepon tidak valid"),
                                          ({"attr_key": "bad/key!", "attr_value": "x"}, "Nama kolom tidak valid")])
def test_bad_contact_input_is_refused_and_nothing_changes(agent, line_chat, session, form, reason):
    _, contact_id = line_chat
    response = agent.post(f"/inbox/contacts/{contact_id}", {"display_name": "Changed", **form})
    assert response.status_code == 400 and reason in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Contact, contact_id).display_name == "Putri Customer"  # not half-written


def test_activity_status_buckets():
    now = utcnow()
    assert [customer_data.activity_status(now - timedelta(days=d), now) for d in (1, 20, 100, 400)] == \
        ["active_2w", "active_1m", "active_6m", "dormant"]
    assert customer_data.activity_status(None, now) == "dormant"


def test_order_status_change_notifies_the_customer_and_schedules_a_follow_up(agent, order, session, fake_line, staff):
    order_id, number = order
    fake_line.reset()
    page = agent.get("/inbox/orders?status=new").get_data(as_text=True)
    assert f"#{number}" in page
    for status in ("confirmed", "preparing", "shipped", "delivered"):
        assert agent.post(f"/inbox/orders/{order_id}/status", {"status": status, "notify": "1"}).status_code == 303
    texts = [c.json["messages"][0]["text"] for c in fake_line.calls("/v2/bot/message/push")]
    assert len(texts) == 4 and number in texts[-1]
    task = session.exec(select(FollowUpTask).where(FollowUpTask.order_id == order_id)).one()
    assert task.source == "order_delivered" and task.due_on == (utcnow() + timedelta(days=30)).date()
    assert f"Tindak lanjut pesanan #{number}" in agent.get("/inbox/agenda").get_data(as_text=True)
    events = session.exec(select(order_data.OrderEvent).where(order_data.OrderEvent.order_id == order_id)).all()
    assert events[-1].by == f"staff:{staff['agent']}"


def test_the_orders_screen_shows_how_it_is_delivered_and_paid(agent, runtime, line_chat):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        product = order_data.Product(sku="T-LAT", name="Latte", price=30_000)
        s.add(product)
        s.flush()
        order_data.place_order(session=s, contact_id=contact_id, conversation_id=conversation_id, channel="line",
                               lines=[order_data.CartLine(product.id, 2, note="less sugar")],
                               address="Jl. Melati No. 1", phone="+6281234567890", payment_method="qris",
                               delivery_fee=8_000, note="titip satpam")
    page = agent.get("/inbox/orders").get_data(as_text=True)
    for shown in ("less sugar", "Jl. Melati No. 1", "+6281234567890", "QRIS", "Rp8.000", "titip satpam"):
        assert shown in page


def test_an_impossible_order_transition_is_a_clear_409(agent, order, session):
    order_id, _ = order
    response = agent.post(f"/inbox/orders/{order_id}/status", {"status": "delivered"})
    assert response.status_code == 409 and "cannot become delivered" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(order_data.Order, order_id).status == "new"


def test_complaints_show_sla_breaches_and_status_changes_notify(agent, line_chat, runtime, session, fake_line):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        late = complaint_data.open_complaint(session=s, contact_id=contact_id, conversation_id=conversation_id,
                                             text="kopinya tumpah", negative_score=0.9,
                                             now=utcnow() - timedelta(hours=6))
        fresh = complaint_data.open_complaint(session=s, contact_id=contact_id, text="agak dingin", negative_score=0.3)
        late_id, late_number, fresh_number = late.id, late.number, fresh.number
    page = agent.get("/inbox/complaints").get_data(as_text=True)
    assert page.index(late_number) < page.index(fresh_number)  # breached first
    assert f'class="breached" data-complaint="{late_id}"' in page and "SLA terlewati" in page
    assert fresh_number not in agent.get("/inbox/complaints?breached=1").get_data(as_text=True)
    fake_line.reset()
    assert agent.post(f"/inbox/complaints/{late_id}/status", {"status": "resolved"}).status_code == 303
    push = fake_line.calls("/v2/bot/message/push")[0].json["messages"][0]["text"]
    assert late_number in push and "selesai" in push
    assert agent.post(f"/inbox/complaints/{late_id}/status", {"status": "bogus"}).status_code == 400


def test_agenda_lists_todays_tasks_and_birthdays(agent, line_chat, runtime, session):
    _, contact_id = line_chat
    today = datetime.now(runtime.settings.tz).date()  # the shop's day, not the server's
    with session_scope(runtime.engine) as s:
        s.get(Contact, contact_id).birthday = date(1990, today.month, today.day if today.day < 29 else 28)
    response = agent.post("/inbox/tasks", {"contact_id": str(contact_id), "title": "Tanya kepuasan",
                                           "due_on": today.isoformat()})
    assert response.status_code == 303
    page = agent.get("/inbox/agenda").get_data(as_text=True)
    assert "Tanya kepuasan" in page
    if today.day < 29:
        assert "Putri Customer" in page.split("Ulang tahun hari ini")[1]
    task = session.exec(select(FollowUpTask)).one()
    agent.post(f"/inbox/tasks/{task.id}/done", {})
    assert "Tanya kepuasan" not in agent.get("/inbox/agenda").get_data(as_text=True)
    assert agent.post("/inbox/tasks", {"contact_id": str(contact_id), "title": "x", "due_on": "nope"}).status_code == 400


def test_dashboard_figures(agent, line_chat, session):
    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "halo"})
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    figures = shop_data.dashboard(session=session)
    assert figures["conversations"] == 1 and figures["by_channel"] == {"line": 1}
    assert figures["first_response_avg"] is not None and figures["resolution_avg"] is not None
    assert figures["replies_by_agent"] == {"Agent Test": 1}
    page = agent.get("/inbox/dashboard").get_data(as_text=True)
    assert "chart.umd.min.js" in page and 'id="dashboard-data"' in page and "Agent Test" in page


def test_canned_responses_are_managed_by_admins(as_role, session):
    admin = as_role("admin")
    assert admin.post("/inbox/canned", {"shortcut": "tq", "title": "Thanks", "text": "Makasih {name}!",
                                        "quick_replies": "Ok"}).status_code == 303
    assert session.exec(select(CannedResponse)).one().quick_replies == ["Ok"]
    assert admin.post("/inbox/canned", {"shortcut": "tq", "title": "x", "text": "y"}).status_code == 400
    assert admin.post("/inbox/canned", {"shortcut": "Bad Shortcut", "title": "x", "text": "y"}).status_code == 400


def test_admins_add_staff_and_every_write_is_audited(as_role, session, staff):
    admin = as_role("admin")
    assert admin.post("/inbox/users", {"email": "new@shop.test", "password": "long-enough-pw", "role": "agent",
                                       "display_name": "Nina"}).status_code == 303
    assert admin.post("/inbox/users", {"email": "new@shop.test", "password": "long-enough-pw",
                                       "role": "agent"}).status_code == 400
    new = session.exec(select(StaffUser).where(StaffUser.email == "new@shop.test")).one()
    admin.post(f"/inbox/users/{new.id}", {"role": "marketer", "active": "1", "notes_access": "1"})
    session.expire_all()
    assert (session.get(StaffUser, new.id).role, session.get(StaffUser, new.id).notes_access) == ("marketer", True)
    actions = {a.action for a in session.exec(select(AuditLog)).all()}
    assert {"staff.add", "staff.update", "staff.login"} <= actions
    page = admin.get("/inbox/audit").get_data(as_text=True)
    assert "staff.update" in page and "Admin Test" in page


def test_fill_variables_keeps_unknown_braces():
    contact = Contact(display_name="Budi Santoso")
    staff = StaffUser(email="a@x", password_hash="-", display_name="Dewi")
    assert data.fill_variables("Hai {first_name}, {agent} di {shop} {unknown}", contact=contact, staff=staff,
                               shop="Sapa") == "Hai Budi, Dewi di Sapa {unknown}"


def test_staff_messages_are_recorded_like_the_bots(agent, line_chat, session):
    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "ok"})
    staff_row = session.exec(select(Message).where(Message.sender == "staff")).one()
    bot_row = session.exec(select(Message).where(Message.sender == "bot")).first()
    assert staff_row.payload["reply"]["text"] == "ok" and set(bot_row.payload) >= {"reply"}
    assert staff_row.attempts == 1 and staff_row.sent_at is not None
