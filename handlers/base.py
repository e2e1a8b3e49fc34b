"""What every handler sees (`Context`) and what it is (`Handler`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.messages import Inbound, Reply


@dataclass
class Context:
    """Everything a handler may read about the customer, without touching an SDK.

    `state` is the conversation's saved state (an order in progress, a pending question);
    handlers change it in place and the pipeline saves it with the replies.
    """

    contact_id: int | None
    contact_name: str
    language: str  # reply language: "id" or "en"
    shop_name: str
    now: datetime
    is_new_contact: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    data: Any = None  # data access for handlers that need the catalog, orders, … (crm)
    analysis: Any = None  # NLU result for text messages, when available
    intent: str | None = None  # set by the handler that answered


class Handler(Protocol):
    """One intent family: `matches` decides, `handle` answers (pure: no SDK, no sending)."""

    name: str

    def matches(self, inbound: Inbound, ctx: Context) -> bool:
        """True when this handler should answer the inbound event."""
        ...

    def handle(self, inbound: Inbound, ctx: Context) -> list[Reply]:
        """The replies for the inbound event (may be empty)."""
        ...
