"""The sender registry: one `Sender` per channel turns neutral replies into platform calls.

Bot replies, staff replies and broadcasts all go through `deliver_batch`, which keeps the
outbound message rows (status, error, attempts) in step with what the platform said.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from bot.messages import Reply
from bot.settings import Settings

log = logging.getLogger(__name__)


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
class Delivery:
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

    def deliver(self, delivery: Delivery) -> list[Outcome]:
        """Send the delivery's replies; one outcome per reply, in order."""
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


class SimulatorSender:
    """The customer simulator reads replies from the history; sending just marks them sent."""

    channel = "simulator"

    def deliver(self, delivery: Delivery) -> list[Outcome]:
        """Mark every reply sent."""
        return [Outcome("sent", platform_message_id=f"sim-{uuid.uuid4().hex[:12]}") for _ in delivery.replies]

    def profile(self, user_id: str, chat_type: str = "direct", chat_id: str | None = None) -> dict | None:
        """Simulated customers have no platform profile."""
        return None

    def content(self, message_id: str, data: dict) -> tuple[bytes, str] | None:
        """Simulated customers send no media."""
        return None


def retry_key(base: str, chunk: int = 0) -> str:
    """A UUID derived from a stable string (LINE wants UUIDs for X-Line-Retry-Key)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sapa:{base}:{chunk}"))


class SenderRegistry:
    """Senders keyed by channel, built lazily from settings (channels without credentials are off)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._senders: dict[str, Sender] = {}

    def get(self, channel: str) -> Sender:
        """The sender for `channel`; KeyError when the channel is switched off."""
        if channel not in self._senders:
            self._senders[channel] = self._build(channel)
        return self._senders[channel]

    def _build(self, channel: str) -> Sender:
        if channel == "simulator":
            return SimulatorSender()
        if channel == "line" and self.settings.line.enabled:
            from bot.line.sender import LineSender

            return LineSender(self.settings.line)
        if channel == "telegram" and self.settings.telegram.enabled:
            from bot.telegram.sender import TelegramSender

            return TelegramSender(self.settings.telegram)
        raise KeyError(f"channel {channel!r} is not configured (set its credentials in the environment)")

    def close(self) -> None:
        """Release clients (the Telegram event loop thread)."""
        for sender in self._senders.values():
            close = getattr(sender, "close", None)
            if close:
                close()
        self._senders.clear()
