"""Tests for core.geo: distances, the nearest-store index and the gazetteer."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.geo import (
    AREA_ALIASES,
    AREAS,
    EARTH_RADIUS_KM,
    NearestIndex,
    Place,
    find_area,
    haversine_km,
    map_link,
    valid_coordinates,
)

MONAS = (-6.1754, 106.8272)
BANDUNG = (-6.9218, 107.6070)  # Alun-alun Bandung
ONE_METRE_KM = 1e-3


def _vincenty_sphere_km(lat1, lon1, lat2, lon2):
    """Independent great-circle formula (atan2 form), well conditioned everywhere."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.hypot(
        math.cos(p2) * math.sin(dl),
        math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl),
    )
    x = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return EARTH_RADIUS_KM * math.atan2(y, x)


def _brute(places, lat, lon):
    return sorted((haversine_km(lat, lon, p.lat, p.lon), p.id) for p in places)


lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
world_points = st.tuples(lats, lons)
# Points packed into a few km around Jakarta: close distances and near-ties.
jakarta_points = st.tuples(
    st.floats(min_value=-6.30, max_value=-6.10), st.floats(min_value=106.70, max_value=106.95)
)
points = st.one_of(world_points, jakarta_points)
place_lists = st.lists(points, min_size=0, max_size=40).map(
    lambda pts: [Place(i, lat, lon) for i, (lat, lon) in enumerate(pts)]
)


# --------------------------------------------------------------------------- #
# haversine_km / valid_coordinates / map_link
# --------------------------------------------------------------------------- #


def test_monas_to_bandung_is_about_120_km():
    d = haversine_km(*MONAS, *BANDUNG)
    assert 117 <= d <= 120
    assert d == pytest.approx(_vincenty_sphere_km(*MONAS, *BANDUNG), abs=ONE_METRE_KM)


def test_haversine_basics():
    assert haversine_km(*MONAS, *MONAS) == 0.0
    assert haversine_km(*MONAS, *BANDUNG) == haversine_km(*BANDUNG, *MONAS)
    # A quarter of a great circle: equator to pole.
    assert haversine_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM)
    # Antipodes: half the circumference, no math domain error.
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    # Antimeridian: 0.2 degrees of longitude on the equator, not 359.8.
    assert haversine_km(0, 179.9, 0, -179.9) == pytest.approx(0.2 * math.pi / 180 * EARTH_RADIUS_KM)


@given(world_points, world_points)
def test_haversine_matches_independent_formula(a, b):
    assert haversine_km(*a, *b) == pytest.approx(_vincenty_sphere_km(*a, *b), abs=ONE_METRE_KM)


@pytest.mark.parametrize(
    "lat, lon, ok",
    [
        (0, 0, True),
        (90, 180, True),
        (-90, -180, True),
        (-6.2, 106.8, True),
        (90.0001, 0, False),
        (0, -180.0001, False),
        (math.nan, 0, False),
        (0, math.inf, False),
        (None, 0, False),
        ("-6.2", "106.8", False),
        (True, 0, False),
    ],
)
def test_valid_coordinates(lat, lon, ok):
    assert valid_coordinates(lat, lon) is ok


def test_map_link():
    assert map_link(-6.1754, 106.8272) == (
        "https://www.google.com/maps/search/?api=1&query=-6.175400,106.827200"
    )
    assert map_link(1.23456789, -0.5) == (
        "https://www.google.com/maps/search/?api=1&query=1.234568,-0.500000"
    )
    with pytest.raises(ValueError):
        map_link(100, 0)


def test_place_is_frozen():
    p = Place(1, -6.2, 106.8)
    with pytest.raises(FrozenInstanceError):
        p.lat = 0  # type: ignore[misc]


# --------------------------------------------------------------------------- #
# NearestIndex
# --------------------------------------------------------------------------- #


def test_nearest_known_stores():
    idx = NearestIndex(
        [Place(1, *MONAS), Place(2, *BANDUNG), Place(3, *AREAS["Surabaya"])]
    )
    assert len(idx) == 3
    got = idx.nearest(-6.2, 106.82, k=2)
    assert [pid for pid, _ in got] == [1, 2]
    for pid, d in got:
        p = {1: MONAS, 2: BANDUNG}[pid]
        assert d == pytest.approx(haversine_km(-6.2, 106.82, *p), abs=ONE_METRE_KM)


def test_results_are_plain_python_types():
    idx = NearestIndex([Place(7, *MONAS)])
    [(pid, d)] = idx.nearest(*MONAS)
    assert type(pid) is int and type(d) is float
    [(pid, d)] = idx.within(*MONAS, 1)
    assert type(pid) is int and type(d) is float


def test_k_larger_than_index_returns_everything():
    idx = NearestIndex([Place(1, *MONAS), Place(2, *BANDUNG)])
    assert [pid for pid, _ in idx.nearest(*MONAS, k=50)] == [1, 2]
    assert [pid for pid, _ in idx.nearest(*MONAS, k=1)] == [1]


@pytest.mark.parametrize("k", [0, -1, 1.5, True, None])
def test_bad_k_raises(k):
    with pytest.raises(ValueError, match="k must be"):
        NearestIndex([Place(1, *MONAS)]).nearest(*MONAS, k=k)


def test_max_km_filters():
    idx = NearestIndex([Place(1, *MONAS), Place(2, *BANDUNG)])
    assert [pid for pid, _ in idx.nearest(*MONAS, max_km=50)] == [1]
    assert [pid for pid, _ in idx.nearest(*MONAS, max_km=200)] == [1, 2]
    # The bound is inclusive on the distance the index reports...
    d = dict(idx.nearest(*MONAS))[2]
    assert [pid for pid, _ in idx.nearest(*MONAS, max_km=d)] == [1, 2]
    last_id, last_d = idx.within(*MONAS, d * (1 + 1e-12))[-1]
    assert last_id == 2 and last_d == pytest.approx(d, abs=1e-9)  # nearest/within agree to 1 um
    # ...which agrees with haversine far below a millimetre either way.
    h = haversine_km(*MONAS, *BANDUNG)
    assert [pid for pid, _ in idx.nearest(*MONAS, max_km=h + 1e-6)] == [1, 2]
    assert [pid for pid, _ in idx.nearest(*MONAS, max_km=h - 1e-6)] == [1]
    assert idx.nearest(*BANDUNG, max_km=0) == [(2, 0.0)]


def test_location_in_the_ocean_gets_nothing_within_max_km():
    idx = NearestIndex(Place(i, lat, lon) for i, (lat, lon) in enumerate(AREAS.values()))
    indian_ocean = (-20.0, 80.0)
    assert idx.nearest(*indian_ocean, max_km=50) == []
    assert idx.within(*indian_ocean, 50) == []
    # Without a bound the caller still gets the closest stores, however far.
    assert len(idx.nearest(*indian_ocean, k=3)) == 3


@pytest.mark.parametrize("max_km", [-1, math.nan, "10"])
def test_bad_max_km_raises(max_km):
    idx = NearestIndex([Place(1, *MONAS)])
    with pytest.raises(ValueError, match="max_km"):
        idx.nearest(*MONAS, max_km=max_km)
    with pytest.raises(ValueError, match="km"):
        idx.within(*MONAS, max_km)


def test_antimeridian():
    idx = NearestIndex([Place(1, 0.0, 179.9), Place(2, 0.0, 170.0), Place(3, 0.0, -170.0)])
    [(pid, d)] = idx.nearest(0.0, -179.9, k=1)
    assert pid == 1
    assert d == pytest.approx(haversine_km(0.0, -179.9, 0.0, 179.9), abs=ONE_METRE_KM)
    assert d < 23  # 0.2 degrees of longitude at the equator ~ 22.2 km
    assert [pid for pid, _ in idx.within(0.0, 180.0, 30)] == [1]
    assert idx.nearest(0.0, -180.0, k=1)[0][0] == 1  # -180 and 180 are the same meridian


def test_poles():
    # All longitudes meet at the pole: these are the same point.
    idx = NearestIndex([Place(1, 90.0, 0.0), Place(2, 89.0, 45.0), Place(3, 89.0, -135.0)])
    [(pid, d)] = idx.nearest(90.0, 123.0, k=1)
    assert pid == 1 and d == pytest.approx(0.0, abs=1e-9)  # cos(90 deg) is ~6e-17, not 0
    # Across the pole: 89N 45E and 89N 135W are 2 degrees of latitude apart.
    [(pid, d)] = idx.nearest(89.0, -135.0, k=1, max_km=1)
    assert pid == 3 and d == 0.0
    got = dict(idx.within(89.0, 45.0, 250))
    assert set(got) == {1, 2, 3}
    assert got[3] == pytest.approx(2 * math.pi / 180 * EARTH_RADIUS_KM, abs=ONE_METRE_KM)


def test_antipodal_distance_matches_haversine():
    idx = NearestIndex([Place(1, 6.2, -73.2)])
    [(_, d)] = idx.nearest(-6.2, 106.8)
    assert d == pytest.approx(haversine_km(-6.2, 106.8, 6.2, -73.2), abs=ONE_METRE_KM)
    assert d == pytest.approx(math.pi * EARTH_RADIUS_KM, abs=ONE_METRE_KM)


def test_empty_index():
    idx = NearestIndex([])
    assert len(idx) == 0
    assert idx.nearest(*MONAS) == []
    assert idx.nearest(*MONAS, k=10, max_km=5) == []
    assert idx.within(*MONAS, 100) == []
    # Bad input is still reported, even with nothing to search.
    with pytest.raises(ValueError):
        idx.nearest(100, 0)


@pytest.mark.parametrize(
    "lat, lon",
    [(91, 0), (-91, 0), (0, 181), (0, -181), (math.nan, 0), (0, math.inf), (None, None), ("a", 1)],
)
def test_invalid_query_coordinates_raise(lat, lon):
    idx = NearestIndex([Place(1, *MONAS)])
    with pytest.raises(ValueError, match="invalid coordinates"):
        idx.nearest(lat, lon)
    with pytest.raises(ValueError, match="invalid coordinates"):
        idx.within(lat, lon, 10)


def test_invalid_place_coordinates_raise_with_place_id():
    with pytest.raises(ValueError, match="place 42"):
        NearestIndex([Place(1, *MONAS), Place(42, 95.0, 0.0)])


def test_accepts_any_object_with_coordinates():
    store = SimpleNamespace(id="store-a", lat=MONAS[0], lon=MONAS[1], name="Toko A")
    idx = NearestIndex(iter([store]))  # a one-shot iterator, e.g. a DB cursor
    assert idx.nearest(*MONAS) == [("store-a", 0.0)]


@settings(max_examples=300, deadline=None)
@given(place_lists, points, st.integers(min_value=1, max_value=50))
def test_nearest_matches_brute_force(places, query, k):
    got = NearestIndex(places).nearest(*query, k=k)
    want = _brute(places, *query)[:k]
    assert len(got) == len(want)
    got_d = [d for _, d in got]
    assert got_d == sorted(got_d)
    # Compare distances rather than ids so equidistant places may swap.
    for (_, d), (wd, _) in zip(got, want):
        assert d == pytest.approx(wd, abs=ONE_METRE_KM)
    by_id = {p.id: p for p in places}
    for pid, d in got:
        assert d == pytest.approx(haversine_km(*query, by_id[pid].lat, by_id[pid].lon), abs=ONE_METRE_KM)
    assert len({pid for pid, _ in got}) == len(got)


@settings(max_examples=300, deadline=None)
@given(
    place_lists,
    points,
    st.integers(min_value=1, max_value=50),
    st.floats(min_value=0, max_value=25_000),
)
def test_nearest_with_max_km_matches_brute_force(places, query, k, max_km):
    all_d = _brute(places, *query)
    # A place within a micrometre of the bound may fall either side by rounding.
    assume(all(abs(d - max_km) > 1e-9 for d, _ in all_d))
    got = NearestIndex(places).nearest(*query, k=k, max_km=max_km)
    want = [(d, pid) for d, pid in all_d if d <= max_km][:k]
    assert len(got) == len(want)
    assert all(d <= max_km for _, d in got)
    for (_, d), (wd, _) in zip(got, want):
        assert d == pytest.approx(wd, abs=ONE_METRE_KM)


@settings(max_examples=300, deadline=None)
@given(place_lists, points, st.floats(min_value=0, max_value=25_000))
def test_within_matches_brute_force(places, query, km):
    all_d = _brute(places, *query)
    assume(all(abs(d - km) > 1e-9 for d, _ in all_d))
    got = NearestIndex(places).within(*query, km)
    want = [(d, pid) for d, pid in all_d if d <= km]
    assert sorted(pid for pid, _ in got) == sorted(pid for _, pid in want)
    got_d = [d for _, d in got]
    assert got_d == sorted(got_d)
    for (_, d), (wd, _) in zip(got, want):
        assert d == pytest.approx(wd, abs=ONE_METRE_KM)


# --------------------------------------------------------------------------- #
# Gazetteer
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "text, area",
    [
        ("cabang terdekat di jaksel dong", "Jakarta Selatan"),
        ("near blok m?", "Blok M"),
        ("Ada toko di BLOK-M gak kak", "Blok M"),
        ("kirim ke Jakarta Selatan ya", "Jakarta Selatan"),  # not plain "Jakarta"
        ("saya di jakarta", "Jakarta"),
        ("kantor di Jl.Sudirman", "Sudirman"),
        ("outlet PIK buka jam berapa?", "PIK"),
        ("pantai indah kapuk ada?", "PIK"),
        ("lagi liburan di Jogja", "Yogyakarta"),
        ("Yogyakarta", "Yogyakarta"),
        ("ada yang di bali?", "Denpasar"),
        ("deket Dago atas", "Dago"),
        ("Kelapa   Gading", "Kelapa Gading"),
        ("di tangsel ada?", "Tangerang Selatan"),
        ("dari bekasi ke jakarta selatan", "Jakarta Selatan"),  # longest name wins
    ],
)
def test_find_area_examples(text, area):
    found = find_area(text)
    assert found is not None
    name, lat, lon = found
    assert name == area
    assert (lat, lon) == AREAS[area]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "halo kak, masih buka?",
        "blok mangga",  # word boundary: "blok m" must not match inside "blok mangga"
        "pikachu",  # nor "pik" inside a longer word
        "bekasih",
    ],
)
def test_find_area_no_match(text):
    assert find_area(text) is None


def test_gazetteer_is_consistent():
    assert len(AREAS) >= 40
    for name, (lat, lon) in AREAS.items():
        assert valid_coordinates(lat, lon), name
        # Roughly inside Indonesia's bounding box.
        assert -11 <= lat <= 6 and 95 <= lon <= 141, name
        assert find_area(name) == (name, lat, lon)
    for alias, name in AREA_ALIASES.items():
        assert find_area(f"di {alias} ada?") == (name, *AREAS[name]), alias
