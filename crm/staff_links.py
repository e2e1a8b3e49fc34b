"""Staff members' own chat accounts, proven with a one-time code sent to the bot from them.

The inbox shows a staff member a short code (valid `CODE_MINUTES`, single use); when the bot
receives exactly that code from a LINE, Telegram (`/start CODE` too) or simulator chat, that
chat is linked to them. Only linked accounts receive campaign test-sends: an id typed into a
form proves nothing, so there is no way to link one. The customer simulator's chats are the
exception: its customers are the shop's own trials, so any of them may get a test-send.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from core.db import as_utc, utcnow
from crm.models import ChannelIdentity, Contact, StaffChatLink, StaffLinkCode, StaffUser

CODE_MINUTES = 15
# No 0/O, 1/I/L: a code read off a screen is typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# The whole message is the code as shown ("ABCD-EFGH", any case), or Telegram's deep link
# "/start ABCD-EFGH". A code holds letters and digits, so "kopi-susu" is never taken for one.
_CODE = re.compile(r"^\s*(?:/start(?:@\w+)?\s+([a-z2-9]{4})-?([a-z2-9]{4})|([a-z2-9]{4})-([a-z2-9]{4}))\s*$",
                   re.IGNORECASE)


@dataclass(frozen=True)
class Target:
    """A proven staff chat account: where a test-send goes."""

    channel: str
    external_id: str
    contact_id: int


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _mixed(code: str) -> bool:
    return any(c.isdigit() for c in code) and any(c.isalpha() for c in code)


def code_in(text: str | None) -> str | None:
    """The link code a message consists of (normalised "ABCDEFGH"), or None."""
    found = _CODE.match(text or "")
    code = "".join(part for part in found.groups() if part).upper() if found else ""
    return code if _mixed(code) else None


def new_code(*, session: Session, staff_user_id: int, now: datetime | None = None) -> tuple[str, datetime]:
    """A fresh code for the staff member ("ABCD-EFGH") and when it expires; their older codes stop working."""
    now = now or utcnow()
    session.execute(delete(StaffLinkCode).where(StaffLinkCode.staff_user_id == staff_user_id,
                                                StaffLinkCode.used_at.is_(None)))
    code = ""
    while not _mixed(code):
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
    expires_at = now + timedelta(minutes=CODE_MINUTES)
    session.add(StaffLinkCode(staff_user_id=staff_user_id, code_hash=_hash(code), expires_at=expires_at,
                              created_at=now))
    session.flush()
    return f"{code[:4]}-{code[4:]}", expires_at


def redeem(*, session: Session, code: str, channel: str, external_id: str, contact_id: int,
           now: datetime | None = None) -> StaffUser | None:
    """Link the chat that sent `code` to the code's staff member; None when the code is unknown, used or expired.

    ORM changes only (no flush): the caller's transaction writes them, and a second
    redemption of the same code waits on the row lock (PostgreSQL) or the write lock (SQLite).
    """
    now = now or utcnow()
    row = session.execute(select(StaffLinkCode).where(StaffLinkCode.code_hash == _hash(code.upper()))
                          .with_for_update()).scalars().first()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= now:
        return None
    staff = session.get(StaffUser, row.staff_user_id)
    if staff is None or not staff.active:
        return None
    row.used_at = now
    session.add(row)
    link = session.execute(select(StaffChatLink).where(StaffChatLink.staff_user_id == staff.id,
                                                       StaffChatLink.channel == channel)).scalars().first()
    link = link or StaffChatLink(staff_user_id=staff.id, channel=channel)
    link.external_id, link.contact_id, link.linked_at = external_id, contact_id, now
    session.add(link)
    return staff


def links_of(*, session: Session, staff_user_id: int) -> list[tuple[StaffChatLink, Contact | None]]:
    """The staff member's linked chat accounts with their contacts, by channel."""
    rows = session.execute(select(StaffChatLink, Contact).join(Contact, Contact.id == StaffChatLink.contact_id,
                                                               isouter=True)
                           .where(StaffChatLink.staff_user_id == staff_user_id)
                           .order_by(StaffChatLink.channel)).all()
    return [(link, contact) for link, contact in rows]


def targets_of(*, session: Session, staff_user_id: int) -> list[Target]:
    """Where the staff member's test-sends go: their linked accounts."""
    return [Target(link.channel, link.external_id, link.contact_id)
            for link, _ in links_of(session=session, staff_user_id=staff_user_id)]


def proven(*, session: Session, channel: str, external_id: str) -> Target | None:
    """The target if (channel, external_id) is some staff member's linked account, else None."""
    link = session.execute(select(StaffChatLink).where(StaffChatLink.channel == channel,
                                                       StaffChatLink.external_id == external_id)).scalars().first()
    return Target(link.channel, link.external_id, link.contact_id) if link else None


def staff_of(*, session: Session, channel: str, external_id: str) -> StaffUser | None:
    """The active staff member whose linked account (channel, external_id) is, else None."""
    staff = session.execute(select(StaffUser).join(StaffChatLink, StaffChatLink.staff_user_id == StaffUser.id)
                            .where(StaffChatLink.channel == channel, StaffChatLink.external_id == external_id,
                                   StaffUser.active == True)).scalars().first()  # noqa: E712 - SQL
    return staff


def proven_contacts(*, session: Session, contact_ids: list[int]) -> list[Target]:
    """The linked staff accounts among these contacts."""
    rows = session.execute(select(StaffChatLink).where(StaffChatLink.contact_id.in_(contact_ids))
                           .order_by(StaffChatLink.id)).scalars().all()
    unique = {(row.channel, row.external_id): Target(row.channel, row.external_id, row.contact_id) for row in rows}
    return list(unique.values())


def unlink(*, session: Session, staff_user_id: int, channel: str) -> bool:
    """Forget the staff member's account on `channel`; True when there was one."""
    result = session.execute(delete(StaffChatLink).where(StaffChatLink.staff_user_id == staff_user_id,
                                                         StaffChatLink.channel == channel))
    return result.rowcount > 0


def simulator_targets(*, session: Session, external_ids: list[str] | None = None,
                      contact_ids: list[int] | None = None, limit: int = 20) -> list[Target]:
    """Simulator chats a test-send may go to (the ones named, or the latest `limit`), newest first."""
    query = select(ChannelIdentity).where(ChannelIdentity.channel == "simulator")
    if external_ids is not None:
        query = query.where(ChannelIdentity.external_id.in_(external_ids))
    if contact_ids is not None:
        query = query.where(ChannelIdentity.contact_id.in_(contact_ids))
    rows = session.execute(query.order_by(ChannelIdentity.id.desc()).limit(limit)).scalars().all()
    return [Target(row.channel, row.external_id, row.contact_id) for row in rows]
