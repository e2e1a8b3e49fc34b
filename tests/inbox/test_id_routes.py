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
