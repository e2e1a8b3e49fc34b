"""REST API tokens: random, shown once, stored as SHA-256 hashes; full access, or limited to one staff role.

A limited token may do through the API what that role does in the inbox: an agent the chats,
contacts, orders, complaints and alerts (and read the catalog); a marketer the segments,
campaigns, journeys and promotions (and read contacts, chats and the catalog); an admin all.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from core.db import utcnow
from crm.ids import as_id
from crm.models import ApiToken

PREFIX = "sapa_"
TOKEN_ROLES = ("admin", "agent", "marketer")
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# What each limited role may change and read, by the first part of the path under /api/v1/.
_SUPPORT = frozenset({"conversations", "messages", "contacts", "merges", "orders", "complaints", "alerts"})
_MARKETING = frozenset({"segments", "campaigns", "journeys", "promotions", "broadcasts"})
_CATALOG = frozenset({"products", "stores", "faqs", "promotions", "openapi.json"})
ADMIN_ONLY = frozenset({"export", "erase"})  # a contact's data rights: everything about a person, or its end
WRITES = {"agent": _SUPPORT, "marketer": _MARKETING}
READS_ALSO = {"agent": _SUPPORT | _CATALOG, "marketer": _MARKETING | _CATALOG | {"contacts", "conversations", "messages"}}


def _hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, name: str, role: str | None = None) -> str:
    """Create a token named `name` (full access, or limited to `role`); returns the plaintext (never stored)."""
    if role is not None and role not in TOKEN_ROLES:
        raise TokenError(f"role must be one of {', '.join(TOKEN_ROLES)} (or none for full access)")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token), role=role))
    session.flush()
    return token


def token_allows(role: str | None, method: str, path: str) -> bool:
    """Whether a token of `role` (None: full access) may make this request."""
    if role is None or role == "admin":
        return True
    parts = path.removeprefix("/api/v1/").split("/")
    if len(parts) == 3 and parts[0] == "contacts" and parts[2] in ADMIN_ONLY:
        return False
    if role == "marketer" and len(parts) == 3 and parts[0] == "contacts" and parts[2] == "consent":
        return True  # marketing consent is the marketer's to record
    allowed = READS_ALSO if method.upper() in READS else WRITES
    return parts[0] in allowed.get(role, ())


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
