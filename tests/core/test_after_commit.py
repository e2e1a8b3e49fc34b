"""Notices after commit: handed to their reaction once the transaction commits, once per value, never after a rollback."""

from __future__ import annotations

import pytest
from sqlmodel import Session, create_engine

from core import after_commit


@pytest.fixture
def seen():
    got: list = []
    after_commit.react("test_kind", got.append)
    yield got
    after_commit.react("test_kind", None)


def test_a_committed_notice_reaches_its_reaction_once(seen):
    with Session(create_engine("sqlite://")) as session:
        with session.begin():
            after_commit.notify_after_commit(session, "test_kind", 7)
            after_commit.notify_after_commit(session, "test_kind", 7)
            after_commit.notify_after_commit(session, "other_kind", 8)  # nobody reacts: dropped quietly
            assert seen == []
        assert seen == [7]


def test_a_rolled_back_notice_is_forgotten(seen):
    with Session(create_engine("sqlite://")) as session:
        session.begin()
        after_commit.notify_after_commit(session, "test_kind", 7)
        session.rollback()
        with session.begin():
            pass
    assert seen == []
