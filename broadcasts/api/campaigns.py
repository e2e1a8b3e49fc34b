"""Campaign endpoints: create, list, read with results, pause/resume/cancel, A/B winner,
test-send, message preview, time series and CSV export."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import g, request
from sqlmodel import Session

from broadcasts import actions
from broadcasts import campaigns as cmp
from broadcasts import results
from broadcasts.api.base import broadcasts_api, campaign_error
from broadcasts.api.schemas import (
    BUCKETS, CAMPAIGN_STATUSES, CampaignCreate, CampaignCreated, CampaignList, CampaignPublic, CampaignSummary,
    MessagePreview, RenderedPreview, Results, ResumeBody, Stats, TestResult, TestResults, TestSend, TimePoint,
    TimeSeries, WinnerBody,
)
from broadcasts.campaign_message import CampaignError, validate_message
from broadcasts.delivery import test_send as send_test
from broadcasts.models import Campaign
from broadcasts.scheduler import trigger_for
from broadcasts.tasks import enqueue_campaign

from core.db import session_scope, utcnow
from core.runtime import get_runtime
from crm.api.base import ApiError, dump, enum_arg, int_arg, read_body, require_token
from crm import staff_links
from crm.shop_settings import current_config
from crm.web import engine, settings


def _results(item: dict[str, Any]) -> Results:
    return Results(**{key: item[key] for key in Results.model_fields})


def campaign_public(session: Session, campaign: Campaign) -> CampaignPublic:
    """The API shape of a campaign with its stats (and per-variant results)."""
    days = settings().broadcasts.attribution_days
    totals = results.stats(session=session, campaign_id=campaign.id, attribution_days=days)
    variants = {}
    if campaign.variants:
        per = results.stats(session=session, campaign_id=campaign.id, attribution_days=days, by_variant=True)
        variants = {name: _results(item) for name, item in per.items() if name}
    next_run = None
    if campaign.status == "scheduled":
        try:
            next_run = trigger_for(campaign).get_next_fire_time(None, utcnow())
        except (ValueError, AttributeError):
            next_run = None
    return CampaignPublic(
        id=campaign.id, name=campaign.name, status=campaign.status,
        stats=Stats(**{key: totals[key] for key in results.STAT_KEYS}), results=_results(totals), variants=variants,
        segment_id=campaign.segment_id, rules=campaign.rules or {}, channels=list(campaign.channels or []),
        message=campaign.message or {}, send_at=campaign.send_at, recurrence=campaign.recurrence,
        timezone=campaign.timezone, next_run_at=next_run, winner=campaign.winner,
        notice=campaign.notice or results.notes_text(results.reach_notes(session=session, campaign_id=campaign.id)),
        created_at=campaign.created_at, updated_at=campaign.updated_at)


@broadcasts_api.post("/campaigns")
@require_token
def create_campaign():
    """Create a campaign: sent now (send_at null), at a time, or on a cron recurrence."""
    body = read_body(CampaignCreate)
    with Session(engine()) as db:
        config = current_config(db, settings())  # a new campaign runs in the timezone staff set last
    if body.segment_id is not None and body.rules is not None:
        raise ApiError(422, "invalid fields", [{"field": "rules", "message": "give segment_id or rules, not both"}])
    if body.message is None and not body.variants:
        raise ApiError(422, "invalid fields", [{"field": "message", "message": "message is required"}])
    timezone_name = body.timezone or config.timezone
    try:
        ZoneInfo(timezone_name)
    except Exception:  # noqa: BLE001 - any failure means an unknown zone
        raise ApiError(422, "invalid fields", [{"field": "timezone", "message": "unknown IANA timezone"}]) from None
    try:
        with session_scope(engine()) as session:
            campaign = cmp.create_campaign(
                session=session, name=body.name, message=body.message, segment_id=body.segment_id,
                rules=body.rules, send_at=body.send_at, recurrence=body.recurrence, timezone_name=timezone_name,
                channels=body.channels, variants=body.variants, ab_test=body.ab_test,
                promotion_id=body.promotion_id, quota_policy=body.quota_policy or config.broadcasts.quota_policy,
                draft=body.draft, misfire_grace_seconds=config.broadcasts.misfire_grace_seconds,
                created_by=f"api:{getattr(g, 'api_token_name', '')}")
            campaign_id, status = campaign.id, campaign.status
    except CampaignError as exc:
        raise campaign_error(exc) from None
    if status == "sending":
        enqueue_campaign(campaign_id, "now")
    response = dump(CampaignCreated(id=campaign_id, status=status))
    response.status_code = 201
    return response


@broadcasts_api.get("/campaigns")
@require_token
def list_campaigns():
    """Campaigns, newest first (filter with ?status=)."""
    status = enum_arg("status", CAMPAIGN_STATUSES)
    with Session(engine()) as session:
        rows = cmp.list_campaigns(session=session, status=status, limit=int_arg("limit", 100, 1, 500))
        return dump(CampaignList(items=[CampaignSummary(
            id=c.id, name=c.name, status=c.status, send_at=c.send_at, recurrence=c.recurrence,
            notice=c.notice or None, created_at=c.created_at) for c in rows]))


@broadcasts_api.get("/campaigns/<int:campaign_id>")
@require_token
def get_campaign(campaign_id: int):
    """One campaign with its stats (contract), full results and per-variant results."""
    with Session(engine()) as session:
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise campaign_error(exc) from None
        return dump(campaign_public(session, campaign))


def _change(campaign_id: int, action) -> Any:
    try:
        with session_scope(engine()) as session:
            result = action(session)
    except CampaignError as exc:
        raise campaign_error(exc) from None
    return result


@broadcasts_api.post("/campaigns/<int:campaign_id>/pause")
@require_token
def pause_campaign(campaign_id: int):
    """Pause: nothing more goes out until resumed."""
    campaign = _change(campaign_id, lambda s: cmp.pause(session=s, campaign_id=campaign_id))
    return dump(CampaignCreated(id=campaign.id, status=campaign.status))


@broadcasts_api.post("/campaigns/<int:campaign_id>/cancel")
@require_token
def cancel_campaign(campaign_id: int):
    """Cancel for good: unsent messages are dropped, the schedule removed."""
    campaign = _change(campaign_id, lambda s: cmp.cancel(session=s, campaign_id=campaign_id))
    return dump(CampaignCreated(id=campaign.id, status=campaign.status))


@broadcasts_api.post("/campaigns/<int:campaign_id>/resume")
@require_token
def resume_campaign(campaign_id: int):
    """Resume a paused campaign (or launch a draft); optionally with another quota policy."""
    body = read_body(ResumeBody) if request.get_data() else ResumeBody()
    try:
        resumed_id, status = actions.resume(engine=engine(), settings=settings(), campaign_id=campaign_id,
                                            quota_policy=body.quota_policy)
    except CampaignError as exc:
        raise campaign_error(exc) from None
    return dump(CampaignCreated(id=resumed_id, status=status))


@broadcasts_api.post("/campaigns/<int:campaign_id>/winner")
@require_token
def choose_winner(campaign_id: int):
    """End an A/B test: the named (or best) variant goes to the rest of the audience."""
    body = read_body(WinnerBody) if request.get_data() else WinnerBody()
    try:
        actions.send_winner(engine=engine(), settings=settings(), campaign_id=campaign_id, variant=body.variant)
    except CampaignError as exc:
        raise campaign_error(exc) from None
    with Session(engine()) as session:
        return dump(campaign_public(session, session.get(Campaign, campaign_id)))


@broadcasts_api.post("/campaigns/<int:campaign_id>/test")
@require_token
def test_send(campaign_id: int):
    """Send the campaign now to staff members' proven chat accounts or simulator chats only (not counted in results or caps)."""
    body = read_body(TestSend)
    if not body.targets and not body.contact_ids:
        raise ApiError(422, "invalid fields", [{"field": "targets", "message": "name at least one target "
                                                                               "(channel + external_id) or contact id"}])
    with Session(engine()) as session:
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise campaign_error(exc) from None
        targets, errors = _proven_targets(session, body)
        if errors:
            raise ApiError(422, "invalid fields", errors)
        variant = body.variant or ""
        if variant and variant not in [v["name"] for v in campaign.variants or []]:
            raise ApiError(422, "invalid fields", [{"field": "variant", "message": "no such variant"}])
        session.expunge(campaign)
    outcomes = send_test(get_runtime(), campaign, targets, variant)
    return dump(TestResults(items=[TestResult(channel=target.channel, external_id=target.external_id,
                                               status=o.status, error=o.error) for target, o in outcomes]))


NOT_PROVEN = ("not a linked staff account (staff link their own accounts with a code on the inbox's My chat accounts "
              "page) nor a customer simulator chat")


def _proven_targets(session: Session, body: TestSend) -> tuple[list[staff_links.Target], list[dict[str, str]]]:
    """The staff accounts a test-send names, and an error for each target that is not one."""
    targets, errors = [], []
    simulator = settings().simulator_enabled
    for i, item in enumerate(body.targets):
        target = staff_links.proven(session=session, channel=item.channel, external_id=item.external_id)
        if target is None and simulator and item.channel == "simulator":
            target = next(iter(staff_links.simulator_targets(session=session, external_ids=[item.external_id])), None)
        if target is None:
            errors.append({"field": f"targets[{i}]", "message": NOT_PROVEN})
        elif target not in targets:
            targets.append(target)
    if body.contact_ids:
        linked = staff_links.proven_contacts(session=session, contact_ids=body.contact_ids)
        if simulator:
            linked += staff_links.simulator_targets(session=session, contact_ids=body.contact_ids)
        for i, contact_id in enumerate(body.contact_ids):
            if not any(target.contact_id == contact_id for target in linked):
                errors.append({"field": f"contact_ids[{i}]", "message": NOT_PROVEN})
        targets += [target for target in linked if target not in targets]
    return targets, errors


@broadcasts_api.post("/campaigns/preview")
@require_token
def preview_message():
    """How a message renders on LINE and on Telegram (neutral replies, variables filled)."""
    body = read_body(MessagePreview)
    try:
        message = validate_message(body.message)
    except CampaignError as exc:
        raise campaign_error(exc) from None
    with Session(engine()) as db:
        config = current_config(db, settings())  # the shop name and timezone staff set last
    return dump(RenderedPreview(**actions.render_preview(config, message, body.name)))


@broadcasts_api.get("/campaigns/<int:campaign_id>/timeseries")
@require_token
def campaign_timeseries(campaign_id: int):
    """Sent/failed/unknown/blocked/clicked per minute, hour or day (for charts)."""
    bucket = enum_arg("bucket", BUCKETS, "hour")
    with Session(engine()) as session:
        try:
            cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise campaign_error(exc) from None
        items = results.timeseries(session=session, campaign_id=campaign_id, bucket=bucket, tz=settings().tz)
        return dump(TimeSeries(bucket=bucket, items=[TimePoint(**item) for item in items]))


@broadcasts_api.get("/campaigns/<int:campaign_id>/export.csv")
@require_token
def export_campaign(campaign_id: int):
    """Every delivery of the campaign as CSV (streamed)."""
    with Session(engine()) as session:
        try:
            cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise campaign_error(exc) from None
    return actions.csv_response(engine(), campaign_id)


