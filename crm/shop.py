"""What handlers may read about the shop and one customer (`ShopView`), and the few writes their effects need.

Handlers get the view as `ctx.data`: reads only, in the event's session (no session or
write is reachable through it), so a handler decides without the write lock and a test
can hand it a fresh database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, exists
from sqlmodel import Session, select

from core.db import utcnow
from core.settings import LoyaltySettings
from crm import (complaints, cross_sell, csat, faq, history, loyalty, member_codes, orders, phone_claims, promotions,
                 staff_links, stores)
from crm.models import ChannelIdentity, Contact, Conversation
from crm.shop_settings import ShopSettings, load_settings

_catalog_cache: dict[str, object] = {"version": None, "names": {}}


class ShopView:
    """Read-only access to the shop and one customer, for handlers."""

    __slots__ = ("_session", "_contact", "tz", "channel", "_settings", "_products", "_stores", "_loyalty",
                 "_distances", "_together")

    def __init__(self, *, session: Session, contact: Contact | None, tz: ZoneInfo, channel: str = "",
                 settings: ShopSettings | None = None, loyalty_rules: LoyaltySettings | None = None) -> None:
        self._session, self._contact, self.tz, self.channel = session, contact, tz, channel
        self._settings = settings  # read on first use when not given
        self._loyalty = loyalty_rules  # config.yaml's with the shop's laid over; the shop's or defaults when not given
        # A view lives for one message: the catalog and stores are read once, however many
        # handlers ask (up to five times per message before).
        self._products: list[orders.Product] | None = None
        self._stores: list[stores.Store] | None = None
        self._distances: dict[tuple[float, float], list[tuple[stores.Store, float]]] = {}
        self._together: dict[tuple[int, ...], list[int]] = {}

    @property
    def contact_id(self) -> int | None:
        return self._contact.id if self._contact else None

    @property
    def contact_language(self) -> str | None:
        """The language of the customer's profile (None when unknown)."""
        return self._contact.language if self._contact else None

    # --- the shop's rules ---------------------------------------------------------

    def loyalty_rules(self) -> LoyaltySettings:
        """The points rules: rate, tiers, rewards."""
        if self._loyalty is None:
            self._loyalty = self.settings().loyalty or LoyaltySettings()
        return self._loyalty

    def points(self, now: datetime) -> loyalty.Standing | None:
        """The customer's points balance, tier and the rewards (None without a customer)."""
        if self._contact is None:
            return None
        return loyalty.standing(session=self._session, contact_id=self._contact.id, rules=self.loyalty_rules(), now=now)

    def stamps(self) -> int:
        """The stamps on the customer's current card (0 without a customer)."""
        return loyalty.stamps(session=self._session, contact_id=self._contact.id) if self._contact else 0

    def member_code(self) -> str | None:
        """The customer's member code for the counter (None without a customer, or before they first asked)."""
        if self._contact is None:
            return None
        return member_codes.code_of(session=self._session, contact_id=self._contact.id)

    def settings(self) -> ShopSettings:
        """Payment methods, delivery rules and staff hours (read once per view)."""
        if self._settings is None:
            self._settings = load_settings(self._session)
        return self._settings

    def is_staff_chat(self, chat_id: str) -> bool:
        """True when this chat is an active staff member's linked (proven) account."""
        return staff_links.staff_of(session=self._session, channel=self.channel, external_id=chat_id) is not None

    def asks_about_phone(self, phone: str) -> bool:
        """True when this customer giving `phone` should be asked whether the imported member with it is them."""
        return self._contact is not None and phone_claims.askable(session=self._session, contact_id=self._contact.id,
                                                                  phone=phone)

    def survey(self, survey_id: int) -> csat.CsatSurvey | None:
        """One of this customer's satisfaction surveys (None when unknown or someone else's)."""
        return csat.get_survey(session=self._session, survey_id=survey_id, contact_id=self.contact_id)

    # --- catalog ------------------------------------------------------------------

    def products(self) -> list[orders.Product]:
        """Products on sale (read once per view)."""
        if self._products is None:
            self._products = orders.active_products(session=self._session)
        return self._products

    def product(self, product_id: int) -> orders.Product | None:
        """One product (None when unknown)."""
        return self._session.get(orders.Product, product_id)

    def catalog(self) -> dict[str, Sequence[str]]:
        """Product name → aliases, for entity extraction (cached until the catalog changes)."""
        version = orders.catalog_version(session=self._session)
        if _catalog_cache["version"] != version:
            _catalog_cache["names"] = {p.name: tuple(p.aliases or ()) + ((p.name_en,) if p.name_en else ())
                                       for p in self.products()}
            _catalog_cache["version"] = version
        return _catalog_cache["names"]  # type: ignore[return-value]

    def bought_together(self, product_ids: tuple[int, ...]) -> list[int]:
        """Products often bought with these, the most confident first (the nightly rules; once per cart)."""
        if product_ids not in self._together:  # the order's slots ask it several times per message
            self._together[product_ids] = cross_sell.suggested_for(session=self._session, product_ids=product_ids)
        return self._together[product_ids]

    def product_by_name(self, name: str) -> orders.Product | None:
        """The active product with this exact catalog name."""
        return next((p for p in self.products() if p.name == name), None)

    # --- orders -------------------------------------------------------------------

    def latest_orders(self, limit: int = 3) -> list[orders.Order]:
        """The customer's most recent orders."""
        return orders.latest_orders(session=self._session, contact_id=self.contact_id, limit=limit) \
            if self.contact_id else []

    def find_order(self, number: str) -> orders.Order | None:
        """The customer's own order with this number (another customer's is never found)."""
        return orders.find_order(session=self._session, number=number, contact_id=self.contact_id) \
            if self.contact_id else None

    def order_by_id(self, order_id: int) -> orders.Order | None:
        """The customer's own order by id."""
        order = self._session.get(orders.Order, order_id)
        return order if order is not None and order.contact_id == self.contact_id else None

    def items(self, order: orders.Order) -> list[orders.OrderItem]:
        """The lines of an order."""
        return orders.order_items(session=self._session, order_id=order.id)

    def orders_count(self) -> int:
        """How many orders the customer has placed."""
        return orders.orders_count(session=self._session, contact_id=self.contact_id) if self.contact_id else 0

    def open_complaint_since(self, since: datetime) -> complaints.Complaint | None:
        """The customer's latest complaint still open that was made after `since` (None when none)."""
        if self.contact_id is None:
            return None
        recent = complaints.open_complaints(session=self._session, contact_id=self.contact_id, since=since)
        return recent[0] if recent else None

    # --- knowledge, offers, stores ------------------------------------------------

    def search_faq(self, text: str, lang: str) -> list[faq.FaqHit]:
        """FAQ entries matching the question, best first, with scores in [0, 1]."""
        return faq.search_faq(session=self._session, text=text, lang=lang)

    def faq(self, entry_id: int) -> faq.FaqEntry | None:
        """One active FAQ entry."""
        entry = self._session.get(faq.FaqEntry, entry_id)
        return entry if entry is not None and entry.active else None

    def promotions(self, now: datetime, near: tuple[float, float] | None = None,
                   any_hour: bool = False) -> list[promotions.Promotion]:
        """Offers this customer qualifies for now (`any_hour`: also those outside their weekdays or hours now)."""
        if self._contact is None:
            return []
        return promotions.promotions_for(session=self._session, contact=self._contact, now=now,
                                         orders_count=self.orders_count(), channel=self.channel, near=near,
                                         tz=self.tz, any_hour=any_hour)

    def used_up_promotions(self, now: datetime) -> list[tuple[promotions.Promotion, str]]:
        """Offers this customer qualifies for but can no longer use: (promotion, "used" | "spent")."""
        if self._contact is None:
            return []
        return promotions.used_up_for(session=self._session, contact=self._contact, now=now,
                                      orders_count=self.orders_count(), channel=self.channel, tz=self.tz)

    def voucher(self, code: str, now: datetime) -> tuple[promotions.Promotion | None, str | None]:
        """The promotion with this voucher code and why this customer cannot use it now (None: they can).

        Reasons: unknown, used, spent, not_now (outside its dates, weekdays or hours), not_for_you.
        """
        promotion = promotions.find_voucher(session=self._session, code=code)
        if promotion is None or not promotion.active:
            return None, "unknown"
        if any(p.id == promotion.id for p in self.promotions(now)):
            return promotion, None
        reason = dict((p.id, why) for p, why in self.used_up_promotions(now)).get(promotion.id)
        if reason is None:
            reason = "not_now" if not promotions.valid_at(promotion, now, self.tz) else "not_for_you"
        return promotion, reason

    def offers_near(self, lat: float, lon: float, now: datetime) -> list:
        """Location-based offers valid at a point: (promotion, store, km)."""
        return promotions.offers_near(session=self._session, lat=lat, lon=lon, now=now, tz=self.tz)

    def nearest_stores(self, lat: float, lon: float, now: datetime, k: int = 3, max_km: float = 25.0) -> list:
        """The nearest stores with distance and whether they are open now."""
        return stores.nearest_stores(session=self._session, lat=lat, lon=lon, k=k, max_km=max_km, at=now, tz=self.tz)

    def stores_by_distance(self, lat: float, lon: float) -> list[tuple[stores.Store, float]]:
        """Every active store with its km, closest first, however far (ValueError on bad lat/lon; once per point)."""
        if (lat, lon) not in self._distances:  # an order's questions ask it several times per message
            hits = stores.nearest_stores(session=self._session, lat=lat, lon=lon, k=max(1, len(self.stores())),
                                         max_km=None, tz=self.tz)
            self._distances[(lat, lon)] = [(hit.store, hit.km) for hit in hits]
        return self._distances[(lat, lon)]

    def stores(self) -> list:
        """All active stores (for pickup choices; read once per view)."""
        if self._stores is None:
            self._stores = list(self._session.exec(select(stores.Store).where(stores.Store.active == True)  # noqa: E712
                                                   .order_by(stores.Store.name)).all())
        return self._stores

    def store(self, store_id: int):
        """One store."""
        return self._session.get(stores.Store, store_id)

    def area(self, text: str) -> tuple[str, float, float] | None:
        """An area named in the text (e.g. "jaksel") with its coordinates."""
        return stores.stores_in_area(session=self._session, text=text)

    def faqs(self, limit: int = 5) -> list[faq.FaqEntry]:
        """The first active FAQ entries (to show as suggestions)."""
        return list(self._session.exec(select(faq.FaqEntry).where(faq.FaqEntry.active == True)  # noqa: E712
                                      .order_by(faq.FaqEntry.id).limit(limit)).all())


def known_direct_chat(*, session: Session, channel: str, user_id: str, chat_id: str) -> bool:
    """True when both the customer's account and their chat are stored (recording a message then creates neither)."""
    return bool(session.connection().execute(_KNOWN_CHAT, {"channel": channel, "user_id": user_id,
                                                            "chat_id": chat_id}).scalar())


# Built once: a statement object caches its compiled form (this runs for every message).
_KNOWN_CHAT = select(and_(
    exists().where(ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.external_id == bindparam("user_id")),
    exists().where(Conversation.channel == bindparam("channel"), Conversation.external_chat_id == bindparam("chat_id"))))


# --- the writes of effects (the pipeline applies them under the write lock) ---------------


def hand_off(*, session: Session, conversation: Conversation, minutes: int) -> None:
    """Flag the conversation for staff: the bot stays silent until they answer or `minutes` pass (0: it goes on)."""
    now = utcnow()
    conversation.bot_active = minutes <= 0
    conversation.handoff_until = now + timedelta(minutes=minutes) if minutes > 0 else None
    conversation.handoff_at = conversation.updated_at = now
    conversation.status = "open"
    session.add(conversation)


def give_back_unanswered(*, session: Session, now: datetime, words: Callable[[str], str]) -> list[str]:
    """Chats handed to staff that nobody answered in time: the bot answers again and tells the customer.

    They stay flagged for staff (open, waiting). Returns the batch ids of the messages to send.
    """
    late = session.exec(select(Conversation).where(Conversation.bot_active == False,  # noqa: E712
                                                   Conversation.handoff_at.is_not(None),
                                                   Conversation.handoff_until <= now)).all()
    batches = []
    for conversation in late:
        if not history.staff_asked_for(conversation):
            continue  # staff answered: the bot comes back silently when their own time runs out
        conversation.bot_active, conversation.handoff_until = True, None
        session.add(conversation)
        batch_id = history.notify_customer(
            session=session, contact_id=conversation.contact_id, conversation_id=conversation.id, words=words,
            batch_id=f"staff-late:{conversation.id}:{conversation.handoff_at.timestamp():.0f}", intent="human_handoff")
        if batch_id:
            batches.append(batch_id)
    return batches


def remember_contact_details(*, session: Session, contact: Contact | None, phone: str | None,
                             address: str | None) -> None:
    """Keep the phone and address an order gave on the customer's profile, where it has none yet."""
    if contact is None:
        return
    contact.phone = contact.phone or phone
    contact.address = contact.address or address
    session.add(contact)


def remember_location(*, session: Session, contact: Contact | None, lat: float, lon: float) -> None:
    """Keep the customer's last known location (they shared it with us)."""
    if contact is not None:
        contact.last_lat, contact.last_lon, contact.last_location_at = lat, lon, utcnow()
        session.add(contact)


def forget_location(*, session: Session, contact: Contact | None) -> None:
    """Remove the customer's stored location (they asked us to)."""
    if contact is not None:
        contact.last_lat = contact.last_lon = contact.last_location_at = None
        session.add(contact)
