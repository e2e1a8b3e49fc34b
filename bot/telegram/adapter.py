"""Telegram updates (parsed by python-telegram-bot) → neutral `Inbound`.

https://core.telegram.org/bots/api#update
"""

from __future__ import annotations

from typing import Any

from telegram import Message as TgMessage
from telegram import Update

from core import messages as m

# Callback data of a button that says its text for the customer (the sender writes it).
TEXT_CALLBACK = "text:"
UPDATE_FIELDS = (
    "message", "edited_message", "callback_query", "my_chat_member", "channel_post",
    "edited_channel_post", "inline_query", "chat_member", "chat_join_request",
    "message_reaction", "pre_checkout_query", "poll", "poll_answer",
)


def event_type(raw: dict[str, Any]) -> str:
    """The kind of update (`message`, `callback_query`, …) from its single payload field."""
    for name in UPDATE_FIELDS:
        if name in raw:
            return name
    others = ["".join(ch for ch in key if ch.isprintable())[:40] for key in raw if key != "update_id"]
    return next((key for key in others if key), "unknown")


def _tapped_label(message: Any, data: str | None) -> str | None:
    """The text of the inline button carrying `data` on the message it was tapped on."""
    markup = getattr(message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if data and button.callback_data == data:
                return button.text
    return None


def parse_update(raw: dict[str, Any]) -> Update:
    """The SDK's typed Update (raises on malformed data)."""
    return Update.de_json(raw, None)


def _chat_type(chat_type: str) -> str:
    return "direct" if chat_type == "private" else "group"


def _addressed(message: TgMessage, bot_username: str | None) -> bool:
    if message.chat.type == "private":
        return True
    reply = message.reply_to_message
    if reply and reply.from_user and reply.from_user.is_bot and (
        not bot_username or (reply.from_user.username or "").lower() == bot_username.lower()
    ):
        return True
    text = message.text or message.caption or ""
    if text.startswith("/"):
        target = text.split(maxsplit=1)[0].partition("@")[2]
        return not target or not bot_username or target.lower() == bot_username.lower()
    return bool(bot_username) and f"@{bot_username.lower()}" in text.lower()


def _message_fields(message: TgMessage) -> dict[str, Any]:
    if message.location:
        location = message.venue.location if message.venue else message.location
        data = {"lat": location.latitude, "lon": location.longitude,
                "title": message.venue.title if message.venue else "",
                "address": message.venue.address if message.venue else ""}
        return {"message_type": "location", "data": data}
    if message.contact:
        contact = message.contact
        return {"message_type": "contact", "text": contact.phone_number, "data": {
            "phone": contact.phone_number, "first_name": contact.first_name,
            "last_name": contact.last_name, "user_id": contact.user_id}}
    if message.photo:
        largest = message.photo[-1]
        return {"message_type": "image", "text": message.caption, "data": {
            "file_id": largest.file_id, "width": largest.width, "height": largest.height,
            "file_size": largest.file_size}}
    if message.sticker:
        sticker = message.sticker
        return {"message_type": "sticker", "data": {
            "file_id": sticker.file_id, "emoji": sticker.emoji, "set_name": sticker.set_name}}
    for kind, attachment in (("video", message.video), ("audio", message.audio or message.voice),
                             ("file", message.document)):
        if attachment:
            return {"message_type": kind, "text": message.caption, "data": {
                "file_id": attachment.file_id, "file_name": getattr(attachment, "file_name", None),
                "file_size": attachment.file_size}}
    if message.text is not None:
        return {"message_type": "text", "text": message.text}
    return {"message_type": "unknown"}


def _user_fields(user: Any) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user_id": str(user.id), "display_name": user.full_name, "username": user.username,
            "language": user.language_code}


def to_inbound(raw: dict[str, Any], event_id: int | None = None, bot_username: str | None = None) -> m.Inbound | None:
    """Map one raw Telegram update to an `Inbound`; None when there is nothing to act on."""
    update = parse_update(raw)
    base: dict[str, Any] = {"channel": "telegram", "event_id": event_id}
    if update.message or update.edited_message:
        message = update.message or update.edited_message
        if message.from_user is None or message.from_user.is_bot:
            return None
        fields = _message_fields(message)
        members_joined = [str(user.id) for user in message.new_chat_members or () if not user.is_bot]
        if members_joined:
            fields = {"message_type": None, "data": {"members": members_joined}}
            kind = m.MEMBER_JOINED
        elif message.left_chat_member:
            fields = {"message_type": None, "data": {"members": [str(message.left_chat_member.id)]}}
            kind = m.MEMBER_LEFT
        else:
            kind = m.MESSAGE if update.message else m.EDITED
        return m.Inbound(
            kind=kind, chat_id=str(message.chat.id), chat_type=_chat_type(message.chat.type),
            message_id=str(message.message_id), addressed=_addressed(message, bot_username),
            timestamp=message.date, **base, **_user_fields(message.from_user), **fields,
        )
    if update.callback_query:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        chat_id = str(chat.id) if chat else str(query.from_user.id)
        fields = dict(chat_id=chat_id, chat_type=_chat_type(chat.type) if chat else "direct", reply_token=query.id,
                      addressed=True, message_id=str(query.message.message_id) if query.message else None,
                      **base, **_user_fields(query.from_user))
        if (query.data or "").startswith(TEXT_CALLBACK):  # a "say this" button: as if the customer typed it
            return m.Inbound(kind=m.MESSAGE, message_type="text", text=query.data[len(TEXT_CALLBACK):],
                             **{**fields, "message_id": None})  # the id is the bot's message, not one typed
        label = _tapped_label(query.message, query.data)
        return m.Inbound(kind=m.POSTBACK, postback_data=query.data, data={"label": label} if label else {}, **fields)
    if update.my_chat_member:
        member = update.my_chat_member
        status = member.new_chat_member.status
        chat_type = _chat_type(member.chat.type)
        if chat_type == "direct":
            kind = m.UNFOLLOW if status == "kicked" else m.FOLLOW if status == "member" else None
        else:
            kind = m.LEAVE if status in ("left", "kicked") else m.JOIN if status in ("member", "administrator") else None
        if kind is None:
            return None
        return m.Inbound(kind=kind, chat_id=str(member.chat.id), chat_type=chat_type,
                         data={"unblocked": kind == m.FOLLOW}, timestamp=member.date,
                         **base, **_user_fields(member.from_user))
    return None
