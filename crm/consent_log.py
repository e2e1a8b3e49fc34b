"""The consent log: every change of a contact's marketing consent, who made it, from where, when.

Marketing consent lives in two places: `Contact.marketing_consent` (every channel: staff, the
API, an import) and the broadcasts' per-channel opt-out ("stop" / "mulai" in chat). Whatever
changes either writes a row here in the same transaction, so the shop can show when and how a
customer agreed or declined (UU PDP asks a controller to prove consent).
"""

from __future__ import annotations

from sqlmodel import Session, select

from crm.models import ConsentChange

SOURCES = ("chat", "staff", "import", "api", "erasure")


def record(*, session: Session, contact_id: int, opt_in: bool, source: str, channel: str | None = None,
           staff_user_id: int | None = None, actor: str = "") -> ConsentChange:
    """Log one change of marketing consent (`channel` None: the contact's consent on every channel)."""
    if source not in SOURCES:
        raise ValueError(f"consent source must be one of {', '.join(SOURCES)}")
    row = ConsentChange(contact_id=contact_id, opt_in=opt_in, source=source, channel=channel,
                        staff_user_id=staff_user_id, actor=actor[:100])
    session.add(row)
    return row


def history(*, session: Session, contact_id: int, limit: int | None = None) -> list[ConsentChange]:
    """A contact's consent changes, latest first."""
    query = select(ConsentChange).where(ConsentChange.contact_id == contact_id) \
        .order_by(ConsentChange.at.desc(), ConsentChange.id.desc())
    return list(session.exec(query.limit(limit) if limit else query).all())
