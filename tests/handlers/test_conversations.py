"""Whole conversations through the real pipeline: what customers write, what they get back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from crm import demo
from crm.alerts import StaffAlert
from crm.complaints import Complaint
from core.db import session_scope
from crm.models import Contact, Conversation, Message
from crm.orders import CartLine, Order, Product
from crm.orders import place_order as place_order_row
from crm.shop_settings import save_settings
from tests.factories import Webhooks, line_event, line_text

JAKARTA = ZoneInfo("Asia/Jakarta")
USER = "U5555555555555555555555555555555e"
OTHER = "U6666666666666666666666666666666f"


@pytest.fixture
def shop(runtime):
    """The demo catalog, stores, promotions and FAQs."""
    with session_scope(runtime.engine) as session:
        demo.load_products(session)
        from crm.demo_catalog import load_catalog

        load_catalog(session)


class Customer:
    """A LINE customer chatting with the bot; returns the bot's replies (LINE message objects)."""

    def __init__(self, client, fake_line, user: str = USER) -> None:
        self.hooks, self.fake, self.user = Webhooks(client), fake_line, user

    def _replies(self, before: int) -> list[dict]:
        calls = self.fake.calls("/v2/bot/message/reply") + self.fake.calls("/v2/bot/message/push")
        calls.sort(key=lambda call: call.time)
        return [message for call in calls[before:] for message in call.json["messages"]]

    def _count(self) -> int:
        return len(self.fake.calls("/v2/bot/message/reply")) + len(self.fake.calls("/v2/bot/message/push"))

    def says(self, text: str) -> list[dict]:
        before = self._count()
        assert self.hooks.line(line_text(text, user=self.user)).status_code == 200
        return self._replies(before)

    def taps(self, data: str) -> list[dict]:
        before = self._count()
        self.hooks.line(line_event("postback", self.user, postback={"data": data}))
        return self._replies(before)

    def shares_location(self, lat: float, lon: float, title: str = "Rumah") -> list[dict]:
        before = self._count()
        self.hooks.line(line_event("message", self.user, message={
            "id": str(abs(hash((lat, lon)))), "type": "location", "title": title, "address": "-",
            "latitude": lat, "longitude": lon}))
        return self._replies(before)


def texts(replies: list[dict]) -> str:
    """Everything the customer can read in the replies (text, flex alt text and bubbles)."""
    parts = []
    for reply in replies:
        parts.append(reply.get("text") or reply.get("altText") or "")
        for bubble in (reply.get("contents") or {}).get("contents", []):
            parts.extend(item.get("text", "") for item in bubble["body"]["contents"])
    return "\n".join(parts)


def postbacks(replies: list[dict]) -> list[str]:
    """The postback data of every quick reply and button in the replies."""
    data = [item["action"].get("data") for reply in replies for item in reply.get("quickReply", {}).get("items", [])]
    for reply in replies:
        for bubble in (reply.get("contents") or {}).get("contents", []):
            data += [b["action"].get("data") for b in bubble.get("footer", {}).get("contents", [])]
    return [d for d in data if d]


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:
    return Customer(client, fake_line)


def place_order(customer: Customer) -> None:
    """A typed delivery order, each question answered in words, confirmed with the button."""
    replies = customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    assert "Nomor HP" in texts(replies)  # the items and a usable address are taken: the phone is next
    assert "bayar" in texts(customer.says("0812 3456 7890")).lower()
    replies = customer.says("qris")
    assert "2× Es Kopi Susu" in texts(replies) and "order:confirm" in postbacks(replies)
    placed = customer.taps("order:confirm")
    assert "#10001" in texts(placed)


def test_an_order_is_started_carted_and_placed(customer, session, client, api_token):
    place_order(customer)
    order = session.exec(select(Order)).one()
    assert order.number == "10001" and order.subtotal == 50_000 and order.status == "new"
    assert order.delivery_fee > 0 and order.total == order.subtotal + order.delivery_fee  # under the free threshold
    body = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {api_token}"}).get_json()
    assert body["items"][0]["items"] == [{"product": "Es Kopi Susu", "variant": None, "addons": [], "quantity": 2,
                                       "price": 25_000, "note": None}]
    # Staff are alerted that it waits for them; confirming it settles the alert.
    auth = {"Authorization": f"Bearer {api_token}"}
    waiting = client.get("/api/v1/alerts?kind=order_waiting", headers=auth).get_json()["items"]
    assert [(a["order_id"], a["status"]) for a in waiting] == [(order.id, "new")]
    assert client.patch(f"/api/v1/orders/{order.id}", json={"status": "confirmed"}, headers=auth).status_code == 200
    assert client.get("/api/v1/alerts?kind=order_waiting", headers=auth).get_json()["items"][0]["status"] == "done"


def test_status_inquiry_finds_the_customers_latest_order(customer):
    place_order(customer)
    replies = customer.says("pesananku kok blm nyampe")
    assert "#10001" in texts(replies)


def test_complaint_opens_a_ticket_linked_to_the_order_and_alerts_staff(customer, session):
    place_order(customer)
    replies = customer.says("kopinya tumpah semua, kecewa bgt")
    complaint = session.exec(select(Complaint)).one()
    assert complaint.number in texts(replies) and complaint.order_id is not None
    assert complaint.severity in ("medium", "high") and complaint.category == "product_quality"
    assert session.exec(select(StaffAlert).where(StaffAlert.kind == "complaint")).first() is not None


def test_faq_answers_payment_question(customer):
    assert "QRIS" in texts(customer.says("bisa bayar pakai QRIS?"))


def test_promotions_for_this_customer(customer):
    replies = customer.says("ada promo apa?")
    assert replies and replies[0]["type"] == "flex" or "promo" in texts(replies).lower()


def test_shared_location_gets_nearest_stores_and_is_kept(customer, session):
    replies = customer.shares_location(-6.2615, 106.8106)  # Kemang
    assert "km" in texts(replies) and "lokasi" in texts(replies).lower()
    assert session.exec(select(Contact)).one().last_lat == pytest.approx(-6.2615)


def test_nearest_store_comes_as_a_native_location_message(customer):
    replies = customer.shares_location(-6.2615, 106.8106)
    assert [r["type"] for r in replies][:2] == ["flex", "location"]
    assert replies[1]["latitude"] and replies[1]["title"]


def test_sticker_gets_a_friendly_answer(customer, client):
    before = len(customer.fake.calls("/v2/bot/message/reply"))
    customer.hooks.line(line_event("message", customer.user, message={
        "id": "991", "type": "sticker", "packageId": "1", "stickerId": "2", "stickerResourceType": "STATIC",
        "quoteToken": "q991"}))
    reply = customer.fake.calls("/v2/bot/message/reply")[before].json["messages"][0]
    assert "stiker" in reply["text"] and reply["quickReply"]["items"]


def test_location_in_the_ocean_gets_a_polite_answer(customer):
    replies = customer.shares_location(-20.0, 80.0, "Samudra Hindia")
    assert "Maaf" in texts(replies) and "25 km" in texts(replies)


def test_handoff_makes_the_bot_silent_until_resolved(customer, session, fake_line, runtime):
    from crm.shop_settings import save_settings

    with session_scope(runtime.engine) as s:  # staff on duty whatever the clock says
        save_settings(s, {"staff_hours": {day: [["00:00", "24:00"]] for day in
                                          ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    replies = customer.says("mau ngomong sama admin dong")
    assert "admin" in texts(replies).lower()
    conversation = session.exec(select(Conversation)).one()
    assert conversation.bot_active is False
    assert customer.says("halo?") == []
    with session_scope(session.get_bind()) as s:  # staff resolve it
        row = s.get(Conversation, conversation.id)
        row.bot_active, row.handoff_until = True, None
        s.add(row)
    assert customer.says("halo lagi") != []


def test_cancel_while_allowed_and_explained_when_too_late(customer, session, client, api_token):
    place_order(customer)
    order = session.exec(select(Order)).one()
    replies = customer.says("batalin pesanan aku dong")
    assert f"cancel:yes:{order.id}" in postbacks(replies)
    client.patch(f"/api/v1/orders/{order.id}", json={"status": "confirmed"},
                 headers={"Authorization": f"Bearer {api_token}"})
    client.patch(f"/api/v1/orders/{order.id}", json={"status": "preparing"},
                 headers={"Authorization": f"Bearer {api_token}"})
    replies = customer.taps(f"cancel:yes:{order.id}")
    assert "tidak bisa dibatalkan" in texts(replies)
    session.expire_all()
    assert session.get(Order, order.id).status == "preparing"


def test_staff_status_change_notifies_the_customer(customer, session, client, api_token, fake_line):
    place_order(customer)
    order = session.exec(select(Order)).one()
    response = client.patch(f"/api/v1/orders/{order.id}", json={"status": "confirmed"},
                            headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 200 and response.get_json()["history"][-1]["status"] == "confirmed"
    pushed = fake_line.calls("/v2/bot/message/push")
    assert pushed and "#10001" in pushed[-1].json["messages"][0]["text"]
    bad = client.patch(f"/api/v1/orders/{order.id}", json={"status": "delivered"},
                       headers={"Authorization": f"Bearer {api_token}"})
    assert bad.status_code == 409


def test_a_pickup_order_is_ready_to_collect_not_on_its_way(customer, session, client, api_token, fake_line):
    customer.says("halo")
    contact_id = session.exec(select(Contact.id)).one()
    coffee = session.exec(select(Product).where(Product.name == "Es Kopi Susu")).one()
    with session_scope(client.application.extensions["sapa.engine"]) as s:
        order = place_order_row(session=s, contact_id=contact_id, lines=[CartLine(coffee.id, 1)], fulfilment="pickup")
        order_id, number = order.id, order.number
    auth = {"Authorization": f"Bearer {api_token}"}
    for status in ("confirmed", "preparing", "shipped"):
        assert client.patch(f"/api/v1/orders/{order_id}", json={"status": status}, headers=auth).status_code == 200
    pushed = fake_line.calls("/v2/bot/message/push")[-1].json["messages"][0]["text"]
    assert pushed == f"Kabar pesanan #{number}: siap diambil di toko 🏪"  # not "dalam pengiriman 🛵"
    assert "siap diambil di toko" in texts(customer.says("pesanan aku udah sampe mana kak?"))
    client.patch(f"/api/v1/orders/{order_id}", json={"status": "delivered"}, headers=auth)
    assert "sudah diambil" in fake_line.calls("/v2/bot/message/push")[-1].json["messages"][0]["text"]


def test_another_customers_order_number_does_not_leak(customer, client, fake_line):
    place_order(customer)
    stranger = Customer(client, fake_line, user=OTHER)
    replies = stranger.says("status pesanan #10001 gimana?")
    assert "tidak ditemukan" in texts(replies) and "Es Kopi Susu" not in texts(replies)


def test_out_of_stock_product_is_explained(customer):
    replies = customer.says("mau pesan banana bread 1")
    assert "habis" in texts(replies)


def _next(weekday: int, hour: int) -> datetime:
    """The next such weekday (0 = Monday) at `hour` in Jakarta, within the demo promotions' dates."""
    today = datetime.now(JAKARTA).date() + timedelta(days=1)
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, tzinfo=JAKARTA)


def test_weekday_promo_on_saturday_says_when_it_is_valid(customer):
    with time_machine.travel(_next(5, 12), tick=True):
        said = texts(customer.says("ada promo weekday ga?"))
        assert "Paket Hemat Weekday berlaku Senin–Jumat" in said and "WEEKDAY-HEMAT" not in said
        offers = texts(customer.says("ada promo apa?"))
        assert "Paket Hemat Weekday" not in offers and "Diskon 20% Pelanggan Baru" in offers
        english = texts(customer.says("is the weekday promo on today?"))
        assert "Weekday Saver Bundle is valid Mon–Fri" in english


def test_weekday_promo_on_monday_is_offered_with_its_days(customer):
    with time_machine.travel(_next(0, 12), tick=True):
        said = texts(customer.says("ada promo weekday ga?"))
        assert "Paket Hemat Weekday" in said and "Berlaku Senin–Jumat" in said and "berlaku Senin–Jumat ya" not in said


def test_english_customer_gets_english(customer):
    replies = customer.says("do you have any promo today?")
    assert any(word in texts(replies) for word in ("offers", "Offers", "Voucher"))


@pytest.mark.parametrize("text", ["😂😂😂", "x" * 5000, "asdfghjkl qwerty"])
def test_odd_messages_get_a_polite_answer(customer, text):
    replies = customer.says(text)
    assert replies and texts(replies)


def test_unknown_and_stale_buttons(customer):
    assert "tidak berlaku" in texts(customer.taps("garbage:123"))
    assert "tidak berlaku" in texts(customer.taps("order:confirm"))
    assert "tidak berlaku" in texts(customer.taps("cancel:yes:99999"))


def test_order_state_survives_a_restart_and_expires_when_idle(customer, session, runtime, settings):
    from bot.runtime import build_runtime
    from core.runtime import Runtime, set_runtime

    customer.says("mau pesan americano 1")
    set_runtime(build_runtime(settings))  # a new worker process picks up
    replies = customer.taps("order:fulfil:pickup")
    assert any(d.startswith("order:store:") for d in postbacks(replies))
    with session_scope(runtime.engine) as s:
        conversation = s.exec(select(Conversation)).one()
        conversation.state_updated_at = conversation.state_updated_at.replace(year=2020)
        s.add(conversation)
    assert "tidak berlaku" in texts(customer.taps("order:confirm"))


def test_inbound_messages_record_intent_and_confidence(customer, session):
    customer.says("bisa bayar pakai QRIS?")
    message = session.exec(select(Message).where(Message.direction == "in")).one()
    assert message.intent == "faq" and 0 < message.confidence <= 1


def test_products_api(client, api_token, shop):
    auth = {"Authorization": f"Bearer {api_token}"}
    items = client.get("/api/v1/products", headers=auth).get_json()["items"]
    assert "Es Kopi Susu" in [p["name"] for p in items]
    created = client.post("/api/v1/products", json={"sku": "NEW-1", "name": "Kopi Pandan", "price": 27000},
                          headers=auth)
    assert created.status_code == 201
    assert client.post("/api/v1/products", json={"sku": "NEW-1", "name": "x", "price": 1}, headers=auth).status_code == 409
    assert client.post("/api/v1/products", json={"sku": "N2", "name": "x", "price": -1}, headers=auth).status_code == 422
    product_id = created.get_json()["id"]
    assert client.patch(f"/api/v1/products/{product_id}", json={"stock": 3}, headers=auth).get_json()["stock"] == 3


def test_stock_is_taken_and_returned_on_cancel(customer, session, client, api_token):
    customer.says("mau pesan croissant 2")
    customer.taps("order:fulfil:pickup")
    store_tap = next(d for d in postbacks(customer.taps("order:fulfil:pickup")) if d.startswith("order:store:"))
    assert "order:pay:qris" in postbacks(customer.taps(store_tap))
    customer.taps("order:pay:qris")
    customer.taps("order:confirm")
    croissant = session.exec(select(Product).where(Product.sku == "MKN-CRO")).one()
    assert croissant.stock == 13
    order = session.exec(select(Order)).one()
    client.patch(f"/api/v1/orders/{order.id}", json={"status": "cancelled"},
                 headers={"Authorization": f"Bearer {api_token}"})
    session.expire_all()
    assert session.get(Product, croissant.id).stock == 15


def test_the_shop_settings_staff_save_apply_to_the_next_message(customer, runtime, fake_line):
    assert "Hi " in texts(customer.says("hello good morning"))  # both languages offered: English
    with session_scope(runtime.engine) as session:
        save_settings(session, {"shop_name": "Warung Bu Sri", "languages": ["id"]})
    before = customer._count()
    customer.hooks.line(line_event("follow", USER, follow={"isUnblocked": False}))
    assert "Selamat datang di Warung Bu Sri" in texts(customer._replies(before))
    assert "Halo " in texts(customer.says("hello good morning"))  # the shop answers in Indonesian only


def test_the_qris_picture_staff_saved_comes_with_the_placed_order(customer, runtime, shop):
    qris = {"code": "qris", "label": "QRIS", "instructions": "Scan QR ini ya kak",
            "image_url": "https://shop.example/media/qris.png", "preview_url": "https://shop.example/media/qris-s.jpg"}
    with session_scope(runtime.engine) as session:
        save_settings(session, {"payment_methods": [qris]})
    replies = customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    customer.says("qris")
    placed = customer.taps("order:confirm")
    images = [r for r in placed if r["type"] == "image"]
    assert replies and images == [{"type": "image", "originalContentUrl": qris["image_url"],
                                   "previewImageUrl": qris["preview_url"]}]
    assert "Scan QR ini ya kak" in texts(placed)
