"""`sapa demo` gives `make run` a populated inbox: staff of each role, canned replies, states."""

from __future__ import annotations

from sqlmodel import Session, func, select

from crm import demo
from core.db import get_engine, session_scope
from crm.models import CannedResponse, Conversation, FollowUpTask, Note, StaffUser


def test_demo_inbox_is_populated_and_idempotent(sqlite_url):
    engine = get_engine(sqlite_url)
    for _ in range(2):
        with session_scope(engine) as s:
            demo.load(s)
    with Session(engine) as s:
        roles = {u.role for u in s.exec(select(StaffUser)).all()}
        assert roles == {"admin", "agent", "marketer"}
        assert s.exec(select(func.count(StaffUser.id))).one() == 3
        assert s.exec(select(func.count(CannedResponse.id))).one() == len(demo.CANNED)
        statuses = {c.status for c in s.exec(select(Conversation)).all()}
        assert {"open", "pending", "resolved"} <= statuses
        assert s.exec(select(Note)).first() is not None
        assert s.exec(select(FollowUpTask).where(FollowUpTask.source == "order_delivered")).first() is not None
