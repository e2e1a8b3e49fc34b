"""Customer simulator: chat with the bot as a LINE-like or Telegram-like customer.

Messages go through the same pipeline as real webhooks (stored event → queue → history →
router → sender), on the channel `simulator`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template, request
from sqlmodel import Session, select

from bot.ingest import RawEvent
from bot.webhooks import store_and_queue
from core import messages as m
from crm import contacts, history
from crm.api.contacts import message_public
from crm.media import MediaError, check_image
from crm.models import Conversation

simulator = Blueprint("simulator", __name__, url_prefix="/simulator")
USER_ID = re.compile(r"^[A-Za-z0-9_-]{3,40}$")
EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KINDS = {"text", "postback", "location", "follow", "unfollow", "sticker", "image"}
# Why a photo was refused, in the simulator's two languages (crm.media's reasons).
PHOTO_REFUSED = {"image_empty": "foto kosong / the photo is empty",
                 "image_too_large": "foto lebih dari 5 MB / the photo is over 5 MB",
                 "image_type": "kirim foto JPEG atau PNG / send a JPEG or PNG photo",
                 "image_too_many_pixels": "foto terlalu besar / the photo has too many pixels"}


@simulator.get("/")
def page():
    """The simulator page."""
    return render_template("simulator.html")


def _error(reason: str, status: int = 400):
    return jsonify(error=reason), status


@simulator.post("/api/send")
def send():
    """Store one simulated customer action as an event and queue it, like a webhook."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error("send a JSON object")
    user, kind = str(body.get("user", "")), body.get("kind", "text")
    if not USER_ID.match(user):
        return _error("user must be 3-40 letters, digits, _ or -")
    if kind not in KINDS:
        return _error(f"kind must be one of {', '.join(sorted(KINDS))}")
    event: dict[str, Any] = {"kind": kind, "user": user, "name": str(body.get("name") or "")[:100],
                             "language": str(body.get("language") or "id")[:8],
                             "style": "telegram" if body.get("style") == "telegram" else "line",
                             "at": datetime.now(timezone.utc).isoformat()}
    if kind == "text":
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error("text must not be empty")
        event["text"] = text[:5000]
    elif kind == "postback":
        event["data"], event["label"] = str(body.get("data", ""))[:300], str(body.get("label", ""))[:100]
    elif kind == "location":
        try:
            event["lat"], event["lon"] = float(body["lat"]), float(body["lon"])
        except (KeyError, TypeError, ValueError):
            return _error("lat and lon must be numbers")
        if not (-90 <= event["lat"] <= 90 and -180 <= event["lon"] <= 180):
            return _error("lat must be within ±90 and lon within ±180")
        event["title"] = str(body.get("title") or "")[:100]
    elif kind == "image":
        try:
            image = check_image(base64.b64decode(str(body.get("image") or ""), validate=True))
        except (binascii.Error, ValueError) as exc:
            reason = PHOTO_REFUSED.get(str(exc)) if isinstance(exc, MediaError) else None
            return _error(reason or "image must be a base64 JPEG or PNG")
        # Kept like a platform keeps a customer's photo: the event names it, the inbox fetches it.
        image.write(current_app.config["SAPA"].media_dir)
        event["media"] = image.name
    # The page names each action, as LINE names each event, and sends it again under the same
    # name after a 503 (a held database): stored once however often it arrives.
    event_id = body.get("event_id")
    if event_id is not None and not (isinstance(event_id, str) and EVENT_ID.match(event_id)):
        return _error("event_id must be 8-64 letters, digits, _ or -")
    key = f"{user}:{event_id}" if event_id else uuid.uuid4().hex
    return store_and_queue("simulator", [RawEvent(key=key, type=kind, payload=json.dumps(event))])


@simulator.get("/api/messages")
def messages():
    """The simulated customer's chat (after message id `after`)."""
    user = request.args.get("user", "")
    if not USER_ID.match(user):
        return _error("user must be 3-40 letters, digits, _ or -")
    after = request.args.get("after", "0")
    after_id = int(after) if after.isdigit() else 0
    with Session(current_app.extensions["sapa.engine"]) as session:
        identity = contacts.find_identity(session=session, channel="simulator", external_id=user)
        if identity is None:
            return jsonify(items=[])
        rows = history.contact_messages(session=session, contact_id=identity.contact_id, limit=200)
        # This account's own chat only: a contact linked to another account (crm.merge) has that chat's history
        # too, which the customer sees in the other app, never here.
        chat = {c.id for c in session.exec(select(Conversation).where(Conversation.channel == "simulator",
                                                                      Conversation.external_chat_id == user))}
        items = [message_public(row).model_dump(mode="json") for row in rows
                 if row.id > after_id and row.conversation_id in chat]
    return jsonify(items=items)


def to_inbound(raw: dict[str, Any], event_id: int | None = None) -> m.Inbound | None:
    """A simulated customer action as an Inbound (a 1:1 chat on channel `simulator`)."""
    kind, user = raw.get("kind"), raw.get("user")
    base = {"channel": "simulator", "event_id": event_id, "chat_id": user, "user_id": user,
            "display_name": raw.get("name") or None, "language": raw.get("language")}
    if kind == "text":
        return m.Inbound(kind=m.MESSAGE, message_type="text", text=raw.get("text"), **base)
    if kind == "postback":
        return m.Inbound(kind=m.POSTBACK, postback_data=raw.get("data"), data={"label": raw.get("label")}, **base)
    if kind == "location":
        return m.Inbound(kind=m.MESSAGE, message_type="location", data={
            "lat": raw.get("lat"), "lon": raw.get("lon"), "title": raw.get("title", ""), "address": ""}, **base)
    if kind == "image":
        return m.Inbound(kind=m.MESSAGE, message_type="image", message_id=raw.get("media"),
                         data={"media": raw.get("media")}, **base)
    if kind == "sticker":
        return m.Inbound(kind=m.MESSAGE, message_type="sticker", data={"package_id": "1", "sticker_id": "1"}, **base)
    if kind == "follow":
        return m.Inbound(kind=m.FOLLOW, data={"unblocked": False}, **base)
    if kind == "unfollow":
        return m.Inbound(kind=m.UNFOLLOW, **base)
    return None


def register(app: Flask) -> None:
    """Serve the customer simulator's page and its API (/simulator/…)."""
    app.register_blueprint(simulator)
