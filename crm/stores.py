"""Outlets: where they are, when they are open, and which are nearest to a customer.

Opening hours are stored per weekday as local-time windows, e.g.
``{"mon": [["08:00", "22:00"]], ..., "sun": []}``. A window whose end is not after its
start (``["22:00", "02:00"]``) runs past midnight into the next day; ``"24:00"`` is
accepted as an end. Exceptions (a holiday closed, Ramadan hours for a date range, a day off)
replace the weekly windows on the local dates they cover: ``[{"label": "Idul Fitri",
"start": "2027-03-20", "end": "2027-03-21", "closed": true, "windows": []}]``; every
evaluation below takes them. The nearest-store search uses :class:`core.geo.NearestIndex`,
built once per process and database and rebuilt only when a store changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from threading import Lock
from typing import Annotated, Any, Sequence
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field as PydanticField, StringConstraints, TypeAdapter, ValidationError,
    field_validator, model_validator,
)
from sqlalchemy import JSON, Column, func
from sqlmodel import Field, Session, SQLModel, select

from core.db import utcnow
from core.geo import NearestIndex, Place, find_area, map_link, valid_coordinates
from crm.delivery import validate_rules

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
JAKARTA = ZoneInfo("Asia/Jakarta")
HHMM_PATTERN = r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$"  # local time; 24:00 only as an end
_HHMM = re.compile(HHMM_PATTERN)
_DAY_MINUTES = 24 * 60


class Store(SQLModel, table=True):
    """An outlet customers can visit or pick up from."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    area: str = Field(default="", max_length=100, index=True)
    lat: float
    lon: float
    phone: str | None = Field(default=None, max_length=40)
    opening_hours: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # HoursException dumps (JSON), dates in the shop's timezone; validated on every write.
    hours_exceptions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    active: bool = Field(default=True, index=True)
    delivers: bool = True  # the bot delivers from this store
    pickup: bool = True  # customers may pick up their orders here
    # Its own DeliveryRules (JSON), validated on every write; null: the shop's rules apply.
    delivery: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class StoreHit:
    """A store found near a point."""

    store: Store
    km: float
    open_now: bool
    map_url: str


# --- opening hours ---------------------------------------------------------------------


def validate_windows(windows: Any, where: str) -> list[list[str]]:
    """A list of [open, close] local-time windows, checked; ValueError naming `where` when malformed."""
    if not isinstance(windows, list):
        raise ValueError(f"{where}: expected a list of [open, close] windows")
    checked = []
    for window in windows:
        if not (isinstance(window, (list, tuple)) and len(window) == 2
                and all(isinstance(t, str) and _HHMM.match(t) for t in window)):
            raise ValueError(f"{where}: each window must be [\"HH:MM\", \"HH:MM\"], got {window!r}")
        start, end = window
        if start == "24:00":
            raise ValueError(f"{where}: a window cannot open at 24:00")
        if start == end:
            raise ValueError(f"{where}: window {start}–{end} is empty; use [\"00:00\", \"24:00\"] for all day")
        checked.append([start, end])
    return checked


def validate_opening_hours(value: Any) -> dict[str, list[list[str]]]:
    """The hours normalised to all seven weekdays (missing days closed); ValueError when malformed."""
    if not isinstance(value, dict):
        raise ValueError("opening_hours must be an object keyed by weekday (mon … sun)")
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise ValueError(f"unknown weekday key(s) {', '.join(map(str, unknown))}; use {', '.join(WEEKDAYS)}")
    return {day: validate_windows(value.get(day) or [], day) for day in WEEKDAYS}


def parse_windows(typed: str) -> list[list[str]]:
    """Windows typed in a form ("08:00-12:00, 13:00-17:00"; empty: none); ValueError when malformed."""
    windows = []
    for part in filter(None, (p.strip() for p in (typed or "").split(","))):
        times = [t.strip() for t in re.split(r"[-–]", part)]
        if len(times) != 2:
            raise ValueError(f"{part!r} is not a window like 08:00-17:00")
        windows.append(times)
    return validate_windows(windows, "windows")


def windows_text(windows: Sequence[Sequence[str]]) -> str:
    """Windows the way a form shows them ("08:00-12:00, 13:00-17:00")."""
    return ", ".join(f"{start}-{end}" for start, end in windows)


MAX_EXCEPTIONS = 100
MAX_EXCEPTION_DAYS = 366


class HoursException(BaseModel):
    """A local date or date range with its own hours: closed (a holiday, a day off) or its own windows (Ramadan)."""

    model_config = ConfigDict(extra="forbid")

    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"\S")]
    start: date
    end: date | None = PydanticField(default=None, description="the last day of the range; null: the start day only")
    closed: bool = False
    windows: list[Annotated[list[Annotated[str, PydanticField(pattern=HHMM_PATTERN)]],
                            PydanticField(min_length=2, max_length=2)]] = PydanticField(
        default=[], max_length=10, description="[open, close] local-time windows on those days (empty when closed)")

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date | None, info) -> date | None:
        start = info.data.get("start")
        if end is not None and start is not None:
            if end < start:
                raise ValueError(f"end {end} is before start {start}")
            if (end - start).days >= MAX_EXCEPTION_DAYS:
                raise ValueError(f"a range covers at most {MAX_EXCEPTION_DAYS} days")
        return end

    @field_validator("windows")
    @classmethod
    def _valid_windows(cls, windows: list) -> list:
        return validate_windows(windows, "windows")

    @model_validator(mode="after")
    def _closed_or_windows(self):
        if self.closed == bool(self.windows):
            raise ValueError("give either closed: true or the day's windows, not both or neither")
        if self.end is None:
            self.end = self.start
        return self

    def covers(self, day: date) -> bool:
        """True when `day` is one of the exception's dates."""
        return self.start <= day <= (self.end or self.start)


def _no_overlap(exceptions: list[HoursException]) -> list[HoursException]:
    ordered = sorted(exceptions, key=lambda e: e.start)
    for before, after in zip(ordered, ordered[1:]):
        if after.start <= before.end:
            raise ValueError(f"exceptions {before.label!r} and {after.label!r} overlap on {after.start}")
    return ordered


HoursExceptions = Annotated[list[HoursException], PydanticField(max_length=MAX_EXCEPTIONS),
                            AfterValidator(_no_overlap)]
_EXCEPTIONS = TypeAdapter(HoursExceptions)


def validate_exceptions(value: Any) -> list[dict[str, Any]]:
    """Exceptions checked and sorted by date, as stored (JSON); ValueError naming the field when bad."""
    try:
        return _EXCEPTIONS.dump_python(_EXCEPTIONS.validate_python(value), mode="json")
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, ("hours_exceptions", *error["loc"])))
        raise ValueError(f"{where}: {error['msg']}") from None


def exceptions_of(stored: Sequence[Any] | None) -> list[HoursException]:
    """Stored exceptions (JSON, or already models) as models."""
    return [e if isinstance(e, HoursException) else HoursException.model_validate(e) for e in stored or ()]


def exception_on(exceptions: Sequence[HoursException], day: date) -> HoursException | None:
    """The exception covering local date `day`, if any."""
    return next((e for e in exceptions if e.covers(day)), None)


def windows_on(hours: dict[str, Any] | None, day: date,
               exceptions: Sequence[HoursException] = ()) -> list[list[str]]:
    """The windows of local date `day`: its exception's (none when closed), else its weekday's."""
    special = exception_on(exceptions, day)
    if special is not None:
        return special.windows
    return (hours or {}).get(WEEKDAYS[day.weekday()], [])


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _local(at: datetime | None, tz: ZoneInfo) -> datetime:
    at = at or utcnow()
    # Stored timestamps are UTC; a naive value here is taken to be UTC as well.
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).astimezone(tz)


def _intervals(hours: dict[str, Any], day: date, tz: ZoneInfo, days: range,
               exceptions: Sequence[HoursException] = ()) -> list[tuple[datetime, datetime]]:
    """The open intervals of `hours` (aware, merged, sorted) for local dates day+d for d in `days`."""
    spans: list[tuple[datetime, datetime]] = []
    for offset in days:
        current = day + timedelta(days=offset)
        for window in windows_on(hours, current, exceptions):
            start, end = _minutes(window[0]), _minutes(window[1])
            length = (end - start) % _DAY_MINUTES or _DAY_MINUTES  # end <= start: past midnight
            opens = datetime.combine(current, time(), tz) + timedelta(minutes=start)
            spans.append((opens, opens + timedelta(minutes=length)))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in spans:
        # Touching windows (mon 00:00–24:00, tue 00:00–…) are one stretch of opening.
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def _local_spans(hours: dict[str, Any] | None, at: datetime | None, tz: ZoneInfo,
                 exceptions: Sequence[HoursException] = ()) -> tuple[datetime, list]:
    local = _local(at, tz)
    today = local.date()
    # Yesterday's window may run past midnight into today; a week ahead finds the next opening,
    # unless exceptions close days in it: then a week past the end of that chain of exceptions
    # (a renovation), never further because of one far in the future.
    horizon = today + timedelta(days=7)
    for exception in sorted(exceptions, key=lambda e: e.start):
        if exception.start <= horizon and exception.end >= today:
            horizon = max(horizon, exception.end + timedelta(days=7))
    spans = _intervals(hours or {}, today, tz, range(-1, (horizon - today).days + 1), exceptions)
    return local, spans


def hours_open_at(hours: dict[str, Any] | None, when: datetime | None = None, tz: ZoneInfo = JAKARTA,
                  exceptions: Sequence[HoursException] = ()) -> bool:
    """True when weekly `hours` (opening_hours format) with `exceptions` have a window open at `when` (default now)."""
    local, spans = _local_spans(hours, when, tz, exceptions)
    return any(opens <= local < closes for opens, closes in spans)


def next_hours_opening(hours: dict[str, Any] | None, after: datetime | None = None,
                       tz: ZoneInfo = JAKARTA, exceptions: Sequence[HoursException] = ()) -> datetime | None:
    """The next start of a window of `hours` strictly after `after` (aware, in `tz`); None if none within a week.

    Exceptions replace the weekly windows on their dates (a holiday is skipped). Windows that
    touch are one stretch, so hours that never close have no next start either.
    """
    local, spans = _local_spans(hours, after, tz, exceptions)
    return next((opens for opens, _ in spans if opens > local), None)


def store_open_at(store: Store, when: datetime | None = None, tz: ZoneInfo = JAKARTA) -> bool:
    """True when the store is open at `when` (default now) in the shop's timezone."""
    return hours_open_at(store.opening_hours, when, tz, exceptions_of(store.hours_exceptions))


def next_store_opening(store: Store, after: datetime | None = None, tz: ZoneInfo = JAKARTA) -> datetime | None:
    """When the store next opens after `after` (a pre-order's time); None when it opens on no day of the next week."""
    return next_hours_opening(store.opening_hours, after, tz, exceptions_of(store.hours_exceptions))


def opening_text(store: Store, at: datetime | None = None, tz: ZoneInfo = JAKARTA, lang: str = "id") -> str:
    """A short status line: "buka sampai 22:00" / "closed (Idul Fitri), opens Monday 08:00"."""
    en = lang == "en"
    exceptions = exceptions_of(store.hours_exceptions)
    local, spans = _local_spans(store.opening_hours, at, tz, exceptions)
    today = exception_on(exceptions, local.date())
    why = f" ({today.label})" if today is not None else ""  # "tutup (Idul Fitri)", "buka sampai 16:00 (Ramadan)"
    for opens, closes in spans:
        if opens <= local < closes:
            if closes - local >= timedelta(days=6):
                return "open 24 hours" if en else "buka 24 jam"
            return f"{'open until' if en else 'buka sampai'} {closes:%H:%M}{why}"
    upcoming = [opens for opens, _ in spans if opens > local]
    if not upcoming:
        return f"temporarily closed{why}" if en else f"tutup sementara{why}"
    opens = upcoming[0]
    days = (opens.date() - local.date()).days
    if days == 0:
        when = "today" if en else "hari ini"
    elif days == 1:
        when = "tomorrow" if en else "besok"
    elif days < 7:
        when = DAY_NAMES["en" if en else "id"][opens.weekday()]
    else:  # past a long closure: the date, not a weekday that may be next week's
        when = f"{DAY_NAMES['en' if en else 'id'][opens.weekday()]} {opens:%d/%m}"
    return f"closed{why}, opens {when} {opens:%H:%M}" if en else f"tutup{why}, buka lagi {when} {opens:%H:%M}"


# --- create and update -----------------------------------------------------------------

STORE_FIELDS = ("name", "address", "area", "lat", "lon", "phone", "opening_hours", "hours_exceptions", "active",
                "delivers", "pickup", "delivery")


def _apply(store: Store, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(STORE_FIELDS)
    if unknown:
        raise ValueError(f"unknown store field(s): {', '.join(sorted(unknown))}")
    if "opening_hours" in changes:
        changes = {**changes, "opening_hours": validate_opening_hours(changes["opening_hours"])}
    if "hours_exceptions" in changes:
        changes = {**changes, "hours_exceptions": validate_exceptions(changes["hours_exceptions"])}
    if "delivery" in changes:
        changes = {**changes, "delivery": validate_rules(changes["delivery"])}
    for field, value in changes.items():
        setattr(store, field, value)
    if not valid_coordinates(store.lat, store.lon):
        raise ValueError(f"invalid coordinates lat={store.lat!r}, lon={store.lon!r}")


def create_store(*, session: Session, name: str, lat: float, lon: float, address: str = "", area: str = "",
                 phone: str | None = None, opening_hours: dict | None = None,
                 hours_exceptions: list | None = None, active: bool = True, delivers: bool = True,
                 pickup: bool = True, delivery: dict | None = None) -> Store:
    """Add a store (validates coordinates, hours and their exceptions, and its own delivery rules)."""
    store = Store(name=name, lat=lat, lon=lon)
    _apply(store, {"address": address, "area": area, "phone": phone, "opening_hours": opening_hours or {},
                   "hours_exceptions": hours_exceptions or [], "active": active, "delivers": delivers,
                   "pickup": pickup, "delivery": delivery})
    session.add(store)
    session.flush()
    return store


def update_store(*, session: Session, store: Store, changes: dict[str, Any]) -> Store:
    """Change a store's fields; bumps updated_at so the nearest-store cache is rebuilt."""
    _apply(store, changes)
    store.updated_at = utcnow()
    session.add(store)
    session.flush()
    return store


def list_stores(*, session: Session, active: bool | None = None) -> list[Store]:
    """Stores by name, optionally only active or inactive ones."""
    query = select(Store).order_by(Store.name, Store.id)
    if active is not None:
        query = query.where(Store.active == active)
    return list(session.exec(query).all())


# --- nearest stores --------------------------------------------------------------------

_index_cache: dict[str, tuple[tuple, NearestIndex]] = {}
_index_lock = Lock()


def stores_version(*, session: Session) -> tuple:
    """A cheap fingerprint that changes whenever a store is added, edited or (de)activated."""
    return tuple(session.exec(select(func.count(Store.id), func.max(Store.updated_at))).one())


def _active_index(session: Session) -> NearestIndex:
    # One index per database (tests and tools may use several in one process).
    bind_key = str(session.get_bind().url)
    version = stores_version(session=session)
    cached = _index_cache.get(bind_key)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = session.exec(select(Store.id, Store.lat, Store.lon).where(Store.active == True)).all()  # noqa: E712
    index = NearestIndex(Place(id=i, lat=lat, lon=lon) for i, lat, lon in rows)
    with _index_lock:
        _index_cache[bind_key] = (version, index)
    return index


def nearest_stores(*, session: Session, lat: float, lon: float, k: int = 3, max_km: float | None = 25.0,
                   at: datetime | None = None, tz: ZoneInfo = JAKARTA, open_only: bool = False) -> list[StoreHit]:
    """Up to `k` active stores within `max_km` (None: any distance), closest first (ValueError on bad coordinates)."""
    if not valid_coordinates(lat, lon):
        raise ValueError(f"invalid coordinates lat={lat!r}, lon={lon!r}")
    index = _active_index(session)
    if not len(index):
        return []
    # When only open stores count, look at every store in range and keep the first k open ones.
    found = index.nearest(lat, lon, k=len(index) if open_only else k, max_km=max_km)
    rows = {s.id: s for s in session.exec(select(Store).where(Store.id.in_([i for i, _ in found]))).all()} \
        if found else {}
    hits: list[StoreHit] = []
    for store_id, km in found:
        store = rows.get(store_id)
        if store is None or not store.active:  # changed since the index was read
            continue
        open_now = store_open_at(store, at, tz)
        if open_only and not open_now:
            continue
        hits.append(StoreHit(store=store, km=km, open_now=open_now, map_url=map_link(store.lat, store.lon)))
        if len(hits) == k:
            break
    return hits


def stores_in_area(*, session: Session, text: str) -> tuple[str, float, float] | None:
    """The area named in `text` ("jaksel", "dekat blok m") as (name, lat, lon), or None.

    The built-in gazetteer answers first; an area only the shop's own stores name (e.g. a
    mall) is found next, located at the first such store.
    """
    found = find_area(text or "")
    if found is not None or not text:
        return found
    words = f" {' '.join(re.findall(r'[a-z0-9]+', text.casefold()))} "
    for store in list_stores(session=session, active=True):
        area = " ".join(re.findall(r"[a-z0-9]+", store.area.casefold()))
        if area and f" {area} " in words:
            return store.area, store.lat, store.lon
    return None
