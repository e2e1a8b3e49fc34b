"""Seeding and driving helpers for the broadcast tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from broadcasts import campaigns, delivery, runs
from broadcasts.models import CampaignRecipient
from core.db import session_scope, utcnow
from crm.outbound import RetryLater
from crm.models import ChannelIdentity, Contact

LINE_BASE = 0x10000000000000000000000000000000


def line_id(n: int) -> str:
    """A LINE-looking user id (U + 32 hex)."""
    return f"U{LINE_BASE + n:032x}"


def tg_id(n: int) -> str:
    """A Telegram user id above 32 bits."""
    return str(5_000_000_000 + n)


def seed(engine, *, line: int = 0, telegram: int = 0, start: int = 0, **fields: Any) -> list[int]:
    """Contacts with one identity each (bulk insert); their ids."""
    now = utcnow()
    contacts_table, identities = Contact.__table__, ChannelIdentity.__table__
    rows = [("line", line_id(start + i)) for i in range(line)] + \
        [("telegram", tg_id(start + i)) for i in range(telegram)]
    defaults = {"display_name": "", "tags": [], "attributes": {}, "status": "active", "marketing_consent": True,
                "created_at": now, "last_seen_at": now}
    with session_scope(engine) as session:
        first = (session.execute(select(func.max(contacts_table.c.id))).scalar() or 0) + 1
        session.execute(insert(contacts_table), [
            {**defaults, **fields, "id": first + i, "display_name": fields.get("display_name", f"Pelanggan {start + i}")}
            for i in range(len(rows))])
        session.execute(insert(identities), [
            {"contact_id": first + i, "channel": channel, "external_id": external, "display_name": "",
             "blocked": False, "created_at": now} for i, (channel, external) in enumerate(rows)])
    return list(range(first, first + len(rows)))


def make_campaign(rt, **kwargs) -> int:
    """A campaign due now; its id."""
    values = {"name": "Promo", "message": {"text": "Promo hemat hari ini!"}, "timezone_name": "Asia/Jakarta"}
    values.update(kwargs)
    with session_scope(rt.engine) as session:
        return campaigns.create_campaign(session=session, **values).id


def run_to_end(rt, campaign_id: int, run_key: str = "now", rounds: int = 20) -> int:
    """Drive a run like the workers would (retrying what asks to be retried, without waiting)."""
    run_id = runs.open_run(rt, campaign_id, run_key)
    if run_id is None:  # the campaign is done or cancelled
        return None
    for _ in range(rounds):
        runs.resolve(rt, run_id)
        runs.check_quota(rt, run_id)
        plan = runs.dispatch(rt, run_id)
        if not plan.chunks and not plan.direct:
            break
        for chunk in plan.chunks:
            try:
                delivery.send_chunk(rt, run_id, chunk)
            except RetryLater:
                pass
        for first, last in runs.iter_ranges(rt, run_id, rt.settings.broadcasts.send_batch):
            try:
                delivery.send_range(rt, run_id, first, last, max_retries=1)
            except RetryLater:
                pass
    return run_id


def statuses(engine, campaign_id: int) -> dict[str, int]:
    """Recipient status → count."""
    with session_scope(engine) as session:
        rows = session.execute(select(CampaignRecipient.status, func.count()).where(CampaignRecipient.campaign_id == campaign_id)
                               .group_by(CampaignRecipient.status)).all()
    return {status: n for status, n in rows}
