"""Typed conversations through the real pipeline: answers in words, changes, digressions, handoffs, language."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from crm.complaints import Complaint
from crm.models import Conversation, Message
from crm.orders import Order
from crm.shop_settings import save_settings
from crm import stores
from crm.stores import JAKARTA
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401

ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEVER = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:  # noqa: F811
    return Customer(client, fake_line)


def _staff_hours(runtime, hours: dict) -> None:
    with session_scope(runtime.engine) as session:
        save_settings(session, {"staff_hours": hours})


def _order(session) -> Order:
    session.expire_all()
    return session.exec(select(Order)).one()


def test_a_typed_order_is_confirmed_by_a_typed_yes(customer, session, client, auth):
    customer.says("kak mau pesen kopsus 2 sama croissant 1 ya")
    replies = customer.says("ambil sendiri aja di blok m")
    assert "bayar" in texts(replies).lower()  # store and fulfilment taken from the words: payment is next
    customer.says("qris")
    summary = texts(customer.says("eh ga jadi croissantnya"))
    assert "dihapus" in summary and "× Croissant" not in summary and "2× Es Kopi Susu" in summary
    placed = customer.says("iya")
    assert "#10001" in texts(placed) and "Kode QRIS" in texts(placed)  # how to pay, from the shop's settings
    body = client.get(f"/api/v1/orders/{_order(session).id}", headers=auth).get_json()
    assert body["fulfilment"] == "pickup" and body["payment_method"] == "qris" and body["address"] is None
    assert [(i["product"], i["quantity"]) for i in body["items"]] == [("Es Kopi Susu", 2)]
    assert body["subtotal"] == body["total"] == 50_000 and body["delivery_fee"] == 0


def test_a_delivery_needs_a_usable_address_and_a_phone(customer, session):
    customer.says("I'd like to order 2 iced coffee with milk and a croissant, deliver to my office")
    replies = texts(customer.says("cod"))
    assert "street" in replies or "location" in replies  # "my office" is not an address: asked again, in English
    replies = texts(customer.says("Jl. Sudirman No. 21, Jakarta"))
    assert "phone" in replies
    summary = texts(customer.says("0812-3456-7890"))
    assert "2× Iced Milk Coffee" in summary and "1× Butter Croissant" in summary and "+6281234567890" in summary
    customer.says("yes")
    order = _order(session)
    assert (order.fulfilment, order.phone, order.payment_method) == ("delivery", "+6281234567890", "cod")
    assert "Sudirman" in order.address and order.subtotal == 78_000 and order.total == 78_000 + order.delivery_fee


@pytest.mark.parametrize("restated", ["skrg", "sekarang aja", "ambil di kemang", "transfer"])
def test_a_detail_the_summary_already_shows_is_understood_and_the_order_goes_on(customer, session, runtime, restated):
    with session_scope(runtime.engine) as s:  # open at any hour the test runs (its late hours end at 01:00)
        kemang = s.exec(select(stores.Store).where(stores.Store.name == "Sapa Coffee Kemang")).one()
        stores.update_store(session=s, store=kemang, changes={"opening_hours": {
            day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    customer.says("mau pesen es kopi susu 2 ambil di kemang")
    assert "Waktu: sekarang" in texts(customer.says("bayar transfer aja"))
    words = texts(customer.says(restated))  # what the summary already says: no "didn't catch", no new question
    assert "belum nangkep" not in words and "Jam berapa" not in words and "Sudah benar?" in words, words
    customer.says("iya")
    assert _order(session).scheduled_for is None


def test_a_question_in_the_middle_is_answered_and_the_order_goes_on(customer, session):
    customer.says("mau es kopi susu 3")
    replies = customer.says("bisa bayar pake qris ga?")
    words = texts(replies)
    assert "QRIS" in words and "3× Es Kopi Susu" in words  # the answer, then the order where it was
    assert "order:fulfil:pickup" in postbacks(replies)


def test_asked_when_it_closes_mid_order_the_bot_answers_for_the_chosen_store(customer):
    customer.says("mau es kopi susu 2, ambil di blok m")
    words = texts(customer.says("jam berapa tutup?"))
    assert "Sapa Coffee Blok M" in words and ("buka sampai" in words or "buka lagi" in words or "24 jam" in words)
    assert "Sebagian besar outlet" not in words and "Lanjut pesanannya" in words  # not the chain FAQ; the order goes on


def test_more_upset_messages_soon_after_a_ticket_go_to_that_ticket(customer, session):
    assert "C00001" in texts(customer.says("kopinya basi banget, kecewa parah"))
    assert "C00001" in texts(customer.says("parah sih, udah bayar mahal2 rasanya kayak gini"))
    assert len(session.exec(select(Complaint)).all()) == 1


def test_asking_to_bring_a_dog_is_a_question_not_a_complaint(customer, session):
    customer.says("bisa bawa anjing ke outlet?")
    words = texts(customer.says("bukan dua duanya kak, saya mau tanya boleh bawa anjing atau ngga"))
    assert "tiket" not in words and session.exec(select(Complaint)).first() is None  # "anjing" is the dog here
    assert session.exec(select(Conversation)).one().handoff_at is not None  # neither suggestion: staff answer it


def test_a_time_typed_in_words_is_acknowledged(customer):
    customer.says("mau es kopi susu 2, ambil di blok m")
    words = texts(customer.says("jam 2 siang"))
    assert "14:00" in words and "bayar" in words.lower()  # what was understood, then the next question


def test_my_orders_show_when_a_pre_order_is_for(customer, session):
    customer.says("mau americano 2 buat besok jam 9 pagi, ambil di menteng, bayar qris")
    customer.says("iya")
    order = _order(session)
    assert order.scheduled_for is not None
    words = texts(customer.says("pesanan saya?"))
    assert "untuk " + order.scheduled_for.astimezone(JAKARTA).strftime("%d/%m %H:%M") in words


def test_asked_when_an_order_arrives_the_bot_says_what_comes_next(customer, session, client, auth):
    customer.says("I'd like 2 americano delivered to Jl. Sudirman No. 21, Jakarta")
    customer.says("0812-3456-7890")
    customer.says("cod")
    customer.says("yes")
    number = _order(session).number
    words = texts(customer.says("when will it arrive?"))
    assert f"#{number}" in words and "waiting for the shop to confirm" in words
    for status in ("confirmed", "preparing"):
        assert client.patch(f"/api/v1/orders/{_order(session).id}", json={"status": status},
                            headers=auth).status_code == 200
    words = texts(customer.says("udah sampe mana kak pesenanku?"))
    assert "sedang disiapkan" in words and "saat dikirim" in words


def test_a_question_about_the_menu_gets_an_answer_not_the_whole_menu_nor_a_handoff(customer, session):
    words = texts(customer.says("ada menu vegan?"))
    assert "oat" in words.lower()  # the knowledge base's dairy-free answer, offered
    conversation = session.exec(select(Conversation)).one()
    assert conversation.bot_active and conversation.handoff_at is None
    for plain in ("menunya apa aja kak?", "minta daftar menu dong", "can I see your menu please", "menu kopi apa aja?"):
        assert any(reply.get("type") == "flex" for reply in customer.says(plain)), plain  # the catalog itself


def test_only_batal_semua_drops_the_order(customer, session):
    customer.says("mau latte 2 sama matcha 1")
    assert "× Matcha" not in texts(customer.says("matchanya ga jadi"))
    assert "dibatalkan" in texts(customer.says("batal semua"))
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert "order" not in conversation.state
    assert session.exec(select(Order)).first() is None


def test_a_product_not_on_the_menu_is_said_never_dropped_silently(customer):
    words = texts(customer.says("pesen burger 1 sama americano 2"))
    assert "burger" in words and "tidak ada di menu" in words and "2× Americano" in words


def test_a_typed_yes_cancels_an_existing_order(customer, session):
    customer.says("mau americano 2, ambil di menteng, bayar qris")
    customer.says("iya")
    order = _order(session)
    assert f"#{order.number}" in texts(customer.says("batalin pesanan aku dong"))
    customer.says("iya")
    assert _order(session).status == "cancelled"


def test_a_complaint_is_about_the_order_still_going_not_the_cancelled_one(customer, session):
    customer.says("mau americano 2, ambil di menteng, bayar qris")
    customer.says("iya")
    first = _order(session)
    customer.says("mau latte 2, ambil di menteng, bayar qris")
    customer.says("iya")
    customer.says("batalin pesanan aku dong")
    customer.says("iya")
    customer.says("kopinya basi banget, kecewa parah")
    complaint = session.exec(select(Complaint)).one()
    assert complaint.order_id == first.id


def test_a_handoff_on_duty_goes_quiet_then_the_bot_says_staff_are_late(customer, session, runtime, fake_line):
    from bot.clock import give_back_unanswered

    _staff_hours(runtime, ALL_DAY)
    assert "beberapa menit" in texts(customer.says("mau ngomong sama admin dong"))
    assert customer.says("halo?") == []  # staff have it for now
    with session_scope(runtime.engine) as s:
        conversation = s.exec(select(Conversation)).one()
        conversation.handoff_until = utcnow() - timedelta(seconds=1)
        s.add(conversation)
    assert give_back_unanswered() == 1 and give_back_unanswered() == 0
    pushed = fake_line.calls("/v2/bot/message/push")
    assert pushed and "admin belum sempat membalas" in pushed[-1].json["messages"][0]["text"]
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert conversation.bot_active and conversation.status == "open"  # still flagged for staff
    assert customer.says("mau pesan americano") != []


def test_on_telegram_too_the_bot_says_staff_are_late(client, shop, session, runtime, fake_telegram):  # noqa: F811
    """The proactive "staff are late" message goes out on Telegram as well (sendMessage), in the customer's language."""
    from bot.clock import give_back_unanswered
    from tests.factories import Webhooks, tg_text

    _staff_hours(runtime, ALL_DAY)
    hooks = Webhooks(client)
    assert hooks.telegram(tg_text("can I talk to a real person please?", user_id=6_100_000_001)).status_code == 200
    assert "within minutes" in fake_telegram.calls("sendMessage")[-1].json["text"]
    with session_scope(runtime.engine) as s:
        conversation = s.exec(select(Conversation)).one()
        conversation.handoff_until = utcnow() - timedelta(seconds=1)
        s.add(conversation)
    sent = len(fake_telegram.calls("sendMessage"))
    assert give_back_unanswered() == 1
    late = fake_telegram.calls("sendMessage")[sent:]
    assert len(late) == 1 and late[0].json["chat_id"] in (6_100_000_001, "6100000001")
    assert "haven't replied yet" in late[0].json["text"]


def test_a_handoff_nobody_answers_is_said_on_the_next_message_too(customer, runtime):
    _staff_hours(runtime, ALL_DAY)
    customer.says("mau ngomong sama admin dong")
    with session_scope(runtime.engine) as s:
        conversation = s.exec(select(Conversation)).one()
        conversation.handoff_until = utcnow() - timedelta(seconds=1)
        s.add(conversation)
    assert "admin belum sempat membalas" in texts(customer.says("halo, ada orang?"))


def test_off_duty_the_bot_says_when_staff_answer_and_keeps_helping(customer, session, runtime):
    # staff work only the day after tomorrow, so the test holds on any day at any hour
    later = (utcnow().astimezone(runtime.settings.tz) + timedelta(days=2)).strftime("%a").lower()
    _staff_hours(runtime, {**NEVER, later: [["08:00", "17:00"]]})
    words = texts(customer.says("mau ngomong sama admin dong"))
    assert "tidak bertugas" in words
    assert "Americano" in texts(customer.says("mau pesan americano 1"))
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    # the bot helps meanwhile, and the inbox still shows the customer waiting for staff
    assert conversation.bot_active and conversation.handoff_at is not None and conversation.waiting_since


def test_on_a_staff_holiday_the_away_message_names_the_next_real_on_duty_time_and_the_bot_keeps_answering(
        customer, session, runtime):
    # Staff work all day every day, but not today (a holiday) and only 10:00–14:00 tomorrow (Ramadan hours).
    today = utcnow().astimezone(runtime.settings.tz).date()
    with session_scope(runtime.engine) as s:
        save_settings(s, {"staff_hours": ALL_DAY, "staff_hours_exceptions": [
            {"label": "Idul Fitri", "start": today.isoformat(), "closed": True},
            {"label": "Ramadan", "start": (today + timedelta(days=1)).isoformat(), "windows": [["10:00", "14:00"]]}]})
    words = texts(customer.says("mau ngomong sama admin dong"))
    assert "tidak bertugas" in words and "besok 10:00" in words
    assert "Americano" in texts(customer.says("mau pesan americano 1"))  # the bot goes on helping
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert conversation.bot_active and conversation.handoff_at is not None and conversation.waiting_since


def test_a_store_holiday_says_closed_and_moves_a_pre_order_to_the_next_opening_after_it(customer, session, runtime):

    # Blok M opens 07:00–22:00 daily; closed yesterday (no window runs into today), today and tomorrow.
    today = utcnow().astimezone(runtime.settings.tz).date()
    with session_scope(runtime.engine) as s:
        blok_m = s.exec(select(stores.Store).where(stores.Store.name == "Sapa Coffee Blok M")).one()
        stores.update_store(session=s, store=blok_m, changes={"hours_exceptions": [
            {"label": "Idul Fitri", "start": (today - timedelta(days=1)).isoformat(),
             "end": (today + timedelta(days=1)).isoformat(), "closed": True}]})
    words = texts(customer.says("halo kak, jam berapa tutup?"))  # the usual hours, and today's holiday
    assert "Sapa Coffee Blok M tutup (Idul Fitri), buka lagi" in words and "Sapa Coffee Menteng" not in words
    customer.says("mau americano 2, ambil di blok m, bayar qris")
    words = texts(customer.says("jam berapa tutup?"))
    assert "tutup (Idul Fitri), buka lagi" in words and "07:00" in words
    customer.says("iya")
    order = _order(session)
    assert order.scheduled_for is not None
    assert order.scheduled_for.astimezone(runtime.settings.tz).replace(tzinfo=None) == \
        datetime.combine(today + timedelta(days=2), time(7, 0))


@pytest.mark.parametrize("said, store, status", [
    ("cabang kemang buka ga?", "Sapa Coffee Kemang", "buka"),
    ("is the blok m branch open today?", "Sapa Coffee Blok M", "closed (Natal), opens tomorrow 07:00"),
    ("blok m tutup jam brp?", "Sapa Coffee Blok M", "tutup (Natal), buka lagi besok 07:00"),
])
def test_asked_whether_a_named_store_is_open_the_bot_answers_from_its_hours_today(customer, runtime, said, store,
                                                                                 status):

    today = utcnow().astimezone(runtime.settings.tz).date()
    with session_scope(runtime.engine) as s:
        blok_m = s.exec(select(stores.Store).where(stores.Store.name == "Sapa Coffee Blok M")).one()
        stores.update_store(session=s, store=blok_m, changes={"hours_exceptions": [
            {"label": "Natal", "start": today.isoformat(), "closed": True}]})
    words = texts(customer.says(said))
    assert store in words and status in words, words
    assert "outlet" not in words.lower()  # not the chain's usual hours, nor a guess at another question


def test_on_a_holiday_the_usual_hours_come_after_today_s_change(customer, runtime):

    today = utcnow().astimezone(runtime.settings.tz).date()
    with session_scope(runtime.engine) as s:
        blok_m = s.exec(select(stores.Store).where(stores.Store.name == "Sapa Coffee Blok M")).one()
        stores.update_store(session=s, store=blok_m, changes={"hours_exceptions": [
            {"label": "Natal", "start": today.isoformat(), "closed": True}]})
    words = texts(customer.says("jam buka?"))
    today_part, usual = words.split("Biasanya:")
    assert "Sapa Coffee Blok M tutup (Natal)" in today_part and "outlet" not in today_part
    assert "buka setiap hari" in usual


@pytest.mark.parametrize("first, then, language", [
    ("hello, what time do you close?", "ok", "en"),
    ("halo kak, jam berapa tutup?", "stop", "id"),
])
def test_one_language_per_reply_and_ambiguous_words_keep_it(customer, first, then, language):
    customer.says(first)
    words = texts(customer.says(then))
    indonesian = any(word in words.split() for word in ("kak", "Aku", "aku", "kamu", "Kamu", "kakak"))
    assert indonesian == (language == "id"), words
    assert "LINE" not in words and "Telegram" not in words


def test_an_english_customer_saying_hello_gets_english(customer):
    words = texts(customer.says("hello"))
    assert "Hi" in words or "Welcome" in words or "help" in words


def test_which_one_is_answered_in_words_and_keeps_the_quantity(customer):
    replies = customer.says("mau kopi 2 dong")
    assert len([d for d in postbacks(replies) if d.startswith("order:pick:")]) >= 2  # real alternatives, not one
    assert "2× Americano" in texts(customer.says("americano aja"))


def test_just_the_named_product_keeps_only_that_line(customer):
    customer.says("mau kopsus 2 sama croissant 1")
    words = texts(customer.says("kopinya aja deh"))
    assert "× Croissant" not in words and "2× Es Kopi Susu" in words


@pytest.mark.parametrize("words", [
    "mejanya di outlet menteng jorok banget, banyak semut",  # names a store, complains about it
    "The almond croissant I got at Kemang was soggy and smelled sour, please check it",  # names a product
])
def test_an_upset_message_about_a_store_or_a_product_opens_a_complaint(customer, session, words):
    customer.says(words)
    assert session.exec(select(Complaint)).one().order_id is None
    assert session.exec(select(Order)).first() is None


@pytest.mark.parametrize("words", [
    "I'd like to sell you our pastries, can I speak with someone from your team?",
    "kak aku mau kerja sama soal cup kopi, bisa ngobrol sama orang aja?",
    "admin dong, mau tanya soal sewa tempat buat acara kantor",
])
def test_an_explicit_request_for_a_person_is_handed_over_whatever_it_names(customer, session, words):
    customer.says(words)
    conversation = session.exec(select(Conversation)).one()
    assert conversation.handoff_at is not None and "order" not in (conversation.state or {})


@pytest.mark.parametrize("words, answer", [
    ("kalian nerima pesanan katering buat acara kantor ga?", "Rp45.000/orang"),  # "pesanan" is no order
    ("poin membernya bisa dituker apa aja kak", "100 poin"),  # membership is no promo
    ("is there free internet in the cafe?", "free wifi"),  # "internet" is no product
])
def test_a_question_the_faq_answers_is_not_taken_for_an_order_or_a_promo(customer, session, words, answer):
    assert answer in texts(customer.says(words))
    assert session.exec(select(Order)).first() is None


def test_a_question_about_a_product_asks_back_instead_of_starting_an_order(customer, session):
    words = texts(customer.says("how much caffeine does an americano have?"))
    assert "Your cart" not in words and "Delivery or pick up" not in words
    conversation = session.exec(select(Conversation)).one()
    assert "order" not in (conversation.state or {}) or not conversation.state["order"].get("lines")


@pytest.mark.parametrize("words", ["minumannya ada apa aja min", "can you send me your menu"])
def test_asking_for_the_menu_shows_the_menu(customer, session, words):
    replies = customer.says(words)
    assert any(reply.get("type") == "flex" for reply in replies)  # the carousel of what is on sale
    conversation = session.exec(select(Conversation)).one()
    assert conversation.handoff_at is None and not (conversation.state or {}).get("faq_clarify")


def test_a_question_naming_a_promotion_gets_that_promotion(customer):
    words = texts(customer.says("is the Kemang drop-in deal on weekends too?"))  # tied to a store, named in English
    assert "Sapa Coffee Kemang" in words and "Weekday" not in words
    assert "HALOSAPA20" in texts(customer.says("kode HALOSAPA20 buat apa aja kak?"))


def test_thanks_get_a_courtesy_labelled_as_one(customer, session):
    assert "Sama-sama" in texts(customer.says("oke makasih banyak ya min"))
    out = session.exec(select(Message).where(Message.direction == "out")).all()
    assert [message.intent for message in out] == ["greeting"]


def test_a_close_call_about_the_order_under_way_gets_its_status(customer, session):
    customer.says("mau americano 2, ambil di menteng, bayar qris")
    customer.says("iya")
    number = _order(session).number
    words = texts(customer.says("yg americano td pesen udh otw?"))  # the NLU is torn between order and status
    assert f"#{number}" in words and session.exec(select(Order)).one()


def test_asking_about_an_order_the_bot_cannot_see_offers_staff(customer, session):
    replies = customer.says("pesanan saya kemarin udah diproses belum ya?")
    assert "intent=human_handoff" in postbacks(replies)
    customer.says("bukan, mau ngobrol sama admin aja")
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert conversation.handoff_at is not None


def test_switching_to_pickup_in_words_keeps_the_cart(customer, session):
    customer.says("americano 2, antar ke jl. kenanga no. 4 jakarta")
    words = texts(customer.says("ga jadi dianter deh, ambil sendiri aja di menteng"))
    assert "dibatalkan" not in words and "bayar" in words  # a changed detail, not a cancel: payment is next
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert conversation.state["order"]["fulfilment"] == "pickup" and conversation.state["order"]["lines"]


def test_asking_for_a_person_off_duty_keeps_the_order_and_a_yes_still_places_it(customer, session, runtime):
    _staff_hours(runtime, NEVER)
    customer.says("latte 1 ambil di kemang bayar qris")
    words = texts(customer.says("bisa sambungin ke admin?"))
    assert "tidak bertugas" in words and "1× Caffe Latte" in words  # said, and the order goes on
    assert "#10001" in texts(customer.says("iya jadi pesen"))
    assert _order(session).payment_method == "qris"


def test_an_order_note_said_as_one_in_english(customer, session):
    customer.says("1 americano, pick up at kemang, qris")
    summary = texts(customer.says("add a note: extra hot please"))
    assert "1× Americano" in summary and "extra hot please" in summary  # a note, not one more americano
    customer.says("yes")
    assert _order(session).note == "extra hot please"


def test_a_greeting_names_no_pickup_time(customer, session):
    summary = texts(customer.says("selamat pagi kak, pesen americano 1 ambil di kemang bayar qris"))
    assert "09:00" not in summary


@pytest.mark.parametrize("question", ["berapa harga croissant?", "how much is a caffe latte?"])
def test_a_price_question_shows_the_product_and_starts_no_order(customer, session, question):
    replies = customer.says(question)
    cards = [card for reply in replies for card in (reply.get("contents", {}).get("contents") or [])]
    assert texts(replies) and "Rp" in str(replies) and cards  # the product's card, with its price
    conversation = session.exec(select(Conversation)).one()
    session.refresh(conversation)
    assert not (conversation.state.get("order") or {}).get("lines")


def test_questions_offered_are_numbered_and_a_typed_number_picks_one(customer):
    replies = customer.says("bayarnya bisa pake apa aja dan ongkirnya brp?")
    labels = [item["action"]["label"] for reply in replies for item in (reply.get("quickReply") or {}).get("items", [])]
    assert "1️⃣" in labels and "2️⃣" in labels and "1️⃣" in texts(replies)  # whole questions in the text, not labels
    assert "QRIS" in texts(customer.says("1"))
    assert "Jabodetabek" not in texts(customer.says("2"))  # the list was answered: "2" picks nothing now


def test_an_order_note_in_the_first_message_is_kept(customer, session):
    summary = texts(customer.says("pesen americano 2 ambil di kemang bayar qris, catatan: tanpa gula ya"))
    assert "tanpa gula" in summary
    customer.says("iya")
    assert "tanpa gula" in _order(session).note


def test_a_kind_of_drink_not_on_the_menu_is_said_with_the_menu(customer):
    words = texts(customer.says("kak ada thai tea gk?"))
    assert "thai tea" in words and "tidak ada di menu" in words
    assert "Mungkin mau: Es Teh Leci," in texts(customer.says("mau thai tea 1"))  # the nearest is the tea


def test_an_amenity_question_is_never_called_off_the_menu(customer):
    words = texts(customer.says("do you have wifi at your stores?"))
    assert "not on our menu" not in words and "wifi" in words.lower()


def test_a_swap_keeps_the_quantity_and_the_store_can_change_in_english(customer, session):
    customer.says("2 iced milk coffee, pick up at blok m")
    assert "2× Caffe Latte" in texts(customer.says("change the iced milk coffee to caffe latte"))
    words = texts(customer.says("no wait, Kemang instead"))
    assert "Kemang" in words
    words = texts(customer.says("do you accept QRIS?"))
    assert "Yes, we can" in words and "Kemang" in words  # the answer, and the summary at the new store
    customer.says("yes")
    order = _order(session)
    assert order.payment_method == "qris" and order.store_id is not None


def test_an_english_customer_typing_an_indonesian_address_is_answered_in_english(customer):
    customer.says("hi, I'd like 2 americanos delivered please")
    words = texts(customer.says("Jl. Kemang Raya No. 10, Jakarta Selatan"))
    assert "phone" in words.lower() and "Nomor HP" not in words


def test_an_order_for_a_number_of_people_is_one_each(customer):
    """"30 orang" said with a question or with the product is how many to make; it is forgotten once ordered."""
    customer.says("kak kalo pesen buat acara kantor 30 orang bisa ga?")
    assert "30× Es Kopi Susu" in texts(customer.says("kopsus aja semua"))
    customer.says("ambil sendiri di blok m")
    assert "30× Es Kopi Susu" in texts(customer.says("qris"))  # the summary to confirm
    assert "#10001" in texts(customer.says("iya"))
    assert "1× Es Kopi Susu" in texts(customer.says("kopsus aja semua"))  # a new order: for whoever it says


def test_an_order_for_a_number_of_people_in_english(client, fake_line, shop):  # noqa: F811
    customer = Customer(client, fake_line, user="U-party-en")
    assert "2× Iced Milk Coffee" in texts(customer.says("2 iced coffee with milk for 25 people"))  # the number wins
    assert "25× Matcha Latte" in texts(customer.says("and a matcha latte for everyone"))


def test_a_group_split_between_products_and_a_head_count_corrected(client, fake_line, shop):  # noqa: F811
    """"yg 20 kopsus, sisanya matcha" is the rest of them; "eh jadi 30 orang" makes the one-each lines 30."""
    customer = Customer(client, fake_line, user="U-party-split")
    reply = texts(customer.says("buat arisan 26 orang kak, yg 20 kopsus, sisanya matcha latte"))
    assert "20× Es Kopi Susu" in reply and "6× Matcha Latte" in reply
    other = Customer(client, fake_line, user="U-party-recount")
    other.says("mau pesen buat rapat 22 orang")
    assert "22× Es Coklat" in texts(other.says("es coklat masing2 satu ya"))
    assert "30× Es Coklat" in texts(other.says("eh ralat kak, jadi 30 orang"))
