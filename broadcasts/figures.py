"""The campaign → reply → order funnel as daily rows, for the CRM dashboard (which sits on a floor below us).

Each campaign's figures are those of its results page (`broadcasts.results.stats`), stored on the shop's
day of its first delivery: `campaign_sent` (recipients reached), `campaign_replied`, `campaign_orders`
(amount = revenue), key = campaign id, label = its name. A campaign's replies and orders keep coming for
`attribution_days`, so the clock restates the campaigns first sent within that window (plus a day).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from broadcasts import results
from broadcasts.models import Campaign, CampaignRecipient
from core.db import utcnow
from core.localtime import day_start
from crm import daily_figures

METRICS = ("campaign_sent", "campaign_replied", "campaign_orders")


def _first_sends(session: Session, since: datetime, until: datetime) -> list[tuple[Campaign, datetime]]:
    """Campaigns whose first delivery falls in [since, until), with that moment."""
    first = func.min(CampaignRecipient.sent_at)
    return list(session.exec(select(Campaign, first)
                             .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
                             .where(CampaignRecipient.sent_at.is_not(None)).group_by(Campaign.id)
                             .having(first >= since, first < until)).all())


def store_funnel(*, session: Session, first: date, last: date, tz: ZoneInfo, attribution_days: int,
                 now: datetime | None = None) -> int:
    """Restate the funnel rows of the campaigns first sent on the shop's days `first`..`last`; how many campaigns."""
    campaigns = _first_sends(session, day_start(first, tz), day_start(last + timedelta(days=1), tz))
    rows = []
    for campaign, sent_at in campaigns:
        stats = results.stats(session=session, campaign_id=campaign.id, attribution_days=attribution_days)
        day = daily_figures.local_day(sent_at, tz)
        reached = stats["sent"] + stats["unknown"]  # what the results page counts as reached
        rows += [daily_figures.row("campaign_sent", day, campaign.id, reached, label=campaign.name),
                 daily_figures.row("campaign_replied", day, campaign.id, stats["replied"], label=campaign.name),
                 daily_figures.row("campaign_orders", day, campaign.id, stats["orders"], stats["revenue"],
                                   label=campaign.name)]
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    daily_figures.store(session=session, metrics=METRICS, days=days, rows=rows, now=now)
    return len(campaigns)


def refresh_funnel(*, session: Session, tz: ZoneInfo, attribution_days: int, now: datetime | None = None) -> int:
    """The clock's run: the campaigns whose replies and orders may still change."""
    now = now or utcnow()
    today = daily_figures.local_day(now, tz)
    return store_funnel(session=session, first=today - timedelta(days=attribution_days + 1), last=today, tz=tz,
                        attribution_days=attribution_days, now=now)
