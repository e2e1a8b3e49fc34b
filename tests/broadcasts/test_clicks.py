"""A tracked campaign link counts one click per recipient (signed per-recipient links) or per
visitor (a LINE multicast's shared link), however often it is followed; the A/B winner uses
those figures. The redirect works for every request."""

from __future__ import annotations

import json
import re

from tests.broadcasts.helpers import seed

URL = "https://example.com/menu"


def tracked_paths(body, public_url: str) -> list[str]:
    """The /r/ links (path and query) in a platform request body."""
    text = json.dumps(body)
    return [url.removeprefix(public_url) for url in re.findall(re.escape(public_url) + r'/r/[^"\s]+', text)]


def follow(client, path: str, times: int = 1, **environ) -> None:
    for _ in range(times):
        response = client.get(path, environ_base=environ)
        assert response.status_code == 302 and response.headers["Location"] == URL


def stats(client, auth, campaign_id: int) -> dict:
    return client.get(f"/api/v1/campaigns/{campaign_id}", headers=auth).get_json()


def test_fifty_follows_from_one_client_count_one_and_two_recipients_count_two(
        app, client, auth, runtime, fake_line, fake_telegram):
    seed(runtime.engine, line=2, telegram=2)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Klik", "message": {"text": "Lihat menu", "buttons": [{"label": "Menu", "url": URL}]}}).get_json()
    # LINE: one multicast body for everyone, so one shared link
    shared, = {path for call in fake_line.calls("/v2/bot/message/multicast")
               for path in tracked_paths(call.json, runtime.settings.public_url)}
    assert "?d=" not in shared
    phone = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14) Line/14.1"}
    follow(client, shared, 25, **phone)  # a browser that keeps the visitor cookie
    no_cookies = app.test_client(use_cookies=False)
    follow(no_cookies, shared, 25, **phone)  # a client that keeps none: its address and user agent
    assert stats(client, auth, created["id"])["stats"]["clicked"] == 1
    other = {"REMOTE_ADDR": "198.51.100.20", "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone) Line/14.1"}
    follow(app.test_client(), shared, 3, **other)
    assert stats(client, auth, created["id"])["stats"]["clicked"] == 2
    # Telegram: each recipient's link is signed for them; forwarded or repeated, it counts them once
    personal = [tracked_paths(params, runtime.settings.public_url)[0] for _, _, params in fake_telegram.sent]
    assert len(personal) == 2 and all("?d=" in path for path in personal)
    for path in personal:
        follow(app.test_client(use_cookies=False), path, 10, **phone)
    assert stats(client, auth, created["id"])["stats"]["clicked"] == 4
    forged = personal[0].split("?")[0] + "?d=1.0000000000"
    follow(app.test_client(use_cookies=False), forged, 5, **phone)  # not a recipient: the phone's visitor again
    assert stats(client, auth, created["id"])["stats"]["clicked"] == 4


def test_a_made_up_visitor_cookie_counts_as_the_client_it_comes_from(app, client, auth, runtime, fake_line):
    seed(runtime.engine, line=1)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Klik", "message": {"text": "Lihat menu", "buttons": [{"label": "Menu", "url": URL}]}}).get_json()
    shared, = tracked_paths(fake_line.calls("/v2/bot/message/multicast")[0].json, runtime.settings.public_url)
    for n in range(20):
        browser = app.test_client(use_cookies=False)
        response = browser.get(shared, headers={"Cookie": f"sapa_v=visitor{n}.forged"},
                               environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert response.status_code == 302
    assert stats(client, auth, created["id"])["stats"]["clicked"] == 1


def test_the_ab_winner_is_picked_on_clickers_not_requests(app, client, auth, runtime, fake_line):
    seed(runtime.engine, line=20)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "AB", "variants": [
            {"name": "A", "weight": 50, "message": {"text": "A!", "buttons": [{"label": "Menu", "url": URL}]}},
            {"name": "B", "weight": 50, "message": {"text": "B!", "buttons": [{"label": "Menu", "url": URL}]}}]}
    ).get_json()
    links = {}
    for call in fake_line.calls("/v2/bot/message/multicast"):
        links[call.json["messages"][0]["altText"][:2]] = tracked_paths(call.json, runtime.settings.public_url)[0]
    assert set(links) == {"A!", "B!"}
    follow(app.test_client(use_cookies=False), links["B!"], 50, REMOTE_ADDR="192.0.2.50")  # one client, 50 times
    follow(app.test_client(), links["A!"], 1, REMOTE_ADDR="192.0.2.1")
    follow(app.test_client(), links["A!"], 1, REMOTE_ADDR="192.0.2.2")
    body = stats(client, auth, created["id"])
    assert body["variants"]["A"]["clicked"] == 2 and body["variants"]["B"]["clicked"] == 1
    assert client.post(f"/api/v1/campaigns/{created['id']}/winner", headers=auth).get_json()["winner"] == "A"


def test_a_malformed_recipient_parameter_still_redirects(app, client, auth, runtime, fake_telegram):
    seed(runtime.engine, telegram=1)
    client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Klik", "message": {"text": "Lihat menu", "buttons": [{"label": "Menu", "url": URL}]}})
    path = tracked_paths(fake_telegram.sent[0][2], runtime.settings.public_url)[0].split("?")[0]
    for d in ("²³.x", "99999999999999999999.abc", "1.é", "", "."):
        follow(client, f"{path}?d={d}")
