"""Sends neutral replies through the LINE Messaging API (line-bot-sdk).

Reply token first (free, single use, about one minute); push as the fallback, always with
an `X-Line-Retry-Key` so a retried push is never delivered twice.
https://developers.line.biz/en/reference/messaging-api/#send-reply-message
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from core.messages import LABEL_LIMIT, Card, Choice, Reply, label_width, shorten_label
from core.sending import Outcome, SendRequest, retry_key
from core.settings import LineSettings

log = logging.getLogger(__name__)
MAX_MESSAGES = 5  # per reply/push request
MAX_QUICK_REPLIES = 13
MAX_MULTICAST = 500  # user ids per multicast request


def _label(text: str) -> str:
    """A label LINE accepts: ours fit by design; a name the shop typed that does not is shortened
    after a whole word (and logged), never cut mid-word or refused by LINE with a 400."""
    if label_width(text) <= LABEL_LIMIT:
        return text
    short = shorten_label(text)
    log.warning("LINE button label over %d characters, shown as %r: %r", LABEL_LIMIT, short, text)
    return short


def render_action(choice: Choice) -> dict[str, Any]:
    """A LINE action object for a button."""
    if choice.location:
        return {"type": "location", "label": _label(choice.label)}
    if choice.url:
        return {"type": "uri", "label": _label(choice.label), "uri": choice.url}
    if choice.data:
        return {"type": "postback", "label": _label(choice.label), "data": choice.data[:300],
                "displayText": (choice.text or choice.label)[:300]}
    return {"type": "message", "label": _label(choice.label), "text": (choice.text or choice.label)[:300]}


def _bubble(card: Card) -> dict[str, Any]:
    body = [{"type": "text", "text": card.title or "-", "weight": "bold", "size": "md", "wrap": True}]
    if card.subtitle:
        body.append({"type": "text", "text": card.subtitle, "size": "sm", "color": "#666666", "wrap": True})
    bubble: dict[str, Any] = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": body}}
    if card.image_url:
        bubble["hero"] = {"type": "image", "url": card.image_url, "size": "full", "aspectMode": "cover"}
    if card.buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": [
            {"type": "button", "style": "primary" if i == 0 else "secondary", "height": "sm", "action": render_action(b)}
            for i, b in enumerate(card.buttons[:3])
        ]}
    return bubble


def render(reply: Reply) -> dict[str, Any]:
    """The LINE message object for a neutral reply (quick replies attached when present)."""
    if reply.cards:
        message: dict[str, Any] = {"type": "flex", "altText": (reply.text or reply.cards[0].title)[:400],
                                   "contents": {"type": "carousel", "contents": [_bubble(c) for c in reply.cards[:12]]}}
    elif reply.location:
        loc = reply.location
        message = {"type": "location", "title": loc.title[:100] or "-", "address": loc.address[:100] or "-",
                   "latitude": loc.lat, "longitude": loc.lon}
    elif reply.image_url:
        message = {"type": "image", "originalContentUrl": reply.image_url,
                   "previewImageUrl": reply.preview_url or reply.image_url}
    else:
        message = {"type": "text", "text": (reply.text or " ")[:5000]}
    if reply.choices:
        message["quickReply"] = {"items": [{"type": "action", "action": render_action(c)}
                                           for c in reply.choices[:MAX_QUICK_REPLIES]]}
    return message


def _error_text(exc: ApiException) -> str:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
    try:
        return json.loads(body).get("message") or body
    except (ValueError, AttributeError):
        return body or str(exc.reason)


class LineSender:
    """LINE channel sender (thread-safe: one urllib3 pool shared by worker threads)."""

    channel = "line"

    def __init__(self, settings: LineSettings) -> None:
        self.settings = settings
        configuration = Configuration(access_token=settings.access_token, host=settings.api_base)
        client = ApiClient(configuration)
        self.api = MessagingApi(client)
        self.blob = MessagingApiBlob(client)  # the data API (api-data.line.me), same host when overridden
        self.timeout = settings.timeout_seconds

    def deliver(self, request: SendRequest) -> list[Outcome]:
        """Reply with the token when there is one, else (or if it is rejected) push."""
        chunks = [request.replies[i:i + MAX_MESSAGES] for i in range(0, len(request.replies), MAX_MESSAGES)]
        outcomes: list[Outcome] = []
        for index, chunk in enumerate(chunks):
            messages = [render(reply) for reply in chunk]
            if index == 0 and request.reply_token:
                outcome = self._reply(request, messages)
                if outcome is None:  # token rejected: push instead
                    outcome = self._push(request.chat_id, messages, retry_key(request.retry_key, index))
            else:
                outcome = self._push(request.chat_id, messages, retry_key(request.retry_key, index))
            outcomes.extend(replace(outcome) for _ in chunk)
            if outcome.status != "sent":
                # later chunks wait for the same retry so the order is kept
                outcomes.extend(replace(outcome) for chunk_ in chunks[index + 1:] for _ in chunk_)
                break
        return outcomes

    def _reply(self, request: SendRequest, messages: list[dict]) -> Outcome | None:
        body = ReplyMessageRequest.from_dict({"replyToken": request.reply_token, "messages": messages})
        try:
            response = self.api.reply_message(body, _request_timeout=self.timeout)
        except ApiException as exc:
            error = _error_text(exc)
            if exc.status == 400 and "reply token" in error.lower():
                if request.reply_uncertain:
                    # An earlier attempt may have used the token: pushing could duplicate it.
                    return Outcome("unknown", f"reply token rejected after an uncertain attempt: {error}")
                return None
            return self._api_error(exc, error)
        except urllib3.exceptions.HTTPError as exc:
            uncertain = isinstance(exc, urllib3.exceptions.ReadTimeoutError)
            return Outcome("retry", f"LINE unreachable: {exc}", uncertain=uncertain)
        return Outcome("sent", platform_message_id=_first_id(response))

    def _push(self, to: str, messages: list[dict], key: str) -> Outcome:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        try:
            response = self.api.push_message(request, x_line_retry_key=key, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: already delivered
                return Outcome("sent", "already accepted (retry key)")
            return self._api_error(exc, _error_text(exc))
        except urllib3.exceptions.HTTPError as exc:
            return Outcome("retry", f"LINE unreachable: {exc}")
        return Outcome("sent", platform_message_id=_first_id(response))

    def multicast(self, to: list[str], replies: list[Reply], key: str) -> Outcome:
        """One multicast (≤ 500 users, ≤ 5 messages) with `X-Line-Retry-Key`; 409 = accepted before.

        https://developers.line.biz/en/reference/messaging-api/#send-multicast-message
        """
        if not 1 <= len(to) <= MAX_MULTICAST:
            raise ValueError(f"a multicast goes to 1-{MAX_MULTICAST} users, not {len(to)}")
        messages = [render(reply) for reply in replies[:MAX_MESSAGES]]
        request = MulticastRequest.from_dict({"to": list(to), "messages": messages})
        try:
            self.api.multicast(request, x_line_retry_key=key, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 409:  # this retry key was accepted before: already delivered
                return Outcome("sent", "already accepted (retry key)")
            return self._api_error(exc, _error_text(exc))
        except urllib3.exceptions.HTTPError as exc:
            return Outcome("retry", f"LINE unreachable: {exc}", uncertain=True)
        return Outcome("sent")

    def push(self, to: str, replies: list[Reply], key: str) -> Outcome:
        """One push of up to 5 messages with `X-Line-Retry-Key` (personalised broadcasts)."""
        return self._push(to, [render(reply) for reply in replies[:MAX_MESSAGES]], key)

    def quota(self) -> tuple[int | None, int]:
        """(monthly limit or None when unlimited, messages used this month) from LINE.

        https://developers.line.biz/en/reference/messaging-api/#get-quota
        """
        limit = self.api.get_message_quota(_request_timeout=self.timeout)
        used = self.api.get_message_quota_consumption(_request_timeout=self.timeout)
        value = limit.value if getattr(limit, "type", "none") == "limited" else None
        return value, int(used.total_usage or 0)

    @staticmethod
    def _api_error(exc: ApiException, error: str) -> Outcome:
        text = f"LINE {exc.status}: {error}"
        if exc.status == 429 and "monthly limit" in error.lower():
            return Outcome("failed", text)
        if exc.status == 429 or (exc.status or 0) >= 500:
            retry_after = None
            headers = exc.headers or {}
            if headers.get("Retry-After", "").isdigit():
                retry_after = float(headers["Retry-After"])
            return Outcome("retry", text, retry_after=retry_after, uncertain=(exc.status or 0) >= 500)
        return Outcome("failed", text)

    def profile(self, user_id: str, chat_type: str = "direct", chat_id: str | None = None) -> dict | None:
        """The LINE profile (display name, language, picture) or None when LINE has none."""
        try:
            if chat_type == "group" and chat_id:
                data = self.api.get_group_member_profile(chat_id, user_id, _request_timeout=self.timeout)
            elif chat_type == "room" and chat_id:
                data = self.api.get_room_member_profile(chat_id, user_id, _request_timeout=self.timeout)
            else:
                data = self.api.get_profile(user_id, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status in (400, 403, 404):
                return None
            raise
        return {"display_name": data.display_name, "picture_url": data.picture_url,
                "language": getattr(data, "language", None)}

    def content(self, message_id: str, data: dict) -> tuple[bytes, str] | None:
        """The bytes of an image/video/audio/file message from LINE's data API."""
        provider = (data.get("contentProvider") or {})
        if provider.get("type") == "external":
            return None  # hosted elsewhere: the URL is in the metadata
        try:
            response = self.blob.get_message_content_with_http_info(message_id, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status in (404, 410):
                return None
            raise
        return response.data, _content_type(response.headers)


def _content_type(headers: Any) -> str:
    for key, value in dict(headers or {}).items():
        if key.lower() == "content-type":
            return value
    return "application/octet-stream"


def _first_id(response: Any) -> str | None:
    sent = getattr(response, "sent_messages", None) or []
    return str(sent[0].id) if sent else None

