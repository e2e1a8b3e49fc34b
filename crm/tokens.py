"""REST API tokens: random, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from crm.db import utcnow
from crm.models import ApiToken

PREFIX = "sapa_"


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str) -> str:
    """Create a token named `name`; returns the plaintext (never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token)))
    session.flush()
    return token


def verify_token(*, session: Session, token: str) -> ApiToken | None:
    """The live token matching `token`, if any (and note its use)."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(token), ApiToken.revoked == False)).first()  # noqa: E712
    if row is not None:
        row.last_used_at = utcnow()
        session.add(row)
    return row
