"""Promotions: validity windows, audience rules and location-based offers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from crm import promotions, stores
from crm.models import Contact
from crm.promotions import (
    audience_matches, create_promotion, promotions_for, valid_at, validate_audience, validity_text,
)

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
    {"weekdays": [7]}, {"weekdays": []}, {"weekdays": [True]}, {"weekdays": "0-4"},
    {"hours": [["17:00"]]}, {"hours": [["09:00", "09:00"]]}, {"hours": []}, {"hours": [["9:00", "10:00"]]},
])
def test_inconsistent_promotions_are_refused(session, fields):
    with pytest.raises(ValueError):
        promo(session, "bad", **fields)


JAKARTA = ZoneInfo("Asia/Jakarta")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of 3 June 2024 (a Monday) in Jakarta."""
    return datetime(2024, 6, day, hour, minute, tzinfo=JAKARTA).astimezone(timezone.utc)


def test_weekdays_and_hours_in_the_shops_timezone(session):
    weekday = promo(session, "weekday", weekdays=[4, 0, 1, 2, 3])
    happy = promo(session, "happy hour", hours=[["15:00", "17:00"]])
    late = promo(session, "late night weekend", weekdays=[4, 5], hours=[["22:00", "02:00"]])
    assert weekday.weekdays == [0, 1, 2, 3, 4]
    assert valid_at(weekday, at(3, 0, 30), JAKARTA) and valid_at(weekday, at(7, 23, 59), JAKARTA)
    assert not valid_at(weekday, at(8, 12), JAKARTA) and not valid_at(weekday, at(9, 12), JAKARTA)
    # Monday 00:30 in Jakarta is still Sunday in UTC: the shop's day counts.
    assert not valid_at(weekday, at(9, 23, 30), JAKARTA) and valid_at(weekday, at(10, 0, 30), JAKARTA)
    assert valid_at(happy, at(4, 15), JAKARTA) and not valid_at(happy, at(4, 17), JAKARTA)
    assert not valid_at(happy, at(4, 14, 59), JAKARTA)
    # A window past midnight belongs to the day it starts: Saturday 01:00 is Friday night's.
    assert valid_at(late, at(8, 1), JAKARTA) and valid_at(late, at(9, 1), JAKARTA)
    assert not valid_at(late, at(7, 1), JAKARTA) and not valid_at(late, at(10, 1), JAKARTA)
    contact = Contact(display_name="Budi", tags=[], language="id")
    saturday = titles(promotions_for(session=session, contact=contact, now=at(8, 15, 30), tz=JAKARTA))
    assert saturday == ["happy hour"]
    assert titles(promotions_for(session=session, contact=contact, now=at(8, 15, 30), tz=JAKARTA, any_hour=True)) == [
        "weekday", "happy hour", "late night weekend"]
    assert titles(promotions.list_promotions(session=session, active_at=at(3, 12), tz=JAKARTA)) == ["weekday"]


def test_validity_is_worded_for_the_customer(session):
    assert validity_text(promo(session, "a", weekdays=[0, 1, 2, 3, 4]), "id") == "Senin–Jumat"
    assert validity_text(promo(session, "b", weekdays=[0, 1, 2, 3, 4], hours=[["10:00", "14:00"]]), "en") == (
        "Mon–Fri, 10:00–14:00")
    assert validity_text(promo(session, "c", weekdays=[5, 6]), "id") == "Sabtu, Minggu"
    assert validity_text(promo(session, "d", hours=[["15:00", "17:00"]]), "id") == "15:00–17:00"
    assert validity_text(promo(session, "e", weekdays=list(range(7))), "en") == ""
    assert validity_text(promo(session, "f"), "en") == ""


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
    weekday = session.exec(select(promotions.Promotion).where(promotions.Promotion.title == "Paket Hemat Weekday")).one()
    assert weekday.weekdays == [0, 1, 2, 3, 4]
