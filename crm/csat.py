"""Customer satisfaction (CSAT): a short survey after a resolved chat or a delivered order, and its ratings.

Resolving a chat records a survey that is *due* (`after_resolve`); so does an order marked
delivered (found by `find_deliveries`). The clock's `send_due` sends it through the outbound
path (a message row in the customer's chat, batch id `csat:<survey id>`, so it is never sent
twice) once its delay has passed, unless the customer opted out, blocked the account or had a survey in the last
`csat.min_days_between` days. The customer's answer (a button, or typed) is read by
`handlers.csat` and stored here with `rate` / `add_comment`.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, Session, SQLModel, func, select

from core import messages as m
from core.after_commit import send_after_commit
from core.db import as_utc, utcnow
from core.settings import CsatSettings
from core.texts import text
from crm import history
from crm.models import ChannelIdentity, Contact, Conversation
from crm.orders import Order, OrderEvent

log = logging.getLogger(__name__)

SCORES = (1, 2, 3, 4, 5)
SATISFIED = 4  # a rating of 4 or 5 counts as satisfied (the CSAT share)
LOW = 2  # a rating of 1 or 2 alerts staff
FACES = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😊"}
TREND_DAYS = 7  # each day of the trend is the CSAT of the week up to it (a few ratings a day are noise)
COMMENT_CHARS = 1000
SEND_PER_RUN = 200


class CsatSurvey(SQLModel, table=True):
    """One satisfaction survey: what caused it, when it was sent, and the customer's rating and comment."""

    __table_args__ = (Index("ix_csatsurvey_contact_sent", "contact_id", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")  # indexed with sent_at below
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="order.id", index=True)
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id")  # the agent who handled it
    trigger: str = Field(max_length=10)  # resolved | delivered
    channel: str | None = Field(default=None, max_length=16)
    status: str = Field(default="due", max_length=10, index=True)  # due → sent → rated, or due → skipped
    skip_reason: str | None = Field(default=None, max_length=20)  # opted_out, too_soon, blocked, reopened, …
    ready_at: datetime = Field(default_factory=utcnow)  # when the chat was resolved / the order delivered
    sent_at: datetime | None = None
    score: int | None = None
    comment: str | None = Field(default=None, sa_column=Column(Text))
    rated_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)


# --- causes ---------------------------------------------------------------------------------


def after_resolve(*, session: Session, conversation: Conversation, staff_user_id: int | None,
                  now: datetime | None = None) -> CsatSurvey | None:
    """A survey due after staff resolve a customer's chat (called before its status changes; once per resolve)."""
    if conversation.kind != "direct" or conversation.contact_id is None or conversation.status == "resolved":
        return None
    now = now or utcnow()
    agent = conversation.assignee_id or staff_user_id
    survey = session.exec(select(CsatSurvey).where(CsatSurvey.conversation_id == conversation.id,
                                                   CsatSurvey.trigger == "resolved",
                                                   CsatSurvey.status == "due")).first()
    if survey is None:
        survey = CsatSurvey(contact_id=conversation.contact_id, conversation_id=conversation.id, trigger="resolved")
    survey.ready_at, survey.staff_user_id = now, agent
    session.add(survey)
    return survey


def find_deliveries(*, session: Session, since: datetime) -> list[CsatSurvey]:
    """Surveys due for the orders delivered since `since` that have none yet (once per order)."""
    surveyed = select(CsatSurvey.id).where(CsatSurvey.order_id == Order.id).exists()
    rows = session.exec(select(Order, func.max(OrderEvent.at)).join(OrderEvent, OrderEvent.order_id == Order.id)
                        .where(Order.status == "delivered", OrderEvent.status == "delivered", OrderEvent.at >= since,
                               ~surveyed).group_by(Order.id).order_by(Order.id)).all()
    surveys = []
    for order, delivered_at in rows:
        conversation = session.get(Conversation, order.conversation_id) if order.conversation_id else None
        survey = CsatSurvey(contact_id=order.contact_id, order_id=order.id, trigger="delivered", ready_at=delivered_at,
                            conversation_id=conversation.id if conversation else None,
                            staff_user_id=conversation.assignee_id if conversation else None)
        session.add(survey)
        surveys.append(survey)
    session.flush()
    return surveys


# --- sending ------------------------------------------------------------------------------------


def send_due(*, session: Session, rules: CsatSettings, idle_minutes: int,
             opted_out: Callable[[Session, int, str], bool], now: datetime | None = None) -> list[str]:
    """Send the surveys whose delay has passed (after this session commits); their batch ids.

    `opted_out(session, contact_id, channel)` tells whether the customer declined marketing
    on that channel (the broadcasts' consent, handed in by the clock). A survey waits while
    staff have the chat or an order is being typed, at most `send_within_hours`.
    """
    now = now or utcnow()
    find_deliveries(session=session, since=now - timedelta(minutes=rules.after_delivery_minutes,
                                                           hours=rules.send_within_hours))
    rows = session.exec(select(CsatSurvey).where(CsatSurvey.status == "due")
                        .order_by(CsatSurvey.ready_at, CsatSurvey.id).limit(SEND_PER_RUN)).all()
    batches = []
    for survey in rows:
        delay = rules.after_resolve_minutes if survey.trigger == "resolved" else rules.after_delivery_minutes
        if as_utc(survey.ready_at) + timedelta(minutes=delay) > now:
            continue
        if not rules.enabled:
            _skip(session, survey, "disabled")
            continue
        conversation = _chat_of(session, survey)
        reason = _reason_not_to_send(session, survey, conversation, rules, opted_out, idle_minutes, now)
        if reason == "wait":
            if as_utc(survey.ready_at) + timedelta(hours=rules.send_within_hours) <= now:
                _skip(session, survey, "expired")
            continue
        if reason is not None:
            _skip(session, survey, reason)
            continue
        batches.append(_send(session, survey, conversation, idle_minutes, now))
    return batches


def _skip(session: Session, survey: CsatSurvey, reason: str) -> None:
    survey.status, survey.skip_reason = "skipped", reason
    session.add(survey)
    log.info("csat survey %s skipped: %s", survey.id, reason)


def _chat_of(session: Session, survey: CsatSurvey) -> Conversation | None:
    """The chat the survey goes to: its own, else the customer's most recent direct chat."""
    if survey.conversation_id is not None:
        return session.get(Conversation, survey.conversation_id)
    return session.exec(select(Conversation).where(Conversation.contact_id == survey.contact_id,
                                                   Conversation.kind == "direct")
                        .order_by(Conversation.last_message_at.desc().nulls_last())).first()


def _reason_not_to_send(session: Session, survey: CsatSurvey, conversation: Conversation | None, rules: CsatSettings,
                        opted_out: Callable[[Session, int, str], bool], idle_minutes: int,
                        now: datetime) -> str | None:
    """Why this survey must not go out (None: send it; "wait": not now)."""
    if conversation is None or conversation.kind != "direct":
        return "no_chat"
    contact = session.get(Contact, survey.contact_id)
    if contact is None or not contact.marketing_consent or opted_out(session, contact.id, conversation.channel):
        return "opted_out"
    identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == conversation.channel,
                                                          ChannelIdentity.external_id == conversation.external_chat_id)
                            ).first()
    if identity is not None and identity.blocked:
        return "blocked"
    if survey.trigger == "resolved" and conversation.status != "resolved":
        return "reopened"  # the customer wrote again, or staff reopened it: not over yet
    if rules.min_days_between and last_sent(session=session, contact_id=contact.id,
                                            since=now - timedelta(days=rules.min_days_between)):
        return "too_soon"
    if not conversation.bot_active or _live_state(conversation, idle_minutes, now).get("order"):
        return "wait"  # staff have the chat, or the customer is typing an order: not now
    return None


def _live_state(conversation: Conversation, idle_minutes: int, now: datetime) -> dict:
    """The chat's state while it is fresh (the bot forgets it after `idle_minutes`), keeping the language."""
    return history.live_state(conversation, timedelta(minutes=idle_minutes), now, keep=("lang",))


def last_sent(*, session: Session, contact_id: int, since: datetime) -> CsatSurvey | None:
    """The customer's latest survey sent since `since`, if any."""
    return session.exec(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id, CsatSurvey.sent_at >= since)
                        .order_by(CsatSurvey.sent_at.desc())).first()


def _send(session: Session, survey: CsatSurvey, conversation: Conversation, idle_minutes: int, now: datetime) -> str:
    """Write the question with its score buttons in the chat, and remember in the chat that it waits for an answer."""
    contact = session.get(Contact, survey.contact_id)
    state = _live_state(conversation, idle_minutes, now)
    language = state.get("lang") or contact.language or ""
    language = "en" if language.startswith("en") else "id"
    batch_id = f"csat:{survey.id}"
    history.record_outbound(session=session, conversation=conversation, batch_id=batch_id, sender="system",
                            replies=[question(session, survey, contact, language)],
                            meta={"csat_survey_id": survey.id, "chat_type": "direct"})
    # The next message may answer it (typed): the handlers read this, and drop it for anything else.
    state["csat"] = {"survey": survey.id, "stage": "rating"}
    conversation.state, conversation.state_updated_at = state, now
    session.add(conversation)
    survey.status, survey.sent_at, survey.channel, survey.conversation_id = "sent", now, conversation.channel, \
        conversation.id
    session.add(survey)
    send_after_commit(session, batch_id)
    return batch_id


def question(session: Session, survey: CsatSurvey, contact: Contact, language: str) -> m.Reply:
    """The survey message: a question and five score buttons (postbacks `csat:<survey>:<score>`)."""
    name = ((contact.display_name or "").split() or ["Kak"])[0]
    order = session.get(Order, survey.order_id) if survey.order_id is not None else None
    if order is not None:
        words = text("csat_question_order", language, name=name, number=order.number or "")
    else:
        words = text("csat_question_chat", language, name=name)
    return m.Reply(text=words, choices=score_choices(survey.id))


def score_choices(survey_id: int) -> tuple[m.Choice, ...]:
    """The five score buttons: "1 😞" … "5 😊"."""
    return tuple(m.Choice(label=f"{score} {FACES[score]}", data=f"csat:{survey_id}:{score}") for score in SCORES)


# --- answers ------------------------------------------------------------------------------------


def get_survey(*, session: Session, survey_id: int, contact_id: int | None) -> CsatSurvey | None:
    """The customer's survey by id (None when unknown or someone else's)."""
    survey = session.get(CsatSurvey, survey_id)
    return survey if survey is not None and survey.contact_id == contact_id else None


def rate(*, session: Session, survey: CsatSurvey, score: int, comment: str | None = None,
         now: datetime | None = None) -> CsatSurvey:
    """Store the customer's rating (1–5) and their comment if they gave one."""
    if score not in SCORES:
        raise ValueError("a score is 1 to 5")
    survey.status, survey.score, survey.rated_at = "rated", score, now or utcnow()
    survey.comment = _clean(comment) or survey.comment
    session.add(survey)
    session.flush()
    return survey


def add_comment(*, session: Session, survey: CsatSurvey, comment: str) -> CsatSurvey:
    """Keep the customer's comment with their rating (a second comment is added to the first)."""
    cleaned = _clean(comment)
    if cleaned:
        survey.comment = _clean(f"{survey.comment}\n{cleaned}") if survey.comment else cleaned
        session.add(survey)
        session.flush()
    return survey


def _clean(comment: str | None) -> str | None:
    comment = (comment or "").replace("\x00", "").strip()
    return comment[:COMMENT_CHARS] or None


def ratings_of(*, session: Session, contact_id: int, limit: int = 50) -> list[CsatSurvey]:
    """A customer's ratings, newest first."""
    return list(session.exec(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id,
                                                      CsatSurvey.score.is_not(None))
                             .order_by(CsatSurvey.rated_at.desc(), CsatSurvey.id.desc()).limit(limit)).all())


# --- figures -----------------------------------------------------------------------------------


def share_satisfied(scores: list[int]) -> float | None:
    """CSAT: the share (%) of ratings of 4 or 5 (None without ratings)."""
    return round(100 * sum(score >= SATISFIED for score in scores) / len(scores), 1) if scores else None


def figures(*, session: Session, days: int, tz: ZoneInfo, names: dict[int, str],
            now: datetime | None = None) -> dict[str, Any]:
    """CSAT over the last `days`: the share of 4–5 ratings, its trend (a rolling week per day), per agent, channel."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    rows = session.exec(select(CsatSurvey.score, CsatSurvey.rated_at, CsatSurvey.staff_user_id, CsatSurvey.channel)
                        .where(CsatSurvey.rated_at >= since - timedelta(days=TREND_DAYS),
                               CsatSurvey.score.is_not(None))).all()
    sent, answered = session.exec(select(func.count(CsatSurvey.id), func.count(CsatSurvey.score))
                                  .where(CsatSurvey.sent_at >= since)).one()
    first_day = (now - timedelta(days=days + TREND_DAYS - 2)).astimezone(tz).date()
    per_day: dict[str, list[int]] = {(first_day + timedelta(days=n)).isoformat(): []
                                     for n in range(days + TREND_DAYS - 1)}
    per_agent: dict[str, list[int]] = defaultdict(list)
    per_channel: dict[str, list[int]] = defaultdict(list)
    scores = []
    for score, rated_at, staff_user_id, channel in rows:
        day = as_utc(rated_at).astimezone(tz).date().isoformat()
        if day in per_day:
            per_day[day].append(score)
        if as_utc(rated_at) < since:
            continue  # only in the trend's first weeks
        scores.append(score)
        per_agent[names.get(staff_user_id, "—") if staff_user_id else "—"].append(score)
        per_channel[channel or "—"].append(score)
    ordered = list(per_day.values())
    trend = {day: share_satisfied([score for values in ordered[max(0, n - TREND_DAYS + 1):n + 1] for score in values])
             for n, day in enumerate(per_day) if n >= TREND_DAYS - 1}
    counts = Counter(scores)
    return {
        "csat": share_satisfied(scores), "ratings": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "sent": sent, "response_rate": round(100 * answered / sent, 1) if sent else None,
        "distribution": {str(score): counts[score] for score in SCORES},
        "trend": trend,
        "by_channel": {channel: share_satisfied(values) for channel, values in sorted(per_channel.items())},
        "agents": [{"name": name, "ratings": len(values), "csat": share_satisfied(values),
                    "average": round(sum(values) / len(values), 2)} for name, values in sorted(per_agent.items())],
    }
