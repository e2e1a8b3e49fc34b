"""Conversation episodes: each open period of a chat keeps its own first response and resolution times.

A customer message opens an episode when none is open; staff resolving the chat closes it; the
next customer message (or staff reopening the chat) starts a new one. The conversation caches
the current episode's times (`opened_at`, `first_response_at`, `resolved_at`) for the inbox;
only this module writes them, and the dashboard's figures are read from the episodes.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from crm.models import Conversation, ConversationEpisode


def open_episode(*, session: Session, conversation: Conversation, now: datetime) -> ConversationEpisode:
    """Start a new episode of the conversation now."""
    episode = ConversationEpisode(conversation_id=conversation.id, opened_at=now)
    conversation.opened_at, conversation.first_response_at, conversation.resolved_at = now, None, None
    session.add_all([episode, conversation])
    return episode


def needs_new_episode(conversation: Conversation) -> bool:
    """True when a customer message starts an episode: none was ever opened, or the last one was resolved."""
    return conversation.opened_at is None or conversation.status == "resolved"


def current(*, session: Session, conversation_id: int) -> ConversationEpisode | None:
    """The conversation's open (unresolved) episode, if any."""
    return session.exec(select(ConversationEpisode).where(
        ConversationEpisode.conversation_id == conversation_id, ConversationEpisode.resolved_at.is_(None))
        .order_by(ConversationEpisode.id.desc())).first()


def staff_replied(*, session: Session, conversation: Conversation, staff_user_id: int | None, now: datetime) -> None:
    """Record the first staff reply of the current episode (later replies change nothing)."""
    if conversation.first_response_at is not None:
        return
    conversation.first_response_at = now
    episode = current(session=session, conversation_id=conversation.id)
    if episode is not None and episode.first_response_at is None:
        episode.first_response_at, episode.responder_id = now, staff_user_id
        session.add(episode)


def resolve(*, session: Session, conversation: Conversation, staff_user_id: int | None, now: datetime) -> None:
    """Close the current episode (its resolution time is kept when the chat opens again)."""
    conversation.resolved_at = now
    episode = current(session=session, conversation_id=conversation.id)
    if episode is not None:
        episode.resolved_at, episode.resolver_id = now, staff_user_id
        session.add(episode)


def of_conversation(*, session: Session, conversation_id: int) -> list[ConversationEpisode]:
    """The conversation's episodes, oldest first (the open one last)."""
    return list(session.exec(select(ConversationEpisode).where(ConversationEpisode.conversation_id == conversation_id)
                             .order_by(ConversationEpisode.opened_at, ConversationEpisode.id)).all())


def keep_resolved(*, session: Session, conversation: Conversation, since: datetime | None) -> None:
    """A message that only answered the satisfaction survey (sent at `since`) leaves a resolved chat resolved:
    the episode it opened, with no staff reply yet, is taken back, so the earlier one stays the last."""
    episodes = of_conversation(session=session, conversation_id=conversation.id) if since is not None else []
    if len(episodes) < 2 or episodes[-2].resolved_at is None:
        return
    last = episodes[-1]
    if last.resolved_at is not None or last.first_response_at is not None or last.opened_at < since:
        return
    session.delete(last)
    previous = episodes[-2]
    conversation.opened_at, conversation.first_response_at, conversation.resolved_at = \
        previous.opened_at, previous.first_response_at, previous.resolved_at
    conversation.status, conversation.waiting_since, conversation.unread_count = "resolved", None, 0
    session.add(conversation)
