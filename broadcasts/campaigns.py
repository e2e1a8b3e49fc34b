"""Campaigns: what to send (message, variants, audience, schedule), and their lifecycle.

Created or edited while not started, then paused, resumed (or launched) and cancelled by
staff. The message itself is checked and rendered by broadcasts.campaign_message; what a
campaign achieved is counted by broadcasts.results.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from broadcasts import recipient_history
from broadcasts import schedule as sched
from broadcasts.campaign_message import CampaignError, validate_message
from broadcasts.models import Campaign, CampaignRun, CampaignRecipient, Segment, TrackedLink
from broadcasts.segments import SegmentError, validate_rules
from core.db import utcnow
from crm.promotions import Promotion

# The simulator is a channel like the others: a campaign reaches the simulator's customers while it is on.
CHANNELS = ("line", "telegram", "simulator")


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
    channels = channels or list(CHANNELS)
    if not isinstance(channels, list) or not channels or set(channels) - set(CHANNELS):
        raise CampaignError("channels is a list of line, telegram (and simulator)", "channels")
    if promotion_id is not None:
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


def list_campaigns(*, session: Session, status: str | None = None, limit: int = 100,
                   kind: str = "campaign") -> list[Campaign]:
    """Campaigns, newest first."""
    query = select(Campaign).where(Campaign.kind == kind)
    if status:
        query = query.where(Campaign.status == status)
    return list(session.execute(query.order_by(Campaign.id.desc()).limit(limit)).scalars().all())
