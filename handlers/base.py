"""What every handler sees (`Context`), what it returns (`Answer`) and what it is (`Handler`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.messages import Inbound
from core.texts import text
from crm.shop import ShopView
from handlers.effects import Answer


class Marketing(Protocol):
    """What handlers may read about broadcasts (the pipeline provides it; handlers import no broadcasts code)."""

    def welcome(self) -> tuple[bool, str | None]:
        """Whether the welcome journey is on, and its edited text (None: the built-in welcome)."""
        ...

    def has_campaign(self, campaign_id: int) -> bool:
        """True when the campaign exists."""
        ...

    def campaign_answer(self, campaign_id: int, variant: str, position: int) -> str | None:
        """The answer a campaign's reply button gives (None: none)."""
        ...


UPSET = 0.8  # P(negative) above which a customer is very upset (staff are alerted, a complaint is heard)
TORN = 0.25  # the model's probability of a complaint that, with a very upset customer, makes it one


@dataclass
class Context:
    """Everything a handler may read about the customer, without touching an SDK or writing.

    `state` is the conversation's saved state (an order in progress, a pending question):
    the handler's working copy, changed in place; the pipeline saves it with the replies.
    """

    contact_id: int | None
    contact_name: str
    language: str  # reply language: "id" or "en"
    shop_name: str
    now: datetime
    is_new_contact: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    data: ShopView | None = None  # catalog, orders, complaints, FAQ, offers, stores (reads only)
    marketing: Marketing | None = None  # the welcome journey, campaign buttons (reads only)
    analysis: Any = None  # handlers.nlu.Analysis for text messages
    reading: Any = None  # handlers.nlu.order_text.OrderText: the text read as order details (once)
    threshold: float = 0.6  # below this NLU confidence the bot is unsure
    requested_intent: str | None = None  # from a menu button (postback `intent=…`)
    intent: str | None = None  # set by the handler that answered
    clarifying: bool = False  # the bot's last message asked the customer which of a few things they meant

    def wants(self, intent: str) -> bool:
        """True when the customer asked for `intent` by button, or said it with confidence."""
        if self.requested_intent is not None:
            return self.requested_intent == intent
        return self.analysis is not None and self.analysis.intent == intent and self.confident

    @property
    def confident(self) -> bool:
        return self.analysis is not None and self.analysis.confidence >= self.threshold

    @property
    def complains(self) -> bool:
        """True when the customer complains: said with confidence, or leant to and in upset words, or
        very upset with a complaint in the running ("kemarin beli croissant, keras kayak batu")."""
        if self.requested_intent is not None or self.analysis is None:
            return False
        if self.analysis.intent == "complaint":
            return self.confident or self.analysis.negative
        return self.analysis.negative_score >= UPSET and self.analysis.scores.get("complaint", 0.0) >= TORN

    def say(self, key: str, **values: Any) -> str:
        """Wording for `key` in the customer's language."""
        return text(key, self.language, **values)


class Handler(Protocol):
    """One intent family: `matches` decides, `handle` answers (pure: reads only, no SDK, no writes)."""

    name: str

    def matches(self, inbound: Inbound, ctx: Context) -> bool:
        """True when this handler should answer the inbound event."""
        ...

    def handle(self, inbound: Inbound, ctx: Context) -> Answer:
        """The replies for the inbound event (may be empty) and the effects to apply."""
        ...
