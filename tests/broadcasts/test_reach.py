"""Campaigns that say why they reached fewer people than their audience, and the customer simulator
as a channel campaigns and test-sends reach (LINE not connected here; Telegram and the simulator on)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcasts.models import Campaign
from tests.broadcasts.helpers import seed
from tests.conftest import make_settings
from tests.crm.inbox.conftest import as_role, staff  # noqa: F401 - fixtures
from tests.openapi import check


@pytest.fixture
def settings(database_url, fake_telegram, nlu_model_path, tmp_path):
    """Telegram on, LINE without credentials (off), the simulator on (as outside production)."""
    return make_settings(database_url, None, fake_telegram, nlu={"model_path": nlu_model_path},
                         media_dir=str(tmp_path / "media"))


def simulator_customer(client, user: str, name: str) -> None:
    """A customer who wrote once in the simulator."""
    sent = client.post("/simulator/api/send", json={"user": user, "name": name, "kind": "text", "text": "halo"})
    assert sent.status_code == 200


def simulator_chat(client, user: str) -> list[dict]:
    return client.get(f"/simulator/api/messages?user={user}").get_json()["items"]


def campaign(client, auth, **fields) -> dict:
    body = {"name": "Promo Jumat", "rules": {"all": []}, "message": {"text": "Diskon 10% hari ini!"}, **fields}
    created = client.post("/api/v1/campaigns", headers=auth, json=body)
    assert created.status_code == 201, created.get_json()
    return client.get(f"/api/v1/campaigns/{created.get_json()['id']}", headers=auth).get_json()


def test_a_campaign_says_line_is_not_connected_and_reaches_the_simulator(client, auth, spec, runtime,
                                                                          fake_telegram):
    simulator_customer(client, "sim-ani", "Ani")  # first: seed() writes its own ids, past the sequence
    seed(runtime.engine, line=12)
    seed(runtime.engine, telegram=2, start=100)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Promo Jumat", "rules": {"all": []}, "message": {"text": "Diskon 10% hari ini!"}})
    body = check(spec, "/campaigns/{id}", "get", client.get(f"/api/v1/campaigns/{created.get_json()['id']}",
                                                            headers=auth))
    assert body["status"] == "done" and body["channels"] == ["line", "simulator", "telegram"]
    assert body["stats"]["targeted"] == 15 and body["stats"]["sent"] == 3
    assert body["results"]["skipped"] == 12 and body["results"]["failed_by_reason"] == {"skipped:channel_off": 12}
    assert body["notice"] == "LINE is not connected: 12 recipient(s) skipped"
    assert len(fake_telegram.sent) == 2
    last = simulator_chat(client, "sim-ani")[-1]
    assert last["direction"] == "out" and last["text"] == "Diskon 10% hari ini!" and last["status"] == "sent"


def test_a_campaign_on_line_only_shows_why_in_the_marketers_screen(as_role, runtime, session):  # noqa: F811
    seed(runtime.engine, line=12)
    marketer = as_role("marketer")
    response = marketer.post("/inbox/campaigns/new", {
        "name": "Promo LINE", "text": "Halo!", "channels": ["line"], "audience": "rules", "rules": '{"all": []}',
        "when": "now", "submit": "send", "quota_policy": "refuse"})
    assert response.status_code == 303
    assert session.execute(select(Campaign.status)).scalar_one() == "done"
    page = marketer.get(response.location).get_data(as_text=True)
    assert "LINE belum terhubung: 12 penerima dilewati" in page
    marketer.post("/inbox/language", {"lang": "en", "next": "/inbox/campaigns"})
    assert "LINE is not connected: 12 recipients skipped" in marketer.get(response.location).get_data(as_text=True)


def test_a_campaign_whose_audience_matches_no_one_says_so(client, auth, as_role, runtime):  # noqa: F811
    seed(runtime.engine, telegram=2)
    body = campaign(client, auth, rules={"all": [{"field": "tag", "op": "has", "value": "vip"}]})
    assert body["status"] == "done" and body["stats"]["targeted"] == 0
    assert body["notice"] == "no contact matched the audience on the campaign's channels"
    page = as_role("marketer").get(f"/inbox/campaigns/{body['id']}").get_data(as_text=True)
    assert "Tidak ada kontak yang cocok dengan audiens" in page


def test_a_test_send_reaches_a_simulator_chat(client, auth, spec, as_role, runtime, session):  # noqa: F811
    simulator_customer(client, "sim-budi", "Budi")
    seed(runtime.engine, telegram=1)
    draft = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Coba", "rules": {"all": []}, "message": {"text": "Tes promo {first_name}"}, "draft": True})
    assert draft.status_code == 201, draft.get_json()
    campaign_id = draft.get_json()["id"]
    sent = client.post(f"/api/v1/campaigns/{campaign_id}/test", headers=auth,
                       json={"targets": [{"channel": "simulator", "external_id": "sim-budi"}]})
    assert check(spec, "/campaigns/{id}/test", "post", sent)["items"][0]["status"] == "sent"
    assert simulator_chat(client, "sim-budi")[-1]["text"] == "Tes promo Budi"
    unknown = client.post(f"/api/v1/campaigns/{campaign_id}/test", headers=auth,
                          json={"targets": [{"channel": "simulator", "external_id": "sim-nobody"}]})
    assert unknown.status_code == 422 and "simulator" in unknown.get_json()["details"][0]["message"]
    marketer = as_role("marketer")
    page = marketer.get(f"/inbox/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'name="simulator"' in page and "Simulator: Budi" in page
    flashed = marketer.post(f"/inbox/campaigns/{campaign_id}/test", {"simulator": "sim-budi"}, follow_redirects=True)
    assert "Tes terkirim ke Simulator" in flashed.get_data(as_text=True)
    assert [m["text"] for m in simulator_chat(client, "sim-budi")].count("Tes promo Budi") == 2


AB = {"name": "A/B", "rules": {"all": []}, "draft": True, "ab_test": {"test_percent": 50},
      "variants": [{"name": "A", "weight": 50, "message": {"text": "Varian A"}},
                   {"name": "B", "weight": 50, "message": {"text": "Varian B"}}]}


def test_the_ab_winner_is_refused_while_the_test_has_sent_nothing(client, auth, spec, as_role, runtime,  # noqa: F811
                                                                   session, fake_telegram):
    seed(runtime.engine, telegram=6)
    created = client.post("/api/v1/campaigns", headers=auth, json=AB)
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    refused = client.post(f"/api/v1/campaigns/{campaign_id}/winner", headers=auth, json={"variant": "B"})
    assert refused.status_code == 409 and "sent nothing yet" in check(spec, "/campaigns/{id}/winner", "post",
                                                                       refused)["error"]
    marketer = as_role("marketer")
    page = marketer.get(f"/inbox/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="winner-campaign" disabled' in page and "Belum ada yang terkirim dari tes A/B ini" in page
    flashed = marketer.post(f"/inbox/campaigns/{campaign_id}/winner", {"variant": "A"}, follow_redirects=True)
    assert "sent nothing yet" in flashed.get_data(as_text=True)
    session.expire_all()
    assert session.get(Campaign, campaign_id).winner is None and not fake_telegram.sent
    assert client.post(f"/api/v1/campaigns/{campaign_id}/resume", headers=auth).status_code == 200  # launch
    assert 0 < len(fake_telegram.sent) < 6
    assert 'id="winner-campaign" disabled' not in marketer.get(f"/inbox/campaigns/{campaign_id}").get_data(as_text=True)
    chosen = client.post(f"/api/v1/campaigns/{campaign_id}/winner", headers=auth, json={"variant": "B"})
    assert chosen.status_code == 200 and chosen.get_json()["winner"] == "B" and len(fake_telegram.sent) == 6


def test_the_readmes_campaign_example_stays_valid(client, auth, runtime):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assignment = re.search(r"^SEND_AT=.*$", readme, re.MULTILINE).group(0)
    send_at = subprocess.run(["bash", "-c", f'{assignment}; printf %s "$SEND_AT"'], capture_output=True, text=True,
                             check=True).stdout
    body = re.search(r"-d '(\{\"name\": \"VIP\".*?)' http://127\.0\.0\.1:8000/api/v1/campaigns", readme, re.DOTALL)
    created = client.post("/api/v1/campaigns", headers=auth,
                          json=json.loads(body.group(1).replace("'\"$SEND_AT\"'", send_at)))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "scheduled"
