"""An imported member's phone number links to a chat account only when the customer says it is theirs.

A spreadsheet import (crm/contact_import.py) makes contacts with a phone and no chat account: the
shop's members, with their points, tags and birthday. When a chat customer gives the same number (in
an order, or typed alone), the bot asks once: "Nomor 0812-xxxx-5678 sudah terdaftar sebagai member
atas nama B***. Itu kakak?" (`offer`). Nothing merges until they answer yes (`answer`); a no is kept,
so that number is never asked about again for that contact.

On yes the chat contact is merged INTO the imported one (crm/merge.py): the member survives. The
survivor's profile wins in a merge, so the shop's own data (the name it typed, birthday, phone) stays
as imported, while the chat's identities, history, orders and points move over; and the id staff, a
POS or the next import of the same file know keeps working. The merge is a `ContactMerge` row like
any other (source "chat"), so staff can undo it from the contact page.

A phone number is weak proof (anyone may type one), so a member is offered only while it has no chat
account, and a yes to a member that got one meanwhile is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import exists, select
from sqlmodel import Session

from core.db import as_utc, utcnow
from core.phones import REGION, e164
from crm import merge
from crm.models import ChannelIdentity, Contact, ContactMerge, Conversation, PhoneClaim

# How long a question waits for its answer; later a "ya" (or a tap on its old button) is about something else.
ANSWER_WITHIN = timedelta(days=1)
STATE_KEY = "phone_claim"  # the conversation state's key while the chat waits for the answer: the claim's id
MASKED_WORDS = 2  # "Budi Santoso Wijaya" -> "B*** S***"


@dataclass(frozen=True)
class Offer:
    """A question to ask: which claim, and the member's number and name as the customer may see them."""

    claim_id: int
    phone: str  # "0812-xxxx-5678"
    name: str  # "B***"


@dataclass(frozen=True)
class Answered:
    """What an answer did: `status` yes (merged) | no | gone (asked too long ago, answered already, or the member
    has a chat account meanwhile)."""

    status: str
    record: ContactMerge | None = None


def masked_phone(phone: str) -> str:
    """The number as written at home, most digits hidden: "+6281234565678" -> "0812-xxxx-5678"."""
    national = phonenumbers.format_number(phonenumbers.parse(phone, REGION), phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(c for c in national if c.isdigit())
    return f"{digits[:4]}-xxxx-{digits[-4:]}"


def masked_name(name: str) -> str:
    """Each of the first words' initial: enough for the owner to recognise, too little for anyone else."""
    words = name.split()[:MASKED_WORDS]
    return " ".join(f"{word[0].upper()}***" for word in words) or "***"


def _member_with(session: Session, phone: str, contact_id: int) -> Contact | None:
    """The imported contact with this phone: live, not this one, and without any chat account yet."""
    has_account = exists().where(ChannelIdentity.contact_id == Contact.id)
    return session.execute(select(Contact).where(Contact.phone == phone, Contact.id != contact_id,
                                                 Contact.merged_into.is_(None), Contact.erased_at.is_(None),
                                                 ~has_account).order_by(Contact.id).limit(1)).scalars().first()


def askable(*, session: Session, contact_id: int, phone: str | None) -> bool:
    """True when giving `phone` should ask this contact whether they are the member with it (reads only)."""
    number = e164(phone) if phone else None
    if number is None or _member_with(session, number, contact_id) is None:
        return False
    return session.execute(select(PhoneClaim.id).where(PhoneClaim.contact_id == contact_id,
                                                       PhoneClaim.phone == number)).first() is None


def offer(*, session: Session, contact_id: int, phone: str | None, conversation: Conversation,
          now: datetime | None = None) -> Offer | None:
    """Record the question for this contact and number, once ever; None when there is nothing to ask.

    The chat waits for the answer in its state (`STATE_KEY`): the next message answers it if it is a yes or a no
    (handlers/phone_claim.py); anything else drops it, unanswered (then it is not asked again either).
    """
    now = now or utcnow()
    number = e164(phone) if phone else None
    if number is None or not askable(session=session, contact_id=contact_id, phone=number):
        return None
    member = _member_with(session, number, contact_id)
    claim = PhoneClaim(contact_id=contact_id, member_id=member.id, phone=number, conversation_id=conversation.id,
                       asked_at=now)
    session.add(claim)
    session.flush()
    conversation.state, conversation.state_updated_at = {**(conversation.state or {}), STATE_KEY: claim.id}, now
    session.add(conversation)
    return Offer(claim.id, masked_phone(number), masked_name(member.display_name))


def answer(*, session: Session, claim_id: int, contact_id: int, yes: bool, now: datetime | None = None) -> Answered:
    """The customer's answer, in the caller's transaction: yes merges their contact into the member, no is kept.

    The claim's row is locked, so the same answer twice (a double tap) merges once.
    """
    now = now or utcnow()
    claim = session.execute(select(PhoneClaim).where(PhoneClaim.id == claim_id).with_for_update()
                            .execution_options(populate_existing=True)).scalars().first()
    if claim is None or claim.contact_id != contact_id or claim.status != "asked" \
            or as_utc(claim.asked_at) < now - ANSWER_WITHIN:
        return Answered("gone")
    claim.answered_at = now
    if not yes:
        claim.status = "no"
        session.add(claim)
        session.flush()
        return Answered("no")
    member = merge.survivor_of(session=session, contact_id=claim.member_id)
    person = merge.survivor_of(session=session, contact_id=contact_id)
    taken = member is None or member.id != claim.member_id or session.execute(
        select(ChannelIdentity.id).where(ChannelIdentity.contact_id == member.id)).first() is not None
    if taken or person is None or person.id == member.id:
        claim.status = "taken"  # not asked again: staff can still merge them by hand
        session.add(claim)
        session.flush()
        return Answered("gone")
    record = merge.merge(session=session, survivor_id=member.id, merged_id=person.id, source="chat", now=now)
    claim = session.get(PhoneClaim, claim_id)  # the merge expired the session's objects
    claim.status, claim.merge_id = "yes", record.id
    session.add(claim)
    session.flush()
    return Answered("yes", record)
