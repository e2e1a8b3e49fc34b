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
* ``points`` (eq ne gt gte lt lte) — the loyalty points balance
* ``tier`` (eq ne in) — the loyalty tier by the points earned in the last 12 months (a tier name)
* ``custom.<name>`` (eq ne in gt gte lt lte has) — a custom attribute; ``loyalty_tier``, the custom
  attribute segments used before points were kept, stays for the segments saved with it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from broadcasts.models import Segment
from broadcasts.segment_fields import FIELD_NAMES, FIELDS, BadValue, RuleContext, custom_condition
from core.db import utcnow
from core.settings import get_settings
from crm.models import Contact

__all__ = ["FIELDS", "FIELD_NAMES", "SegmentError", "audience_condition", "compile_rules", "count", "create_segment", "sample",
           "validate_rules"]

MAX_DEPTH = 6
MAX_RULES = 100


class SegmentError(ValueError):
    """Rules that cannot be compiled; `details` = [{"field": path, "message"}] for a 422."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))
        self.details = details


@dataclass
class _Compiler(RuleContext):
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
        except BadValue as exc:
            return self.fail(f"{path}.value", str(exc))

    def _custom(self, name: str, op: str, value: Any, path: str) -> ColumnElement:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,50}", name):
            return self.fail(f"{path}.field", "custom fields are named custom.<letters, digits, _ or ->")
        if op not in ("eq", "ne", "in", "has", "gt", "gte", "lt", "lte"):
            return self.fail(f"{path}.op", f"custom fields take eq, ne, in, has, gt, gte, lt, lte, not {op!r}")
        try:
            return custom_condition(name, op, value)
        except BadValue as exc:
            return self.fail(f"{path}.value", str(exc))






def compile_rules(rules: Any, *, session: Session | None = None, now: datetime | None = None,
                  tz: ZoneInfo | None = None) -> ColumnElement:
    """The SQL condition on `contact` for `rules`; SegmentError listing every problem.

    Dates in the rules are the shop's (`tz`, by default the configured timezone).
    """
    live = Contact.merged_into.is_(None)  # a contact merged into another is that other one now
    if rules is None or rules == {}:
        return live  # no rules: everyone
    compiler = _Compiler(session=session, now=now or utcnow(), tz=tz or get_settings().tz, errors=[])
    condition = compiler.node(rules, "rules", 0)
    if compiler.errors:
        raise SegmentError(compiler.errors)
    return and_(live, condition)


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


def audience_condition(*, session: Session, segment_id: int | None = None, rules: Any = None) -> ColumnElement:
    """The condition on `contact` of a saved segment or of rules (everyone for neither); SegmentError otherwise."""
    if segment_id is not None:
        segment = session.get(Segment, segment_id)
        if segment is None:
            raise SegmentError([{"field": "segment_id", "message": f"no segment {segment_id}"}])
        rules = segment.rules
    return compile_rules(rules, session=session)


def create_segment(*, session: Session, name: str, rules: Any) -> Segment:
    """Save a named segment (SegmentError when the rules do not compile)."""
    segment = Segment(name=name, rules=validate_rules(rules, session=session))
    session.add(segment)
    session.flush()
    return segment
