"""Campaign messages in each recipient's contact history.

A delivery that stands for a message to someone (queued to be sent, or found blocked) is
also an outbound `Message` (sender "campaign") in that contact's chat on that channel. It
is written in the same transaction as its delivery row, by one ``INSERT … SELECT`` per
variant and channel, and every later change of the delivery's status is copied to it in the
transaction that makes the change. `Message.delivery_id` is unique: a retried fan-out
finds the message instead of adding a second one.

These rows carry no batch id: the fan-out sends them, never the bot's outbound sweep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, false, literal, null, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from core import messages as m
from broadcasts.models import Campaign, Delivery
from crm.models import Conversation, Message

SENDER = "campaign"
# Deliveries that are (or were meant to be) a message to the contact; skipped and held ones are not.
RECORDED = ("queued", "blocked")
D = Delivery.__table__
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
    """Write the campaign message of each delivery matching `where` that has none yet.

    `previews[(variant, channel)]` is what that variant looks like on that channel; a
    personalised text is completed when it is sent. A contact without a chat on the channel
    gets one, resolved (nothing for staff to answer) until they write.
    """
    recorded = and_(*where, D.c.status.in_(RECORDED), ~exists().where(M.c.delivery_id == D.c.id))
    _open_chats(session, recorded, now)
    insert = _insert(session)
    stamp = literal(now, type_=M.c.created_at.type)
    for (variant, channel), replies in previews.items():
        values = content(campaign, variant, replies)
        query = (select(V.c.id, D.c.contact_id, D.c.channel, literal("out"), literal(SENDER), literal(values["type"]),
                        literal(values["text"]), literal(values["payload"], type_=M.c.payload.type), _status(),
                        _error(), literal(0), false(), literal(0), stamp, D.c.sent_at, D.c.id)
                 .select_from(D.join(V, and_(V.c.channel == D.c.channel, V.c.external_chat_id == D.c.external_id)))
                 .where(recorded, D.c.variant == variant, D.c.channel == channel))
        columns = ["conversation_id", "contact_id", "channel", "direction", "sender", "type", "text", "payload",
                   "status", "error", "attempts", "hidden", "seq", "created_at", "sent_at", "delivery_id"]
        session.execute(insert(M).from_select(columns, query).on_conflict_do_nothing())


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
    """Copy the status of the deliveries matching `where` to their messages (plus `values`, e.g. the sent text)."""
    session.execute(update(M).where(M.c.delivery_id == D.c.id, *where)
                    .values(status=_status(), error=_error(), sent_at=D.c.sent_at, **values))
