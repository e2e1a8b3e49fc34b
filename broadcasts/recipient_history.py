"""Campaign messages in each recipient's contact history.

A recipient row that stands for a message to someone (queued to be sent, or found blocked)
points at an outbound `Message` (sender "campaign") in that contact's chat on that channel
(`CampaignRecipient.message_id`, unique). The messages are written in the transaction that
writes the recipient rows, one multi-row INSERT per variant and channel; a retried fan-out
finds `message_id` set and adds nothing. Sending then goes through crm.outbound, which
records each outcome on the message; the recipient row keeps the campaign's view (blocked,
skipped, held, cancelled too), written in the same transactions.

These rows carry no batch id: the fan-out sends them, never the bot's outbound sweep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, insert, literal, null, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from core import messages as m
from broadcasts.models import Campaign, CampaignRecipient
from crm.models import Conversation, Message

SENDER = "campaign"
# Deliveries that are (or were meant to be) a message to the contact; skipped and held ones are not.
RECORDED = ("queued", "blocked")
D = CampaignRecipient.__table__
M = Message.__table__
V = Conversation.__table__


def _status():
    """The delivery's status in the Message vocabulary (queued, sending, sent, failed, unknown)."""
    return case((D.c.status.in_(("queued", "sending", "sent", "unknown")), D.c.status), else_=literal("failed"))


def _error():
    """What went wrong, for a message that was not sent (blocked, cancelled, quota...)."""
    return case((D.c.status == "sent", null()), (D.c.error.is_not(None), D.c.error),
                (D.c.reason.is_not(None), literal("not sent: ") + D.c.reason), else_=null())


def content(campaign: Campaign, variant: str, replies: list[m.Reply]) -> dict[str, Any]:
    """The message columns (type, text, payload) for what a recipient is sent."""
    main = next((reply for reply in replies if reply.text), replies[-1])
    payload: dict[str, Any] = {"reply": main.to_payload(), "campaign_id": campaign.id, "campaign": campaign.name,
                               "variant": variant}
    if len(replies) > 1:
        payload["replies"] = [reply.to_payload() for reply in replies]
    # An image with a caption is shown as its text in the inbox (the caption is the message).
    kind = "text" if main.type == "image" and main.text else main.type
    return {"type": kind, "text": main.text, "payload": payload}


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record(session: Session, *, campaign: Campaign, previews: dict[tuple[str, str], list[m.Reply]],
           now: datetime, where: list) -> None:
    """Write the campaign message of each recipient matching `where` that has none yet, and point them at it.

    `previews[(variant, channel)]` is what that variant looks like on that channel; a
    personalised text is completed when it is sent. A contact without a chat on the channel
    gets one, resolved (nothing for staff to answer) until they write.
    """
    recorded = and_(*where, D.c.status.in_(RECORDED), D.c.message_id.is_(None))
    _open_chats(session, recorded, now)
    for (variant, channel), replies in previews.items():
        values = content(campaign, variant, replies)
        rows = session.execute(
            select(D.c.id, V.c.id, D.c.contact_id, _status(), _error(), D.c.sent_at)
            .select_from(D.join(V, and_(V.c.channel == D.c.channel, V.c.external_chat_id == D.c.external_id)))
            .where(recorded, D.c.variant == variant, D.c.channel == channel).order_by(D.c.id)).all()
        if not rows:
            continue
        fixed = {"channel": channel, "direction": "out", "sender": SENDER, **values, "attempts": 0, "hidden": False,
                 "seq": 0, "created_at": now}
        # RETURNING in parameter order: the n-th id is the message of the n-th recipient.
        ids = session.execute(
            insert(M).returning(M.c.id, sort_by_parameter_order=True),
            [{**fixed, "conversation_id": chat, "contact_id": contact, "status": status, "error": error,
              "sent_at": sent_at} for _, chat, contact, status, error, sent_at in rows]).scalars().all()
        # `message_id IS NULL`: a second task resolving the same rows at once keeps the first message ...
        session.execute(update(D).where(D.c.id == bindparam("recipient"), D.c.message_id.is_(None))
                        .values(message_id=bindparam("message")),
                        [{"recipient": row[0], "message": message_id} for row, message_id in zip(rows, ids)])
        # ... and its own, pointed at by nobody, are removed.
        session.execute(delete(M).where(M.c.id.in_(ids), ~exists().where(D.c.message_id == M.c.id)))


def _open_chats(session: Session, recorded, now: datetime) -> None:
    """The 1:1 conversation of each recipient who has none on the channel (race-safe on its unique key)."""
    stamp = literal(now, type_=V.c.created_at.type)
    query = (select(D.c.channel, D.c.external_id, literal("direct"), D.c.contact_id, literal("resolved"),
                    literal([], type_=V.c.labels.type), true(), true(), literal({}, type_=V.c.state.type), literal(0),
                    stamp, stamp, stamp)
             .where(recorded, ~exists().where(V.c.channel == D.c.channel, V.c.external_chat_id == D.c.external_id)))
    columns = ["channel", "external_chat_id", "kind", "contact_id", "status", "labels", "bot_active", "bot_member",
               "state", "unread_count", "created_at", "updated_at", "resolved_at"]
    session.execute(_insert(session)(V).from_select(columns, query).on_conflict_do_nothing())


def sync(session: Session, *where, **values: Any) -> None:
    """Copy the status of the recipients matching `where` to their messages (plus `values`, e.g. the sent text).

    For the changes only the fan-out makes (claimed, released, cancelled, trimmed for quota,
    caught mid-send); the outcome of a send is recorded on the message by crm.outbound.
    """
    session.execute(update(M).where(M.c.id == D.c.message_id, *where)
                    .values(status=_status(), error=_error(), sent_at=D.c.sent_at, **values))
