"""A customer proves two chat accounts are theirs: a one-time code asked for in one chat, sent from the other.

"link account" / "hubungkan akun" / `/link` gives a code ("K7M-Q2P-X9A": nine characters of an
alphabet without 0/O, 1/I/L, valid `CODE_MINUTES`, single use, only its hash stored). When
another contact's chat sends exactly that code (or Telegram's `/start K7MQ2PX9A`), that contact
is merged into the one that asked (crm/merge.py): the asker survives. Nothing merges two
customers' accounts by guessing: a name or a phone number is not proof (an imported member's
number links only when the customer answers yes to it, crm/phone_claims.py).

The shape differs from the staff link codes (crm/staff_links.py, "ABCD-EFGH"), so a message is
never both.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlmodel import Session

from core.db import as_utc, utcnow
from crm import merge
from crm.models import AccountLinkCode, ContactMerge
from crm.staff_links import ALPHABET

CODE_MINUTES = 15
CODE_LENGTH = 9
# The whole message is the code as shown (any case, dashes optional) or Telegram's deep link "/start CODE".
_CODE = re.compile(r"^\s*(?:/start(?:@\w+)?\s+)?([a-z2-9]{3})-?([a-z2-9]{3})-?([a-z2-9]{3})\s*$", re.IGNORECASE)
# What asks for a code: the command, or these words alone (punctuation and case aside).
ASKS = {"link account", "link my account", "link accounts", "link my accounts", "hubungkan akun",
        "hubungkan akun saya", "hubungin akun", "sambungkan akun"}
# A linking verb and the account words that may follow it: "link" alone is no verb in Indonesian chat ("minta link
# akun ig-nya" asks for a URL), so the English verbs count only before the English word.
_AKUN = frozenset({"akun", "akunku", "akunnya", "account", "accounts"})
_ACCOUNT = frozenset({"account", "accounts"})
LINK_VERBS = {**dict.fromkeys(("hubungkan", "hubungin", "menghubungkan", "sambungkan", "sambungin", "menyambungkan",
                               "gabungkan", "gabungin", "menggabungkan", "satukan"), _AKUN),
              **dict.fromkeys(("link", "linking", "connect", "connecting", "merge", "sync"), _ACCOUNT)}
MAX_ASK_WORDS = 14


@dataclass(frozen=True)
class Redeemed:
    """What sending a code did: `status` linked | unknown | expired | used | same; the merge when linked."""

    status: str
    record: ContactMerge | None = None
    asker_conversation_id: int | None = None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _mixed(code: str) -> bool:
    # Letters and digits both, so a word ("bagus-sekali") is never taken for a code.
    return any(c.isdigit() for c in code) and any(c.isalpha() for c in code)


def asks_for_code(text: str | None, command: str | None) -> bool:
    """True when the message asks for a link code (`/link`, "link account", "hubungkan akun")."""
    if command is not None:
        return command == "link"
    words = re.sub(r"[^\w\s]", " ", (text or "").lower()).split()
    if " ".join(words) in ASKS:
        return True
    # Typed in a sentence: "mau hubungkan akun telegram aku", "how do I link my LINE account?" -- a linking verb
    # with "akun"/"account" up to five words after it, in a short message ("tolong hubungkan ke admin" is not one).
    return len(words) <= MAX_ASK_WORDS and any(
        any(later in LINK_VERBS.get(word, ()) for later in words[i + 1:i + 6])
        for i, word in enumerate(words))


def code_in(text: str | None) -> str | None:
    """The link code a message consists of (normalised "K7MQ2PX9A"), or None."""
    found = _CODE.match(text or "")
    code = "".join(found.groups()).upper() if found else ""
    return code if _mixed(code) else None


def shown(code: str) -> str:
    """The code as the customer sees it: "K7M-Q2P-X9A"."""
    return "-".join(code[i:i + 3] for i in range(0, len(code), 3))


def new_code(*, session: Session, contact_id: int, conversation_id: int | None,
             now: datetime | None = None) -> tuple[str, datetime]:
    """A fresh code for the contact (normalised) and when it expires; their older unused codes stop working."""
    now = now or utcnow()
    session.execute(delete(AccountLinkCode).where(AccountLinkCode.contact_id == contact_id,
                                                  AccountLinkCode.used_at.is_(None)))
    code = ""
    while not _mixed(code):
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + timedelta(minutes=CODE_MINUTES)
    session.add(AccountLinkCode(contact_id=contact_id, conversation_id=conversation_id, code_hash=_hash(code),
                                expires_at=expires_at, created_at=now))
    session.flush()
    return code, expires_at


def telegram_link(username: str, code: str) -> str:
    """The Telegram deep link that sends `/start CODE` to the bot."""
    return f"https://t.me/{quote(username)}?start={code}"


def line_link(basic_id: str, code: str) -> str:
    """The LINE link that opens a chat with the account, the code typed in."""
    return f"https://line.me/R/oaMessage/{quote(basic_id)}/?{quote(code)}"


def redeem(*, session: Session, code: str, contact_id: int, now: datetime | None = None) -> Redeemed:
    """Merge the contact that sent `code` into the contact that asked for it (in the caller's transaction).

    The code's row is locked (a second sending of it waits, then finds it used).
    """
    now = now or utcnow()
    row = session.execute(select(AccountLinkCode).where(AccountLinkCode.code_hash == _hash(code.upper()))
                          .with_for_update().execution_options(populate_existing=True)).scalars().first()
    if row is None:
        return Redeemed("unknown")
    if row.used_at is not None:
        return Redeemed("used")
    if as_utc(row.expires_at) <= now:
        return Redeemed("expired")
    asker = merge.survivor_of(session=session, contact_id=row.contact_id)
    sender = merge.survivor_of(session=session, contact_id=contact_id)
    if asker is None or sender is None or asker.id == sender.id:
        return Redeemed("same")
    row.used_at = now
    session.add(row)
    record = merge.merge(session=session, survivor_id=asker.id, merged_id=sender.id, source="chat", now=now)
    return Redeemed("linked", record, row.conversation_id)
