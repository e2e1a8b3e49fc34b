"""REST API v1: merge two contacts (with a preview), undo it; a merged-away contact says where it lives on."""

from __future__ import annotations

from core.db import session_scope
from crm.tokens import create_token
from tests.broadcasts.helpers import seed
from tests.openapi import check


def _token(runtime, role: str) -> dict:
    with session_scope(runtime.engine) as s:
        return {"Authorization": f"Bearer {create_token(session=s, name=role, role=role)}"}


def test_preview_merge_and_undo(client, auth, spec, runtime):
    survivor, other = seed(runtime.engine, line=1, telegram=1)
    preview = check(spec, "/contacts/{contact_id}/merge-preview", "get",
                    client.get(f"/api/v1/contacts/{survivor}/merge-preview?other_id={other}", headers=auth))
    assert preview["counts"]["identities"] == 1 and len(preview["identities"]) == 2
    assert {f["field"] for f in preview["fields"]} >= {"display_name", "phone", "tags"}

    done = check(spec, "/contacts/{contact_id}/merge", "post",
                 client.post(f"/api/v1/contacts/{survivor}/merge", json={"other_id": other}, headers=auth))
    assert (done["survivor_id"], done["merged_id"], done["source"]) == (survivor, other, "api")
    assert done["moved"]["channelidentity.contact_id"] == 1 and done["undone_at"] is None
    detail = check(spec, "/contacts/{contact_id}", "get", client.get(f"/api/v1/contacts/{survivor}", headers=auth))
    assert sorted(i["channel"] for i in detail["identities"]) == ["line", "telegram"]
    away = check(spec, "/contacts/{contact_id}", "get", client.get(f"/api/v1/contacts/{other}", headers=auth))
    assert away == {"merged_into": survivor}
    listed = client.get("/api/v1/contacts", headers=auth).get_json()["items"]
    assert [c["id"] for c in listed] == [survivor]  # the tombstone is not a contact any more
    for write in (client.patch(f"/api/v1/contacts/{other}", json={"tags": ["vip"]}, headers=auth),
                  client.post(f"/api/v1/contacts/{other}/points", json={"points": 5, "reason": "x"}, headers=auth)):
        assert write.status_code == 409 and f"merged into contact {survivor}" in write.get_json()["error"]

    again = client.post(f"/api/v1/contacts/{survivor}/merge", json={"other_id": other}, headers=auth)
    assert again.status_code == 409
    undone = check(spec, "/merges/{merge_id}/undo", "post",
                   client.post(f"/api/v1/merges/{done['id']}/undo", headers=auth))
    assert undone["undone_at"] is not None
    assert client.get(f"/api/v1/contacts/{other}", headers=auth).get_json()["identities"][0]["channel"] == "telegram"
    assert client.post(f"/api/v1/merges/{done['id']}/undo", headers=auth).status_code == 409


def test_unknown_same_and_invalid_are_404_and_422(client, auth, spec, runtime):
    (contact,) = seed(runtime.engine, line=1)
    missing = client.post(f"/api/v1/contacts/{contact}/merge", json={"other_id": 99999}, headers=auth)
    assert missing.status_code == 404 and check(spec, "/contacts/{contact_id}/merge", "post", missing)["error"]
    assert client.post("/api/v1/contacts/99999/merge", json={"other_id": contact}, headers=auth).status_code == 404
    assert client.get(f"/api/v1/contacts/{contact}/merge-preview?other_id=99999", headers=auth).status_code == 404
    assert client.post("/api/v1/merges/99999/undo", headers=auth).status_code == 404
    same = client.post(f"/api/v1/contacts/{contact}/merge", json={"other_id": contact}, headers=auth)
    assert same.status_code == 422 and "itself" in same.get_json()["error"]
    for body in ({}, {"other_id": "2"}, {"other_id": 0}, {"other_id": 2, "extra": 1}):
        assert client.post(f"/api/v1/contacts/{contact}/merge", json=body, headers=auth).status_code == 422, body
    assert client.get(f"/api/v1/contacts/{contact}/merge-preview", headers=auth).status_code == 400


def test_agents_merge_marketers_may_not(client, runtime):
    survivor, other = seed(runtime.engine, line=2)
    marketer = client.post(f"/api/v1/contacts/{survivor}/merge", json={"other_id": other},
                           headers=_token(runtime, "marketer"))
    assert marketer.status_code == 403
    agent = _token(runtime, "agent")
    done = client.post(f"/api/v1/contacts/{survivor}/merge", json={"other_id": other}, headers=agent)
    assert done.status_code == 200
    assert client.post(f"/api/v1/merges/{done.get_json()['id']}/undo",
                       headers=_token(runtime, "marketer")).status_code == 403
    assert client.post(f"/api/v1/merges/{done.get_json()['id']}/undo", headers=agent).status_code == 200
