"""The counter's forms are done once: each form carries a key, and the first submission of a key claims it.

A double click, a resubmitted page or two tabs posting the same redemption must spend the
points once. The claim is a row written in the same transaction as the change: a second
submission of the key finds it, or fails on the unique key (on PostgreSQL it waits for the
first to commit; on SQLite the write lock serialises them), and a refused change rolls the
claim back with it, so the corrected form can be sent again.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from core.db import utcnow

KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class CounterSubmission(SQLModel, table=True):
    """A counter form that was done (its key), what it did and to whom."""

    key: str = Field(primary_key=True, max_length=64)
    action: str = Field(max_length=20)  # purchase | redeem | adjust
    contact_id: int = Field(foreign_key="contact.id", index=True)
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id")
    at: datetime = Field(default_factory=utcnow)


def new_key() -> str:
    """A fresh key for a counter form."""
    return secrets.token_urlsafe(18)


class AlreadyDone(Exception):
    """The form's key was claimed before: the change it asks for was made already (the transaction must roll back)."""


def claim(*, session: Session, key: str, action: str, contact_id: int, staff_user_id: int | None) -> None:
    """Claim a form's key for this change, in the caller's transaction (AlreadyDone when it was done already)."""
    if not KEY.match(key or ""):
        raise ValueError("a counter form's key is missing or malformed")
    if session.get(CounterSubmission, key) is not None:
        raise AlreadyDone(key)
    # No savepoint: on SQLite one as the transaction's first write would commit on release, claim and all.
    # A racing twin (PostgreSQL) waits here on the key until the first commits, then fails: done already.
    session.add(CounterSubmission(key=key, action=action, contact_id=contact_id, staff_user_id=staff_user_id))
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyDone(key) from exc
