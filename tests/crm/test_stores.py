"""Stores: opening hours (past midnight, closed days), nearest-store search and its cache."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from crm import stores
from core.db import session_scope
from crm.stores import Store, store_open_at, opening_text, validate_opening_hours

JKT = ZoneInfo("Asia/Jakarta")
HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": []}
LATE = {day: [["10:00", "02:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
KEMANG, BLOK_M, SCBD, BANDUNG = (-6.2608, 106.8137), (-6.2441, 106.7997), (-6.2255, 106.8088), (-6.8853, 107.6134)


def local(*args: int) -> datetime:
    """A Jakarta wall-clock time (2024-06-03 is a Monday)."""
    return datetime(*args, tzinfo=JKT)


@pytest.mark.parametrize(("at", "expected"), [
    (local(2024, 6, 3, 7, 59), False), (local(2024, 6, 3, 8, 0), True), (local(2024, 6, 3, 21, 59), True),
    (local(2024, 6, 3, 22, 0), False), (local(2024, 6, 9, 12, 0), False),  # Sunday: closed
])
def test_is_open_within_windows(at, expected):
    assert store_open_at(Store(name="x", lat=0, lon=0, opening_hours=HOURS), at, JKT) is expected


def test_window_past_midnight_counts_on_the_next_morning():
    store = Store(name="late", lat=0, lon=0, opening_hours={"sat": [["10:00", "02:00"]]})
    assert store_open_at(store, local(2024, 6, 8, 23, 30), JKT)  # Saturday night
    assert store_open_at(store, local(2024, 6, 9, 1, 59), JKT)  # Sunday 01:59 still Saturday's window
    assert not store_open_at(store, local(2024, 6, 9, 2, 0), JKT)
    assert not store_open_at(store, local(2024, 6, 8, 1, 0), JKT)  # Friday had no window
    assert opening_text(store, local(2024, 6, 8, 23, 30), JKT, "id") == "buka sampai 02:00"


def test_utc_instants_are_read_in_the_shop_timezone():
    store = Store(name="x", lat=0, lon=0, opening_hours=HOURS)
    # 01:30 UTC Monday = 08:30 in Jakarta.
    assert store_open_at(store, datetime(2024, 6, 3, 1, 30, tzinfo=timezone.utc), JKT)
    assert not store_open_at(store, datetime(2024, 6, 3, 1, 30, tzinfo=timezone.utc), ZoneInfo("UTC"))


@pytest.mark.parametrize(("at", "lang", "text"), [
    (local(2024, 6, 3, 9, 0), "id", "buka sampai 22:00"),
    (local(2024, 6, 3, 9, 0), "en", "open until 22:00"),
    (local(2024, 6, 3, 6, 0), "id", "tutup, buka lagi hari ini 08:00"),
    (local(2024, 6, 3, 23, 0), "en", "closed, opens tomorrow 08:00"),
    (local(2024, 6, 8, 23, 0), "id", "tutup, buka lagi Senin 08:00"),  # Saturday night, Sunday closed
    (local(2024, 6, 8, 23, 0), "en", "closed, opens Monday 08:00"),
])
def test_opening_text(at, lang, text):
    assert opening_text(Store(name="x", lat=0, lon=0, opening_hours=HOURS), at, JKT, lang) == text


def test_opening_text_for_always_open_and_never_open_stores():
    always = Store(name="x", lat=0, lon=0, opening_hours={d: [["00:00", "24:00"]] for d in stores.WEEKDAYS})
    assert opening_text(always, local(2024, 6, 3, 3, 0), JKT, "id") == "buka 24 jam"
    assert opening_text(Store(name="x", lat=0, lon=0, opening_hours={}), None, JKT, "en") == "temporarily closed"


def test_next_store_opening_after_closing_past_midnight_and_on_closed_days():
    store = Store(name="x", lat=0, lon=0, opening_hours=HOURS)  # Mon–Sat 08–22, Sunday closed
    assert stores.next_store_opening(store, local(2024, 6, 3, 7, 0), JKT) == local(2024, 6, 3, 8, 0)
    assert stores.next_store_opening(store, local(2024, 6, 3, 12, 0), JKT) == local(2024, 6, 4, 8, 0)  # open: next
    assert stores.next_store_opening(store, local(2024, 6, 8, 22, 0), JKT) == local(2024, 6, 10, 8, 0)  # skips Sunday
    late = Store(name="x", lat=0, lon=0, opening_hours=LATE)
    assert not store_open_at(late, local(2024, 6, 4, 2, 0), JKT)
    assert stores.next_store_opening(late, local(2024, 6, 4, 2, 0), JKT) == local(2024, 6, 4, 10, 0)
    opens = stores.next_store_opening(store, datetime(2024, 6, 3, 0, 0, tzinfo=timezone.utc), JKT)
    assert opens == local(2024, 6, 3, 8, 0) and opens.utcoffset().total_seconds() == 7 * 3600  # it was 07:00 there
    assert stores.next_store_opening(Store(name="x", lat=0, lon=0, opening_hours={}), None, JKT) is None


def test_validate_opening_hours_normalises_and_rejects_bad_input():
    assert validate_opening_hours({"mon": [["08:00", "17:00"]]})["sun"] == []
    for bad in ({"monday": []}, {"mon": [["8:00", "17:00"]]}, {"mon": [["08:00", "25:00"]]},
                {"mon": [["08:00"]]}, {"mon": "08-17"}, {"mon": [["10:00", "10:00"]]}, {"mon": [["24:00", "02:00"]]},
                ["mon"]):
        with pytest.raises(ValueError):
            validate_opening_hours(bad)


@pytest.fixture
def three_stores(runtime):
    with session_scope(runtime.engine) as session:
        for name, (lat, lon), hours in (("Kemang", KEMANG, LATE), ("Blok M", BLOK_M, HOURS), ("SCBD", SCBD, HOURS),
                                        ("Dago", BANDUNG, HOURS)):
            stores.create_store(session=session, name=name, lat=lat, lon=lon, area="Jakarta Selatan",
                                opening_hours=hours)


def test_nearest_stores_closest_first_with_distance_and_map_link(session, three_stores):
    hits = stores.nearest_stores(session=session, lat=-6.2615, lon=106.8106, at=local(2024, 6, 3, 12, 0))
    assert [h.store.name for h in hits] == ["Kemang", "Blok M", "SCBD"]
    assert 0.3 < hits[0].km < 0.5 and all(a.km <= b.km for a, b in zip(hits, hits[1:]))
    assert hits[0].open_now and hits[0].map_url.endswith("query=-6.260800,106.813700")
    assert len(stores.nearest_stores(session=session, lat=KEMANG[0], lon=KEMANG[1], k=1)) == 1


def test_nearest_open_only_skips_closed_stores(session, three_stores):
    sunday_noon = local(2024, 6, 9, 12, 0)  # only the late store opens on Sunday
    hits = stores.nearest_stores(session=session, lat=SCBD[0], lon=SCBD[1], at=sunday_noon, open_only=True)
    assert [h.store.name for h in hits] == ["Kemang"]


def test_far_away_point_and_invalid_coordinates(session, three_stores):
    assert stores.nearest_stores(session=session, lat=-20.0, lon=80.0) == []  # Indian Ocean
    for lat, lon in ((91, 0), (0, 181), (float("nan"), 0), ("-6.2", "106.8")):
        with pytest.raises(ValueError):
            stores.nearest_stores(session=session, lat=lat, lon=lon)


def test_index_is_cached_and_rebuilt_when_stores_change(runtime, three_stores):
    with session_scope(runtime.engine) as session:
        stores.nearest_stores(session=session, lat=KEMANG[0], lon=KEMANG[1])
        index = stores._index_cache[str(runtime.engine.url)][1]
        stores.nearest_stores(session=session, lat=SCBD[0], lon=SCBD[1])
        assert stores._index_cache[str(runtime.engine.url)][1] is index  # unchanged: reused
        kemang = session.exec(stores.select(Store).where(Store.name == "Kemang")).one()
        stores.update_store(session=session, store=kemang, changes={"active": False})
    with session_scope(runtime.engine) as session:
        hits = stores.nearest_stores(session=session, lat=KEMANG[0], lon=KEMANG[1])
        assert "Kemang" not in [h.store.name for h in hits]
        assert stores._index_cache[str(runtime.engine.url)][1] is not index


def test_create_and_update_validate(session):
    with pytest.raises(ValueError):
        stores.create_store(session=session, name="x", lat=100, lon=0)
    store = stores.create_store(session=session, name="x", lat=1, lon=2, opening_hours={"mon": [["08:00", "10:00"]]})
    before = store.updated_at
    stores.update_store(session=session, store=store, changes={"phone": "021-1"})
    assert store.updated_at > before and store.opening_hours["tue"] == []
    with pytest.raises(ValueError):
        stores.update_store(session=session, store=store, changes={"opening_hours": {"xyz": []}})
    with pytest.raises(ValueError):
        stores.update_store(session=session, store=store, changes={"nope": 1})


def test_stores_in_area_uses_gazetteer_then_store_areas(session):
    assert stores.stores_in_area(session=session, text="cabang terdekat di jaksel dong")[0] == "Jakarta Selatan"
    assert stores.stores_in_area(session=session, text="yg dekat blok m")[0] == "Blok M"
    assert stores.stores_in_area(session=session, text="ada di gandaria?") is None
    stores.create_store(session=session, name="Sapa Gandaria", lat=-6.2442, lon=106.7834, area="Gandaria City")
    assert stores.stores_in_area(session=session, text="ada di gandaria city?") == ("Gandaria City", -6.2442, 106.7834)
    assert stores.stores_in_area(session=session, text="") is None


def test_demo_catalog_loads_once(session):
    from crm.demo_catalog import load_catalog

    assert load_catalog(session) is True
    assert load_catalog(session) is False
    names = [s.name for s in stores.list_stores(session=session)]
    assert len(names) == 8 and "Sapa Coffee Kemang" in names
    hits = stores.nearest_stores(session=session, lat=-6.2615, lon=106.8106, at=datetime.now(timezone.utc))
    assert hits[0].store.name == "Sapa Coffee Kemang"
    scbd = next(s for s in stores.list_stores(session=session) if "SCBD" in s.name)
    assert not store_open_at(scbd, local(2024, 6, 9, 12, 0), JKT)  # closed on Sunday
    assert opening_text(scbd, local(2024, 6, 9, 12, 0), JKT, "id") == "tutup, buka lagi besok 06:30"


# --- exceptions: holidays, Ramadan hours, a day off -------------------------------------------

IDUL_FITRI = {"label": "Idul Fitri", "start": "2024-06-04", "end": "2024-06-05", "closed": True}  # Tue–Wed
RAMADAN = {"label": "Ramadan", "start": "2024-06-06", "end": "2024-06-07", "windows": [["10:00", "16:00"]]}


def with_exceptions(*exceptions: dict, hours: dict = HOURS) -> Store:
    return Store(name="x", lat=0, lon=0, opening_hours=hours, hours_exceptions=stores.validate_exceptions(
        list(exceptions)))


def test_a_holiday_closes_the_store_and_the_next_opening_is_after_it():
    store = with_exceptions(IDUL_FITRI, RAMADAN)
    assert store_open_at(store, local(2024, 6, 3, 12, 0), JKT)  # Monday: the weekly hours
    assert not store_open_at(store, local(2024, 6, 4, 12, 0), JKT)  # the holiday
    assert opening_text(store, local(2024, 6, 4, 12, 0), JKT, "id") == "tutup (Idul Fitri), buka lagi Kamis 10:00"
    assert opening_text(store, local(2024, 6, 4, 12, 0), JKT, "en") == "closed (Idul Fitri), opens Thursday 10:00"
    # Monday evening the next opening skips both holiday days and keeps Ramadan's later start.
    assert stores.next_store_opening(store, local(2024, 6, 3, 22, 0), JKT) == local(2024, 6, 6, 10, 0)
    assert store_open_at(store, local(2024, 6, 6, 15, 59), JKT)
    assert not store_open_at(store, local(2024, 6, 6, 16, 0), JKT)
    assert opening_text(store, local(2024, 6, 6, 12, 0), JKT, "en") == "open until 16:00 (Ramadan)"
    assert stores.hours_open_at(HOURS, local(2024, 6, 4, 12, 0), JKT)  # without the exceptions: open


def test_a_closure_longer_than_a_week_still_finds_the_opening_after_it():
    renovation = {"label": "Renovasi", "start": "2024-06-03", "end": "2024-06-20", "closed": True}
    store = with_exceptions(renovation)
    assert stores.next_store_opening(store, local(2024, 6, 3, 9, 0), JKT) == local(2024, 6, 21, 8, 0)
    assert opening_text(store, local(2024, 6, 3, 9, 0), JKT, "id") == "tutup (Renovasi), buka lagi Jumat 21/06 08:00"


@pytest.mark.parametrize(("bad", "field"), [
    ({"label": "x", "start": "2024-06-05", "end": "2024-06-04", "closed": True}, "hours_exceptions.0.end"),
    ({"label": "x", "start": "2024-13-01", "closed": True}, "hours_exceptions.0.start"),
    ({"label": "x", "start": "2024-06-05"}, "hours_exceptions.0:"),  # neither closed nor windows
    ({"label": "x", "start": "2024-06-05", "closed": True, "windows": [["10:00", "12:00"]]}, "hours_exceptions.0:"),
    ({"label": "x", "start": "2024-06-05", "windows": [["12:00", "12:00"]]}, "hours_exceptions.0.windows"),
    ({"label": "", "start": "2024-06-05", "closed": True}, "hours_exceptions.0.label"),
    ({"label": "x", "start": "2024-01-01", "end": "2025-06-01", "closed": True}, "hours_exceptions.0.end"),
])
def test_bad_exceptions_are_refused_naming_the_field(bad, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        stores.validate_exceptions([bad])


def test_overlapping_exceptions_are_refused_and_the_store_keeps_its_own(runtime):
    with pytest.raises(ValueError, match="overlap on 2024-06-05"):
        stores.validate_exceptions([IDUL_FITRI, {"label": "Cuti", "start": "2024-06-05", "closed": True}])
    with session_scope(runtime.engine) as session:
        store = stores.create_store(session=session, name="x", lat=0, lon=0, opening_hours=HOURS,
                                    hours_exceptions=[IDUL_FITRI])
        with pytest.raises(ValueError):
            stores.update_store(session=session, store=store, changes={"hours_exceptions": [{"label": "x"}]})
    with session_scope(runtime.engine) as session:
        [stored] = session.get(Store, store.id).hours_exceptions
        assert stored == {**IDUL_FITRI, "windows": []}


def test_windows_typed_in_a_form():
    assert stores.parse_windows("08:00-12:00, 13:00 – 17:00") == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert stores.parse_windows(" ") == []
    for bad in ("8-17", "08:00", "08:00-08:00", "08:00-12:00-13:00"):
        with pytest.raises(ValueError):
            stores.parse_windows(bad)
