"""Sending a run's recipient rows through crm.outbound: LINE chunks, one-by-one sends, test-sends.

A LINE chunk is multicast with its stable retry key; Telegram (and personalised LINE) rows
are sent one chat at a time under the shared limiter.

Exactly once: a LINE chunk retried after a crash repeats its retry key (LINE answers 409,
counted as sent). A Telegram row is marked `sending` just before its one call; a row found
still `sending` after a crash is marked `unknown` instead of being sent again.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from broadcasts import recipient_history
from broadcasts.campaign_message import RenderContext, render, uses_recommended, variant_message
from broadcasts.limiter import line_limiter, telegram_limiter
from broadcasts.models import Campaign, CampaignRun, CampaignRecipient
from broadcasts.runs import (IN_FLIGHT, direct_rows, finish_if_done, history_previews, is_personal_variant,
                             promotion_of, quiet_hours_end, render_context)
from core.db import session_scope, utcnow
from core.runtime import Runtime
from core.sending import Outcome, SendRequest, retry_key
from crm import contacts as contact_data
from crm import cross_sell
from crm import history
from crm import outbound
from crm.models import Contact, Message
from crm.outbound import RetryLater
from crm.staff_links import Target

D = CampaignRecipient.__table__
M = Message.__table__
C = Contact.__table__

QUIET = "quiet hours"  # the reason of a RetryLater that waits for the end of quiet hours, not for a platform


def _reason(outcome: Outcome) -> str:
    error = (outcome.error or "").lower()
    if outcome.blocked:
        return "blocked"
    if "monthly limit" in error:
        return "quota"
    if "chat not found" in error:
        return "chat_not_found"
    if "403" in error:
        return "forbidden"
    if "400" in error:
        return "bad_request"
    if "not configured" in error:
        return "channel_off"
    return "error"


def _sendable_campaign(rt: Runtime, run_id: int) -> Campaign | None:
    """The run's campaign if it may send now; None when paused or cancelled; RetryLater in quiet hours."""
    with Session(rt.engine) as session:
        run = session.get(CampaignRun, run_id)
        campaign = session.get(Campaign, run.campaign_id)
        if campaign is None or campaign.status not in ("sending", "scheduled"):
            return None
        session.expunge(campaign)
    quiet = quiet_hours_end(rt, campaign, utcnow())
    if quiet is not None:
        raise RetryLater(QUIET, (quiet - utcnow()).total_seconds())
    return campaign


def send_chunk(rt: Runtime, run_id: int, chunk: int) -> int:
    """Multicast one LINE chunk with its stable retry key; returns the rows now sent."""
    campaign = _sendable_campaign(rt, run_id)
    if campaign is None:
        return 0
    with session_scope(rt.engine) as session:
        rows = session.execute(select(D.c.id, D.c.external_id, D.c.variant, D.c.message_id).where(
            D.c.run_id == run_id, D.c.chunk == chunk, D.c.status.in_(IN_FLIGHT)).order_by(D.c.id)).all()
        if not rows:
            return 0
        session.execute(update(D).where(D.c.id.in_([r[0] for r in rows]))
                        .values(status="sending", sending_at=utcnow(), attempts=D.c.attempts + 1))
        # The history keeps "queued" until the outcome: a chunk's retry key makes it sent exactly
        # once whatever happens meanwhile, and one UPDATE of 500 messages per chunk is saved.
        ctx = render_context(rt, session, campaign, rows[0][2], "line", promotion=promotion_of(session, campaign))
    replies = render(variant_message(campaign, rows[0][2]), ctx, ZoneInfo(campaign.timezone))
    line_limiter(rt.settings).acquire("multicast")
    outcome = outbound.multicast(rt, [r[1] for r in rows], replies, retry_key(f"broadcast:run:{run_id}:chunk", chunk))
    ids = [r[0] for r in rows]
    if outcome.status == "retry":
        # Stays `sending` (its messages queued): the retry repeats the same key, so LINE never delivers it twice.
        with session_scope(rt.engine) as session:
            session.execute(update(D).where(D.c.id.in_(ids)).values(error=outcome.error))
        raise RetryLater(outcome.error or "temporary error", outcome.retry_after or 0)

    def recipients(connection) -> None:
        connection.execute(update(D).where(D.c.id.in_(ids)).values(**_recipient_values(outcome)))
        connection.execute(update(CampaignRun.__table__).where(CampaignRun.__table__.c.id == run_id)
                           .values(heartbeat_at=utcnow()))

    outbound.record(rt, [r[3] for r in rows], [outcome] * len(rows), channel="line",
                    chat_ids=[r[1] for r in rows], also=recipients)
    finish_if_done(rt, run_id)
    return len(ids) if outcome.status == "sent" else 0


@dataclass
class _Counter:
    sent: int = 0
    retry_after: float | None = None
    retry_reason: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_range(rt: Runtime, run_id: int, first: int, last: int, max_retries: int = 3) -> int:
    """Send queued one-by-one rows with ids in [first, last]: Telegram under the limiter, personalised LINE pushes."""
    campaign = _sendable_campaign(rt, run_id)
    if campaign is None:
        return 0
    with session_scope(rt.engine) as session:
        rows = session.execute(select(D.c.id, D.c.channel, D.c.external_id, D.c.variant, C.c.display_name,
                                      D.c.message_id, D.c.contact_id)
                               .select_from(D.join(C, C.c.id == D.c.contact_id))
                               .where(direct_rows(run_id), D.c.id >= first, D.c.id <= last)
                               .order_by(D.c.id)).all()
        promotion = promotion_of(session, campaign)
        contexts = {(variant, channel): render_context(rt, session, campaign, variant, channel, promotion=promotion)
                    for variant, channel in {(r[3], r[1]) for r in rows}}
        recommended = _recommended(session, campaign, rows)
    counter = _Counter()
    stop = threading.Event()
    tz = ZoneInfo(campaign.timezone)
    limiter = telegram_limiter(rt.settings)

    def one(row) -> None:
        if stop.is_set():
            return
        delivery_id, channel, external_id, variant, name, message_id, contact_id = row
        base = contexts[(variant, channel)]
        ctx = RenderContext(**{**base.__dict__, "name": name or "", "delivery_id": delivery_id,
                               "recommended": recommended.get(contact_id, "")})
        replies = render(variant_message(campaign, variant), ctx, tz)
        for attempt in range(max_retries + 1):
            if not _claim(rt, delivery_id, reclaim=attempt > 0):
                return
            if channel == "telegram":
                # The slot is taken right before the call (after the database write), so the
                # spacing the limiter made is the spacing Telegram sees.
                limiter.acquire("send", chat=external_id)
            outcome = _send_one(rt, channel, external_id, replies, run_id, delivery_id)
            if outcome.status != "retry" or attempt == max_retries:
                break
            # Not sent (429 / 5xx / network): back to queued, wait as asked, try again.
            _release(rt, delivery_id, outcome.error)
            time.sleep(outbound.backoff(outcome, attempt))
        if outcome.status == "retry":
            _release(rt, delivery_id, outcome.error)
            with counter.lock:
                counter.retry_after = max(counter.retry_after or 0, outcome.retry_after or 1)
                counter.retry_reason = outcome.error
            return
        # A personalised text differs from the history's preview: keep what this recipient got.
        personal = is_personal_variant(campaign, variant)
        content = recipient_history.content(campaign, variant, replies) if personal else {}
        _record(rt, delivery_id, message_id, channel, external_id, outcome, content)
        if outcome.status == "sent":
            with counter.lock:
                counter.sent += 1

    workers = rt.settings.broadcasts.telegram_concurrency
    if any(row[1] == "telegram" for row in rows):
        _warm_up(rt)
    checked = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broadcast") as pool:
        futures = []
        for row in rows:
            futures.append(pool.submit(one, row))
            if time.monotonic() - checked > 1:  # pausing or cancelling takes effect within a second
                checked = time.monotonic()
                try:
                    live = _sendable_campaign(rt, run_id)
                except RetryLater:  # quiet hours began: the rest stays queued
                    live = None
                if live is None:
                    stop.set()
                    break
        for future in futures:
            future.result()
    with session_scope(rt.engine) as session:
        session.execute(update(CampaignRun.__table__).where(CampaignRun.__table__.c.id == run_id)
                        .values(heartbeat_at=utcnow()))
    if counter.retry_reason is not None:
        raise RetryLater(counter.retry_reason, counter.retry_after or 1)
    finish_if_done(rt, run_id)
    return counter.sent


def _recommended(session: Session, campaign: Campaign, rows) -> dict[int, str]:
    """Contact id -> the name of their recommended product, for a campaign whose text names it (one query per range)."""
    variants = {row[3] for row in rows}
    if not any(uses_recommended(variant_message(campaign, variant)) for variant in variants):
        return {}
    found = cross_sell.recommended(session=session, contact_ids=[row[6] for row in rows])
    return {contact_id: product.name for contact_id, product in found.items()}


def _warm_up(rt: Runtime) -> None:
    """Make the Telegram client's first call (getMe) before the paced sends.

    The client sets itself up on its first request; paced sends waiting behind that set-up
    would reach Telegram as one burst, and a burst is what flood control punishes.
    """
    try:
        rt.senders.get("telegram").username  # noqa: B018 - getMe once, cached
    except KeyError:
        pass


def _claim(rt: Runtime, delivery_id: int, reclaim: bool = False) -> bool:
    """Mark one row `sending` (committed before the call: after a crash it reads "maybe sent")."""
    with session_scope(rt.engine) as session:
        result = session.execute(update(D).where(D.c.id == delivery_id, D.c.status == "queued")
                                 .values(status="sending", sending_at=utcnow(), attempts=D.c.attempts + 1))
        if result.rowcount != 1:
            return False
        recipient_history.sync(session, D.c.id == delivery_id)
        return True


def _release(rt: Runtime, delivery_id: int, error: str | None) -> None:
    with session_scope(rt.engine) as session:
        session.execute(update(D).where(D.c.id == delivery_id, D.c.status == "sending")
                        .values(status="queued", error=error))
        recipient_history.sync(session, D.c.id == delivery_id)


def _send_one(rt: Runtime, channel: str, external_id: str, replies, run_id: int, delivery_id: int) -> Outcome:
    if channel == "line":  # a personalised LINE message: a push with a retry key of its own
        return outbound.push(rt, external_id, replies, retry_key(f"broadcast:delivery:{delivery_id}"))
    request = SendRequest(chat_id=external_id, replies=replies, retry_key=f"broadcast:{run_id}:{delivery_id}")
    # Telegram has no retry key: after an exception the message may have arrived, so it is never resent.
    return outbound.send(rt, channel, request, on_error="unknown" if channel == "telegram" else "retry")


def _recipient_values(outcome: Outcome) -> dict:
    """The recipient row's columns after a send's (final) outcome."""
    values: dict = {"error": outcome.error}
    if outcome.status == "sent":
        values.update(status="sent", sent_at=utcnow())
    elif outcome.status == "unknown":
        values.update(status="unknown", sent_at=utcnow(), reason="uncertain")
    elif outcome.blocked:
        values.update(status="blocked", reason="blocked")
    else:
        values.update(status="failed", reason=_reason(outcome))
    return values


def _record(rt: Runtime, delivery_id: int, message_id: int | None, channel: str, external_id: str, outcome: Outcome,
            content: dict | None = None) -> None:
    """Record a one-by-one send: its message (and blocked recipient) by crm.outbound, its recipient row alongside."""
    def recipient(connection) -> None:
        connection.execute(update(D).where(D.c.id == delivery_id).values(**_recipient_values(outcome)))
        if content and message_id is not None:  # a personalised text: keep what this recipient got
            connection.execute(update(M).where(M.c.id == message_id).values(**content))

    outbound.record(rt, [message_id], [outcome], channel=channel, chat_ids=[external_id], also=recipient)


# --- A/B winner ---------------------------------------------------------------------------


def release_winner(rt: Runtime, campaign_id: int, variant: str) -> int:
    """Give the held rest of the audience the winning variant; returns how many rows were released."""
    with session_scope(rt.engine) as session:
        campaign = session.get(Campaign, campaign_id)
        campaign.winner, campaign.updated_at = variant, utcnow()
        session.add(campaign)
        result = session.execute(update(D).where(D.c.campaign_id == campaign_id, D.c.status == "held")
                                 .values(status="queued", variant=variant))
        # The released rows become messages to their recipients now, in this transaction.
        previews = history_previews(rt, session, campaign, [variant])
        recipient_history.record(session, campaign=campaign, previews=previews, now=utcnow(),
                                 where=[D.c.campaign_id == campaign_id, D.c.status == "queued", D.c.variant == variant])
        return result.rowcount


# --- test-send ------------------------------------------------------------------------------


def test_send(rt: Runtime, campaign: Campaign, targets: list[Target], variant: str = "",
              staff_user_id: int | None = None) -> list[tuple[Target, Outcome]]:
    """Send the campaign now to proven staff accounts; [(target, Outcome)].

    Each target's chat gets the message as outbound rows in its history, sent as one batch
    by the path every bot and staff reply takes. Not a delivery: it counts in no results,
    caps or quota checks; a fresh batch id per call lets staff test again after editing.
    """
    batches = []
    with session_scope(rt.engine) as session:
        promotion = promotion_of(session, campaign)
        for target in targets:
            contact = session.get(Contact, target.contact_id)
            ctx = render_context(rt, session, campaign, variant, target.channel, promotion=promotion,
                                 name=contact.display_name if contact else "")
            product = cross_sell.recommended(session=session, contact_ids=[target.contact_id]).get(target.contact_id)
            ctx = RenderContext(**{**ctx.__dict__, "recommended": product.name if product else ""})
            replies = render(variant_message(campaign, variant), ctx, ZoneInfo(campaign.timezone))
            conversation = contact_data.get_or_create_conversation(
                session=session, channel=target.channel, chat_id=target.external_id, kind="direct",
                contact_id=target.contact_id)
            batch_id = f"test:{campaign.id}:{uuid.uuid4().hex}"
            history.record_outbound(session=session, conversation=conversation, replies=replies, batch_id=batch_id,
                                    sender="system", staff_user_id=staff_user_id,
                                    meta={"campaign_id": campaign.id, "campaign": campaign.name, "variant": variant,
                                          "test_send": True})
            batches.append((target, batch_id))
    results = []
    for target, batch_id in batches:
        try:
            outbound.deliver_batch(rt, batch_id)
        except RetryLater:
            pass  # left queued: the sweep sends it again, and its status says so meanwhile
        with Session(rt.engine) as session:
            rows = history.batch_messages(session=session, batch_id=batch_id)
        unsent = next((row for row in rows if row.status != "sent"), None)
        results.append((target, Outcome(unsent.status, unsent.error) if unsent else Outcome("sent")))
    return results
