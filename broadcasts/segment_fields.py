"""The fields of segment rules: one SQL condition builder per field, with the ops it takes
(the grammar and the list of fields are in `broadcasts.segments`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Float, and_, cast, exists, extract, func, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
from sqlmodel import Session

from broadcasts.models import CampaignRecipient
from core.settings import get_settings
from crm import loyalty
from crm.complaints import Complaint
from crm.customer_value import SEGMENTS, CustomerValue
from crm.models import ChannelIdentity, Contact, Conversation
from crm.orders import Order, OrderItem, Product
from crm.promotions import Promotion
from crm.stores import Store

CHANNELS = ("line", "telegram", "simulator")
ACTIVITY = {"active_2w": 14, "active_1m": 30, "active_6m": 182}
COMPARE = ("eq", "ne", "gt", "gte", "lt", "lte")
SET_OPS = ("eq", "ne", "in")
OPEN_COMPLAINT = ("open", "in_progress")


@dataclass
class RuleContext:
    """What a field's condition may read: the session (stores, promotions), the moment of evaluation, the shop's timezone."""

    session: Session | None
    now: datetime
    tz: ZoneInfo


class BadValue(Exception):
    """A rule's value is wrong (message says how)."""



# --- value checks ---------------------------------------------------------------------

def _number(value: Any, low: float | None = None, high: float | None = None, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise BadValue("must be a number")
    if integer and int(value) != value:
        raise BadValue("must be a whole number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadValue(f"must be between {low:g} and {high:g}" if high is not None else f"must be at least {low:g}")
    return int(value) if integer else float(value)


def _strings(op: str, value: Any, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        raise BadValue("`in` takes a non-empty list")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise BadValue("must be a non-empty string" + (" list" if op == "in" else ""))
    items = [item.strip() for item in items]
    if allowed is not None:
        bad = [item for item in items if item not in allowed]
        if bad:
            raise BadValue(f"{', '.join(bad)} is not one of {', '.join(allowed)}")
    return items


def _compare(column: Any, op: str, value: Any) -> ColumnElement:
    return {"eq": column == value, "ne": column != value, "gt": column > value, "gte": column >= value,
            "lt": column < value, "lte": column <= value}[op]


def _set(column: Any, op: str, items: list) -> ColumnElement:
    if op == "in":
        return column.in_(items)
    return column == items[0] if op == "eq" else or_(column != items[0], column.is_(None))


def _when(value: Any, tz: ZoneInfo) -> datetime:
    """An ISO date or date-time; a bare date is the shop's midnight, a time without an offset the shop's clock."""
    if not isinstance(value, str):
        raise BadValue("must be an ISO date or date-time, e.g. 2026-12-01")
    try:
        parsed = datetime.fromisoformat(value) if "T" in value or " " in value else \
            datetime.combine(date.fromisoformat(value), time())
    except ValueError:
        raise BadValue("must be an ISO date or date-time, e.g. 2026-12-01") from None
    return (parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed).astimezone(timezone.utc)


# --- fields ---------------------------------------------------------------------------

CONTACT = Contact.__table__.c
ORDER = Order.__table__.c
ITEM = OrderItem.__table__.c
PRODUCT = Product.__table__.c
COMPLAINT = Complaint.__table__.c


def _channel(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = _strings(op, value, CHANNELS)
    # An alias: fan-out selects FROM the identity table itself, and a bare reference here would
    # auto-correlate to it, leaving the EXISTS without a FROM.
    identity = ChannelIdentity.__table__.alias("rule_identity").c
    has = exists().where(identity.contact_id == CONTACT.id, identity.channel.in_(items))
    return not_(has) if op == "ne" else has


def _has_tag(tag: str) -> ColumnElement:
    # JSON arrays are searched natively: json_each on SQLite, the jsonb ? operator on PostgreSQL.
    return func.sapa_has_tag(CONTACT.tags, tag)  # rendered per dialect by compiles() below


def _tag(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = _strings("in" if op == "in" else "eq", value)
    if op == "ne":
        return not_(_has_tag(items[0]))
    return or_(*[_has_tag(item) for item in items])


def _status(c: RuleContext, op: str, value: Any) -> ColumnElement:
    return _set(CONTACT.status, op, _strings(op, value, ("active", "blocked")))


def _activity_condition(c: RuleContext, name: str) -> ColumnElement:
    if name == "dormant":
        return or_(CONTACT.last_seen_at.is_(None), CONTACT.last_seen_at < c.now - timedelta(days=ACTIVITY["active_6m"]))
    return CONTACT.last_seen_at >= c.now - timedelta(days=ACTIVITY[name])


def _activity(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = _strings(op, value, tuple(ACTIVITY) + ("dormant",))
    condition = or_(*[_activity_condition(c, item) for item in items])
    return not_(condition) if op == "ne" else condition


def _days_ago(column_of: Callable[[], Any]) -> Callable[[RuleContext, str, Any], ColumnElement]:
    """`X_days gt 30` = the moment is more than 30 days ago; never (NULL) counts as infinitely long ago."""
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        days = _number(value, 0, 36_500)
        column = column_of()
        moment = c.now - timedelta(days=days)
        if op == "eq":  # within that calendar-length day
            return and_(column <= moment, column > moment - timedelta(days=1))
        # older moment = more days: invert the comparison
        condition = {"gt": column < moment, "gte": column <= moment, "lt": column > moment, "lte": column >= moment}[op]
        return or_(condition, column.is_(None)) if op in ("gt", "gte") else condition
    return build


def _moment(column_of: Callable[[], Any]) -> Callable[[RuleContext, str, Any], ColumnElement]:
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        return _compare(column_of(), op, _when(value, c.tz))
    return build


def _orders_of():
    return (ORDER.contact_id == CONTACT.id) & (ORDER.status != "cancelled")


def _last_order_at():
    return select(func.max(ORDER.created_at)).where(_orders_of()).scalar_subquery()


def _aggregate(expression_of: Callable[[], Any], integer: bool = True) -> Callable[[RuleContext, str, Any], ColumnElement]:
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        number = _number(value, 0, integer=integer)
        # "more than 0" and "0" are asked most; EXISTS is cheaper than counting.
        if expression_of is _orders_count and number == 0 and op in ("eq", "lte"):
            return not_(exists().where(_orders_of()))
        if expression_of is _orders_count and ((op == "gt" and number == 0) or (op == "gte" and number == 1)):
            return exists().where(_orders_of())
        return _compare(expression_of(), op, number)
    return build


def _orders_count():
    return select(func.count()).where(_orders_of()).scalar_subquery()


def _total_spent():
    return select(func.coalesce(func.sum(ORDER.total), 0)).where(_orders_of()).scalar_subquery()


def _complaints_open():
    return select(func.count()).where(COMPLAINT.contact_id == CONTACT.id,
                                      COMPLAINT.status.in_(OPEN_COMPLAINT)).scalar_subquery()


def _bought(by_category: bool) -> Callable[[RuleContext, str, Any], ColumnElement]:
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        items = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not value):
            raise BadValue("`in` takes a non-empty list")
        conditions = []
        for item in items:
            if by_category:
                if not isinstance(item, str) or not item.strip():
                    raise BadValue("must be a category name")
                conditions.append(ITEM.product_id.in_(select(PRODUCT.id).where(
                    func.lower(PRODUCT.category) == item.strip().lower())))
            elif isinstance(item, int) and not isinstance(item, bool):
                conditions.append(ITEM.product_id == item)
            elif isinstance(item, str) and item.strip():
                conditions.append(func.lower(ITEM.product_name) == item.strip().lower())
            else:
                raise BadValue("must be a product name or id")
        bought = exists().where(ITEM.order_id == ORDER.id, _orders_of(), or_(*conditions))
        return not_(bought) if op == "ne" else bought
    return build


def _birthday(part: str, high: int) -> Callable[[RuleContext, str, Any], ColumnElement]:
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        column = extract(part, CONTACT.birthday)
        if op == "in":
            if not isinstance(value, list) or not value:
                raise BadValue("`in` takes a non-empty list")
            return and_(CONTACT.birthday.is_not(None), column.in_([_number(v, 1, high, True) for v in value]))
        return and_(CONTACT.birthday.is_not(None), _compare(column, op, _number(value, 1, high, True)))
    return build


def _language(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = [item.lower() for item in _strings(op, value)]
    return _set(func.lower(func.coalesce(CONTACT.language, "id")), op, items)


def within_km(lat: float, lon: float, km: float) -> ColumnElement:
    """Contacts whose last shared location is within `km` of the point.

    An equirectangular distance (exact enough for city radii) in plain arithmetic, so
    SQLite without math functions computes it too; the bounding box lets an index help.
    """
    dlat = km / 110.574
    scale = max(math.cos(math.radians(lat)), 0.01)
    dlon = km / (111.320 * scale)
    dy = (CONTACT.last_lat - lat) * 110.574
    dx = (CONTACT.last_lon - lon) * (111.320 * scale)
    return and_(CONTACT.last_lat.is_not(None), CONTACT.last_lon.is_not(None),
                CONTACT.last_lat.between(lat - dlat, lat + dlat), CONTACT.last_lon.between(lon - dlon, lon + dlon),
                dx * dx + dy * dy <= km * km)


def _near(c: RuleContext, op: str, value: Any) -> ColumnElement:
    if not isinstance(value, dict):
        raise BadValue('must be {"lat", "lon", "km"} or {"store_id", "km"}')
    km = _number(value.get("km"), 0.01, 500) if "km" in value else None
    if km is None:
        raise BadValue("km is required (0.01-500)")
    if "store_id" in value:
        store = c.session.get(Store, value["store_id"]) if c.session is not None and isinstance(
            value["store_id"], int) else None
        if store is None:
            raise BadValue(f"store {value['store_id']!r} does not exist")
        return within_km(store.lat, store.lon, km)
    lat, lon = value.get("lat"), value.get("lon")
    return within_km(_number(lat, -90, 90), _number(lon, -180, 180), km)


def _offer(c: RuleContext, op: str, value: Any) -> ColumnElement:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue("must be the id of a location-based promotion")
    promotion = c.session.get(Promotion, value) if c.session is not None else None
    if promotion is None or not promotion.location_based:
        raise BadValue(f"promotion {value} does not exist or has no store and radius")
    store = c.session.get(Store, promotion.store_id)
    return within_km(store.lat, store.lon, promotion.radius_km)


def custom_condition(name: str, op: str, value: Any) -> ColumnElement:
    element = CONTACT.attributes[name]
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(cast(element.as_string(), Float), op, _number(value))
    if op == "in":
        if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) for v in value):
            raise BadValue("`in` takes a non-empty list of strings or numbers")
        return element.as_string().in_([str(v) for v in value])
    if op == "has":
        return element.as_string().is_not(None)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        if isinstance(value, bool):
            return _compare(element.as_boolean(), op, value)
        raise BadValue("must be a string or a number")
    return _compare(element.as_string(), op, str(value)) if op == "eq" else \
        or_(element.as_string() != str(value), element.as_string().is_(None))


def _delivered_order_at():
    return select(func.max(ORDER.updated_at)).where(ORDER.contact_id == CONTACT.id,
                                                    ORDER.status == "delivered").scalar_subquery()


def _abandoned(c: RuleContext, op: str, value: Any) -> ColumnElement:
    """A 1:1 conversation holds an order in progress, untouched for that many minutes."""
    minutes = _number(value, 0, 60 * 24 * 30)
    conv = Conversation.__table__.c
    moment = c.now - timedelta(minutes=minutes)
    touched = {"gt": conv.state_updated_at < moment, "gte": conv.state_updated_at <= moment,
               "lt": conv.state_updated_at > moment, "lte": conv.state_updated_at >= moment}[op]
    return exists().where(conv.contact_id == CONTACT.id, conv.kind == "direct",
                          conv.state[("order", "step")].as_string().is_not(None), touched)


def _received(c: RuleContext, op: str, value: Any) -> ColumnElement:
    """Got a message of that campaign (sent or maybe sent) in the last `days` days."""
    if not isinstance(value, dict) or isinstance(value.get("campaign_id"), bool) or \
            not isinstance(value.get("campaign_id"), int):
        raise BadValue('must be {"campaign_id": id, "days": n}')
    days = _number(value.get("days", 36_500), 0, 36_500)
    d = CampaignRecipient.__table__.c
    got = exists().where(d.contact_id == CONTACT.id, d.campaign_id == value["campaign_id"],
                         d.status.in_(("sent", "unknown")), d.sent_at > c.now - timedelta(days=days))
    return not_(got) if op == "ne" else got


VALUE = CustomerValue.__table__.c


def _value_row(*conditions: ColumnElement) -> ColumnElement:
    """The contact's customer-value row (crm.customer_value) meets `conditions`; no orders, no row."""
    return exists().where(VALUE.contact_id == CONTACT.id, *conditions)


def _rfm_segment(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = _strings(op, value, SEGMENTS)
    # "not at risk" includes the contacts without orders, like `ne` does for the other set fields.
    return not_(_value_row(VALUE.segment == items[0])) if op == "ne" else _value_row(VALUE.segment.in_(items))


def _value_number(column: Any, high: float | None = None) -> Callable[[RuleContext, str, Any], ColumnElement]:
    def build(c: RuleContext, op: str, value: Any) -> ColumnElement:
        return _value_row(_compare(column, op, _number(value, 0, high)))
    return build


def _favourite_category(c: RuleContext, op: str, value: Any) -> ColumnElement:
    items = [item.lower() for item in _strings(op, value)]
    chosen = func.lower(VALUE.favourite_category)
    return not_(_value_row(chosen == items[0])) if op == "ne" else _value_row(chosen.in_(items))


def _loyalty(c: RuleContext, op: str, value: Any) -> ColumnElement:
    """The old `loyalty_tier` custom attribute, kept for saved segments: `tier` is computed from the points ledger."""
    return custom_condition("loyalty_tier", op, value)


def _points(c: RuleContext, op: str, value: Any) -> ColumnElement:
    return _compare(loyalty.balance_column(CONTACT.id), op, _number(value, 0, integer=True))


def _tier_condition(tiers: list, index: int, earned: Any) -> ColumnElement:
    """Earned (last 12 months) within the tier's band: from its min_points (the lowest has none) to the next one's."""
    tier, higher = tiers[index], tiers[index + 1] if index + 1 < len(tiers) else None
    parts = []
    if index > 0:
        parts.append(earned >= tier.min_points)
    if higher is not None:
        parts.append(earned < higher.min_points)
    return and_(*parts) if parts else true()


def _tier(c: RuleContext, op: str, value: Any) -> ColumnElement:
    """The loyalty tier by the points earned in the last 12 months (the rules' tier names, any case)."""
    config = get_settings()
    rules = loyalty.rules_for(c.session, config) if c.session is not None else config.loyalty
    names = [tier.name for tier in rules.tiers]
    wanted = _strings(op, value)
    known = {name.lower(): index for index, name in enumerate(names)}
    unknown = [name for name in wanted if name.lower() not in known]
    if unknown:
        raise BadValue(f"{', '.join(unknown)} is not a tier; the tiers are {', '.join(names)}")
    earned = loyalty.earned_column(CONTACT.id, c.now - loyalty.TIER_WINDOW)
    condition = or_(*[_tier_condition(rules.tiers, known[name.lower()], earned) for name in wanted])
    return not_(condition) if op == "ne" else condition


FIELDS: dict[str, tuple[tuple[str, ...], Callable[[RuleContext, str, Any], ColumnElement]]] = {
    "channel": (SET_OPS, _channel),
    "tag": (("has", "eq", "ne", "in"), _tag),
    "status": (SET_OPS, _status),
    "activity": (SET_OPS, _activity),
    "last_seen_days": (("gt", "gte", "lt", "lte", "eq"), _days_ago(lambda: CONTACT.last_seen_at)),
    "first_seen_days": (("gt", "gte", "lt", "lte", "eq"), _days_ago(lambda: CONTACT.created_at)),
    "last_order_days": (("gt", "gte", "lt", "lte", "eq"), _days_ago(_last_order_at)),
    "delivered_order_days": (("gt", "gte", "lt", "lte", "eq"), _days_ago(_delivered_order_at)),
    "abandoned_order_minutes": (("gt", "gte", "lt", "lte"), _abandoned),
    "received_campaign": (("eq", "ne", "has"), _received),
    "last_seen_at": (("gt", "gte", "lt", "lte"), _moment(lambda: CONTACT.last_seen_at)),
    "first_seen_at": (("gt", "gte", "lt", "lte"), _moment(lambda: CONTACT.created_at)),
    "last_order_at": (("gt", "gte", "lt", "lte"), _moment(_last_order_at)),
    "orders_count": (COMPARE, _aggregate(_orders_count)),
    "total_spent": (COMPARE, _aggregate(_total_spent)),
    "complaints_open": (COMPARE, _aggregate(_complaints_open)),
    "product_bought": (("has", "eq", "in", "ne"), _bought(by_category=False)),
    "category_bought": (("has", "eq", "in", "ne"), _bought(by_category=True)),
    "birthday_month": (COMPARE + ("in",), _birthday("month", 12)),
    "birthday_day": (COMPARE + ("in",), _birthday("day", 31)),
    "language": (SET_OPS, _language),
    "near": (("within",), _near),
    "offer": (("within", "eq"), _offer),
    "points": (COMPARE, _points),
    "tier": (SET_OPS, _tier),
    "loyalty_tier": (("eq", "ne", "in", "has"), _loyalty),
    "rfm_segment": (SET_OPS, _rfm_segment),
    "clv": (("gt", "gte", "lt", "lte"), _value_number(VALUE.predicted_clv)),
    "churn_risk": (("gt", "gte", "lt", "lte"), _value_number(VALUE.churn_risk, 1)),
    "churn_risk_60": (("gt", "gte", "lt", "lte"), _value_number(VALUE.churn_risk_60, 1)),
    "favourite_category": (SET_OPS, _favourite_category),
}
FIELD_NAMES = tuple(FIELDS)


# --- dialect rendering of the tag test ------------------------------------------------

class sapa_has_tag(GenericFunction):  # noqa: N801 - SQL function naming
    """True when the JSON array (first argument) contains the string (second argument)."""

    type = Boolean()
    inherit_cache = True
    name = "sapa_has_tag"


@compiles(sapa_has_tag, "sqlite")
def _has_tag_sqlite(element, compiler, **kw):
    column, tag = list(element.clauses)
    return (f"EXISTS (SELECT 1 FROM json_each({compiler.process(column, **kw)}) "
            f"WHERE json_each.value = {compiler.process(tag, **kw)})")


@compiles(sapa_has_tag, "postgresql")
def _has_tag_postgresql(element, compiler, **kw):
    column, tag = list(element.clauses)
    return f"(CAST({compiler.process(column, **kw)} AS JSONB) ? {compiler.process(tag, **kw)})"
