"""Campaigns: what to send (content, variants, schedule) and what it achieved (results).

Content is platform-neutral: ``{"text", "image_url", "buttons", "quick_replies"}`` with
personal variables (``{name}``, ``{first_name}``, ``{shop}``, ``{voucher}``,
``{promo_title}``, ``{promo_ends}``), rendered per channel into `core.messages.Reply`
(a LINE flex card with buttons or quick replies; one Telegram message with an inline
keyboard). Buttons open a tracked link (``url``), make the bot answer (``reply``, a
postback), or send a text as if typed (``text``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, exists, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from core import messages as m
from broadcasts import recipient_history
from broadcasts import schedule as sched
from broadcasts.models import Campaign, CampaignClick, CampaignRun, CampaignRecipient, Segment, TrackedLink
from broadcasts.segments import SegmentError, validate_rules
from core.db import utcnow
from crm.models import Contact, Message
from crm.orders import Order

VARIABLES = ("name", "first_name", "shop", "voucher", "promo_title", "promo_ends")
PERSONAL = ("name", "first_name")
MAX_BUTTONS = 3  # a LINE flex bubble footer shows three
MAX_QUICK_REPLIES = 13
POSTBACK_PREFIX = "bc:"


class CampaignError(ValueError):
    """A campaign request that breaks a rule; `field` names the culprit, `status` the HTTP code."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.status = field, status


# --- content ----------------------------------------------------------------------------


def _variables(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise CampaignError(f"text has a broken {{variable}}: {exc}", "message.text") from None


def validate_message(message: Any, path: str = "message") -> dict[str, Any]:
    """The message checked and normalised (CampaignError naming the field otherwise)."""
    if not isinstance(message, dict):
        raise CampaignError("message must be an object with at least text", path)
    unknown = sorted(set(message) - {"text", "image_url", "buttons", "quick_replies"})
    if unknown:
        raise CampaignError(f"unknown message field(s) {', '.join(unknown)}; use text, image_url, buttons, "
                            "quick_replies", path)
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CampaignError("message.text is required", f"{path}.text")
    if len(text) > 4000:
        raise CampaignError("message.text is at most 4000 characters", f"{path}.text")
    bad = sorted(_variables(text) - set(VARIABLES))
    if bad:
        raise CampaignError(f"unknown variable(s) {', '.join('{' + b + '}' for b in bad)}; use "
                            + ", ".join("{" + v + "}" for v in VARIABLES), f"{path}.text")
    image = message.get("image_url")
    if image is not None and (not isinstance(image, str) or not image.startswith("https://") or len(image) > 1000):
        raise CampaignError("image_url must be an https:// URL (LINE and Telegram fetch it)", f"{path}.image_url")
    clean: dict[str, Any] = {"text": text, "image_url": image, "buttons": [], "quick_replies": []}
    for key, limit in (("buttons", MAX_BUTTONS), ("quick_replies", MAX_QUICK_REPLIES)):
        items = message.get(key) or []
        if not isinstance(items, list) or len(items) > limit:
            raise CampaignError(f"{key} is a list of at most {limit}", f"{path}.{key}")
        for index, item in enumerate(items):
            clean[key].append(_button(item, f"{path}.{key}[{index}]"))
    return clean


def _button(item: Any, path: str) -> dict[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("label"), str) or not item["label"].strip():
        raise CampaignError('a button is {"label", and one of "url", "reply", "text"}', path)
    kinds = [key for key in ("url", "reply", "text") if item.get(key)]
    if len(kinds) != 1 or set(item) - {"label", "url", "reply", "text"}:
        raise CampaignError('a button has a label and exactly one of "url", "reply", "text"', path)
    value = item[kinds[0]]
    if not isinstance(value, str) or (kinds[0] == "url" and not re.match(r"^https?://", value)):
        raise CampaignError(f"{kinds[0]} must be {'an http(s) URL' if kinds[0] == 'url' else 'a string'}", path)
    return {"label": item["label"].strip()[:40], kinds[0]: value[:1000]}


def is_personal(message: dict[str, Any]) -> bool:
    """True when the text differs per recipient (then LINE pushes one by one instead of multicasting)."""
    return bool(_variables(message.get("text", "")) & set(PERSONAL))


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs besides the message: who, where, and the links to track."""

    campaign_id: int
    variant: str
    channel: str
    shop: str
    public_url: str
    secret: str
    name: str = ""
    promotion: Any = None
    links: dict[str, str] | None = None  # url -> token
    delivery_id: int | None = None


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(text: str, ctx: RenderContext, tz: ZoneInfo | None = None) -> str:
    """The text with its variables filled in."""
    promotion = ctx.promotion
    ends = ""
    if promotion is not None:
        ends_at = promotion.ends_at if promotion.ends_at.tzinfo else promotion.ends_at.replace(tzinfo=timezone.utc)
        ends = ends_at.astimezone(tz or timezone.utc).strftime("%d-%m-%Y")
    name = (ctx.name or "").strip() or "Kak"
    values = _Blank(name=name, first_name=name.split()[0], shop=ctx.shop,
                    voucher=(promotion.voucher_code or "") if promotion is not None else "",
                    promo_title=promotion.title if promotion is not None else "", promo_ends=ends)
    filled = text.format_map(values)
    if promotion is not None and promotion.voucher_code and "{voucher}" not in text:
        filled += f"\n\nKode voucher: {promotion.voucher_code}"
    return filled


def link_signature(secret: str, token: str, delivery_id: int) -> str:
    """A short HMAC so a tracked link's recipient id cannot be forged."""
    return hmac.new(secret.encode(), f"{token}:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:10]


def _choice(button: dict[str, str], ctx: RenderContext, index: int) -> m.Choice:
    if "url" in button:
        token = (ctx.links or {}).get(button["url"])
        url = button["url"]
        if token:
            url = f"{ctx.public_url.rstrip('/')}/r/{token}"
            if ctx.delivery_id is not None:
                url += f"?d={ctx.delivery_id}.{link_signature(ctx.secret, token, ctx.delivery_id)}"
        return m.Choice(button["label"], url=url)
    if "reply" in button:
        return m.Choice(button["label"], data=f"{POSTBACK_PREFIX}{ctx.campaign_id}:{ctx.variant}:{index}")
    return m.Choice(button["label"], text=button["text"])


def render(message: dict[str, Any], ctx: RenderContext, tz: ZoneInfo | None = None) -> list[m.Reply]:
    """The neutral replies for one recipient on one channel (one message on Telegram)."""
    text = fill(message["text"], ctx, tz)
    buttons = [_choice(b, ctx, i) for i, b in enumerate(message.get("buttons") or [])]
    quick = [_choice(b, ctx, 100 + i) for i, b in enumerate(message.get("quick_replies") or [])]
    image = message.get("image_url")
    if ctx.channel == "line":
        if buttons:
            card = m.Card(title=text[:2000], image_url=image, buttons=tuple(buttons))
            return [m.Reply(text=text[:400], cards=(card,), choices=tuple(quick))]
        if image:
            return [m.Reply(image_url=image), m.Reply(text=text, choices=tuple(quick))]
        return [m.Reply(text=text, choices=tuple(quick))]
    # Telegram (and the simulator): one message, so one chat never needs two sends per second.
    return [m.Reply(text=text, image_url=image, choices=tuple(buttons + quick))]


def button_reply(message: dict[str, Any], index: int) -> str | None:
    """The answer of a campaign's `reply` button (postback index), if any."""
    items = (message.get("buttons") or []) if index < 100 else (message.get("quick_replies") or [])
    position = index if index < 100 else index - 100
    if 0 <= position < len(items):
        return items[position].get("reply")
    return None


def variant_message(campaign: Campaign, variant: str) -> dict[str, Any]:
    """The message of one variant (the campaign's own when there are no variants)."""
    for item in campaign.variants or []:
        if item["name"] == variant:
            return item["message"]
    return campaign.message


# --- creating and changing ----------------------------------------------------------------


def _variants(raw: Any) -> list[dict[str, Any]]:
    if not raw:
        return []
    if not isinstance(raw, list) or not 2 <= len(raw) <= 5:
        raise CampaignError("variants is a list of 2-5 {name, weight, message}", "variants")
    out, names, total = [], set(), 0
    for index, item in enumerate(raw):
        path = f"variants[{index}]"
        if not isinstance(item, dict):
            raise CampaignError("a variant is {name, weight, message}", path)
        name = item.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,20}", name) or name in names:
            raise CampaignError("variant names are unique, 1-20 letters/digits", f"{path}.name")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise CampaignError("weight is a positive whole number", f"{path}.weight")
        names.add(name)
        total += weight
        message = validate_message(item.get("message"), f"{path}.message")
        out.append({"name": name, "weight": weight, "message": message})
    return out


def _ab_test(raw: Any, variants: list) -> dict[str, Any]:
    if not raw:
        return {}
    if not variants:
        raise CampaignError("ab_test needs variants", "ab_test")
    if not isinstance(raw, dict) or set(raw) - {"test_percent", "metric", "decide_after_hours"}:
        raise CampaignError('ab_test is {"test_percent": 1-99, "metric": "clicked"|"replied"|"orders", '
                            '"decide_after_hours": 1-168}', "ab_test")
    percent = raw.get("test_percent", 20)
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        raise CampaignError("test_percent is 1-99 (the rest gets the winner)", "ab_test.test_percent")
    metric = raw.get("metric", "clicked")
    if metric not in ("clicked", "replied", "orders"):
        raise CampaignError("metric is clicked, replied or orders", "ab_test.metric")
    hours = raw.get("decide_after_hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 168):
        raise CampaignError("decide_after_hours is 1-168 (leave it out to pick the winner yourself)",
                            "ab_test.decide_after_hours")
    return {"test_percent": percent, "metric": metric, **({"decide_after_hours": hours} if hours else {})}


def campaign_fields(*, session: Session, name: str, message: Any, segment_id: int | None = None,
                    rules: Any = None, send_at: datetime | None = None, recurrence: str | None = None,
                    timezone_name: str, channels: list[str] | None = None, variants: Any = None,
                    ab_test: Any = None, promotion_id: int | None = None, quota_policy: str = "refuse",
                    draft: bool = False, now: datetime | None = None, misfire_grace_seconds: int = 3600) -> dict:
    """A campaign's columns validated and normalised (CampaignError naming the field otherwise)."""
    now = now or utcnow()
    if not isinstance(name, str) or not name.strip():
        raise CampaignError("name is required", "name")
    variants = _variants(variants)
    clean_message = validate_message(message) if not variants or message else variants[0]["message"]
    if segment_id is not None:
        segment = session.get(Segment, segment_id)
        if segment is None:
            raise CampaignError(f"segment {segment_id} does not exist", "segment_id")
        rules = segment.rules
    try:
        rules = validate_rules(rules or {}, session=session)
    except SegmentError as exc:
        raise CampaignError(str(exc), "rules") from None
    channels = channels or ["line", "telegram"]
    if not isinstance(channels, list) or not channels or set(channels) - {"line", "telegram", "simulator"}:
        raise CampaignError("channels is a list of line, telegram (and simulator)", "channels")
    if promotion_id is not None:
        from crm.promotions import Promotion

        if session.get(Promotion, promotion_id) is None:
            raise CampaignError(f"promotion {promotion_id} does not exist", "promotion_id")
    if quota_policy not in ("refuse", "trim"):
        raise CampaignError("quota_policy is refuse or trim", "quota_policy")
    tz = ZoneInfo(timezone_name)
    if send_at is not None:
        send_at = sched.to_utc(send_at, tz)
        if recurrence is None and send_at < now - timedelta(seconds=misfire_grace_seconds):
            raise CampaignError("send_at is in the past; leave it out (null) to send now", "send_at")
    if recurrence is not None:
        try:
            sched.cron_trigger(recurrence, tz, start=send_at)
        except ValueError as exc:
            raise CampaignError(f"recurrence is not a valid cron expression (minute hour day month weekday): {exc}",
                                "recurrence") from None
    status = "draft" if draft else ("scheduled" if (recurrence or (send_at and send_at > now)) else "sending")
    return dict(name=name.strip()[:200], status=status, segment_id=segment_id, rules=rules,
                channels=sorted(set(channels)), message=clean_message, variants=variants,
                ab_test=_ab_test(ab_test, variants), promotion_id=promotion_id, send_at=send_at,
                recurrence=recurrence, timezone=timezone_name, quota_policy=quota_policy)


def create_campaign(*, session: Session, created_by: str | None = None, kind: str = "campaign",
                    **fields: Any) -> Campaign:
    """Validate and store a campaign: draft, scheduled (at a time / cron) or due now ("sending")."""
    campaign = Campaign(kind=kind, created_by=created_by, **campaign_fields(session=session, **fields))
    session.add(campaign)
    session.flush()
    _track_links(session, campaign)
    return campaign


def update_campaign(*, session: Session, campaign_id: int, **fields: Any) -> Campaign:
    """Change a campaign that has not started (a draft, or scheduled and never run) with the same checks."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    started = session.execute(select(CampaignRun.id).where(CampaignRun.campaign_id == campaign_id).limit(1)).first()
    if campaign.status not in ("draft", "scheduled") or started:
        raise CampaignError(f"a {campaign.status} campaign that has started cannot be edited; duplicate it",
                            status=409)
    for key, value in campaign_fields(session=session, **fields).items():
        setattr(campaign, key, value)
    campaign.updated_at, campaign.notice, campaign.winner = utcnow(), "", None
    session.add(campaign)
    session.flush()
    _track_links(session, campaign)
    return campaign


def _track_links(session: Session, campaign: Campaign) -> None:
    messages = [("", campaign.message)] + [(v["name"], v["message"]) for v in campaign.variants or []]
    # After an edit the links already tracked keep their tokens (a test-send may have used them).
    known = set(session.execute(select(TrackedLink.variant, TrackedLink.url)
                                .where(TrackedLink.campaign_id == campaign.id)).all())
    for variant, message in messages:
        for button in (message.get("buttons") or []) + (message.get("quick_replies") or []):
            if "url" in button and (variant, button["url"]) not in known:
                known.add((variant, button["url"]))
                session.add(TrackedLink(token=secrets.token_urlsafe(9), campaign_id=campaign.id, variant=variant,
                                        url=button["url"]))
    session.flush()


def links_of(*, session: Session, campaign_id: int, variant: str) -> dict[str, str]:
    """url -> tracking token for a campaign variant."""
    rows = session.execute(select(TrackedLink.url, TrackedLink.token).where(
        TrackedLink.campaign_id == campaign_id, TrackedLink.variant.in_((variant, "")))
        .order_by(TrackedLink.variant)).all()
    return {url: token for url, token in rows}


def get_campaign(*, session: Session, campaign_id: int) -> Campaign:
    """The campaign, or CampaignError 404."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"campaign {campaign_id} not found", status=404)
    return campaign


def _touch(session: Session, campaign: Campaign, status: str, notice: str | None = None) -> Campaign:
    campaign.status, campaign.updated_at = status, utcnow()
    if notice is not None:
        campaign.notice = notice
    session.add(campaign)
    session.flush()
    return campaign


def pause(*, session: Session, campaign_id: int) -> Campaign:
    """Stop sending (queued messages wait) and hold the schedule until resumed."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign.status not in ("scheduled", "sending"):
        raise CampaignError(f"a {campaign.status} campaign cannot be paused", status=409)
    return _touch(session, campaign, "paused", "paused by staff")


def open_run(*, session: Session, campaign_id: int) -> CampaignRun | None:
    """The campaign's run that is not finished yet, if any."""
    return session.execute(select(CampaignRun).where(
        CampaignRun.campaign_id == campaign_id, CampaignRun.status.in_(("resolving", "sending", "paused")))
        .order_by(CampaignRun.id.desc())).scalars().first()


def resume(*, session: Session, campaign_id: int, now: datetime | None = None) -> tuple[Campaign, CampaignRun | None]:
    """Continue a paused campaign (or launch a draft): returns it and the run to drive, if any."""
    now = now or utcnow()
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign.status not in ("paused", "draft"):
        raise CampaignError(f"a {campaign.status} campaign cannot be resumed", status=409)
    run = open_run(session=session, campaign_id=campaign_id)
    if run is not None:
        run.status = "resolving" if run.status == "resolving" else "sending"
        run.notice, run.heartbeat_at = None, now
        session.add(run)
        return _touch(session, campaign, "sending", ""), run
    send_at = campaign.send_at.replace(tzinfo=campaign.send_at.tzinfo or timezone.utc) if campaign.send_at else None
    if campaign.recurrence or (send_at is not None and send_at > now):
        return _touch(session, campaign, "scheduled", ""), None
    return _touch(session, campaign, "sending", ""), None


def cancel(*, session: Session, campaign_id: int) -> Campaign:
    """Stop for good: unsent messages are cancelled, the schedule removed."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    if campaign.status in ("done", "cancelled"):
        raise CampaignError(f"the campaign is already {campaign.status}", status=409)
    session.execute(update(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id,
                                           CampaignRecipient.status.in_(("queued", "held")))
                    .values(status="cancelled", reason="cancelled"))
    # Their queued messages in the recipients' history say they were never sent.
    recipient_history.sync(session, CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "cancelled")
    session.execute(update(CampaignRun).where(CampaignRun.campaign_id == campaign_id,
                                              CampaignRun.status.in_(("resolving", "sending", "paused")))
                    .values(status="cancelled", finished_at=utcnow()))
    return _touch(session, campaign, "cancelled", "cancelled by staff")


# --- results ------------------------------------------------------------------------------

STAT_KEYS = ("targeted", "sent", "failed", "blocked", "unknown", "clicked", "replied", "orders")


def stats(*, session: Session, campaign_id: int, attribution_days: int, by_variant: bool = False) -> Any:
    """The contract stats (targeted, sent, failed, blocked, unknown, clicked, replied, orders)
    plus skipped, queued, revenue and failures by reason; per variant with `by_variant`."""
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


def timeseries(*, session: Session, campaign_id: int, bucket: str = "hour") -> list[dict[str, Any]]:
    """Sent, failed and clicks per hour (or day) since the first delivery, for charts."""
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


def list_campaigns(*, session: Session, status: str | None = None, limit: int = 100,
                   kind: str = "campaign") -> list[Campaign]:
    """Campaigns, newest first."""
    query = select(Campaign).where(Campaign.kind == kind)
    if status:
        query = query.where(Campaign.status == status)
    return list(session.execute(query.order_by(Campaign.id.desc()).limit(limit)).scalars().all())


def choose_winner(*, session: Session, campaign_id: int, attribution_days: int, variant: str | None = None) -> str:
    """The A/B winner: the named variant, or the best by the test's metric (ties: first variant)."""
    campaign = get_campaign(session=session, campaign_id=campaign_id)
    names = [v["name"] for v in campaign.variants or []]
    if not names:
        raise CampaignError("this campaign has no variants", status=409)
    if campaign.winner:
        raise CampaignError(f"the winner is already {campaign.winner}", status=409)
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
