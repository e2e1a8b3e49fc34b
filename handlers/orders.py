"""Ordering by chat, typed or tapped: items, changes, delivery or pickup, details, confirmation.

Each text message is read against the order being built and the question the bot asked
last (handlers.order_flow): "blok m" after "which store?" is a store, "iya" after the
summary confirms, "ga jadi croissantnya" removes that line only. Buttons post
`order:<action>:<arg>` and land in the same draft.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import date, datetime
from rapidfuzz import fuzz

from core import messages as m
from core.money import rupiah
from core.texts import button, text
from crm.orders import (
    CartLine, Order, available_at, default_variant, hours_text, next_available, options_named, options_text,
)
from handlers import order_flow as flow
from handlers.base import Context
from handlers.effects import Answer, PlaceOrder
from handlers.nlu.lang import looks_like_question, words_after_greeting
from handlers.nlu.order_text import OrderText, read_order_text, shop_terms
from handlers.vouchers import apply_voucher, check_voucher, voucher_said, without_voucher

MAX_CARDS = 10
MAX_QUANTITY = 999
PARTY = "party"  # state: how many people the customer said an order is for, until one is placed
# Intents a customer may ask about in the middle of an order; the order waits and resumes.
DIGRESSIONS = ("faq", "promotion", "location", "order_status", "complaint", "human_handoff", "greeting")
MENU_WORDS = frozenset("menu menunya makanan makan minuman minum food foods drinks drink snack snacks cemilan".split())
_PRICE = re.compile(r"\b(?:harga|harganya|hrg|berapa|brp|how much|price|prices|cost|costs)\b", re.IGNORECASE)
MENU_QUESTION_WORDS = ("ada", "apa", "menu", "what", "do", "is", "are", "any", "which")


def _postback(inbound: m.Inbound) -> list[str] | None:
    if inbound.kind != m.POSTBACK or not (inbound.postback_data or "").startswith("order:"):
        return None
    return inbound.postback_data.split(":")[1:]


def reading(inbound: m.Inbound, ctx: Context) -> OrderText | None:
    """The message read as order details against the draft and the pending question (once per message)."""
    if ctx.data is None or inbound.kind != m.MESSAGE or inbound.message_type != "text":
        return None
    if ctx.reading is None:
        order = ctx.state.get("order") if ctx.state.get("v") == flow.STATE_VERSION else None
        lines = (order or {}).get("lines", ())
        terms = shop_terms(ctx.data.products(), ctx.data.stores(), ctx.data.settings().payment_methods)
        expecting = flow.pending_slot(ctx) or ("confirm" if ctx.state.get("cancel_asked") else None)
        ctx.reading = read_order_text(without_voucher(ctx, inbound.text), terms, now=ctx.now.astimezone(ctx.data.tz),
                                      expecting=expecting, cart=tuple(line["product_id"] for line in lines),
                                      last_product=(order or {}).get("last_product"),
                                      pickup=(order or {}).get("fulfilment") == "pickup")
    return ctx.reading


def _about_order(r: OrderText, pending: str | None) -> bool:
    """True when the reading says something about an order (an item, a detail, an answer to the bot)."""
    return bool(r.items or r.fulfilment or r.store_id or r.address or r.phone or r.payment or r.when or r.day
                or r.asap or r.cancel_all or r.done_adding or (r.note and pending) or (r.unknown and pending == "item")
                or ((r.yes or r.no) and pending))


def _answers_pending(r: OrderText, pending: str | None) -> bool:
    """True when the reading fills the slot the bot asked for ("bisa qris?" at "how to pay?")."""
    filled = {"item": r.items, "which": r.items, "fulfilment": r.fulfilment, "delivers": r.fulfilment or r.store_id,
              "minimum": r.fulfilment or r.items,
              "store": r.store_id, "address": r.address, "reach": r.address, "phone": r.phone,
              "payment": r.payment, "time": r.when or r.asap, "confirm": r.yes or r.no}
    return bool(filled.get(pending or ""))


def answers_the_order(inbound: m.Inbound, ctx: Context) -> bool:
    """True when a typed message fills the slot the order under way asked for ("no hp 0812…" at "phone?")."""
    if not flow.has_draft(ctx) or inbound.kind != m.MESSAGE or inbound.message_type != "text":
        return False
    r = reading(inbound, ctx)
    return r is not None and _answers_pending(r, flow.pending_slot(ctx))


def _gives_details(r: OrderText) -> bool:
    """True when a message asking something also gives the order a detail ("can you deliver instead? Jl. X 5")."""
    return bool(r.address_usable or r.phone or r.store_id)


def menu_words(text: str | None) -> list[str]:
    """The lower-case words of a message about the menu, without question marks and commas."""
    return (text or "").lower().replace("?", " ").replace(",", " ").split()


def names_the_menu(text: str | None, nouns: frozenset[str] = MENU_WORDS) -> bool:
    """True when a word speaks of the menu itself, with or without its suffix ("menu", "menunya", "drinks")."""
    words = menu_words(text)
    return any(word in nouns or (word.endswith("nya") and word[:-3] in nouns) for word in words)


SHOW_WORDS = frozenset("liat lihat minta kirim kirimin share show see send list daftar".split())  # "minta menu"
# The words of a plain request for the menu ("kak, menunya apa aja ya?", "can I see your menu please").
PLAIN_MENU_WORDS = MENU_WORDS | SHOW_WORDS | frozenset(
    "ada apa aja saja dong deh ya yah kak kakak ka "
    "min gan sis bang mas mbak yang yg nya boleh bisa tolong dan sama ini itu hari sekarang lengkap lengkapnya "
    "semua full the a an what whats is are your you do have on me please pls can i any of in today there".split())


def asks_for_the_menu(ctx: Context, text: str | None, nouns: frozenset[str] = MENU_WORDS) -> bool:
    """Names the menu and asks nothing narrower than a kind of product on it ("menunya apa aja?", "menu kopi
    apa aja?"); "ada menu vegan?" asks something about the menu, which the knowledge base or staff answer."""
    if not names_the_menu(text, nouns):
        return False
    about = [word for word in (w.strip(".!'") for w in menu_words(text)) if word.isalpha() and word not in PLAIN_MENU_WORDS
             and not (word.endswith("nya") and word[:-3] in nouns)]
    return not about or names_a_kind_of_product(ctx, tuple(about))


def asks_what_is_sold(words: str, r: OrderText) -> bool:
    """"ada croissant?", "what food do you have?": a question about the menu with no quantity in it."""
    first = (words_after_greeting(words) or [""])[0]  # "kak, ada thai tea?"
    return looks_like_question(words) and first in MENU_QUESTION_WORDS and all(c.quantity is None for c in r.items)


def names_a_kind_of_product(ctx: Context, phrases: tuple[str, ...]) -> bool:
    """True when words not on the menu share a word with it ("thai tea", "kue lumpur"; not "wifi")."""
    said = {form for phrase in phrases for word in phrase.lower().split() if len(word) >= 3
            for form in (word, word.removesuffix("s"), word.removesuffix("nya"))}  # "cakes", "kuenya"
    menu = {word for p in ctx.data.products()
            for name in (p.name, p.name_en, p.category, *(p.aliases or ())) if name for word in name.lower().split()}
    return bool(said & menu)


def priced_products(text: str, r: OrderText | None) -> set[int]:
    """The products a question asks the price of ("berapa harga kopsus?", "how much is a latte?")."""
    if r is None or not _PRICE.search(text) or not looks_like_question(text):
        return set()
    return {p for c in r.items for p in ((c.product_id,) if c.product_id is not None else c.candidates)}


def catalog_reply(ctx: Context, intro: str | None = None, lead: str | None = None,
                  only: set[int] | None = None) -> m.Reply:
    """The products on sale (or `only` these) as a carousel with an order button each (`lead` before the intro)."""
    products = [p for p in ctx.data.products() if p.in_stock and (only is None or p.id in only)][:MAX_CARDS]
    if not products:
        return m.Reply(text=ctx.say("catalog_empty"))
    cards = tuple(
        m.Card(title=f"{flow.product_name(ctx, p)} · {rupiah(p.price, ctx.language)}",
               subtitle=" — ".join(filter(None, (options_text(p, ctx.language),
                                                 f"🕒 {hours_text(p)}" if p.available_hours else "",
                                                 p.description)))[:120],
               image_url=p.image_url, buttons=_order_buttons(ctx, p))
        for p in products
    )
    intro = intro or ctx.say("catalog_intro", example=products[0].name.lower())
    return m.Reply(text=f"{lead} {intro}" if lead else intro, cards=cards)


MAX_VARIANT_BUTTONS = 3


def _order_buttons(ctx: Context, product) -> tuple[m.Choice, ...]:
    """One order button, or one per variant when the variants cost differently ("Large +Rp5.000")."""
    if default_variant(product) is None:
        return (m.Choice(button("order_one", ctx.language), data=f"order:add:{product.id}"),)
    prices = product.variant_prices or {}
    return tuple(m.Choice(f"{v} +{rupiah(prices[v], ctx.language)}" if prices.get(v) else v,
                          data=f"order:add:{product.id}:{n}")
                 for n, v in enumerate(product.variants[:MAX_VARIANT_BUTTONS]))


def _closest(ctx: Context, words: str) -> list[str]:
    """The products on sale whose names are nearest to words that matched nothing."""
    # Every name a product goes by counts ("thai tea" is nearest "Lychee Iced Tea", not "Matcha Latte").
    scored = []
    for p in ctx.data.products():
        if p.in_stock:
            surfaces = [s for s in (p.name, p.name_en, *(p.aliases or ())) if s]
            best = max(fuzz.WRatio(words, s, processor=str.lower) for s in surfaces)
            if best >= 50:
                scored.append((-best, flow.product_name(ctx, p)))
    return [name for _score, name in sorted(scored)[:3]]


def _with_options(product, line: dict, names: tuple[str, ...]) -> None:
    """Give a cart line the variant and add-ons named (a variant replaces the line's, add-ons join its own)."""
    variant, addons = options_named(product, names)
    line["variant"] = variant or line.get("variant") or default_variant(product)
    line["addons"] = list(dict.fromkeys([*(line.get("addons") or ()), *addons]))
    for key in ("variant", "addons"):  # a product without options keeps the plain line it always had
        if not line[key]:
            del line[key]


def _not_now(ctx: Context, product, at: datetime) -> str | None:
    """Why a product outside its hours at `at` cannot be had then, with when it can ("besok 07:00")."""
    if available_at(product, at, ctx.data.tz):
        return None
    opens = next_available(product, at, ctx.data.tz)
    name = flow.product_name(ctx, product)
    example = f"{name.lower()} {flow.when_text(ctx, opens)}" if opens else name.lower()
    return ctx.say("not_now", product=name, hours=hours_text(product), example=example)


def _add(ctx: Context, order: dict, product_id: int, quantity: int, note: str | None,
         options: tuple[str, ...] = (), at: datetime | None = None) -> str | None:
    """Add to the cart (a line per variant and add-ons); returns a problem to tell the customer, if any."""
    product = ctx.data.product(product_id)
    if product is None or not product.active:
        return ctx.say("stale_button")
    if problem := _not_now(ctx, product, at or flow.order_time(ctx, order)):
        return problem
    new = {"product_id": product_id}
    _with_options(product, new, options)
    current = next((line for line in order["lines"] if line["product_id"] == product_id
                    and (line.get("variant"), line.get("addons")) == (new.get("variant"), new.get("addons"))), None)
    held = sum(line["qty"] for line in order["lines"] if line["product_id"] == product_id)
    wanted = quantity + held
    if product.stock is not None and product.stock < wanted:
        if product.stock <= 0:
            name = flow.product_name(ctx, product)
            others = [other for other in _closest(ctx, product.category or product.name) if other != name]
            return ctx.say("out_of_stock", product=name) + (
                " " + ctx.say("maybe", names=", ".join(others)) if others else "")
        return ctx.say("only_left", product=flow.product_name(ctx, product), available=str(product.stock))
    if current:
        current["qty"] = min(current["qty"] + quantity, MAX_QUANTITY)
        current["note"] = note or current.get("note")
    else:
        order["lines"].append({**new, "qty": min(quantity, MAX_QUANTITY), "note": note})
    order["last_product"] = product_id
    return None


def _set(ctx: Context, order: dict, product_id: int, quantity: int | None, note: str | None,
         options: tuple[str, ...] = (), at: datetime | None = None) -> str | None:
    """Change a line's quantity (0 removes it), options or note; a product not in the cart is added."""
    line = next((line for line in reversed(order["lines"]) if line["product_id"] == product_id), None)
    if line is None:
        return _add(ctx, order, product_id, quantity or 1, note, options, at)
    product = ctx.data.product(product_id)
    if options and product is not None:
        _with_options(product, line, options)
    if quantity is not None:
        if quantity <= 0:
            order["lines"].remove(line)
            return ctx.say("removed", product=flow.product_name(ctx, product) if product else "-")
        if product is not None and product.stock is not None and product.stock < quantity:
            return ctx.say("only_left", product=flow.product_name(ctx, product), available=str(product.stock))
        line["qty"] = min(quantity, MAX_QUANTITY)
    if note:
        line["note"] = note
    order["last_product"] = product_id
    return None


_OFFER_QUANTITY = re.compile(r"^\D*?\b([1-9])\b\D*$")  # "iya 2", "boleh 1 aja": one small number alone


def _answer_offer(ctx: Context, order: dict, r: OrderText, text: str) -> list[str]:
    """The answer to the product offered with the cart: a yes adds it ("iya 2": two); naming it adds it through the
    items; anything else leaves the cart as it was. Returns what to tell the customer."""
    product_id = flow.offered_product(ctx, order)
    if product_id is None or not r.yes or r.no or any(c.product_id == product_id for c in r.items):
        return []
    said = _OFFER_QUANTITY.match(text or "")
    problem = _add(ctx, order, product_id, int(said.group(1)) if said else 1, None)
    return [problem] if problem else []


def _for_each(ctx: Context, r: OrderText, quantity: int | None) -> int | None:
    """One each for the people the order is for: "kopsus buat 30 orang" is 30, and so is "kopsus aja semua" or
    "a croissant for everyone" after "acara kantor 30 orang"; "yg 20 kopsus, sisanya es coklat" is 6 of the
    26; a number for the whole order stands ("2 kopsus buat 30 orang")."""
    party = r.party or ctx.state.get(PARTY)
    one_each = r.for_everyone and quantity in (None, 1)  # "a croissant for everyone": the "a" is per person
    if not party or (quantity is not None and not one_each):
        return quantity
    counted = sum(change.quantity or 0 for change in r.items if change.op == "add")
    if r.rest and quantity is None and party > counted > 0:
        return party - counted
    if r.for_everyone:
        return party
    return r.party if r.party and quantity is None and not counted else quantity


def _recount(ctx: Context, order: dict, r: OrderText) -> None:
    """"eh ralat, jadi 25 orang": the lines that were one each for the people said before are one each again."""
    before = ctx.state.get(PARTY)
    if r.party and before and r.party != before and not r.items:
        for line in order["lines"]:
            if line["qty"] == before:
                line["qty"] = min(r.party, MAX_QUANTITY)


def _change_items(ctx: Context, order: dict, r: OrderText) -> tuple[list[str], dict | None]:
    """Apply the item changes; returns what to tell the customer and an ambiguous mention to ask about."""
    said, ambiguous = [], None
    asked = ctx.state.get("pending") or {}
    # "nasi uduk besok jam 7": a pre-order said with the product (a time already past is asked again, not used)
    at = r.when if r.when and r.when >= ctx.now else flow.order_time(ctx, order)
    removed = [c for c in r.items if c.op == "remove" and c.quantity is None]
    added = [c for c in r.items if c.op == "add" and c.quantity is None and not c.again]
    held = {line["product_id"] for line in order["lines"]}
    swapped = next((line["qty"] for line in order["lines"] if len(removed) == len(added) == 1
                    and added[0].product_id not in held and line["product_id"] == removed[0].product_id), None)
    for change in r.items:
        if swapped and change is added[0]:  # "kopsusnya ganti latte aja": as many lattes as there were kopsus
            change = replace(change, quantity=swapped)
        if asked.get("slot") == "which" and change.product_id in asked["candidates"] and change.quantity is None:
            # "kopi 2" → "which?" → "yang susu": the quantity and note said before go with the answer
            change = replace(change, quantity=asked.get("qty"), note=change.note or asked.get("note"))
        if change.product_id is None:
            if change.candidates and ambiguous is None:
                ambiguous = {"slot": "which", "candidates": list(change.candidates), "qty": change.quantity,
                             "note": change.note, "words": change.words}
            continue
        if change.op == "remove":
            line = next((line for line in order["lines"] if line["product_id"] == change.product_id), None)
            product = ctx.data.product(change.product_id)
            if line is not None and change.quantity and change.quantity < line["qty"]:
                line["qty"] -= change.quantity
            elif line is not None:
                order["lines"].remove(line)
                said.append(ctx.say("removed", product=flow.product_name(ctx, product) if product else "-"))
            continue
        in_cart = any(line["product_id"] == change.product_id for line in order["lines"])
        if change.op == "set" or (in_cart and not change.again):
            # Named again without "tambah"/"lagi": "croissantnya 2" is the line's new quantity,
            # "americano aja" (no number) changes nothing but its note.
            problem = _set(ctx, order, change.product_id, _for_each(ctx, r, change.quantity), change.note,
                           change.options, at)
        else:
            problem = _add(ctx, order, change.product_id, _for_each(ctx, r, change.quantity) or 1, change.note,
                           change.options, at)
        if problem:
            said.append(problem)
    if r.only:  # "kopinya aja": the cart keeps just what was named
        named = {change.product_id for change in r.items if change.op != "remove"}
        for line in [line for line in order["lines"] if line["product_id"] not in named]:
            order["lines"].remove(line)
            product = ctx.data.product(line["product_id"])
            said.append(ctx.say("removed", product=flow.product_name(ctx, product) if product else "-"))
    if r.unknown:
        closest = _closest(ctx, " ".join(r.unknown))
        words = ", ".join(f"\"{u}\"" for u in r.unknown)
        said.append(ctx.say("not_on_menu", items=words)
                    + (" " + ctx.say("maybe", names=", ".join(closest)) if closest else ""))
    return said, ambiguous


def _change_details(ctx: Context, order: dict, r: OrderText) -> list[str]:
    """Apply fulfilment, store, address, phone, payment, time and note; returns what to tell the customer."""
    said = []
    if r.fulfilment:
        order["fulfilment"] = r.fulfilment
    if r.store_id:
        store = ctx.data.store(r.store_id)
        if store is not None and not store.pickup and (order.get("fulfilment") or "pickup") == "pickup":
            said.append(flow.pickup_refused(ctx, store))  # "ambil di kemang" where Kemang hands out nothing
        else:
            order["store_id"] = r.store_id
        order.setdefault("fulfilment", "pickup")
    if r.address:
        order["address"], order["address_usable"] = r.address[:500], r.address_usable
        order.pop("lat", None), order.pop("lon", None)
        if not order.get("fulfilment"):
            order["fulfilment"] = "delivery"
    if r.phone:
        order["phone"] = r.phone
    if r.payment:
        allowed = {p.code for p in flow.payment_methods(ctx, order)}
        if r.payment in allowed:
            order["payment"] = r.payment
        else:
            method = next((p for p in ctx.data.settings().payment_methods if p.code == r.payment), None)
            label = flow.payment_label(method, ctx.language) if method else r.payment
            said.append(ctx.say("payment_not_here", method=label))
    when = r.when
    if when and order.get("day") and when.date().isoformat() != order["day"] and not r.day:
        # "besok" then "jam 8": the time on the day said before
        when = datetime.combine(date.fromisoformat(order["day"]), when.timetz())
    if when and when < ctx.now:
        said.append(ctx.say("time_passed"))  # "hari ini jam 8" at ten: asked again, not guessed
        order["day"] = when.date().isoformat()
        order.pop("when", None)
    elif when:
        order["when"] = when.isoformat()
        order.pop("day", None)
    elif r.day:
        order["day"] = r.day.isoformat()  # "besok": the time is asked next
        order.pop("when", None)
    elif r.asap:
        order.pop("when", None), order.pop("day", None)
    if r.note:  # the order's own note ("catatan: ..."); notes on an item travel with the item
        order["note"] = r.note[:500]
    return said


def _unavailable(ctx: Context, order: dict) -> list[str]:
    """Lines crm.orders.place_order would refuse now (sold out or gone since added) or that are not sold at the
    order's time, removed; what to say."""
    said = []
    at = flow.ready_time(ctx, order)[0] or ctx.now
    for line in list(order["lines"]):
        product = ctx.data.product(line["product_id"])
        if product is not None and product.active and (problem := _not_now(ctx, product, at)):
            order["lines"].remove(line)
            said.append(problem)
            continue
        if product is not None and product.active and (product.stock is None or product.stock >= line["qty"]):
            continue
        if product is not None and product.active and product.stock:
            line["qty"] = product.stock  # what is left, said plainly before confirming again
            said.append(ctx.say("only_left", product=flow.product_name(ctx, product), available=str(product.stock)))
        else:
            order["lines"].remove(line)
            said.append(ctx.say("out_of_stock", product=flow.product_name(ctx, product) if product else "-"))
    return said


def _place(ctx: Context, order: dict) -> Answer:
    """The order as an effect (placed under the write lock); the reply names its number."""
    said = _unavailable(ctx, order) + check_voucher(ctx, order)
    if said:
        question = flow.next_question(ctx, order)
        return Answer([m.Reply(text="\n".join(said) + "\n\n" + question.text, choices=question.choices)])
    lines = tuple(CartLine(product_id=line["product_id"], quantity=line["qty"], note=line.get("note"),
                           variant=line.get("variant"), addons=tuple(line.get("addons") or ()))
                  for line in order["lines"])
    when, _pre_order = flow.ready_time(ctx, order)
    delivery = order["fulfilment"] == "delivery"
    made_at, _km = flow.origin(ctx, order)  # for a delivery: the nearest store, when the address tells
    effect = PlaceOrder(lines=lines, fulfilment=order["fulfilment"],
                        address=(order.get("address") or ctx.say("shared_location")) if delivery else None,
                        store_id=made_at.id if made_at is not None else None,
                        phone=order.get("phone"), payment_method=flow.chosen_payment(ctx, order),
                        scheduled_for=when, note=order.get("note"), delivery_fee=flow.delivery_fee(ctx, order),
                        lat=order.get("lat") if delivery else None, lon=order.get("lon") if delivery else None,
                        voucher_code=order.get("voucher"), language=ctx.language,
                        cross_sell_product_id=(order.get(flow.OFFER) or {}).get("product_id"))
    flow.drop(ctx)
    ctx.state.pop(PARTY, None)  # the next order is for whoever it says
    return Answer([], (effect,))


def placed_reply(order: Order, language: str, how_to_pay: str | None = None) -> m.Reply:
    """The confirmation of a placed order, with its number, how to pay, and a status button."""
    words = text("placed", language, number=order.number, total=rupiah(order.total, language))
    return m.Reply(text=f"{words}\n\n💳 {how_to_pay}" if how_to_pay else words,
                   choices=(m.Choice(button("check_status", language), data=f"status:{order.id}"),))


class OrderHandler:
    """Conversational ordering against the product catalog, in words or buttons."""

    name = "order"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Order buttons; anything about the order being built; a new order asked for or named."""
        if ctx.data is None:
            return False
        if _postback(inbound) is not None:
            return True
        if ctx.requested_intent is not None:
            return ctx.requested_intent == "order"
        if inbound.kind == m.MESSAGE and inbound.message_type == "location" and flow.pending_slot(ctx) == "address":
            return True
        r = reading(inbound, ctx)
        if r is None:
            return False
        if flow.has_draft(ctx) and voucher_said(ctx, inbound.text):
            return True  # "pakai kode HEMAT10" during an order goes on the order
        intent = ctx.analysis.intent if ctx.analysis is not None and ctx.confident else None
        if flow.has_draft(ctx):
            pending = flow.pending_slot(ctx)
            if (intent in DIGRESSIONS or intent is None) and looks_like_question(inbound.text or "") and not (
                    r.items or r.cancel_all or _answers_pending(r, pending) or _gives_details(r)):
                return False  # a question beside the order (the FAQ or staff answer it); the order resumes
            return _about_order(r, pending) or intent not in DIGRESSIONS
        if intent in ("complaint", "order_status", "cancel_order", "human_handoff"):
            return False
        top = ctx.analysis.intent if ctx.analysis is not None else None
        no_quantity = all(c.quantity is None for c in r.items)
        if (top in ("complaint", "order_status", "cancel_order") or ctx.complains) and no_quantity:
            return False  # "td aku pesen kopsus, statusnya?" names a product of a past order
        if priced_products(inbound.text or "", r):
            return True  # "harga croissant brp?": the menu's prices answer it
        if asks_what_is_sold(inbound.text or "", r) and (
                r.items or names_a_kind_of_product(ctx, r.unknown) or asks_for_the_menu(ctx, inbound.text)):
            return True  # "ada makanan apa aja?", "ada croissant vegan?": the menu answers it
        if looks_like_question(inbound.text or "") and no_quantity and not ctx.wants("order"):
            return False  # "how many calories in a matcha latte?" asks, it does not order
        # A product named only vaguely ("kopi", "coffee beans") in a message that is not an order starts none.
        return ctx.wants("order") or any(c.product_id is not None for c in r.items)

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Apply what the customer said or tapped, then ask the next thing (or place the order)."""
        args = _postback(inbound)
        if args is not None:
            return self._button(args, ctx)
        order = flow.draft(ctx)
        if inbound.message_type == "location":
            order["lat"], order["lon"] = inbound.data.get("lat"), inbound.data.get("lon")
            order.pop("address", None)
            return Answer([flow.next_question(ctx, order)])
        r = reading(inbound, ctx)
        pending = flow.pending_slot(ctx)
        intent = ctx.analysis.intent if ctx.analysis is not None and ctx.confident else None
        if r is None:
            return Answer([flow.next_question(ctx, order)])
        if not any(p.in_stock for p in ctx.data.products()):
            flow.drop(ctx)
            return Answer([catalog_reply(ctx)])  # nothing on sale: say so, ask nothing
        priced = priced_products(inbound.text or "", r)
        if priced:  # a price asked is answered with the products' cards; an order under way goes on
            if not order["lines"]:
                flow.drop(ctx)
                return Answer([catalog_reply(ctx, intro=ctx.say("prices"), only=priced)])
            return Answer([catalog_reply(ctx, intro=ctx.say("prices"), only=priced), flow.resume_reply(ctx)])
        if not order["lines"] and not pending and asks_what_is_sold(inbound.text or "", r):
            flow.drop(ctx)  # "ada makanan apa aja?" asks about the menu, it orders nothing
            lead = ctx.say("not_on_menu", items=", ".join(f"\"{u}\"" for u in r.unknown)) if r.unknown else None
            return Answer([catalog_reply(ctx, lead=lead)])
        # "gk jadi dianter, ambil sendiri aja" sounds like a cancel to the NLU, and changes a detail instead
        gives_detail = r.fulfilment or r.store_id or r.address or r.phone or r.payment or r.when or r.day or r.note
        # ("ga usah" to the product offered declines the offer, not the order)
        if r.cancel_all or (intent == "cancel_order" and not r.items and not gives_detail and not r.yes
                            and order["lines"] and pending != flow.OFFER):
            flow.drop(ctx)
            return Answer([m.Reply(text=ctx.say("cart_cleared"))])
        before = {key: copy.deepcopy(value) for key, value in order.items() if key != "last_product"}
        voucher = apply_voucher(ctx, order, inbound.text)
        offer = _answer_offer(ctx, order, r, inbound.text)
        _recount(ctx, order, r)
        said, ambiguous = _change_items(ctx, order, r)
        said = voucher + offer + said
        said += _change_details(ctx, order, r)
        if pending and looks_like_question(inbound.text or "") and _answers_pending(r, pending) and not said:
            said.append(ctx.say("yes_we_can"))  # "bisa qris gk?" at "how will you pay?": yes, and it is chosen
        changed = {key: value for key, value in order.items() if key != "last_product"} != before
        # ("iya, americano aja" restates the cart: still a yes)
        if ambiguous is not None:
            ctx.state["pending"] = ambiguous
            return Answer([self._which(ctx, ambiguous, said)])
        agreed = r.yes or r.done_adding  # "that's it, thanks" to the summary agrees to it
        if pending == "confirm" and agreed and not changed and not said and flow.missing(ctx, order) is None:
            return _place(ctx, order)
        if pending == "confirm" and r.no and not changed:
            return Answer([m.Reply(text=ctx.say("what_to_change"),
                                   choices=(m.Choice(button("drop", ctx.language), data="order:drop"),))])
        if not order["lines"] and not changed and not said:
            if ctx.wants("order") or not pending:
                return Answer([catalog_reply(ctx)])
        if pending == flow.OFFER and not changed and not said and not r.items:
            question = flow.next_question(ctx, order)  # the offer declined (or passed over): the order goes on
            return Answer([m.Reply(text=ctx.say("offer_declined") + "\n" + question.text, choices=question.choices,
                                   cards=question.cards)])
        if not changed and not said and not r.done_adding and not r.items:
            if gives_detail or r.asap:  # "sekarang" to a summary that says "now": understood, asked on
                question = flow.next_question(ctx, order)
                return Answer([m.Reply(text=ctx.say("noted") + "\n" + question.text, choices=question.choices,
                                       cards=question.cards)])
            return Answer([self._reask(ctx, order)])  # a restated cart ("kopsusnya aja") is understood, asked on
        question = flow.next_question(ctx, order)
        if order["lines"] != before.get("lines") and flow.pending_slot(ctx) not in ("fulfilment", "confirm"):
            # the items changed and the next question does not show them: say what was understood first
            said.append(ctx.say("got_items", cart=flow.cart_text(ctx, order)))
        store = ctx.data.store(order["store_id"]) if order.get("store_id") else None
        if store is not None and order.get("fulfilment") == "pickup" and order.get("store_id") != before.get(
                "store_id") and flow.pending_slot(ctx) != "confirm":  # the summary shows it; otherwise say it
            said.append(ctx.say("store_chosen", store=store.name))
        if order.get("when") and order.get("when") != before.get("when") and flow.pending_slot(ctx) != "confirm":
            # "jam 2 siang" answered with the next question alone left the customer unsure it was understood
            said.append(ctx.say("time_chosen", when=flow.when_text(ctx, datetime.fromisoformat(order["when"]))))
        if said:
            question = m.Reply(text="\n".join(said) + "\n\n" + question.text, choices=question.choices,
                               cards=question.cards)
        if not order["lines"]:
            return Answer([question, catalog_reply(ctx)]) if not r.items else Answer([question])
        return Answer([question])

    @staticmethod
    def _which(ctx: Context, ambiguous: dict, said: list[str]) -> m.Reply:
        """Ask which product the customer meant, with the real candidates as buttons."""
        names = []
        for product_id in ambiguous["candidates"]:
            product = ctx.data.product(product_id)
            if product is not None:
                names.append((product_id, flow.product_name(ctx, product)))
        words = ctx.say("which_product", words=ambiguous.get("words") or "")
        return m.Reply(text="\n".join([*said, words]).strip(),
                       choices=tuple(m.Choice(name, data=f"order:pick:{pid}") for pid, name in names[:13]))

    @staticmethod
    def _reask(ctx: Context, order: dict) -> m.Reply:
        """Nothing in the message answered the question: say so and ask again."""
        question = flow.next_question(ctx, order)
        return m.Reply(text=ctx.say("didnt_catch") + "\n" + question.text, choices=question.choices,
                       cards=question.cards)

    def _button(self, args: list[str], ctx: Context) -> Answer:
        order = flow.draft(ctx)
        action, arg = args[0], (args[1] if len(args) > 1 else "")
        if action == "add" and arg.isdigit():
            product, picked = ctx.data.product(int(arg)), args[2] if len(args) > 2 else ""
            variants = (product.variants or []) if product is not None else []
            chosen = (variants[int(picked)],) if picked.isdigit() and int(picked) < len(variants) else ()
            problem = _add(ctx, order, int(arg), 1, None, chosen)
            question = flow.next_question(ctx, order)
            return Answer(([m.Reply(text=problem)] if problem else []) + [question])
        if action == "more":
            return Answer([catalog_reply(ctx)])
        if action == "offer":
            offered = flow.offered_product(ctx, order)
            problem = _add(ctx, order, offered, 1, None) if offered is not None and arg == "yes" else None
            question = flow.next_question(ctx, order)  # a stale offer button: the order goes on where it is
            return Answer(([m.Reply(text=problem)] if problem else []) + [question])
        if action == "drop":
            flow.drop(ctx)
            return Answer([m.Reply(text=ctx.say("cart_cleared"))])
        if action == "pick" and arg.isdigit():
            pending = ctx.state.get("pending") or {}
            problem = _add(ctx, order, int(arg), pending.get("qty") or 1, pending.get("note"))
            question = flow.next_question(ctx, order)
            return Answer(([m.Reply(text=problem)] if problem else []) + [question])
        if not order["lines"]:  # a button from an old, finished conversation
            flow.drop(ctx)
            return Answer([m.Reply(text=ctx.say("stale_button"))])
        if action == "fulfil" and arg in ("delivery", "pickup"):
            order["fulfilment"] = arg
        elif action == "store" and arg.isdigit() and ctx.data.store(int(arg)) is not None:
            store = ctx.data.store(int(arg))
            if not store.pickup:  # a button from before the store stopped pickups
                question = flow.next_question(ctx, order)
                return Answer([m.Reply(text=flow.pickup_refused(ctx, store) + "\n\n" + question.text,
                                       choices=question.choices)])
            order["store_id"] = store.id
        elif action == "pay" and arg in {p.code for p in flow.payment_methods(ctx, order)}:
            order["payment"] = arg
        elif action == "confirm":
            if flow.pending_slot(ctx) == "confirm" and flow.missing(ctx, order) is None:
                return _place(ctx, order)
        else:
            return Answer([m.Reply(text=ctx.say("stale_button"))])
        return Answer([flow.next_question(ctx, order)])
