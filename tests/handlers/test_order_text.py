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
