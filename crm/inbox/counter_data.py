"""The counter page's data: find the customer in front of staff (member code, name or phone), what they have, and
the three things done for them there — a purchase, a reward handed over, an adjustment — each audited and done once.

A purchase goes through `crm.api.orders.record_purchase`, the code of `POST /api/v1/orders`: placed,
delivered at once, its points earned and announced in the customer's chat. Every form carries a
key (`crm.counter`): a double submit finds it claimed (`counter.AlreadyDone`) and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from core.db import utcnow
from core.phones import e164
from core.settings import LoyaltySettings
from core.texts import text
from crm import counter, history, loyalty, member_codes, promotions
from crm import orders as order_data
from crm.api.orders import record_purchase
from crm.contacts import search_contacts
from crm.inbox.customer_data import adjust_points
from crm.inbox.data import InboxError, audit
from crm.models import Contact, StaffUser, bare_phone
from crm.stores import Store, list_stores

FOUND_LIMIT = 20
QUANTITY = re.compile(r"^qty_(\d{1,18})$")
# Refusals of an order the staff can act on, in their words (the rest: the order's own reason).
ORDER_REASONS = {"out_of_stock": "counter_out_of_stock", "unknown_product": "counter_unknown_product",
                 "quantity": "counter_bad_quantity", "store": "counter_bad_store", "empty": "counter_no_items"}


@dataclass(frozen=True)
class Found:
    """A counter search: the one customer the member code names, else those whose name or phone match."""

    exact: Contact | None
    matches: list[Contact]


def _phone_forms(q: str) -> list[str]:
    """The ways an Indonesian number is written (+62812…, 62812…, 0812…), when `q` is a phone number."""
    number = e164(q)
    if number is None:
        return []
    forms = [number, number[1:]]
    if number.startswith("+62"):
        forms.append("0" + number[3:])
    return forms


def find_customers(*, session: Session, q: str) -> Found:
    """The customer a member code names, else the customers with this phone (any form) or name."""
    q = q.strip()[:200]
    if not q:
        return Found(None, [])
    by_code = member_codes.find_contact(session=session, code=q)
    if by_code is not None:
        return Found(by_code, [by_code])
    forms = _phone_forms(q)
    if forms:
        # The number alone in SQL, so the phone index is the plan whatever the statistics say (few contacts share a
        # number); merged-away contacts and the order, most recently seen first, here.
        found = sorted((c for c in session.exec(select(Contact).where(bare_phone(Contact.phone).in_(forms))
                                                .limit(200)).all() if c.merged_into is None),
                       key=lambda c: (c.last_seen_at is not None, c.last_seen_at or datetime.min, c.id),
                       reverse=True)[:FOUND_LIMIT]
        return Found(found[0] if len(found) == 1 else None, found)  # a phone number is no name: no name search
    return Found(None, search_contacts(session=session, q=q, limit=FOUND_LIMIT))


def card(*, session: Session, contact: Contact, rules: LoyaltySettings, now: datetime | None = None) -> dict[str, Any]:
    """What the counter shows about a customer, and what the purchase form offers."""
    standing = loyalty.standing(session=session, contact_id=contact.id, rules=rules, now=now)
    products = order_data.active_products(session=session)
    free_sku = rules.stamps.reward_sku if rules.stamps else ""
    return {
        "contact": contact, "standing": standing,
        "code": member_codes.code_of(session=session, contact_id=contact.id),
        "affordable": [index for index, reward in enumerate(standing.rewards) if reward.points <= standing.balance],
        "products": products,
        "stores": list_stores(session=session, active=True),
        "entries": loyalty.entries(session=session, contact_id=contact.id, limit=5),
        "stamp_card": rules.stamps,  # None when the shop has no stamp card
        "stamps": loyalty.stamps(session=session, contact_id=contact.id) if rules.stamps else 0,
        "stamp_reward": next((p.name for p in products if p.sku.upper() == free_sku), free_sku),
    }


def _claim(session: Session, key: str, action: str, contact: Contact, staff: StaffUser) -> None:
    """Claim the form's key (counter.AlreadyDone when it was done: the caller rolls back and says so)."""
    try:
        counter.claim(session=session, key=key, action=action, contact_id=contact.id, staff_user_id=staff.id)
    except ValueError:
        raise InboxError("counter_stale_form") from None


def _lines(form: dict[str, str]) -> list[order_data.CartLine]:
    lines = []
    for name, value in form.items():
        found = QUANTITY.match(name)
        if found is None or not value.strip():
            continue
        try:
            quantity = int(value.strip())
        except ValueError:
            raise InboxError("counter_bad_quantity") from None
        if not 0 <= quantity <= 999:
            raise InboxError("counter_bad_quantity")
        if quantity:
            lines.append(order_data.CartLine(int(found.group(1)), quantity))
    if not lines:
        raise InboxError("counter_no_items")
    return lines


def purchase(*, session: Session, staff: StaffUser, contact: Contact, form: dict[str, str],
             key: str) -> tuple[order_data.Order, str | None]:
    """Record a purchase at the counter (delivered: points earned and announced); the order and the message's batch
    id to queue after the commit (counter.AlreadyDone when this form was recorded already)."""
    lines = _lines(form)
    store_id = None
    if form.get("store_id"):
        if not form["store_id"].isdigit() or session.get(Store, int(form["store_id"][:18])) is None:
            raise InboxError("counter_bad_store")
        store_id = int(form["store_id"])
    _claim(session, key, "purchase", contact, staff)
    try:
        order, batch_id = record_purchase(session=session, contact_id=contact.id, lines=lines, store_id=store_id,
                                          by=f"staff:{staff.id}", payment_method=None)
    except order_data.OrderError as exc:
        reason = ORDER_REASONS.get(exc.code)
        raise InboxError(f"{reason}:{exc.details.get('product', '')}" if reason else f"order:{exc}") from None
    entry = loyalty.order_entry(session=session, order_id=order.id, kind="earn")
    audit(session=session, staff=staff, action="counter.purchase", target_type="order", target_id=order.id,
          details={"contact_id": contact.id, "total": order.total, "store_id": store_id,
                   "points": entry.points if entry else 0})
    return order, batch_id


def redeem(*, session: Session, staff: StaffUser, contact: Contact, index: str, points: str, key: str,
           rules: LoyaltySettings, now: datetime | None = None) -> tuple[loyalty.PointsEntry, str | None]:
    """Hand over a reward at the counter: its points spent (never below zero), its voucher closed as used; the ledger
    entry and the batch id of the customer's message (counter.AlreadyDone when this form was done already)."""
    now = now or utcnow()
    if not index.isdigit() or len(index) > 3 or int(index) >= len(rules.rewards):
        raise InboxError("counter_reward_changed")
    reward = rules.rewards[int(index)]
    if str(reward.points) != points:  # the list changed since the page was shown
        raise InboxError("counter_reward_changed")
    _claim(session, key, "redeem", contact, staff)
    try:
        entry, voucher = loyalty.redeem_reward(session=session, contact_id=contact.id, reward=reward, rules=rules,
                                               by=f"staff:{staff.id}", now=now)
    except loyalty.LoyaltyError as exc:
        if exc.code == "insufficient":
            raise InboxError(f"points_insufficient:{exc.details['balance']}") from None
        raise InboxError("counter_reward_changed") from None
    # Handed over here and now: the voucher must not buy the reward a second time in chat.
    promotions.update_promotion(session=session, promotion=voucher, changes={"active": False})
    left = loyalty.balance(session=session, contact_id=contact.id)
    audit(session=session, staff=staff, action="counter.redeem", target_type="contact", target_id=contact.id,
          details={"reward": reward.name, "points": reward.points, "voucher": entry.voucher_code})
    batch_id = history.notify_customer(
        session=session, contact_id=contact.id, conversation_id=None, batch_id=f"counter:{key}", intent="points",
        words=lambda language: text("counter_redeemed", language, points=str(reward.points), balance=str(left),
                                    reward=loyalty.reward_name(reward, language)))
    return entry, batch_id


def adjust(*, session: Session, staff: StaffUser, contact: Contact, points: str, reason: str, key: str) -> int:
    """Add or take points at the counter with a reason (audited); the change (counter.AlreadyDone: done already)."""
    _claim(session, key, "adjust", contact, staff)
    return adjust_points(session=session, staff=staff, contact=contact, points=points, reason=reason)
