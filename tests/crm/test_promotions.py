"""Promotions: validity windows, audience rules and location-based offers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm import promotions, stores
from crm.models import Contact
from crm.promotions import audience_matches, create_promotion, promotions_for, validate_audience

NOW = datetime(2024, 6, 3, 5, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
KEMANG = (-6.2608, 106.8137)
NEAR_KEMANG, SCBD, BANDUNG = (-6.2650, 106.8150), (-6.2255, 106.8088), (-6.8853, 107.6134)


def promo(session, title: str, **fields):
    fields = {"starts_at": NOW - DAY, "ends_at": NOW + 10 * DAY, **fields}
    return create_promotion(session=session, title=title, **fields)


@pytest.fixture
def catalog(session):
    kemang = stores.create_store(session=session, name="Kemang", lat=KEMANG[0], lon=KEMANG[1])
    promo(session, "everyone", ends_at=NOW + 20 * DAY)
    promo(session, "soon over", ends_at=NOW + 2 * DAY, voucher_code="SOON-1")
    promo(session, "expired", starts_at=NOW - 10 * DAY, ends_at=NOW - DAY)
    promo(session, "future", starts_at=NOW + DAY, ends_at=NOW + 5 * DAY)
    promo(session, "switched off", active=False)
    promo(session, "vip", audience={"tags": ["vip", "gold"]})
    promo(session, "new only", audience={"new_customers": True})
    promo(session, "loyal", audience={"min_orders": 2})
    promo(session, "line english", audience={"channels": ["line"], "languages": ["en"]})
    promo(session, "near kemang", store_id=kemang.id, radius_km=3.0)
    session.flush()
    return kemang


def titles(items) -> list[str]:
    return [p.title for p in items]


def test_running_promotions_in_window_soonest_first(session, catalog):
    contact = Contact(display_name="Budi", tags=[], language="id")
    assert titles(promotions_for(session=session, contact=contact, now=NOW, orders_count=0)) == [
        "soon over", "new only", "everyone"]
    assert titles(promotions.list_promotions(session=session, active_at=NOW))[0] == "soon over"
    # The window is [starts_at, ends_at): ends_at itself is over.
    late = NOW + 2 * DAY
    assert "soon over" not in titles(promotions_for(session=session, contact=contact, now=late))


def test_audience_rules(session, catalog):
    vip = Contact(display_name="Sari", tags=["gold"], language="en")
    found = titles(promotions_for(session=session, contact=vip, now=NOW, orders_count=3, channel="line"))
    assert found == ["soon over", "vip", "loyal", "line english", "everyone"]
    telegram = titles(promotions_for(session=session, contact=vip, now=NOW, orders_count=1, channel="telegram"))
    assert "line english" not in telegram and "loyal" not in telegram and "new only" not in telegram


@pytest.mark.parametrize(("audience", "kwargs", "expected"), [
    ({}, {}, True),
    ({"tags": ["vip"]}, {"tags": ["VIP"]}, False),  # tags are exact
    ({"languages": ["id"]}, {"language": None}, True),  # unknown language counts as Indonesian
    ({"new_customers": False}, {}, False),
    ({"channels": ["telegram"]}, {}, False),
])
def test_audience_matches(audience, kwargs, expected):
    contact = Contact(display_name="x", tags=kwargs.get("tags", []), language=kwargs.get("language", "id"))
    assert audience_matches(audience, contact=contact, orders_count=0, channel="line") is expected


def test_location_based_offer_needs_a_nearby_point(session, catalog):
    contact = Contact(display_name="x", tags=[])
    assert "near kemang" not in titles(promotions_for(session=session, contact=contact, now=NOW))
    assert "near kemang" in titles(promotions_for(session=session, contact=contact, now=NOW, near=NEAR_KEMANG))
    assert "near kemang" not in titles(promotions_for(session=session, contact=contact, now=NOW, near=BANDUNG))
    # Without `near`, the contact's last shared location counts.
    contact.last_lat, contact.last_lon = NEAR_KEMANG
    assert "near kemang" in titles(promotions_for(session=session, contact=contact, now=NOW))


def test_offers_near(session, catalog):
    hits = promotions.offers_near(session=session, lat=NEAR_KEMANG[0], lon=NEAR_KEMANG[1], now=NOW)
    assert [(p.title, s.name) for p, s, _ in hits] == [("near kemang", "Kemang")] and hits[0][2] < 1.0
    assert promotions.offers_near(session=session, lat=SCBD[0], lon=SCBD[1], now=NOW) == []  # ~4 km away
    assert promotions.offers_near(session=session, lat=NEAR_KEMANG[0], lon=NEAR_KEMANG[1], now=NOW + 30 * DAY) == []
    stores.update_store(session=session, store=catalog, changes={"active": False})
    assert promotions.offers_near(session=session, lat=NEAR_KEMANG[0], lon=NEAR_KEMANG[1], now=NOW) == []
    with pytest.raises(ValueError):
        promotions.offers_near(session=session, lat=200, lon=0, now=NOW)


@pytest.mark.parametrize("fields", [
    {"ends_at": NOW - 2 * DAY},
    {"voucher_code": "lower-case"},
    {"voucher_code": "AB"},
    {"radius_km": 2.0},
    {"store_id": 999_999, "radius_km": 2.0},
    {"audience": {"tag": ["vip"]}},
    {"audience": {"min_orders": -1}},
    {"audience": {"tags": "vip"}},
    {"audience": {"new_customers": "yes"}},
    {"colour": "red"},
])
def test_inconsistent_promotions_are_refused(session, fields):
    with pytest.raises(ValueError):
        promo(session, "bad", **fields)


def test_validate_audience_normalises():
    assert validate_audience({"tags": [" vip ", "vip"], "min_orders": None}) == {"tags": ["vip"]}
    assert validate_audience(None) == {}


def test_demo_promotions(session):
    from crm.demo_catalog import load_catalog

    load_catalog(session)
    now = datetime.now(timezone.utc)
    newcomer = Contact(display_name="x", tags=[])
    found = titles(promotions_for(session=session, contact=newcomer, now=now, orders_count=0,
                                  near=(-6.2615, 106.8106)))
    assert "Diskon 20% Pelanggan Baru" in found and "Mampir Kemang: Buy 1 Get 1" in found
    assert "VIP: Gratis Upsize" not in found and not any("Ramadan" in t for t in found)
    vip = Contact(display_name="y", tags=["vip"])
    assert "VIP: Gratis Upsize" in titles(promotions_for(session=session, contact=vip, now=now, orders_count=4))
