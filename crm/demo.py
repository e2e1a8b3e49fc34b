"""Demo data: customers with chat history, demo staff logins and a populated inbox (idempotent)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from core.db import utcnow
from core.settings import get_settings
from crm import alerts, complaints, contacts, customer_value, daily_figures, episodes, orders, shop_settings
from crm.csat import CsatSurvey
from crm.demo_catalog import load_catalog
from crm.models import CannedResponse, Contact, Conversation, FollowUpTask, Message, Note, StaffUser
from crm.orders import Product
from crm.staff import create_user

DEMO_LOGIN = ("admin@sapa.local", "sapa-demo-123")
# email, role, display name (same password as the admin)
DEMO_STAFF = [("agent@sapa.local", "agent", "Dewi (agent)"), ("marketer@sapa.local", "marketer", "Maya (marketer)")]
# shortcut, title, text, quick replies
CANNED = [
    ("halo", "Salam pembuka", "Halo {name}! 👋 Saya {agent} dari {shop}. Ada yang bisa saya bantu?", []),
    ("cek", "Sedang dicek", "Baik kak {first_name}, kami cek dulu ya, mohon ditunggu sebentar 🙏", []),
    ("makasih", "Terima kasih", "Terima kasih sudah belanja di {shop}, {name}! Ada lagi yang bisa dibantu?", ["Sudah cukup", "Mau pesan lagi"]),
    ("hello", "Greeting (English)", "Hi {name}! 👋 This is {agent} from {shop}. How can I help?", []),
]

# sku, name, name_en, category, price, stock (None = unlimited), aliases, description
PRODUCTS = [
    ("KOP-EKS", "Es Kopi Susu", "Iced Milk Coffee", "Kopi", 25_000, None, ["kopsus", "es kopsus", "kopi susu"],
     "Espresso, susu segar dan gula aren."),
    ("KOP-AME", "Americano", "Americano", "Kopi", 22_000, None, ["long black", "amerikano"], "Espresso dan air panas."),
    ("KOP-LAT", "Caffe Latte", "Caffe Latte", "Kopi", 30_000, None, ["latte", "kopi latte"], "Espresso dengan susu steamed."),
    ("KOP-CAP", "Cappuccino", "Cappuccino", "Kopi", 30_000, None, ["capucino", "cappucino", "kapucino"],
     "Espresso, susu dan busa lembut."),
    ("KOP-AREN", "Kopi Gula Aren", "Palm Sugar Coffee", "Kopi", 27_000, None, ["gula aren", "kopi aren"],
     "Kopi susu dengan gula aren asli."),
    ("NON-MAT", "Matcha Latte", "Matcha Latte", "Non-kopi", 32_000, None, ["matcha", "green tea latte"],
     "Matcha Jepang dengan susu."),
    ("NON-COK", "Es Coklat", "Iced Chocolate", "Non-kopi", 26_000, None, ["coklat", "cokelat", "choco"],
     "Coklat Belgia dengan susu dingin."),
    ("NON-TEH", "Es Teh Leci", "Lychee Iced Tea", "Non-kopi", 20_000, None, ["teh leci", "lychee tea"],
     "Teh melati dengan buah leci."),
    ("MKN-CRO", "Croissant Butter", "Butter Croissant", "Makanan", 28_000, 15, ["croissant", "kroisan"],
     "Croissant renyah, dipanggang setiap pagi."),
    ("MKN-ROT", "Roti Bakar Coklat Keju", "Chocolate Cheese Toast", "Makanan", 24_000, 20, ["roti bakar"],
     "Roti bakar tebal dengan coklat dan keju."),
    ("MKN-BAN", "Banana Bread", "Banana Bread", "Makanan", 22_000, 0, ["banana cake", "bolu pisang"],
     "Bolu pisang lembut (habis hari ini)."),
]

CUSTOMERS = [
    ("line", "U4f1c2a9b7d3e8f0a1b2c3d4e5f6a7b8c", "Budi Santoso", "id", ["vip"], [
        ("in", "kak mau pesen es kopi susu 2 ya"),
        ("out", "Siap kak! Es Kopi Susu x2 sudah masuk keranjang. Mau diantar atau ambil sendiri?"),
        ("in", "anter ke kantor ya, jl sudirman 21"),
    ]),
    ("telegram", "5012345678", "Siti Rahma", "id", [], [
        ("in", "/start"),
        ("out", "Halo Siti Rahma! 👋 Selamat datang di Sapa Coffee."),
        ("in", "ada promo apa minggu ini?"),
    ]),
    ("line", "U9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "Rina Wijaya", "id", ["reseller"], [
        ("in", "pesananku kok blm nyampe ya kak"),
        ("out", "Maaf ya kak, kami cek dulu pesanannya 🙏"),
    ]),
    ("telegram", "7123456789012", "James Miller", "en", [], [
        ("in", "hi, where is your nearest store?"),
        ("out", "Hi James! Share your location and I'll find the nearest store."),
    ]),
]


def is_loaded(session: Session) -> bool:
    """True when the demo customers exist already."""
    channel, external_id = CUSTOMERS[0][0], CUSTOMERS[0][1]
    return contacts.find_identity(session=session, channel=channel, external_id=external_id) is not None


def database_is_empty(session: Session) -> bool:
    """True when there are no contacts and no staff yet (a fresh install)."""
    return session.exec(select(Contact.id).limit(1)).first() is None and \
        session.exec(select(StaffUser.id).limit(1)).first() is None


def load_products(session: Session) -> bool:
    """The demo coffee-shop menu (idempotent on SKU)."""
    known = set(session.exec(select(Product.sku)).all())
    for sku, name, name_en, category, price, stock, aliases, description in PRODUCTS:
        if sku not in known:
            session.add(Product(sku=sku, name=name, name_en=name_en, category=category, price=price, stock=stock,
                                aliases=aliases, description=description))
    session.flush()
    return len(known) < len(PRODUCTS)


def load(session: Session) -> bool:
    """Insert the demo data unless it is there; True when something was added."""
    added = load_products(session)
    added = load_catalog(session) or added
    if session.exec(select(StaffUser).where(StaffUser.email == DEMO_LOGIN[0])).first() is None:
        create_user(session=session, email=DEMO_LOGIN[0], password=DEMO_LOGIN[1], role="admin", display_name="Demo Admin")
        added = True
    added = load_staff_and_canned(session) or added
    if is_loaded(session):
        return added
    start = utcnow() - timedelta(hours=3)
    for index, (channel, external_id, name, language, tags, chat) in enumerate(CUSTOMERS):
        identity, _ = contacts.get_or_create_identity(session=session, channel=channel, external_id=external_id,
                                                      display_name=name, language=language)
        contact = session.get(Contact, identity.contact_id)
        contact.tags, contact.attributes = tags, {"demo": True}
        conversation = contacts.get_or_create_conversation(session=session, channel=channel, chat_id=external_id,
                                                           kind="direct", contact_id=contact.id)
        for offset, (direction, text) in enumerate(chat):
            at = start + timedelta(minutes=index * 30 + offset * 2)
            session.add(Message(
                conversation_id=conversation.id, contact_id=contact.id, channel=channel, direction=direction,
                sender="customer" if direction == "in" else "bot", type="text", text=text,
                status="received" if direction == "in" else "sent", created_at=at,
                sent_at=at if direction == "out" else None,
            ))
            contact.last_seen_at = at if direction == "in" else contact.last_seen_at
            conversation.last_message_at = at
        session.add(contact)
        session.add(conversation)
    session.flush()
    _inbox_scene(session)
    _order_history(session)
    return True


def load_staff_and_canned(session: Session) -> bool:
    """The demo agent and marketer and the canned responses that are missing."""
    added = False
    for email, role, name in DEMO_STAFF:
        if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is None:
            create_user(session=session, email=email, password=DEMO_LOGIN[1], role=role, display_name=name)
            added = True
    known = set(session.exec(select(CannedResponse.shortcut)).all())
    for shortcut, title, text, quick in CANNED:
        if shortcut not in known:
            session.add(CannedResponse(shortcut=shortcut, title=title, text=text, quick_replies=quick))
            added = True
    session.flush()
    return added


def _backdate(session: Session, chat: Conversation, opened_at: datetime, *, first_response_at: datetime | None = None,
              resolved_at: datetime | None = None, staff_id: int | None = None) -> None:
    """Give a demo chat its episode as if it had been opened, answered and resolved at these times."""
    episodes.open_episode(session=session, conversation=chat, now=opened_at)
    if first_response_at is not None:
        episodes.staff_replied(session=session, conversation=chat, staff_user_id=staff_id, now=first_response_at)
    if resolved_at is not None:
        episodes.resolve(session=session, conversation=chat, staff_user_id=staff_id, now=resolved_at)


def _inbox_scene(session: Session) -> None:
    """Give the demo conversations inbox states: assigned, handed off, labelled, with notes, orders, a complaint."""
    now = utcnow()
    agent = session.exec(select(StaffUser).where(StaffUser.email == DEMO_STAFF[0][0])).first()
    admin = session.exec(select(StaffUser).where(StaffUser.email == DEMO_LOGIN[0])).first()
    people = {}
    for channel, external_id, name, *_ in CUSTOMERS:
        identity = contacts.find_identity(session=session, channel=channel, external_id=external_id)
        conversation = session.exec(select(Conversation).where(Conversation.channel == channel,
                                                               Conversation.external_chat_id == external_id)).one()
        people[name] = (session.get(Contact, identity.contact_id), conversation)
    products = {p.sku: p for p in session.exec(select(Product)).all()}

    budi, budi_chat = people["Budi Santoso"]
    budi.phone, budi.address, budi.birthday = "+62 812 3456 7890", "Jl. Sudirman 21, Jakarta", date(1990, now.month, now.day)
    budi.attributes = {**budi.attributes, "kantor": "Menara Sudirman lt. 12"}
    budi_chat.assignee_id, budi_chat.labels = agent.id, ["vip", "kantor"]
    budi_chat.waiting_since, budi_chat.unread_count, budi_chat.last_intent = now - timedelta(minutes=12), 1, "order"
    _backdate(session, budi_chat, now - timedelta(hours=3))
    past = orders.place_order(session=session, contact_id=budi.id, conversation_id=budi_chat.id, channel="line",
                              lines=[orders.CartLine(products["KOP-EKS"].id, 2), orders.CartLine(products["MKN-CRO"].id, 1)],
                              address=budi.address, delivery_fee=10_000)
    for status in ("confirmed", "preparing", "shipped", "delivered"):
        orders.change_status(session=session, order=past, status=status, by="staff:demo")
    session.add(Note(contact_id=budi.id, conversation_id=budi_chat.id, staff_user_id=admin.id,
                     text="Pelanggan kantor, biasanya pesan jam 10. Suka gula aren ekstra."))

    rina, rina_chat = people["Rina Wijaya"]
    rina_chat.bot_active, rina_chat.handoff_until = False, now + timedelta(hours=3)
    rina_chat.handoff_at, rina_chat.waiting_since = now - timedelta(minutes=40), now - timedelta(minutes=40)
    rina_chat.last_intent, rina_chat.labels, rina_chat.unread_count = "order_status", ["terlambat"], 1
    _backdate(session, rina_chat, now - timedelta(hours=2))
    late = orders.place_order(session=session, contact_id=rina.id, conversation_id=rina_chat.id, channel="line",
                              lines=[orders.CartLine(products["NON-MAT"].id, 3)], address="Jl. Kemang Raya 5",
                              delivery_fee=10_000)
    orders.change_status(session=session, order=late, status="confirmed", by="staff:demo")
    complaint = complaints.open_complaint(session=session, contact_id=rina.id, conversation_id=rina_chat.id,
                                          order_id=late.id, text="pesananku kok blm nyampe ya kak, udah 2 jam",
                                          negative_score=0.9, now=now - timedelta(hours=5))
    # The alerts the bot would have raised for Rina: her complaint, her asking for staff, its SLA now past.
    alerts.raise_alert(session=session, kind="complaint", severity=complaint.severity, contact_id=rina.id,
                       conversation_id=rina_chat.id, order_id=late.id, complaint_id=complaint.id,
                       text=f"Complaint {complaint.number} ({complaint.severity}): {complaint.text}",
                       params={"line": "complaint", "number": complaint.number, "quote": complaint.text},
                       now=complaint.created_at)
    alerts.raise_alert(session=session, kind="handoff", contact_id=rina.id, conversation_id=rina_chat.id,
                       text="Customer asked for staff: minta admin dong",
                       params={"line": "handoff_asked", "quote": "minta admin dong"},
                       now=rina_chat.handoff_at)
    alerts.alert_complaint_sla(session=session, now=now)
    session.add(FollowUpTask(contact_id=rina.id, title="Telepon Rina soal pesanan terlambat", due_on=now.date(),
                             assignee_id=agent.id, created_by_id=admin.id))

    siti, siti_chat = people["Siti Rahma"]
    siti_chat.status, siti_chat.last_intent, siti_chat.assignee_id = "resolved", "promotion", agent.id
    _backdate(session, siti_chat, now - timedelta(hours=2, minutes=30), first_response_at=now - timedelta(hours=2),
              resolved_at=now - timedelta(hours=1), staff_id=agent.id)

    james, james_chat = people["James Miller"]
    james_chat.status, james_chat.last_intent = "pending", "location"
    for _, (contact, conversation) in people.items():
        session.add(contact)
        session.add(conversation)
    session.flush()
    _ratings(session, people, {"agent": agent.id, "admin": admin.id}, past.id, now)


# What the demo customers ordered before (customer, days ago, [(sku, quantity)]), so the CRM dashboard has weeks
# of orders, cohorts and RFM segments to show.
ORDER_HISTORY = [
    ("Budi Santoso", [7, 14, 21, 28, 35, 42, 49, 56, 63, 70], [("KOP-EKS", 2), ("MKN-CRO", 1)]),
    ("Siti Rahma", [10, 24, 40, 55], [("NON-MAT", 1), ("KOP-LAT", 1)]),
    ("Rina Wijaya", [20, 45, 80], [("NON-MAT", 3)]),
    ("James Miller", [5, 33], [("KOP-AME", 1), ("MKN-ROT", 1)]),
]


def _order_history(session: Session) -> None:
    """Past delivered orders of the demo customers, then the figures the clock would compute from them."""
    now = utcnow()
    products = {p.sku: p for p in session.exec(select(Product)).all()}
    for name, days_ago, lines in ORDER_HISTORY:
        identity = next(contacts.find_identity(session=session, channel=channel, external_id=external_id)
                        for channel, external_id, customer, *_ in CUSTOMERS if customer == name)
        channel = identity.channel
        for days in days_ago:
            at = now - timedelta(days=days, hours=days % 5)
            total = sum(products[sku].price * quantity for sku, quantity in lines)
            order = orders.Order(contact_id=identity.contact_id, channel=channel, status="delivered",
                                 fulfilment="pickup", subtotal=total, total=total, created_at=at, updated_at=at)
            session.add(order)
            session.flush()
            order.number = str(orders.ORDER_NUMBER_BASE + order.id)
            session.add_all([orders.OrderItem(order_id=order.id, product_id=products[sku].id,
                                              product_name=products[sku].name, quantity=quantity,
                                              price=products[sku].price) for sku, quantity in lines])
    session.flush()
    tz = shop_settings.current_config(session, get_settings()).tz
    customer_value.recompute_all(session=session, now=now, tz=tz)
    today = daily_figures.local_day(now, tz)
    daily_figures.refresh_days(session=session, first=today - timedelta(days=90), last=today, tz=tz, now=now)


# Satisfaction scores the demo customers gave (customer, days ago, score, who handled it, comment, after their
# delivered order): two weeks apart at least, as csat.min_days_between asks.
RATINGS = [
    ("Budi Santoso", 1, 5, "agent", "Kopinya mantap, kurirnya ramah 👍", True),
    ("Budi Santoso", 15, 4, "agent", None, False),
    ("Budi Santoso", 29, 5, "agent", None, False),
    ("Siti Rahma", 0, 4, "agent", "Info promonya jelas, makasih kak", False),
    ("Siti Rahma", 16, 5, "agent", None, False),
    ("Siti Rahma", 28, 3, "admin", None, False),
    ("Rina Wijaya", 3, 2, "admin", "Pesanan sebelumnya telat hampir 1 jam", False),
    ("Rina Wijaya", 18, 4, "admin", None, False),
    ("James Miller", 6, 5, "admin", "Great coffee and quick answers", False),
    ("James Miller", 21, 4, "agent", None, False),
    ("James Miller", 27, 3, "admin", None, False),
]


def _ratings(session: Session, people: dict, staff: dict[str, int], delivered_order_id: int, now) -> None:
    """The demo customers' satisfaction scores, so the dashboard's CSAT block and the customer panel have some."""
    for name, days_ago, score, handler, comment, after_order in RATINGS:
        contact, conversation = people[name]
        rated_at = now - timedelta(days=days_ago, minutes=20)
        sent_at = rated_at - timedelta(minutes=7)
        session.add(CsatSurvey(contact_id=contact.id, conversation_id=conversation.id, staff_user_id=staff[handler],
                               order_id=delivered_order_id if after_order else None,
                               trigger="delivered" if after_order else "resolved", channel=conversation.channel,
                               status="rated", ready_at=sent_at, sent_at=sent_at, score=score, comment=comment,
                               rated_at=rated_at))
    session.flush()
