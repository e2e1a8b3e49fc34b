"""Live updates for the inbox: a server-sent event stream read from the database.

The stream polls the database (new message ids, conversations whose `updated_at` moved,
delivery statuses of the watched conversation, presence rows, open alerts) every
`inbox.live_poll_seconds`. Polling the shared database, not process memory, is what makes
it work with any number of gunicorn workers and machines: an event stored by a worker on
another machine shows up like one stored here. A stream ends after
`inbox.live_stream_seconds` and the browser's EventSource reconnects with its cursor, so
no web thread is held forever. At most `inbox.live_streams_per_worker` streams run at once
in a web worker, so open tabs never take the threads webhooks are answered on: a further
tab gets what is new at once and reconnects after `inbox.live_busy_retry_seconds`.
"""

from __future__ import annotations

import json
import time
from threading import BoundedSemaphore
from datetime import timedelta

from flask import Response, current_app, jsonify, request, stream_with_context
from sqlalchemy import func
from sqlmodel import Session, select

from core.db import as_utc, session_scope, utcnow
from crm import alerts as alert_data
from crm.ids import as_id, id_arg
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import inbox
from crm.inbox.i18n import delivery_error, t
from crm.models import Conversation, Message
from crm.web import engine, settings

PENDING = ("queued", "sending")


def _stream_slots() -> BoundedSemaphore:
    """This worker's live-stream slots (one per thread a stream may hold)."""
    slots = current_app.extensions.get("sapa.live_slots")
    if slots is None:
        limit = settings().inbox.live_streams_per_worker
        slots = current_app.extensions.setdefault("sapa.live_slots", BoundedSemaphore(limit))
    return slots


def _event(name: str, payload) -> str:
    # json.dumps escapes nothing dangerous for SSE except newlines, which it never emits.
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"


def latest_message_id(*, session: Session) -> int:
    """The newest message id (the cursor a fresh stream starts from)."""
    return session.exec(select(func.coalesce(func.max(Message.id), 0))).one()


def poll(*, session: Session, cursor: dict, conversation_id: int | None, staff_id: int) -> list[str]:
    """The events since `cursor` (updated in place), as SSE frames."""
    frames = []
    rows = session.exec(select(Message.id, Message.conversation_id, Message.contact_id, Message.direction)
                        .where(Message.id > cursor["message"]).order_by(Message.id).limit(500)).all()
    watched = cursor.setdefault("pending", {})
    for message_id, conv_id, contact_id, direction in rows:
        if conversation_id is not None and conv_id == conversation_id and direction == "out":
            watched[message_id] = None  # report its delivery status once it is known
        frames.append(_event("message", {"id": message_id, "conversation_id": conv_id, "contact_id": contact_id,
                                         "direction": direction}))
        cursor["message"] = message_id
    since = cursor["updated"]
    changed = session.exec(select(Conversation.id, Conversation.status, Conversation.updated_at)
                           .where(Conversation.updated_at > since).order_by(Conversation.updated_at).limit(500)).all()
    for conv_id, status, updated_at in changed:
        frames.append(_event("conversation", {"id": conv_id, "status": status}))
        cursor["updated"] = max(cursor["updated"], as_utc(updated_at))
    alerts_now = alert_data.fingerprint(session=session)
    if list(alerts_now) != cursor.get("alerts"):
        cursor["alerts"] = list(alerts_now)
        kind, severity, assignee = alert_data.newest_new(session=session) or ("", "", None)
        # The chat's assignee is told first; an unassigned chat's alert is for everyone on duty.
        frames.append(_event("alerts", {"new": alerts_now[0], "open": alerts_now[1], "kind": kind,
                                        "severity": severity, "label": t(f"alert_kind_{kind}") if kind else "",
                                        "for_me": assignee in (None, staff_id)}))
    if conversation_id is not None:
        pending_rows = session.exec(select(Message.id, Message.status, Message.error).where(
            Message.conversation_id == conversation_id, Message.direction == "out",
            (Message.status.in_(PENDING)) | (Message.id.in_(list(watched) or [0])))).all()
        for message_id, status, error in pending_rows:
            if watched.get(message_id) != status:
                if message_id in watched or status not in PENDING:
                    frames.append(_event("status", {"id": message_id, "status": status, "error": delivery_error(error)}))
                watched[message_id] = status
            if status not in PENDING:
                watched.pop(message_id, None)
        others = data.presence(session=session, conversation_id=conversation_id, exclude_staff_id=staff_id)
        fingerprint = json.dumps(others, sort_keys=True)
        if fingerprint != cursor.get("presence"):
            cursor["presence"] = fingerprint
            frames.append(_event("presence", others))
    return frames


@inbox.get("/events")
@permission_required("conversations.view")
def events():
    """The live stream: `message`, `conversation`, `status`, `presence` and `alerts` events."""
    staff = current_staff()
    limits = settings().inbox
    conversation_id = id_arg("conversation")
    db_engine = engine()
    with Session(db_engine) as db:
        start = latest_message_id(session=db)
    after = id_arg("after", least=0)
    if after is None:
        after = as_id(request.headers.get("Last-Event-ID", ""), least=0)  # a reconnecting EventSource resumes here
    cursor = {"message": min(after, start) if after is not None else start, "updated": utcnow() - timedelta(seconds=2)}
    # Outbound rows the page shows as queued/sending: their status is reported even if it
    # changed before this stream started.
    pending = [row_id for x in request.args.get("pending", "").split(",")[:50] if (row_id := as_id(x))]
    cursor["pending"] = {message_id: None for message_id in pending}

    slots = _stream_slots()
    # Without a free slot the answer is one look at the database, not a held thread.
    held = slots.acquire(blocking=False)
    seconds = limits.live_stream_seconds if held else 0
    retry_ms = 1000 if held else round(limits.live_busy_retry_seconds * 1000)

    def stream():
        hello = {"cursor": cursor["message"], "busy": not held}
        yield f"retry: {retry_ms}\nevent: hello\ndata: {json.dumps(hello)}\n\n"
        deadline = time.monotonic() + seconds
        while True:
            with Session(db_engine) as db:
                frames = poll(session=db, cursor=cursor, conversation_id=conversation_id, staff_id=staff.id)
            for frame in frames:
                yield frame
            yield f"id: {cursor['message']}\n: tick\n\n"  # keeps proxies from closing an idle stream
            if time.monotonic() >= deadline:
                break
            time.sleep(limits.live_poll_seconds)

    response = Response(stream_with_context(stream()), mimetype="text/event-stream")
    if held:
        response.call_on_close(slots.release)  # also when the browser goes away mid-stream
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


@inbox.post("/c/<int:conversation_id>/presence")
@permission_required("conversations.view")
def presence(conversation_id: int):
    """The current staff member is viewing (or typing in) this conversation; who else is."""
    staff = current_staff()
    state = (request.get_json(silent=True) or {}).get("state", "viewing")
    with session_scope(engine()) as db:
        if db.get(Conversation, conversation_id) is None:
            return jsonify(error="conversation not found"), 404
        data.touch_presence(session=db, staff=staff, conversation_id=conversation_id,
                            state=state if state in ("viewing", "typing") else "viewing")
        others = data.presence(session=db, conversation_id=conversation_id, exclude_staff_id=staff.id)
    return jsonify(others=others)
