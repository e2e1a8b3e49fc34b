"""Outbound batches to send once the transaction that wrote them commits, never for a rolled-back one.

A module below `bot/` writes the rows and calls `send_after_commit(session, batch_id)`; the
process's queue (set by `bot/tasks.py` with `use_sender`) gets the batch ids right after the
commit. Rows whose batch is never handed over (no sender set, the queue down) stay queued and
the clock's sweep sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "sapa.send_after_commit"
_sender: Callable[[str], None] | None = None


def use_sender(send: Callable[[str], None] | None) -> None:
    """Hand committed batches to `send` (the queue's enqueue) in this process."""
    global _sender
    _sender = send


def send_after_commit(session: Session, batch_id: str) -> None:
    """Send `batch_id` once this session's transaction commits."""
    session.info.setdefault(_KEY, []).append(batch_id)


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction is not committed yet
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
