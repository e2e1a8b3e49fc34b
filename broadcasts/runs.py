"""A campaign run: its audience resolved into recipient rows, checked, planned for sending, closed.

1. *Resolve*: contacts are walked in id ranges; each range is ONE ``INSERT … SELECT … ON
   CONFLICT DO NOTHING`` (the segment's condition, one channel per contact, guard rails as
   a status), committed with the run's progress, so nothing is held in memory and a crash
   resumes where it stopped without duplicating a row.
2. *Guard*: the LINE monthly quota is read from the API; a run that needs more is paused
   (refuse) or trimmed, with a notice, before anything is sent.
3. *Dispatch*: LINE rows are grouped into fixed multicast chunks of ≤ 500 (a chunk never
   changes, so its `X-Line-Retry-Key` is stable across retries and restarts); Telegram
   (and personalised LINE) rows are left to be sent one chat at a time (broadcasts.delivery).

History: each delivery that is a message to someone is also a `Message` in the recipient's
conversation (broadcasts.recipient_history), written with the delivery row and updated with
its status in the same transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Integer, and_, case, cast, exists, false, func, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session

from broadcasts import recipient_history, results
from broadcasts import schedule as sched
from broadcasts.campaign_message import RenderContext, is_personal, render, variant_message
from broadcasts.campaigns import links_of
from broadcasts.models import Campaign, CampaignRun, ChannelConsent, CampaignRecipient
from broadcasts.segments import compile_rules
from core.db import session_scope, utcnow
from core.runtime import Runtime
from crm import alerts, shop_settings, webhooks
from crm.models import ChannelIdentity, Contact
from crm.promotions import Promotion

CHUNK = 500  # LINE multicast: at most 500 user ids per request
IN_FLIGHT = ("queued", "sending")
CHANNEL_OFF = "channel_off"  # the reason of a recipient skipped because their channel is not connected
D = CampaignRecipient.__table__
C = Contact.__table__
I = ChannelIdentity.__table__

@dataclass
class Plan:
    """What a dispatch found to do: LINE chunks, rows to send one by one, or wait."""

    run_id: int
    chunks: list[int] = field(default_factory=list)
    direct: bool = False  # one-by-one rows wait: iterate iter_ranges() for their tasks
    wait_until: datetime | None = None
    finished: bool = False
    notice: str | None = None


def open_run(rt: Runtime, campaign_id: int, run_key: str) -> int | None:
    """The run of `campaign_id` for `run_key`, created once (a second fire finds the first)."""
    with session_scope(rt.engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status in ("cancelled", "done", "draft"):
            return None
        table = CampaignRun.__table__
        insert = pg_insert if rt.engine.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        session.execute(insert(table).values(campaign_id=campaign_id, run_key=run_key, status="resolving",
                                             resolved_upto=0, targeted=0, quota_checked=False, heartbeat_at=now,
                                             started_at=now).on_conflict_do_nothing())
        run_id = session.execute(select(table.c.id).where(table.c.campaign_id == campaign_id,
                                                          table.c.run_key == run_key)).scalar_one()
        if campaign.status == "scheduled" and not campaign.recurrence:
            campaign.status = "sending"
        campaign.updated_at = now
        session.add(campaign)
        return run_id


def _channels(rt: Runtime, campaign: Campaign) -> list[str]:
    # Only channels that are switched on: a row for an unconfigured channel could never be sent.
    return [c for c in campaign.channels if c in rt.settings.channels]


def resolve(rt: Runtime, run_id: int, progress=None) -> int:
    """Write the run's delivery rows, one id range per transaction; returns the rows targeted."""
    settings = rt.settings.broadcasts
    with session_scope(rt.engine) as session:
        run = session.get(CampaignRun, run_id)
        if run is None or run.status != "resolving":
            return run.targeted if run else 0
        campaign = session.get(Campaign, run.campaign_id)
        top = session.execute(select(func.max(C.c.id))).scalar() or 0
        previews = history_previews(rt, session, campaign, [v["name"] for v in campaign.variants or []] or [""])
    lo = run.resolved_upto
    now = utcnow()
    while lo < top:
        hi = min(lo + settings.resolve_batch, top)
        with session_scope(rt.engine) as session:
            live = session.get(Campaign, campaign.id)
            if live.status in ("paused", "cancelled"):
                return run.targeted
            session.execute(_insert_batch(rt, session, campaign, run, lo, hi, now))
            recipient_history.record(session, campaign=campaign, previews=previews, now=now,
                                     where=[D.c.run_id == run_id, D.c.contact_id > lo, D.c.contact_id <= hi])
            session.execute(update(CampaignRun.__table__).where(CampaignRun.__table__.c.id == run_id)
                            .values(resolved_upto=hi, heartbeat_at=utcnow()))
        lo = hi
        if progress is not None:
            progress(lo, top)
    with session_scope(rt.engine) as session:
        targeted = session.execute(select(func.count()).select_from(D).where(D.c.run_id == run_id)).scalar_one()
        session.execute(update(CampaignRun.__table__).where(CampaignRun.__table__.c.id == run_id,
                                                            CampaignRun.__table__.c.status == "resolving")
                        .values(status="sending", targeted=targeted, heartbeat_at=utcnow()))
    return targeted


def history_previews(rt: Runtime, session: Session, campaign: Campaign, variants: list[str]) -> dict:
    """What each variant looks like on each channel, for the recipients' history ({(variant, channel): replies})."""
    promotion, tz = promotion_of(session, campaign), ZoneInfo(campaign.timezone)
    return {(variant, channel): render(variant_message(campaign, variant),
                                       render_context(rt, session, campaign, variant, channel, promotion=promotion), tz)
            for variant in variants for channel in _channels(rt, campaign)}


def _variant_columns(campaign: Campaign):
    """(variant expression, held condition) assigning contacts to A/B variants deterministically."""
    variants = campaign.variants or []
    if not variants:
        return literal(""), false()
    # A stable pseudo-random bucket per contact (0-99) without a random() that a retry would change.
    contact = cast(C.c.id, BigInteger)  # the products exceed 32 bits
    bucket = (contact * 7919 + campaign.id * 104729) % 100
    total = sum(v["weight"] for v in variants)
    whens, edge = [], 0.0
    for item in variants[:-1]:
        edge += 100 * item["weight"] / total
        whens.append((bucket < edge, literal(item["name"])))
    variant = case(*whens, else_=literal(variants[-1]["name"]))
    test = (campaign.ab_test or {}).get("test_percent")
    if not test:
        return variant, false()
    group = (contact * 15485863 + campaign.id * 7) % 100
    return variant, group >= test


def _insert_batch(rt: Runtime, session: Session, campaign: Campaign, run: CampaignRun, lo: int, hi: int,
                  now: datetime):
    settings = shop_settings.current_config(session, rt.settings).broadcasts  # the cap staff set last
    channels = _channels(rt, campaign)
    condition = compile_rules(campaign.rules, session=session, now=now)
    other = aliased(ChannelIdentity.__table__)
    # One channel per person: their most recent reachable account on the campaign's channels, one on a
    # channel that is switched on first. A person only on a channel that is off gets a skipped row, so the
    # marketer sees who was left out and why ("LINE is not connected: 12 recipients skipped").
    switched_off = I.c.channel.notin_(channels or ["-"])
    # The simulator's customers are the shop's own trials: no audience while the simulator is off.
    wanted = [c for c in campaign.channels if c in channels or c != "simulator"]
    best = (select(other.c.id).where(other.c.contact_id == C.c.id, other.c.channel.in_(wanted or ["-"]))
            .order_by(case((other.c.channel.in_(channels or ["-"]), 0), else_=1), other.c.blocked,
                      other.c.id.desc())
            .limit(1).scalar_subquery())
    consent = ChannelConsent.__table__
    opted_out = or_(C.c.marketing_consent == false(),
                    exists().where(consent.c.contact_id == C.c.id, consent.c.channel == I.c.channel,
                                   consent.c.opted_out == True))  # noqa: E712
    earlier = aliased(D)
    if settings.max_per_week > 0:
        recent = (select(func.count()).select_from(earlier)
                  .where(earlier.c.contact_id == C.c.id, earlier.c.sent_at > now - timedelta(days=7))
                  .scalar_subquery())
        capped = recent >= settings.max_per_week
    else:
        capped = false()
    variant, held = _variant_columns(campaign)
    status = case((switched_off, "skipped"), (I.c.blocked == True, "blocked"), (opted_out, "skipped"),  # noqa: E712
                  (capped, "skipped"), (held, "held"), else_="queued")
    reason = case((switched_off, CHANNEL_OFF), (I.c.blocked == True, "blocked"), (opted_out, "opted_out"),  # noqa: E712
                  (capped, "frequency_cap"), else_=null())
    created = literal(now, type_=D.c.created_at.type)
    query = (select(literal(campaign.id), literal(run.id), C.c.id, I.c.channel, I.c.external_id, variant,
                    status, reason, literal(0), created)
             .select_from(I.join(C, C.c.id == I.c.contact_id))
             .where(C.c.id > lo, C.c.id <= hi, I.c.id == best, condition))
    insert = pg_insert if rt.engine.dialect.name == "postgresql" else sqlite_insert
    columns = ["campaign_id", "run_id", "contact_id", "channel", "external_id", "variant", "status", "reason",
               "attempts", "created_at"]
    return insert(D).from_select(columns, query).on_conflict_do_nothing()


# --- guard rails before sending ----------------------------------------------------------


def check_quota(rt: Runtime, run_id: int) -> str | None:
    """Compare the run's LINE recipients with the monthly quota left; refuse or trim. The notice, if any."""
    with session_scope(rt.engine) as session:
        run = session.get(CampaignRun, run_id)
        if run.quota_checked:
            return None
        campaign = session.get(Campaign, run.campaign_id)
        needed = session.execute(select(func.count()).select_from(D).where(
            D.c.run_id == run_id, D.c.channel == "line", D.c.status.in_(("queued", "held")))).scalar_one()
    notice = None
    if needed and "line" in rt.settings.channels:
        try:
            limit, used = rt.senders.get("line").quota()
        except Exception as exc:  # noqa: BLE001 - without the quota we cannot promise anything
            raise RuntimeError(f"LINE quota could not be read: {exc}") from exc
        left = None if limit is None else max(0, limit - used)
        if left is not None and needed > left:
            if campaign.quota_policy == "trim":
                with session_scope(rt.engine) as session:
                    excess = (select(D.c.id).where(D.c.run_id == run_id, D.c.channel == "line",
                                                   D.c.status.in_(("queued", "held")))
                              .order_by(D.c.id.desc()).limit(needed - left))
                    session.execute(update(D).where(D.c.id.in_(excess)).values(status="skipped", reason="quota"))
                    recipient_history.sync(session, D.c.run_id == run_id, D.c.status == "skipped",
                                           D.c.reason == "quota")
                notice = (f"LINE monthly quota: {needed:,} LINE messages needed, {left:,} left ({used:,} of "
                          f"{limit:,} used); trimmed to {left:,}, {needed - left:,} LINE recipients skipped.")
            else:
                notice = (f"LINE monthly quota: {needed:,} LINE messages needed but only {left:,} are left "
                          f"({used:,} of {limit:,} used). Nothing was sent. Resume with quota_policy=trim to send "
                          f"to {left:,} of them, or wait for next month's quota.")
                with session_scope(rt.engine) as session:
                    run = session.get(CampaignRun, run_id)
                    run.status, run.notice = "paused", notice
                    campaign = session.get(Campaign, run.campaign_id)
                    campaign.status, campaign.notice, campaign.updated_at = "paused", notice, utcnow()
                    session.add_all([run, campaign])
                    alerts.raise_alert(session=session, kind="campaign_paused", severity="high",
                                       text=f"{campaign.name}: {notice}",
                                       params={"line": "campaign_paused", "name": campaign.name})
                return notice
    with session_scope(rt.engine) as session:
        run = session.get(CampaignRun, run_id)
        run.quota_checked, run.notice = True, notice
        session.add(run)
        if notice:
            campaign = session.get(Campaign, run.campaign_id)
            campaign.notice = notice
            session.add(campaign)
    return notice


# --- dispatch ---------------------------------------------------------------------------


def quiet_hours_end(rt: Runtime, campaign: Campaign, now: datetime) -> datetime | None:
    """When the quiet hours around `now` end in the campaign's time zone; None outside them."""
    with Session(rt.engine) as session:  # the quiet hours staff set last, in any process
        quiet_hours = shop_settings.current_config(session, rt.settings).broadcasts.quiet_hours
    return sched.quiet_until(quiet_hours, ZoneInfo(campaign.timezone), now)


def dispatch(rt: Runtime, run_id: int, now: datetime | None = None) -> Plan:
    """Plan the sending of a resolved run: chunk LINE rows, mark stale Telegram sends unknown."""
    now = now or utcnow()
    plan = Plan(run_id)
    with session_scope(rt.engine) as session:
        run = session.get(CampaignRun, run_id)
        campaign = session.get(Campaign, run.campaign_id)
        if run.status != "sending" or campaign.status not in ("sending", "scheduled"):
            return plan
        wait = quiet_hours_end(rt, campaign, now)
        if wait is not None:
            plan.wait_until = wait
            run.notice = f"quiet hours: sending resumes at {wait.astimezone(ZoneInfo(campaign.timezone)):%H:%M}"
            session.add(run)
            return plan
        stale = now - timedelta(seconds=rt.settings.broadcasts.stale_seconds)
        caught = list(session.execute(select(D.c.id).where(D.c.run_id == run_id, D.c.status == "sending",
                                                           D.c.chunk.is_(None), D.c.sending_at < stale)).scalars())
        if caught:
            # A Telegram message caught mid-send by a crash may have arrived: never send it again.
            session.execute(update(D).where(D.c.id.in_(caught), D.c.channel != "line")
                            .values(status="unknown", error="worker stopped while sending; not resent",
                                    sent_at=D.c.sending_at))
            # Personalised LINE pushes carry a retry key per row: safe to send again.
            session.execute(update(D).where(D.c.id.in_(caught), D.c.channel == "line").values(status="queued"))
            recipient_history.sync(session, D.c.id.in_(caught))
        run.heartbeat_at = utcnow()
        session.add(run)
    _assign_chunks(rt, campaign, run_id)
    with session_scope(rt.engine) as session:
        plan.chunks = list(session.execute(select(D.c.chunk).where(
            D.c.run_id == run_id, D.c.chunk.is_not(None), D.c.status.in_(IN_FLIGHT)).distinct()
            .order_by(D.c.chunk)).scalars())
        plan.direct = session.execute(select(D.c.id).where(direct_rows(run_id)).limit(1)).first() is not None
    if not plan.chunks and not plan.direct:
        plan.finished = finish_if_done(rt, run_id)
    return plan


def is_personal_variant(campaign: Campaign, variant: str) -> bool:
    """True when the variant's text differs per recipient (pushed one by one, never multicast)."""
    return is_personal(variant_message(campaign, variant))


def _assign_chunks(rt: Runtime, campaign: Campaign, run_id: int) -> None:
    """Group queued LINE rows into fixed multicast chunks of ≤ 500 (per variant; personalised ones are pushed).

    One UPDATE per variant numbers the rows with a window function, so a variant's chunks
    appear all at once or not at all (a crash in between cannot leave half a chunk).
    """
    variants = [v["name"] for v in campaign.variants or []] or [""]
    for variant in variants:
        if is_personal_variant(campaign, variant):
            continue
        with session_scope(rt.engine) as session:
            base = (session.execute(select(func.max(D.c.chunk)).where(D.c.run_id == run_id)).scalar() or 0) + 1
            numbered = (select(D.c.id.label("id"),
                               (func.row_number().over(order_by=D.c.id) - 1).label("position"))
                        .where(D.c.run_id == run_id, D.c.channel == "line", D.c.status == "queued",
                               D.c.chunk.is_(None), D.c.variant == variant)
                        .subquery())
            session.execute(update(D).where(D.c.id == numbered.c.id)
                            .values(chunk=cast(numbered.c.position // CHUNK, Integer) + base))


def direct_rows(run_id: int):
    """The condition selecting a run's queued rows that are sent one by one (in no LINE chunk)."""
    return and_(D.c.run_id == run_id, D.c.chunk.is_(None), D.c.status == "queued")


def iter_ranges(rt: Runtime, run_id: int, size: int):
    """Id ranges of `size` queued one-by-one rows, from one streamed query (tasks carry ranges, not ids)."""
    with Session(rt.engine) as session:
        rows = session.execute(select(D.c.id).where(direct_rows(run_id)).order_by(D.c.id)
                               .execution_options(yield_per=10_000)).scalars()
        first = last = None
        count = 0
        for delivery_id in rows:
            if first is None:
                first = delivery_id
            last, count = delivery_id, count + 1
            if count == size:
                yield first, last
                first, count = None, 0
        if first is not None:
            yield first, last


def finish_if_done(rt: Runtime, run_id: int) -> bool:
    """Close the run (and a one-off campaign) when nothing is left to send."""
    with session_scope(rt.engine) as session:
        pending = session.execute(select(func.count()).select_from(D).where(
            D.c.run_id == run_id, D.c.status.in_(("queued", "sending", "held")))).scalar_one()
        run = session.get(CampaignRun, run_id)
        if pending or run.status not in ("sending",):
            return False
        run.status, run.finished_at = "done", utcnow()
        session.add(run)
        campaign = session.get(Campaign, run.campaign_id)
        if campaign.status == "sending" and not campaign.recurrence and campaign.kind == "campaign":
            campaign.status, campaign.updated_at = "done", utcnow()
            session.add(campaign)
        webhooks.emit(session, "campaign.finished", lambda: {
            "id": campaign.id, "name": campaign.name, "kind": campaign.kind, "status": campaign.status, "run_id": run.id,
            "stats": dict(results.stats(session=session, campaign_id=campaign.id,
                                        attribution_days=rt.settings.broadcasts.attribution_days))})
        return True


# --- crash recovery -----------------------------------------------------------------------


def stale_runs(rt: Runtime, now: datetime | None = None) -> list[int]:
    """Runs that made no progress for `stale_seconds` (their task died with a worker)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=rt.settings.broadcasts.stale_seconds)
    table = CampaignRun.__table__
    campaign = Campaign.__table__
    with Session(rt.engine) as session:
        joined = table.join(campaign, campaign.c.id == table.c.campaign_id)
        return list(session.execute(select(table.c.id).select_from(joined)
                                    .where(table.c.status.in_(("resolving", "sending")), table.c.heartbeat_at < cutoff,
                                           campaign.c.status.in_(("sending", "scheduled")))).scalars())


def touch_run(rt: Runtime, run_id: int) -> None:
    """Record progress on a run (so the clock does not think it died)."""
    with session_scope(rt.engine) as session:
        session.execute(update(CampaignRun.__table__).where(CampaignRun.__table__.c.id == run_id)
                        .values(heartbeat_at=utcnow()))


# --- rendering for this run ----------------------------------------------------------------


def render_context(rt: Runtime, session: Session, campaign: Campaign, variant: str, channel: str, name: str = "",
                   delivery_id: int | None = None, promotion=None) -> RenderContext:
    """What rendering one variant on one channel needs: the shop, the secret, the variant's tracked links."""
    return RenderContext(campaign_id=campaign.id, variant=variant, channel=channel,
                         shop=shop_settings.current_config(session, rt.settings).bot.shop_name, public_url=rt.settings.public_url,
                         secret=rt.settings.secret_key, name=name, promotion=promotion,
                         links=links_of(session=session, campaign_id=campaign.id, variant=variant),
                         delivery_id=delivery_id, recommended_fallback=rt.settings.cross_sell.campaign_fallback)


def promotion_of(session: Session, campaign: Campaign) -> Promotion | None:
    """The promotion the campaign announces, if any."""
    if campaign.promotion_id is None:
        return None
    return session.get(Promotion, campaign.promotion_id)
