"""Reading an order out of free text (handlers/nlu/order_text.py): the demo coffee shop and a bakery."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from handlers.nlu.order_text import OrderText, ProductTerm, ShopTerms, address_usable, read_order_text, shop_terms
from tests.handlers.order_catalogs import BAKERY, DEMO, JAKARTA, NOW

ID = {p.name: p.id for p in DEMO.products + BAKERY.products}
NAME = {v: k for k, v in ID.items()}
STORE = {s.name.removeprefix("Sapa Coffee ").lower(): s.id for s in DEMO.stores}
KOPI_SUSU, CROISSANT, LATTE = ID["Es Kopi Susu"], ID["Croissant Butter"], ID["Caffe Latte"]


def read(text: str, terms: ShopTerms = DEMO, **context) -> OrderText:
    context.setdefault("now", NOW)
    return read_order_text(text, terms, **context)


def lines(result: OrderText) -> list[tuple]:
    """(op, product name, quantity) per change, in order."""
    return [(c.op, NAME.get(c.product_id), c.quantity) for c in result.items]


# ---------------------------------------------------------------------------------- the failures

def test_english_order_with_two_items_and_an_office_address_loses_nothing():
    r = read("I'd like to order 2 iced coffee with milk and a croissant, deliver to my office at Jl. Sudirman 21")
    assert lines(r) == [("add", "Es Kopi Susu", 2), ("add", "Croissant Butter", 1)]
    assert (r.fulfilment, r.address, r.address_usable) == ("delivery", "Jl. Sudirman 21", True)
    assert r.unknown == () and not r.cancel_all


def test_pickup_at_a_store_in_one_answer_to_the_fulfilment_question():
    r = read("ambil sendiri aja di blok m", expecting="fulfilment")
    assert (r.fulfilment, r.store_id, r.items) == ("pickup", STORE["blok m"], ())


@pytest.mark.parametrize("text, store", [
    ("blok m", "blok m"), ("yg di kemang", "kemang"), ("dago", "dago"), ("kemang aja kak", "kemang"),
    ("yang di SCBD ya", "scbd"), ("Kelapa Gading", "kelapa gading"), ("kemamg", "kemang"),
    ("cabang menteng", "menteng"), ("yang di bandung", "dago"), ("BSD aja", "bsd"),
])
def test_a_store_answering_which_store(text, store):
    r = read(text, expecting="store")
    assert r.store_id == STORE[store] and r.items == () and r.unknown == ()


def test_pickup_store_and_time_in_the_same_message():
    r = read("pesan 2 kopsus, ambil di kemang jam 8")
    assert lines(r) == [("add", "Es Kopi Susu", 2)]
    assert (r.fulfilment, r.store_id) == ("pickup", STORE["kemang"])
    assert r.when == datetime(2026, 12, 5, 20, 0, tzinfo=JAKARTA)


@pytest.mark.parametrize("text", ["kantor", "di kantor aja", "rumah", "my office"])
def test_a_place_without_street_or_building_is_not_a_usable_address(text):
    r = read(text, expecting="address")
    assert r.address and not r.address_usable


def test_deliver_to_the_office_alone_is_delivery_with_an_unusable_address():
    r = read("kirim ke kantor ya")
    assert (r.fulfilment, r.address, r.address_usable) == ("delivery", "kantor", False)


@pytest.mark.parametrize("text", [
    "Jl. Kemang Raya no 5", "jalan melati no 12 rt 3", "Apartemen Taman Rasuna Tower 2 unit 1203",
    "perumahan griya asri blok c2 no 7", "Gedung Wisma 46 lantai 12", "Jl Braga 15, Bandung",
])
def test_usable_addresses(text):
    r = read(text, expecting="address")
    assert r.address_usable, r.address
    assert address_usable(r.address)


# ---------------------------------------------------------------------------------- changing the cart

def test_removing_one_line_removes_only_that_line():
    r = read("ga jadi croissantnya", cart=(KOPI_SUSU, CROISSANT), last_product=CROISSANT)
    assert lines(r) == [("remove", "Croissant Butter", None)]
    assert not r.cancel_all and not r.no


@pytest.mark.parametrize("text, removed", [
    ("croissantnya ga jadi deh", "Croissant Butter"), ("batal croissant", "Croissant Butter"),
    ("hapus latte nya", "Caffe Latte"), ("cancel the croissant", "Croissant Butter"),
    ("gak jadi es kopi susunya kak", "Es Kopi Susu"), ("remove the latte please", "Caffe Latte"),
])
def test_removing_a_named_line(text, removed):
    r = read(text, cart=(KOPI_SUSU, CROISSANT, LATTE))
    assert lines(r) == [("remove", removed, None)] and not r.cancel_all


def test_decreasing_a_line():
    assert lines(read("kurangin 1 kopi susu", cart=(KOPI_SUSU,))) == [("remove", "Es Kopi Susu", 1)]


@pytest.mark.parametrize("text", ["kopinya jadi 3", "kopi nya jd 3 aja", "kopi susunya jadi tiga"])
def test_setting_a_quantity_resolves_the_coffee_in_the_cart(text):
    r = read(text, cart=(KOPI_SUSU, CROISSANT), last_product=CROISSANT)
    assert lines(r) == [("set", "Es Kopi Susu", 3)]


@pytest.mark.parametrize("text, quantity", [
    ("tambah 1 lagi", 1), ("1 lagi kak", 1), ("tambah 2", 2), ("one more please", 1), ("satu lagi", 1),
])
def test_adding_more_of_the_last_product(text, quantity):
    r = read(text, cart=(KOPI_SUSU, CROISSANT), last_product=CROISSANT)
    assert lines(r) == [("add", "Croissant Butter", quantity)]


@pytest.mark.parametrize("text", ["make it 3", "jadi 3 aja", "jadiin 3"])
def test_setting_the_last_products_quantity(text):
    assert lines(read(text, cart=(KOPI_SUSU,), last_product=KOPI_SUSU)) == [("set", "Es Kopi Susu", 3)]


@pytest.mark.parametrize("text, note", [
    ("yang dingin aja", "dingin"), ("less sugar ya", "less sugar"), ("gak pake es", "gak pake es"),
    ("pake oat milk", "pake oat milk"), ("panas aja kak", "panas"), ("gulanya dikit ya", "gulanya dikit"),
])
def test_a_note_without_a_product_is_on_the_last_product(text, note):
    r = read(text, cart=(KOPI_SUSU, CROISSANT), last_product=KOPI_SUSU)
    assert [(c.op, c.product_id, c.quantity, c.note) for c in r.items] == [("set", KOPI_SUSU, None, note)]


@pytest.mark.parametrize("text", [
    "batal semua", "batalin semuanya kak", "cancel the order", "ga jadi pesan deh", "cancel my order please",
    "gajadi semua", "pesanannya dibatalkan aja", "cancel", "ga jadi",
])
def test_cancelling_everything(text):
    r = read(text, cart=(KOPI_SUSU, CROISSANT))
    assert r.cancel_all and r.items == ()


@pytest.mark.parametrize("text", ["ga jadi croissantnya", "batal latte", "hapus croissant", "gak pake es", "nggak"])
def test_only_whole_order_phrases_cancel_everything(text):
    assert not read(text, cart=(KOPI_SUSU, CROISSANT, LATTE), last_product=KOPI_SUSU).cancel_all


# ---------------------------------------------------------------------------------- answers to the bot

@pytest.mark.parametrize("text", [
    "iya", "ya", "betul", "bener kak", "yes", "ok, pesan", "ok pesan", "gas", "sip", "iya betul", "yes please",
    "oke lanjut", "Ya kak", "boleh",
])
def test_yes_confirms(text):
    r = read(text, expecting="confirm")
    assert r.yes and not r.no and not r.cancel_all


@pytest.mark.parametrize("text", ["ga", "nggak", "no", "bukan", "gak kak", "belum"])
def test_no(text):
    r = read(text, expecting="confirm")
    assert r.no and not r.yes


def test_no_with_a_change_of_fulfilment():
    r = read("ga, ambil sendiri aja", expecting="confirm")
    assert r.no and r.fulfilment == "pickup"


@pytest.mark.parametrize("text", ["3", "tiga", "3 aja kak", "3 gelas"])
def test_a_quantity_answers_how_many(text):
    r = read(text, expecting="quantity", cart=(LATTE,), last_product=LATTE)
    assert lines(r) == [("set", "Caffe Latte", 3)]


@pytest.mark.parametrize("text, now_hour, expected", [
    ("8", 19, (0, 20)), ("jam 8", 19, (0, 20)), ("8", 21, (1, 8)), ("8", 10, (0, 20)),
    ("besok pagi jam 8", 19, (1, 8)), ("besok jam 8", 19, (1, 8)), ("besok jam 3 sore", 19, (1, 15)),
    ("jam 20.30", 19, (0, 20)), ("tomorrow at 8am", 19, (1, 8)), ("at 7pm", 12, (0, 19)),
    ("8 malam", 12, (0, 20)), ("nanti jam 9", 12, (0, 21)), ("senin jam 10", 19, (2, 10)),
    ("jam setengah 8", 12, (0, 19)), ("besok jam setengah 8 pagi", 12, (1, 7)),
])
def test_a_time_answers_when(text, now_hour, expected):
    now = NOW.replace(hour=now_hour)
    r = read(text, expecting="time", now=now)
    days, hour = expected
    assert r.when is not None and r.when.tzinfo is not None
    assert (r.when.date() - now.date(), r.when.hour) == (timedelta(days=days), hour)


def test_a_day_without_a_time_is_kept_as_a_day():
    r = read("besok aja", expecting="time")
    assert (r.when, r.day) == (None, NOW.date() + timedelta(days=1))


@pytest.mark.parametrize("text", ["sekarang", "now please", "secepatnya kak", "asap"])
def test_as_soon_as_possible(text):
    r = read(text, expecting="time")
    assert r.asap and r.when is None


@pytest.mark.parametrize("text, phone", [
    ("0812 3456 7890", "+6281234567890"), ("081234567890", "+6281234567890"),
    ("+62 812-3456-7890", "+6281234567890"), ("6281234567890", "+6281234567890"),
    ("no hp saya 0812.3456.789 ya kak", "+628123456789"),
])
def test_a_phone_number(text, phone):
    r = read(text, expecting="phone")
    assert r.phone == phone and r.items == () and r.unknown == ()


def test_a_phone_after_an_address_is_not_part_of_it():
    r = read("tolong antar ke Apartemen Taman Rasuna Tower 2 unit 1203, no hp 081298765432")
    assert r.address == "Apartemen Taman Rasuna Tower 2 unit 1203" and r.address_usable
    assert (r.phone, r.fulfilment, r.items) == ("+6281298765432", "delivery", ())


@pytest.mark.parametrize("text", ["2 kopi", "latte 3", "ambil di kemang jam 8", "Jl. Sudirman 21"])
def test_short_numbers_are_not_phones(text):
    assert read(text).phone is None


@pytest.mark.parametrize("text", ["udah itu aja", "itu aja kak", "that's all", "udah", "cukup", "nothing else"])
def test_done_adding(text):
    assert read(text, expecting="item", cart=(KOPI_SUSU,)).done_adding


# ---------------------------------------------------------------------------------- items

@pytest.mark.parametrize("text, expected", [
    ("dua es kopi susu", [("add", "Es Kopi Susu", 2)]),
    ("two lattes please", [("add", "Caffe Latte", 2)]),
    ("setengah lusin croissant", [("add", "Croissant Butter", 6)]),
    ("selusin croissant", [("add", "Croissant Butter", 12)]),
    ("half a dozen croissants", [("add", "Croissant Butter", 6)]),
    ("2 lusin croissant", [("add", "Croissant Butter", 24)]),
    ("2x americano", [("add", "Americano", 2)]),
    ("americano x2", [("add", "Americano", 2)]),
    ("2 pcs croissant", [("add", "Croissant Butter", 2)]),
    ("2 gelas es teh leci", [("add", "Es Teh Leci", 2)]),
    ("es teh 2", [("add", "Es Teh Leci", 2)]),
    ("a couple of lattes", [("add", "Caffe Latte", None)]),
    ("kopsus 2 sama croissant 1", [("add", "Es Kopi Susu", 2), ("add", "Croissant Butter", 1)]),
    ("mau pesen 2 es kopi susu 1 matcha", [("add", "Es Kopi Susu", 2), ("add", "Matcha Latte", 1)]),
    ("iced milk coffee", [("add", "Es Kopi Susu", None)]),
    ("coffee with milk iced 2", [("add", "Es Kopi Susu", 2)]),
    ("croissants 3", [("add", "Croissant Butter", 3)]),
    ("capucino 1", [("add", "Cappuccino", 1)]),
    ("cappucino satu", [("add", "Cappuccino", 1)]),
    ("1 amricano", [("add", "Americano", 1)]),
    ("kroisan 2", [("add", "Croissant Butter", 2)]),
    ("palm sugar coffee 2", [("add", "Kopi Gula Aren", 2)]),
    ("kopi gula aren 2 sama roti bakar 1", [("add", "Kopi Gula Aren", 2), ("add", "Roti Bakar Coklat Keju", 1)]),
    ("es coklat 1 banana bread 1", [("add", "Es Coklat", 1), ("add", "Banana Bread", 1)]),
    ("aku ambil 2 latte", [("add", "Caffe Latte", 2)]),
    ("2 chocolate cheese toast", [("add", "Roti Bakar Coklat Keju", 2)]),
    ("lychee tea satu", [("add", "Es Teh Leci", 1)]),
    ("kopisusu 2", [("add", "Es Kopi Susu", 2)]),
    ("Es Kopi Susuuu 2 yaaa", [("add", "Es Kopi Susu", 2)]),
])
def test_items_and_quantities(text, expected):
    r = read(text)
    assert lines(r) == expected and r.unknown == ()


def test_an_ambiguous_product_gives_its_candidates():
    (change,) = read("kopi 2").items
    assert change.product_id is None and change.quantity == 2
    assert set(change.candidates) == {ID[n] for n in ("Es Kopi Susu", "Americano", "Caffe Latte", "Cappuccino",
                                                      "Kopi Gula Aren")}


def test_item_notes_go_to_their_own_item():
    r = read("2 es kopi susu less sugar, 1 latte panas, jangan pake sedotan")
    assert [(NAME[c.product_id], c.quantity, c.note) for c in r.items] == [
        ("Es Kopi Susu", 2, "less sugar"), ("Caffe Latte", 1, "panas")]
    assert r.note == "jangan pake sedotan"


@pytest.mark.parametrize("text, note", [
    ("2 latte, 1 yang panas", "1 yang panas"), ("latte 2, satu panas satu dingin", "satu panas, satu dingin"),
    ("3 latte, 2 yg oat milk", "2 yg oat milk"), ("2 latte, one hot", "one hot"),
    ("kopsus 2 less sugar", "less sugar"), ("latte satu panas", "panas"),  # the count is the line's quantity
])
def test_a_note_for_some_of_a_line_keeps_its_count(text, note):
    """Staff read "2× Caffe Latte (1 yang panas)", never "(panas)" for both."""
    [change] = read(text).items
    assert change.note == note


def test_a_temperature_before_a_product_named_without_it_is_a_note():
    r = read("mau 2 iced latte 1 matcha")
    assert [(NAME[c.product_id], c.quantity, c.note) for c in r.items] == [
        ("Caffe Latte", 2, "iced"), ("Matcha Latte", 1, None)]


def test_an_unknown_product_is_reported_not_dropped():
    r = read("2 burger vegan dan 1 americano")
    assert lines(r) == [("add", "Americano", 1)] and r.unknown == ("burger vegan",)


@pytest.mark.parametrize("text, unknown", [
    ("mau pesan nasi goreng 2", "nasi goreng"), ("3 pizza ya kak", "pizza"), ("burger vegan", "burger vegan"),
])
def test_unknown_products(text, unknown):
    assert unknown in read(text, expecting="item").unknown


@pytest.mark.parametrize("text", ["halo kak", "jam berapa tutup?", "ada menu vegan?", "makasih ya", "ok"])
def test_questions_and_small_talk_name_no_product(text):
    r = read(text)
    assert r.items == () and r.unknown == ()


def test_catalog_edits_apply_at_once():
    assert read("es kopsu mantul 2").items == () or lines(read("es kopsu mantul 2"))[0][1] != "Americano"
    edited = ShopTerms(products=tuple(p if p.name != "Americano" else ProductTerm(p.id, p.name, p.name_en,
                                                                                 p.aliases + ("kopi item",), p.category)
                                      for p in DEMO.products), stores=DEMO.stores, payments=DEMO.payments)
    assert lines(read("kopi item 2", edited)) == [("add", "Americano", 2)]
    assert lines(read("kopi item 2")) != [("add", "Americano", 2)]


# ---------------------------------------------------------------------------------- fulfilment and payment

@pytest.mark.parametrize("text, fulfilment", [
    ("pickup aja", "pickup"), ("take away", "pickup"), ("ambil di toko", "pickup"), ("ambil", "pickup"),
    ("ganti ke ambil sendiri", "pickup"), ("antar ya", "delivery"), ("dianter aja kak", "delivery"),
    ("dikirim ke rumah", "delivery"), ("deliver please", "delivery"), ("gofood aja", "delivery"),
    ("ga usah dianter, ambil sendiri", "pickup"), ("jangan diantar", "pickup"),
])
def test_fulfilment(text, fulfilment):
    assert read(text, expecting="fulfilment").fulfilment == fulfilment


def test_ordering_with_ambil_is_not_a_pickup():
    assert read("aku ambil 2 croissant").fulfilment is None


def test_a_delivery_area_is_not_a_store():
    r = read("kirim ke kemang ya")
    assert r.fulfilment == "delivery" and r.store_id is None


@pytest.mark.parametrize("terms, text, code", [
    (DEMO, "qris", "qris"), (DEMO, "bayar pake gopay", "qris"), (DEMO, "ovo aja", "qris"),
    (DEMO, "tf bca aja", "transfer"), (DEMO, "transfer", "transfer"), (DEMO, "cod ya", "cod"),
    (DEMO, "bayar di tempat", "cod"), (DEMO, "cash", "cod"), (BAKERY, "cash", "cash"), (BAKERY, "tunai", "cash"),
    (BAKERY, "cod", "cash"), (BAKERY, "ovo", "ovo"), (BAKERY, "tf ya", "transfer"), (BAKERY, "bca", "transfer"),
])
def test_payment(terms, text, code):
    assert read(text, terms, expecting="payment").payment == code


def test_a_payment_question_is_not_a_choice_unless_asked():
    assert read("bisa qris?").payment is None
    assert read("bisa qris?", expecting="payment").payment == "qris"


def test_a_payment_the_shop_does_not_take_is_not_chosen():
    assert read("bayar pake gopay", BAKERY, expecting="payment").payment is None


def test_everything_in_one_message():
    r = read("kak pesen 2 es kopi susu less sugar sama 1 croissant, antar ke Jl. Melati No. 5 besok jam 9 pagi, "
             "no hp 081234567890, bayar qris, jangan pake sedotan ya")
    assert [(NAME[c.product_id], c.quantity, c.note) for c in r.items] == [
        ("Es Kopi Susu", 2, "less sugar"), ("Croissant Butter", 1, None)]
    assert (r.fulfilment, r.address, r.address_usable, r.phone, r.payment) == (
        "delivery", "Jl. Melati No. 5", True, "+6281234567890", "qris")
    assert r.when == datetime(2026, 12, 6, 9, 0, tzinfo=JAKARTA)
    assert r.note == "jangan pake sedotan" and r.unknown == ()


# ---------------------------------------------------------------------------------- a second catalog

@pytest.mark.parametrize("text, expected", [
    ("roti sobek 2 sama donat 3", [("add", "Roti Sobek Coklat", 2), ("add", "Donat Gula", 3)]),
    ("mau bolu pandan setengah lusin", [("add", "Bolu Pandan", 6)]),
    ("2 almond croissants", [("add", "Croissant Almond", 2)]),
    ("sugar donuts x6", [("add", "Donat Gula", 6)]),
    ("lapis legit 1, brownies 2", [("add", "Kue Lapis Legit", 1), ("add", "Brownies Panggang", 2)]),
    ("sourdough satu aja", [("add", "Sourdough", 1)]),
    ("pandan chiffon cake", [("add", "Bolu Pandan", None)]),
    ("browneis 2", [("add", "Brownies Panggang", 2)]),
])
def test_bakery_items(text, expected):
    assert lines(read(text, BAKERY)) == expected


def test_bakery_ambiguous_bread_and_the_cart():
    (change,) = read("roti 2", BAKERY).items
    assert change.product_id is None and set(change.candidates) == {101, 106}
    assert lines(read("rotinya jadi 3", BAKERY, cart=(106, 103))) == [("set", "Sourdough", 3)]


def test_bakery_pickup_store_and_time():
    r = read("ambil di cihampelas besok jam 10", BAKERY)
    assert (r.fulfilment, r.store_id) == ("pickup", 201)
    assert r.when == datetime(2026, 12, 6, 10, 0, tzinfo=JAKARTA)
    assert read("tunjungan", BAKERY, expecting="store").store_id == 202
    assert read("yang di surabaya", BAKERY, expecting="store").store_id == 202


def test_bakery_delivery_and_cash():
    r = read("kirim ke Jl. Braga No. 15 Bandung, bayar tunai", BAKERY)
    assert (r.fulfilment, r.address, r.address_usable, r.payment) == (
        "delivery", "Jl. Braga No. 15 Bandung", True, "cash")


def test_the_coffee_menu_means_nothing_to_the_bakery():
    r = read("2 es kopi susu", BAKERY, expecting="item")
    assert r.items == () and r.unknown


# ---------------------------------------------------------------------------------- inputs

@pytest.mark.parametrize("text", ["", "   ", "🙏🙏", "?!", "\n"])
def test_empty_or_emoji_text_says_nothing(text):
    assert read(text) == OrderText()


def test_long_text_is_read_on_its_head():
    r = read("2 latte " + "x" * 5000)
    assert lines(r) == [("add", "Caffe Latte", 2)]


def test_shop_terms_from_catalog_rows():
    class Row:
        def __init__(self, **kw):
            self.__dict__.update(kw)
    terms = shop_terms(products=[Row(id=1, name="Es Kopi Susu", name_en=None, aliases=["kopsus"], category="Kopi")],
                       stores=[Row(id=2, name="Sapa Kemang", area="Jakarta", address="Jl. Kemang 1")],
                       payments=[{"code": "qris", "label": "QRIS"}])
    assert terms.products[0].aliases == ("kopsus",) and terms.payments[0].label_en is None
    assert lines(read("kopsus 2", terms)) == [("add", "Es Kopi Susu", 2)]
    assert hash(terms) == hash(shop_terms(products=[Row(id=1, name="Es Kopi Susu", name_en=None, aliases=["kopsus"],
                                                        category="Kopi")],
                                          stores=[Row(id=2, name="Sapa Kemang", area="Jakarta",
                                                      address="Jl. Kemang 1")],
                                          payments=[{"code": "qris", "label": "QRIS"}]))


# ---------------------------------------------------------------------------------- what is not an order

def test_a_payment_after_a_question_in_another_sentence_is_chosen():
    assert read("can you deliver to Jalan Kemang Raya 12? pay by transfer").payment == "transfer"
    assert read("bisa bayar pake ovo ga?").payment is None


def test_a_yes_must_lead_the_message():
    r = read("ga pake gula ya kak, sama esnya dikit", cart=(KOPI_SUSU,), last_product=KOPI_SUSU)
    assert not r.yes and r.items[0].note == "ga pake gula, esnya dikit"


def test_done_alone_but_not_already_paid():
    r = read("udah transfer ya kak")
    assert (r.payment, r.done_adding, r.yes) == ("transfer", False, False)


def test_a_thankful_cancel_still_cancels():
    assert read("gak jadi, makasih", cart=(KOPI_SUSU,)).cancel_all


@pytest.mark.parametrize("text", ["pesananku kok blm nyampe ya kak", "halo, saya mau pesan", "menu nya apa aja?",
                                  "terima kasih kak", "outlet terdekat dimana ya", "saya mau komplain"])
def test_chat_that_names_nothing(text):
    r = read(text)
    assert (r.items, r.unknown, r.fulfilment, r.payment, r.cancel_all) == ((), (), None, None, False)


@pytest.mark.parametrize("text, removed, added", [
    ("ganti croissant jadi banana bread", "Croissant Butter", "Banana Bread"),
    ("croissantnya diganti banana bread aja", "Croissant Butter", "Banana Bread"),
    ("change the latte to a cappuccino", "Caffe Latte", "Cappuccino"),
    ("swap my croissant for banana bread", "Croissant Butter", "Banana Bread"),
])
def test_swapping_one_product_for_another(text, removed, added):
    r = read(text, cart=(CROISSANT, LATTE))
    assert [(c.op, NAME[c.product_id]) for c in r.items] == [("remove", removed), ("add", added)]


def test_a_quantity_after_a_note_is_the_items():
    r = read("americano panas 1, less sugar")
    assert [(c.quantity, c.note) for c in r.items] == [(1, "panas, less sugar")]


def test_a_request_in_a_question_is_no_yes():
    r = read("boleh minta 2 capucino?", expecting="confirm")
    assert lines(r) == [("add", "Cappuccino", 2)] and not r.yes


def test_two_lines_of_the_same_product_stay_two_changes():
    assert lines(read("1 es kopi susu dan 1 es kopi susu lagi")) == [("add", "Es Kopi Susu", 1)] * 2


def _with_typo(surface: str) -> str:
    """Two letters swapped in the middle of the longest word of at least six letters (else as is)."""
    words = surface.lower().split()
    longest = max(range(len(words)), key=lambda n: len(words[n]))
    word = words[longest]
    if len(word) >= 6:
        middle = len(word) // 2
        words[longest] = word[:middle - 1] + word[middle] + word[middle - 1] + word[middle + 1:]
    return " ".join(words)


_SURFACES = [(terms, product, surface) for terms in (DEMO, BAKERY) for product in terms.products
             for surface in sorted({product.name, product.name_en, *product.aliases} - {None})]


@pytest.mark.parametrize("frame", ["mau {q} {s} dong", "{s} {q} ya kak", "I'd like {q} {s}, please",
                                   "pesan {s} {q} sama ambil di toko"])
@pytest.mark.parametrize("spelling", [str, str.lower, _with_typo])
def test_every_name_of_every_product_is_read_with_its_quantity(frame, spelling):
    missed = []
    for terms, product, surface in _SURFACES:
        r = read(frame.format(q=2, s=spelling(surface)), terms)
        if r.unknown or not any((c.product_id == product.id or product.id in c.candidates) and c.quantity == 2
                                for c in r.items):
            missed.append(frame.format(q=2, s=spelling(surface)))
    assert missed == []


@pytest.mark.parametrize("text", ["2 es kopi susu sama 1 latte, yang kopi susu less sugar",
                                  "2 es kopi susu sama 1 latte, kopi susunya less sugar ya"])
def test_naming_a_line_again_adds_its_note_not_a_line(text):
    r = read(text)
    assert [(NAME[c.product_id], c.quantity, c.note) for c in r.items] == [
        ("Es Kopi Susu", 2, "less sugar"), ("Caffe Latte", 1, None)]


def test_shop_terms_from_the_catalogs_own_models():
    from crm.orders import Product
    from crm.stores import Store
    terms = shop_terms(
        products=[Product(id=7, sku="KOP-EKS", name="Es Kopi Susu", name_en="Iced Milk Coffee", category="Kopi",
                          price=25_000, aliases=["kopsus"])],
        stores=[Store(id=3, name="Sapa Coffee Blok M", area="Jakarta Selatan", address="Jl. Melawai 8", lat=0, lon=0)],
        payments=[{"code": "qris", "label": "QRIS"}])
    r = read("2 iced milk coffee, ambil di blok m", terms)
    assert [(c.product_id, c.quantity) for c in r.items] == [(7, 2)] and (r.fulfilment, r.store_id) == ("pickup", 3)


@pytest.mark.parametrize("text", ["actually make the latte 2", "jadiin latte nya 2", "latte nya jadi 2"])
def test_setting_a_named_lines_quantity(text):
    assert lines(read(text, cart=(LATTE, KOPI_SUSU))) == [("set", "Caffe Latte", 2)]


def test_cash_on_delivery_is_a_payment():
    r = read("i'll pay cash on delivery")
    assert r.payment == "cod"


# ---------------------------------------------------------------------------------- yes, in the ways customers say it

@pytest.mark.parametrize("text", [
    "udah bener semua", "bener kak lanjut", "oke gas", "sip lanjutkan", "mantap pesan", "yoi", "boleh kak",
    "sudah sesuai kak", "udah oke", "semua sesuai", "ya udah proses aja", "okey", "gaskeun", "cuss",
    "iyes", "that's right", "looks good", "correct", "perfect, thanks", "all correct", "yes that's correct",
    "all good", "udah itu aja", "that's it", "confirmed", "lanjutt", "udh bener", "dah oke", "yes go ahead",
    "ok proceed", "iya bener kak, lanjut bayar",
])
@pytest.mark.parametrize("terms", [DEMO, BAKERY])
def test_yes_in_many_words(text, terms):
    r = read(text, terms, expecting="confirm", cart=(terms.products[0].id,))
    assert r.yes and not r.no and not r.cancel_all and r.items == () and r.unknown == ()


@pytest.mark.parametrize("text", ["udah bener?", "bener ga sih", "ga bener", "belum sesuai", "sip, tapi kok mahal?",
                                  "good morning", "great question, how much is it?"])
def test_not_a_yes(text):
    assert not read(text, expecting="confirm", cart=(LATTE,)).yes


@pytest.mark.parametrize("terms, text, product", [
    (DEMO, "iya americano aja", "Americano"), (DEMO, "ok, latte nya 1 aja", "Caffe Latte"),
    (BAKERY, "iya donat aja kak", "Donat Gula"), (DEMO, "yes, just the croissant", "Croissant Butter"),
])
def test_a_yes_that_restates_the_cart_keeps_its_items(terms, text, product):
    r = read(text, terms, expecting="confirm", cart=tuple(p.id for p in terms.products[:3]))
    assert r.yes and [NAME[c.product_id] for c in r.items] == [product] and r.only


# ---------------------------------------------------------------------------------- quantities after modifiers

@pytest.mark.parametrize("terms, text, expected", [
    (DEMO, "croissant biasa 2", ("Croissant Butter", 2, "biasa")),
    (DEMO, "latte yang dingin 2", ("Caffe Latte", 2, "dingin")),
    (DEMO, "kopsus gede 3", ("Es Kopi Susu", 3, "gede")),
    (DEMO, "americano yg panas 2 ya", ("Americano", 2, "panas")),
    (DEMO, "matcha jumbo dua", ("Matcha Latte", 2, "jumbo")),
    (DEMO, "latte large 2", ("Caffe Latte", 2, "large")),
    (BAKERY, "donat gula tiga biji", ("Donat Gula", 3, None)),
    (BAKERY, "brownies yang original 4", ("Brownies Panggang", 4, "original")),
    (BAKERY, "sourdough plain 2", ("Sourdough", 2, "plain")),
    (DEMO, "croissant yang biasa aja 2", ("Croissant Butter", 2, "biasa")),
    (DEMO, "latte ukuran besar 2", ("Caffe Latte", 2, "ukuran besar")),
    (DEMO, "kopsus ukuran gede 2", ("Es Kopi Susu", 2, "ukuran gede")),
    (BAKERY, "donat yg mini 6", ("Donat Gula", 6, "mini")),
])
def test_a_quantity_after_a_modifier_is_the_products(terms, text, expected):
    r = read(text, terms)
    assert [(NAME[c.product_id], c.quantity, c.note) for c in r.items] == [expected] and r.unknown == ()


# ---------------------------------------------------------------------------------- "only"

@pytest.mark.parametrize("terms, text", [
    (DEMO, "kopinya aja deh"), (DEMO, "cuma latte"), (DEMO, "latte aja kak"), (DEMO, "just the latte"),
    (DEMO, "latte only"), (DEMO, "hanya 1 croissant"), (DEMO, "2 latte aja"),
    (BAKERY, "donatnya aja"), (BAKERY, "cuma brownies 2"), (BAKERY, "just the sourdough please"),
])
def test_only_the_named_products(terms, text):
    r = read(text, terms, cart=tuple(p.id for p in terms.products))
    assert r.only and r.items


@pytest.mark.parametrize("text", ["latte aja", "cuma latte", "croissant aja kak"])
def test_naming_one_more_product_when_asked_for_more_is_no_only(text):
    assert not read(text, expecting="item", cart=(KOPI_SUSU,)).only
    assert read(text, expecting="confirm", cart=(KOPI_SUSU,)).only


@pytest.mark.parametrize("text, cart", [
    ("ambil di kemang aja", (LATTE,)), ("2 latte aja", ()), ("latte 2", (LATTE,)), ("tambah latte 1 aja", (LATTE,)),
    ("panas aja kak", (LATTE,)), ("ga jadi latte aja", (LATTE, CROISSANT)), ("udah itu aja", (LATTE,)),
    ("croissant aja", (LATTE,)),
])
def test_not_only(text, cart):
    assert not read(text, cart=cart).only


# ---------------------------------------------------------------------------------- fulfilment cues

@pytest.mark.parametrize("text, fulfilment", [
    ("tak ambil", "pickup"), ("tak ambil sendiri ya", "pickup"), ("ambil ke outlet", "pickup"),
    ("diambil aja", "pickup"), ("gw samperin ke toko", "pickup"), ("aku mampir ke toko aja", "pickup"),
    ("I'll grab it myself", "pickup"), ("I'll pick it up", "pickup"), ("collect at the store", "pickup"),
    ("take away", "pickup"), ("I'll come get it", "pickup"), ("ga jadi dikirim, ambil aja", "pickup"),
    ("anterin ya kak", "delivery"), ("kirimin aja", "delivery"), ("pake kurir", "delivery"),
    ("gojek-in aja", "delivery"), ("grab aja", "delivery"), ("send it over", "delivery"),
    ("bring it to my office", "delivery"), ("bawain ke rumah ya", "delivery"), ("batal ambil, kirim aja", "delivery"),
    ("saya jemput sendiri", "pickup"), ("i'll swing by the store", "pickup"), ("I'll come by and grab it", "pickup"),
    ("ntar gw ambil", "pickup"), ("gak usah dianter, aku mampir", "pickup"), ("kirim via gojek", "delivery"),
])
@pytest.mark.parametrize("expecting", [None, "fulfilment"])
def test_fulfilment_cues(text, fulfilment, expecting):
    r = read(text, expecting=expecting, cart=(LATTE,))
    assert r.fulfilment == fulfilment and not r.no and not r.cancel_all and r.items == ()


def test_bakery_pickup_in_slang_names_the_store():
    r = read("gw samperin ke yang di tunjungan", BAKERY)
    assert (r.fulfilment, r.store_id) == ("pickup", 202)


# ---------------------------------------------------------------------------------- the expected slot swallows nothing else

@pytest.mark.parametrize("terms, text, fulfilment, store", [
    (DEMO, "eh ganti ke ambil sendiri aja di kemang", "pickup", STORE["kemang"]),
    (DEMO, "ga jadi dikirim, ambil aja", "pickup", None),
    (DEMO, "yang di blok m aja", None, STORE["blok m"]),
    (DEMO, "I'll pick it up at SCBD", "pickup", STORE["scbd"]),
    (BAKERY, "ambil sendiri aja di cihampelas", "pickup", 201),
])
def test_a_change_of_fulfilment_is_not_an_address(terms, text, fulfilment, store):
    r = read(text, terms, expecting="address")
    assert (r.address, r.fulfilment, r.store_id) == (None, fulfilment, store)


@pytest.mark.parametrize("text, field, value", [
    ("bayar cash aja", "payment", "cod"), ("pake qris ya", "payment", "qris"), ("batal aja deh", "cancel_all", True),
    ("ga jadi pesan", "cancel_all", True), ("berapa ongkirnya?", "address", None), ("bisa kirim ke bsd?", "address", None),
    ("ok", "address", None),
])
def test_other_answers_to_the_address_question(text, field, value):
    r = read(text, expecting="address")
    assert getattr(r, field) == value and r.address is None


@pytest.mark.parametrize("text", ["rumah saya di kemang", "kantor di blok m, gedung sapa lt 3", "kos di dago no 5",
                                  "rumah pak budi, jl mawar 3"])
def test_a_place_named_like_a_store_in_an_address_is_the_address(text):
    """The answer to "address?" is read whole when it starts with a place: not cut at the street."""
    r = read(text, expecting="address")
    assert r.address == text and r.store_id is None


def test_the_usual_is_not_a_plain_item():
    r = read("seperti biasa ya kak", cart=(LATTE,), last_product=LATTE)
    assert r.items == ()


def test_an_address_with_a_payment_is_both():
    r = read("kos melati no 5, cod ya", expecting="address")
    assert (r.address, r.address_usable, r.payment) == ("kos melati no 5", True, "cod")


# ---------------------------------------------------------------------------------- addresses

@pytest.mark.parametrize("text", [
    "jl. ir. h. juanda no 300", "Jl. H. Usman No. 7", "jl. kh. mas mansyur 12", "Jl. Prof. Dr. Satrio Kav 3",
    "jl. jend. sudirman no 1", "Jl. M.H. Thamrin No. 10", "gg. mawar 2", "Gang Kelinci no 4",
    "apartemen kalibata city tower jasmine unit 12B", "perum griya asri blok c2 no 5",
    "kos putri melati kamar 3, jl. kaliurang km 5", "Jl. KH. Hasyim Ashari 25, Jakarta Pusat",
])
def test_addresses_with_titles_and_complexes_are_kept_whole(text):
    r = read(text, expecting="address")
    assert r.address == text and r.address_usable


@pytest.mark.parametrize("text", ["jl. dr. saharjo", "jl. prof. dr. satrio", "jl. jend. sudirman", "jl. m.h. thamrin"])
def test_a_titled_street_without_a_number_is_kept_but_not_usable(text):
    r = read(text, expecting="address")
    assert r.address == text and not r.address_usable


@pytest.mark.parametrize("text, address", [
    ("tolong kirim ke jl. ir. h. juanda no 300 ya kak", "jl. ir. h. juanda no 300"),
    ("2 latte antar ke Jl. Jend. Sudirman Kav. 52, besok jam 9", "Jl. Jend. Sudirman Kav. 52"),
    ("kirim ke gg. mawar 2 ya", "gg. mawar 2"),
    ("Jl. Melati No. 5. Besok jam 8 ya", "Jl. Melati No. 5"),
    ("tolong anterin 3 kopsus ke kos melati no 2", "kos melati no 2"),
    ("2 latte ke gedung wisma 46 lt 12 ya", "gedung wisma 46 lt 12"),
])
def test_addresses_inside_a_message(text, address):
    assert read(text).address == address


# ---------------------------------------------------------------------------------- payment words

@pytest.mark.parametrize("text, demo, bakery", [
    ("bayar di kasir", "cod", "cash"), ("bayar di tempat", "cod", "cash"), ("bayar pas ambil", "cod", "cash"),
    ("cash aja", "cod", "cash"), ("tunai", "cod", "cash"), ("cod", "cod", "cash"), ("pay at the counter", "cod", "cash"),
    ("pay cash", "cod", "cash"), ("e-wallet", "qris", "ovo"), ("pakai dompet digital", "qris", "ovo"),
    ("pakai ovo", "qris", "ovo"), ("pakai gopay", "qris", None), ("pake dana aja", "qris", None),
    ("tf bca", "transfer", "transfer"), ("m-banking", "transfer", "transfer"), ("mobile banking", "transfer", "transfer"),
    ("scan qr aja", "qris", None), ("transfer mandiri", "transfer", "transfer"),
    ("bayar nanti di kasir", "cod", "cash"), ("bayar pas barang dateng", "cod", "cash"), ("pake shopeepay", "qris", None),
    ("saya transfer via mbanking", "transfer", "transfer"), ("pay with gopay", "qris", None),
])
def test_payment_words_choose_the_shops_method(text, demo, bakery):
    assert read(text, DEMO, expecting="payment").payment == demo
    assert read(text, BAKERY, expecting="payment").payment == bakery


# ---------------------------------------------------------------------------------- times

@pytest.mark.parametrize("text, now_hour, expected", [
    ("jam 8 pagi", 19, (1, 8, 0)), ("jam 3 sore", 10, (0, 15, 0)), ("nanti siang jam 1", 10, (0, 13, 0)),
    ("besok pagi", 19, (1, 9, 0)), ("at noon", 10, (0, 12, 0)), ("tonight at 7", 12, (0, 19, 0)),
    ("30 menit lagi", 19, (0, 19, 30)), ("in 30 minutes", 19, (0, 19, 30)), ("sejam lagi", 19, (0, 20, 0)),
    ("2 jam lagi", 23, (1, 1, 0)), ("setengah jam lagi ya", 10, (0, 10, 30)), ("in an hour", 10, (0, 11, 0)),
    ("in half an hour", 10, (0, 10, 30)), ("15 mins from now", 10, (0, 10, 15)),
])
@pytest.mark.parametrize("expecting", [None, "time"])
def test_times_said_in_many_ways(text, now_hour, expected, expecting):
    now = NOW.replace(hour=now_hour)
    r = read(text, expecting=expecting, now=now, cart=(LATTE,), last_product=LATTE)
    days, hour, minute = expected
    assert r.when is not None and (r.when.date() - now.date(), r.when.hour, r.when.minute) == (
        timedelta(days=days), hour, minute)
    assert r.items == () and r.unknown == ()


@pytest.mark.parametrize("text", ["after lunch", "abis makan siang", "pulang kerja aja", "after work"])
def test_a_moment_without_an_hour_is_no_time(text):
    r = read(text, expecting="time", cart=(LATTE,))
    assert (r.when, r.items, r.unknown) == (None, (), ())


def test_a_delay_with_an_order():
    r = read("2 latte, ambil 30 menit lagi", now=NOW.replace(hour=10))
    assert lines(r) == [("add", "Caffe Latte", 2)] and r.fulfilment == "pickup"
    assert (r.when.hour, r.when.minute) == (10, 30)


@pytest.mark.parametrize("text, expecting", [
    ("tak transfer ya", "payment"), ("tak kirim alamatnya", "address"), ("tak tunggu", "confirm"),
    ("tak ambil jam 5", None),
])
def test_javanese_tak_before_a_verb_is_no_no(text, expecting):
    assert not read(text, expecting=expecting, cart=(LATTE,)).no


@pytest.mark.parametrize("text", ["tak usah", "tak perlu kak", "tak jadi"])
def test_tak_usah_is_still_a_no(text):
    r = read(text, expecting="confirm", cart=(LATTE,))
    assert (r.no or r.cancel_all) and not r.yes


@pytest.mark.parametrize("text", ["gede ga porsinya?", "yang jumbo ada?", "biasa aja", "menu biasa"])
def test_a_size_word_without_a_product_is_no_note(text):
    assert read(text, cart=(LATTE,), last_product=LATTE).items == ()


@pytest.mark.parametrize("text", ["oke kak", "siap", "yup", "sounds good", "nope", "gak usah", "thanks, that's right"])
def test_a_yes_or_no_answering_the_address_question_is_no_address(text):
    r = read(text, expecting="address", cart=(LATTE,))
    assert r.address is None and (r.yes or r.no)


# ------------------------------------------------------------------ words customers use that the menu lacks

@pytest.mark.parametrize("text, product", [
    ("cafe late 1", "Caffe Latte"), ("2 capucino sama 1 cafe late", "Caffe Latte"), ("kopi sus 1", "Es Kopi Susu"),
])
def test_a_two_word_name_misspelt_in_both_words(text, product):
    assert ID[product] in [c.product_id for c in read(text).items]


@pytest.mark.parametrize("text, unknown, kept", [
    ("teh tarik 1 sama americano 2", "teh tarik", [("add", "Americano", 2)]),
    ("pesen kopi luwak 2 dong", "kopi luwak", []),
    ("roti tawar 1, latte 1", "roti tawar", [("add", "Caffe Latte", 1)]),
])
def test_a_kind_of_product_the_shop_lacks_is_named_back_not_asked_about(text, unknown, kept):
    r = read(text)
    assert r.unknown == (unknown,) and lines(r) == kept


@pytest.mark.parametrize("text", ["kopi 2", "kopi gede 2", "kopi yang enak 1"])
def test_a_plain_word_for_a_kind_still_asks_which_one(text):
    (change,) = read(text).items
    assert change.product_id is None and len(change.candidates) > 1


def test_a_kind_asked_about_then_ordered_is_named_back_once():
    r = read("ada kue lumpur? pesen kue lumpur 3 sama donat 2", BAKERY)
    assert r.unknown == ("kue lumpur",) and lines(r) == [("add", "Donat Gula", 2)]


@pytest.mark.parametrize("text, quantity", [
    ("ganti jadi latte aja 3", 3), ("diganti americano ya", None), ("can you change it to a latte", 1),
])
def test_swapping_to_a_product_without_naming_the_old_one_replaces_the_only_line(text, quantity):
    r = read(text, cart=(CROISSANT,))
    assert [(c.op, c.product_id) for c in r.items][0] == ("remove", CROISSANT)
    assert r.items[1].op == "add" and r.items[1].quantity == quantity and r.items[1].product_id != CROISSANT


def test_swapping_to_a_product_with_several_lines_replaces_the_last_one_spoken_of():
    assert lines(read("ganti jadi latte", cart=(CROISSANT, KOPI_SUSU))) == [
        ("remove", "Es Kopi Susu", None), ("add", "Caffe Latte", None)]
    assert lines(read("ganti jadi latte", cart=(CROISSANT, KOPI_SUSU), last_product=CROISSANT))[0] == (
        "remove", "Croissant Butter", None)


def test_the_one_number_in_a_message_naming_one_product_is_its_quantity():
    assert lines(read("croissant masih ada kan? 3 ya")) == [("add", "Croissant Butter", 3)]
    assert lines(read("latte, ambil jam 2")) == [("add", "Caffe Latte", None)]  # a time is no quantity


def test_a_store_after_ke_switches_the_pickup_store():
    assert read("ke menteng aja deh", expecting="payment").store_id == STORE["menteng"]
    assert read("kirim ke menteng").store_id is None  # an area to deliver to


def test_an_address_stops_before_the_items_said_after_it():
    r = read("antar ke jl. melati raya no. 8, 3 latte and 1 croissant")
    assert r.address == "jl. melati raya no. 8"
    assert lines(r) == [("add", "Caffe Latte", 3), ("add", "Croissant Butter", 1)]
    assert read("kirim ke Jl. Mawar No. 5, RT 003/005, Tebet 12820").address == "Jl. Mawar No. 5, RT 003/005, Tebet 12820"


@pytest.mark.parametrize("text", ["fine, that's all", "ga papa, gitu aja", "gpp kak lanjut"])
def test_easygoing_yes_to_the_summary(text):
    assert read(text, expecting="confirm", cart=(LATTE,)).yes


def test_a_rek_at_the_end_of_a_sentence_is_no_bank_transfer():
    assert read("ambil sendiri ya rek, latte 1").payment is None


def test_a_product_with_another_products_word_is_one_item_with_a_note():
    assert [(c.product_id, c.quantity, c.note) for c in read("one croissant with chocolate please").items] == [
        (CROISSANT, 1, "chocolate")]
    assert lines(read("1 latte with 1 croissant")) == [("add", "Caffe Latte", 1), ("add", "Croissant Butter", 1)]


@pytest.mark.parametrize("text, note", [
    ("latte 2, yang satu less sugar", "satu less sugar"), ("2 lattes, one of them with oat milk", "one of them with oat milk"),
])
def test_a_note_for_one_of_several_says_so(text, note):
    (change,) = read(text).items
    assert (change.quantity, change.note) == (2, note)


@pytest.mark.parametrize("text, product, quantity", [
    ("two chocolate toasts and one cappuccino please", "Roti Bakar Coklat Keju", 2),
    ("pesen roti bakar coklat 2 sm americano 1", "Roti Bakar Coklat Keju", 2),
])
def test_neighbouring_words_of_one_products_name_are_that_product(text, product, quantity):
    first = read(text).items[0]
    assert (first.product_id, first.quantity) == (ID[product], quantity) and len(read(text).items) == 2


# ---------------------------------------------------------------------------------- how many people it is for

@pytest.mark.parametrize("text, party, items", [
    ("pesen kopi susu buat 30 orang", 30, [("add", "Es Kopi Susu", None)]),
    ("kopsus 2 sama croissant, buat acara 12 org", 12, [("add", "Es Kopi Susu", 2), ("add", "Croissant Butter", None)]),
    ("iced coffee with milk for 25 people please", 25, [("add", "Es Kopi Susu", None)]),
    ("buat 40an peserta seminar", 40, []),
    ("kopi susu 3", None, [("add", "Es Kopi Susu", 3)]),
])
def test_a_head_count_is_how_many_people_not_a_quantity_of_something(text, party, items):
    r = read(text)
    assert (r.party, lines(r)) == (party, items)
    assert not any(word in " ".join(r.unknown) for word in ("orang", "org", "people", "peserta"))


@pytest.mark.parametrize("text, everyone, rest", [
    ("kopi susu aja semua", True, False), ("iced latte for everyone", True, False),
    ("croissant masing masing satu", True, False), ("kopsus sama croissant, masing2 ya", True, False),
    ("yg 20 kopsus, sisanya croissant", False, True), ("2 americanos, the rest iced coffee with milk", False, True),
    ("kopi susu aja", False, False), ("kopi susu 2", False, False),
])
def test_one_each_for_everyone_or_for_the_rest(text, everyone, rest):
    r = read(text)
    assert (r.for_everyone, r.rest, r.unknown) == (everyone, rest, ())
