"""What handlers may read and change about the shop and one customer (one session, one chat).

Handlers get this as `ctx.data`; they never touch the database or an SDK directly, so a
test can hand them a fresh database or a stand-in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from crm import complaints, faq, orders, promotions, stores
from core.db import utcnow
from crm.models import Contact, Conversation

_catalog_cache: dict[str, object] = {"version": None, "names": {}}


class ShopData:
    """Data access for one customer's conversation."""

    def __init__(self, *, session: Session, contact: Contact | None, conversation: Conversation, tz: ZoneInfo,
                 handoff_minutes: int, message_id: int | None = None, channel: str = "") -> None:
        self.session, self.contact, self.conversation = session, contact, conversation
        self.tz, self.handoff_minutes, self.message_id, self.channel = tz, handoff_minutes, message_id, channel

    @property
    def contact_id(self) -> int | None:
        return self.contact.id if self.contact else None

    # --- catalog ------------------------------------------------------------------

    def products(self) -> list[orders.Product]:
        """Products on sale."""
        return orders.active_products(session=self.session)

    def product(self, product_id: int) -> orders.Product | None:
        """One product (None when unknown)."""
        return self.session.get(orders.Product, product_id)

    def catalog(self) -> dict[str, Sequence[str]]:
        """Product name → aliases, for entity extraction (cached until the catalog changes)."""
        version = orders.catalog_version(session=self.session)
        if _catalog_cache["version"] != version:
            _catalog_cache["names"] = {p.name: tuple(p.aliases or ()) + ((p.name_en,) if p.name_en else ())
                                       for p in self.products()}
            _catalog_cache["version"] = version
        return _catalog_cache["names"]  # type: ignore[return-value]

    def product_by_name(self, name: str) -> orders.Product | None:
        """The active product with this exact catalog name."""
        return next((p for p in self.products() if p.name == name), None)

    # --- orders -------------------------------------------------------------------

    def place_order(self, lines: list[orders.CartLine], *, fulfilment: str, address: str | None,
                    store_id: int | None) -> orders.Order:
        """Place the customer's order (raises OrderError with a reason code)."""
        return orders.place_order(session=self.session, contact_id=self.contact_id, lines=lines,
                                  fulfilment=fulfilment, address=address, store_id=store_id,
                                  conversation_id=self.conversation.id, channel=self.channel)

    def latest_orders(self, limit: int = 3) -> list[orders.Order]:
        """The customer's most recent orders."""
        return orders.latest_orders(session=self.session, contact_id=self.contact_id, limit=limit) \
            if self.contact_id else []

    def find_order(self, number: str) -> orders.Order | None:
        """The customer's own order with this number (another customer's is never found)."""
        return orders.find_order(session=self.session, number=number, contact_id=self.contact_id) \
            if self.contact_id else None

    def order_by_id(self, order_id: int) -> orders.Order | None:
        """The customer's own order by id."""
        order = self.session.get(orders.Order, order_id)
        return order if order is not None and order.contact_id == self.contact_id else None

    def items(self, order: orders.Order) -> list[orders.OrderItem]:
        """The lines of an order."""
        return orders.order_items(session=self.session, order_id=order.id)

    def cancel(self, order: orders.Order) -> orders.Order:
        """Cancel on the customer's request (raises OrderError when too late)."""
        return orders.cancel_by_customer(session=self.session, order=order)

    def orders_count(self) -> int:
        """How many orders the customer has placed."""
        return orders.orders_count(session=self.session, contact_id=self.contact_id) if self.contact_id else 0

    # --- complaints and alerts ----------------------------------------------------

    def open_complaint(self, text: str, negative_score: float, order: orders.Order | None) -> complaints.Complaint:
        """Open a complaint ticket (and alert staff)."""
        complaint = complaints.open_complaint(
            session=self.session, contact_id=self.contact_id, text=text, negative_score=negative_score,
            conversation_id=self.conversation.id, order_id=order.id if order else None, message_id=self.message_id)
        self.alert("complaint", f"Complaint {complaint.number} ({complaint.severity}): {text}", complaint.severity)
        return complaint

    def alert(self, kind: str, text: str, severity: str = "medium") -> None:
        """Tell staff about this conversation now."""
        complaints.alert_staff(session=self.session, kind=kind, text=text, severity=severity,
                               contact_id=self.contact_id, conversation_id=self.conversation.id,
                               message_id=self.message_id)

    def handoff(self, reason: str) -> None:
        """Give the conversation to staff: the bot stays silent until they resolve it or time runs out."""
        self.conversation.bot_active = False
        self.conversation.handoff_until = utcnow() + timedelta(minutes=self.handoff_minutes)
        self.conversation.handoff_at = self.conversation.updated_at = utcnow()
        self.conversation.status = "open"
        self.session.add(self.conversation)
        self.alert("handoff", reason)

    # --- knowledge, offers, stores ------------------------------------------------

    def search_faq(self, text: str, lang: str) -> list[faq.FaqHit]:
        """FAQ entries matching the question, best first, with scores in [0, 1]."""
        return faq.search_faq(session=self.session, text=text, lang=lang)

    def faq(self, entry_id: int) -> faq.FaqEntry | None:
        """One active FAQ entry."""
        entry = self.session.get(faq.FaqEntry, entry_id)
        return entry if entry is not None and entry.active else None

    def promotions(self, now: datetime, near: tuple[float, float] | None = None) -> list[promotions.Promotion]:
        """Offers this customer qualifies for now."""
        if self.contact is None:
            return []
        return promotions.promotions_for(session=self.session, contact=self.contact, now=now,
                                         orders_count=self.orders_count(), channel=self.channel, near=near)

    def offers_near(self, lat: float, lon: float, now: datetime) -> list:
        """Location-based offers valid at a point: (promotion, store, km)."""
        return promotions.offers_near(session=self.session, lat=lat, lon=lon, now=now)

    def nearest_stores(self, lat: float, lon: float, now: datetime, k: int = 3, max_km: float = 25.0) -> list:
        """The nearest stores with distance and whether they are open now."""
        return stores.nearest_stores(session=self.session, lat=lat, lon=lon, k=k, max_km=max_km, at=now, tz=self.tz)

    def stores(self) -> list:
        """All active stores (for pickup choices)."""
        return list(self.session.exec(select(stores.Store).where(stores.Store.active == True)  # noqa: E712
                                      .order_by(stores.Store.name)).all())

    def store(self, store_id: int):
        """One store."""
        return self.session.get(stores.Store, store_id)

    def area(self, text: str) -> tuple[str, float, float] | None:
        """An area named in the text (e.g. "jaksel") with its coordinates."""
        return stores.stores_in_area(session=self.session, text=text)

    def forget_location(self) -> None:
        """Remove the customer's stored location (they asked us to)."""
        if self.contact is not None:
            self.contact.last_lat = self.contact.last_lon = self.contact.last_location_at = None
            self.session.add(self.contact)

    def faqs(self, limit: int = 5) -> list[faq.FaqEntry]:
        """The first active FAQ entries (to show as suggestions)."""
        return list(self.session.exec(select(faq.FaqEntry).where(faq.FaqEntry.active == True)  # noqa: E712
                                      .order_by(faq.FaqEntry.id).limit(limit)).all())

    def remember_location(self, lat: float, lon: float) -> None:
        """Keep the customer's last known location (they shared it with us)."""
        if self.contact is not None:
            self.contact.last_lat, self.contact.last_lon, self.contact.last_location_at = lat, lon, utcnow()
            self.session.add(self.contact)
