"""Loyalty points: one append-only ledger per contact, a balance that never goes below zero, tiers and rewards.

Every change of points is a `PointsEntry` (earn, redeem, expire, adjust, reverse) and moves
the contact's `PointsAccount.balance` in the same transaction. The balance is moved by
conditional updates, so two redemptions at once, or a cancelled order reversing points the
customer already spent, can never take it below zero: a redemption that would is refused,
a reversal takes back only what is left (the entry's reason says so). The unique key
(order_id, kind) lets an order earn once and be reversed once, whoever races.

The rules (rate, rounding, category multipliers, expiry, tiers, rewards and their value, the
birthday bonus, the stamp card) are `core.settings.LoyaltySettings`: config.yaml's `loyalty`,
replaced by the shop settings' `loyalty` when staff saved one (`rules_for`).

The birthday bonus is an `earn` without an order; its `grant_key` (unique) gives it once per
contact and year however the clock runs. Stamps have their own account and ledger (`StampAccount`,
`StampEntry`) kept the same way: earned once per delivered order, reversed once on cancel (only
what is left), and a full card taken by a conditional update becomes a free-item voucher.

Every entry is written by `_record`: that is where a `points.changed` event belongs.
"""

from __future__ import annotations

import calendar
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Mapping

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, and_, case, extract, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from core.db import utcnow
from core.settings import LoyaltyReward, LoyaltySettings, LoyaltyTier, Settings
from crm import promotions, webhooks
from crm.models import Contact
from crm.shop_settings import load_settings

KINDS = ("earn", "redeem", "expire", "adjust", "reverse")
TIER_WINDOW = timedelta(days=365)  # tiers count the points earned in the last 12 months
REASON_MAX = 200


class PointsAccount(SQLModel, table=True):
    """A contact's points balance: the sum of their ledger, kept with it (never below zero)."""

    __table_args__ = (CheckConstraint("balance >= 0", name="ck_points_balance"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    balance: int = 0
    last_earned_at: datetime | None = None  # expiry counts from here
    updated_at: datetime = Field(default_factory=utcnow)


class PointsEntry(SQLModel, table=True):
    """One change of a contact's points (append-only): positive earns, negative spends."""

    __table_args__ = (UniqueConstraint("order_id", "kind", name="uq_points_order_kind"),
                      UniqueConstraint("grant_key", name="uq_points_grant"),
                      Index("ix_points_contact_at", "contact_id", "at"))

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    kind: str = Field(max_length=8)  # earn | redeem | expire | adjust | reverse
    points: int
    order_id: int | None = Field(default=None, foreign_key="order.id")
    voucher_code: str | None = Field(default=None, max_length=32)  # a redeemed reward's code
    reason: str = Field(default="", max_length=REASON_MAX)
    by: str = Field(default="bot", max_length=40)  # bot | customer | staff:<id> | api:<token> | clock
    # A grant that happens once per contact without an order ("birthday:<contact id>:2026"): the unique key keeps
    # it once; the contact id is in it so that a merge can move the entry to another contact.
    grant_key: str | None = Field(default=None, max_length=40)
    at: datetime = Field(default_factory=utcnow)


class StampAccount(SQLModel, table=True):
    """A contact's stamps on their current card (never below zero); a full card becomes a voucher."""

    __table_args__ = (CheckConstraint("stamps >= 0", name="ck_stamps_balance"),)

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    stamps: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class StampEntry(SQLModel, table=True):
    """One change of a contact's stamps (append-only): earn and reverse by order, card when a full card paid out."""

    __table_args__ = (UniqueConstraint("order_id", "kind", name="uq_stamps_order_kind"),
                      Index("ix_stamps_contact_at", "contact_id", "at"))

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    kind: str = Field(max_length=8)  # earn | reverse | card
    stamps: int
    order_id: int | None = Field(default=None, foreign_key="order.id")
    voucher_code: str | None = Field(default=None, max_length=32)  # a full card's voucher
    by: str = Field(default="bot", max_length=40)
    at: datetime = Field(default_factory=utcnow)


class LoyaltyError(ValueError):
    """A change of points the rules refuse; `code` says which rule (reason, zero, insufficient, reward)."""

    def __init__(self, code: str, message: str, **details) -> None:
        super().__init__(message)
        self.code, self.details = code, details


@dataclass(frozen=True)
class Standing:
    """What a customer has: their balance, their tier, the next tier and the rewards."""

    balance: int
    tier: LoyaltyTier
    earned_last_year: int
    next_tier: LoyaltyTier | None
    rewards: tuple[LoyaltyReward, ...]

    @property
    def to_next_tier(self) -> int | None:
        """Points still to earn (within 12 months) to reach the next tier."""
        return None if self.next_tier is None else self.next_tier.min_points - self.earned_last_year


def rules_for(session: Session, config: Settings | None = None) -> LoyaltySettings:
    """The loyalty rules now: the shop settings' when staff saved some, else config.yaml's (the defaults without it)."""
    return load_settings(session).loyalty or (config.loyalty if config is not None else LoyaltySettings())


def _rounded(points: Fraction, rounding: str) -> int:
    if rounding == "up":
        return math.ceil(points)
    if rounding == "nearest":  # half up: 2.5 points are 3
        return math.floor(points + Fraction(1, 2))
    return math.floor(points)


def points_for(amount: int, rules: LoyaltySettings) -> int:
    """The points an amount in rupiah earns: the rate per Rp1.000, rounded the rules' way (down by default)."""
    # Exact fractions: 0.1 points per Rp1.000 of Rp30.000 is 3, not 2.9999… rounded down to 2.
    return max(0, _rounded(Fraction(amount) * Fraction(str(rules.points_per_1000_rupiah)) / 1000, rules.rounding))


def order_points(total: int, delivery_fee: int, rules: LoyaltySettings,
                 by_category: Mapping[str, int] | None = None) -> int:
    """The points an order earns on what was paid for the goods (its total without the delivery fee).

    `by_category`: the goods' prices per catalog category, before any discount; a category's
    multiplier counts its share of what was paid that many times.
    """
    paid = max(0, total - delivery_fee)
    goods = sum(by_category.values()) if by_category else 0
    if not goods or not rules.multipliers:
        return points_for(paid, rules)
    weighted = sum(Fraction(amount) * Fraction(str(rules.factor_for(category)))
                   for category, amount in by_category.items())
    rate = Fraction(str(rules.points_per_1000_rupiah))
    return max(0, _rounded(weighted * paid / goods * rate / 1000, rules.rounding))


# --- writing the ledger ------------------------------------------------------------------


def _ensure_account(session: Session, contact_id: int) -> None:
    if session.execute(select(PointsAccount.contact_id).where(PointsAccount.contact_id == contact_id)).first():
        return
    try:
        with session.begin_nested():  # another transaction may create it at the same moment
            session.add(PointsAccount(contact_id=contact_id))
            session.flush()
    except IntegrityError:
        pass


def _current(session: Session, contact_id: int) -> int:
    # A column read, not session.get: the identity map would hand back a balance read earlier.
    return session.execute(select(PointsAccount.balance).where(PointsAccount.contact_id == contact_id)).scalar() or 0


def _move(session: Session, contact_id: int, delta: int, now: datetime, earned: bool = False) -> bool:
    """Add `delta` to the balance unless that takes it below zero; False (nothing changed) when it would."""
    _ensure_account(session, contact_id)
    values = {"balance": PointsAccount.balance + delta, "updated_at": now}
    if earned:
        values["last_earned_at"] = now
    moved = session.execute(update(PointsAccount)
                            .where(PointsAccount.contact_id == contact_id, PointsAccount.balance + delta >= 0)
                            .values(**values))
    return moved.rowcount == 1


def recount(*, session: Session, contact_id: int, now: datetime | None = None) -> int:
    """Set a contact's balance to the sum of their ledger (after a merge moved entries in or out); the balance."""
    _ensure_account(session, contact_id)
    total, last_earned = session.execute(
        select(func.coalesce(func.sum(PointsEntry.points), 0),
               func.max(case((PointsEntry.kind == "earn", PointsEntry.at), else_=None)))
        .where(PointsEntry.contact_id == contact_id)).one()
    session.execute(update(PointsAccount).where(PointsAccount.contact_id == contact_id)
                    .values(balance=max(0, int(total)), last_earned_at=last_earned, updated_at=now or utcnow()))
    return max(0, int(total))


def _record(session: Session, entry: PointsEntry, balance_moved: bool = True) -> PointsEntry:
    """Write a ledger entry (the one place); announced now when the balance already moved, else by the caller."""
    session.add(entry)
    session.flush()
    if balance_moved:
        _announce(session, entry)
    return entry


def _announce(session: Session, entry: PointsEntry) -> None:
    # The outbound event goes in the same transaction as the entry, with the balance it left.
    webhooks.emit(session, "points.changed", lambda: {
        "contact_id": entry.contact_id, "balance": _current(session, entry.contact_id), "delta": entry.points,
        "kind": entry.kind, "order_id": entry.order_id})


def earn_for_order(*, session: Session, order_id: int, contact_id: int, total: int, delivery_fee: int,
                   rules: LoyaltySettings, by: str, now: datetime | None = None,
                   by_category: Mapping[str, int] | None = None) -> PointsEntry | None:
    """Credit a delivered order's points once (None when it earns none or already earned); see `order_points`."""
    points = order_points(total, delivery_fee, rules, by_category)
    if points <= 0:
        return None
    now = now or utcnow()
    try:
        with session.begin_nested():  # the unique key: a second delivery of the same order earns nothing
            entry = _record(session, PointsEntry(contact_id=contact_id, kind="earn", points=points, order_id=order_id,
                                                 reason="order delivered", by=by, at=now), balance_moved=False)
            _move(session, contact_id, points, now, earned=True)
            _announce(session, entry)
    except IntegrityError:
        return None
    return entry


def reverse_for_order(*, session: Session, order_id: int, by: str, now: datetime | None = None) -> PointsEntry | None:
    """Take back a cancelled order's points once; only what is left when the customer spent some (None: nothing to take)."""
    earned = order_entry(session=session, order_id=order_id, kind="earn")
    if earned is None:
        return None
    now = now or utcnow()
    try:
        with session.begin_nested():
            # Written first: the unique key makes a racing second reversal fail here, before it moves anything.
            entry = _record(session, PointsEntry(contact_id=earned.contact_id, kind="reverse", points=0,
                                                 order_id=order_id, reason="order cancelled", by=by, at=now),
                            balance_moved=False)
            # Compare-and-set: take min(earned, balance) as the balance stands at the moment of the update.
            while True:
                balance = _current(session, earned.contact_id)
                taken = min(earned.points, balance)
                moved = session.execute(update(PointsAccount).where(PointsAccount.contact_id == earned.contact_id,
                                                                    PointsAccount.balance == balance)
                                        .values(balance=balance - taken, updated_at=now))
                if moved.rowcount == 1:
                    break
            entry.points = -taken
            if taken < earned.points:
                entry.reason = f"order cancelled; {earned.points - taken} of its points were already spent"
            session.add(entry)
            session.flush()
            _announce(session, entry)
    except IntegrityError:
        return None
    return entry


def _clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise LoyaltyError("reason", "a reason is required")
    if len(reason) > REASON_MAX:
        raise LoyaltyError("reason", f"the reason is longer than {REASON_MAX} characters")
    return reason


def _spend(session: Session, contact_id: int, kind: str, points: int, reason: str, by: str, now: datetime,
           voucher_code: str | None = None) -> PointsEntry:
    if not _move(session, contact_id, -points, now):
        balance = _current(session, contact_id)
        raise LoyaltyError("insufficient", f"the balance is {balance} points, {points} needed",
                           balance=balance, needed=points)
    return _record(session, PointsEntry(contact_id=contact_id, kind=kind, points=-points, reason=reason, by=by,
                                        at=now, voucher_code=voucher_code))


def adjust(*, session: Session, contact_id: int, points: int, reason: str | None, by: str,
           now: datetime | None = None) -> PointsEntry:
    """Staff add (positive) or take (negative) points with a reason (LoyaltyError: no reason, zero, below zero)."""
    reason = _clean_reason(reason)
    if isinstance(points, bool) or not isinstance(points, int) or points == 0 or abs(points) > 100_000_000:
        raise LoyaltyError("zero", "points must be a whole number other than 0")
    now = now or utcnow()
    if points < 0:
        return _spend(session, contact_id, "adjust", -points, reason, by, now)
    _move(session, contact_id, points, now)
    return _record(session, PointsEntry(contact_id=contact_id, kind="adjust", points=points, reason=reason, by=by,
                                        at=now))


VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: the customer types it


def _new_code(session: Session, prefix: str) -> str:
    for _ in range(5):
        code = prefix + "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(6))
        if not promotions.voucher_taken(session=session, code=code):
            break
    return code


def _personal_voucher(session: Session, contact_id: int, code: str, rules: LoyaltySettings, now: datetime,
                      **fields) -> promotions.Promotion:
    """A promotion for this contact alone, single use, valid `rules.voucher_days`: the order flow takes its code."""
    return promotions.create_promotion(
        session=session, voucher_code=code, starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=rules.voucher_days), max_redemptions=1, per_customer="once",
        audience={"contacts": [contact_id]}, **fields)


def redeem_reward(*, session: Session, contact_id: int, reward: LoyaltyReward, rules: LoyaltySettings, by: str,
                  now: datetime | None = None) -> tuple[PointsEntry, promotions.Promotion]:
    """Spend a reward's points for a one-time voucher only this customer can use (LoyaltyError: too few points).

    The voucher is a promotion for this contact alone, single use, valid `rules.voucher_days`:
    the order flow takes it like any code ("pakai kode POIN-…") and takes the reward's value off.
    """
    now = now or utcnow()
    code = _new_code(session, "POIN-")
    entry = _spend(session, contact_id, "redeem", reward.points, reward.name, by, now, voucher_code=code)
    voucher = _personal_voucher(session, contact_id, code, rules, now, title=reward.name, title_en=reward.name_en,
                                description=f"{reward.points} poin", discount_amount=reward.amount_off,
                                free_sku=reward.free_sku.upper() if reward.free_sku else None)
    return entry, voucher


# --- stamps --------------------------------------------------------------------------------


def stamps(*, session: Session, contact_id: int) -> int:
    """The stamps on the contact's current card."""
    return session.execute(select(StampAccount.stamps).where(StampAccount.contact_id == contact_id)).scalar() or 0


def stamp_entries(*, session: Session, contact_id: int, limit: int | None = 200) -> list[StampEntry]:
    """The contact's stamp history, newest first."""
    return list(session.exec(select(StampEntry).where(StampEntry.contact_id == contact_id)
                             .order_by(StampEntry.at.desc(), StampEntry.id.desc()).limit(limit)).all())


def _ensure_stamp_account(session: Session, contact_id: int) -> None:
    if session.execute(select(StampAccount.contact_id).where(StampAccount.contact_id == contact_id)).first():
        return
    try:
        with session.begin_nested():
            session.add(StampAccount(contact_id=contact_id))
            session.flush()
    except IntegrityError:
        pass


def recount_stamps(*, session: Session, contact_id: int, now: datetime | None = None) -> int:
    """Set a contact's stamps to the sum of their stamp ledger (after a merge); the stamps."""
    _ensure_stamp_account(session, contact_id)
    total = session.execute(select(func.coalesce(func.sum(StampEntry.stamps), 0))
                            .where(StampEntry.contact_id == contact_id)).scalar()
    session.execute(update(StampAccount).where(StampAccount.contact_id == contact_id)
                    .values(stamps=max(0, int(total)), updated_at=now or utcnow()))
    return max(0, int(total))


def earn_stamps(*, session: Session, order_id: int, contact_id: int, count: int, rules: LoyaltySettings, by: str,
                now: datetime | None = None) -> list[promotions.Promotion]:
    """Stamp a delivered order's `count` qualifying items once; each card it fills becomes a voucher for one free
    item (the vouchers; none when the order earned before, or the rules have no card)."""
    card = rules.stamps
    if card is None or count <= 0:
        return []
    now = now or utcnow()
    _ensure_stamp_account(session, contact_id)
    try:
        with session.begin_nested():  # the unique key: an order is stamped once, whoever races
            session.add(StampEntry(contact_id=contact_id, kind="earn", stamps=count, order_id=order_id, by=by, at=now))
            session.flush()
    except IntegrityError:
        return []
    session.execute(update(StampAccount).where(StampAccount.contact_id == contact_id)
                    .values(stamps=StampAccount.stamps + count, updated_at=now))
    vouchers = []
    # Conditional: a full card is taken once even when two deliveries fill it at the same moment.
    while session.execute(update(StampAccount).where(StampAccount.contact_id == contact_id,
                                                     StampAccount.stamps >= card.stamps)
                          .values(stamps=StampAccount.stamps - card.stamps, updated_at=now)).rowcount == 1:
        code = _new_code(session, "STEMPEL-")
        session.add(StampEntry(contact_id=contact_id, kind="card", stamps=-card.stamps, voucher_code=code, by=by,
                               at=now))
        vouchers.append(_personal_voucher(session, contact_id, code, rules, now, free_sku=card.reward_sku,
                                          title=f"Kartu stempel penuh ({card.stamps})",
                                          title_en=f"Full stamp card ({card.stamps})",
                                          description=f"{card.stamps} stempel"))
    session.flush()
    return vouchers


def order_stamps(*, session: Session, order_id: int) -> tuple[StampEntry | None, list[StampEntry]]:
    """The stamps a delivered order earned (None when none) and the cards they filled (with their vouchers)."""
    earned = session.exec(select(StampEntry).where(StampEntry.order_id == order_id, StampEntry.kind == "earn")).first()
    if earned is None:
        return None, []
    cards = session.exec(select(StampEntry).where(StampEntry.contact_id == earned.contact_id, StampEntry.kind == "card",
                                                  StampEntry.at == earned.at).order_by(StampEntry.id)).all()
    return earned, list(cards)


def reverse_stamps(*, session: Session, order_id: int, by: str, now: datetime | None = None) -> StampEntry | None:
    """Take back a cancelled order's stamps once; only those still on the card (a voucher given stays given)."""
    earned = session.exec(select(StampEntry).where(StampEntry.order_id == order_id, StampEntry.kind == "earn")).first()
    if earned is None:
        return None
    now = now or utcnow()
    try:
        with session.begin_nested():
            entry = StampEntry(contact_id=earned.contact_id, kind="reverse", stamps=0, order_id=order_id, by=by, at=now)
            session.add(entry)
            session.flush()  # the unique key stops a racing second reversal here
            while True:  # compare-and-set, as for points
                held = stamps(session=session, contact_id=earned.contact_id)
                taken = min(earned.stamps, held)
                if session.execute(update(StampAccount).where(StampAccount.contact_id == earned.contact_id,
                                                              StampAccount.stamps == held)
                                   .values(stamps=held - taken, updated_at=now)).rowcount == 1:
                    break
            entry.stamps = -taken
            session.add(entry)
            session.flush()
    except IntegrityError:
        return None
    return entry


def birthday_contacts(*, session: Session, day: date, ungranted: bool = False) -> list[int]:
    """The contacts (not merged away, not erased) whose birthday is `day`; a 29 February one on 28 February of a
    year without it. `ungranted`: only those without this year's bonus yet (the hourly run's work)."""
    days = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        days.append((2, 29))
    born = or_(*(and_(extract("month", Contact.birthday) == month, extract("day", Contact.birthday) == dom)
                 for month, dom in days))
    found = list(session.exec(select(Contact.id).where(Contact.birthday.is_not(None), born,
                                                       Contact.merged_into.is_(None), Contact.erased_at.is_(None))
                              .order_by(Contact.id)).all())
    if not ungranted or not found:
        return found
    keys = {_birthday_key(contact_id, day.year): contact_id for contact_id in found}
    given = set(session.exec(select(PointsEntry.grant_key).where(PointsEntry.grant_key.in_(list(keys)))).all())
    return [contact_id for key, contact_id in keys.items() if key not in given]


def _birthday_key(contact_id: int, year: int) -> str:
    return f"birthday:{contact_id}:{year}"


def grant_birthday(*, session: Session, contact_id: int, points: int, year: int,
                   now: datetime | None = None) -> PointsEntry | None:
    """Give the yearly birthday bonus as an `earn` without an order, once per contact and year (None: already given
    or nothing to give; the unique key decides when two runs race)."""
    if points <= 0:
        return None
    now = now or utcnow()
    try:
        with session.begin_nested():
            entry = _record(session, PointsEntry(contact_id=contact_id, kind="earn", points=points, by="clock", at=now,
                                                 reason=f"birthday {year}", grant_key=_birthday_key(contact_id, year)),
                            balance_moved=False)
            _move(session, contact_id, points, now, earned=True)
            _announce(session, entry)
    except IntegrityError:
        return None
    return entry


def expire_idle(*, session: Session, rules: LoyaltySettings, now: datetime | None = None) -> int:
    """Expire the balances of customers who earned nothing for `expiry_months`; how many expired."""
    if rules.expiry_months is None:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(days=round(rules.expiry_months * 30.44))
    idle = session.exec(select(PointsAccount.contact_id, PointsAccount.balance).where(
        PointsAccount.balance > 0, PointsAccount.last_earned_at < cutoff)).all()
    expired = 0
    for contact_id, balance in idle:
        # Conditional on the balance read: a redemption in between leaves this customer for the next run.
        moved = session.execute(update(PointsAccount).where(PointsAccount.contact_id == contact_id,
                                                            PointsAccount.balance == balance,
                                                            PointsAccount.last_earned_at < cutoff)
                                .values(balance=0, updated_at=now))
        if moved.rowcount == 1:
            _record(session, PointsEntry(contact_id=contact_id, kind="expire", points=-balance, by="clock", at=now,
                                         reason=f"no points earned in {rules.expiry_months} months"))
            expired += 1
    return expired


# --- reading -------------------------------------------------------------------------------


def balance(*, session: Session, contact_id: int) -> int:
    """The contact's points now."""
    return _current(session, contact_id)


def entries(*, session: Session, contact_id: int, limit: int | None = 200) -> list[PointsEntry]:
    """The contact's ledger, newest first (all of it with `limit` None)."""
    return list(session.exec(select(PointsEntry).where(PointsEntry.contact_id == contact_id)
                             .order_by(PointsEntry.at.desc(), PointsEntry.id.desc()).limit(limit)).all())


def order_entry(*, session: Session, order_id: int, kind: str) -> PointsEntry | None:
    """The order's earn or reverse entry (None when it has none)."""
    return session.exec(select(PointsEntry).where(PointsEntry.order_id == order_id, PointsEntry.kind == kind)).first()


def earned_since(*, session: Session, contact_id: int, since: datetime) -> int:
    """Points earned since `since`, less those reversed since (not below 0)."""
    total = session.execute(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.contact_id == contact_id, PointsEntry.kind.in_(("earn", "reverse")),
        PointsEntry.at >= since)).scalar()
    return max(0, int(total))


def tier_for(earned: int, rules: LoyaltySettings) -> tuple[LoyaltyTier, LoyaltyTier | None]:
    """The tier `earned` points (last 12 months) reach, and the next one (None at the top)."""
    reached = [tier for tier in rules.tiers if tier.min_points <= earned]
    higher = [tier for tier in rules.tiers if tier.min_points > earned]
    return reached[-1], (higher[0] if higher else None)


def standing(*, session: Session, contact_id: int, rules: LoyaltySettings, now: datetime | None = None) -> Standing:
    """The contact's balance, tier and the rewards."""
    earned = earned_since(session=session, contact_id=contact_id, since=(now or utcnow()) - TIER_WINDOW)
    tier, next_tier = tier_for(earned, rules)
    return Standing(balance=balance(session=session, contact_id=contact_id), tier=tier, earned_last_year=earned,
                    next_tier=next_tier, rewards=tuple(rules.rewards))


def tier_name(tier: LoyaltyTier, language: str) -> str:
    """The tier's name in `language` (its only name when there is no English one)."""
    return tier.name_en if language == "en" and tier.name_en else tier.name


def reward_name(reward: LoyaltyReward, language: str) -> str:
    """The reward's name in `language` (its only name when there is no English one)."""
    return reward.name_en if language == "en" and reward.name_en else reward.name


# --- segment fields ------------------------------------------------------------------------


def balance_column(contact_id_column):
    """SQL: a contact's balance (0 without an account), for segment rules."""
    return func.coalesce(select(PointsAccount.balance).where(PointsAccount.contact_id == contact_id_column)
                         .correlate_except(PointsAccount).scalar_subquery(), 0)


def earned_column(contact_id_column, since: datetime):
    """SQL: points a contact earned since `since` (less reversals), for the tier segment rule."""
    return func.coalesce(select(func.sum(PointsEntry.points)).where(
        PointsEntry.contact_id == contact_id_column, PointsEntry.kind.in_(("earn", "reverse")),
        PointsEntry.at >= since).correlate_except(PointsEntry).scalar_subquery(), 0)
