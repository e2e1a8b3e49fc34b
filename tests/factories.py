"""Payload factories with defaults, signed the way the platforms sign them."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any

# Copies of ../shared/fixtures (real LINE and Telegram payloads), kept in the repo.
FIXTURES = Path(__file__).resolve().parent / "fixtures"

LINE_SECRET = "line-test-channel-secret"
TELEGRAM_SECRET = "telegram-test-secret_123"
_update_ids = itertools.count(500_000_000)
_message_ids = itertools.count(1_000)


def fixture(path: str) -> Any:
    """A shared payload fixture (e.g. `line/webhook_all_events.json`)."""
    return json.loads((FIXTURES / path).read_text())


def line_signature(body: bytes, secret: str = LINE_SECRET) -> str:
    """base64(HMAC-SHA256(channel secret, raw body)), as in X-Line-Signature."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def line_body(*events: dict, destination: str = "Udeadbeefdeadbeefdeadbeefdeadbeef") -> bytes:
    """A LINE webhook body carrying `events`."""
    return json.dumps({"destination": destination, "events": list(events)}).encode()


def _line_base(kind: str, user: str, source: dict | None, reply_token: str | None, event_id: str | None) -> dict:
    event = {
        "type": kind, "mode": "active", "timestamp": int(time.time() * 1000),
        "source": source or {"type": "user", "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not False:
        event["replyToken"] = reply_token or uuid.uuid4().hex
    return event


def line_text(text: str, user: str = "U1111111111111111111111111111111a", *, source: dict | None = None,
              reply_token: str | None = None, event_id: str | None = None, message_id: str | None = None,
              mention_self: bool = False) -> dict:
    """A LINE text message event."""
    event = _line_base("message", user, source, reply_token, event_id)
    event["message"] = {"id": message_id or str(next(_message_ids)), "type": "text", "text": text,
                        "quoteToken": "q-" + uuid.uuid4().hex[:8]}
    if mention_self:
        event["message"]["mention"] = {"mentionees": [{"index": 0, "length": 5, "type": "user", "isSelf": True}]}
    return event


def line_event(kind: str, user: str = "U1111111111111111111111111111111a", **fields: Any) -> dict:
    """Any LINE event type with extra fields (follow, unfollow, postback, …)."""
    source = fields.pop("source", None)
    reply_token = None if kind != "unfollow" else False
    event = _line_base(kind, user, source, fields.pop("reply_token", reply_token), fields.pop("event_id", None))
    event.update(fields)
    return event


def line_all_events(unique: bool = True) -> list[dict]:
    """The LINE SDK's fixture with every event type (ids made unique: they all share one)."""
    events = copy.deepcopy(fixture("line/webhook_all_events.json")["events"])
    if unique:
        for index, event in enumerate(events):
            event["webhookEventId"] = f"01FIXTURE{index:017d}"
    return events


def tg_user(user_id: int = 111111111, first_name: str = "Alice", language: str = "id") -> dict:
    """A Telegram user object."""
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language}


def tg_text(text: str, user_id: int = 111111111, *, chat: dict | None = None, update_id: int | None = None,
            first_name: str = "Alice", entities: list | None = None, reply_to: dict | None = None) -> dict:
    """A Telegram update with a text message (private chat by default)."""
    message: dict[str, Any] = {
        "message_id": next(_message_ids), "from": tg_user(user_id, first_name),
        "chat": chat or {"id": user_id, "first_name": first_name, "type": "private"},
        "date": int(time.time()), "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    if entities:
        message["entities"] = entities
    if reply_to:
        message["reply_to_message"] = reply_to
    return {"update_id": update_id or next(_update_ids), "message": message}


def tg_update(name: str, **fields: Any) -> dict:
    """A shared Telegram fixture with a fresh update_id (and fields replaced)."""
    update = copy.deepcopy(fixture(f"telegram/{name}.json"))
    update["update_id"] = fields.pop("update_id", next(_update_ids))
    update.update(fields)
    return update


class Webhooks:
    """Posts signed platform payloads to the app (flaskr's AuthActions, for webhooks).

    Responses are buffered, so the response is closed as a WSGI server closes it: that
    is when the webhook queues its events.
    """

    def __init__(self, client) -> None:
        self.client = client

    def line(self, *events: dict, body: bytes | None = None, signature: str | None = None, **kwargs):
        """POST events (or a raw body) to /webhooks/line, signed unless `signature` is given."""
        body = body if body is not None else line_body(*events)
        headers = {"X-Line-Signature": signature if signature is not None else line_signature(body)}
        return self.client.post("/webhooks/line", data=body, headers=headers, buffered=True,
                                content_type=kwargs.pop("content_type", "application/json"), **kwargs)

    def telegram(self, update: dict | None = None, *, body: bytes | None = None, secret: str | None = TELEGRAM_SECRET,
                 **kwargs):
        """POST an update (or a raw body) to /webhooks/telegram with the secret header."""
        body = body if body is not None else json.dumps(update).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return self.client.post("/webhooks/telegram", data=body, headers=headers, buffered=True,
                                content_type=kwargs.pop("content_type", "application/json"), **kwargs)


def store_unprocessed(engine, channel: str, payload: dict, key: str) -> int:
    """Store an event without processing it (as the webhook does before the worker runs); its id."""
    from bot.ingest import RawEvent, store_events

    return store_events(engine, channel, [RawEvent(key, payload.get("type", "message"), json.dumps(payload))])[0]
