"""Outbound batches to send once the transaction that wrote them commits, never for a rolled-back one.

A module below `bot/` writes the rows and calls `send_after_commit(session, batch_id)`; the
process's queue (set by `bot/tasks.py` with `use_sender`) gets the batch ids right after the
commit. Rows whose batch is never handed over (no sender set, the queue down) stay queued and
the clock's sweep sends them.

Other reactions to a committed change work the same way: `notify_after_commit(session, kind, value)`
below bot/, and `react(kind, handler)` where the queue is known (e.g. an order changed → its
contact's value is recomputed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "sapa.send_after_commit"
_sender: Callable[[str], None] | None = None
_NOTICES = "sapa.notify_after_commit"
_reactions: dict[str, Callable[[Any], None]] = {}


def use_sender(send: Callable[[str], None] | None) -> None:
    """Hand committed batches to `send` (the queue's enqueue) in this process."""
    global _sender
    _sender = send


def send_after_commit(session: Session, batch_id: str) -> None:
    """Send `batch_id` once this session's transaction commits."""
    session.info.setdefault(_KEY, []).append(batch_id)


def react(kind: str, handler: Callable[[Any], None] | None) -> None:
    """Call `handler(value)` in this process for each committed notice of `kind` (None: stop)."""
    if handler is None:
        _reactions.pop(kind, None)
    else:
        _reactions[kind] = handler


def notify_after_commit(session: Session, kind: str, value: Any) -> None:
    """Tell the `kind` reaction about `value` once this session's transaction commits (once per value)."""
    notices = session.info.setdefault(_NOTICES, [])
    if (kind, value) not in notices:
        notices.append((kind, value))


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction is not committed yet
    for kind, value in session.info.pop(_NOTICES, []):
        handler = _reactions.get(kind)
        if handler is None:
            continue
        try:
            handler(value)
        except Exception:  # noqa: BLE001 - the change is committed; the reaction's own safety net catches up
            log.exception("could not react to %s %r after commit", kind, value)
    batch_ids = session.info.pop(_KEY, [])
    for batch_id in batch_ids:
        if _sender is None:
            log.info("batch %s left to the sweep (no sender in this process)", batch_id)
            continue
        try:
            _sender(batch_id)
        except Exception:  # noqa: BLE001 - the rows are committed and queued: the sweep sends them
            log.exception("could not queue batch %s; the sweep will send it", batch_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    # Only a rollback of the whole transaction: its rows are gone, so are the batches.
    if not session.in_nested_transaction():
        session.info.pop(_KEY, None)
        session.info.pop(_NOTICES, None)
