"""LINE webhook events (parsed by line-bot-sdk) → neutral `Inbound`.

https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from linebot.v3.webhooks import (
    AudioMessageContent,
    Event,
    FileMessageContent,
    FollowEvent,
    GroupSource,
    ImageMessageContent,
    JoinEvent,
    LeaveEvent,
    LocationMessageContent,
    MemberJoinedEvent,
    MemberLeftEvent,
    MessageEditedEvent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UnsendEvent,
    VideoMessageContent,
)

from core import messages as m

MEDIA = {
    ImageMessageContent: "image",
    VideoMessageContent: "video",
    AudioMessageContent: "audio",
    FileMessageContent: "file",
}


def event_key(raw: dict[str, Any]) -> str:
    """The dedupe key of a raw LINE event: its webhookEventId."""
    return str(raw.get("webhookEventId") or "")


def parse_event(raw: dict[str, Any]) -> Event | None:
    """The SDK's typed event for a raw event dict, or None for types the SDK rejects."""
    try:
        return Event.from_dict(raw)
    except (ValueError, TypeError, KeyError):
        return None


def _chat(source: Any) -> tuple[str, str]:
    if isinstance(source, GroupSource):
        return "group", source.group_id
    if isinstance(source, RoomSource):
        return "room", source.room_id
    return "direct", source.user_id


def _message_fields(message: Any, raw_message: dict[str, Any], bot_user_id: str | None) -> dict[str, Any]:
    if isinstance(message, TextMessageContent):
        mentionees = (message.mention.mentionees if message.mention else None) or []
        mentioned = any(getattr(item, "is_self", False) for item in mentionees) or any(
            bot_user_id and getattr(item, "user_id", None) == bot_user_id for item in mentionees
        )
        return {"message_type": "text", "text": message.text, "data": {"quote_token": message.quote_token},
                "addressed": bool(mentioned)}
    if isinstance(message, LocationMessageContent):
        return {"message_type": "location", "data": {
            "title": message.title, "address": message.address,
            "lat": message.latitude, "lon": message.longitude}}
    if isinstance(message, StickerMessageContent):
        return {"message_type": "sticker", "data": {
            "package_id": message.package_id, "sticker_id": message.sticker_id,
            "keywords": list(message.keywords or [])}}
    for cls, kind in MEDIA.items():
        if isinstance(message, cls):
            # Content is fetched lazily from the data API, only metadata is kept here.
            data = {key: raw_message[key] for key in ("contentProvider", "duration", "fileName", "fileSize", "imageSet") if key in raw_message}
            return {"message_type": kind, "data": data}
    return {"message_type": raw_message.get("type", "unknown"), "data": {}}


def to_inbound(raw: dict[str, Any], event_id: int | None = None, bot_user_id: str | None = None) -> m.Inbound | None:
    """Map one raw LINE event to an `Inbound`; None when there is nothing to act on."""
    event = parse_event(raw)
    if event is None or getattr(event, "source", None) is None:
        return None
    chat_type, chat_id = _chat(event.source)
    user_id = getattr(event.source, "user_id", None)
    base: dict[str, Any] = {
        "channel": "line", "event_id": event_id, "chat_type": chat_type, "chat_id": chat_id,
        "user_id": user_id, "reply_token": getattr(event, "reply_token", None),
        "timestamp": datetime.fromtimestamp(event.timestamp / 1000, timezone.utc),
    }
    if chat_type == "direct":
        base["addressed"] = True
    if isinstance(event, (MessageEvent, MessageEditedEvent)):
        raw_message = raw.get("message") or {}
        fields = _message_fields(event.message, raw_message, bot_user_id)
        if chat_type == "direct":
            fields.pop("addressed", None)
        kind = m.MESSAGE if isinstance(event, MessageEvent) else m.EDITED
        return m.Inbound(kind=kind, message_id=event.message.id, **base, **fields)
    if isinstance(event, FollowEvent):
        unblocked = bool(event.follow and event.follow.is_unblocked)
        return m.Inbound(kind=m.FOLLOW, data={"unblocked": unblocked}, **base)
    if isinstance(event, UnfollowEvent):
        return m.Inbound(kind=m.UNFOLLOW, **base)
    if isinstance(event, PostbackEvent):
        params = dict(event.postback.params or {})
        return m.Inbound(kind=m.POSTBACK, postback_data=event.postback.data, data={"params": params}, **base)
    if isinstance(event, JoinEvent):
        return m.Inbound(kind=m.JOIN, **base)
    if isinstance(event, LeaveEvent):
        return m.Inbound(kind=m.LEAVE, **base)
    if isinstance(event, MemberJoinedEvent):
        members = [member.user_id for member in event.joined.members]
        return m.Inbound(kind=m.MEMBER_JOINED, data={"members": members}, **base)
    if isinstance(event, MemberLeftEvent):
        members = [member.user_id for member in event.left.members]
        return m.Inbound(kind=m.MEMBER_LEFT, data={"members": members}, **base)
    if isinstance(event, UnsendEvent):
        return m.Inbound(kind=m.UNSEND, message_id=event.unsend.message_id, **base)
    return None
