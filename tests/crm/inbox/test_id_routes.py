"""Every route with a row id in its path answers 404 for an id no integer column can hold."""

from __future__ import annotations

import re

import pytest

from crm.ids import MAX_ID

# 2^31 overflows PostgreSQL's integer columns, 2^63 SQLite's (both were a 500 before).
TOO_LARGE = [2**31, 2**63, 10**30]


def _id_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route with an `<int:…>` id, other arguments filled with a valid value."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        path = re.sub(r"<any\(([a-z_]+)[^>]*>", r"\1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_id_route_is_bounded(app, auth, as_role):
    admin = as_role("admin")
    routes = _id_routes(app)
    assert len(routes) >= 40  # the API's, the inbox's and the marketing screens'
    for value in TOO_LARGE:
        for method, rule in routes:
            url = re.sub(r"<int:[a-z_]+>", str(value), rule)
            if url.startswith("/api/"):
                response = admin.client.open(url, method=method, json={}, headers=auth)
            else:
                response = admin.client.open(url, method=method, data={"csrf_token": admin.token})
            assert response.status_code == 404, (method, url, response.status_code)


@pytest.mark.parametrize("path", ["/api/v1/contacts/{}", "/api/v1/orders/{}", "/api/v1/campaigns/{}"])
def test_the_largest_id_still_reaches_the_view(client, auth, path):
    response = client.get(path.format(MAX_ID), headers=auth)
    assert response.status_code == 404 and "not found" in response.get_json()["error"]
    assert client.get(path.format(0), headers=auth).status_code == 404


# Ids in query strings and form fields: past PostgreSQL's (2^31) or SQLite's (2^63) integers, negative, or not a
# number ("²" passes str.isdigit but not int()). They were a 500 when the database or int() saw them; now a 404
# (no row can have it) or a 400 (not an id).
BAD_IDS = {str(2**31): 404, str(2**63): 404, "-1": 400, "abc": 400, "²": 400}


@pytest.fixture
def id_inputs(app, line_chat, session) -> list[tuple[str, str, dict]]:
    """(method, url with {} for the id, form with {} for the id) of every id read from a query string or form."""
    from datetime import timedelta

    from core.db import utcnow
    from crm.promotions import Promotion

    app.config["SAPA"].inbox.live_stream_seconds = app.config["SAPA"].inbox.live_poll_seconds = 0.01
    conversation_id, _ = line_chat
    promotion = Promotion(title="Promo", starts_at=utcnow(), ends_at=utcnow() + timedelta(days=7))
    session.add(promotion)
    session.commit()
    campaign = {"name": "x", "text": "halo", "when": "now", "channels": "line"}
    return [
        ("GET", "/inbox/campaigns/new?from={}", {}),
        ("GET", "/inbox/campaigns/new?offer={}", {}),
        ("GET", "/inbox/campaigns/new?segment={}", {}),
        ("GET", "/inbox/list?selected={}", {}),
        ("GET", f"/inbox/c/{conversation_id}/messages?after={{}}", {}),
        ("GET", "/inbox/events?after={}", {}),
        ("GET", "/inbox/events?conversation={}", {}),
        ("POST", f"/inbox/c/{conversation_id}/assign", {"assignee_id": "{}"}),
        ("POST", "/inbox/tasks", {"contact_id": "{}", "due_on": "2030-01-01", "title": "telepon"}),
        ("POST", "/inbox/campaigns/new", {**campaign, "audience": "segment", "segment_id": "{}"}),
        ("POST", "/inbox/campaigns/new", {**campaign, "audience": "rules", "rules": "{}", "promotion_id": "{}"}),
        ("POST", "/inbox/campaigns/preview", {**campaign, "audience": "segment", "segment_id": "{}"}),
        ("POST", "/inbox/campaigns/preview", {**campaign, "promotion_id": "{}"}),
        ("POST", f"/inbox/offers/{promotion.id}", {"store_id": "{}", "radius_km": "2"}),
        ("POST", "/inbox/journeys/birthday", {"text": "Selamat ulang tahun!", "promotion_id": "{}"}),
    ]


def test_ids_in_query_strings_and_forms_are_bounded(as_role, id_inputs):
    admin = as_role("admin")
    for bad, status in BAD_IDS.items():
        for method, url, form in id_inputs:
            if method == "GET":
                response = admin.get(url.format(bad))
            else:
                response = admin.post(url, data={k: v.format(bad) for k, v in form.items()})
            assert response.status_code == status, (method, url, form, bad, response.status_code)


def test_ids_the_live_stream_only_resumes_from_are_ignored_when_out_of_range(as_role, id_inputs):
    admin = as_role("admin")
    for bad in BAD_IDS:
        for url, headers in [(f"/inbox/events?pending={bad},{bad}", {}), ("/inbox/events", {"Last-Event-ID": bad})]:
            response = admin.get(url, headers=headers)
            response.get_data()  # the stream reads the database while it runs
            assert response.status_code == 200, (url, headers)
