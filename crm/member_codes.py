"""A customer's member code: what they show at the counter (from their chat) so staff find them in the inbox.

"kartu member" / "my member code" in chat answers it: seven characters of an alphabet without
0/O, 1/I/L ("K7MQ2PX"), letters and digits both (never a word or a name), drawn with `secrets`
(31^7 ≈ 2.7·10^10 codes: guessing another customer's is hopeless) — not derived from the contact id.

One code per contact, kept for good (like a plastic card): a screenshot of it still works at
the next visit and staff can write it on a receipt. It only finds the customer for staff, who
see the name and balance before they add or redeem anything, so a rotating code would cost
customers more than it protects. Merged-away contacts keep their row: their old code finds the
contact they were merged into (and finds them again if the merge is undone).

The shape differs from the account-link codes (nine characters) and staff link codes
("ABCD-EFGH"), so a code typed in chat is never taken for one of those.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from core.db import utcnow
from crm import merge
from crm.models import Contact
from crm.staff_links import ALPHABET

CODE_LENGTH = 7
_SHAPE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


class MemberCode(SQLModel, table=True):
    """A contact's member code (one each, unique, stable)."""

    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    code: str = Field(max_length=CODE_LENGTH, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


def _mixed(code: str) -> bool:
    return any(c.isdigit() for c in code) and any(c.isalpha() for c in code)


def new_code() -> str:
    """A random member code: CODE_LENGTH characters of ALPHABET, letters and digits both."""
    code = ""
    while not _mixed(code):
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return code


def normalise(text: str | None) -> str | None:
    """`text` as a member code ("k7m q2-px" → "K7MQ2PX"), or None when it cannot be one."""
    code = re.sub(r"[\s-]", "", text or "").upper()
    return code if _SHAPE.match(code) and _mixed(code) else None


def code_of(*, session: Session, contact_id: int) -> str | None:
    """The contact's member code (None until they first asked for it)."""
    return session.exec(select(MemberCode.code).where(MemberCode.contact_id == contact_id)).first()


def ensure_code(*, session: Session, contact_id: int, now: datetime | None = None) -> str:
    """The contact's member code, made on first use (a race or a taken code is retried)."""
    for _ in range(10):
        existing = code_of(session=session, contact_id=contact_id)
        if existing is not None:
            return existing
        try:
            with session.begin_nested():  # the unique keys: the same contact at once, or a code already given
                session.add(MemberCode(contact_id=contact_id, code=new_code(), created_at=now or utcnow()))
                session.flush()
        except IntegrityError:
            continue
    raise RuntimeError("no free member code after 10 tries")


def find_contact(*, session: Session, code: str | None) -> Contact | None:
    """The live contact whose member code `code` is (any case, spaces or dashes), or None."""
    code = normalise(code)
    if code is None:
        return None
    contact_id = session.exec(select(MemberCode.contact_id).where(MemberCode.code == code)).first()
    contact = merge.survivor_of(session=session, contact_id=contact_id) if contact_id is not None else None
    return contact if contact is not None and contact.erased_at is None else None


def forget(*, session: Session, contact_ids: Iterable[int]) -> None:
    """Remove these contacts' member codes (an erasure)."""
    session.execute(delete(MemberCode).where(MemberCode.contact_id.in_(list(contact_ids))))
