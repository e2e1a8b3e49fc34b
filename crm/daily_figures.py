"""The dashboards' pre-aggregated figures: one row per shop day (in the shop's timezone), metric and key.

A dashboard page never scans messages or orders: the clock refreshes today's and yesterday's rows
every few minutes and computes each older day once (`refresh_recent`); `sapa figures rebuild` redoes
a range. Each refresh of a day deletes that day's rows and writes them again in one transaction, so
running it twice changes nothing. Today's figures are computed live from the same `day_rows` (a
day's worth of rows through the timestamp indexes is cheap), so staff see their last reply counted.

Day metrics (`DAY_METRICS`; key → value, amount):
    messages_in      ""                    inbound messages
    staff_replies    staff id              staff replies
    first_response   responder id or ""    episodes whose first staff reply fell that day, total seconds
    resolution       resolver id or ""     episodes resolved that day, total seconds
    first_response_s / resolution_s        seconds (to 6 s) → how many episodes took them (for the medians)
    orders           channel               orders placed that day (not cancelled), revenue (Rupiah, their totals)
    customers_new    ""                    customers whose first order it was
    customers_active ""                    customers who ordered
    products         product name          units sold, revenue
    points           ledger kind           points moved (earn > 0, redeem/expire < 0, …)
    cross_sell       product offered       orders offered it, amount = orders that kept it
    cross_sell_without product offered     orders without an offer where a rule led to it, amount = those that held it

Snapshots, written for the day they are taken (they cannot be rebuilt for the past):
    segments         RFM segment           customers in it (crm.customer_value)
    rfm              "R-F" scores          customers, label = the cell's most common segment
    points_outstanding ""                  points held by customers, amount = customers holding some
Monthly: `cohort` on the first day of an activity month, key = first-order month "YYYY-MM", value =
customers of that cohort who ordered in the month. Other packages add their own metrics with `store`
(the campaign funnel comes from broadcasts, which this floor cannot import).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import NamedTuple
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Index, UniqueConstraint, and_, delete, distinct, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, select

from core.db import as_utc, utcnow
from core.localtime import day_start
from crm import cross_sell
from crm.customer_value import CustomerValue
from crm.loyalty import PointsAccount, PointsEntry
from crm.models import Conversation, ConversationEpisode, Message
from crm.orders import Order, OrderItem

log = logging.getLogger(__name__)

DAY_METRICS = ("messages_in", "staff_replies", "first_response", "first_response_s", "resolution", "resolution_s",
               "orders", "customers_new", "customers_active", "products", "points", "cross_sell",
               "cross_sell_without")
CONVERSATION_WINDOWS = (7, 30, 90)  # the support dashboard's periods, in the shop's days
SNAPSHOT_METRICS = ("segments", "rfm", "points_outstanding",
                    *(f"conversations_{days}" for days in CONVERSATION_WINDOWS))
DONE = "_day"  # one row per computed day: when it was computed (a day computed after it ended is final)
BACKFILL_DAYS_PER_RUN = 92  # older days computed per clock run: a new install catches up in a few runs
KEY_MAX = 200
MEDIAN_STEP = 6  # seconds: a median is shown to the 0.1 minute, so the times behind it are kept to that
EPISODE_TIMES = {"first_response": ("first_response_at", "responder_id"), "resolution": ("resolved_at", "resolver_id")}


class Figure(NamedTuple):
    """One figure as a page reads it (a plain row: a dashboard reads hundreds)."""

    metric: str
    day: date
    key: str
    label: str
    value: int
    amount: float


class DailyFigure(SQLModel, table=True):
    """One figure of one shop day: `value` (a count) and `amount` (seconds, Rupiah…) under a metric and key."""

    __table_args__ = (UniqueConstraint("metric", "day", "key", name="uq_dailyfigure_metric_day_key"),
                      Index("ix_dailyfigure_metric_day", "metric", "day"))

    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=32)
    day: date
    key: str = Field(default="", max_length=KEY_MAX)
    label: str = Field(default="", max_length=KEY_MAX)
    value: int = 0
    amount: float = 0.0
    computed_at: datetime = Field(default_factory=utcnow)


def seconds_between(session: Session, later, earlier):
    """SQL for the seconds between two timestamps (computed by the database, not row by row in Python)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    """The shop's day of a stored timestamp."""
    return as_utc(moment).astimezone(tz).date()


# --- computing one day ----------------------------------------------------------------------


def row(metric: str, day: date, key=None, value=0, amount=0.0, label: str = "") -> dict:
    """One figure as `store` takes it (a key of None is "")."""
    return {"metric": metric, "day": day, "key": "" if key is None else str(key)[:KEY_MAX], "label": label[:KEY_MAX],
            "value": int(value or 0), "amount": float(amount or 0)}


def _episode_rows(session: Session, day: date, start: datetime, end: datetime, metric: str, ended, who) -> list[dict]:
    seconds = seconds_between(session, ended, ConversationEpisode.opened_at)
    taken = session.exec(select(who, seconds).where(ended >= start, ended < end)).all()
    per_staff: dict[int | None, list[float]] = defaultdict(list)
    for staff_id, value in taken:
        if value is not None and value >= 0:  # a clock skew never makes a negative time
            per_staff[staff_id].append(float(value))
    rows = [row(metric, day, staff_id, len(values), sum(values)) for staff_id, values in per_staff.items()]
    kept = Counter(MEDIAN_STEP * round(value / MEDIAN_STEP) for values in per_staff.values() for value in values)
    return rows + [row(f"{metric}_s", day, seconds, count) for seconds, count in kept.items()]


def _inbound(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    count = session.exec(select(func.count(Message.id)).where(
        Message.direction == "in", Message.created_at >= start, Message.created_at < end)).one()
    return [row("messages_in", day, "", count)]


def _staff_replies(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    return [row("staff_replies", day, staff_id, count) for staff_id, count in session.exec(
        select(Message.staff_user_id, func.count(Message.id)).where(
            Message.sender == "staff", Message.created_at >= start, Message.created_at < end)
        .group_by(Message.staff_user_id)).all()]


def _episodes(metric: str):
    ended, who = (getattr(ConversationEpisode, name) for name in EPISODE_TIMES[metric])
    return lambda session, day, start, end: _episode_rows(session, day, start, end, metric, ended, who)


def _placed(start: datetime, end: datetime):
    return and_(Order.status != "cancelled", Order.created_at >= start, Order.created_at < end)


def _orders(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    return [row("orders", day, channel, count, revenue) for channel, count, revenue in session.exec(
        select(Order.channel, func.count(Order.id), func.sum(Order.total)).where(_placed(start, end))
        .group_by(Order.channel)).all()]


def _customers(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    earlier = aliased(Order)  # the same customer's other orders
    before = exists().where(earlier.contact_id == Order.contact_id, earlier.status != "cancelled",
                            earlier.created_at < Order.created_at)
    new = session.exec(select(func.count(distinct(Order.contact_id))).where(_placed(start, end), ~before)).one()
    active = session.exec(select(func.count(distinct(Order.contact_id))).where(_placed(start, end))).one()
    return [row("customers_new", day, "", new), row("customers_active", day, "", active)]


def _products(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    return [row("products", day, name, units, revenue) for name, units, revenue in session.exec(
        select(OrderItem.product_name, func.sum(OrderItem.quantity), func.sum(OrderItem.quantity * OrderItem.price))
        .join(Order, Order.id == OrderItem.order_id).where(_placed(start, end)).group_by(OrderItem.product_name)).all()]


def _points(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    return [row("points", day, kind, points) for kind, points in session.exec(
        select(PointsEntry.kind, func.sum(PointsEntry.points)).where(PointsEntry.at >= start, PointsEntry.at < end)
        .group_by(PointsEntry.kind)).all()]


def _cross_sell(session: Session, day: date, start: datetime, end: datetime) -> list[dict]:
    items = cross_sell.attach_rate(session=session, start=start, end=end)["items"]
    return [figure for item in items for figure in (
        row("cross_sell", day, item["product"] or str(item["product_id"]), item["offered"], item["accepted"]),
        row("cross_sell_without", day, item["product"] or str(item["product_id"]), item["orders_without"],
            item["bought_without"]))]


# Which query writes which day metrics (a page computing today live runs only those it shows).
DAY_QUERIES = ((("messages_in",), _inbound), (("staff_replies",), _staff_replies),
               (("first_response", "first_response_s"), _episodes("first_response")),
               (("resolution", "resolution_s"), _episodes("resolution")),
               (("orders",), _orders), (("customers_new", "customers_active"), _customers),
               (("products",), _products), (("points",), _points), (("cross_sell", "cross_sell_without"), _cross_sell))


def day_rows(*, session: Session, day: date, tz: ZoneInfo, metrics: Iterable[str] = DAY_METRICS) -> list[dict]:
    """The day `metrics` of the shop's day `day`, computed from the raw rows (what `refresh_days` stores)."""
    start, end = day_start(day, tz), day_start(day + timedelta(days=1), tz)
    wanted = set(metrics)
    rows = [item for written, query in DAY_QUERIES if wanted.intersection(written)
            for item in query(session, day, start, end)]
    return [item for item in rows if item["metric"] in wanted
            and (item["value"] or item["amount"] or item["metric"] == "messages_in")]


def _conversation_groups(session: Session, since: datetime) -> list[tuple]:
    """(channel, last intent, assignee id, status, handed off since `since`, chats) of the chats written in since."""
    handed_off = Conversation.handoff_at >= since
    groups = (Conversation.channel, Conversation.last_intent, Conversation.assignee_id, Conversation.status, handed_off)
    return [(*group, count) for *group, count in session.exec(
        select(*groups, func.count()).where(Conversation.last_message_at >= since).group_by(*groups)).all()]


def conversation_groups(*, session: Session, days: int, tz: ZoneInfo, now: datetime | None = None) -> list[tuple]:
    """The chats with a message in the shop's last `days` days as they stand, grouped (see `_conversation_groups`):
    today's snapshot of the clock when there is one (a chat moves to the day of its last message, so this is no
    sum of days), else counted now."""
    today = local_day(now or utcnow(), tz)
    if days in CONVERSATION_WINDOWS:
        taken = stored(session=session, metrics=[f"conversations_{days}"], first=today, last=today)
        if taken or session.exec(select(DailyFigure.id).where(DailyFigure.metric == DONE,
                                                              DailyFigure.day == today)).first():
            return [_conversation_group(figure) for figure in taken]
    return _conversation_groups(session, day_start(today - timedelta(days=days - 1), tz))


def _conversation_group(figure: Figure) -> tuple:
    channel, intent, assignee, status, handed = figure.key.split("|")
    return (channel, intent or None, int(assignee) if assignee else None, status, handed == "1", figure.value)


def snapshot_rows(*, session: Session, day: date, tz: ZoneInfo) -> list[dict]:
    """The figures that only exist as of now: customers per RFM segment and grid cell, points outstanding, the chats
    of the support dashboard's periods."""
    rows = [row("segments", day, segment, count) for segment, count in session.exec(
        select(CustomerValue.segment, func.count()).group_by(CustomerValue.segment)).all()]
    cells: dict[str, Counter] = defaultdict(Counter)
    for r, f, segment, count in session.exec(select(CustomerValue.r_score, CustomerValue.f_score, CustomerValue.segment,
                                                    func.count()).group_by(CustomerValue.r_score, CustomerValue.f_score,
                                                                           CustomerValue.segment)).all():
        cells[f"{r}-{f}"][segment] += count
    rows += [row("rfm", day, cell, sum(tally.values()), label=tally.most_common(1)[0][0])
             for cell, tally in cells.items()]
    for days in CONVERSATION_WINDOWS:
        since = day_start(day - timedelta(days=days - 1), tz)
        chats: Counter = Counter()  # never handed off (NULL) and handed off before the period are one group
        for channel, intent, assignee, status, handed, count in _conversation_groups(session, since):
            chats[f"{channel}|{intent or ''}|{assignee or ''}|{status}|{int(bool(handed))}"] += count
        rows += [row(f"conversations_{days}", day, key, count) for key, count in chats.items()]
    points, holders = session.exec(select(func.coalesce(func.sum(PointsAccount.balance), 0),
                                          func.count(PointsAccount.contact_id)).where(PointsAccount.balance > 0)).one()
    rows.append(row("points_outstanding", day, "", points, holders))
    return rows


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def cohort_rows(*, session: Session, month: date, tz: ZoneInfo) -> list[dict]:
    """For the activity month `month` (its first day): customers who ordered in it, by their first-order month."""
    start, end = day_start(month, tz), day_start(_next_month(month), tz)
    ordered = select(Order.contact_id).where(Order.status != "cancelled", Order.created_at >= start,
                                             Order.created_at < end).distinct().subquery()
    firsts = session.exec(select(Order.contact_id, func.min(Order.created_at))
                          .where(Order.status != "cancelled", Order.contact_id.in_(select(ordered.c.contact_id)))
                          .group_by(Order.contact_id)).all()
    cohorts = Counter(local_day(first, tz).strftime("%Y-%m") for _, first in firsts)
    return [row("cohort", month, cohort, count) for cohort, count in cohorts.items()]


# --- storing ----------------------------------------------------------------------------------


def store(*, session: Session, metrics: Iterable[str], days: Iterable[date], rows: list[dict],
          now: datetime | None = None) -> None:
    """Replace the rows of `metrics` on `days` with `rows` (idempotent: the same call twice leaves the same rows)."""
    metrics, days = list(metrics), list(days)
    if not metrics or not days:
        return
    session.exec(delete(DailyFigure).where(DailyFigure.metric.in_(metrics), DailyFigure.day.in_(days)))
    now = now or utcnow()
    session.add_all([DailyFigure(**row, computed_at=now) for row in rows])
    session.flush()


def refresh_days(*, session: Session, first: date, last: date, tz: ZoneInfo, now: datetime | None = None) -> int:
    """Recompute and store the day metrics of the shop's days `first`..`last`, their months' cohorts, and (when
    `last` is today) today's snapshots; the number of days."""
    now = now or utcnow()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    for day in days:
        store(session=session, metrics=(*DAY_METRICS, DONE), days=[day], now=now,
              rows=day_rows(session=session, day=day, tz=tz) + [row(DONE, day, "", 1)])
    for month in sorted({_month_start(day) for day in days}):
        store(session=session, metrics=["cohort"], days=[month], rows=cohort_rows(session=session, month=month, tz=tz),
              now=now)
    today = local_day(now, tz)
    if first <= today <= last:
        store(session=session, metrics=SNAPSHOT_METRICS, days=[today], now=now,
              rows=snapshot_rows(session=session, day=today, tz=tz))
    return len(days)


def _first_day(session: Session, tz: ZoneInfo) -> date | None:
    """The shop's first day with a message or an order (where a backfill starts)."""
    moments = [session.exec(select(func.min(Message.created_at))).one(),
               session.exec(select(func.min(Order.created_at))).one()]
    moments = [moment for moment in moments if moment is not None]
    return min(local_day(moment, tz) for moment in moments) if moments else None


def pending_days(*, session: Session, tz: ZoneInfo, now: datetime, limit: int = BACKFILL_DAYS_PER_RUN) -> list[date]:
    """Days before yesterday that were never computed after they ended, newest first (at most `limit`)."""
    first = _first_day(session, tz)
    today = local_day(now, tz)
    if first is None or first >= today - timedelta(days=1):
        return []
    final = {day for day, computed_at in session.exec(select(DailyFigure.day, DailyFigure.computed_at).where(
        DailyFigure.metric == DONE, DailyFigure.day >= first)).all()
             if as_utc(computed_at) >= day_start(day + timedelta(days=1), tz)}
    pending = []
    day = today - timedelta(days=2)
    while day >= first and len(pending) < limit:
        if day not in final:
            pending.append(day)
        day -= timedelta(days=1)
    return pending


def refresh_recent(*, session: Session, tz: ZoneInfo, now: datetime | None = None) -> int:
    """The clock's run: yesterday and today again, then older days never computed since they ended; days done."""
    now = now or utcnow()
    today = local_day(now, tz)
    done = refresh_days(session=session, first=today - timedelta(days=1), last=today, tz=tz, now=now)
    for day in pending_days(session=session, tz=tz, now=now):
        done += refresh_days(session=session, first=day, last=day, tz=tz, now=now)
    return done


# --- reading ----------------------------------------------------------------------------------


FIGURE_COLUMNS = (DailyFigure.metric, DailyFigure.day, DailyFigure.key, DailyFigure.label, DailyFigure.value,
                  DailyFigure.amount)


def read(*, session: Session, metrics: Iterable[str], first: date, last: date, tz: ZoneInfo,
         now: datetime | None = None) -> list[Figure]:
    """The stored rows of day `metrics` over `first`..`last`, today's (if in range) computed live instead."""
    metrics = list(metrics)
    today = local_day(now or utcnow(), tz)
    rows = stored(session=session, metrics=metrics, first=first, last=min(last, today - timedelta(days=1)))
    if first <= today <= last:
        rows += [Figure(**item) for item in day_rows(session=session, day=today, tz=tz, metrics=metrics)]
    return rows


def latest_snapshot(*, session: Session, metric: str, last: date) -> list[Figure]:
    """The rows of snapshot `metric` taken on the last day it was taken up to `last` (none before)."""
    day = session.exec(select(func.max(DailyFigure.day)).where(DailyFigure.metric == metric,
                                                               DailyFigure.day <= last)).one()
    return [] if day is None else stored(session=session, metrics=[metric], first=day, last=day)


def stored(*, session: Session, metrics: Iterable[str], first: date, last: date) -> list[Figure]:
    """The stored rows of `metrics` over `first`..`last` (snapshots, cohorts, other packages' metrics)."""
    query = select(*FIGURE_COLUMNS).where(DailyFigure.metric.in_(list(metrics)), DailyFigure.day >= first,
                                          DailyFigure.day <= last).order_by(DailyFigure.day, DailyFigure.key)
    return [Figure(*item) for item in session.exec(query).all()]


def histogram(*, session: Session, metric: str, first: date, last: date, tz: ZoneInfo,
              now: datetime | None = None) -> Counter:
    """Seconds → episodes of "first_response" or "resolution" over `first`..`last`, summed by the database
    (a day holds a row per distinct time; today's counted live)."""
    today = local_day(now or utcnow(), tz)
    counts: Counter = Counter()
    for key, count in session.exec(select(DailyFigure.key, func.sum(DailyFigure.value)).where(
            DailyFigure.metric == f"{metric}_s", DailyFigure.day >= first,
            DailyFigure.day <= min(last, today - timedelta(days=1))).group_by(DailyFigure.key)).all():
        counts[int(key)] += int(count)
    if first <= today <= last:
        for item in day_rows(session=session, day=today, tz=tz, metrics=[f"{metric}_s"]):
            counts[int(item["key"])] += item["value"]
    return counts


def median_of(histogram: Counter) -> float | None:
    """The median (the upper one of an even count, as the dashboard always took it) of value → count."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > total // 2:
            return value
    return None

