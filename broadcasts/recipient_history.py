"""Campaign messages in each recipient's contact history.

A recipient row that stands for a message to someone (queued to be sent, or found blocked)
points at an outbound `Message` (sender "campaign") in that contact's chat on that channel
(`CampaignRecipient.message_id`, unique). The messages are written in the transaction that
writes the recipient rows, one INSERT … SELECT per variant and channel; a retried fan-out
finds `message_id` set and adds nothing. Sending then goes through crm.outbound, which
records each outcome on the message; the recipient row keeps the campaign's view (blocked,
skipped, held, cancelled too), written in the same transactions.

These rows carry no batch id: the fan-out sends them, never the bot's outbound sweep.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, false, func, insert, literal, null, or_, select, true, update
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
    gets one, resolved (nothing for staff to answer) until they write. Set-based: each
    message gets its id before it is written (a PostgreSQL sequence value, or the next
    free ids on SQLite), so the rows that point at it are known without reading them back.
    """
    recorded = and_(*where, D.c.status.in_(RECORDED), D.c.message_id.is_(None))
    # Also the first write of this call: on SQLite the transaction holds the write lock from here.
    _open_chats(session, recorded, now)
    contents = {(variant, channel): content(campaign, variant, replies)
                for (variant, channel), replies in previews.items()}
    if session.get_bind().dialect.name == "postgresql":
        _link_postgres(session, recorded, contents, now)
    else:
        _link_sqlite(session, recorded, contents, now)


def _one(recorded, variant: str, channel: str):
    """The recipients of `recorded` who are sent this variant on this channel."""
    return and_(recorded, D.c.variant == variant, D.c.channel == channel)


def _picked(matching, message_id):
    """The recipients to give a message: their row, the id their message gets, its chat and status."""
    return (select(D.c.id.label("recipient"), message_id.label("message"), V.c.id.label("chat"), D.c.contact_id,
                   _status().label("status"), _error().label("error"), D.c.sent_at)
            .select_from(D.join(V, and_(V.c.channel == D.c.channel, V.c.external_chat_id == D.c.external_id)))
            .where(matching))


def _messages(picked, channel: str, values: dict[str, Any], now: datetime):
    """The message rows (in COLUMNS order) of the picked recipients."""
    return select(picked.c.message, picked.c.chat, picked.c.contact_id, literal(channel), literal("out"),
                  literal(SENDER), literal(values["type"]), literal(values["text"]),
                  literal(values["payload"], type_=M.c.payload.type), picked.c.status, picked.c.error, literal(0),
                  false(), literal(0), literal(now, type_=M.c.created_at.type), picked.c.sent_at)


COLUMNS = ["id", "conversation_id", "contact_id", "channel", "direction", "sender", "type", "text", "payload",
           "status", "error", "attempts", "hidden", "seq", "created_at", "sent_at"]


def _link_postgres(session: Session, recorded, contents: dict[tuple[str, str], dict[str, Any]],
                   now: datetime) -> None:
    """Per variant and channel, one statement: lock the rows, insert their messages with sequence ids, link them."""
    message_id = func.nextval(func.pg_get_serial_sequence(M.name, M.c.id.name))
    for (variant, channel), values in contents.items():
        # FOR UPDATE: a second task resolving the same rows at once waits, then skips the rows that got a message.
        picked = (_picked(_one(recorded, variant, channel), message_id)
                  .order_by(D.c.id).with_for_update(of=D).cte("picked"))
        messages = insert(M).from_select(COLUMNS, _messages(picked, channel, values, now)).cte("messages")
        session.execute(update(D).add_cte(messages).where(D.c.id == picked.c.recipient)
                        .values(message_id=picked.c.message))


def _link_sqlite(session: Session, recorded, contents: dict[tuple[str, str], dict[str, Any]], now: datetime) -> None:
    """Insert the messages with ids above the highest one (recipient id + a fixed offset), then link all rows at once."""
    # One writer at a time (the caller's transaction holds the write lock): nobody takes these ids meanwhile.
    top = session.execute(select(func.coalesce(func.max(M.c.id), 0))).scalar_one()
    first = session.execute(select(func.min(D.c.id)).where(recorded)).scalar_one()
    if first is None:
        return
    # Recipient ids are unique, so are these; the rows in between that get no message leave unused ids.
    message_id = D.c.id + (top - first + 1)
    written = sum(session.execute(insert(M).from_select(COLUMNS, _messages(
        _picked(_one(recorded, variant, channel), message_id).subquery("picked"), channel, values, now))).rowcount
        for (variant, channel), values in contents.items())
    linked = session.execute(update(D).where(or_(*(_one(recorded, *key) for key in contents)))
                             .values(message_id=message_id)).rowcount
    if linked != written:  # a recipient without a chat: never leave a message or a row unlinked
        raise RuntimeError(f"{written} campaign messages written but {linked} recipients pointed at them")


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


def forget_contact(*, session: Session, contact_id: int) -> None:
    """After a contact's erasure: nothing more is sent to them, and their recipient rows forget their chat account."""
    mine = CampaignRecipient.contact_id == contact_id
    # Unsent ones are cancelled, as a cancelled campaign's are: sending would open their old chat again.
    session.execute(update(CampaignRecipient).where(mine, CampaignRecipient.status.in_(("queued", "held")))
                    .values(status="cancelled", reason="erased"))
    sync(session, mine, CampaignRecipient.status == "cancelled")
    # A row being sent right now keeps its account until the platform answered.
    session.execute(update(CampaignRecipient).where(mine, CampaignRecipient.status != "sending").values(external_id=""))
