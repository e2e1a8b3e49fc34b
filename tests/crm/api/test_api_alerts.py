"""REST API v1 alerts: raised by what customers say, one open alert per cause and chat, moved by staff."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import alerts
from crm.models import Conversation
from tests.factories import Webhooks, line_text
from tests.openapi import check

LINE_USER = "U4444444444444444444444444444444d"
UPSET_COMPLAINT = "kopinya tumpah semua, kecewa bgt"  # a complaint, and strongly negative too


@pytest.fixture
def hooks(client) -> Webhooks:
    return Webhooks(client)


def _alerts(client, auth, spec, query: str = "") -> list[dict]:
    return check(spec, "/alerts", "get", client.get(f"/api/v1/alerts{query}", headers=auth))["items"]


def test_a_strongly_negative_complaint_raises_one_complaint_alert(client, auth, spec, hooks):
    assert hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER)).status_code == 200
    items = _alerts(client, auth, spec)
    assert [(a["kind"], a["status"]) for a in items] == [("complaint", "new")]
    alert = items[0]
    assert set(alert) >= {"id", "kind", "status", "severity", "conversation_id", "contact_id", "order_id",
                          "complaint_id", "created_at"}
    complaint = client.get("/api/v1/complaints", headers=auth).get_json()["items"][0]
    assert alert["complaint_id"] == complaint["id"] and alert["severity"] == complaint["severity"]
    assert alert["contact_id"] == complaint["contact_id"] and alert["conversation_id"] is not None
    assert alert["created_at"].endswith("Z")


def test_a_repeat_bumps_the_open_alert_and_a_done_one_lets_a_new_one_open(client, auth, spec, hooks):
    hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER))
    hooks.line(line_text("kalian parah banget, nyesel saya, kecewa berat!!", user=LINE_USER))
    items = _alerts(client, auth, spec)
    assert len(items) == 1 and items[0]["repeats"] == 1
    url = f"/api/v1/alerts/{items[0]['id']}"
    assert check(spec, "/alerts/{id}", "patch", client.patch(url, json={"status": "done"}, headers=auth))["status"] == "done"
    hooks.line(line_text("aku keracunan habis minum kopi kalian, parah", user=LINE_USER))
    new = _alerts(client, auth, spec, "?status=new")
    assert len(new) == 1 and new[0]["id"] != items[0]["id"] and new[0]["severity"] == "critical"
    assert [a["id"] for a in _alerts(client, auth, spec, "?status=done")] == [items[0]["id"]]
    assert [a["id"] for a in _alerts(client, auth, spec)] == [new[0]["id"], items[0]["id"]]  # newest first


def test_filters_and_status_steps(client, auth, spec, hooks):
    hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER))
    hooks.line(line_text("mau ngomong sama admin aja", user=LINE_USER))
    assert {a["kind"] for a in _alerts(client, auth, spec)} == {"complaint", "handoff"}
    handoff = _alerts(client, auth, spec, "?kind=handoff")
    assert [a["kind"] for a in handoff] == ["handoff"]
    assert _alerts(client, auth, spec, "?status=seen") == [] and _alerts(client, auth, spec, "?kind=sla&status=") == []
    url = f"/api/v1/alerts/{handoff[0]['id']}"
    assert client.patch(url, json={"status": "seen"}, headers=auth).get_json()["status"] == "seen"
    assert [a["id"] for a in _alerts(client, auth, spec, "?status=seen&kind=handoff")] == [handoff[0]["id"]]
    back = client.patch(url, json={"status": "new"}, headers=auth)
    assert back.status_code == 422 and "cannot become new" in back.get_json()["error"]
    assert client.patch(url, json={"status": "done"}, headers=auth).get_json()["status"] == "done"
    assert client.patch(url, json={"status": "done"}, headers=auth).status_code == 200  # again: nothing changes
    assert [a["kind"] for a in _alerts(client, auth, spec, "?status=new")] == ["complaint"]


@pytest.mark.parametrize("query", ["?status=open", "?kind=negative_sentiment", "?status=NEW", "?kind=complaint&status=x"])
def test_an_unknown_status_or_kind_is_422(client, auth, query):
    response = client.get(f"/api/v1/alerts{query}", headers=auth)
    assert response.status_code == 422 and "must be one of" in response.get_json()["error"]


def test_patch_refuses_unknown_alerts_and_bad_bodies(client, auth, hooks):
    hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER))
    alert_id = client.get("/api/v1/alerts", headers=auth).get_json()["items"][0]["id"]
    url = f"/api/v1/alerts/{alert_id}"
    assert client.patch("/api/v1/alerts/999999", json={"status": "done"}, headers=auth).status_code == 404
    for body in ({"status": "closed"}, {"status": None}, {}, {"status": "done", "kind": "sla"}):
        assert client.patch(url, json=body, headers=auth).status_code == 422, body
    assert client.patch(url, data="done", headers=auth, content_type="text/plain").status_code == 415
    assert client.patch(url, json={"status": "done"}).status_code == 401
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/api/v1/alerts", headers=auth).get_json()["items"][0]["status"] == "new"


def _conversation_id(runtime) -> int:
    with session_scope(runtime.engine) as s:
        return s.exec(select(Conversation.id).where(Conversation.external_chat_id == LINE_USER)).one()


def test_a_negative_alert_then_a_complaint_is_one_complaint_alert(client, auth, spec, hooks, runtime):
    hooks.line(line_text("halo kak", user=LINE_USER))
    conversation_id = _conversation_id(runtime)
    with session_scope(runtime.engine) as s:
        alerts.raise_alert(session=s, kind="negative", severity="high", conversation_id=conversation_id)
        alerts.raise_alert(session=s, kind="complaint", severity="medium", conversation_id=conversation_id)
        alerts.raise_alert(session=s, kind="negative", severity="high", conversation_id=conversation_id)
    items = _alerts(client, auth, spec)
    assert [(a["kind"], a["severity"], a["repeats"]) for a in items] == [("complaint", "high", 2)]


def test_the_database_refuses_a_second_open_alert_of_one_cause(runtime, hooks):
    from sqlalchemy.exc import IntegrityError

    hooks.line(line_text("halo kak", user=LINE_USER))
    conversation_id = _conversation_id(runtime)
    with session_scope(runtime.engine) as s:
        s.add(alerts.StaffAlert(kind="handoff", conversation_id=conversation_id, status="done"))
        s.add(alerts.StaffAlert(kind="handoff", conversation_id=conversation_id))
    # What a second worker racing past the look-up would write: the partial unique index stops it.
    with pytest.raises(IntegrityError), session_scope(runtime.engine) as s:
        s.add(alerts.StaffAlert(kind="handoff", conversation_id=conversation_id))
    with session_scope(runtime.engine) as s:
        assert alerts.raise_alert(session=s, kind="handoff", conversation_id=conversation_id).repeats == 1
        rows = s.exec(select(alerts.StaffAlert)).all()
        assert sorted(row.status for row in rows) == ["done", "new"]


def test_a_complaint_near_and_past_its_sla_alerts_once_per_stage(client, auth, spec, hooks, runtime):
    from datetime import timedelta

    from crm.complaints import Complaint

    hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER))
    with session_scope(runtime.engine) as s:
        complaint = s.exec(select(Complaint)).one()
        due, complaint_id = complaint.sla_due_at, complaint.id
        early = due - (due - complaint.created_at) / 2
        assert alerts.alert_complaint_sla(session=s, now=early) == 0  # half the time left: nothing yet
        assert alerts.alert_complaint_sla(session=s, now=due - timedelta(minutes=5)) == 1
        assert alerts.alert_complaint_sla(session=s, now=due - timedelta(minutes=4)) == 0  # told already
    soon = _alerts(client, auth, spec, "?kind=sla")
    assert [(a["severity"], a["complaint_id"], a["status"]) for a in soon] == [("high", complaint_id, "new")]
    client.patch(f"/api/v1/alerts/{soon[0]['id']}", json={"status": "seen"}, headers=auth)
    with session_scope(runtime.engine) as s:
        assert alerts.alert_complaint_sla(session=s, now=due + timedelta(minutes=1)) == 1
        assert alerts.alert_complaint_sla(session=s, now=due + timedelta(minutes=2)) == 0
    breached = _alerts(client, auth, spec, "?kind=sla")
    assert [(a["id"], a["severity"], a["status"]) for a in breached] == [(soon[0]["id"], "critical", "new")]
    client.patch(f"/api/v1/alerts/{soon[0]['id']}", json={"status": "done"}, headers=auth)
    with session_scope(runtime.engine) as s:
        assert alerts.alert_complaint_sla(session=s, now=due + timedelta(hours=1)) == 0  # handled: not again


def test_resolving_the_complaint_settles_its_alerts(client, auth, spec, hooks, runtime):
    hooks.line(line_text(UPSET_COMPLAINT, user=LINE_USER))
    hooks.line(line_text("mau ngomong sama admin aja", user=LINE_USER))
    complaint = client.get("/api/v1/complaints", headers=auth).get_json()["items"][0]
    client.patch(f"/api/v1/complaints/{complaint['id']}", json={"status": "in_progress"}, headers=auth)
    assert {a["kind"] for a in _alerts(client, auth, spec, "?status=new")} == {"complaint", "handoff"}
    client.patch(f"/api/v1/complaints/{complaint['id']}", json={"status": "resolved"}, headers=auth)
    assert [a["kind"] for a in _alerts(client, auth, spec, "?status=new")] == ["handoff"]  # not the complaint's
    assert [a["kind"] for a in _alerts(client, auth, spec, "?status=done")] == ["complaint"]


def test_workers_raising_the_same_alert_at_once_leave_one_open_alert(runtime, hooks):
    import threading
    import time

    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time: there is no race to lose")
    hooks.line(line_text("halo kak", user=LINE_USER))
    conversation_id = _conversation_id(runtime)
    workers = 4
    barrier, errors = threading.Barrier(workers), []

    def raise_one() -> None:
        try:
            with session_scope(runtime.engine) as s:
                barrier.wait()  # each looked for an open alert before any of them commits
                alerts.raise_alert(session=s, kind="handoff", conversation_id=conversation_id)
                time.sleep(0.2)  # the others' inserts wait on this one's uncommitted row
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=raise_one) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    with session_scope(runtime.engine) as s:
        rows = s.exec(select(alerts.StaffAlert).where(alerts.StaffAlert.kind == "handoff")).all()
        assert [(row.status, row.conversation_id) for row in rows] == [("new", conversation_id)]
        assert rows[0].repeats >= 1


def test_two_complaints_of_one_chat_near_their_sla_share_one_alert_that_stays_put(client, auth, spec, hooks, runtime):
    from datetime import timedelta

    from crm import complaints

    hooks.line(line_text("halo kak", user=LINE_USER))
    conversation_id = _conversation_id(runtime)
    with session_scope(runtime.engine) as s:
        contact_id = s.get(Conversation, conversation_id).contact_id
        first = complaints.open_complaint(session=s, contact_id=contact_id, conversation_id=conversation_id,
                                          text="kopinya basi", negative_score=0.9)
        complaints.open_complaint(session=s, contact_id=contact_id, conversation_id=conversation_id,
                                  text="kurirnya kasar", negative_score=0.9)
        soon = first.sla_due_at - timedelta(minutes=10)
    for minute in range(3):  # the clock's job every minute: the alert is raised once, not bumped again
        with session_scope(runtime.engine) as s:
            alerts.alert_complaint_sla(session=s, now=soon + timedelta(minutes=minute))
    items = _alerts(client, auth, spec, "?kind=sla")
    assert [(a["severity"], a["status"], a["repeats"]) for a in items] == [("high", "new", 0)]
