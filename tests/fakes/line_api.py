"""Fake LINE Messaging API server for tests and benchmarks.

Point the real SDK at it (every call, data API included, goes to ``fake.url``)::

    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

    with FakeLine() as fake:
        cfg = Configuration(access_token=fake.access_token, host=fake.url)
        api = MessagingApi(ApiClient(cfg))
        api.push_message(PushMessageRequest(to="U1", messages=[TextMessage(text="hi")]))
        assert fake.delivered == [("U1", {"type": "text", "text": "hi"})]

What it models (see /work/shared/PLATFORMS.md):

* ``POST /v2/bot/message/reply``: single-use reply tokens (``used_reply_tokens``),
  ``expire_reply_token(tok)``, ``strict_reply_tokens`` + ``valid_reply_tokens``,
  ``register_reply_token(tok, user_id)`` (then a reply also lands in ``delivered``),
  ``X-Line-Retry-Key`` on reply -> 400.
* ``push`` / ``multicast`` (<= 500 ids) / ``narrowcast`` / ``broadcast`` (to ``followers``):
  ``X-Line-Retry-Key`` idempotency (repeat -> 409 + ``x-line-accepted-request-id``, nothing
  delivered again), monthly ``quota`` / ``quota_used`` (429 "monthly limit"),
  ``delivered`` = [(user_id, message)] one entry per recipient per message.
* Validation: 1-5 messages each with a ``type``, text <= 5000 chars, quickReply <= 13 items
  -> 400 ``{"message", "details": [{"message", "property"}]}``; bad bearer token -> 401.
* ``GET /v2/bot/profile/{id}`` (``profiles``, ``profiles_missing``, ``profile_calls``),
  quota and consumption, message content (``contents``), loading animation, bot info,
  narrowcast progress; anything else -> 404 (and recorded).
* ``rate_limit = {path: requests_per_second}``: token bucket per path -> 429
  "Too Many Requests" (counted in ``too_many``).
"""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections import Counter
from typing import Any, Iterable

from werkzeug.wrappers import Request

from .server import FakeServer, Recorded, Reply

__all__ = ["FakeLine", "PNG_1X1"]

#: smallest valid PNG (1x1 transparent pixel), the default message content
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

MSG_PREFIX = "/v2/bot/message/"
SEND_PATHS = {
    "/v2/bot/message/push",
    "/v2/bot/message/multicast",
    "/v2/bot/message/narrowcast",
    "/v2/bot/message/broadcast",
}
_STATUS_MESSAGES = {
    400: "The request body has 1 error(s)",
    401: "Authentication failed. Confirm that the access token in the authorization header is valid.",
    403: "The access token has no permission for this API.",
    404: "Not found",
    409: "The retry key is already accepted",
    413: "Request entity too large",
    429: "Too Many Requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class _Bucket:
    """Token bucket: ``rate`` tokens per second, capacity ``rate`` (one second of burst)."""

    __slots__ = ("rate", "tokens", "stamp", "clock")

    def __init__(self, rate: float, clock: Any = time.monotonic):
        self.rate = float(rate)
        self.tokens = float(rate)
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        """Take one token if available; False means rate limited."""
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _err(status: int, message: str, details: list | None = None, headers: dict | None = None) -> Reply:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return Reply(status, body, headers)


class FakeLine(FakeServer):
    """Fake LINE Messaging API (api.line.me + api-data.line.me) on 127.0.0.1."""

    name = "FakeLine"

    def __init__(self, access_token: str = "test-line-token") -> None:
        self._default_token = access_token
        super().__init__()
        self._reset_state()

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        """Restore every setting and all recorded platform state to the defaults."""
        self.access_token: str = self._default_token
        self.extra_tokens: set[str] = set()          # further accepted channel tokens
        # reply tokens
        self.used_reply_tokens: set[str] = set()
        self.expired_reply_tokens: set[str] = set()
        self.valid_reply_tokens: set[str] = set()
        self.strict_reply_tokens = False
        self.reply_token_users: dict[str, str] = {}  # token -> user id (see register_reply_token)
        self.reply_token_issued: dict[str, float] = {}
        self.reply_token_ttl: float | None = 60.0    # applies to registered tokens only
        # deliveries
        self.delivered: list[tuple[str, dict]] = []  # (user_id, message), one per recipient
        self.replied: list[tuple[str, dict]] = []    # (reply_token, message)
        self.followers: list[str] = []               # recipients of broadcast / narrowcast
        self.retry_keys: dict[str, str] = {}         # accepted retry key -> request id
        self.sent_responses: dict[str, list] = {}    # request id -> sentMessages
        self.narrowcasts: dict[str, dict] = {}       # request id -> progress
        # quota
        self.quota: int | None = None                # None -> "type": "none" (unlimited)
        self.quota_used = 0
        # profiles & content
        self.profiles: dict[str, dict] = {}
        self.profiles_missing: set[str] = set()
        self.profile_calls: Counter = Counter()
        self.contents: dict[str, Any] = {}           # message id -> bytes or (bytes, content type)
        self.contents_missing: set[str] = set()
        self.loading: list[dict] = []                # bodies of loading/start calls
        self.bot_info: dict = {
            "userId": "Ubot0000000000000000000000000000",
            "basicId": "@sapa123",
            "displayName": "Sapa Test",
            "pictureUrl": "https://profile.line-scdn.net/sapa-test",
            "chatMode": "chat",
            "markAsReadMode": "manual",
        }
        # rate limiting
        self.rate_limit: dict[str, float] = {}
        self._buckets: dict[tuple[str, float], _Bucket] = {}
        self.too_many = 0                            # 429s sent by rate_limit
        self.quota_exceeded = 0                      # 429s sent for the monthly limit
        self._ids = itertools.count(600000000000000001)

    # ------------------------------------------------------------------ test helpers
    def expire_reply_token(self, token: str) -> None:
        """Make ``token`` answer 400 "Invalid reply token" from now on."""
        with self.lock:
            self.expired_reply_tokens.add(token)

    def register_reply_token(self, token: str, user_id: str | None = None) -> None:
        """Mark ``token`` valid (for strict mode); a reply with it then counts as delivered to ``user_id``."""
        with self.lock:
            self.valid_reply_tokens.add(token)
            self.reply_token_issued[token] = self.clock()
            if user_id is not None:
                self.reply_token_users[token] = user_id

    def accept_token(self, token: str) -> None:
        """Accept another channel access token (multi-channel setups)."""
        with self.lock:
            self.extra_tokens.add(token)

    def delivered_to(self, user_id: str) -> list[dict]:
        """Messages delivered to ``user_id`` (push, multicast, broadcast, registered replies)."""
        with self.lock:
            return [m for u, m in self.delivered if u == user_id]

    def deliveries_per_user(self) -> Counter:
        """Counter user_id -> number of messages delivered."""
        with self.lock:
            return Counter(u for u, _ in self.delivered)

    # ------------------------------------------------------------------ plumbing
    def _default_error_body(self, target: str, status: int) -> Any:
        return {"message": _STATUS_MESSAGES.get(status, f"Error {status}")}

    def _failure_reply(self, f: Any) -> Reply:
        reply = super()._failure_reply(f)
        reply.headers.setdefault("x-line-request-id", str(uuid.uuid4()))
        if f.status == 409 and "x-line-accepted-request-id" not in {k.lower() for k in reply.headers}:
            reply.headers["x-line-accepted-request-id"] = str(uuid.uuid4())
        return reply

    def _next_id(self) -> str:
        return str(next(self._ids))

    def _sent_messages(self, n: int) -> list[dict]:
        return [{"id": self._next_id(), "quoteToken": uuid.uuid4().hex} for _ in range(n)]

    def handle(self, req: Request, rec: Recorded) -> Reply:
        """Route one request (lock held)."""
        reply = self._route(req, rec)
        reply.headers.setdefault("x-line-request-id", str(uuid.uuid4()))
        return reply

    def _authorized(self, rec: Recorded) -> bool:
        auth = rec.headers.get("authorization") or ""
        if not auth.startswith("Bearer "):
            return False
        token = auth[7:].strip()
        return token == self.access_token or token in self.extra_tokens

    def _route(self, req: Request, rec: Recorded) -> Reply:
        path = rec.path
        if not path.startswith("/v2/"):
            return _err(404, "Not found")
        if not self._authorized(rec):
            return _err(401, _STATUS_MESSAGES[401])
        rate = self.rate_limit.get(path)
        if rate:
            bucket = self._buckets.get((path, rate))
            if bucket is None:
                bucket = self._buckets[(path, rate)] = _Bucket(rate, self.clock)
            if not bucket.take():
                self.too_many += 1
                return _err(429, "Too Many Requests")
        method = rec.method
        if method == "POST":
            if path == "/v2/bot/message/reply":
                return self._reply(rec)
            if path in SEND_PATHS:
                return self._send(rec)
            if path == "/v2/bot/chat/loading/start":
                body = rec.json if isinstance(rec.json, dict) else {}
                if not isinstance(body.get("chatId"), str):
                    return _err(400, _STATUS_MESSAGES[400],
                                [{"message": "must be specified", "property": "chatId"}])
                self.loading.append(body)
                return Reply(202, {})
        elif method == "GET":
            if path == "/v2/bot/message/quota":
                if self.quota is None:
                    return Reply(200, {"type": "none"})
                return Reply(200, {"type": "limited", "value": self.quota})
            if path == "/v2/bot/message/quota/consumption":
                return Reply(200, {"totalUsage": self.quota_used})
            if path == "/v2/bot/info":
                return Reply(200, dict(self.bot_info))
            if path == "/v2/bot/message/progress/narrowcast":
                prog = self.narrowcasts.get(rec.query.get("requestId", ""))
                if prog is None:
                    return _err(404, "Not found")
                return Reply(200, prog)
            if path.startswith("/v2/bot/profile/"):
                return self._profile(path[len("/v2/bot/profile/"):])
            if path.startswith(MSG_PREFIX) and path.endswith("/content"):
                return self._content(path[len(MSG_PREFIX):-len("/content")])
            if path.startswith(MSG_PREFIX) and path.endswith("/content/transcoding"):
                return Reply(200, {"status": "succeeded"})
        return _err(404, "Not found")

    # ------------------------------------------------------------------ validation
    def _validate_messages(self, body: Any) -> Reply | None:
        if not isinstance(body, dict):
            return _err(400, "The request body has 1 error(s)",
                        [{"message": "must be a JSON object", "property": ""}])
        messages = body.get("messages")
        details: list[dict] = []
        if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
            details.append({"message": "Size must be between 1 and 5", "property": "messages"})
        else:
            for i, msg in enumerate(messages):
                prop = f"messages[{i}]"
                if not isinstance(msg, dict) or not msg.get("type"):
                    details.append({"message": "must be specified", "property": f"{prop}.type"})
                    continue
                if msg["type"] == "text":
                    text = msg.get("text")
                    if not isinstance(text, str) or not text:
                        details.append({"message": "must be specified", "property": f"{prop}.text"})
                    elif len(text) > 5000:
                        details.append({"message": "Length must be between 0 and 5000",
                                        "property": f"{prop}.text"})
                if msg["type"] == "flex":
                    details.extend(_flex_errors(msg, prop))
                qr = msg.get("quickReply")
                if qr is not None:
                    items = qr.get("items") if isinstance(qr, dict) else None
                    if not isinstance(items, list) or not 1 <= len(items) <= 13:
                        details.append({"message": "Size must be between 1 and 13",
                                        "property": f"{prop}.quickReply.items"})
                    else:
                        for j, item in enumerate(items):
                            details.extend(_label_errors((item or {}).get("action"),
                                                         f"{prop}.quickReply.items[{j}].action", QUICK_REPLY_LABEL))
        if details:
            return _err(400, f"The request body has {len(details)} error(s)", details)
        return None

    # ------------------------------------------------------------------ endpoints
    def _reply(self, rec: Recorded) -> Reply:
        if "x-line-retry-key" in rec.headers:
            return _err(400, "The retry key cannot be used with the reply API",
                        [{"message": "X-Line-Retry-Key is not supported", "property": "X-Line-Retry-Key"}])
        bad = self._validate_messages(rec.json)
        if bad:
            return bad
        body = rec.json
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            return _err(400, "The request body has 1 error(s)",
                        [{"message": "must be specified", "property": "replyToken"}])
        issued = self.reply_token_issued.get(token)
        too_old = (issued is not None and self.reply_token_ttl is not None
                   and self.clock() - issued > self.reply_token_ttl)
        if (token in self.used_reply_tokens or token in self.expired_reply_tokens or too_old
                or (self.strict_reply_tokens and token not in self.valid_reply_tokens)):
            return _err(400, "Invalid reply token")
        self.used_reply_tokens.add(token)
        user = self.reply_token_users.get(token)
        for msg in body["messages"]:
            self.replied.append((token, msg))
            if user is not None:
                self.delivered.append((user, msg))
        return Reply(200, {"sentMessages": self._sent_messages(len(body["messages"]))})

    def _send(self, rec: Recorded) -> Reply:
        path = rec.path
        retry_key = rec.headers.get("x-line-retry-key")
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                return _err(400, "The value for the 'X-Line-Retry-Key' header is invalid")
            if retry_key in self.retry_keys:
                accepted = self.retry_keys[retry_key]
                body: dict[str, Any] = {"message": "The retry key is already accepted"}
                if accepted in self.sent_responses:
                    body["sentMessages"] = self.sent_responses[accepted]
                return Reply(409, body, {"x-line-accepted-request-id": accepted})
        bad = self._validate_messages(rec.json)
        if bad:
            return bad
        body = rec.json
        recipients: list[str]
        if path.endswith("/push"):
            to = body.get("to")
            if not isinstance(to, str) or not to:
                return _err(400, "The request body has 1 error(s)",
                            [{"message": "must be specified", "property": "to"}])
            recipients = [to]
        elif path.endswith("/multicast"):
            to = body.get("to")
            if not isinstance(to, list) or not 1 <= len(to) <= 500:
                return _err(400, "The request body has 1 error(s)",
                            [{"message": "Size must be between 1 and 500", "property": "to"}])
            if not all(isinstance(u, str) and u for u in to):
                return _err(400, "The request body has 1 error(s)",
                            [{"message": "must be a user ID", "property": "to"}])
            recipients = list(to)
        else:  # narrowcast / broadcast: everyone in followers (filters are not modelled)
            recipients = list(self.followers)
        if self.quota is not None and self.quota_used + len(recipients) > self.quota:
            self.quota_exceeded += 1
            return _err(429, "You have reached your monthly limit.")
        self.quota_used += len(recipients)
        for user in recipients:
            for msg in body["messages"]:
                self.delivered.append((user, msg))
        request_id = str(uuid.uuid4())
        headers = {"x-line-request-id": request_id}
        if retry_key is not None:
            self.retry_keys[retry_key] = request_id
        if path.endswith("/push"):
            sent = self._sent_messages(len(body["messages"]))
            self.sent_responses[request_id] = sent
            return Reply(200, {"sentMessages": sent}, headers)
        if path.endswith("/narrowcast"):
            self.narrowcasts[request_id] = {
                "phase": "succeeded", "successCount": len(recipients), "failureCount": 0,
                "targetCount": len(recipients),
                "acceptedTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "completedTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            }
            return Reply(202, {}, headers)
        return Reply(200, {}, headers)

    def _profile(self, user_id: str) -> Reply:
        self.profile_calls[user_id] += 1
        if not user_id or user_id in self.profiles_missing:
            return _err(404, "Not found")
        prof = self.profiles.get(user_id)
        if prof is None:
            prof = {
                "userId": user_id,
                "displayName": f"User {user_id[-4:]}",
                "pictureUrl": f"https://profile.line-scdn.net/{user_id}",
                "statusMessage": "",
                "language": "id",
            }
        else:
            prof = {"userId": user_id, **prof}
        return Reply(200, prof)

    def _content(self, message_id: str) -> Reply:
        if message_id in self.contents_missing:
            return _err(404, "Not found")
        content = self.contents.get(message_id, PNG_1X1)
        ctype = "image/png"
        if isinstance(content, tuple):
            content, ctype = content
        return Reply(200, bytes(content), content_type=ctype)

    # ------------------------------------------------------------------ convenience
    def profile_calls_for(self, user_id: str) -> int:
        """How many times the profile of ``user_id`` was requested."""
        with self.lock:
            return self.profile_calls[user_id]

    def set_followers(self, user_ids: Iterable[str]) -> None:
        """Set the recipients of broadcast and narrowcast."""
        with self.lock:
            self.followers = list(user_ids)


QUICK_REPLY_LABEL, FLEX_BUTTON_LABEL, MAX_BUBBLES = 20, 40, 12


def _label_width(label: str) -> int:
    return len(label.encode("utf-16-le")) // 2  # counted as the strictest reading of LINE's limit


def _label_errors(action: Any, prop: str, limit: int) -> list[dict]:
    """An action without a label, or with one over `limit` characters."""
    label = action.get("label") if isinstance(action, dict) else None
    if action is None or (isinstance(action, dict) and action.get("type") == "location" and label is None):
        return []
    if not isinstance(label, str) or not label:
        return [{"message": "must be specified", "property": f"{prop}.label"}]
    if _label_width(label) > limit:
        return [{"message": f"Length must be between 0 and {limit}", "property": f"{prop}.label"}]
    return []


def _flex_errors(msg: dict, prop: str) -> list[dict]:
    """A flex message's altText, container type, bubble count and button labels."""
    errors = []
    if not msg.get("altText"):
        errors.append({"message": "must be specified", "property": f"{prop}.altText"})
    contents = msg.get("contents") or {}
    bubbles = [contents] if contents.get("type") == "bubble" else contents.get("contents")
    if contents.get("type") not in ("bubble", "carousel") or not isinstance(bubbles, list) \
            or not 1 <= len(bubbles) <= MAX_BUBBLES:
        return errors + [{"message": "invalid flex container", "property": f"{prop}.contents"}]
    for i, bubble in enumerate(bubbles):
        if (bubble or {}).get("type") != "bubble":
            errors.append({"message": "must be bubble", "property": f"{prop}.contents.contents[{i}].type"})
            continue
        footer = (bubble.get("footer") or {}).get("contents") or []
        for j, part in enumerate(footer):
            if (part or {}).get("type") == "button":
                errors.extend(_label_errors(part.get("action"), f"{prop}.contents.contents[{i}].footer.contents[{j}]"
                                                                 ".action", FLEX_BUTTON_LABEL))
    return errors
