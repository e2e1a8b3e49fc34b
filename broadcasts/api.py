"""REST API for broadcasts: segments, campaigns (schedule, pause/resume/cancel, test-send,
A/B winner), results (stats, per variant, time series, CSV), journeys, consent, LINE quota.

The contract (DESIGN.md): ``POST /segments``, ``POST /segments/preview`` → ``{"count"}``,
``POST /campaigns`` → ``{"id", "status"}``, ``GET /campaigns/{id}`` → ``{"id", "status",
"stats": {targeted, sent, failed, blocked, unknown, clicked, replied, orders}}``,
``POST /campaigns/{id}/cancel|pause|resume``. Also here: the public ``/r/<token>``
redirect of tracked campaign links (registered on the app when the API blueprint is).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, Response, current_app, redirect, request, stream_with_context
from itsdangerous import BadSignature, Signer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlmodel import Session

from broadcasts import campaigns as cmp
from broadcasts import consent as consent_data
from broadcasts import journeys as journey_data
from broadcasts import segments as seg
from broadcasts.models import Campaign, CampaignRecipient, Segment, TrackedLink
from crm import contacts as contact_data
from crm import staff_links
from crm.api import (
    ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, _dump, _engine, _enum_arg, _int_arg, _json_body, _response, api,
    contact_public, enum_param, json_body, limit_param, path_param, require_token,
)
from crm.csv_export import stream_csv
from core.db import session_scope, utcnow
from crm.ids import as_id
from crm.models import Contact
from crm.schemas import ContactPublic, RowId, UtcDatetime, json_int

# --- shapes ---------------------------------------------------------------------------------

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "done", "paused", "cancelled")
BUCKETS = ("minute", "hour", "day")


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    rules: dict[str, Any] = Field(description='{"all"|"any": [rule…]} or {"field", "op", "value"}')


class SegmentPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] = Field(default_factory=dict)
    sample: json_int(0, 100) = Field(default=10, description="how many sample contacts to return")


class SegmentPublic(BaseModel):
    id: int
    name: str
    rules: dict[str, Any]
    count: int
    created_at: UtcDatetime


class SegmentList(BaseModel):
    items: list[SegmentPublic]


class PreviewResult(BaseModel):
    count: int
    sample: list[ContactPublic] = []


class Stats(BaseModel):
    """The contract's campaign stats."""

    targeted: int
    sent: int
    failed: int
    blocked: int
    unknown: int
    clicked: int
    replied: int
    orders: int


class Results(Stats):
    """Everything measured: the stats plus skipped (guard rails), still queued, revenue, failures by reason."""

    skipped: int
    queued: int
    revenue: int
    failed_by_reason: dict[str, int]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    segment_id: RowId | None = None
    rules: dict[str, Any] | None = None
    message: dict[str, Any] | None = Field(default=None, description='{"text", "image_url", "buttons", '
                                                                      '"quick_replies"}')
    send_at: datetime | None = Field(default=None, description="ISO-8601; without offset = shop time; null = now")
    recurrence: str | None = Field(default=None, max_length=100,
                                   description="cron: minute hour day month weekday (shop time)")
    channels: list[Literal["line", "telegram", "simulator"]] | None = None
    variants: list[dict[str, Any]] | None = None
    ab_test: dict[str, Any] | None = None
    promotion_id: RowId | None = None
    quota_policy: Literal["refuse", "trim"] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    draft: bool = False


class CampaignCreated(BaseModel):
    id: int
    status: str


class CampaignPublic(BaseModel):
    id: int
    name: str
    status: Literal["draft", "scheduled", "sending", "done", "paused", "cancelled"]
    stats: Stats
    results: Results
    variants: dict[str, Results] = {}
    segment_id: int | None
    rules: dict[str, Any]
    channels: list[str]
    message: dict[str, Any]
    send_at: UtcDatetime | None
    recurrence: str | None
    timezone: str
    next_run_at: UtcDatetime | None = None
    winner: str | None
    notice: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class CampaignSummary(BaseModel):
    id: int
    name: str
    status: str
    send_at: UtcDatetime | None
    recurrence: str | None
    notice: str | None
    created_at: UtcDatetime


class CampaignList(BaseModel):
    items: list[CampaignSummary]


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota_policy: Literal["refuse", "trim"] | None = None


class WinnerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str | None = Field(default=None, description="omit to pick the best by the test's metric")


class TestTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["line", "telegram", "simulator"]
    external_id: str = Field(min_length=1, max_length=64)


class TestSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TestTarget] = Field(default_factory=list, max_length=10)
    contact_ids: list[RowId] = Field(default_factory=list, max_length=10)
    variant: str | None = None


class TestResult(BaseModel):
    channel: str
    external_id: str
    status: str
    error: str | None = None


class TestResults(BaseModel):
    items: list[TestResult]


class MessagePreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: dict[str, Any]
    name: str = "Budi"


class RenderedPreview(BaseModel):
    line: list[dict[str, Any]]
    telegram: list[dict[str, Any]]


class TimePoint(BaseModel):
    t: str
    sent: int
    failed: int
    unknown: int
    blocked: int
    clicked: int


class TimeSeries(BaseModel):
    bucket: Literal["minute", "hour", "day"]
    items: list[TimePoint]


class JourneyPublic(BaseModel):
    key: str
    enabled: bool
    message: dict[str, Any]
    options: dict[str, Any]
    campaign_id: int | None
    updated_at: UtcDatetime


class JourneyList(BaseModel):
    items: list[JourneyPublic]


class JourneyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    message: dict[str, Any] | None = None
    options: dict[str, Any] | None = None


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["line", "telegram", "simulator"]
    opted_out: bool


class ConsentPublic(BaseModel):
    contact_id: int
    opted_out_channels: list[str]


class Quota(BaseModel):
    limit: int | None = Field(description="monthly message limit; null = unlimited")
    used: int
    left: int | None


# --- helpers ----------------------------------------------------------------------------------


def _settings():
    return current_app.config["SAPA"]


def _segment_error(exc: seg.SegmentError) -> ApiError:
    return ApiError(422, "invalid rules", exc.details)


def _campaign_error(exc: cmp.CampaignError) -> ApiError:
    if exc.status != 422:
        return ApiError(exc.status, str(exc))
    return ApiError(422, "invalid fields", [{"field": exc.field or "", "message": str(exc)}])


def _results(item: dict[str, Any]) -> Results:
    return Results(**{key: item[key] for key in Results.model_fields})


def campaign_public(session: Session, campaign: Campaign) -> CampaignPublic:
    """The API shape of a campaign with its stats (and per-variant results)."""
    days = _settings().broadcasts.attribution_days
    totals = cmp.stats(session=session, campaign_id=campaign.id, attribution_days=days)
    variants = {}
    if campaign.variants:
        per = cmp.stats(session=session, campaign_id=campaign.id, attribution_days=days, by_variant=True)
        variants = {name: _results(item) for name, item in per.items() if name}
    next_run = None
    if campaign.status == "scheduled":
        from broadcasts.scheduler import trigger_for

        try:
            next_run = trigger_for(campaign).get_next_fire_time(None, utcnow())
        except (ValueError, AttributeError):
            next_run = None
    return CampaignPublic(
        id=campaign.id, name=campaign.name, status=campaign.status,
        stats=Stats(**{key: totals[key] for key in cmp.STAT_KEYS}), results=_results(totals), variants=variants,
        segment_id=campaign.segment_id, rules=campaign.rules or {}, channels=list(campaign.channels or []),
        message=campaign.message or {}, send_at=campaign.send_at, recurrence=campaign.recurrence,
        timezone=campaign.timezone, next_run_at=next_run, winner=campaign.winner, notice=campaign.notice or None,
        created_at=campaign.created_at, updated_at=campaign.updated_at)


def _enqueue_campaign(campaign_id: int, run_key: str) -> None:
    from broadcasts.tasks import enqueue_campaign

    enqueue_campaign(campaign_id, run_key)


def _enqueue_run(run_id: int) -> None:
    from broadcasts.tasks import enqueue_run

    enqueue_run(run_id)


# --- segments ---------------------------------------------------------------------------------


@api.post("/segments")
@require_token
def create_segment():
    """Save a named segment; answers it with its current audience count."""
    body = _json_body(SegmentCreate)
    try:
        with session_scope(_engine()) as session:
            segment = seg.create_segment(session=session, name=body.name.strip(), rules=body.rules)
            count = seg.count(session=session, rules=segment.rules)
            public = SegmentPublic(id=segment.id, name=segment.name, rules=segment.rules, count=count,
                                   created_at=segment.created_at)
    except seg.SegmentError as exc:
        raise _segment_error(exc) from None
    response = _dump(public)
    response.status_code = 201
    return response


@api.get("/segments")
@require_token
def list_segments():
    """Saved segments with their live audience counts, newest first."""
    with Session(_engine()) as session:
        rows = session.execute(select(Segment).order_by(Segment.id.desc()).limit(_int_arg("limit", 100, 1, 500))
                               ).scalars().all()
        items = []
        for row in rows:
            try:
                count = seg.count(session=session, rules=row.rules)
            except seg.SegmentError:
                count = 0  # e.g. a store the segment names was deleted
            items.append(SegmentPublic(id=row.id, name=row.name, rules=row.rules, count=count,
                                       created_at=row.created_at))
        return _dump(SegmentList(items=items))


@api.get("/segments/<int:segment_id>")
@require_token
def get_segment(segment_id: int):
    """One segment with its live audience count."""
    with Session(_engine()) as session:
        row = session.get(Segment, segment_id)
        if row is None:
            raise ApiError(404, f"segment {segment_id} not found")
        try:
            count = seg.count(session=session, rules=row.rules)
        except seg.SegmentError as exc:
            raise _segment_error(exc) from None
        return _dump(SegmentPublic(id=row.id, name=row.name, rules=row.rules, count=count, created_at=row.created_at))


@api.post("/segments/preview")
@require_token
def preview_segment():
    """The live audience count of rules (while editing) and some sample contacts."""
    body = _json_body(SegmentPreview)
    with Session(_engine()) as session:
        try:
            count = seg.count(session=session, rules=body.rules)
            sample = seg.sample(session=session, rules=body.rules, limit=body.sample) if body.sample else []
        except seg.SegmentError as exc:
            raise _segment_error(exc) from None
        identities = contact_data.identities_of(session=session, contact_ids=[c.id for c in sample])
        return _dump(PreviewResult(count=count, sample=[contact_public(c, identities[c.id]) for c in sample]))


# --- campaigns --------------------------------------------------------------------------------


@api.post("/campaigns")
@require_token
def create_campaign():
    """Create a campaign: sent now (send_at null), at a time, or on a cron recurrence."""
    from flask import g

    body = _json_body(CampaignCreate)
    settings = _settings()
    if body.segment_id is not None and body.rules is not None:
        raise ApiError(422, "invalid fields", [{"field": "rules", "message": "give segment_id or rules, not both"}])
    if body.message is None and not body.variants:
        raise ApiError(422, "invalid fields", [{"field": "message", "message": "message is required"}])
    timezone_name = body.timezone or settings.timezone
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone_name)
    except Exception:  # noqa: BLE001 - any failure means an unknown zone
        raise ApiError(422, "invalid fields", [{"field": "timezone", "message": "unknown IANA timezone"}]) from None
    try:
        with session_scope(_engine()) as session:
            campaign = cmp.create_campaign(
                session=session, name=body.name, message=body.message, segment_id=body.segment_id,
                rules=body.rules, send_at=body.send_at, recurrence=body.recurrence, timezone_name=timezone_name,
                channels=body.channels, variants=body.variants, ab_test=body.ab_test,
                promotion_id=body.promotion_id, quota_policy=body.quota_policy or settings.broadcasts.quota_policy,
                draft=body.draft, misfire_grace_seconds=settings.broadcasts.misfire_grace_seconds,
                created_by=f"api:{getattr(g, 'api_token_name', '')}")
            campaign_id, status = campaign.id, campaign.status
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None
    if status == "sending":
        _enqueue_campaign(campaign_id, "now")
    response = _dump(CampaignCreated(id=campaign_id, status=status))
    response.status_code = 201
    return response


@api.get("/campaigns")
@require_token
def list_campaigns():
    """Campaigns, newest first (filter with ?status=)."""
    status = _enum_arg("status", CAMPAIGN_STATUSES)
    with Session(_engine()) as session:
        rows = cmp.list_campaigns(session=session, status=status, limit=_int_arg("limit", 100, 1, 500))
        return _dump(CampaignList(items=[CampaignSummary(
            id=c.id, name=c.name, status=c.status, send_at=c.send_at, recurrence=c.recurrence,
            notice=c.notice or None, created_at=c.created_at) for c in rows]))


@api.get("/campaigns/<int:campaign_id>")
@require_token
def get_campaign(campaign_id: int):
    """One campaign with its stats (contract), full results and per-variant results."""
    with Session(_engine()) as session:
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except cmp.CampaignError as exc:
            raise _campaign_error(exc) from None
        return _dump(campaign_public(session, campaign))


def _change(campaign_id: int, action) -> Any:
    try:
        with session_scope(_engine()) as session:
            result = action(session)
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None
    return result


@api.post("/campaigns/<int:campaign_id>/pause")
@require_token
def pause_campaign(campaign_id: int):
    """Pause: nothing more goes out until resumed."""
    campaign = _change(campaign_id, lambda s: cmp.pause(session=s, campaign_id=campaign_id))
    return _dump(CampaignCreated(id=campaign.id, status=campaign.status))


@api.post("/campaigns/<int:campaign_id>/cancel")
@require_token
def cancel_campaign(campaign_id: int):
    """Cancel for good: unsent messages are dropped, the schedule removed."""
    campaign = _change(campaign_id, lambda s: cmp.cancel(session=s, campaign_id=campaign_id))
    return _dump(CampaignCreated(id=campaign.id, status=campaign.status))


def resume_and_enqueue(campaign_id: int, quota_policy: str | None = None) -> tuple[int, str]:
    """Resume a paused campaign (or launch a draft) and queue its work; (id, status). CampaignError when refused."""
    settings = _settings()

    def action(session):
        campaign, run = cmp.resume(session=session, campaign_id=campaign_id)
        if quota_policy:
            campaign.quota_policy = quota_policy
        if run is not None:
            run.quota_checked = False  # the quota may have changed; check again before sending
            session.add(run)
        from broadcasts.scheduler import run_key

        key = None if run is not None or campaign.status != "sending" else \
            run_key(campaign, utcnow(), settings.broadcasts.misfire_grace_seconds)
        return campaign.id, campaign.status, run.id if run is not None else None, key

    with session_scope(_engine()) as session:
        campaign_id_, status, run_id, key = action(session)
    if run_id is not None:
        _enqueue_run(run_id)
    elif key is not None:
        _enqueue_campaign(campaign_id_, key)
    return campaign_id_, status


@api.post("/campaigns/<int:campaign_id>/resume")
@require_token
def resume_campaign(campaign_id: int):
    """Resume a paused campaign (or launch a draft); optionally with another quota policy."""
    body = _json_body(ResumeBody) if request.get_data() else ResumeBody()
    try:
        campaign_id_, status = resume_and_enqueue(campaign_id, body.quota_policy)
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None
    return _dump(CampaignCreated(id=campaign_id_, status=status))


def send_winner(campaign_id: int, variant: str | None = None) -> str:
    """End an A/B test: the named (or best) variant goes to the rest; the winner. CampaignError when refused."""
    from broadcasts import fanout
    from core.runtime import get_runtime

    days = _settings().broadcasts.attribution_days
    with Session(_engine()) as session:
        winner = cmp.choose_winner(session=session, campaign_id=campaign_id, attribution_days=days, variant=variant)
        run = cmp.open_run(session=session, campaign_id=campaign_id)
    fanout.release_winner(get_runtime(), campaign_id, winner)
    if run is not None:
        _enqueue_run(run.id)
    return winner


@api.post("/campaigns/<int:campaign_id>/winner")
@require_token
def choose_winner(campaign_id: int):
    """End an A/B test: the named (or best) variant goes to the rest of the audience."""
    body = _json_body(WinnerBody) if request.get_data() else WinnerBody()
    try:
        send_winner(campaign_id, body.variant)
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None
    with Session(_engine()) as session:
        return _dump(campaign_public(session, session.get(Campaign, campaign_id)))


@api.post("/campaigns/<int:campaign_id>/test")
@require_token
def test_send(campaign_id: int):
    """Send the campaign now to staff members' proven chat accounts only (not counted in results or caps)."""
    body = _json_body(TestSend)
    if not body.targets and not body.contact_ids:
        raise ApiError(422, "invalid fields", [{"field": "targets", "message": "name at least one target "
                                                                               "(channel + external_id) or contact id"}])
    from broadcasts.fanout import test_send as send

    with Session(_engine()) as session:
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except cmp.CampaignError as exc:
            raise _campaign_error(exc) from None
        targets, errors = _proven_targets(session, body)
        if errors:
            raise ApiError(422, "invalid fields", errors)
        variant = body.variant or ""
        if variant and variant not in [v["name"] for v in campaign.variants or []]:
            raise ApiError(422, "invalid fields", [{"field": "variant", "message": "no such variant"}])
        session.expunge(campaign)
    from core.runtime import get_runtime

    results = send(get_runtime(), campaign, targets, variant)
    return _dump(TestResults(items=[TestResult(channel=target.channel, external_id=target.external_id,
                                               status=o.status, error=o.error) for target, o in results]))


NOT_PROVEN = "not a linked staff account (staff link their own accounts with a code on the inbox's My chat accounts page)"


def _proven_targets(session: Session, body: TestSend) -> tuple[list[staff_links.Target], list[dict[str, str]]]:
    """The staff accounts a test-send names, and an error for each target that is not one."""
    targets, errors = [], []
    for i, item in enumerate(body.targets):
        target = staff_links.proven(session=session, channel=item.channel, external_id=item.external_id)
        if target is None:
            errors.append({"field": f"targets[{i}]", "message": NOT_PROVEN})
        elif target not in targets:
            targets.append(target)
    if body.contact_ids:
        linked = staff_links.proven_contacts(session=session, contact_ids=body.contact_ids)
        for i, contact_id in enumerate(body.contact_ids):
            if not any(target.contact_id == contact_id for target in linked):
                errors.append({"field": f"contact_ids[{i}]", "message": NOT_PROVEN})
        targets += [target for target in linked if target not in targets]
    return targets, errors


def render_preview(message: dict[str, Any], name: str = "Budi", promotion: Any = None) -> dict[str, list[dict]]:
    """How a validated message renders on LINE and on Telegram: channel -> reply payloads."""
    settings = _settings()
    rendered = {}
    for channel in ("line", "telegram"):
        ctx = cmp.RenderContext(campaign_id=0, variant="", channel=channel, shop=settings.bot.shop_name,
                                public_url=settings.public_url, secret=settings.secret_key, name=name,
                                promotion=promotion)
        rendered[channel] = [reply.to_payload() for reply in cmp.render(message, ctx, settings.tz)]
    return rendered


@api.post("/campaigns/preview")
@require_token
def preview_message():
    """How a message renders on LINE and on Telegram (neutral replies, variables filled)."""
    body = _json_body(MessagePreview)
    try:
        message = cmp.validate_message(body.message)
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None
    return _dump(RenderedPreview(**render_preview(message, body.name)))


@api.get("/campaigns/<int:campaign_id>/timeseries")
@require_token
def campaign_timeseries(campaign_id: int):
    """Sent/failed/unknown/blocked/clicked per minute, hour or day (for charts)."""
    bucket = _enum_arg("bucket", BUCKETS, "hour")
    with Session(_engine()) as session:
        try:
            cmp.get_campaign(session=session, campaign_id=campaign_id)
        except cmp.CampaignError as exc:
            raise _campaign_error(exc) from None
        items = cmp.timeseries(session=session, campaign_id=campaign_id, bucket=bucket)
        return _dump(TimeSeries(bucket=bucket, items=[TimePoint(**item) for item in items]))


def csv_response(engine, campaign_id: int) -> Response:
    """Every delivery of the campaign as a streamed CSV download (batches of 1,000 rows)."""
    def generate():
        with Session(engine) as session:
            yield from stream_csv(cmp.CSV_COLUMNS, cmp.export_rows(session=session, campaign_id=campaign_id))

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})


@api.get("/campaigns/<int:campaign_id>/export.csv")
@require_token
def export_campaign(campaign_id: int):
    """Every delivery of the campaign as CSV (streamed)."""
    engine = _engine()
    with Session(engine) as session:
        try:
            cmp.get_campaign(session=session, campaign_id=campaign_id)
        except cmp.CampaignError as exc:
            raise _campaign_error(exc) from None
    return csv_response(engine, campaign_id)


# --- journeys, consent, quota -------------------------------------------------------------------


def _journey_public(row) -> JourneyPublic:
    return JourneyPublic(key=row.key, enabled=row.enabled, message=row.message or {}, options=row.options or {},
                         campaign_id=row.campaign_id, updated_at=row.updated_at)


@api.get("/journeys")
@require_token
def list_journeys():
    """The triggered journeys (welcome, birthday, order follow-up, win-back, abandoned order)."""
    with session_scope(_engine()) as session:
        return _dump(JourneyList(items=[_journey_public(row) for row in journey_data.ensure(session=session)]))


@api.patch("/journeys/<key>")
@require_token
def update_journey(key: str):
    """Switch a journey on or off, or edit its message and options."""
    body = _json_body(JourneyUpdate)
    try:
        with session_scope(_engine()) as session:
            row = journey_data.update(session=session, key=key, enabled=body.enabled, message=body.message,
                                      options=body.options)
            return _dump(_journey_public(row))
    except cmp.CampaignError as exc:
        raise _campaign_error(exc) from None


@api.post("/contacts/<int:contact_id>/consent")
@require_token
def set_consent(contact_id: int):
    """Opt a contact out of (or back into) marketing on one channel."""
    body = _json_body(ConsentBody)
    with session_scope(_engine()) as session:
        if session.get(Contact, contact_id) is None:
            raise ApiError(404, f"contact {contact_id} not found")
        consent_data.set_opt_out(session=session, contact_id=contact_id, channel=body.channel,
                                 opted_out=body.opted_out, source="api")
        return _dump(ConsentPublic(contact_id=contact_id,
                                   opted_out_channels=consent_data.opted_out_channels(session=session,
                                                                                      contact_id=contact_id)))


def read_quota() -> Quota:
    """This month's LINE quota; ApiError 409 when LINE is off, 502 when LINE fails."""
    from core.runtime import get_runtime

    try:
        limit, used = get_runtime().senders.get("line").quota()
    except KeyError:
        raise ApiError(409, "LINE is not configured (set SAPA_LINE__CHANNEL_SECRET and SAPA_LINE__ACCESS_TOKEN)") \
            from None
    except Exception as exc:  # noqa: BLE001 - LINE failed; say so instead of a 500
        raise ApiError(502, f"LINE did not answer the quota request: {type(exc).__name__}") from None
    return Quota(limit=limit, used=used, left=None if limit is None else max(0, limit - used))


@api.get("/broadcasts/quota")
@require_token
def line_quota():
    """This month's LINE message quota, read from LINE."""
    return _dump(read_quota())


# --- tracked links (public) -----------------------------------------------------------------------

tracking = Blueprint("tracking", __name__)


VISITOR_COOKIE = "sapa_v"
VISITOR_DAYS = 365


def _visitor(secret: str) -> tuple[str, str | None]:
    """Who follows a link without a recipient parameter: (visitor id, cookie to set or None).

    The first-party cookie names a browser across requests; a client that keeps no cookies
    is known by its address and user agent. A first visit's cookie carries that same id, so
    following a link with or without the cookie counts the same visitor. The cookie is
    signed: made-up ids count nothing.
    """
    signer = Signer(secret, salt="sapa.tracked-link.visitor")
    cookie = request.cookies.get(VISITOR_COOKIE, "")
    try:
        return signer.unsign(cookie).decode(), None
    except BadSignature:
        pass
    client = f"{request.remote_addr or ''}\n{request.user_agent.string}"
    visitor = hmac.new(secret.encode(), client.encode(), hashlib.sha256).hexdigest()[:32]
    return visitor, signer.sign(visitor).decode()


def _recipient(session: Session, link: TrackedLink, secret: str) -> tuple[int | None, int | None]:
    """(delivery id, contact id) of the link's signed recipient parameter `d`, else (None, None)."""
    number, _, signature = request.args.get("d", "").partition(".")
    delivery_id = as_id(number)
    if delivery_id is None or not hmac.compare_digest(
            signature.encode(), cmp.link_signature(secret, link.token, delivery_id).encode()):
        return None, None
    delivery = session.get(CampaignRecipient, delivery_id)
    if delivery is None or delivery.campaign_id != link.campaign_id:
        return None, None
    return delivery.id, delivery.contact_id


@tracking.get("/r/<token>")
def follow_link(token: str):
    """Count the first click of each recipient (or visitor) on a campaign link, then redirect to its target."""
    engine = current_app.extensions["sapa.engine"]
    secret = current_app.config["SAPA"].secret_key
    cookie = None
    with session_scope(engine) as session:
        link = session.execute(select(TrackedLink).where(TrackedLink.token == token)).scalars().first()
        if link is None:
            return {"error": "unknown link"}, 404
        delivery_id, contact_id = _recipient(session, link, secret)
        if contact_id is not None:
            visitor = f"c:{contact_id}"
        else:  # a multicast link: one URL for up to 500 people, so the clicker is told apart by client
            anonymous, cookie = _visitor(secret)
            visitor = f"v:{anonymous}"
        cmp.record_link_click(session=session, link=link, visitor=visitor, contact_id=contact_id,
                              delivery_id=delivery_id)
        target = link.url
    response = redirect(target, code=302)
    if cookie is not None:
        response.set_cookie(VISITOR_COOKIE, cookie, max_age=VISITOR_DAYS * 86400, path="/r/", httponly=True,
                            secure=request.is_secure, samesite="Lax")
    return response


@api.record_once
def _register_tracking(state) -> None:
    # The redirect lives outside /api/v1 (it is what customers click), so it rides along
    # with the API blueprint instead of needing its own line in the app factory.
    state.app.register_blueprint(tracking)


# --- OpenAPI ----------------------------------------------------------------------------------------

OPENAPI_MODELS.extend([SegmentCreate, SegmentPreview, SegmentPublic, SegmentList, PreviewResult, Stats, Results,
                       CampaignCreate, CampaignCreated, CampaignPublic, CampaignSummary, CampaignList, ResumeBody,
                       WinnerBody, TestSend, TestResults, MessagePreview, RenderedPreview, TimeSeries, JourneyPublic,
                       JourneyList, JourneyUpdate, ConsentBody, ConsentPublic, Quota])
_ID = path_param("id")
_INVALID = {"422": _response("Error", "Invalid fields or rules")}
_MISSING = {"404": _response("Error", "Not found")}
_CONFLICT = {"409": _response("Error", "Not allowed in the current status")}


def _action(summary: str, body: str | None = None) -> dict:
    spec = {"summary": summary, "parameters": [_ID],
            "responses": {"200": _response("CampaignCreated"), **_MISSING, **_CONFLICT, **_INVALID, **ERRORS}}
    if body:
        spec["requestBody"] = {**json_body(body), "required": False}
    return {"post": spec}


OPENAPI_PATHS.update({
    "/segments": {
        "get": {"summary": "Saved segments with live counts", "parameters": [limit_param(500)],
                "responses": {"200": _response("SegmentList"), **ERRORS}},
        "post": {"summary": "Save a segment", "requestBody": json_body("SegmentCreate"),
                 "responses": {"201": _response("SegmentPublic"), **_INVALID, **ERRORS}}},
    "/segments/{id}": {"get": {"summary": "One segment with its live count", "parameters": [_ID],
                               "responses": {"200": _response("SegmentPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/segments/preview": {"post": {"summary": "Live audience count and sample contacts of rules",
                                   "requestBody": json_body("SegmentPreview"),
                                   "responses": {"200": _response("PreviewResult"), **_INVALID, **ERRORS}}},
    "/campaigns": {
        "get": {"summary": "Campaigns, newest first", "parameters": [enum_param("status", CAMPAIGN_STATUSES),
                                                                      limit_param(500)],
                "responses": {"200": _response("CampaignList"), **ERRORS}},
        "post": {"summary": "Create a campaign (now, at a time, or recurring)", "requestBody": json_body("CampaignCreate"),
                 "responses": {"201": _response("CampaignCreated"), **_INVALID, **ERRORS}}},
    "/campaigns/{id}": {"get": {"summary": "A campaign with its stats", "parameters": [_ID],
                                "responses": {"200": _response("CampaignPublic"), **_MISSING, **ERRORS}}},
    "/campaigns/{id}/pause": _action("Pause a campaign"),
    "/campaigns/{id}/resume": _action("Resume a paused campaign or launch a draft", "ResumeBody"),
    "/campaigns/{id}/cancel": _action("Cancel a campaign"),
    "/campaigns/{id}/winner": {"post": {
        "summary": "Send the winning A/B variant to the rest", "parameters": [_ID],
        "requestBody": {**json_body("WinnerBody"), "required": False},
        "responses": {"200": _response("CampaignPublic"), **_MISSING, **_CONFLICT, **_INVALID, **ERRORS}}},
    "/campaigns/{id}/test": {"post": {
        "summary": "Test-send to a few staff accounts", "parameters": [_ID], "requestBody": json_body("TestSend"),
        "responses": {"200": _response("TestResults"), **_MISSING, **_INVALID, **ERRORS}}},
    "/campaigns/preview": {"post": {
        "summary": "Render a message for LINE and Telegram", "requestBody": json_body("MessagePreview"),
        "responses": {"200": _response("RenderedPreview"), **_INVALID, **ERRORS}}},
    "/campaigns/{id}/timeseries": {"get": {
        "summary": "Results over time (charts)", "parameters": [_ID, enum_param("bucket", BUCKETS)],
        "responses": {"200": _response("TimeSeries"), **_MISSING, **ERRORS}}},
    "/campaigns/{id}/export.csv": {"get": {
        "summary": "Deliveries as CSV", "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_MISSING, **ERRORS}}},
    "/journeys": {"get": {"summary": "Triggered journeys", "responses": {"200": _response("JourneyList"), **ERRORS}}},
    "/journeys/{key}": {"patch": {
        "summary": "Switch or edit a journey",
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": json_body("JourneyUpdate"),
        "responses": {"200": _response("JourneyPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/contacts/{id}/consent": {"post": {
        "summary": "Opt a contact out of / back into marketing on a channel", "parameters": [_ID],
        "requestBody": json_body("ConsentBody"),
        "responses": {"200": _response("ConsentPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/broadcasts/quota": {"get": {"summary": "LINE monthly message quota",
                                  "responses": {"200": _response("Quota"), "409": _response("Error"),
                                                "502": _response("Error"), **ERRORS}}},
})
