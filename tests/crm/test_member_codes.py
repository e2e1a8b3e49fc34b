"""Member codes: short, without look-alike characters, random (not the contact id), unique, one per contact and kept;
found in any case or spacing; a merged-away contact's code finds the survivor; erasure removes it."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import get_engine, session_scope
from crm import data_rights, member_codes, merge
from crm.member_codes import MemberCode
from crm.models import Contact

LOOK_ALIKES = set("0O1IL")


def _contacts(engine, count: int) -> list[int]:
    with session_scope(engine) as session:
        rows = [Contact(display_name=f"Pelanggan {i}") for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_codes_are_short_unambiguous_mixed_and_random():
    codes = [member_codes.new_code() for _ in range(5000)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) == member_codes.CODE_LENGTH and not LOOK_ALIKES & set(code)
        assert any(c.isdigit() for c in code) and any(c.isalpha() for c in code)  # never a word or a name
        assert member_codes.normalise(code) == code


@pytest.mark.parametrize("typed", ["susanti", "1234567", "ABCDEFG", "K7MQ2P", "K7MQ2PXX", "K0MQ2PX", "POIN-7JXQX9", ""])
def test_what_cannot_be_a_code_is_not_one(typed):
    assert member_codes.normalise(typed) is None


def test_each_contact_gets_one_code_kept_and_unique(database_url):
    engine = get_engine(database_url)
    ids = _contacts(engine, 50)
    with session_scope(engine) as session:
        first = {contact_id: member_codes.ensure_code(session=session, contact_id=contact_id) for contact_id in ids}
    with session_scope(engine) as session:
        again = {contact_id: member_codes.ensure_code(session=session, contact_id=contact_id) for contact_id in ids}
    assert first == again and len(set(first.values())) == len(ids)
    with Session(engine) as session:
        assert len(session.exec(select(MemberCode)).all()) == len(ids)
    with pytest.raises(IntegrityError), session_scope(engine) as session:  # the database refuses a code twice
        session.add(MemberCode(contact_id=_contacts(engine, 1)[0], code=first[ids[0]]))


def test_a_code_is_found_in_any_case_and_spacing(database_url):
    engine = get_engine(database_url)
    [contact_id] = _contacts(engine, 1)
    with session_scope(engine) as session:
        code = member_codes.ensure_code(session=session, contact_id=contact_id)
    with Session(engine) as session:
        for typed in (code, code.lower(), f" {code[:3]} {code[3:]} ", f"{code[:4]}-{code[4:]}"):
            assert member_codes.find_contact(session=session, code=typed).id == contact_id
        assert member_codes.find_contact(session=session, code=str(contact_id)) is None


def test_a_merged_contacts_code_finds_the_survivor_and_erasure_removes_it(database_url):
    engine = get_engine(database_url)
    survivor_id, merged_id = _contacts(engine, 2)
    with session_scope(engine) as session:
        old = member_codes.ensure_code(session=session, contact_id=merged_id)
        merge_id = merge.merge(session=session, survivor_id=survivor_id, merged_id=merged_id).id
    with Session(engine) as session:
        assert member_codes.find_contact(session=session, code=old).id == survivor_id
    with session_scope(engine) as session:
        merge.undo(session=session, merge_id=merge_id)
    with Session(engine) as session:
        assert member_codes.find_contact(session=session, code=old).id == merged_id
    with session_scope(engine) as session:
        data_rights.erase_contact(session=session, contact_id=merged_id)
    with Session(engine) as session:
        assert member_codes.find_contact(session=session, code=old) is None
        assert session.exec(select(MemberCode)).all() == []
