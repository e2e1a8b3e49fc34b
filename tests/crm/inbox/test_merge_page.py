"""Merging two contacts from a contact's page: search, preview, confirm, undo; bad input; who may."""

from __future__ import annotations

from sqlmodel import select

from crm.models import AuditLog, ChannelIdentity, Contact, ContactMerge
from tests.broadcasts.helpers import seed


def _pair(runtime) -> tuple[int, int]:
    from core.db import session_scope
    survivor, other = seed(runtime.engine, line=1, telegram=1)
    with session_scope(runtime.engine) as s:
        s.get(Contact, survivor).display_name = "Dewi Lestari"
        s.get(Contact, other).display_name = "Dewi (Telegram)"
        s.get(Contact, other).phone = "+628123456789"
    return survivor, other


def test_search_preview_merge_and_undo(as_role, runtime, session):
    agent = as_role("agent")
    survivor, other = _pair(runtime)
    page = agent.get(f"/inbox/contacts/{survivor}").get_data(as_text=True)
    assert f"/inbox/contacts/{survivor}/merge" in page and "Gabungkan dengan" in page
    found = agent.get(f"/inbox/contacts/{survivor}/merge?q=Dewi").get_data(as_text=True)
    assert "Dewi (Telegram)" in found and f"other_id={other}" in found
    preview = agent.get(f"/inbox/contacts/{survivor}/merge?q=Dewi&other_id={other}").get_data(as_text=True)
    assert 'id="merge-preview"' in preview and "+628123456789" in preview and 'id="merge-confirm"' in preview

    done = agent.post(f"/inbox/contacts/{survivor}/merge", {"other_id": str(other)})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/inbox/contacts/{survivor}")
    session.expire_all()
    assert {i.contact_id for i in session.exec(select(ChannelIdentity)).all()} == {survivor}
    record = session.exec(select(ContactMerge)).one()
    assert record.staff_user_id == agent.user_id and record.source == "staff"
    assert session.exec(select(AuditLog).where(AuditLog.action == "contact.merge")).one().target_id == survivor
    assert agent.get(f"/inbox/contacts/{other}").headers["Location"].endswith(f"/inbox/contacts/{survivor}")
    page = agent.get(f"/inbox/contacts/{survivor}").get_data(as_text=True)
    assert f'id="undo-merge-{record.id}"' in page

    undone = agent.post(f"/inbox/merges/{record.id}/undo")
    assert undone.status_code == 303
    session.expire_all()
    assert session.get(Contact, other).merged_into is None
    assert session.exec(select(AuditLog).where(AuditLog.action == "contact.merge_undo")).one()
    assert f'id="undo-merge-{record.id}"' not in agent.get(f"/inbox/contacts/{survivor}").get_data(as_text=True)


def test_bad_input_says_why_and_merges_nothing(as_role, runtime, session):
    agent = as_role("agent")
    survivor, other = _pair(runtime)
    for data, words in (({"other_id": "abc"}, "tidak ditemukan"), ({"other_id": str(survivor)}, "dirinya sendiri"),
                        ({"other_id": "99999"}, "tidak ditemukan")):
        response = agent.post(f"/inbox/contacts/{survivor}/merge", data)
        assert response.status_code == 400 and words in response.get_data(as_text=True), data
    preview = agent.get(f"/inbox/contacts/{survivor}/merge?other_id={survivor}")
    assert preview.status_code == 400 and 'id="merge-confirm"' not in preview.get_data(as_text=True)
    assert session.exec(select(ContactMerge)).all() == []


def test_marketers_may_not_merge(as_role, runtime, session):
    marketer = as_role("marketer")
    survivor, other = _pair(runtime)
    assert "merge-link" not in marketer.get(f"/inbox/contacts/{survivor}").get_data(as_text=True)
    assert marketer.get(f"/inbox/contacts/{survivor}/merge").status_code == 403
    assert marketer.post(f"/inbox/contacts/{survivor}/merge", {"other_id": str(other)}).status_code == 403
    assert session.exec(select(ContactMerge)).all() == []
