"""What a handler asks the pipeline to do besides replying: small frozen records, applied under the write lock.

A handler decides from reads only; the pipeline (bot/answer.py) applies its effects in the
event's own transaction, once, after recording the customer's message. An effect whose
outcome the customer is told (a new order's number) is worded after it is applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Union

from core.messages import Reply
from crm.orders import CartLine


@dataclass(frozen=True)
class PlaceOrder:
    """Place the order of the cart with its details; confirmed in `language` with its number."""

    lines: tuple[CartLine, ...]
    fulfilment: str
    address: str | None
    store_id: int | None
    language: str
    phone: str | None = None
    payment_method: str | None = None
    scheduled_for: datetime | None = None  # None: as soon as possible
    note: str | None = None
    delivery_fee: int = 0
    lat: float | None = None
    lon: float | None = None
    voucher_code: str | None = None  # a promotion's code the customer typed; its redemption is recorded
    cross_sell_product_id: int | None = None  # the product offered with the cart (frequently bought together)


@dataclass(frozen=True)
class CancelOrder:
    """Cancel the customer's own order on their request."""

    order_id: int


@dataclass(frozen=True)
class OpenComplaint:
    """Open a complaint ticket (staff are alerted); confirmed in `language` with its number and due time."""

    text: str
    negative_score: float
    order_id: int | None
    order_number: str | None
    language: str


@dataclass(frozen=True)
class AlertStaff:
    """Tell staff about this conversation now."""

    kind: str
    text: str
    severity: str = "medium"
    complaint_id: int | None = None  # the ticket it is about
    order_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the alert line in staff words (crm.alerts.raise_alert)


@dataclass(frozen=True)
class HandOff:
    """Flag the conversation for staff and alert them.

    `quiet`: the bot leaves the chat to staff until they answer or `bot.handoff_answer_minutes`
    pass; otherwise (staff are off duty) it goes on answering what it can.
    """

    reason: str
    quiet: bool = True
    params: dict[str, Any] = field(default_factory=dict)  # the alert line in staff words (crm.alerts.raise_alert)


@dataclass(frozen=True)
class SetOptOut:
    """Opt the customer out of marketing on this channel (or back in)."""

    opted_out: bool


@dataclass(frozen=True)
class RecordClick:
    """Count a click on a campaign's button in the campaign's results."""

    campaign_id: int
    variant: str


@dataclass(frozen=True)
class RememberLocation:
    """Keep the customer's last shared location."""

    lat: float
    lon: float


@dataclass(frozen=True)
class ForgetLocation:
    """Remove the customer's stored location (they asked us to)."""


@dataclass(frozen=True)
class LinkStaffAccount:
    """Link this chat to the staff member whose one-time `code` it sent; confirmed (or refused) in `language`."""

    code: str
    language: str


@dataclass(frozen=True)
class RequestLinkCode:
    """Give this customer a one-time code to link another chat account; the code is worded in `language`."""

    language: str


@dataclass(frozen=True)
class LinkAccounts:
    """Merge this chat's contact into the contact that asked for `code`; confirmed (or refused) in `language`."""

    code: str
    language: str


@dataclass(frozen=True)
class StaffReply:
    """Send `text` to conversation `conversation_id`'s customer as the reply of the staff member owning this chat."""

    conversation_id: int
    text: str
    language: str


@dataclass(frozen=True)
class RateService:
    """Store the customer's satisfaction score (1–5) for survey `survey_id`, with their comment if they gave one;
    a low score alerts staff."""

    survey_id: int
    score: int
    comment: str | None = None


@dataclass(frozen=True)
class CommentOnService:
    """Keep the customer's comment with their satisfaction score."""

    survey_id: int
    text: str


@dataclass(frozen=True)
class SkipSurveyComment:
    """The customer gave no comment for survey `survey_id`: the message answered only the survey."""

    survey_id: int


@dataclass(frozen=True)
class RedeemReward:
    """Spend the points of reward `index` of the shop's list (it cost `points` when offered) for a voucher code;
    told in `language` with the code."""

    index: int
    points: int
    language: str


@dataclass(frozen=True)
class ShowMemberCode:
    """Tell this customer their member code for the counter (made on first ask), worded in `language`."""

    language: str


Effect = Union[PlaceOrder, CancelOrder, OpenComplaint, AlertStaff, HandOff, SetOptOut, RecordClick,
               RememberLocation, ForgetLocation, LinkStaffAccount, RequestLinkCode, LinkAccounts, StaffReply,
               RateService, CommentOnService, SkipSurveyComment, RedeemReward, ShowMemberCode]


class Answer(NamedTuple):
    """What a handler returns: the replies, and the effects the pipeline applies."""

    replies: list[Reply]
    effects: tuple[Effect, ...] = ()
