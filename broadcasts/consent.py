"""Marketing consent per contact and channel: "stop" / "berhenti" opts out, "mulai" opts back in.

Opting out stops broadcasts and journeys on that channel only; bot answers and staff replies
(which the customer asked for) are not marketing and keep working.
"""

from __future__ import annotations

from sqlmodel import Session, select

from broadcasts.models import ChannelConsent
from core.db import utcnow
from crm import consent_log


def set_opt_out(*, session: Session, contact_id: int, channel: str, opted_out: bool,
                source: str = "chat", actor: str = "customer") -> ChannelConsent:
    """Record an opt-out (or an opt back in) for one channel; idempotent (only a change joins the consent log)."""
    row = session.exec(select(ChannelConsent).where(ChannelConsent.contact_id == contact_id,
                                                    ChannelConsent.channel == channel)).first()
    if row is None:
        row = ChannelConsent(contact_id=contact_id, channel=channel, opted_out=False)
    if row.opted_out != opted_out:
        consent_log.record(session=session, contact_id=contact_id, opt_in=not opted_out, source=source,
                           channel=channel, actor=actor)
    row.opted_out, row.source, row.changed_at = opted_out, source, utcnow()
    session.add(row)
    session.flush()
    return row


def opted_out_channels(*, session: Session, contact_id: int) -> list[str]:
    """The channels on which the contact declined marketing messages."""
    return list(session.exec(select(ChannelConsent.channel).where(
        ChannelConsent.contact_id == contact_id, ChannelConsent.opted_out == True)).all())  # noqa: E712
