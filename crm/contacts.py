"""Contacts and their channel identities, found-or-created idempotently."""

from __future__ import annotations

from sqlalchemy import and_, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from core.db import utcnow
from crm.models import ChannelIdentity, Contact, Conversation, ConversationMember
from crm.search_index import where_contains


# Built once (they run for every event): a statement object caches its compiled form.
_IDENTITY = select(ChannelIdentity).where(ChannelIdentity.channel == bindparam("channel"),
                                          ChannelIdentity.external_id == bindparam("external_id"))
# Recording an event reads its identity with a share lock (PostgreSQL; SQLite has its write lock): a merge
# moving the identity to another contact waits for the event to commit, or the event for the merge (crm/merge.py).
_IDENTITY_SHARED = _IDENTITY.with_for_update(read=True)
_CONVERSATION = select(Conversation).where(Conversation.channel == bindparam("channel"),
                                           Conversation.external_chat_id == bindparam("chat_id"))


def find_identity(*, session: Session, channel: str, external_id: str, shared: bool = False) -> ChannelIdentity | None:
    """The identity of `external_id` on `channel`, if known (`shared`: share-locked until the commit)."""
    statement = _IDENTITY_SHARED if shared else _IDENTITY
    return session.exec(statement, params={"channel": channel, "external_id": external_id}).first()


def get_or_create_identity(
    *, session: Session, channel: str, external_id: str, display_name: str | None = None,
    username: str | None = None, language: str | None = None,
) -> tuple[ChannelIdentity, bool]:
    """The identity (with its contact) for a channel account, created on first contact.

    Safe under concurrent delivery: two workers creating the same identity race on the
    unique key; the loser rolls back its savepoint (contact included) and reads the winner's.
    """
    identity = find_identity(session=session, channel=channel, external_id=external_id, shared=True)
    if identity is not None:
        return identity, False
    try:
        with session.begin_nested():
            contact = Contact(display_name=display_name or "", language=language)
            session.add(contact)
            session.flush()
            identity = ChannelIdentity(
                contact_id=contact.id, channel=channel, external_id=external_id,
                display_name=display_name or "", username=username, language=language,
            )
            session.add(identity)
            session.flush()
        return identity, True
    except IntegrityError:
        identity = find_identity(session=session, channel=channel, external_id=external_id)
        if identity is None:  # pragma: no cover - the unique key guarantees a winner
            raise
        return identity, False


def get_or_create_conversation(
    *, session: Session, channel: str, chat_id: str, kind: str, contact_id: int | None,
) -> Conversation:
    """The conversation for one chat (a 1:1 chat, a group or a room), created on first use."""
    params = {"channel": channel, "chat_id": chat_id}
    conversation = session.exec(_CONVERSATION, params=params).first()
    if conversation is not None:
        return conversation
    try:
        with session.begin_nested():
            conversation = Conversation(channel=channel, external_chat_id=chat_id, kind=kind,
                                        contact_id=contact_id if kind == "direct" else None)
            session.add(conversation)
            session.flush()
        return conversation
    except IntegrityError:
        return session.exec(_CONVERSATION, params=params).one()


def add_member(*, session: Session, conversation_id: int, contact_id: int) -> None:
    """Record that a contact is (again) a member of a group conversation."""
    member = session.get(ConversationMember, (conversation_id, contact_id))
    if member is None:
        try:
            with session.begin_nested():
                session.add(ConversationMember(conversation_id=conversation_id, contact_id=contact_id))
                session.flush()
        except IntegrityError:
            pass
    elif member.left_at is not None:
        member.left_at = None
        member.joined_at = utcnow()


def remove_member(*, session: Session, conversation_id: int, contact_id: int) -> None:
    """Record that a contact left a group conversation."""
    member = session.get(ConversationMember, (conversation_id, contact_id))
    if member is not None and member.left_at is None:
        member.left_at = utcnow()


def set_blocked(*, session: Session, identity: ChannelIdentity, blocked: bool) -> None:
    """Mark a channel account blocked/unblocked; the contact is blocked when all its accounts are."""
    identity.blocked = blocked
    identity.blocked_at = utcnow() if blocked else None
    session.add(identity)
    session.flush()
    contact = session.get(Contact, identity.contact_id)
    identities = session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact.id)).all()
    contact.status = "blocked" if identities and all(item.blocked for item in identities) else "active"
    session.add(contact)


def search_condition(*, session: Session, q: str | None = None, channel: str | None = None) -> ColumnElement:
    """The condition on `contact` of a name/phone/identity search and a channel; merged-away contacts never match."""
    condition = Contact.merged_into.is_(None)
    if channel:
        condition = and_(condition, Contact.id.in_(select(ChannelIdentity.contact_id)
                                                   .where(ChannelIdentity.channel == channel)))
    if q:
        # The name through its search index (crm.search_index). The phone and the chat id have none and are read row
        # by row, so only when what was typed could be one: three digits for a phone, a word with a digit for an id.
        # `%` and `_` typed in a search are the characters themselves, not wildcards.
        matches = Contact.id.in_(where_contains(select(Contact.id), session=session, column=Contact.display_name, q=q))
        if sum(character.isdigit() for character in q) >= 3:
            matches = matches | Contact.phone.icontains(q, autoescape=True)
        if any(character.isdigit() for character in q) and len(q.split()) == 1:
            matches = matches | Contact.id.in_(select(ChannelIdentity.contact_id)
                                               .where(ChannelIdentity.external_id.icontains(q, autoescape=True)))
        condition = and_(condition, matches)
    return condition


def search_contacts(*, session: Session, q: str | None = None, channel: str | None = None, limit: int = 50) -> list[Contact]:
    """Contacts matching a name/phone/identity search and channel, most recently seen first."""
    query = select(Contact).where(search_condition(session=session, q=q, channel=channel))
    query = query.order_by(Contact.last_seen_at.desc().nulls_last(), Contact.id.desc()).limit(limit)
    return list(session.exec(query).all())


def identities_of(*, session: Session, contact_ids: list[int]) -> dict[int, list[ChannelIdentity]]:
    """Identities of several contacts in one query, keyed by contact id."""
    result: dict[int, list[ChannelIdentity]] = {contact_id: [] for contact_id in contact_ids}
    if contact_ids:
        rows = session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id.in_(contact_ids))
                            .order_by(ChannelIdentity.id)).all()
        for row in rows:
            result[row.contact_id].append(row)
    return result
