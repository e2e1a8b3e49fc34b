"""REST API tokens: random, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from core.db import utcnow
from crm.ids import as_id
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


class TokenError(LookupError):
    """No token matches what was asked for."""


def list_tokens(*, session: Session) -> list[ApiToken]:
    """Every token, live and revoked, oldest first."""
    return list(session.exec(select(ApiToken).order_by(ApiToken.id)).all())


def find_tokens(*, session: Session, name_or_id: str) -> list[ApiToken]:
    """The token with this id, else every token with this name; TokenError when none matches."""
    key = name_or_id.strip()
    token_id = as_id(key)
    if token_id is not None:
        row = session.get(ApiToken, token_id)
        if row is not None:
            return [row]
    rows = list(session.exec(select(ApiToken).where(ApiToken.name == key)).all())
    if not rows:
        raise TokenError(f"no token has the id or name {key!r} (see `sapa token list`)")
    return rows


def revoke_tokens(*, session: Session, tokens: list[ApiToken]) -> list[ApiToken]:
    """Revoke `tokens` (the API refuses them from the next request on); returns those that were live."""
    live = [row for row in tokens if not row.revoked]
    for row in live:
        row.revoked, row.revoked_at = True, utcnow()
        session.add(row)
    session.flush()
    return live
