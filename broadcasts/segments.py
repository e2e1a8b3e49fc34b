"""Segments: audience rules compiled into ONE SQL condition on `contact`.

Grammar (the contract in DESIGN.md): a node is ``{"all": [node, …]}``, ``{"any": [node, …]}``
(nestable) or a rule ``{"field", "op", "value"}``. Every field compiles to a column
comparison or a correlated sub-query, so counting or resolving an audience is a single
statement the database plans as a whole (never contacts loaded into Python).

Fields and their ops:

* ``channel`` (eq ne in) — has an identity on that channel
* ``tag`` (has eq ne in) — ``has``/``eq``: carries the tag; ``in``: any of the tags; ``ne``: lacks it
* ``status`` (eq ne in) — ``active`` | ``blocked``
* ``activity`` (eq ne in) — ``active_2w`` | ``active_1m`` | ``active_6m`` | ``dormant`` (not seen in 6 months)
* ``last_seen_days``, ``first_seen_days``, ``last_order_days`` (gt gte lt lte eq) — days ago
* ``last_seen_at``, ``first_seen_at``, ``last_order_at`` (gt gte lt lte) — ISO date/time
* ``orders_count``, ``total_spent``, ``complaints_open`` (eq ne gt gte lt lte)
* ``product_bought``, ``category_bought`` (has eq in ne) — product name/id, category name
* ``birthday_month`` (1-12), ``birthday_day`` (1-31) (eq ne in gt gte lt lte)
* ``language`` (eq ne in) — unknown language counts as the default (``id``)
* ``near`` (within) — value ``{"lat", "lon", "km"}`` or ``{"store_id", "km"}``: last shared location
* ``offer`` (within eq) — value a location-based promotion id: inside its store's radius
* ``delivered_order_days`` (gt gte lt lte eq) — days since an order was delivered
* ``abandoned_order_minutes`` (gt gte lt lte) — an order in progress in the chat, idle that long
* ``received_campaign`` (eq has ne) — value ``{"campaign_id", "days"}``: got it in the last days
* ``custom.<name>`` / ``loyalty_tier`` (eq ne in gt gte lt lte has) — a custom attribute
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import Boolean, Float, and_, cast, exists, extract, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.complaints import Complaint
from core.db import utcnow
from crm.models import ChannelIdentity, Contact
from crm.orders import Order, OrderItem, Product

MAX_DEPTH = 6
MAX_RULES = 100
CHANNELS = ("line", "telegram", "simulator")
ACTIVITY = {"active_2w": 14, "active_1m": 30, "active_6m": 182}
COMPARE = ("eq", "ne", "gt", "gte", "lt", "lte")
SET_OPS = ("eq", "ne", "in")
OPEN_COMPLAINT = ("open", "in_progress")


class SegmentError(ValueError):
    """Rules that cannot be compiled; `details` = [{"field": path, "message"}] for a 422."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))
        self.details = details


@dataclass
class _Compiler:
    session: Session | None
    now: datetime
    errors: list[dict[str, str]]
    count: int = 0

    def fail(self, path: str, message: str) -> ColumnElement:
        self.errors.append({"field": path, "message": message})
        return false()

    def node(self, node: Any, path: str, depth: int) -> ColumnElement:
        if depth > MAX_DEPTH:
            return self.fail(path, f"rules nest deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            return self.fail(path, 'a rule must be an object: {"field", "op", "value"} or {"all"|"any": [...]}')
        groups = [key for key in ("all", "any") if key in node]
        if groups:
            if len(node) != 1:
                return self.fail(path, 'a group has exactly one key, "all" or "any"')
            key = groups[0]
            items = node[key]
            if not isinstance(items, list):
                return self.fail(f"{path}.{key}", "must be a list of rules")
            parts = [self.node(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]
            if not parts:  # an empty "all" matches everyone, an empty "any" no one
                return true() if key == "all" else false()
            return and_(*parts) if key == "all" else or_(*parts)
        self.count += 1
        if self.count > MAX_RULES:
            return self.fail(path, f"at most {MAX_RULES} rules")
        unknown = sorted(set(node) - {"field", "op", "value"})
        if unknown:
            return self.fail(path, f"unknown key(s) {', '.join(unknown)}; a rule has field, op, value")
        field, op = node.get("field"), node.get("op")
        if not isinstance(field, str) or not field:
            return self.fail(f"{path}.field", f"required; one of {', '.join(FIELD_NAMES)} or custom.<name>")
        if not isinstance(op, str):
            return self.fail(f"{path}.op", "required (eq, ne, in, has, gt, gte, lt, lte, within)")
        if "value" not in node:
            return self.fail(f"{path}.value", "required")
        if field.startswith("custom."):
            return self._custom(field[len("custom."):], op, node["value"], path)
        compiler = FIELDS.get(field)
        if compiler is None:
            return self.fail(f"{path}.field", f"unknown field {field!r}; use one of {', '.join(FIELD_NAMES)} "
                                              "or custom.<name>")
        ops, build = compiler
        if op not in ops:
            return self.fail(f"{path}.op", f"{field} takes {', '.join(ops)}, not {op!r}")
        try:
            return build(self, op, node["value"])
        except _Bad as exc:
            return self.fail(f"{path}.value", str(exc))

    def _custom(self, name: str, op: str, value: Any, path: str) -> ColumnElement:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,50}", name):
            return self.fail(f"{path}.field", "custom fields are named custom.<letters, digits, _ or ->")
        if op not in ("eq", "ne", "in", "has", "gt", "gte", "lt", "lte"):
            return self.fail(f"{path}.op", f"custom fields take eq, ne, in, has, gt, gte, lt, lte, not {op!r}")
        try:
            return _custom_condition(name, op, value)
        except _Bad as exc:
            return self.fail(f"{path}.value", str(exc))


class _Bad(Exception):
    """A rule's value is wrong (message says how)."""


# --- value checks ---------------------------------------------------------------------

def _number(value: Any, low: float | None = None, high: float | None = None, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise _Bad("must be a number")
    if integer and int(value) != value:
        raise _Bad("must be a whole number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Bad(f"must be between {low:g} and {high:g}" if high is not None else f"must be at least {low:g}")
    return int(value) if integer else float(value)


def _strings(op: str, value: Any, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = value if op == "in" else [value]
    if op == "in" and (not isinstance(value, list) or not value):
        raise _Bad("`in` takes a non-empty list")
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise _Bad("must be a non-empty string" + (" list" if op == "in" else ""))
    items = [item.strip() for item in items]
    if allowed is not None:
        bad = [item for item in items if item not in allowed]
        if bad:
            raise _Bad(f"{', '.join(bad)} is not one of {', '.join(allowed)}")
    return items


def _compare(column: Any, op: str, value: Any) -> ColumnElement:
    return {"eq": column == value, "ne": column != value, "gt": column > value, "gte": column >= value,
            "lt": column < value, "lte": column <= value}[op]


def _set(column: Any, op: str, items: list) -> ColumnElement:
    if op == "in":
        return column.in_(items)
    return column == items[0] if op == "eq" else or_(column != items[0], column.is_(None))


def _when(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Bad("must be an ISO date or date-time, e.g. 2026-12-01")
    try:
        parsed = datetime.fromisoformat(value) if "T" in value or " " in value else \
            datetime.combine(date.fromisoformat(value), time())
    except ValueError:
        raise _Bad("must be an ISO date or date-time, e.g. 2026-12-01") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


# --- fields ---------------------------------------------------------------------------

CONTACT = Contact.__table__.c
ORDER = Order.__table__.c
ITEM = OrderItem.__table__.c
PRODUCT = Product.__table__.c
COMPLAINT = Complaint.__table__.c


def _channel(c: _Compiler, op: str, value: Any) -> ColumnElement:
    items = _strings(op, value, CHANNELS)
    # An alias: fan-out selects FROM the identity table itself, and a bare reference here would
    # auto-correlate to it, leaving the EXISTS without a FROM.
    identity = ChannelIdentity.__table__.alias("rule_identity").c
    has = exists().where(identity.contact_id == CONTACT.id, identity.channel.in_(items))
    return not_(has) if op == "ne" else has


def _has_tag(tag: str) -> ColumnElement:
    # JSON arrays are searched natively: json_each on SQLite, the jsonb ? operator on PostgreSQL.
    return func.sapa_has_tag(CONTACT.tags, tag)  # rendered per dialect by compiles() below


def _tag(c: _Compiler, op: str, value: Any) -> ColumnElement:
    items = _strings("in" if op == "in" else "eq", value)
    if op == "ne":
        return not_(_has_tag(items[0]))
    return or_(*[_has_tag(item) for item in items])


def _status(c: _Compiler, op: str, value: Any) -> ColumnElement:
    return _set(CONTACT.status, op, _strings(op, value, ("active", "blocked")))


def _activity_condition(c: _Compiler, name: str) -> ColumnElement:
    if name == "dormant":
        return or_(CONTACT.last_seen_at.is_(None), CONTACT.last_seen_at < c.now - timedelta(days=ACTIVITY["active_6m"]))
    return CONTACT.last_seen_at >= c.now - timedelta(days=ACTIVITY[name])


def _activity(c: _Compiler, op: str, value: Any) -> ColumnElement:
    items = _strings(op, value, tuple(ACTIVITY) + ("dormant",))
    condition = or_(*[_activity_condition(c, item) for item in items])
    return not_(condition) if op == "ne" else condition


def _days_ago(column_of: Callable[[], Any]) -> Callable[[_Compiler, str, Any], ColumnElement]:
    """`X_days gt 30` = the moment is more than 30 days ago; never (NULL) counts as infinitely long ago."""
    def build(c: _Compiler, op: str, value: Any) -> ColumnElement:
        days = _number(value, 0, 36_500)
        column = column_of()
        moment = c.now - timedelta(days=days)
        if op == "eq":  # within that calendar-length day
            return and_(column <= moment, column > moment - timedelta(days=1))
        # older moment = more days: invert the comparison
        condition = {"gt": column < moment, "gte": column <= moment, "lt": column > moment, "lte": column >= moment}[op]
        return or_(condition, column.is_(None)) if op in ("gt", "gte") else condition
    return build


def _moment(column_of: Callable[[], Any]) -> Callable[[_Compiler, str, Any], ColumnElement]:
    def build(c: _Compiler, op: str, value: Any) -> ColumnElement:
        return _compare(column_of(), op, _when(value))
    return build


def _orders_of():
    return (ORDER.contact_id == CONTACT.id) & (ORDER.status != "cancelled")


def _last_order_at():
    return select(func.max(ORDER.created_at)).where(_orders_of()).scalar_subquery()


def _aggregate(expression_of: Callable[[], Any], integer: bool = True) -> Callable[[_Compiler, str, Any], ColumnElement]:
    def build(c: _Compiler, op: str, value: Any) -> ColumnElement:
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


def _bought(by_category: bool) -> Callable[[_Compiler, str, Any], ColumnElement]:
    def build(c: _Compiler, op: str, value: Any) -> ColumnElement:
        items = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not value):
            raise _Bad("`in` takes a non-empty list")
        conditions = []
        for item in items:
            if by_category:
                if not isinstance(item, str) or not item.strip():
                    raise _Bad("must be a category name")
                conditions.append(ITEM.product_id.in_(select(PRODUCT.id).where(
                    func.lower(PRODUCT.category) == item.strip().lower())))
            elif isinstance(item, int) and not isinstance(item, bool):
                conditions.append(ITEM.product_id == item)
            elif isinstance(item, str) and item.strip():
                conditions.append(func.lower(ITEM.product_name) == item.strip().lower())
            else:
                raise _Bad("must be a product name or id")
        bought = exists().where(ITEM.order_id == ORDER.id, _orders_of(), or_(*conditions))
        return not_(bought) if op == "ne" else bought
    return build


def _birthday(part: str, high: int) -> Callable[[_Compiler, str, Any], ColumnElement]:
    def build(c: _Compiler, op: str, value: Any) -> ColumnElement:
        column = extract(part, CONTACT.birthday)
        if op == "in":
            if not isinstance(value, list) or not value:
                raise _Bad("`in` takes a non-empty list")
            return and_(CONTACT.birthday.is_not(None), column.in_([_number(v, 1, high, True) for v in value]))
        return and_(CONTACT.birthday.is_not(None), _compare(column, op, _number(value, 1, high, True)))
    return build


def _language(c: _Compiler, op: str, value: Any) -> ColumnElement:
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


def _near(c: _Compiler, op: str, value: Any) -> ColumnElement:
    if not isinstance(value, dict):
        raise _Bad('must be {"lat", "lon", "km"} or {"store_id", "km"}')
    km = _number(value.get("km"), 0.01, 500) if "km" in value else None
    if km is None:
        raise _Bad("km is required (0.01-500)")
    if "store_id" in value:
        from crm.stores import Store

        store = c.session.get(Store, value["store_id"]) if c.session is not None and isinstance(
            value["store_id"], int) else None
        if store is None:
            raise _Bad(f"store {value['store_id']!r} does not exist")
        return within_km(store.lat, store.lon, km)
    lat, lon = value.get("lat"), value.get("lon")
    return within_km(_number(lat, -90, 90), _number(lon, -180, 180), km)


def _offer(c: _Compiler, op: str, value: Any) -> ColumnElement:
    from crm.promotions import Promotion
    from crm.stores import Store

    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be the id of a location-based promotion")
    promotion = c.session.get(Promotion, value) if c.session is not None else None
    if promotion is None or not promotion.location_based:
        raise _Bad(f"promotion {value} does not exist or has no store and radius")
    store = c.session.get(Store, promotion.store_id)
    return within_km(store.lat, store.lon, promotion.radius_km)


def _custom_condition(name: str, op: str, value: Any) -> ColumnElement:
    element = CONTACT.attributes[name]
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(cast(element.as_string(), Float), op, _number(value))
    if op == "in":
        if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) for v in value):
            raise _Bad("`in` takes a non-empty list of strings or numbers")
        return element.as_string().in_([str(v) for v in value])
    if op == "has":
        return element.as_string().is_not(None)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        if isinstance(value, bool):
            return _compare(element.as_boolean(), op, value)
        raise _Bad("must be a string or a number")
    return _compare(element.as_string(), op, str(value)) if op == "eq" else \
        or_(element.as_string() != str(value), element.as_string().is_(None))


def _delivered_order_at():
    return select(func.max(ORDER.updated_at)).where(ORDER.contact_id == CONTACT.id,
                                                    ORDER.status == "delivered").scalar_subquery()


def _abandoned(c: _Compiler, op: str, value: Any) -> ColumnElement:
    """A 1:1 conversation holds an order in progress, untouched for that many minutes."""
    from crm.models import Conversation

    minutes = _number(value, 0, 60 * 24 * 30)
    conv = Conversation.__table__.c
    moment = c.now - timedelta(minutes=minutes)
    touched = {"gt": conv.state_updated_at < moment, "gte": conv.state_updated_at <= moment,
               "lt": conv.state_updated_at > moment, "lte": conv.state_updated_at >= moment}[op]
    return exists().where(conv.contact_id == CONTACT.id, conv.kind == "direct",
                          conv.state[("order", "step")].as_string().is_not(None), touched)


def _received(c: _Compiler, op: str, value: Any) -> ColumnElement:
    """Got a message of that campaign (sent or maybe sent) in the last `days` days."""
    from broadcasts.models import CampaignRecipient

    if not isinstance(value, dict) or isinstance(value.get("campaign_id"), bool) or \
            not isinstance(value.get("campaign_id"), int):
        raise _Bad('must be {"campaign_id": id, "days": n}')
    days = _number(value.get("days", 36_500), 0, 36_500)
    d = CampaignRecipient.__table__.c
    got = exists().where(d.contact_id == CONTACT.id, d.campaign_id == value["campaign_id"],
                         d.status.in_(("sent", "unknown")), d.sent_at > c.now - timedelta(days=days))
    return not_(got) if op == "ne" else got


def _loyalty(c: _Compiler, op: str, value: Any) -> ColumnElement:
    return _custom_condition("loyalty_tier", op, value)


FIELDS: dict[str, tuple[tuple[str, ...], Callable[[_Compiler, str, Any], ColumnElement]]] = {
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
    "loyalty_tier": (("eq", "ne", "in", "has"), _loyalty),
}
FIELD_NAMES = tuple(FIELDS)


def compile_rules(rules: Any, *, session: Session | None = None, now: datetime | None = None) -> ColumnElement:
    """The SQL condition on `contact` for `rules`; SegmentError listing every problem."""
    if rules is None or rules == {}:
        return true()  # no rules: everyone
    compiler = _Compiler(session=session, now=now or utcnow(), errors=[])
    condition = compiler.node(rules, "rules", 0)
    if compiler.errors:
        raise SegmentError(compiler.errors)
    return condition


def validate_rules(rules: Any, *, session: Session | None = None) -> dict:
    """The rules unchanged when they compile (SegmentError otherwise)."""
    compile_rules(rules, session=session)
    return rules or {}


def count(*, session: Session, rules: Any, now: datetime | None = None) -> int:
    """How many contacts match the rules (one COUNT query)."""
    condition = compile_rules(rules, session=session, now=now)
    return session.execute(select(func.count()).select_from(Contact.__table__).where(condition)).scalar_one()


def sample(*, session: Session, rules: Any, limit: int = 10, now: datetime | None = None) -> list[Contact]:
    """Some matching contacts, most recently seen first (for the preview)."""
    condition = compile_rules(rules, session=session, now=now)
    query = (select(Contact).where(condition)
             .order_by(Contact.last_seen_at.desc().nulls_last(), Contact.id.desc()).limit(limit))
    return list(session.execute(query).scalars().all())


def create_segment(*, session: Session, name: str, rules: Any):
    """Save a named segment (SegmentError when the rules do not compile)."""
    from broadcasts.models import Segment

    segment = Segment(name=name, rules=validate_rules(rules, session=session))
    session.add(segment)
    session.flush()
    return segment


# --- dialect rendering of the tag test ------------------------------------------------

from sqlalchemy.ext.compiler import compiles  # noqa: E402
from sqlalchemy.sql.functions import GenericFunction  # noqa: E402


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
