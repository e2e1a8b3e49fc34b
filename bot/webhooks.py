"""Webhook endpoints: verify, parse, store, hand off, answer — nothing else.

LINE: https://developers.line.biz/en/reference/messaging-api/#webhooks
Telegram: https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import orjson
from flask import Blueprint, Flask, current_app, jsonify, request
from linebot.v3 import WebhookParser

from bot.edges import parse_json
from bot.ingest import RawEvent, StoreTimeout, store_events
from bot.line.adapter import event_key
from bot.telegram.adapter import event_type, parse_update
from core.db import WriteBusy

log = logging.getLogger(__name__)
webhooks = Blueprint("webhooks", __name__)


class BadRequest(Exception):
    """A webhook request we refuse, with the HTTP status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@webhooks.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify(error=exc.reason), exc.status


def _error(status: int, reason: str):
    return jsonify(error=reason), status


def _raw_body(limit: int) -> str:
    """The request body (at most `limit` bytes of JSON) as text, or a 4xx with the reason; not parsed yet."""
    # request.mimetype, without parsing the parameters (charset) we do not use
    if request.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != "application/json":
        raise BadRequest(415, "content type must be application/json")
    if request.content_length is not None and request.content_length > limit:
        raise BadRequest(413, f"body larger than {limit} bytes")
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise BadRequest(413, f"body larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "body is not valid JSON (not UTF-8)") from None


def _parse(text: str) -> object:
    """The body's JSON (bounded in depth), or a 400 with the reason."""
    try:
        return parse_json(text)
    except ValueError as exc:
        raise BadRequest(400, f"body is not valid JSON: {exc}") from None


def store_and_queue(channel: str, events: list[RawEvent], app: Flask | None = None):
    """Commit the events, then queue them; 503 if they cannot be stored in time (the platform redelivers)."""
    app = app or current_app._get_current_object()
    try:
        # The leader of each group commit hands its batch's new rows to the queue.
        new_ids = store_events(app.extensions["sapa.engine"], channel, events, then=app.extensions["sapa.hand_off"],
                               timeout=app.config["SAPA"].webhooks.store_timeout_seconds)
    except (StoreTimeout, WriteBusy) as exc:
        log.warning("%s webhook answered 503: %s", channel, exc)
        return _error(503, "storage busy, please retry")
    except Exception:  # noqa: BLE001 - whatever the cause, nothing was stored: let the platform retry
        log.exception("could not store %s webhook events", channel)
        return _error(503, "storage unavailable, please retry")
    return app.response_class(
        f'{{"ok":true,"stored":{len(new_ids)},"duplicates":{len(events) - len(new_ids)}}}', mimetype="application/json")


@webhooks.post("/webhooks/line")
def line_webhook():
    """Receive LINE events: signature over the raw body, then store every event."""
    app = current_app._get_current_object()  # the hottest endpoint: one proxy lookup, not ten
    settings = app.config["SAPA"]
    if not settings.line.enabled:
        return _error(404, "LINE channel is not configured (set SAPA_LINE__CHANNEL_SECRET and SAPA_LINE__ACCESS_TOKEN)")
    signature = request.environ.get("HTTP_X_LINE_SIGNATURE", "")
    if not signature:
        return _error(400, "missing X-Line-Signature")
    text = _raw_body(settings.webhooks.max_body_bytes)
    # The SDK's validator (HMAC-SHA256 with compare_digest), over the raw body before any
    # parsing. Events are parsed into SDK models by the worker's adapter, not here: the
    # webhook only has to store them.
    if not app.extensions["sapa.line_parser"].signature_validator.validate(text, signature):
        return _error(400, "invalid signature")
    body = _parse(text)
    if not isinstance(body, dict) or not isinstance(body.get("events"), list) or \
            not all(_plausible_line_event(event) for event in body["events"]):
        return _error(400, "body is not a LINE webhook payload")
    events = [
        RawEvent(key=event_key(event) or _digest(event), type=event["type"], payload=_event_json(event))
        for event in body["events"]
    ]
    return store_and_queue("line", events, app)


@webhooks.post("/webhooks/telegram")
def telegram_webhook():
    """Receive one Telegram update: secret token header, then store it."""
    settings = current_app.config["SAPA"]
    telegram = settings.telegram
    if not telegram.enabled:
        return _error(404, "Telegram bot is not configured (set SAPA_TELEGRAM__BOT_TOKEN)")
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not telegram.secret_token or not hmac.compare_digest(given.encode(), telegram.secret_token.encode()):
        return _error(403, "wrong or missing secret token")
    text = _raw_body(settings.webhooks.max_body_bytes)
    body = _parse(text)
    if not isinstance(body, dict) or type(body.get("update_id")) is not int:
        return _error(400, "body is not a Telegram update (update_id missing)")
    try:
        parse_update(body)
    except Exception:  # noqa: BLE001 - PTB raises assorted errors on malformed updates
        return _error(400, "body is not a valid Telegram update")
    event = RawEvent(key=str(body["update_id"]), type=event_type(body), payload=text)
    return store_and_queue("telegram", [event])


def _clean_label(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def _plausible_line_event(event: object) -> bool:
    """An event object with a sane type and (when present) a sane webhookEventId."""
    if not isinstance(event, dict) or not _clean_label(event.get("type"), 40):
        return False
    key = event.get("webhookEventId")
    return key is None or _clean_label(key, 128)


def _event_json(event: dict) -> str:
    """One event of the payload as JSON text (orjson: a tenth of json.dumps's time)."""
    try:
        return orjson.dumps(event).decode()
    except TypeError:  # an integer beyond 64 bits, which only json can write
        return json.dumps(event, ensure_ascii=False)


def _digest(event: dict) -> str:
    # LINE always sends webhookEventId; this fallback still dedupes identical redeliveries.
    return "sha256:" + hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()


def line_parser(channel_secret: str) -> WebhookParser:
    """The SDK's webhook parser (signature check with compare_digest)."""
    return WebhookParser(channel_secret)


def register(app: Flask) -> None:
    """Serve POST /webhooks/line and /webhooks/telegram (needs the engine and the hand-off in app.extensions)."""
    settings = app.config["SAPA"]
    if settings.line.enabled:
        app.extensions["sapa.line_parser"] = line_parser(settings.line.channel_secret)
    app.register_blueprint(webhooks)
