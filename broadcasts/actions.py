"""What the REST API, the marketer's screens and the CLI do to a campaign the same way: resume or
launch it, send an A/B winner to the rest, render a preview, read the LINE quota, stream the deliveries as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from sqlalchemy.engine import Engine
from sqlmodel import Session

from broadcasts import campaigns as cmp
from broadcasts import delivery, results
from broadcasts.campaign_message import RenderContext, render
from broadcasts.scheduler import run_key
from broadcasts.tasks import enqueue_campaign, enqueue_run
from core.db import session_scope, utcnow
from core.runtime import get_runtime
from core.settings import Settings
from crm.csv_export import stream_csv


class QuotaUnavailable(Exception):
    """LINE's quota cannot be read: `status` 409 when LINE is off, 502 when LINE failed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def resume(*, engine: Engine, settings: Settings, campaign_id: int, quota_policy: str | None = None) -> tuple[int, str]:
    """Resume a paused campaign (or launch a draft) and queue its work; (id, status). CampaignError when refused."""
    with session_scope(engine) as session:
        campaign, run = cmp.resume(session=session, campaign_id=campaign_id)
        if quota_policy:
            campaign.quota_policy = quota_policy
        if run is not None:
            run.quota_checked = False  # the quota may have changed; check again before sending
            session.add(run)
        key = None if run is not None or campaign.status != "sending" else \
            run_key(campaign, utcnow(), settings.broadcasts.misfire_grace_seconds)
        resumed_id, status, run_id = campaign.id, campaign.status, run.id if run is not None else None
    if run_id is not None:
        enqueue_run(run_id)
    elif key is not None:
        enqueue_campaign(resumed_id, key)
    return resumed_id, status


def send_winner(*, engine: Engine, settings: Settings, campaign_id: int,
                variant: str | None = None) -> tuple[str, int]:
    """End an A/B test: the named (or best) variant goes to the rest; (winner, rows released). CampaignError when refused."""
    with Session(engine) as session:
        winner = results.choose_winner(session=session, campaign_id=campaign_id,
                                       attribution_days=settings.broadcasts.attribution_days, variant=variant)
        run = cmp.open_run(session=session, campaign_id=campaign_id)
    released = delivery.release_winner(get_runtime(), campaign_id, winner)
    if run is not None:
        enqueue_run(run.id)
    return winner, released


def render_preview(settings: Settings, message: dict[str, Any], name: str = "Budi",
                   promotion: Any = None) -> dict[str, list[dict]]:
    """How a validated message renders on LINE and on Telegram: channel -> reply payloads."""
    rendered = {}
    for channel in ("line", "telegram"):
        ctx = RenderContext(campaign_id=0, variant="", channel=channel, shop=settings.bot.shop_name,
                            public_url=settings.public_url, secret=settings.secret_key, name=name,
                            promotion=promotion, recommended_fallback=settings.cross_sell.campaign_fallback)
        rendered[channel] = [reply.to_payload() for reply in render(message, ctx, settings.tz)]
    return rendered


def line_quota() -> dict[str, int | None]:
    """This month's LINE quota {limit, used, left} (limit/left None = unlimited); QuotaUnavailable when it cannot be read."""
    try:
        limit, used = get_runtime().senders.get("line").quota()
    except KeyError:
        raise QuotaUnavailable(409, "LINE is not configured (set SAPA_LINE__CHANNEL_SECRET and "
                                    "SAPA_LINE__ACCESS_TOKEN)") from None
    except Exception as exc:  # noqa: BLE001 - LINE failed; say so instead of a 500
        raise QuotaUnavailable(502, f"LINE did not answer the quota request: {type(exc).__name__}") from None
    return {"limit": limit, "used": used, "left": None if limit is None else max(0, limit - used)}


def csv_response(engine: Engine, campaign_id: int) -> Response:
    """Every delivery of the campaign as a streamed CSV download (batches of 1,000 rows)."""
    def generate() -> Iterator[str]:
        with Session(engine) as session:
            yield from stream_csv(results.CSV_COLUMNS, results.export_rows(session=session, campaign_id=campaign_id))

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})
