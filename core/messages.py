"""Platform-neutral message types: what arrives (`Inbound`) and what the bot says (`Reply`).

Nothing here knows LINE or Telegram; adapters translate SDK objects into `Inbound`, and
senders render `Reply` into each platform's native widgets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Mapping

# Inbound kinds
MESSAGE = "message"
EDITED = "edited"
POSTBACK = "postback"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
JOIN = "join"
LEAVE = "leave"
MEMBER_JOINED = "member_joined"
MEMBER_LEFT = "member_left"
UNSEND = "unsend"
OTHER = "other"


@dataclass(frozen=True)
class Inbound:
    """One thing a customer did, the same shape for every channel.

    `kind` says what happened (message, postback, follow, …); for messages,
    `message_type` says what was sent (text, image, location, sticker, …) and `data`
    holds the type's details (location coordinates, sticker ids, media metadata, postback
    params, joined member ids). `reply_token` is LINE's reply token or Telegram's
    callback query id. In groups `addressed` tells whether the bot was spoken to.
    """

    channel: str
    kind: str
    chat_id: str
    event_id: int | None = None
    user_id: str | None = None
    chat_type: str = "direct"  # direct | group | room
    message_type: str | None = None
    text: str | None = None
    message_id: str | None = None
    postback_data: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    reply_token: str | None = None
    addressed: bool = True
    display_name: str | None = None
    username: str | None = None
    language: str | None = None
    timestamp: datetime | None = None

    @property
    def is_direct(self) -> bool:
        return self.chat_type == "direct"

    @property
    def command(self) -> str | None:
        """The bot command without slash and @botname (`/start@sapa_bot x` → `start`)."""
        if self.message_type != "text" or not self.text or not self.text.startswith("/"):
            return None
        return self.text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() or None


# LINE's limit for an action label (quick reply, postback, message, URI buttons), the
# strictest of our platforms: https://developers.line.biz/en/reference/messaging-api/#action-objects
LABEL_LIMIT = 20
ELLIPSIS = "…"


def label_width(label: str) -> int:
    """A label's length as the strictest platform counts it (UTF-16 units: an emoji counts twice)."""
    return len(label.encode("utf-16-le")) // 2


def shorten_label(label: str, limit: int = LABEL_LIMIT) -> str:
    """`label` within `limit`, cut after a whole word with "…" (only for names the shop typed).

    Our own labels are written to fit; this is the last resort for a product, store or
    question too long for a button. A first word longer than the limit is cut inside.
    """
    label = " ".join(label.split())
    if label_width(label) <= limit:
        return label
    room = limit - label_width(ELLIPSIS)
    kept = ""
    for word in label.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if label_width(candidate) > room:
            break
        kept = candidate
    if not kept:  # one long word: cut it, keeping whole characters
        for char in label:
            if label_width(kept + char) > room:
                break
            kept += char
    return kept.rstrip(" ,.;:-\u200d\ufe0f") + ELLIPSIS


@dataclass(frozen=True)
class Choice:
    """A button: sends `data` back as a postback, or `text` as if typed, or opens `url`,
    or (`location=True`) asks the customer to share their location."""

    label: str
    data: str | None = None
    text: str | None = None
    url: str | None = None
    location: bool = False


@dataclass(frozen=True)
class Location:
    title: str
    address: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Card:
    """One card of a carousel (LINE flex bubble, Telegram message with buttons)."""

    title: str
    subtitle: str = ""
    image_url: str | None = None
    buttons: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One message the bot (or a staff member) sends, rendered natively per channel.

    `choices` become LINE quick replies or a Telegram inline keyboard; `cards` a LINE flex
    carousel or Telegram messages with buttons; `location` a map pin.
    """

    text: str = ""
    choices: tuple[Choice, ...] = ()
    image_url: str | None = None
    location: Location | None = None
    cards: tuple[Card, ...] = ()
    preview_url: str | None = None  # LINE's smaller preview of `image_url` (the image itself when None)

    @property
    def type(self) -> str:
        if self.cards:
            return "carousel"
        if self.location:
            return "location"
        if self.image_url:
            return "image"
        return "text"

    def to_payload(self) -> dict[str, Any]:
        """JSON-able form stored on the outbound message row."""
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Reply:
        """Inverse of `to_payload`."""
        def choices(items: Any) -> tuple[Choice, ...]:
            return tuple(Choice(**item) for item in items or ())

        location = payload.get("location")
        return cls(
            text=payload.get("text", ""),
            choices=choices(payload.get("choices")),
            image_url=payload.get("image_url"),
            preview_url=payload.get("preview_url"),
            location=Location(**location) if location else None,
            cards=tuple(
                Card(**{**card, "buttons": choices(card.get("buttons"))})
                for card in payload.get("cards") or ()
            ),
        )
