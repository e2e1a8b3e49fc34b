"""The inbox search reads an index (FTS5 trigram on SQLite, pg_trgm on PostgreSQL) and answers as a LIKE scan did."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import select

from bot.migrate import alembic_config, upgrade
from core.db import get_engine, release_engine, session_scope
from crm.contacts import search_condition
from crm.data_rights import ERASED_NAME, erase_contact
from crm.inbox.data import search
from crm.inbox.shop_data import list_orders
from crm.models import Contact, Conversation, Message, bare_phone
from crm.orders import CartLine, Order, OrderItem, Product, place_order
from crm.search_index import where_contains

NAMES = ["Budi Santoso", "BUDI", "budiman", "Ñoño Núñez", "Élodie Wijaya", "Siti Rahmawati", "Toko 50% Diskon",
         "Toko A_B", "Toko AxB", 'Kedai "Kopi" Bu Sri', "Çiçek 🌸 Ayu", "Andi"]
TEXTS = ["kak mau pesen es kopi susu 2 ya", "Kopinya TUMPAH pas dateng 😭", "Terima kasih, Kak!", "naïve café au lait",
         "ÉCLAIR cokelat", "diskon 50% ga?", "snake_case", "blm nyampe nih", None]
PRODUCTS = ["Es Kopi Susu", "Croissant Butter", "Kue Lapis Légit", "Teh 100%"]
QUERIES = ["budi", "BUDI", "Budi S", "bu", "b", "i", "%", "50%", "_", "a_b", "ñoño", "ÑOÑO", "núñez", "élo", "ÉLO",
           "kopi", "KOPI", "sus", "tumpah", "😭", "dateng 😭", "terima kasih", "kasih, kak!", '"kopi"', '"', 'kopi" or',
           "café", "CAFÉ", "éclair", "légit", "LÉGIT", "100%", "çiçek", "🌸 ayu", "nyampe", "zzz", "a*", "kopi*",
           "NEAR(a b)", "ko pi", "  "]
COLUMNS = {"name": Contact.display_name, "message": Message.text, "product": OrderItem.product_name}


@pytest.fixture
def shop(runtime) -> dict[str, int]:
    """Contacts with chats, messages and one order each; their ids by name."""
    with session_scope(runtime.engine) as session:
        products = [Product(sku=f"P{i}", name=name, price=10_000) for i, name in enumerate(PRODUCTS)]
        session.add_all(products)
        ids = {}
        for i, name in enumerate(NAMES):
            contact = Contact(display_name=name)
            session.add(contact)
            session.flush()
            chat = Conversation(channel="line", external_chat_id=f"U{i}", contact_id=contact.id)
            session.add(chat)
            session.flush()
            session.add(Message(conversation_id=chat.id, contact_id=contact.id, channel="line", direction="in",
                                type="text", text=TEXTS[i % len(TEXTS)]))
            session.flush()
            place_order(session=session, contact_id=contact.id, fulfilment="pickup",
                        lines=[CartLine(product_id=products[i % len(products)].id, quantity=1)])
            ids[name] = contact.id
        return ids


def found(session, column, q: str, *, shown=None) -> list:
    """The values of `shown` (default: `column`) in the rows whose `column` contains `q`, as the index finds them."""
    return sorted(session.exec(where_contains(select(shown if shown is not None else column), session=session,
                                              column=column, q=q)).all())


def scan(session, column, q: str):
    """The condition every search used before the index: LIKE (SQLite) or ILIKE, wildcards escaped."""
    if session.get_bind().dialect.name == "sqlite":
        return column.contains(q, autoescape=True)
    return column.icontains(q, autoescape=True)


@pytest.mark.parametrize("q", QUERIES)
def test_indexed_search_finds_what_a_scan_finds(runtime, shop, q):
    with session_scope(runtime.engine) as session:
        for column in COLUMNS.values():
            assert found(session, column, q) == sorted(session.exec(select(column).where(scan(session, column, q))).all())


def test_matches_are_case_insensitive_substrings_with_literal_wildcards(runtime, shop):
    with session_scope(runtime.engine) as session:
        names = lambda q: found(session, Contact.display_name, q)  # noqa: E731
        assert names("BUDI") == ["BUDI", "Budi Santoso", "budiman"]
        assert names("di s") == ["Budi Santoso"]
        assert names("50%") == ["Toko 50% Diskon"] and names("a_b") == ["Toko A_B"]
        assert names('"Kopi" bu') == ['Kedai "Kopi" Bu Sri']
        assert names("núñez") == ["Ñoño Núñez"] and names("🌸 ayu") == ["Çiçek 🌸 Ayu"]
        assert names("di") == ["Andi", "BUDI", "Budi Santoso", "Toko 50% Diskon", "budiman", "Élodie Wijaya"]  # by LIKE
        texts = found(session, Message.text, "TERIMA kasih")
        assert texts == ["Terima kasih, Kak!"] * 2  # Siti's and Andi's


def test_edits_erasure_and_deletes_reach_the_index(runtime, shop):
    with session_scope(runtime.engine) as session:
        contact = session.get(Contact, shop["Siti Rahmawati"])
        contact.display_name = "Siti Nurhaliza"
        message = session.exec(select(Message).where(Message.contact_id == shop["Andi"])).one()
        message.text = "pesanan martabak manis"
        session.add_all([contact, message])
        session.flush()
        erase_contact(session=session, contact_id=shop["Budi Santoso"])
        session.delete(session.exec(select(Message).where(Message.contact_id == shop["BUDI"])).one())
    with session_scope(runtime.engine) as session:
        names = lambda q: found(session, Contact.display_name, q)  # noqa: E731
        assert names("rahma") == [] and names("nurhal") == ["Siti Nurhaliza"]
        assert names("santoso") == [] and names("budi") == ["BUDI", "budiman"]
        assert names(ERASED_NAME[:4]) == [ERASED_NAME]
        texts = lambda q: found(session, Message.text, q, shown=Message.contact_id)  # noqa: E731
        assert texts("martabak") == [shop["Andi"]]
        assert texts("pesen es") == [shop['Kedai "Kopi" Bu Sri']]  # Budi Santoso's was erased
        assert texts("kopinya") == [shop["Çiçek 🌸 Ayu"]]  # BUDI's was deleted


def test_inbox_and_orders_search_find_by_name_text_product_and_number(runtime, shop):
    with session_scope(runtime.engine) as session:
        chat = {contact_id: chat_id for chat_id, contact_id in session.exec(select(Conversation.id,
                                                                                   Conversation.contact_id)).all()}
        number = session.exec(select(Order.number).where(Order.contact_id == shop["Andi"])).one()
        assert search(session=session, q="Élodie") == [chat[shop["Élodie Wijaya"]]]
        assert search(session=session, q="TUMPAH") == [chat[shop["BUDI"]], chat[shop["Çiçek 🌸 Ayu"]]]
        assert search(session=session, q="lapis légit") == sorted(chat[shop[name]] for name in NAMES[2::len(PRODUCTS)])
        assert chat[shop["Andi"]] in search(session=session, q=f"#{number}")
        rows, _, _ = list_orders(session=session, q="rahma")
        assert [contact.display_name for _, contact in rows] == ["Siti Rahmawati"]
        rows, _, _ = list_orders(session=session, q=f"#{number}")
        assert [contact.display_name for _, contact in rows] == ["Andi"]


def plan(session, statement) -> str:
    """The database's plan for `statement`, as text."""
    sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "sqlite":
        return " | ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all())
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny test table is read whole otherwise
    return " | ".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")).all())


def test_searches_and_the_order_number_lookup_use_an_index(runtime, shop):
    with session_scope(runtime.engine) as session:
        sqlite = session.get_bind().dialect.name == "sqlite"
        for table, column in [("contact", Contact.display_name), ("message", Message.text),
                              ("orderitem", OrderItem.product_name)]:
            used = plan(session, where_contains(select(column.table.c.id), session=session, column=column, q="kopi"))
            assert (f"SCAN {table}_fts VIRTUAL TABLE INDEX" in used) if sqlite else (f"{table}_" in used and "trgm" in used), used
        used = plan(session, select(Order.contact_id).where(Order.number == "10001"))
        assert ("USING INDEX" in used or "USING COVERING INDEX" in used) if sqlite else "Index" in used, used
        # The contacts list's search by a name (crm.contacts.search_condition): the name index, no scan of phones.
        # (PostgreSQL plans a tiny table its own way here; bench/inbox.py measures it at 100k.)
        used = plan(session, select(Contact.id).where(search_condition(session=session, q="budi")))
        assert "contact_fts VIRTUAL TABLE INDEX" in used or not sqlite, used
        # The counter's lookup of a phone number typed in any form (crm.inbox.counter_data.find_customers).
        used = plan(session, select(Contact.id).where(bare_phone(Contact.phone).in_(["+6281234567890", "081234567890"])))
        assert "ix_contact_phone_bare" in used, used


def test_the_migration_indexes_existing_rows_and_its_downgrade_removes_the_index(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0030")
    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO contact (id, display_name, language, tags, attributes, status, "
                                "marketing_consent, created_at) VALUES (7, 'Dewi Lestari', 'id', '[]', '{}', "
                                "'active', 0, '2026-12-01 00:00:00')"))
    upgrade(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT rowid FROM contact_fts WHERE contact_fts MATCH '\"LESTAR\"'")).all() \
            == [(7,)]
        triggers = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                           "AND name LIKE '%_fts_%'")).scalars().all()
        assert len(triggers) == 9, triggers
    command.downgrade(alembic_config(url), "0030")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_fts%'")).scalar_one() == 0
    release_engine(url)
