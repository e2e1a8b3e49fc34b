"""The contract's conversations endpoint and contact PATCH, as the inbox changes them."""

from __future__ import annotations


from tests.openapi import check

CONVERSATION_KEYS = {"id", "contact_id", "channel", "status", "assignee", "labels", "bot_active"}


def test_conversations_reflect_inbox_actions(client, auth, spec, agent, line_chat, staff):
    conversation_id, contact_id = line_chat
    agent.post(f"/inbox/c/{conversation_id}/assign", {"assignee_id": str(staff["agent"])})
    agent.post(f"/inbox/c/{conversation_id}/labels", {"labels": "vip"})
    agent.post(f"/inbox/c/{conversation_id}/bot", {"active": "0"})
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "snoozed", "hours": "1"})
    body = check(spec, "/conversations", "get",
                 client.get(f"/api/v1/conversations?status=snoozed&contact_id={contact_id}", headers=auth))
    (item,) = body["items"]
    assert CONVERSATION_KEYS <= set(item)
    assert (item["id"], item["contact_id"], item["channel"], item["status"], item["assignee"], item["labels"],
            item["bot_active"]) == (conversation_id, contact_id, "line", "snoozed", staff["agent"], ["vip"], False)
    for status in ("open", "pending", "resolved"):
        assert client.get(f"/api/v1/conversations?status={status}", headers=auth).get_json()["items"] == []
    assert client.get("/api/v1/conversations").status_code == 401


def test_contact_patch_round_trips_what_the_360_panel_edits(client, auth, spec, line_chat, agent):
    _, contact_id = line_chat
    url = f"/api/v1/contacts/{contact_id}"
    body = check(spec, "/contacts/{contact_id}", "patch", client.patch(url, json={
        "tags": ["vip"], "marketing_consent": False, "attributes": {"ukuran": "L"}, "birthday": "1990-05-01"},
        headers=auth))
    assert (body["tags"], body["marketing_consent"], body["attributes"], body["birthday"]) == \
        (["vip"], False, {"ukuran": "L"}, "1990-05-01")
    assert {"id", "display_name", "identities", "tags", "status", "created_at", "last_seen_at"} <= set(body)
    assert body["identities"][0]["channel"] == "line"
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "ukuran" in page and 'value="vip"' in page
    assert client.patch(url, json={"attributes": {"k": "x" * 501}}, headers=auth).status_code == 422
