"""What a campaign achieved: stats, a time series, the CSV export, clicks, and the A/B winner."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from broadcasts.campaign_message import CampaignError
from broadcasts.campaigns import get_campaign
from broadcasts.models import CampaignClick, CampaignRecipient, CampaignRun, TrackedLink
from core.db import utcnow
from crm.models import Contact, Message
from crm.orders import Order

STAT_KEYS = ("targeted", "sent", "failed", "blocked", "unknown", "clicked", "replied", "orders")


def stats(*, session: Session, campaign_id: int, attribution_days: int, by_variant: bool = False) -> Any:
    """The contract stats plus skipped, queued, revenue and failures by reason; per variant with `by_variant`."""
    d = CampaignRecipient.__table__.c
    reached = d.status.in_(("sent", "unknown"))
    window = timedelta(days=attribution_days)
    msg = Message.__table__.c
    replied = exists().where(msg.contact_id == d.contact_id, msg.direction == "in",
                             msg.type.notin_(("follow", "unfollow", "postback", "unsend", "join", "leave")),
                             msg.created_at > d.sent_at, msg.created_at <= d.sent_at + window) if \
        session.bind.dialect.name == "postgresql" else _replied_sqlite(d, msg, attribution_days)
    group = [d.variant] if by_variant else []
    counts = select(
        *group,
        func.count().label("targeted"),
        func.sum(case((d.status == "sent", 1), else_=0)).label("sent"),
        func.sum(case((d.status == "failed", 1), else_=0)).label("failed"),
        func.sum(case((d.status == "blocked", 1), else_=0)).label("blocked"),
        func.sum(case((d.status == "unknown", 1), else_=0)).label("unknown"),
        func.sum(case((d.status == "skipped", 1), else_=0)).label("skipped"),
        func.sum(case((d.status.in_(("queued", "sending", "held")), 1), else_=0)).label("queued"),
        func.sum(case((and_(reached, replied), 1), else_=0)).label("replied"),
    ).where(d.campaign_id == campaign_id).group_by(*group)
    rows = {(row[0] if by_variant else ""): dict(row._mapping) for row in session.execute(counts)}
    orders = _orders(session, campaign_id, attribution_days, by_variant)
    clicks = _clicks(session, campaign_id, by_variant)
    reasons = _reasons(session, campaign_id, by_variant)
    result = {}
    for key in sorted(set(rows) | set(clicks) | set(orders)) or [""]:
        row = rows.get(key, {})
        item = {name: int(row.get(name) or 0) for name in ("targeted", "sent", "failed", "blocked", "unknown",
                                                            "replied", "skipped", "queued")}
        item["clicked"] = clicks.get(key, 0)
        item["orders"], item["revenue"] = orders.get(key, (0, 0))
        item["failed_by_reason"] = reasons.get(key, {})
        result[key] = item
    if by_variant:
        return result
    return result.get("", next(iter(result.values())))


def _replied_sqlite(d, msg, days: int):
    # SQLite stores timestamps as text; compare with julianday arithmetic instead of interval math.
    return exists().where(msg.contact_id == d.contact_id, msg.direction == "in",
                          msg.type.notin_(("follow", "unfollow", "postback", "unsend", "join", "leave")),
                          func.julianday(msg.created_at) > func.julianday(d.sent_at),
                          func.julianday(msg.created_at) <= func.julianday(d.sent_at) + days)


def _orders(session: Session, campaign_id: int, days: int, by_variant: bool) -> dict[str, tuple[int, int]]:
    """Orders placed within `days` after a recipient got the campaign (one order counts once)."""
    d = CampaignRecipient.__table__.c
    o = Order.__table__.c
    if session.bind.dialect.name == "postgresql":
        inside = and_(o.created_at > d.sent_at, o.created_at <= d.sent_at + timedelta(days=days))
    else:
        inside = and_(func.julianday(o.created_at) > func.julianday(d.sent_at),
                      func.julianday(o.created_at) <= func.julianday(d.sent_at) + days)
    pairs = (select(d.variant.label("variant"), o.id.label("order_id"), o.total.label("total"))
             .select_from(CampaignRecipient.__table__.join(Order.__table__, o.contact_id == d.contact_id))
             .where(d.campaign_id == campaign_id, d.status.in_(("sent", "unknown")), o.status != "cancelled", inside)
             .distinct().subquery())
    group = [pairs.c.variant] if by_variant else []
    query = select(*group, func.count(distinct(pairs.c.order_id)), func.coalesce(func.sum(pairs.c.total), 0)) \
        .group_by(*group)
    out = {}
    for row in session.execute(query):
        key = row[0] if by_variant else ""
        out[key] = (int(row[-2] or 0), int(row[-1] or 0))
    return out


def _clicks(session: Session, campaign_id: int, by_variant: bool) -> dict[str, int]:
    """Clickers, each once: distinct known contacts plus distinct anonymous visitors of shared (multicast)
    links (and, from before visitors were told apart, each anonymous click)."""
    c = CampaignClick.__table__.c
    group = [c.variant] if by_variant else []
    anonymous = c.contact_id.is_(None)
    query = select(*group, func.count(distinct(c.contact_id)),
                   func.count(distinct(case((anonymous, c.visitor)))),
                   func.sum(case((and_(anonymous, c.visitor.is_(None)), 1), else_=0))) \
        .where(c.campaign_id == campaign_id).group_by(*group)
    return {(row[0] if by_variant else ""): sum(int(n or 0) for n in row[-3:]) for row in session.execute(query)}


def _reasons(session: Session, campaign_id: int, by_variant: bool) -> dict[str, dict[str, int]]:
    d = CampaignRecipient.__table__.c
    group = [d.variant] if by_variant else []
    query = select(*group, d.status, d.reason, func.count()).where(
        d.campaign_id == campaign_id, d.status.in_(("failed", "skipped", "blocked"))).group_by(*group, d.status,
                                                                                              d.reason)
    out: dict[str, dict[str, int]] = {}
    for row in session.execute(query):
        key = row[0] if by_variant else ""
        status, reason, n = row[-3], row[-2] or "error", row[-1]
        bucket = out.setdefault(key, {})
        bucket[f"{status}:{reason}"] = bucket.get(f"{status}:{reason}", 0) + int(n)
    return out


CHANNEL_NAMES = {"line": "LINE", "telegram": "Telegram", "simulator": "Simulator"}


def reach_notes(*, session: Session, campaign_id: int) -> list[tuple[str, dict[str, Any]]]:
    """Why the latest run reached fewer people than its audience: ("channel_off", {channel, count}) per
    channel that is not connected, or ("nobody_matched", {}) when no contact matched the audience."""
    d = CampaignRecipient.__table__.c
    run = session.execute(select(CampaignRun).where(CampaignRun.campaign_id == campaign_id)
                          .order_by(CampaignRun.id.desc()).limit(1)).scalars().first()
    if run is None or run.status == "resolving":
        return []
    rows = session.execute(select(d.channel, d.reason, func.count()).where(d.run_id == run.id)
                           .group_by(d.channel, d.reason)).all()
    if not rows:
        return [("nobody_matched", {})]
    return [("channel_off", {"channel": CHANNEL_NAMES.get(channel, channel), "count": int(n)})
            for channel, reason, n in sorted(rows) if reason == "channel_off"]


NOTES_EN = {"channel_off": "{channel} is not connected: {count} recipient(s) skipped",
            "nobody_matched": "no contact matched the audience on the campaign's channels"}


def notes_text(notes: list[tuple[str, dict[str, Any]]]) -> str | None:
    """The reach notes as one English sentence for the API (None when there are none)."""
    return "; ".join(NOTES_EN[key].format(**values) for key, values in notes) or None


def timeseries(*, session: Session, campaign_id: int, bucket: str = "hour",
               tz: ZoneInfo | None = None) -> list[dict[str, Any]]:
    """Sent, failed and clicks per minute, hour or day since the first delivery, for charts.

    Each point's `t` is the UTC start of its bucket; with `tz` a day is the shop's day (counted
    from hours, exact for whole-hour offsets such as Indonesia's), else a UTC day.
    """
    if bucket == "day" and tz is not None:
        return _local_days(timeseries(session=session, campaign_id=campaign_id, bucket="hour"), tz)
    d = CampaignRecipient.__table__.c
    c = CampaignClick.__table__.c
    fmt = {"hour": "%Y-%m-%dT%H:00:00", "day": "%Y-%m-%dT00:00:00", "minute": "%Y-%m-%dT%H:%M:00"}[bucket]

    def truncate(column):
        # Literals, not parameters: GROUP BY must repeat the very same expression (bucket is checked above).
        if session.bind.dialect.name == "postgresql":
            return func.to_char(func.date_trunc(literal_column(f"'{bucket}'"),
                                                func.timezone(literal_column("'UTC'"), column)),
                                literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
        return func.strftime(literal_column(f"'{fmt}'"), column)

    series: dict[str, dict[str, int]] = {}
    moment = func.coalesce(d.sent_at, d.sending_at)
    query = select(truncate(moment), d.status, func.count()).where(
        d.campaign_id == campaign_id, moment.is_not(None)).group_by(truncate(moment), d.status)
    for t, status, n in session.execute(query):
        item = series.setdefault(t, {"sent": 0, "failed": 0, "unknown": 0, "blocked": 0, "clicked": 0})
        if status in item:
            item[status] += int(n)
    for t, n in session.execute(select(truncate(c.clicked_at), func.count()).where(c.campaign_id == campaign_id)
                                .group_by(truncate(c.clicked_at))):
        series.setdefault(t, {"sent": 0, "failed": 0, "unknown": 0, "blocked": 0, "clicked": 0})["clicked"] += int(n)
    return [{"t": t + "Z", **values} for t, values in sorted(series.items())]


def _local_days(hours: list[dict[str, Any]], tz: ZoneInfo) -> list[dict[str, Any]]:
    """Hourly points summed into the shop's days (each `t` the UTC moment its day begins)."""
    days: dict[str, dict[str, Any]] = {}
    for point in hours:
        moment = datetime.fromisoformat(point["t"].replace("Z", "+00:00")).astimezone(tz)
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        day = days.setdefault(start.strftime("%Y-%m-%dT%H:%M:%SZ"), {key: 0 for key in point if key != "t"})
        for key, value in point.items():
            if key != "t":
                day[key] += value
    return [{"t": t, **values} for t, values in sorted(days.items())]


CSV_COLUMNS = ("delivery_id", "contact_id", "display_name", "channel", "external_id", "variant", "status", "reason",
               "error", "sent_at", "clicked")


def export_rows(*, session: Session, campaign_id: int) -> Iterator[list[Any]]:
    """One row per delivery (streamed: never the whole campaign in memory)."""
    d = CampaignRecipient.__table__.c
    c = CampaignClick.__table__.c
    contact = Contact.__table__.c
    clicked = exists().where(c.campaign_id == campaign_id, c.contact_id == d.contact_id)
    query = (select(d.id, d.contact_id, contact.display_name, d.channel, d.external_id, d.variant, d.status, d.reason,
                    d.error, d.sent_at, clicked)
             .select_from(CampaignRecipient.__table__.join(Contact.__table__, contact.id == d.contact_id))
             .where(d.campaign_id == campaign_id).order_by(d.id)
             .execution_options(yield_per=2000))
    for row in session.execute(query):
        values = list(row)
        if values[9] is not None:
            moment = values[9] if values[9].tzinfo else values[9].replace(tzinfo=timezone.utc)
            values[9] = moment.astimezone(timezone.utc).isoformat()
        values[10] = bool(values[10])
        yield values


def record_click(*, session: Session, campaign_id: int, variant: str, contact_id: int | None) -> None:
    """Record a click on a campaign postback button (the stats count each contact once)."""
    session.add(CampaignClick(campaign_id=campaign_id, variant=variant, contact_id=contact_id, kind="postback"))
    session.flush()


def record_link_click(*, session: Session, link: TrackedLink, visitor: str, contact_id: int | None = None,
                      delivery_id: int | None = None) -> None:
    """Record the first click of `visitor` on a tracked link (a later one counts nothing)."""
    table = CampaignClick.__table__
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(table).values(
        campaign_id=link.campaign_id, variant=link.variant, link_id=link.id, visitor=visitor, contact_id=contact_id,
        delivery_id=delivery_id, kind="link", clicked_at=utcnow()).on_conflict_do_nothing())


def tested(*, session: Session, campaign_id: int) -> bool:
    """True when the campaign has reached someone (sent, or maybe sent) — an A/B test has something to judge."""
    d = CampaignRecipient.__table__.c
    return session.execute(select(d.id).where(d.campaign_id == campaign_id, d.status.in_(("sent", "unknown")))
                           .limit(1)).first() is not None


def choose_winner(*, session: Session, campaign_id: int, attribution_days: int, variant: str | None = None) -> str:
    """The A/B winner: the named variant, or the best by the test's metric (ties: first variant)."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    names = [v["name"] for v in campaign.variants or []]
    if not names:
        raise CampaignError("this campaign has no variants", status=409)
    if campaign.winner:
        raise CampaignError(f"the winner is already {campaign.winner}", status=409)
    if not tested(session=session, campaign_id=campaign_id):
        raise CampaignError("the A/B test has sent nothing yet: launch the campaign and let its test group get the "
                            "variants before sending a winner to the rest", status=409)
    if variant is not None:
        if variant not in names:
            raise CampaignError(f"variant must be one of {', '.join(names)}", "variant")
        return variant
    metric = (campaign.ab_test or {}).get("metric", "clicked")
    per = stats(session=session, campaign_id=campaign_id, attribution_days=attribution_days, by_variant=True)

    def score(name: str) -> float:
        item = per.get(name) or {}
        reached = (item.get("sent", 0) + item.get("unknown", 0)) or 1
        return item.get(metric, 0) / reached

    return max(names, key=lambda name: (score(name), -names.index(name)))
