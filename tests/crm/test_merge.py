"""Merging two contacts into one: every row that points at a contact moves, fields combine, undo, concurrency."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import SQLModel

from core.db import session_scope, utcnow
from crm import merge
from crm.models import ChannelIdentity, Contact, ContactMerge, Message
from tests.broadcasts.helpers import seed


@pytest.fixture
def engine(runtime):
    return runtime.engine


def _insert(session, table: str, **values) -> int | None:
    result = session.execute(insert(SQLModel.metadata.tables[table]).values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def _one_row_everywhere(session, contact_id: int, staff_id: int, parents: dict) -> None:
    """A row pointing at `contact_id` in every table that has a contact column (what each needs, filled in)."""
    now = utcnow()
    conversation = _insert(session, "conversation", channel="simulator", external_chat_id=f"chat-{contact_id}",
                           kind="direct", contact_id=contact_id, labels=[], state={}, bot_active=True, bot_member=True,
                           unread_count=0, created_at=now)
    _insert(session, "conversationmember", conversation_id=parents["group"], contact_id=contact_id, joined_at=now)
    _insert(session, "message", conversation_id=conversation, contact_id=contact_id, channel="simulator",
            direction="in", sender="customer", type="text", text=f"hi from {contact_id}", payload={},
            status="received", attempts=0, hidden=False, seq=0, created_at=now)
    order = _insert(session, "order", contact_id=contact_id, status="new", total=1000, created_at=now)
    _insert(session, "note", contact_id=contact_id, staff_user_id=staff_id, text="note", created_at=now)
    _insert(session, "complaint", contact_id=contact_id, sla_due_at=now, created_at=now)
    _insert(session, "csatsurvey", contact_id=contact_id, trigger="resolved", sent_at=now)
    _insert(session, "followuptask", contact_id=contact_id, title="call", due_on=date(2027, 1, 1), created_at=now)
    _insert(session, "staffalert", contact_id=contact_id, kind="handoff", created_at=now)
    _insert(session, "staffchatlink", staff_user_id=staff_id, channel=f"ch{contact_id}", external_id="x",
            contact_id=contact_id, linked_at=now)
    _insert(session, "contactimportrow", import_id=parents["import"], row=contact_id, contact_id=contact_id)
    _insert(session, "promotionredemption", promotion_id=parents["promotion"], contact_id=contact_id, order_id=order,
            once_contact_id=contact_id, at=now)
    _insert(session, "delivery", campaign_id=parents["campaign"], run_id=parents["run"], contact_id=contact_id,
            channel="line", external_id="x")
    _insert(session, "channelconsent", contact_id=contact_id, channel="line", opted_out=True, changed_at=now)
    _insert(session, "campaignclick", campaign_id=parents["campaign"], contact_id=contact_id, clicked_at=now)
    _insert(session, "accountlinkcode", contact_id=contact_id, code_hash=f"h{contact_id}", expires_at=now,
            created_at=now)
    _insert(session, "consentchange", contact_id=contact_id, opt_in=False, source="chat", actor="customer", at=now)
    _insert(session, "pointsentry", contact_id=contact_id, kind="adjust", points=10, reason="r", by="staff", at=now)
    _insert(session, "stampentry", contact_id=contact_id, kind="earn", stamps=2, by="staff", at=now)
    _insert(session, "countersubmission", key=f"counter-form-key-{contact_id:04d}", action="adjust",
            contact_id=contact_id, at=now)


def _parents(session, staff_id: int) -> dict:
    now = utcnow()
    campaign = _insert(session, "campaign", name="c", rules={}, channels=[], message={}, variants=[], ab_test={},
                       created_at=now)
    return {
        "group": _insert(session, "conversation", channel="line", external_chat_id="group-1", kind="group", labels=[],
                         state={}, bot_active=True, bot_member=True, unread_count=0, created_at=now),
        "import": _insert(session, "contactimport", key="k", started_at=now),
        "promotion": _insert(session, "promotion", title="p", starts_at=now, ends_at=now + timedelta(days=1), audience={},
                             created_at=now),
        "campaign": campaign,
        "run": _insert(session, "campaignrun", campaign_id=campaign, run_key="now"),
    }


def _staff(session) -> int:
    from crm.staff import create_user
    return create_user(session=session, email="lead@shop.test", password="correct-horse-battery", role="admin").id


def _count(session, table, column, contact_id) -> int:
    col = SQLModel.metadata.tables[table].c[column]
    return session.execute(select(func.count()).where(col == contact_id)).scalar_one()


def test_every_column_pointing_at_a_contact_has_a_merge_rule():
    """A table added with a contact column fails here until crm/merge.py says what a merge does with it."""
    columns = {(table.name, column) for table, column in merge.contact_columns()}
    assert columns == set(merge.RULES), f"without a rule: {sorted(columns - set(merge.RULES))}; " \
                                        f"gone: {sorted(set(merge.RULES) - columns)}"


def test_a_merge_moves_every_row_and_undo_moves_them_back(engine):
    survivor, merged = seed(engine, line=1, telegram=1)
    with session_scope(engine) as s:
        staff_id = _staff(s)
        parents = _parents(s, staff_id)
        _one_row_everywhere(s, merged, staff_id, parents)
    moved = [(t.name, c) for t, c in merge.contact_columns() if merge.RULES[(t.name, c)] is not None]
    with session_scope(engine) as s:
        assert all(_count(s, t, c, merged) == 1 for t, c in moved if (t, c) != ("channelidentity", "contact_id"))
        record = merge.merge(session=s, survivor_id=survivor, merged_id=merged)
        merge_id = record.id
    with session_scope(engine) as s:
        left = {(t, c): _count(s, t, c, merged) for t, c in moved}
        assert not any(left.values()), {k: v for k, v in left.items() if v}
        assert s.get(Contact, merged).merged_into == survivor
        assert {i.channel for i in s.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == survivor))
                .scalars()} == {"line", "telegram"}
        assert merge.survivor_of(session=s, contact_id=merged).id == survivor
        merge.undo(session=s, merge_id=merge_id)
    with session_scope(engine) as s:
        back = {(t, c): _count(s, t, c, merged) for t, c in moved}
        assert all(count == 1 for count in back.values()), back
        assert s.get(Contact, merged).merged_into is None
        assert s.get(ContactMerge, merge_id).undone_at is not None
        with pytest.raises(merge.MergeError) as refused:
            merge.undo(session=s, merge_id=merge_id)
        assert refused.value.code == "undone"


def test_rows_of_a_unique_key_the_survivor_holds_stay_with_the_tombstone(engine):
    survivor, merged = seed(engine, line=2)
    with session_scope(engine) as s:
        staff_id = _staff(s)
        parents = _parents(s, staff_id)
        for contact_id in (survivor, merged):  # both in one group, both opted out on LINE, both used a one-off voucher
            _insert(s, "conversationmember", conversation_id=parents["group"], contact_id=contact_id, joined_at=utcnow())
            _insert(s, "channelconsent", contact_id=contact_id, channel="line", opted_out=True, changed_at=utcnow())
        merge.merge(session=s, survivor_id=survivor, merged_id=merged)
    with session_scope(engine) as s:
        assert _count(s, "conversationmember", "contact_id", survivor) == 1
        assert _count(s, "channelconsent", "contact_id", survivor) == 1


def test_fields_combine_the_survivor_wins_and_undo_restores_what_nobody_changed(engine):
    survivor, merged = seed(engine, line=1, telegram=1)
    earlier = utcnow() - timedelta(days=30)
    with session_scope(engine) as s:
        a, b = s.get(Contact, survivor), s.get(Contact, merged)
        a.display_name, a.phone, a.tags, a.attributes = "Dewi", None, ["vip"], {"city": "Bandung"}
        b.display_name, b.phone, b.email, b.birthday = "Dewi L.", "+628123456789", "dewi@example.com", date(1990, 5, 1)
        b.tags, b.attributes, b.marketing_consent, b.created_at = ["kopi", "vip"], {"city": "Jakarta", "size": "M"}, \
            False, earlier
        s.add_all([a, b])
    with session_scope(engine) as s:
        plan = merge.preview(session=s, survivor_id=survivor, merged_id=merged)
        assert plan.counts["identities"] == 1 and len(plan.identities) == 2
        assert ("phone", None, "+628123456789", "+628123456789") in plan.fields
        merge_id = merge.merge(session=s, survivor_id=survivor, merged_id=merged).id
    with session_scope(engine) as s:
        a = s.get(Contact, survivor)
        assert (a.display_name, a.phone, a.email, a.birthday) == ("Dewi", "+628123456789", "dewi@example.com",
                                                                 date(1990, 5, 1))
        assert a.tags == ["kopi", "vip"] and a.attributes == {"city": "Bandung", "size": "M"}
        assert a.marketing_consent is False  # a "no" on either account stands
        assert abs((a.created_at.replace(tzinfo=None) - earlier.replace(tzinfo=None)).total_seconds()) < 1
        a.email = "dewi@new.example"  # staff changed it after the merge: the undo keeps it
        s.add(a)
    with session_scope(engine) as s:
        merge.undo(session=s, merge_id=merge_id)
    with session_scope(engine) as s:
        a = s.get(Contact, survivor)
        assert (a.phone, a.email, a.birthday, a.tags, a.attributes, a.marketing_consent) == (
            None, "dewi@new.example", None, ["vip"], {"city": "Bandung"}, True)
        assert s.get(Contact, merged).phone == "+628123456789"  # the tombstone kept its own


def test_refused_merges(engine):
    a, b, c = seed(engine, line=3)
    with session_scope(engine) as s:
        for survivor, merged, code in ((a, a, "same"), (a, 999_999, "missing")):
            with pytest.raises(merge.MergeError) as refused:
                merge.merge(session=s, survivor_id=survivor, merged_id=merged)
            assert refused.value.code == code
        merge_id = merge.merge(session=s, survivor_id=a, merged_id=b).id
    with session_scope(engine) as s:
        for survivor, merged in ((c, b), (b, c)):
            with pytest.raises(merge.MergeError) as refused:
                merge.merge(session=s, survivor_id=survivor, merged_id=merged)
            assert refused.value.code == "merged"
        merge.merge(session=s, survivor_id=c, merged_id=a)  # the survivor is merged on: its merge cannot be undone
    with session_scope(engine) as s:
        with pytest.raises(merge.MergeError) as refused:
            merge.undo(session=s, merge_id=merge_id)
        assert refused.value.code == "superseded"
        assert merge.survivor_of(session=s, contact_id=b).id == c


def test_messages_that_reach_the_survivor_after_the_merge_stay_with_it_on_undo(engine):
    survivor, merged = seed(engine, line=1, telegram=1)
    with session_scope(engine) as s:
        merge_id = merge.merge(session=s, survivor_id=survivor, merged_id=merged).id
    from core import messages as m
    from crm import history
    with session_scope(engine) as s:
        tg = s.execute(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).scalars().one()
        inbound = m.Inbound(channel="telegram", kind=m.MESSAGE, chat_id=tg.external_id, user_id=tg.external_id,
                            message_type="text", text="after the merge")
        recorded = history.record_inbound(session=s, inbound=inbound)
        assert recorded.contact.id == survivor
    with session_scope(engine) as s:
        merge.undo(session=s, merge_id=merge_id)
    with session_scope(engine) as s:
        row = s.execute(select(Message).where(Message.text == "after the merge")).scalars().one()
        assert row.contact_id == survivor
        tg = s.execute(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).scalars().one()
        assert tg.contact_id == merged  # the account itself went back


def _together(*steps) -> list:
    """Run the steps in threads started at once; what each returned (or the code of its MergeError)."""
    results, start = {}, threading.Barrier(len(steps))

    def run(index, step):
        start.wait()
        try:
            results[index] = step()
        except merge.MergeError as exc:
            results[index] = exc.code

    threads = [threading.Thread(target=run, args=(i, step)) for i, step in enumerate(steps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return [results.get(i) for i in range(len(steps))]


def test_two_merges_of_the_same_pair_at_once_make_one(engine):
    survivor, merged = seed(engine, line=1, telegram=1)

    def merge_slowly():
        with session_scope(engine) as s:
            merge.merge(session=s, survivor_id=survivor, merged_id=merged)
            time.sleep(0.3)  # hold the locks while the other one tries
        return "ok"

    assert sorted(_together(merge_slowly, merge_slowly)) == ["merged", "ok"]
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(ContactMerge)).scalar_one() == 1


def _inbound_for(engine, contact_id: int, text: str):
    from core import messages as m
    with session_scope(engine) as s:
        identity = s.execute(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id)).scalars().one()
    return m.Inbound(channel=identity.channel, kind=m.MESSAGE, chat_id=identity.external_id,
                     user_id=identity.external_id, message_type="text", text=text)


@pytest.mark.parametrize("first", ["merge", "message"])
def test_a_message_arriving_for_the_merged_contact_during_the_merge_ends_with_the_survivor(engine, first):
    from crm import history
    survivor, merged = seed(engine, line=1, telegram=1)
    inbound = _inbound_for(engine, merged, "kak, pesananku mana?")

    def merge_step():
        if first == "message":
            time.sleep(0.1)
        with session_scope(engine) as s:
            merge.merge(session=s, survivor_id=survivor, merged_id=merged)
            time.sleep(0.3 if first == "merge" else 0)
        return "merged"

    def message_step():
        if first == "merge":
            time.sleep(0.1)
        with session_scope(engine) as s:
            history.record_inbound(session=s, inbound=inbound)
            time.sleep(0.3 if first == "message" else 0)
        return "recorded"

    assert _together(merge_step, message_step) == ["merged", "recorded"]
    with session_scope(engine) as s:
        row = s.execute(select(Message).where(Message.text == "kak, pesananku mana?")).scalars().one()
        assert row.contact_id == survivor


def test_a_merged_away_contact_is_in_no_audience_or_search(engine):
    from broadcasts import segments
    from crm.contacts import search_contacts
    survivor, merged = seed(engine, line=1, telegram=1, display_name="Dewi")
    with session_scope(engine) as s:
        assert segments.count(session=s, rules=None) == 2
        merge.merge(session=s, survivor_id=survivor, merged_id=merged)
    with session_scope(engine) as s:
        assert segments.count(session=s, rules=None) == 1
        assert segments.count(session=s, rules={"all": [{"field": "channel", "op": "eq", "value": "telegram"}]}) == 1
        assert [c.id for c in search_contacts(session=s, q="Dewi")] == [survivor]


def test_one_link_code_sent_from_two_accounts_at_once_links_one(engine):
    from crm import account_links
    asker, first, second = seed(engine, line=1, telegram=2)
    with session_scope(engine) as s:
        code, _ = account_links.new_code(session=s, contact_id=asker, conversation_id=None)

    def send_from(contact_id):
        def step():
            with session_scope(engine) as s:
                status = account_links.redeem(session=s, code=code, contact_id=contact_id).status
                time.sleep(0.2)
            return status
        return step

    assert sorted(_together(send_from(first), send_from(second))) == ["linked", "used"]
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(ContactMerge)).scalar_one() == 1


def test_a_merge_adds_the_points_balances_and_undo_splits_them_again(engine):
    from crm import loyalty

    survivor, merged = seed(engine, line=1, telegram=1)
    with session_scope(engine) as s:
        loyalty.adjust(session=s, contact_id=survivor, points=30, reason="welcome", by="staff:1")
        loyalty.adjust(session=s, contact_id=merged, points=45, reason="welcome", by="staff:1")
    with session_scope(engine) as s:
        merge_id = merge.merge(session=s, survivor_id=survivor, merged_id=merged).id
    with session_scope(engine) as s:
        assert loyalty.balance(session=s, contact_id=survivor) == 75
        merge.undo(session=s, merge_id=merge_id)
    with session_scope(engine) as s:
        assert (loyalty.balance(session=s, contact_id=survivor), loyalty.balance(session=s, contact_id=merged)) == (30, 45)
