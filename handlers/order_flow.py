"""The order task as data: what an order needs, in which order it is asked, and what it costs.

The draft order lives in the conversation state (`state["order"]`); the question the bot
asked last is `state["pending"]`. `ORDER_SLOTS` is the whole state machine: the first slot
that is needed and not filled is asked next; when all are filled the bot asks to confirm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import messages as m
from core.money import rupiah
from core.texts import button
from crm import delivery, orders, promotions, shop_settings, stores
from handlers.base import Context
from handlers.location import MAX_KM
from handlers.vouchers import reward_reminder, voucher_line

STATE_VERSION = 2  # the shape of state["order"]; an older draft is dropped, not misread
ASAP_MINUTES = 30  # how soon "now" is, for a pickup time said plainly
OFFER = "offer"  # the slot of the product offered with the cart (frequently bought together), asked once per order


def draft(ctx: Context) -> dict[str, Any]:
    """The order being built (created empty when there is none)."""
    if ctx.state.get("v") != STATE_VERSION:
        ctx.state.pop("order", None)
        ctx.state.pop("pending", None)
        ctx.state["v"] = STATE_VERSION
    return ctx.state.setdefault("order", {"lines": []})


def has_draft(ctx: Context) -> bool:
    """True while an order is being built (items in it, or a question about it pending)."""
    order = ctx.state.get("order") if ctx.state.get("v") == STATE_VERSION else None
    return bool(order and (order.get("lines") or ctx.state.get("pending")))


def drop(ctx: Context) -> None:
    """Forget the order being built and its pending question."""
    ctx.state.pop("order", None)
    ctx.state.pop("pending", None)


def pending_slot(ctx: Context) -> str | None:
    """The slot the bot asked for last, if the order is waiting for an answer."""
    pending = ctx.state.get("pending") if ctx.state.get("v") == STATE_VERSION else None
    return pending.get("slot") if pending else None


# --- what the order costs and when it is ready --------------------------------------------


def line_price(product, line: dict) -> int:
    """One unit of a cart line: the product's price with its variant's and add-ons' prices."""
    return orders.unit_price(product, line.get("variant"), line.get("addons") or ())


def subtotal(ctx: Context, order: dict) -> int:
    """The price of the lines (products that vanished from the catalog count as nothing)."""
    total = 0
    for line in order["lines"]:
        product = ctx.data.product(line["product_id"])
        total += line_price(product, line) * line["qty"] if product else 0
    return total


def discount(ctx: Context, order: dict) -> int:
    """What the order's voucher takes off the goods (a loyalty reward's value; 0 without one), as placing will."""
    promotion, reason = ctx.data.voucher(order["voucher"], ctx.now) if order.get("voucher") else (None, None)
    if promotion is None or reason is not None:  # no longer usable: placing takes it off (check_voucher)
        return 0
    priced = [(product.sku, line_price(product, line)) for line in order["lines"]
              if (product := ctx.data.product(line["product_id"])) is not None]
    return promotions.discount_for(promotion, priced, subtotal(ctx, order))


def settings(ctx: Context) -> shop_settings.ShopSettings:
    """The shop's order settings (payment methods, delivery fees, staff hours)."""
    return ctx.data.settings()


def serving(ctx: Context, fulfilment: str | None) -> list:
    """The active stores that offer `fulfilment` ("delivery" or "pickup"; None: every active store)."""
    every = ctx.data.stores()
    if fulfilment == "delivery":
        return [store for store in every if store.delivers]
    return [store for store in every if store.pickup] if fulfilment == "pickup" else every


def _point(ctx: Context, order: dict) -> tuple[float, float] | None:
    """Where a delivery goes: the shared location, else the area the address names (None when unknown)."""
    if order.get("lat") is not None:
        return order["lat"], order["lon"]
    area = ctx.data.area(order["address"]) if order.get("address") else None
    return (area[1], area[2]) if area else None


def origin(ctx: Context, order: dict) -> tuple[Any, float | None]:
    """The store the order is made at, and the delivery distance in km (None when unknown).

    A delivery comes from the nearest store that delivers and whose radius covers the place
    (None when none does); an address the bot cannot place, from the store the customer chose.
    """
    if order.get("fulfilment") == "pickup":
        return (ctx.data.store(order["store_id"]) if order.get("store_id") else None), None
    point = _point(ctx, order)
    if point is None:
        chosen = ctx.data.store(order["store_id"]) if order.get("store_id") else None
        return (chosen if chosen is not None and chosen.delivers else None), None
    found = delivery.delivering_store(ctx.data.stores_by_distance(*point), settings(ctx).delivery)
    return found if found else (None, None)


def delivery_fee(ctx: Context, order: dict) -> int:
    """The delivery fee by the delivering store's rules (0 for pickup)."""
    if order.get("fulfilment") != "delivery":
        return 0
    store, km = origin(ctx, order)
    return delivery.delivery_fee(delivery.rules_of(store, settings(ctx).delivery), subtotal(ctx, order), km)


def minimum_order(ctx: Context, order: dict) -> int:
    """The smallest subtotal delivered: the delivering store's, or while none is known the lowest any store asks."""
    store, _km = origin(ctx, order)
    shop = settings(ctx).delivery
    if store is not None:
        return delivery.rules_of(store, shop).min_order
    return min((delivery.rules_of(s, shop).min_order for s in serving(ctx, "delivery")), default=shop.min_order)


def store_names(stores_: list, limit: int = 5) -> str:
    """Store names to read in a sentence ("Sapa Coffee Blok M, Sapa Coffee SCBD")."""
    return ", ".join(store.name for store in stores_[:limit])


def ready_time(ctx: Context, order: dict) -> tuple[datetime | None, bool]:
    """When the order is made (None: now) and whether that is a pre-order because the store is closed."""
    tz = ctx.data.tz
    wanted = datetime.fromisoformat(order["when"]) if order.get("when") else None
    at = wanted or ctx.now.astimezone(tz)
    store, _km = origin(ctx, order)
    candidates = [store] if store is not None else serving(ctx, order.get("fulfilment"))
    if not candidates or any(stores.store_open_at(s, at, tz) for s in candidates):
        return wanted, False
    openings = [t for t in (stores.next_store_opening(s, at, tz) for s in candidates) if t is not None]
    return (min(openings) if openings else wanted), True


def payment_methods(ctx: Context, order: dict) -> list:
    """The payment methods allowed for the order's fulfilment."""
    fulfilment = order.get("fulfilment")
    return [method for method in settings(ctx).payment_methods
            if fulfilment is None or fulfilment in method.fulfilment]


def payment_label(method, language: str) -> str:
    """A payment method as the customer reads it."""
    return method.label_en if language == "en" and method.label_en else method.label


# --- the slots, in the order they are asked ------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One thing an order needs: when it is needed, whether it is filled, how it is asked."""

    name: str
    needed: Callable[[Context, dict], bool]
    filled: Callable[[Context, dict], bool]
    ask: Callable[[Context, dict], m.Reply]


def _always(ctx: Context, order: dict) -> bool:
    return True


def _delivery(ctx: Context, order: dict) -> bool:
    return order.get("fulfilment") == "delivery"


def _pickup(ctx: Context, order: dict) -> bool:
    return order.get("fulfilment") == "pickup"


def _address_filled(ctx: Context, order: dict) -> bool:
    return order.get("lat") is not None or bool(order.get("address") and order.get("address_usable"))


def chosen_payment(ctx: Context, order: dict) -> str | None:
    """The payment method's code: the customer's choice, or the only one allowed."""
    methods = payment_methods(ctx, order)
    if order.get("payment") in {method.code for method in methods}:
        return order["payment"]
    return methods[0].code if len(methods) == 1 else None


def product_name(ctx: Context, product) -> str:
    """The product's name in the reply's language (its English name when it has one)."""
    return product.name_en if ctx.language == "en" and product.name_en else product.name


def line_name(ctx: Context, product, line: dict) -> str:
    """A cart line's product with its variant and add-ons: "Caffe Latte · Large · Extra shot"."""
    addons = [orders.addon_named(product, name) for name in line.get("addons") or ()]
    options = [line["variant"]] if line.get("variant") else []
    options += [orders.addon_label(addon, ctx.language) for addon in addons if addon]
    return " · ".join([product_name(ctx, product), *options])


def cart_text(ctx: Context, order: dict) -> str:
    """The lines as the customer reads them."""
    lines = []
    for line in order["lines"]:
        product = ctx.data.product(line["product_id"])
        if product is None:
            continue
        name = line_name(ctx, product, line)
        note = f" ({line['note']})" if line.get("note") else ""
        lines.append(f"• {line['qty']}× {name}{note} — {rupiah(line_price(product, line) * line['qty'], ctx.language)}")
    return "\n".join(lines)


def _ask_items(ctx: Context, order: dict) -> m.Reply:
    products = [p for p in ctx.data.products() if p.in_stock]
    example = products[0].name.lower() if products else "…"
    return m.Reply(text=ctx.say("ask_items", example=example))


def order_time(ctx: Context, order: dict) -> datetime:
    """When the order is for: the time the customer said, else now."""
    return datetime.fromisoformat(order["when"]) if order.get("when") else ctx.now


def offer(ctx: Context, order: dict):
    """The product to offer with the cart, if any: often bought with what is in it (crm.cross_sell), on sale, in
    stock and sold at the order's time, not in the cart already."""
    cart = tuple(sorted({line["product_id"] for line in order["lines"]}))
    at = order_time(ctx, order)
    for product_id in ctx.data.bought_together(cart) if cart else ():
        product = ctx.data.product(product_id)
        if product_id not in cart and product is not None and product.in_stock \
                and orders.available_at(product, at, ctx.data.tz):
            return product
    return None


def _offer_made(ctx: Context, order: dict) -> bool:
    # Made once: after it the order goes on whatever the answer (and a resumed order does not ask it again).
    return OFFER in order or offer(ctx, order) is None


def _ask_offer(ctx: Context, order: dict) -> m.Reply:
    product = offer(ctx, order)
    order[OFFER] = {"product_id": product.id}
    lang = ctx.language
    price = orders.unit_price(product, orders.default_variant(product))
    return m.Reply(text=ctx.say("cross_sell_offer", product=product_name(ctx, product), price=rupiah(price, lang)),
                   choices=(m.Choice(button("offer_yes", lang), data="order:offer:yes"),
                            m.Choice(button("offer_no", lang), data="order:offer:no")))


def offered_product(ctx: Context, order: dict) -> int | None:
    """The product offered with the cart and waiting for the customer's answer (None when none is)."""
    return order[OFFER]["product_id"] if OFFER in order and pending_slot(ctx) == OFFER else None


def _ask_fulfilment(ctx: Context, order: dict) -> m.Reply:
    lang = ctx.language
    return m.Reply(text=ctx.say("added", cart=cart_text(ctx, order), total=rupiah(subtotal(ctx, order), ctx.language)),
                   choices=(m.Choice(button("delivery", lang), data="order:fulfil:delivery"),
                            m.Choice(button("pickup", lang), data="order:fulfil:pickup"),
                            m.Choice(button("drop", lang), data="order:drop")))


def store_label(store, all_stores: list) -> str:
    """A store's button label: its name without the words every store name shares ("Sapa Coffee")."""
    names = [s.name.split() for s in all_stores]
    shared = 0
    while names and all(len(n) > shared + 1 and n[shared] == names[0][shared] for n in names):
        shared += 1
    return " ".join(store.name.split()[shared:]) or store.name


def _ask_store(ctx: Context, order: dict) -> m.Reply:
    choices = serving(ctx, "pickup")
    if not choices:
        return _no_pickup(ctx)
    every = ctx.data.stores()
    return m.Reply(text=ctx.say("choose_store"),
                   choices=tuple(m.Choice(store_label(s, every), data=f"order:store:{s.id}") for s in choices[:13]))


def _no_pickup(ctx: Context) -> m.Reply:
    lang = ctx.language
    return m.Reply(text=ctx.say("no_pickup"), choices=(m.Choice(button("delivery", lang), data="order:fulfil:delivery"),
                                                       m.Choice(button("drop", lang), data="order:drop")))


def pickup_refused(ctx: Context, store) -> str:
    """Why the customer cannot pick up at `store`, naming the stores nearest to it where they can."""
    others = [other for other, _km in ctx.data.stores_by_distance(store.lat, store.lon) if other.pickup]
    return ctx.say("pickup_off", store=store.name, stores=store_names(others, 3)) if others else ctx.say("no_pickup")


def _pickup_chosen(ctx: Context, order: dict) -> bool:
    store = ctx.data.store(order["store_id"]) if order.get("store_id") else None
    return store is not None and store.pickup


def _ask_address(ctx: Context, order: dict) -> m.Reply:
    key = "address_unclear" if order.get("address") and not order.get("address_usable") else "ask_address"
    return m.Reply(text=ctx.say(key, address=order.get("address") or ""),
                   choices=(m.Choice(button("share_location", ctx.language), location=True),))


def _ask_time(ctx: Context, order: dict) -> m.Reply:
    return m.Reply(text=ctx.say("ask_time"))


def _ask_phone(ctx: Context, order: dict) -> m.Reply:
    return m.Reply(text=ctx.say("ask_phone"))


def _ask_payment(ctx: Context, order: dict) -> m.Reply:
    methods = payment_methods(ctx, order)
    return m.Reply(text=ctx.say("ask_payment"),
                   choices=tuple(m.Choice(payment_label(p, ctx.language), data=f"order:pay:{p.code}")
                                 for p in methods))


def _above_minimum(ctx: Context, order: dict) -> bool:
    return subtotal(ctx, order) >= minimum_order(ctx, order)


def _pickup_offer(ctx: Context, near: tuple[float, float] | None = None) -> tuple[list, tuple[m.Choice, ...]]:
    """The stores to pick up at instead (those the store finder shows, nearest first, when the place is known)
    and the buttons to say so."""
    lang = ctx.language
    stores_ = [s for s, km in ctx.data.stores_by_distance(*near) if s.pickup and km <= MAX_KM] \
        if near else serving(ctx, "pickup")
    pickup = (m.Choice(button("pickup", lang), data="order:fulfil:pickup"),) if stores_ else ()
    return stores_, pickup + (m.Choice(button("drop", lang), data="order:drop"),)


def _ask_more_or_pickup(ctx: Context, order: dict) -> m.Reply:
    minimum, sub = minimum_order(ctx, order), subtotal(ctx, order)
    _stores, choices = _pickup_offer(ctx)
    return m.Reply(text=ctx.say("below_minimum", minimum=rupiah(minimum, ctx.language),
                                amount=rupiah(sub, ctx.language)), choices=choices)


def _someone_delivers(ctx: Context, order: dict) -> bool:
    # A shop with no store on record (an online shop) delivers itself, by the shop's rules.
    return bool(serving(ctx, "delivery")) or not ctx.data.stores()


def _ask_pickup_instead(ctx: Context, order: dict) -> m.Reply:
    stores_, choices = _pickup_offer(ctx)
    text = ctx.say("no_delivery", stores=store_names(stores_)) if stores_ else ctx.say("no_delivery_no_pickup")
    return m.Reply(text=text, choices=choices)


def _within_reach(ctx: Context, order: dict) -> bool:
    store, _km = origin(ctx, order)
    return store is not None or _point(ctx, order) is None or not ctx.data.stores()


def _ask_reachable_address(ctx: Context, order: dict) -> m.Reply:
    stores_, choices = _pickup_offer(ctx, _point(ctx, order))
    text = ctx.say("out_of_reach", stores=store_names(stores_, 3)) if stores_ else ctx.say("out_of_reach_no_pickup")
    return m.Reply(text=text, choices=choices)


ORDER_SLOTS: tuple[Slot, ...] = (
    Slot("item", _always, lambda ctx, o: bool(o["lines"]), _ask_items),
    Slot(OFFER, _always, _offer_made, _ask_offer),
    Slot("fulfilment", _always, lambda ctx, o: o.get("fulfilment") in ("delivery", "pickup"), _ask_fulfilment),
    Slot("delivers", _delivery, _someone_delivers, _ask_pickup_instead),
    Slot("minimum", _delivery, _above_minimum, _ask_more_or_pickup),
    Slot("store", _pickup, _pickup_chosen, _ask_store),
    Slot("address", _delivery, _address_filled, _ask_address),
    Slot("reach", _delivery, _within_reach, _ask_reachable_address),
    Slot("phone", _delivery, lambda ctx, o: bool(o.get("phone")), _ask_phone),
    Slot("time", lambda ctx, o: bool(o.get("day")), lambda ctx, o: bool(o.get("when")), _ask_time),
    Slot("payment", lambda ctx, o: bool(payment_methods(ctx, o)), lambda ctx, o: chosen_payment(ctx, o) is not None,
         _ask_payment),
)


def missing(ctx: Context, order: dict) -> Slot | None:
    """The first slot the order still needs, or None when it is ready to confirm."""
    return next((slot for slot in ORDER_SLOTS if slot.needed(ctx, order) and not slot.filled(ctx, order)), None)


def when_text(ctx: Context, when: datetime | None) -> str:
    """A time the way people say it: "hari ini 15:00", "besok 08:00", "Sen 08/12 07:00"."""
    if when is None:
        return ctx.say("when_now")
    local, today = when.astimezone(ctx.data.tz), ctx.now.astimezone(ctx.data.tz).date()
    days = (local.date() - today).days
    day = ctx.say("today") if days == 0 else ctx.say("tomorrow") if days == 1 else local.strftime("%d/%m")
    return f"{day} {local:%H:%M}"


def summary(ctx: Context, order: dict) -> m.Reply:
    """The whole order to confirm: lines, fee, total, where, when, how to pay."""
    lang, details = ctx.language, []
    fee, sub = delivery_fee(ctx, order), subtotal(ctx, order)
    if order["fulfilment"] == "delivery":
        where = order.get("address") or ctx.say("shared_location")
        details.append(ctx.say("deliver_to", address=where))
        if order.get("phone"):
            details.append(f"📞 {order['phone']}")
        store, _km = origin(ctx, order)
        if store is not None:
            details.append(ctx.say("deliver_from", store=store.name))
    else:
        store = ctx.data.store(order["store_id"])
        details.append(ctx.say("pickup_at", store=store.name if store else "-"))
    when, pre_order = ready_time(ctx, order)
    key = ("pre_order" if order.get("when") else "pre_order_closed_now") if pre_order else "when_line"
    details.append(ctx.say(key, when=when_text(ctx, when)))
    method = next((p for p in payment_methods(ctx, order) if p.code == chosen_payment(ctx, order)), None)
    if method is not None:
        details.append(f"💳 {payment_label(method, lang)}")
    if order.get("note"):
        details.append(f"📝 {order['note']}")
    if voucher_line(ctx, order):
        details.append(voucher_line(ctx, order))
    elif reward_reminder(ctx):  # a reward they hold and forgot: offered once they are about to order
        details.append(reward_reminder(ctx))
    off = discount(ctx, order)
    money = []  # pickup: the total alone, unless a voucher takes something off
    if order["fulfilment"] == "delivery" or off:
        money = [ctx.say("subtotal", amount=rupiah(sub, ctx.language))]
    if off:
        money.append(ctx.say("discount_line", amount=rupiah(off, ctx.language)))
    if order["fulfilment"] == "delivery":
        money.append(ctx.say("fee_line", amount=rupiah(fee, ctx.language)) if fee else ctx.say("fee_free"))
    return m.Reply(text=ctx.say("summary", cart=cart_text(ctx, order), money="".join(f"{line}\n" for line in money),
                                total=rupiah(sub - off + fee, ctx.language), details="\n".join(details)),
                   choices=(m.Choice(button("confirm", lang), data="order:confirm"),
                            m.Choice(button("drop", lang), data="order:drop")))


def next_question(ctx: Context, order: dict) -> m.Reply:
    """Ask for what the order still needs, or for confirmation; remembers what was asked."""
    slot = missing(ctx, order)
    if slot is None:
        ctx.state["pending"] = {"slot": "confirm"}
        return summary(ctx, order)
    ctx.state["pending"] = {"slot": slot.name}
    return slot.ask(ctx, order)


def resume_reply(ctx: Context) -> m.Reply | None:
    """After an answer to something else, the order being built and its pending question again."""
    if not has_draft(ctx) or not draft(ctx)["lines"]:
        return None
    question = next_question(ctx, draft(ctx))
    return m.Reply(text=ctx.say("resume") + "\n" + question.text, choices=question.choices)
