"""Nearest-store lookup for shared locations and typed area names.

When a customer shares a location (LINE location message, Telegram location)
we answer with the nearest branches; when they type an area ("cabang terdekat
di jaksel dong") we resolve it through a small built-in gazetteer first.

Distances are great-circle distances on a sphere of the IUGG mean earth radius.
The index stores every place as a 3D unit vector and searches a scipy
``cKDTree`` with straight-line (chord) distances.  Chord length is a strictly
increasing function of the great-circle angle, so the chord ordering *is* the
great-circle ordering, and the conversion between the two is exact:

    chord = 2 * sin(theta / 2),   theta = distance_km / EARTH_RADIUS_KM

Working on the unit sphere (rather than a lat/lon grid) means the antimeridian
and the poles need no special cases: lon 179.9 and lon -179.9 are simply two
nearby vectors.

The module is pure (no I/O, no global state besides constants) and an index is
immutable once built, so one instance can be shared between threads.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

__all__ = [
    "AREAS",
    "AREA_ALIASES",
    "EARTH_RADIUS_KM",
    "NearestIndex",
    "Place",
    "find_area",
    "haversine_km",
    "MapPinError",
    "map_link",
    "map_pin",
    "valid_coordinates",
]

#: IUGG mean earth radius (R1).  Shared by haversine_km and NearestIndex so the
#: two agree to floating-point precision.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    """Anything with coordinates: a store, a branch, a pickup point."""

    id: int
    lat: float
    lon: float


def valid_coordinates(lat: Any, lon: Any) -> bool:
    """True if lat/lon are finite real numbers with lat in [-90, 90] and lon in [-180, 180]."""
    # bool is an int subclass; a stray True/False is a bug upstream, not a coordinate.
    # Strings are rejected too: parsing belongs to the caller, not to a distance check.
    for value in (lat, lon):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not math.isfinite(value):
            return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def _check_coordinates(lat: Any, lon: Any) -> None:
    if not valid_coordinates(lat, lon):
        raise ValueError(
            f"invalid coordinates lat={lat!r}, lon={lon!r}: expected finite numbers "
            "with latitude in [-90, 90] and longitude in [-180, 180]"
        )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in decimal degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    # Rounding can push `a` a hair outside [0, 1] for antipodal points.
    a = min(1.0, max(0.0, a))
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def map_link(lat: float, lon: float) -> str:
    """Google Maps search URL for a point, coordinates with 6 decimals (~0.1 m)."""
    _check_coordinates(lat, lon)
    return f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}"


class MapPinError(ValueError):
    """A map pin that gives no coordinates; `code` says why ("short_link", "out_of_range", "unreadable")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_NUMBER = r"(-?\d{1,3}(?:\.\d+)?)"
_PAIR = re.compile(rf"{_NUMBER}\s*,\s*{_NUMBER}")
# Where a Google Maps link carries the point: the place's own pin (!3d lat !4d lon) is
# more exact than the view's centre (@lat,lon,zoom); ?q= / ?query= / ?ll= hold a searched point.
_LINK_PINS = (re.compile(rf"!3d{_NUMBER}!4d{_NUMBER}"), re.compile(rf"@{_NUMBER},{_NUMBER}"),
              re.compile(rf"[?&](?:q|query|ll|center|destination)=(?:loc:)?{_NUMBER}(?:,|%2C)\s*(?:\+|%20)?{_NUMBER}",
                         re.IGNORECASE))
# Short links only redirect to the real one, which needs the network to find out.
_SHORT_LINK = re.compile(r"^(?:https?://)?(?:maps\.app\.goo\.gl|goo\.gl/maps|g\.co/kgs)/", re.IGNORECASE)


def map_pin(text: str) -> tuple[float, float]:
    """(lat, lon) from typed coordinates ("-6.26, 106.81") or a pasted Google Maps link; MapPinError when none."""
    typed = (text or "").strip()
    if _SHORT_LINK.match(typed):
        raise MapPinError("short_link", "a short maps link cannot be read offline; paste the coordinates instead")
    if _PAIR.fullmatch(typed):
        found = [_PAIR.fullmatch(typed)]
    elif typed.lower().startswith(("http://", "https://", "maps.google.", "www.google.", "google.")):
        found = [match for match in (pattern.search(typed) for pattern in _LINK_PINS) if match]
    else:
        found = []
    for match in found:
        lat, lon = float(match.group(1)), float(match.group(2))
        if not valid_coordinates(lat, lon):
            raise MapPinError("out_of_range", f"latitude must be in [-90, 90] and longitude in [-180, 180], "
                                              f"got {lat:g}, {lon:g}")
        return lat, lon
    raise MapPinError("unreadable", f"no coordinates in {typed[:80]!r}: type them as lat, lon (e.g. -6.2615, 106.8106)")


# --------------------------------------------------------------------------- #
# Chord <-> great-circle conversions
# --------------------------------------------------------------------------- #

# Half the circumference: no two points on the sphere are further apart.
_MAX_ARC_KM = math.pi * EARTH_RADIUS_KM


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def _unit_vector(lat_deg: float, lon_deg: float) -> list[float]:
    # Scalar twin of _unit_vectors for queries: math on floats is several times
    # cheaper than building one-element numpy arrays, and this is the hot path.
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    cos_lat = math.cos(lat)
    return [cos_lat * math.cos(lon), cos_lat * math.sin(lon), math.sin(lat)]


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    # Clip: a chord of two nearly antipodal unit vectors can round to 2 + 1 ulp.
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))


def _km_to_chord(km: float) -> float:
    if km >= _MAX_ARC_KM:
        return 2.0
    return 2.0 * math.sin(km / (2.0 * EARTH_RADIUS_KM))


def _check_radius(name: str, km: Any) -> float:
    if isinstance(km, bool) or not isinstance(km, numbers.Real) or math.isnan(km) or km < 0:
        raise ValueError(f"{name} must be a non-negative number of km, got {km!r}")
    return float(km)


class NearestIndex:
    """Nearest places by great-circle distance (scipy cKDTree over unit-sphere 3D points)."""

    def __init__(self, places: Iterable[Place]) -> None:
        """Build the index; any object with ``id``, ``lat`` and ``lon`` attributes works."""
        places = list(places)
        for p in places:
            if not valid_coordinates(p.lat, p.lon):
                raise ValueError(
                    f"place {p.id!r} has invalid coordinates lat={p.lat!r}, lon={p.lon!r}"
                )
        # Plain Python list so callers get their own id objects back, not numpy scalars.
        self._ids: list[Any] = [p.id for p in places]
        if places:
            # Imported here: SciPy costs a process ~30 MB, and web processes rarely search.
            from scipy.spatial import cKDTree

            lats = np.fromiter((p.lat for p in places), dtype=np.float64, count=len(places))
            lons = np.fromiter((p.lon for p in places), dtype=np.float64, count=len(places))
            self._points = _unit_vectors(lats, lons)
            self._tree: cKDTree | None = cKDTree(self._points)
        else:
            # cKDTree accepts zero points, but its query then returns sentinel
            # indices; an explicit None keeps the empty case obvious.
            self._points = np.empty((0, 3))
            self._tree = None

    def __len__(self) -> int:
        """Number of indexed places."""
        return len(self._ids)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} places)"

    def nearest(
        self, lat: float, lon: float, *, k: int = 3, max_km: float | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` nearest places as ``[(place_id, distance_km)]``, closest first."""
        _check_coordinates(lat, lon)
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        bound = math.inf if max_km is None else _check_radius("max_km", max_km)
        if self._tree is None:
            return []

        k = min(int(k), len(self._ids))  # cKDTree would pad the missing ones with inf
        if bound >= _MAX_ARC_KM:
            chord_bound = math.inf
        else:
            # cKDTree's upper bound is strict (<) and the chord is rounded, so
            # search a hair wider and apply the inclusive km bound afterwards;
            # the km value we filter on is exactly the one we return.
            chord_bound = _km_to_chord(bound) * (1.0 + 1e-9) + 1e-12
        # A list for k keeps the result 1-D even when k == 1.
        chords, idx = self._tree.query(
            _unit_vector(lat, lon), k=list(range(1, k + 1)), distance_upper_bound=chord_bound
        )
        # k is small, so plain Python beats numpy's per-call overhead here.
        ids = self._ids
        out: list[tuple[Any, float]] = []
        for chord, i in zip(chords.tolist(), idx.tolist()):
            if chord == math.inf:  # fewer than k places inside the bound
                break
            d = 2.0 * EARTH_RADIUS_KM * math.asin(min(chord / 2.0, 1.0))
            if d <= bound:
                out.append((ids[i], d))
        return out

    def within(self, lat: float, lon: float, km: float) -> list[tuple[int, float]]:
        """All places within ``km`` as ``[(place_id, distance_km)]``, closest first."""
        _check_coordinates(lat, lon)
        bound = _check_radius("km", km)
        if self._tree is None:
            return []

        query = np.array(_unit_vector(lat, lon))
        # Same slack as in nearest(); the exact inclusive test happens in km below.
        chord_bound = min(_km_to_chord(bound) * (1.0 + 1e-9) + 1e-12, 2.0 + 1e-9)
        idx = np.asarray(self._tree.query_ball_point(query, chord_bound), dtype=np.intp)
        if idx.size == 0:
            return []
        # Recompute chords ourselves: query_ball_point returns indices only.
        kms = _chord_to_km(np.linalg.norm(self._points[idx] - query, axis=1))
        keep = kms <= bound
        idx, kms = idx[keep], kms[keep]
        # Stable sort so equidistant places keep index order (deterministic replies).
        order = np.argsort(kms, kind="stable")
        ids = self._ids
        return [(ids[i], float(kms[j])) for j, i in zip(order.tolist(), idx[order].tolist())]


# --------------------------------------------------------------------------- #
# Gazetteer
# --------------------------------------------------------------------------- #

#: Canonical area name -> (lat, lon) of a representative centre point.
#: Rough centroids / landmarks: good enough to rank stores, not for delivery.
AREAS: dict[str, tuple[float, float]] = {
    # Jakarta: city, administrative cities and popular neighbourhoods
    "Jakarta": (-6.2088, 106.8456),
    "Jakarta Pusat": (-6.1805, 106.8284),
    "Jakarta Selatan": (-6.2615, 106.8106),
    "Jakarta Barat": (-6.1674, 106.7637),
    "Jakarta Timur": (-6.2250, 106.9004),
    "Jakarta Utara": (-6.1384, 106.8637),
    "Kemang": (-6.2607, 106.8137),
    "Blok M": (-6.2443, 106.8000),
    "Sudirman": (-6.2146, 106.8180),
    "SCBD": (-6.2254, 106.8085),
    "Senayan": (-6.2183, 106.8020),
    "Kuningan": (-6.2297, 106.8296),
    "Menteng": (-6.1962, 106.8330),
    "Tanah Abang": (-6.1858, 106.8113),
    "Kota Tua": (-6.1352, 106.8133),
    "Kelapa Gading": (-6.1588, 106.9056),
    "PIK": (-6.1090, 106.7400),
    "Pondok Indah": (-6.2655, 106.7843),
    "Tebet": (-6.2263, 106.8543),
    "Cibubur": (-6.3667, 106.8930),
    # Greater Jakarta (Jabodetabek)
    "BSD": (-6.3020, 106.6522),
    "Alam Sutera": (-6.2420, 106.6530),
    "Tangerang": (-6.1783, 106.6319),
    "Tangerang Selatan": (-6.2886, 106.7179),
    "Bekasi": (-6.2383, 106.9756),
    "Depok": (-6.4025, 106.7942),
    "Bogor": (-6.5971, 106.8060),
    # Java
    "Bandung": (-6.9218, 107.6070),  # Alun-alun Bandung
    "Dago": (-6.8850, 107.6136),
    "Cirebon": (-6.7320, 108.5523),
    "Semarang": (-6.9932, 110.4203),
    "Yogyakarta": (-7.7956, 110.3695),
    "Solo": (-7.5755, 110.8243),
    "Surabaya": (-7.2575, 112.7521),
    "Malang": (-7.9666, 112.6326),
    # Bali & Nusa Tenggara
    "Denpasar": (-8.6705, 115.2126),
    "Kuta": (-8.7180, 115.1686),
    "Seminyak": (-8.6913, 115.1682),
    "Ubud": (-8.5069, 115.2625),
    "Mataram": (-8.5833, 116.1167),
    # Sumatra
    "Medan": (3.5952, 98.6722),
    "Pekanbaru": (0.5071, 101.4478),
    "Padang": (-0.9471, 100.4172),
    "Palembang": (-2.9761, 104.7754),
    "Bandar Lampung": (-5.3971, 105.2668),
    "Batam": (1.0456, 104.0305),
    # Kalimantan, Sulawesi, Papua
    "Pontianak": (-0.0263, 109.3425),
    "Banjarmasin": (-3.3186, 114.5944),
    "Balikpapan": (-1.2379, 116.8529),
    "Samarinda": (-0.5022, 117.1536),
    "Makassar": (-5.1477, 119.4327),
    "Manado": (1.4748, 124.8421),
    "Jayapura": (-2.5337, 140.7181),
}

#: Extra spellings -> canonical AREAS key.  Canonical names match on their own.
AREA_ALIASES: dict[str, str] = {
    "jaksel": "Jakarta Selatan",
    "south jakarta": "Jakarta Selatan",
    "jakpus": "Jakarta Pusat",
    "central jakarta": "Jakarta Pusat",
    "jakbar": "Jakarta Barat",
    "west jakarta": "Jakarta Barat",
    "jaktim": "Jakarta Timur",
    "east jakarta": "Jakarta Timur",
    "jakut": "Jakarta Utara",
    "north jakarta": "Jakarta Utara",
    "jkt": "Jakarta",
    "dki jakarta": "Jakarta",
    "blokm": "Blok M",
    "block m": "Blok M",
    "mega kuningan": "Kuningan",
    "kuningan city": "Kuningan",
    "kota lama jakarta": "Kota Tua",
    "klp gading": "Kelapa Gading",
    "pantai indah kapuk": "PIK",
    "bsd city": "BSD",
    "bumi serpong damai": "BSD",
    "serpong": "BSD",
    "tangsel": "Tangerang Selatan",
    "south tangerang": "Tangerang Selatan",
    "bdg": "Bandung",
    "sby": "Surabaya",
    "jogja": "Yogyakarta",
    "jogjakarta": "Yogyakarta",
    "yogya": "Yogyakarta",
    "jogya": "Yogyakarta",
    "djogja": "Yogyakarta",
    "yogjakarta": "Yogyakarta",
    "jokja": "Yogyakarta",
    "surakarta": "Solo",
    "smg": "Semarang",
    "bali": "Denpasar",
    "dps": "Denpasar",
    "lombok": "Mataram",
    "lampung": "Bandar Lampung",
    "ujung pandang": "Makassar",
    "mks": "Makassar",
    "pku": "Pekanbaru",
}


def _normalize(text: str) -> str:
    # Fold case and accents, and turn punctuation into spaces so "Blok-M",
    # "blok  m" and "Jl.Sudirman" all compare equal to their plain forms.
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.split(r"[\W_]+", text)).strip()


def _build_area_matcher() -> tuple[re.Pattern[str], dict[str, str]]:
    lookup: dict[str, str] = {_normalize(name): name for name in AREAS}
    for alias, canonical in AREA_ALIASES.items():
        if canonical not in AREAS:  # guard against a typo in the table above
            raise RuntimeError(f"alias {alias!r} points at unknown area {canonical!r}")
        lookup[_normalize(alias)] = canonical
    # Longest alternatives first: at any position the regex then prefers
    # "jakarta selatan" over "jakarta".
    keys = sorted(lookup, key=lambda s: (-len(s), s))
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, keys)) + r")(?!\w)")
    return pattern, lookup


_AREA_PATTERN, _AREA_LOOKUP = _build_area_matcher()


def find_area(text: str) -> tuple[str, float, float] | None:
    """Area mentioned in a free-text message as ``(canonical_name, lat, lon)``, or None."""
    if not text:
        return None
    matches = [m.group(0) for m in _AREA_PATTERN.finditer(_normalize(text))]
    if not matches:
        return None
    # Several areas mentioned: the longest (most specific-looking) name wins,
    # ties go to the first mention.  finditer already yields them in order.
    best = max(matches, key=len)
    name = _AREA_LOOKUP[best]
    lat, lon = AREAS[name]
    return name, lat, lon
