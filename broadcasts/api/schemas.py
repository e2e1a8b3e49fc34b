"""The broadcasts API's shapes: request bodies and answers (pydantic), also its OpenAPI schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.schemas import ContactPublic, RowId, UtcDatetime, json_int

CAMPAIGN_STATUSES = ("draft", "scheduled", "sending", "done", "paused", "cancelled")
BUCKETS = ("minute", "hour", "day")


class SegmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    rules: dict[str, Any] = Field(description='{"all"|"any": [rule…]} or {"field", "op", "value"}')


class SegmentPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: dict[str, Any] = Field(default_factory=dict)
    sample: json_int(0, 100) = Field(default=10, description="how many sample contacts to return")


class SegmentPublic(BaseModel):
    id: int
    name: str
    rules: dict[str, Any]
    count: int
    created_at: UtcDatetime


class SegmentList(BaseModel):
    items: list[SegmentPublic]


class PreviewResult(BaseModel):
    count: int
    sample: list[ContactPublic] = []


class Stats(BaseModel):
    """The contract's campaign stats."""

    targeted: int
    sent: int
    failed: int
    blocked: int
    unknown: int
    clicked: int
    replied: int
    orders: int


class Results(Stats):
    """Everything measured: the stats plus skipped (guard rails), still queued, revenue, failures by reason."""

    skipped: int
    queued: int
    revenue: int
    failed_by_reason: dict[str, int]


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    segment_id: RowId | None = None
    rules: dict[str, Any] | None = None
    message: dict[str, Any] | None = Field(default=None, description='{"text", "image_url", "buttons", '
                                                                      '"quick_replies"}')
    send_at: datetime | None = Field(default=None, description="ISO-8601; without offset = shop time; null = now")
    recurrence: str | None = Field(default=None, max_length=100,
                                   description="cron: minute hour day month weekday (shop time)")
    channels: list[Literal["line", "telegram", "simulator"]] | None = None
    variants: list[dict[str, Any]] | None = None
    ab_test: dict[str, Any] | None = None
    promotion_id: RowId | None = None
    quota_policy: Literal["refuse", "trim"] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    draft: bool = False


class CampaignCreated(BaseModel):
    id: int
    status: str


class CampaignPublic(BaseModel):
    id: int
    name: str
    status: Literal["draft", "scheduled", "sending", "done", "paused", "cancelled"]
    stats: Stats
    results: Results
    variants: dict[str, Results] = {}
    segment_id: int | None
    rules: dict[str, Any]
    channels: list[str]
    message: dict[str, Any]
    send_at: UtcDatetime | None
    recurrence: str | None
    timezone: str
    next_run_at: UtcDatetime | None = None
    winner: str | None
    notice: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class CampaignSummary(BaseModel):
    id: int
    name: str
    status: str
    send_at: UtcDatetime | None
    recurrence: str | None
    notice: str | None
    created_at: UtcDatetime


class CampaignList(BaseModel):
    items: list[CampaignSummary]


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota_policy: Literal["refuse", "trim"] | None = None


class WinnerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant: str | None = Field(default=None, description="omit to pick the best by the test's metric")


class TestTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["line", "telegram", "simulator"]
    external_id: str = Field(min_length=1, max_length=64)


class TestSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TestTarget] = Field(default_factory=list, max_length=10)
    contact_ids: list[RowId] = Field(default_factory=list, max_length=10)
    variant: str | None = None


class TestResult(BaseModel):
    channel: str
    external_id: str
    status: str
    error: str | None = None


class TestResults(BaseModel):
    items: list[TestResult]


class MessagePreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: dict[str, Any]
    name: str = "Budi"


class RenderedPreview(BaseModel):
    line: list[dict[str, Any]]
    telegram: list[dict[str, Any]]


class TimePoint(BaseModel):
    t: str
    sent: int
    failed: int
    unknown: int
    blocked: int
    clicked: int


class TimeSeries(BaseModel):
    bucket: Literal["minute", "hour", "day"]
    items: list[TimePoint]


class JourneyPublic(BaseModel):
    key: str
    enabled: bool
    message: dict[str, Any]
    options: dict[str, Any]
    campaign_id: int | None
    updated_at: UtcDatetime


class JourneyList(BaseModel):
    items: list[JourneyPublic]


class JourneyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    message: dict[str, Any] | None = None
    options: dict[str, Any] | None = None


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["line", "telegram", "simulator"]
    opted_out: bool


class ConsentPublic(BaseModel):
    contact_id: int
    opted_out_channels: list[str]


class Quota(BaseModel):
    limit: int | None = Field(description="monthly message limit; null = unlimited")
    used: int
    left: int | None


MODELS = [SegmentCreate, SegmentPreview, SegmentPublic, SegmentList, PreviewResult, Stats, Results, CampaignCreate,
          CampaignCreated, CampaignPublic, CampaignSummary, CampaignList, ResumeBody, WinnerBody, TestSend, TestResults,
          MessagePreview, RenderedPreview, TimeSeries, JourneyPublic, JourneyList, JourneyUpdate, ConsentBody,
          ConsentPublic, Quota]
