"""Demo data: a few customers with chat history and a demo staff login (idempotent)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from crm import contacts
from crm.db import utcnow
from crm.models import Contact, Message, StaffUser
from crm.staff import create_user

DEMO_LOGIN = ("admin@sapa.local", "sapa-demo-123")

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
    from crm.orders import Product

    known = set(session.exec(select(Product.sku)).all())
    for sku, name, name_en, category, price, stock, aliases, description in PRODUCTS:
        if sku not in known:
            session.add(Product(sku=sku, name=name, name_en=name_en, category=category, price=price, stock=stock,
                                aliases=aliases, description=description))
    session.flush()
    return len(known) < len(PRODUCTS)


def load(session: Session) -> bool:
    """Insert the demo data unless it is there; True when something was added."""
    from crm.demo_catalog import load_catalog

    added = load_products(session)
    added = load_catalog(session) or added
    if session.exec(select(StaffUser).where(StaffUser.email == DEMO_LOGIN[0])).first() is None:
        create_user(session=session, email=DEMO_LOGIN[0], password=DEMO_LOGIN[1], role="admin", display_name="Demo Admin")
        added = True
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
    return True
