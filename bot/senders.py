"""The sender registry: one `Sender` per channel turns neutral replies into platform calls.

The outbound path (crm.outbound) calls them for bot replies, staff replies, test-sends and
broadcasts alike, and keeps the outbound message rows in step with what the platform said.
"""

from __future__ import annotations

import logging
import mimetypes
import uuid
from pathlib import Path

from core.sending import Outcome, SendRequest, Sender
from core.settings import Settings

log = logging.getLogger(__name__)


class SimulatorSender:
    """The customer simulator reads replies from the history; sending just marks them sent."""

    channel = "simulator"

    def __init__(self, media_dir: str | Path = "data/media") -> None:
        self.media_dir = Path(media_dir)

    def deliver(self, request: SendRequest) -> list[Outcome]:
        """Mark every reply sent."""
        return [Outcome("sent", platform_message_id=f"sim-{uuid.uuid4().hex[:12]}") for _ in request.replies]

    def profile(self, user_id: str, chat_type: str = "direct", chat_id: str | None = None) -> dict | None:
        """Simulated customers have no platform profile."""
        return None

    def content(self, message_id: str, data: dict) -> tuple[bytes, str] | None:
        """A photo a simulated customer sent, from the media folder (None when gone)."""
        name = Path(str(data.get("media") or message_id or "")).name
        path = self.media_dir / name
        if not name or not path.is_file():
            return None
        return path.read_bytes(), mimetypes.guess_type(name)[0] or "application/octet-stream"


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
            return SimulatorSender(self.settings.media_dir)
        # The SDKs load with their first sender, not at the top: LINE's messaging models alone add
        # ~20 MB to every web process, which sends nothing (it only fetches a media file now and then).
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
