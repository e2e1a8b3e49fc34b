"""What sending looks like to everything below the platform adapters: a request, its outcome, a sender.

Senders (bot/line, bot/telegram, the simulator) implement `Sender`; the outbound path
(crm.outbound) and the fan-out (broadcasts) call them through a `SenderLookup`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol

from core.messages import Reply


@dataclass
class Outcome:
    """What happened to one outbound message."""

    status: str  # sent | failed | unknown | retry
    error: str | None = None
    platform_message_id: str | None = None
    retry_after: float | None = None  # seconds the platform asked us to wait
    blocked: bool = False  # the recipient blocked the bot
    uncertain: bool = False  # the platform may have acted on the request (5xx, timeout)


@dataclass
class SendRequest:
    """Messages for one chat, sent together (one LINE request carries up to 5)."""

    chat_id: str
    replies: list[Reply]
    retry_key: str  # stable across retries: LINE's X-Line-Retry-Key is derived from it
    reply_token: str | None = None  # LINE reply token / Telegram callback query id
    reply_uncertain: bool = False  # an earlier reply attempt may have reached LINE
    chat_type: str = "direct"
    meta: dict = field(default_factory=dict)


class Sender(Protocol):
    """Sends neutral replies on one channel and reads profiles there."""

    channel: str

    def deliver(self, request: SendRequest) -> list[Outcome]:
        """Send the request's replies; one outcome per reply, in order."""
        ...

    def profile(self, user_id: str, chat_type: str = "direct", chat_id: str | None = None) -> dict | None:
        """The user's profile (display_name, language, picture_url) or None if unavailable."""
        ...

    def content(self, message_id: str, data: dict) -> tuple[bytes, str] | None:
        """A media message's bytes and content type, fetched on demand (None if gone)."""
        ...


class MulticastSender(Sender, Protocol):
    """A sender that can also send one request to many users (LINE) and knows its quota."""

    def multicast(self, to: list[str], replies: list[Reply], key: str) -> Outcome:
        """Send the same replies to every user id in `to`, idempotent under `key`."""
        ...

    def push(self, to: str, replies: list[Reply], key: str) -> Outcome:
        """Send replies to one user, idempotent under `key`."""
        ...

    def quota(self) -> tuple[int | None, int]:
        """(monthly message limit or None, used this month)."""
        ...


class SenderLookup(Protocol):
    """The senders of a process, by channel."""

    def get(self, channel: str) -> Sender:
        """The sender for `channel`; KeyError when the channel is switched off."""
        ...


def retry_key(base: str, chunk: int = 0) -> str:
    """A UUID derived from a stable string (LINE wants UUIDs for X-Line-Retry-Key)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sapa:{base}:{chunk}"))
