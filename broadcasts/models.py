"""Tables of the broadcasts feature: segments, campaigns and their runs, one recipient row per
person reached (table `delivery`), consent, tracked clicks and journeys.

A campaign fires one *run* per due time (once for "now"/"at", every cron time for a
recurring one); a run's audience is written as recipient rows under the unique key
(run, contact, channel) before anything is sent, so a crash or a second task never sends
a recipient the same run twice. A recipient who is sent something points at the outbound
`Message` of their history that carries it (`message_id`); crm.outbound sends and records it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "done", "paused", "cancelled")
# queued → sending → sent | failed | unknown;  blocked, skipped (guard rails), held (A/B rest),
# cancelled: never sent.
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "unknown", "blocked", "skipped", "held", "cancelled")


def _json(default: Any) -> Any:
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


class Segment(SQLModel, table=True):
    """A named audience: rules in the grammar of broadcasts.segments."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    rules: dict[str, Any] = _json({})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Campaign(SQLModel, table=True):
    """A message to an audience, sent now, at a time, or on a cron schedule (shop timezone)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(default="campaign", max_length=12)  # campaign | journey
    status: str = Field(default="draft", max_length=12, index=True)
    segment_id: int | None = Field(default=None, foreign_key="segment.id")
    rules: dict[str, Any] = _json({})  # used when there is no segment (copied at creation)
    channels: list[str] = _json(["line", "telegram", "simulator"])
    message: dict[str, Any] = _json({})
    variants: list[dict[str, Any]] = _json([])  # A/B: [{"name", "weight", "message"}]
    ab_test: dict[str, Any] = _json({})  # {"test_percent", "metric"}; the rest waits for the winner
    winner: str | None = Field(default=None, max_length=20)
    promotion_id: int | None = Field(default=None, foreign_key="promotion.id")
    send_at: datetime | None = None
    recurrence: str | None = Field(default=None, max_length=100)  # crontab, shop timezone
    timezone: str = Field(default="Asia/Jakarta", max_length=64)
    quota_policy: str = Field(default="refuse", max_length=8)  # refuse | trim
    notice: str | None = Field(default=None, sa_column=Column(Text))  # last guard-rail message
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CampaignRun(SQLModel, table=True):
    """One firing of a campaign: resolving the audience, then sending (resumable after a crash)."""

    __table_args__ = (UniqueConstraint("campaign_id", "run_key", name="uq_run_campaign_key"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    run_key: str = Field(max_length=40)  # the due time (ISO, UTC) or "now"/"test:<n>"
    status: str = Field(default="resolving", max_length=12, index=True)  # resolving|sending|done|paused|cancelled
    resolved_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    targeted: int = 0
    quota_checked: bool = False
    notice: str | None = Field(default=None, sa_column=Column(Text))
    heartbeat_at: datetime = Field(default_factory=utcnow)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class CampaignRecipient(SQLModel, table=True):
    """One recipient of one run on one channel: whether they are sent the campaign, and what happened."""

    __tablename__ = "delivery"  # its name before the rename: no table rebuild
    __table_args__ = (
        UniqueConstraint("run_id", "contact_id", "channel", name="uq_delivery_run_contact_channel"),
        Index("ix_delivery_run_status", "run_id", "status"),
        Index("ix_delivery_run_chunk", "run_id", "chunk"),
        Index("ix_delivery_contact_sent", "contact_id", "sent_at"),
        Index("ix_delivery_campaign_status", "campaign_id", "status"),
        Index("ix_delivery_message", "message_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    run_id: int = Field(foreign_key="campaignrun.id")
    contact_id: int = Field(foreign_key="contact.id")
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    variant: str = Field(default="", max_length=20)
    status: str = Field(default="queued", max_length=10)
    reason: str | None = Field(default=None, max_length=40)  # opted_out, frequency_cap, quota, blocked, …
    error: str | None = Field(default=None, sa_column=Column(Text))
    chunk: int | None = None  # LINE: multicast chunk number within the run (retry key)
    attempts: int = 0
    # The outbound message of the recipient's history that carries the campaign (None: skipped, held).
    message_id: int | None = Field(default=None, foreign_key="message.id")
    created_at: datetime = Field(default_factory=utcnow)
    sending_at: datetime | None = None
    sent_at: datetime | None = None


class ChannelConsent(SQLModel, table=True):
    """A contact's marketing opt-out on one channel ("stop" / "berhenti"); deleting it opts back in."""

    __table_args__ = (UniqueConstraint("contact_id", "channel", name="uq_consent_contact_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    channel: str = Field(max_length=16)
    opted_out: bool = True
    source: str = Field(default="chat", max_length=20)  # chat | api | staff
    changed_at: datetime = Field(default_factory=utcnow)


class TrackedLink(SQLModel, table=True):
    """A campaign button's URL behind /r/<token>, so a click is counted before the redirect."""

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    variant: str = Field(default="", max_length=20)
    url: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)


class CampaignClick(SQLModel, table=True):
    """A click on a tracked link or a campaign postback button.

    A tracked link keeps one row per clicker (`visitor`: the recipient when the link was
    signed for them, else a first-party visitor id), so following it again counts nothing.
    """

    __table_args__ = (UniqueConstraint("link_id", "visitor", name="uq_campaignclick_link_visitor"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    variant: str = Field(default="", max_length=20)
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    link_id: int | None = Field(default=None, foreign_key="trackedlink.id")  # None: a postback button
    visitor: str | None = Field(default=None, max_length=64)  # "c:<contact id>" or "v:<visitor id>"
    kind: str = Field(default="link", max_length=10)  # link | postback
    clicked_at: datetime = Field(default_factory=utcnow)


class Journey(SQLModel, table=True):
    """A triggered message (welcome, birthday, follow-up, win-back, abandoned order), on or off."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=30, sa_column_kwargs={"unique": True})
    enabled: bool = False
    message: dict[str, Any] = _json({})
    options: dict[str, Any] = _json({})  # e.g. {"days": 60}, {"promotion_id": 3}
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    updated_at: datetime = Field(default_factory=utcnow)
