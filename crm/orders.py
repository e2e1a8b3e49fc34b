"""Product catalog and orders: records with a status, a history and stock kept consistent."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, Index, func, update
from sqlmodel import Field, Session, SQLModel, select

from core.after_commit import notify_after_commit
from core.db import utcnow
from core.geo import valid_coordinates
from core.money import rupiah
from core.settings import LoyaltySettings, LoyaltyStamps
from crm import alerts, loyalty, promotions, search_index, webhooks
from crm.delivery import rules_of
from crm.models import FollowUpTask
from crm.schemas import OrderEventPublic, OrderLinePublic, OrderPublic
from crm.shop_settings import load_settings
from crm.stores import JAKARTA, WEEKDAYS, Store, hours_open_at, next_hours_opening

STATUSES = ("new", "confirmed", "preparing", "shipped", "delivered", "cancelled")
# Which status may follow which (staff); customers may cancel only while CUSTOMER_CANCELLABLE.
TRANSITIONS = {
    "new": {"confirmed", "cancelled"},
    "confirmed": {"preparing", "cancelled"},
    "preparing": {"shipped", "cancelled"},
    "shipped": {"delivered"},
    "delivered": {"cancelled"},  # a refund after delivery: its points are taken back
    "cancelled": set(),
}
CUSTOMER_CANCELLABLE = {"new", "confirmed"}
FORWARD = ("new", "confirmed", "preparing", "shipped", "delivered")  # the way an order goes when all goes well
ORDER_NUMBER_BASE = 10_000  # order numbers are customer-friendly: #10001, #10002, …
ORDER_NOTE_MAX, ITEM_NOTE_MAX = 500, 200
ORDER_CHANGED = "order_changed"  # the after-commit notice (value: the contact id) of an order placed or moved


class Product(SQLModel, table=True):
    """Something the shop sells; stock None means unlimited."""

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    category: str = Field(default="", max_length=100, index=True)
    description: str = Field(default="", max_length=1000)
    price: int = Field(ge=0)  # in rupiah
    stock: int | None = Field(default=None, ge=0)
    variants: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # what a variant adds to the price ({"Large": 5000}); a variant not named adds nothing
    variant_prices: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # extras a customer may add, each with its price: [{"name", "name_en", "price"}]
    addons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [start, end] local-time windows it is sold in every day (breakfast 07:00–11:00); None: all day
    available_hours: list[list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    image_url: str | None = Field(default=None, max_length=500)
    active: bool = True
    sort_order: int = Field(default=0, ge=0)  # the place inside its category (then the name)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def in_stock(self) -> bool:
        return self.active and (self.stock is None or self.stock > 0)


class Order(SQLModel, table=True):
    """A customer's order with its current status."""

    __table_args__ = (Index("ix_order_contact_created", "contact_id", "created_at"),
                      Index("ix_order_created", "created_at"))  # the daily figures read one day of orders

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, sa_column_kwargs={"unique": True})
    contact_id: int = Field(foreign_key="contact.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    channel: str = Field(default="", max_length=16)
    status: str = Field(default="new", max_length=12, index=True)
    fulfilment: str = Field(default="delivery", max_length=10)  # delivery | pickup
    address: str | None = Field(default=None, max_length=500)
    store_id: int | None = Field(default=None, foreign_key="store.id")
    phone: str | None = Field(default=None, max_length=32)  # E.164, e.g. +6281234567890
    payment_method: str | None = Field(default=None, max_length=32)  # a code of the shop's settings
    scheduled_for: datetime | None = None  # a pre-order's time; None = as soon as possible
    lat: float | None = None  # a delivery location the customer shared
    lon: float | None = None
    note: str | None = Field(default=None, max_length=ORDER_NOTE_MAX)
    voucher_code: str | None = Field(default=None, max_length=32)  # the promotion's code the customer used
    promotion_id: int | None = Field(default=None, foreign_key="promotion.id")
    # The product the bot offered with the cart ("frequently bought together", crm.cross_sell) and whether the
    # order kept it; None: no offer was made.
    cross_sell_product_id: int | None = Field(default=None, foreign_key="product.id")
    cross_sell_taken: bool | None = None
    subtotal: int = 0
    discount: int = 0  # what the voucher took off the goods (a loyalty reward's value), never more than them
    delivery_fee: int = 0
    total: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class OrderItem(SQLModel, table=True):
    """One line of an order (name and price copied: the catalog may change later)."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    product_id: int | None = Field(default=None, foreign_key="product.id")
    product_name: str = Field(max_length=200)
    variant: str | None = Field(default=None, max_length=100)
    addons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # the extras chosen
    quantity: int = Field(ge=1)
    price: int = Field(ge=0)  # one unit: the product's price with the variant's and the add-ons' prices
    note: str | None = Field(default=None, max_length=ITEM_NOTE_MAX)  # "less sugar", "gak pake es"


search_index.keep_indexed(OrderItem.__table__)  # product names, searched in the inbox


class OrderEvent(SQLModel, table=True):
    """The status history of an order: who changed what, when."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    status: str = Field(max_length=12)
    by: str = Field(default="bot", max_length=40)  # customer | bot | staff:<id> | api:<token>
    note: str | None = Field(default=None, max_length=500)
    at: datetime = Field(default_factory=utcnow)


class OrderError(ValueError):
    """An order could not be placed or changed; `code` tells which rule said no."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.details = code, details


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int
    variant: str | None = None
    note: str | None = None
    addons: tuple[str, ...] = ()


def addon_named(product: Product, name: str) -> dict[str, Any] | None:
    """The product's add-on called `name` (its own or its English name, any case), if it has one."""
    wanted = name.strip().casefold()
    return next((a for a in product.addons or () if wanted in
                 {(a.get("name") or "").casefold(), (a.get("name_en") or "").casefold()}), None)


def unit_price(product: Product, variant: str | None = None, addons: Iterable[str] = ()) -> int:
    """One unit's price: the product's, plus its variant's and each add-on's (unknown ones add nothing)."""
    extras = sum(a["price"] for a in filter(None, (addon_named(product, name) for name in addons)))
    return product.price + (product.variant_prices or {}).get(variant or "", 0) + extras


def options_named(product: Product, names: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    """The variant (the first one named) and the add-ons (their own names) among option names a customer said."""
    variants = {v.casefold(): v for v in product.variants or ()}
    variant = next((variants[n.casefold()] for n in names if n.casefold() in variants), None)
    addons = tuple(dict.fromkeys(a["name"] for a in filter(None, (addon_named(product, n) for n in names))))
    return variant, addons


def addon_label(addon: dict[str, Any], language: str) -> str:
    """An add-on's name in `language` (its English name when it has one)."""
    return addon.get("name_en") or addon["name"] if language == "en" else addon["name"]


def options_text(product: Product, language: str) -> str:
    """The options with what they add, as a menu shows them: "Large +Rp5.000 · Extra shot +Rp4.000"."""
    prices = product.variant_prices or {}
    parts = [f"{v} +{rupiah(prices[v], language)}" if prices.get(v) else v
             for v in product.variants or () if prices.get(v) or len(product.variants) > 1]
    parts += [f"{addon_label(a, language)} +{rupiah(a['price'], language)}" for a in product.addons or ()]
    return " · ".join(parts)


def _every_day(windows: list[list[str]]) -> dict[str, list[list[str]]]:
    return {day: windows for day in WEEKDAYS}


def available_at(product: Product, when: datetime, tz: ZoneInfo) -> bool:
    """True when the product is sold at `when` (always, when it has no hours)."""
    return not product.available_hours or hours_open_at(_every_day(product.available_hours), when, tz)


def next_available(product: Product, after: datetime, tz: ZoneInfo) -> datetime | None:
    """When the product's next window opens after `after` (None when it has no hours)."""
    if not product.available_hours:
        return None
    return next_hours_opening(_every_day(product.available_hours), after, tz)


def hours_text(product: Product) -> str:
    """The product's hours as people write them ("07:00–11:00, 17:00–21:00"); empty when all day."""
    return ", ".join(f"{start}–{end}" for start, end in product.available_hours or ())


def default_variant(product: Product) -> str | None:
    """The variant a line gets when none is said: the first, when variants change the price (else none)."""
    return product.variants[0] if product.variants and any((product.variant_prices or {}).values()) else None


def active_products(*, session: Session) -> list[Product]:
    """The catalog as customers see it, by category, the shop's order, then name."""
    return list(session.exec(select(Product).where(Product.active == True)  # noqa: E712
                             .order_by(Product.category, Product.sort_order, Product.name)).all())


def catalog_version(*, session: Session) -> tuple:
    """A cheap fingerprint that changes whenever a product changes (for caches)."""
    return tuple(session.exec(select(func.count(Product.id), func.max(Product.updated_at))).one())


E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _clean_note(note: str | None, limit: int, what: str) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > limit:
        raise OrderError("note", f"{what} is longer than {limit} characters")
    return note


def _check_details(session: Session, *, fulfilment: str, subtotal: int, store_id: int | None, phone: str | None,
                   payment_method: str | None, scheduled_for: datetime | None, lat: float | None,
                   lon: float | None) -> None:
    """Refuse an order the shop's rules do not allow (before anything is written)."""
    settings = load_settings(session)
    store = session.get(Store, store_id) if store_id is not None else None
    minimum = rules_of(store, settings.delivery).min_order  # the store's own rules, else the shop's
    if fulfilment == "delivery" and subtotal < minimum:
        raise OrderError("minimum", f"the minimum order for delivery is {minimum}", minimum=minimum,
                         subtotal=subtotal)
    if payment_method is not None:
        method = settings.payment_method(payment_method)
        if method is None:
            raise OrderError("payment_method", f"unknown payment method {payment_method!r}",
                             known=[m.code for m in settings.payment_methods])
        if fulfilment not in method.fulfilment:
            raise OrderError("payment_method", f"{method.code} cannot be used for {fulfilment}",
                             allowed=list(method.fulfilment))
    if store_id is not None:
        if store is None or not store.active:
            raise OrderError("store", f"store {store_id} does not exist or is closed for good", store_id=store_id)
    if phone is not None and not E164.match(phone):
        raise OrderError("phone", "phone must be an E.164 number such as +6281234567890")
    if scheduled_for is not None and scheduled_for.utcoffset() is None:
        raise OrderError("scheduled_for", "scheduled_for must carry its timezone")
    if (lat is None) != (lon is None) or (lat is not None and not valid_coordinates(lat, lon)):
        raise OrderError("location", f"invalid delivery location lat={lat!r}, lon={lon!r}")


def place_order(*, session: Session, contact_id: int, lines: list[CartLine], fulfilment: str = "delivery",
                address: str | None = None, store_id: int | None = None, conversation_id: int | None = None,
                channel: str = "", delivery_fee: int = 0, note: str | None = None, by: str = "customer",
                phone: str | None = None, payment_method: str | None = None, scheduled_for: datetime | None = None,
                lat: float | None = None, lon: float | None = None, voucher_code: str | None = None,
                tz: ZoneInfo = JAKARTA, cross_sell_product_id: int | None = None) -> Order:
    """Create an order and take its items out of stock, atomically (all lines or none).

    With `voucher_code`, the promotion's redemption is recorded in the same transaction. `cross_sell_product_id`:
    the product the bot offered with the cart; the order records it and whether a line holds it.
    Refused with an OrderError whose code names the rule: empty, fulfilment, address, unknown_product,
    quantity, option, note, minimum, payment_method, store, phone, scheduled_for, location, out_of_stock, voucher
    (details["reason"]: unknown, not_now, spent, used).
    """
    if not lines:
        raise OrderError("empty", "the cart is empty")
    if fulfilment not in ("delivery", "pickup"):
        raise OrderError("fulfilment", "fulfilment must be delivery or pickup")
    if fulfilment == "delivery" and not (address or "").strip():
        raise OrderError("address", "a delivery needs an address")
    items, subtotal, counted = [], 0, set()  # counted: products whose stock is kept
    priced = []  # (SKU, unit price) of each line, for a voucher's free product
    for line in lines:
        product = session.get(Product, line.product_id)
        if product is None or not product.active:
            raise OrderError("unknown_product", "product not available", product_id=line.product_id)
        if line.quantity < 1 or line.quantity > 999:
            raise OrderError("quantity", "quantity must be between 1 and 999", product=product.name)
        if line.variant is not None and line.variant not in (product.variants or ()):
            raise OrderError("option", f"{product.name} has no variant {line.variant!r}", product=product.name)
        addons = [addon_named(product, name) for name in line.addons]
        if None in addons:
            raise OrderError("option", f"{product.name} has no such add-on", product=product.name)
        if product.stock is not None:
            counted.add(product.id)
        price = unit_price(product, line.variant, line.addons)
        priced.append((product.sku, price))
        items.append(OrderItem(order_id=0, product_id=product.id, product_name=product.name, variant=line.variant,
                               addons=[a["name"] for a in addons], quantity=line.quantity, price=price,
                               note=_clean_note(line.note, ITEM_NOTE_MAX, f"the note on {product.name}")))
        subtotal += price * line.quantity
    note = _clean_note(note, ORDER_NOTE_MAX, "the order's note")
    _check_details(session, fulfilment=fulfilment, subtotal=subtotal, store_id=store_id, phone=phone,
                   payment_method=payment_method, scheduled_for=scheduled_for, lat=lat, lon=lon)
    promotion = None
    if voucher_code is not None:
        promotion = promotions.find_voucher(session=session, code=voucher_code)
        if promotion is None:
            raise OrderError("voucher", f"no promotion has the voucher code {voucher_code!r}", reason="unknown")
    delivered = fulfilment == "delivery"
    # A savepoint: a line out of stock undoes the lines taken before it, whatever the caller does next.
    with session.begin_nested():
        for item in items:
            if item.product_id not in counted:
                continue
            # Conditional decrement: two customers racing for the last item cannot both win.
            taken = session.execute(update(Product).where(Product.id == item.product_id,
                                                          Product.stock >= item.quantity)
                                    .values(stock=Product.stock - item.quantity, updated_at=utcnow()))
            if taken.rowcount != 1:
                product = session.get(Product, item.product_id)
                session.refresh(product)
                raise OrderError("out_of_stock", f"{product.name} has only {product.stock} left",
                                 product=product.name, available=product.stock)
        order = Order(contact_id=contact_id, conversation_id=conversation_id, channel=channel, fulfilment=fulfilment,
                      address=address if delivered else None, store_id=store_id, note=note, phone=phone,
                      payment_method=payment_method, scheduled_for=scheduled_for,
                      lat=lat if delivered else None, lon=lon if delivered else None,
                      subtotal=subtotal, delivery_fee=delivery_fee if delivered else 0,
                      voucher_code=promotion.voucher_code if promotion else None,
                      promotion_id=promotion.id if promotion else None,
                      cross_sell_product_id=cross_sell_product_id,
                      cross_sell_taken=None if cross_sell_product_id is None
                      else any(item.product_id == cross_sell_product_id for item in items),
                      discount=promotions.discount_for(promotion, priced, subtotal) if promotion else 0)
        order.total = order.subtotal - order.discount + order.delivery_fee
        session.add(order)
        session.flush()
        order.number = str(ORDER_NUMBER_BASE + order.id)
        for item in items:
            item.order_id = order.id
            session.add(item)
        session.add(OrderEvent(order_id=order.id, status="new", by=by))
        session.flush()
        if promotion is not None:
            try:
                promotions.redeem(session=session, promotion=promotion, contact_id=contact_id, order_id=order.id,
                                  now=utcnow(), tz=tz)
            except promotions.VoucherError as exc:
                raise OrderError("voucher", str(exc), reason=exc.code, voucher=voucher_code.upper()) from None
        webhooks.emit(session, "order.created", lambda: order_public(session, order, with_history=True)
                      .model_dump(mode="json"))
    notify_after_commit(session, ORDER_CHANGED, contact_id)  # the customer's value figures follow (crm.customer_value)
    return order


def change_status(*, session: Session, order: Order, status: str, by: str, note: str | None = None,
                  points_rules: LoyaltySettings | None = None) -> Order:
    """Move an order to `status` if the rules allow; cancelling puts stock back, delivering earns points.

    `points_rules`: the loyalty rules in force (`loyalty.rules_for` with the config); None: the shop settings' or
    the defaults.
    """
    if status not in STATUSES:
        raise OrderError("status", f"status must be one of {', '.join(STATUSES)}")
    if status == order.status:
        return order
    if status not in TRANSITIONS[order.status]:
        raise OrderError("transition", f"an order that is {order.status} cannot become {status}",
                         current=order.status)
    if status == "cancelled":
        promotions.release(session=session, order_id=order.id, now=utcnow())
        if order.status == "delivered":  # the goods left the shop: no stock comes back, the points do
            loyalty.reverse_for_order(session=session, order_id=order.id, by=by)
            loyalty.reverse_stamps(session=session, order_id=order.id, by=by)
        else:
            for item in order_items(session=session, order_id=order.id):
                if item.product_id is not None:
                    session.execute(update(Product).where(Product.id == item.product_id, Product.stock.is_not(None))
                                    .values(stock=Product.stock + item.quantity, updated_at=utcnow()))
    if order.status == "new":
        alerts.settle(session=session, kinds=("order_waiting",), order_id=order.id)  # nobody has to confirm it any more
    before = order.status
    order.status, order.updated_at = status, utcnow()
    session.add(order)
    session.add(OrderEvent(order_id=order.id, status=status, by=by, note=note))
    if status == "delivered":
        _schedule_follow_up(session, order)
        rules = points_rules or loyalty.rules_for(session)
        loyalty.earn_for_order(session=session, order_id=order.id, contact_id=order.contact_id, total=order.total,
                               delivery_fee=order.delivery_fee, rules=rules, by=by,
                               by_category=goods_by_category(session=session, order_id=order.id))
        if rules.stamps is not None:
            loyalty.earn_stamps(session=session, order_id=order.id, contact_id=order.contact_id, by=by, rules=rules,
                                count=stamped_items(session=session, order_id=order.id, card=rules.stamps))
    session.flush()
    webhooks.emit(session, "order.status_changed", lambda: {
        **order_public(session, order, with_history=True).model_dump(mode="json"), "previous_status": before})
    notify_after_commit(session, ORDER_CHANGED, order.contact_id)
    return order


def goods_by_category(*, session: Session, order_id: int) -> dict[str, int]:
    """The order's goods priced per catalog category (a product gone from the catalog counts under "")."""
    rows = session.execute(select(Product.category, OrderItem.price * OrderItem.quantity)
                           .select_from(OrderItem).outerjoin(Product, Product.id == OrderItem.product_id)
                           .where(OrderItem.order_id == order_id)).all()
    amounts: dict[str, int] = {}
    for category, amount in rows:
        amounts[category or ""] = amounts.get(category or "", 0) + int(amount)
    return amounts


def stamped_items(*, session: Session, order_id: int, card: LoyaltyStamps) -> int:
    """How many of the order's items earn a stamp on `card` (a free item the voucher paid for earns none)."""
    rows = session.execute(select(Product.sku, Product.category, OrderItem.quantity).select_from(OrderItem)
                           .join(Product, Product.id == OrderItem.product_id)
                           .where(OrderItem.order_id == order_id)).all()
    count = sum(quantity for sku, category, quantity in rows if card.counts(sku, category))
    order = session.get(Order, order_id)
    promotion = session.get(promotions.Promotion, order.promotion_id) if order.promotion_id else None
    if count and promotion is not None and promotion.free_sku and order.discount and \
            any(card.counts(sku, category) for sku, category, _ in rows if sku.upper() == promotion.free_sku):
        count -= 1
    return count


FOLLOW_UP_AFTER_DELIVERY_DAYS = 30


def _schedule_follow_up(session: Session, order: Order) -> None:
    """A staff task to check in with the customer a month after a delivery (once per order)."""
    exists = session.exec(select(FollowUpTask.id).where(FollowUpTask.source == "order_delivered",
                                                        FollowUpTask.order_id == order.id)).first()
    if exists is None:
        due = (utcnow() + timedelta(days=FOLLOW_UP_AFTER_DELIVERY_DAYS)).date()
        session.add(FollowUpTask(contact_id=order.contact_id, title=f"Follow up order #{order.number}",
                                 due_on=due, source="order_delivered", order_id=order.id))


def steps_to(status: str) -> tuple[str, ...]:
    """The statuses a new order passes through to reach `status` (ValueError when it is not on the way)."""
    if status not in FORWARD:
        raise ValueError(f"status must be one of {', '.join(FORWARD)}")
    return FORWARD[1:FORWARD.index(status) + 1]


def cancel_by_customer(*, session: Session, order: Order) -> Order:
    """Cancel on the customer's request, only while the order is not being prepared yet."""
    if order.status not in CUSTOMER_CANCELLABLE:
        raise OrderError("too_late", f"order is already {order.status}", current=order.status)
    return change_status(session=session, order=order, status="cancelled", by="customer")


def order_public(session: Session, order: Order, with_history: bool = False) -> OrderPublic:
    """The API shape of an order (GET /api/v1/orders/{id} shows it with its history)."""
    lines = [OrderLinePublic(product=i.product_name, variant=i.variant, addons=i.addons or [], quantity=i.quantity,
                             price=i.price, note=i.note) for i in order_items(session=session, order_id=order.id)]
    events = [OrderEventPublic(status=e.status, by=e.by, note=e.note, at=e.at)
              for e in order_history(session=session, order_id=order.id)] if with_history else []
    return OrderPublic(id=order.id, number=order.number, contact_id=order.contact_id, status=order.status,
                       fulfilment=order.fulfilment, store_id=order.store_id, address=order.address, lat=order.lat,
                       lon=order.lon, phone=order.phone, payment_method=order.payment_method,
                       scheduled_for=order.scheduled_for, note=order.note, items=lines, subtotal=order.subtotal,
                       discount=order.discount, delivery_fee=order.delivery_fee, total=order.total,
                       created_at=order.created_at, history=events)


def order_items(*, session: Session, order_id: int) -> list[OrderItem]:
    """The lines of an order."""
    return list(session.exec(select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)).all())


def order_history(*, session: Session, order_id: int) -> list[OrderEvent]:
    """The status changes of an order, oldest first."""
    return list(session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)).all())


def latest_orders(*, session: Session, contact_id: int, limit: int = 3) -> list[Order]:
    """A customer's most recent orders."""
    return list(session.exec(select(Order).where(Order.contact_id == contact_id)
                             .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)).all())


def find_order(*, session: Session, number: str, contact_id: int | None = None) -> Order | None:
    """An order by its number; with `contact_id`, only if it is that customer's (never leak others')."""
    number = number.lstrip("#").strip().upper()
    query = select(Order).where(Order.number == number)
    if contact_id is not None:
        query = query.where(Order.contact_id == contact_id)
    return session.exec(query).first()


def orders_count(*, session: Session, contact_id: int) -> int:
    """How many orders (not cancelled) a customer has placed."""
    return session.exec(select(func.count(Order.id)).where(Order.contact_id == contact_id,
                                                           Order.status != "cancelled")).one()
