"""Fake Telegram Bot API server for tests and benchmarks.

Point python-telegram-bot at it::

    fake = FakeTelegram(token="123:ABC").start()
    bot = telegram.Bot("123:ABC", base_url=f"{fake.url}/bot",
                       base_file_url=f"{fake.url}/file/bot")
    # ... await bot.initialize(); await bot.send_message(42, "hi")
    assert fake.sent == [(42, "sendMessage", {"chat_id": 42, "text": "hi"})]

Requests arrive at ``/bot{token}/{method}`` form-encoded (PTB), multipart (uploads),
JSON or as a query string.  ``Recorded.target`` is the method name; ``Recorded.json`` is
the dict of parameters with JSON values (``reply_markup``, ``entities``, ...) parsed and
well-known scalars converted (``chat_id``/``message_id`` -> int, ``latitude`` -> float,
``show_alert`` -> bool, ...); ``Recorded.raw`` keeps the original body.

Modelled (see /work/shared/PLATFORMS.md and the fixtures in /work/shared/fixtures/telegram):

* wrong token or unknown method -> 404 ``{"ok": false, "error_code": 404, "description": "Not Found"}``
  (PTB raises ``InvalidToken``); ``add_token()`` for several bots on one fake;
* getMe, sendMessage, sendPhoto, sendDocument, sendSticker, sendContact, sendLocation,
  sendVenue, copyMessage, editMessageText, editMessageReplyMarkup, deleteMessage,
  answerCallbackQuery, setWebhook, deleteWebhook, getWebhookInfo, sendChatAction, getFile,
  getUpdates (from ``push_update``), setMyCommands, and ``GET /file/bot{token}/{path}``;
* ``sent`` = [(chat_id, method, params)] for accepted sends; ``send_times`` = their
  monotonic timestamps; ``messages`` = {(chat_id, message_id): message};
* ``blocked_chats`` -> 403 "Forbidden: bot was blocked by the user";
  ``known_chats`` (when not None) -> 400 "Bad Request: chat not found" for other chats;
* ``enforce_limits = True``: 30 sends/s overall, 1 send/s per chat, 20 sends/min per group
  (chat id < 0) -> 429 with ``parameters.retry_after`` (counted in ``too_many``);
  edits, chat actions and callback answers are not rate limited;
* ``fail_next(method, 429, retry_after=N)`` -> a flood error like the real one.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
import zlib
from collections import deque
from typing import Any

from werkzeug.wrappers import Request

from .line_api import PNG_1X1
from .server import FakeServer, Recorded, Reply

__all__ = ["FakeTelegram"]

# parameters whose value is always JSON-serialized by PTB
_JSON_KEYS = {
    "reply_markup", "entities", "caption_entities", "link_preview_options", "reply_parameters",
    "allowed_updates", "media", "commands", "results", "scope", "options", "explanation_entities",
    "reaction", "message_ids", "button", "menu_button", "permissions", "input_message_content",
}
# free-text parameters that must never be JSON-decoded
_TEXT_KEYS = {"text", "caption", "data", "callback_query_id", "secret_token", "url", "title",
              "address", "first_name", "last_name", "phone_number", "question", "description",
              "file_id", "inline_message_id", "parse_mode", "action", "photo", "document",
              "sticker", "video", "audio", "voice", "animation", "emoji", "foursquare_id"}
_INT_KEYS = {"message_id", "reply_to_message_id", "from_chat_id", "message_thread_id",
             "cache_time", "max_connections", "offset", "limit", "timeout", "live_period",
             "heading", "proximity_alert_radius", "user_id", "duration", "width", "height"}
_FLOAT_KEYS = {"latitude", "longitude", "horizontal_accuracy"}
_BOOL_KEYS = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
              "disable_web_page_preview", "allow_sending_without_reply", "is_flexible",
              "allow_paid_broadcast", "has_spoiler", "show_caption_above_media"}

# methods that post a message to a chat and are subject to flood limits
_SEND_METHODS = {"sendmessage", "sendphoto", "senddocument", "sendsticker", "sendcontact",
                 "sendlocation", "sendvenue", "sendvideo", "sendaudio", "sendvoice",
                 "sendanimation", "copymessage", "forwardmessage"}
_CHAT_METHODS = _SEND_METHODS | {"sendchataction", "editmessagetext", "editmessagereplymarkup",
                                 "deletemessage"}

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {n}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _ok(result: Any, description: str | None = None) -> Reply:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return Reply(200, body)


def _error(code: int, description: str, parameters: dict | None = None) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, body)


def _convert(key: str, value: Any) -> Any:
    """Decode one form value the way PTB encoded it (JSON for non-strings)."""
    if not isinstance(value, str):
        return value
    try:
        if key in _JSON_KEYS:
            return json.loads(value)
        if key in _TEXT_KEYS:
            return value
        if key == "chat_id" or key in _INT_KEYS:
            return int(value)
        if key in _FLOAT_KEYS:
            return float(value)
        if key in _BOOL_KEYS:
            return {"true": True, "false": False}.get(value, value)
        if value[:1] in "{[":
            return json.loads(value)
    except ValueError:
        pass
    return value


class FakeTelegram(FakeServer):
    """Fake Telegram Bot API (api.telegram.org) on 127.0.0.1."""

    name = "FakeTelegram"

    def __init__(self, token: str = "123:ABC") -> None:
        self.token = token
        super().__init__()
        self._reset_state()

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        """Restore every setting and all recorded platform state to the defaults."""
        self.tokens: set[str] = {self.token}
        self.sent: list[tuple[int, str, dict]] = []
        self.send_times: list[float] = []
        self.edited: list[tuple[int, str, dict]] = []
        self.callback_answers: list[dict] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.messages: dict[tuple[int, int], dict] = {}
        self.blocked_chats: set[int] = set()
        self.known_chats: set[int] | None = None
        self.chats: dict[int, dict] = {}               # chat id -> Chat object override
        self.expired_callback_queries: set[str] = set()
        self.strict_messages = False                   # edit of unknown message -> 400
        self.webhook: dict | None = None
        self.require_https_webhook = True
        self.files: dict[str, bytes] = {}              # file_id -> content
        self.file_paths: dict[str, str] = {}           # file_id -> file_path
        self.updates: list[dict] = []                  # served by getUpdates
        self.commands: list | None = None
        self.enforce_limits = False
        self.limit_global_per_sec = 30
        self.limit_chat_per_sec = 1
        self.limit_group_per_min = 20
        self.too_many = 0
        self._global_window: deque = deque()
        self._chat_windows: dict[int, deque] = {}
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._usernames: dict[str, int] = {}
        self.me = {
            "id": self._bot_id(self.token),
            "is_bot": True,
            "first_name": "Sapa Test",
            "username": "sapa_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @staticmethod
    def _bot_id(token: str) -> int:
        head = token.split(":", 1)[0]
        return int(head) if head.isdigit() else 999999999

    # ------------------------------------------------------------------ test helpers
    def add_token(self, token: str) -> None:
        """Accept another bot token on this fake (several bots, one server)."""
        with self.lock:
            self.tokens.add(token)

    def push_update(self, update: dict) -> None:
        """Queue an Update dict to be returned by the next getUpdates."""
        with self.lock:
            self.updates.append(update)

    def set_file(self, file_id: str, content: bytes, file_path: str | None = None) -> None:
        """Make getFile(file_id) and its download return ``content``."""
        with self.lock:
            self.files[file_id] = content
            if file_path:
                self.file_paths[file_id] = file_path

    def sent_to(self, chat_id: int) -> list[tuple[str, dict]]:
        """(method, params) of accepted sends to ``chat_id``."""
        with self.lock:
            return [(m, p) for c, m, p in self.sent if c == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        """Texts (or captions) of accepted sends to ``chat_id``."""
        with self.lock:
            return [p.get("text", p.get("caption", "")) for c, _, p in self.sent if c == chat_id]

    def achieved_rate(self) -> float:
        """Accepted sends per second between the first and the last accepted send."""
        with self.lock:
            if len(self.send_times) < 2:
                return 0.0
            span = self.send_times[-1] - self.send_times[0]
            return (len(self.send_times) - 1) / span if span > 0 else float("inf")

    # ------------------------------------------------------------------ base hooks
    def target_of(self, path: str) -> str:
        """``/bot{token}/{method}`` -> method; ``/file/bot{token}/...`` -> "file"."""
        if path.startswith("/file/"):
            return "file"
        return path.rsplit("/", 1)[-1]

    def matches(self, target: str, wanted: str) -> bool:
        """Method names match case-insensitively ("*" matches everything)."""
        return wanted == "*" or target.lower() == wanted.lower()

    def fail_next(self, target: str, status: int, body: Any = None, times: int = 1,
                  headers: dict | None = None, retry_after: int = 1,
                  description: str | None = None) -> None:
        """Make the next ``times`` calls of method ``target`` fail like the Bot API would."""
        if body is None:
            desc = description or _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            params = None
            if status == 429:
                desc = desc.format(n=retry_after)
                params = {"retry_after": retry_after}
            body = {"ok": False, "error_code": status, "description": desc}
            if params:
                body["parameters"] = params
        super().fail_next(target, status, body, times, headers)

    def _default_error_body(self, target: str, status: int) -> Any:
        return {"ok": False, "error_code": status,
                "description": _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}").format(n=1)}

    def parse_body(self, req: Request, rec: Recorded) -> None:
        """Collect parameters from the query string, a form / multipart body or JSON."""
        params: dict[str, Any] = dict(rec.query)
        ctype = req.mimetype
        if ctype == "application/json":
            if rec.raw:
                data = json.loads(rec.raw)
                if isinstance(data, dict):
                    params.update(data)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(req.form.to_dict())
            for name, storage in req.files.items():
                rec.files[name] = (storage.filename, storage.read())
        rec.json = {k: _convert(k, v) for k, v in params.items()}

    # ------------------------------------------------------------------ routing
    def handle(self, req: Request, rec: Recorded) -> Reply:
        """Route one request (lock held)."""
        parts = rec.path.split("/")
        if rec.path.startswith("/file/"):
            # ["", "file", "bot<token>", *file_path]
            if len(parts) < 4 or parts[2][3:] not in self.tokens or not parts[2].startswith("bot"):
                return _error(404, "Not Found")
            return self._download("/".join(parts[3:]))
        if len(parts) != 3 or not parts[1].startswith("bot") or parts[1][3:] not in self.tokens:
            return _error(404, "Not Found")
        method = parts[2].lower()
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        params: dict = rec.json or {}
        chat_id = None
        if method in _CHAT_METHODS and "inline_message_id" not in params:
            raw_chat = params.get("chat_id")
            if raw_chat in (None, ""):
                return _error(400, "Bad Request: chat_id is empty")
            chat_id = self._chat_id(raw_chat)
            if chat_id is None:
                return _error(400, "Bad Request: chat not found")
            problem = self._chat_problem(chat_id)
            if problem:
                return problem
            if method in _SEND_METHODS and self.enforce_limits:
                limited = self._check_limits(chat_id)
                if limited:
                    return limited
        reply = handler(params, chat_id, rec)
        if method in _SEND_METHODS and reply.status == 200:
            now = self.clock()
            self.sent.append((chat_id, parts[2], params))
            self.send_times.append(now)
            self._global_window.append(now)
            self._chat_windows.setdefault(chat_id, deque()).append(now)
        return reply

    # ------------------------------------------------------------------ chats & limits
    def _chat_id(self, raw: Any) -> int | None:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return raw
        text = str(raw)
        if text.startswith("@"):
            if text not in self._usernames:
                self._usernames[text] = -1000000000000 - (zlib.crc32(text.encode()) % 10**9)
            return self._usernames[text]
        try:
            return int(text)
        except ValueError:
            return None

    def _chat_problem(self, chat_id: int) -> Reply | None:
        if self.known_chats is not None and chat_id not in self.known_chats:
            return _error(400, "Bad Request: chat not found")
        if chat_id in self.blocked_chats:
            if chat_id > 0:
                return _error(403, "Forbidden: bot was blocked by the user")
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return _error(403, f"Forbidden: bot was kicked from the {kind} chat")
        return None

    def _check_limits(self, chat_id: int) -> Reply | None:
        now = self.clock()
        retry = 0.0
        g = self._global_window
        while g and g[0] <= now - 1.0:
            g.popleft()
        if len(g) >= self.limit_global_per_sec:
            retry = max(retry, g[0] + 1.0 - now)
        c = self._chat_windows.get(chat_id)
        if c:
            horizon = 60.0 if chat_id < 0 else 1.0
            while c and c[0] <= now - horizon:
                c.popleft()
            last_second = sum(1 for t in c if t > now - 1.0)
            if last_second >= self.limit_chat_per_sec:
                oldest = [t for t in c if t > now - 1.0][-self.limit_chat_per_sec]
                retry = max(retry, oldest + 1.0 - now)
            if chat_id < 0 and len(c) >= self.limit_group_per_min:
                retry = max(retry, c[-self.limit_group_per_min] + 60.0 - now)
        if retry > 0:
            self.too_many += 1
            n = max(1, math.ceil(retry))
            return _error(429, f"Too Many Requests: retry after {n}", {"retry_after": n})
        return None

    def _chat(self, chat_id: int) -> dict:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id % 10000}"}
        if str(chat_id).startswith("-100"):
            for name, cid in self._usernames.items():
                if cid == chat_id:
                    return {"id": chat_id, "type": "channel", "title": name[1:], "username": name[1:]}
            return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}

    def _message(self, chat_id: int, params: dict, **content: Any) -> dict:
        msg = {
            "message_id": next(self._message_ids),
            "from": {k: self.me[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": self._chat(chat_id),
            "date": int(time.time()),
        }
        msg.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        if params.get("message_thread_id"):
            msg["message_thread_id"] = params["message_thread_id"]
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    @staticmethod
    def _markup_problem(params: dict) -> Reply | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            return _error(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard") or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    return _error(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    return _error(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        return None

    def _new_file(self, rec: Recorded, field: str, value: Any) -> str:
        """Return a file_id for an uploaded file (stored in ``files``) or the given id/URL."""
        if field in rec.files or (isinstance(value, str) and value.startswith("attach://")):
            name = value[9:] if isinstance(value, str) and value.startswith("attach://") else field
            file_id = f"FAKE{field.upper()}{next(self._file_ids):06d}"
            if name in rec.files:
                self.files[file_id] = rec.files[name][1]
            return file_id
        return str(value)

    # ------------------------------------------------------------------ methods
    def _m_getme(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        return _ok(dict(self.me))

    def _m_logout(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        return _ok(True)

    def _m_close(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        return _ok(True)

    def _m_sendmessage(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        text = params.get("text")
        if not text or not str(text).strip():
            return _error(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            return _error(400, "Bad Request: message is too long")
        bad = self._markup_problem(params)
        if bad:
            return bad
        content: dict[str, Any] = {"text": str(text)}
        if params.get("entities"):
            content["entities"] = params["entities"]
        return _ok(self._message(chat_id, params, **content))

    def _caption(self, params: dict) -> tuple[dict, Reply | None]:
        caption = params.get("caption")
        if caption is None:
            return {}, None
        if len(str(caption)) > 1024:
            return {}, _error(400, "Bad Request: message caption is too long")
        return {"caption": str(caption)}, None

    def _m_sendphoto(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if not params.get("photo") and "photo" not in rec.files:
            return _error(400, "Bad Request: there is no photo in the request")
        content, bad = self._caption(params)
        bad = bad or self._markup_problem(params)
        if bad:
            return bad
        file_id = self._new_file(rec, "photo", params.get("photo"))
        content["photo"] = [
            {"file_id": f"{file_id}s", "file_unique_id": f"U{file_id}s", "file_size": 1200,
             "width": 90, "height": 67},
            {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": 52000,
             "width": 1280, "height": 960},
        ]
        return _ok(self._message(chat_id, params, **content))

    def _m_senddocument(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if not params.get("document") and "document" not in rec.files:
            return _error(400, "Bad Request: there is no document in the request")
        content, bad = self._caption(params)
        bad = bad or self._markup_problem(params)
        if bad:
            return bad
        file_id = self._new_file(rec, "document", params.get("document"))
        fname = rec.files["document"][0] if "document" in rec.files else "file.bin"
        content["document"] = {"file_id": file_id, "file_unique_id": f"U{file_id}",
                               "file_name": fname or "file.bin",
                               "mime_type": "application/octet-stream",
                               "file_size": len(self.files.get(file_id, b""))}
        return _ok(self._message(chat_id, params, **content))

    def _m_sendsticker(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if not params.get("sticker") and "sticker" not in rec.files:
            return _error(400, "Bad Request: there is no sticker in the request")
        file_id = self._new_file(rec, "sticker", params.get("sticker"))
        sticker = {"file_id": file_id, "file_unique_id": f"U{file_id}", "type": "regular",
                   "width": 512, "height": 512, "is_animated": False, "is_video": False}
        return _ok(self._message(chat_id, params, sticker=sticker))

    def _m_sendcontact(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if not params.get("phone_number") or not params.get("first_name"):
            return _error(400, "Bad Request: phone number and first name must be non-empty")
        contact = {"phone_number": str(params["phone_number"]), "first_name": str(params["first_name"])}
        if params.get("last_name"):
            contact["last_name"] = str(params["last_name"])
        return _ok(self._message(chat_id, params, contact=contact))

    def _location(self, params: dict) -> dict | Reply:
        try:
            lat, lon = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "Bad Request: wrong latitude or longitude")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return _error(400, "Bad Request: wrong latitude or longitude")
        return {"latitude": lat, "longitude": lon}

    def _m_sendlocation(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        loc = self._location(params)
        if isinstance(loc, Reply):
            return loc
        bad = self._markup_problem(params)
        return bad or _ok(self._message(chat_id, params, location=loc))

    def _m_sendvenue(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        loc = self._location(params)
        if isinstance(loc, Reply):
            return loc
        if not params.get("title") or not params.get("address"):
            return _error(400, "Bad Request: venue title and address must be non-empty")
        venue = {"location": loc, "title": str(params["title"]), "address": str(params["address"])}
        bad = self._markup_problem(params)
        return bad or _ok(self._message(chat_id, params, venue=venue, location=loc))

    def _m_copymessage(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if params.get("from_chat_id") in (None, "") or params.get("message_id") in (None, ""):
            return _error(400, "Bad Request: message to copy not found")
        msg = self._message(chat_id, params, text="(copy)")
        return _ok({"message_id": msg["message_id"]})

    def _m_forwardmessage(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        if params.get("from_chat_id") in (None, "") or params.get("message_id") in (None, ""):
            return _error(400, "Bad Request: message to forward not found")
        return _ok(self._message(chat_id, params, text="(forwarded)"))

    def _edit(self, params: dict, chat_id: Any, rec: Recorded, new_text: str | None) -> Reply:
        bad = self._markup_problem(params)
        if bad:
            return bad
        method = rec.target
        if "inline_message_id" in params:
            self.edited.append((0, method, params))
            return _ok(True)
        try:
            message_id = int(params.get("message_id"))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: message identifier is not specified")
        key = (chat_id, message_id)
        msg = self.messages.get(key)
        if msg is None:
            if self.strict_messages:
                return _error(400, "Bad Request: message to edit not found")
            msg = {"message_id": message_id,
                   "from": {k: self.me[k] for k in ("id", "is_bot", "first_name", "username")},
                   "chat": self._chat(chat_id), "date": int(time.time()), "text": ""}
        markup = params.get("reply_markup")
        new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        text = msg.get("text") if new_text is None else new_text
        if text == msg.get("text") and new_markup == msg.get("reply_markup") and key in self.messages:
            return _error(400, "Bad Request: message is not modified: specified new message content "
                               "and reply markup are exactly the same as a current content and "
                               "reply markup of the message")
        msg = dict(msg)
        if new_text is not None:
            msg["text"] = new_text
        if new_markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        self.messages[key] = msg
        self.edited.append((chat_id, method, params))
        return _ok(msg)

    def _m_editmessagetext(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        text = params.get("text")
        if not text or not str(text).strip():
            return _error(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        return self._edit(params, chat_id, rec, str(text))

    def _m_editmessagereplymarkup(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        return self._edit(params, chat_id, rec, None)

    def _m_deletemessage(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        try:
            key = (chat_id, int(params.get("message_id")))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: message identifier is not specified")
        if self.strict_messages and key not in self.messages:
            return _error(400, "Bad Request: message to delete not found")
        self.messages.pop(key, None)
        return _ok(True)

    def _m_sendchataction(self, params: dict, chat_id: int, rec: Recorded) -> Reply:
        action = params.get("action")
        if not action:
            return _error(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return _ok(True)

    def _m_answercallbackquery(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        qid = params.get("callback_query_id")
        if not qid:
            return _error(400, "Bad Request: QUERY_ID_INVALID")
        if qid in self.expired_callback_queries:
            return _error(400, "Bad Request: query is too old and response timeout expired "
                               "or query ID is invalid")
        if params.get("text") and len(str(params["text"])) > 200:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return _ok(True)

    def _m_setwebhook(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        if not url:
            self.webhook = None
            return _ok(True, "Webhook was deleted")
        if self.require_https_webhook and not str(url).startswith("https://"):
            return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        was_set = self.webhook is not None and self.webhook.get("url") == url
        self.webhook = {"url": url, "secret_token": secret,
                        **{k: v for k, v in params.items() if k not in ("url", "secret_token")}}
        return _ok(True, "Webhook is already set" if was_set else "Webhook was set")

    def _m_deletewebhook(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        had = self.webhook is not None
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return _ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _m_getwebhookinfo(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self.updates)}
        if self.webhook:
            info["url"] = self.webhook["url"]
            info["max_connections"] = int(self.webhook.get("max_connections") or 40)
            info["ip_address"] = "127.0.0.1"
            if self.webhook.get("allowed_updates") is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return _ok(info)

    def _m_getupdates(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        if self.webhook:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        if isinstance(offset, int):
            self.updates = [u for u in self.updates if u.get("update_id", 0) >= offset]
        limit = params.get("limit") if isinstance(params.get("limit"), int) else 100
        return _ok(self.updates[:limit])

    def _m_setmycommands(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        self.commands = params.get("commands")
        return _ok(True)

    def _m_getfile(self, params: dict, chat_id: Any, rec: Recorded) -> Reply:
        file_id = params.get("file_id")
        if not file_id:
            return _error(400, "Bad Request: invalid file_id")
        path = self.file_paths.get(file_id)
        if path is None:
            path = self.file_paths[file_id] = f"photos/file_{next(self._file_ids)}.jpg"
        content = self.files.get(file_id, PNG_1X1)
        return _ok({"file_id": file_id, "file_unique_id": f"U{file_id}"[:32],
                    "file_size": len(content), "file_path": path})

    def _download(self, file_path: str) -> Reply:
        for file_id, path in self.file_paths.items():
            if path == file_path:
                content = self.files.get(file_id, PNG_1X1)
                ctype = "image/png" if content[:4] == b"\x89PNG" else "application/octet-stream"
                return Reply(200, content, content_type=ctype)
        return _error(404, "Not Found")
