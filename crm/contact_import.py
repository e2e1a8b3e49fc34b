"""Import customers from a CSV or XLSX file: read, map, validate, plan, apply in batches, report.

Each row is planned as created, merged, unchanged or rejected. A row joins an existing contact
only on proof or on the shop's own keys, never by guessing: a LINE user id or Telegram chat id
that already has an identity is the platform's (its contact is the one), else the phone (E.164)
or the email. A merge updates the contact's fields, adds tags and custom fields (an empty cell
erases nothing) and never moves an identity. Rows are applied a batch per transaction with
bulk statements; a `ContactImport` row keyed by the file's hash makes a rerun continue where an
interrupted one stopped and makes importing the same file again change nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.db import utcnow
from core.phones import e164
from crm.csv_export import SafeWriter
from crm.models import ChannelIdentity, ConsentChange, Contact, ContactImport, ContactImportRow

FIELDS = ("name", "phone", "email", "birthday", "tags", "line_user_id", "telegram_chat_id", "contact_id")
CUSTOM = "custom."
CHANNEL_FIELDS = {"line_user_id": "line", "telegram_chat_id": "telegram"}
BATCH = 5000
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,50}$")
_TAG_SPLIT = re.compile(r"[,;|]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
BLANK = {"display_name": "", "phone": None, "email": None, "birthday": None, "tags": [], "attributes": {}}
_CONTACT = Contact.__table__
_IDENTITY = ChannelIdentity.__table__


class ImportFileError(ValueError):
    """The file or the mapping cannot be imported at all (nothing was written).

    `code` (empty, unreadable, no_column, unknown_field, twice) and `arg` let a screen say it in the reader's language.
    """

    def __init__(self, message: str, code: str, arg: str = "") -> None:
        super().__init__(message)
        self.code, self.arg = code, arg


@dataclass
class Rejected:
    """A row left out, with the column it failed on and why."""

    row: int
    column: str
    reason: str
    cells: list[Any]


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    created: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[Rejected] = field(default_factory=list)
    report_path: Path | None = None

    def line(self) -> str:
        """The one-line summary the CLI ends with."""
        return f"created {self.created}, merged {self.merged}, unchanged {self.unchanged}, rejected {self.rejected}"


# --- reading ---------------------------------------------------------------------------


@dataclass
class Sheet:
    """A file's header, its data rows (lazily) and a row-count estimate for progress."""

    header: list[str]
    rows: Iterator[list[Any]]
    total: int


def read_file(path: Path, data: bytes) -> Sheet:
    """The rows of a CSV (UTF-8 with or without BOM, else Windows-1252; `,` `;` or tab) or XLSX file."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("the file is empty", "empty")
    return Sheet([str(cell).strip() for cell in header], reader, max(text.count("\n") - 1, 1))


def _read_xlsx(data: bytes) -> Sheet:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportFileError(f"not a readable XLSX file ({type(exc).__name__})", "unreadable") from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise ImportFileError("the file is empty", "empty")
    return Sheet(["" if cell is None else str(cell).strip() for cell in header], (list(row) for row in rows),
                 max((sheet.max_row or 2) - 1, 1))


# --- mapping ---------------------------------------------------------------------------


def build_mapping(header: list[str], overrides: dict[str, str] | None = None) -> dict[int, str]:
    """Column index → field: the `overrides` (COLUMN → FIELD, "" to skip a column), then headers named like a field."""
    overrides = dict(overrides or {})
    by_name = {name.strip().lower(): i for i, name in enumerate(header)}
    mapping: dict[int, str] = {}
    for column, target in overrides.items():
        index = by_name.get(column.strip().lower())
        if index is None:
            raise ImportFileError(f"no column {column!r} in the file; its columns are: {', '.join(header)}",
                                  "no_column", column)
        target = target.strip()
        if target and not is_field(target):
            raise ImportFileError(f"unknown field {target!r}; use one of {', '.join(FIELDS)} or custom.<name>",
                                  "unknown_field", target)
        mapping[index] = target
    for i, name in enumerate(header):
        if i not in mapping and is_field(name.strip().lower() if not name.startswith(CUSTOM) else name.strip()):
            mapping[i] = name.strip() if name.startswith(CUSTOM) else name.strip().lower()
    mapping = {i: target for i, target in mapping.items() if target}
    taken = [target for target in mapping.values()]
    twice = sorted({target for target in taken if taken.count(target) > 1})
    if twice:
        raise ImportFileError(f"more than one column is mapped to {', '.join(twice)}", "twice", ", ".join(twice))
    return mapping


def is_field(name: str) -> bool:
    """True for an importable field name."""
    return name in FIELDS or (name.startswith(CUSTOM) and bool(_CUSTOM_NAME.match(name[len(CUSTOM):])))


# --- validating ------------------------------------------------------------------------


@dataclass
class Record:
    """One valid row, normalised."""

    row: int
    name: str
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    tags: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # channel → external id
    contact_id: int | None = None  # from an export of ours: finds a contact that has no other key
    custom: dict[str, Any] = field(default_factory=dict)
    cells: list[Any] = field(default_factory=list)  # as read, for the rejected-rows report


class _Invalid(Exception):
    def __init__(self, reason: str, target: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.target = reason, target  # the field, when the row's column is not known where raised


def text_of(value: Any) -> str:
    """A cell as text: integral numbers without `.0`, the formula-safe writer's leading `'` removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text[1:].strip() if text.startswith("'") else text


def read_date(value: Any) -> date:
    """A birthday from a date cell, an XLSX serial, `dd/mm/yyyy` (or `-`, `.`) or ISO-8601."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value))
    text = text_of(value)
    if _SERIAL.match(text):
        return _serial(float(text))
    match = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise _Invalid(f"not a date: {text!r} (use dd/mm/yyyy or yyyy-mm-dd)") from None


def _serial(value: float) -> date:
    if not 1 <= value < 2958466:
        raise _Invalid(f"not a date: {value:g}")
    return from_excel(value).date()


def validate(row: int, cells: list[Any], mapping: dict[int, str], header: list[str]) -> Record | Rejected:
    """The row as a Record, or Rejected naming the column and the reason."""
    record = Record(row=row, name="", cells=cells)
    name = next((i for i, target in mapping.items() if target == "name"), None)
    if name is None or name >= len(cells) or not text_of(cells[name]):
        return Rejected(row, header[name] if name is not None else "name", "no name", list(cells))
    for index, target in mapping.items():
        raw = cells[index] if index < len(cells) else None
        try:
            _set(record, target, raw)
        except _Invalid as exc:
            return Rejected(row, header[index], exc.reason, list(cells))
    return record


def _set(record: Record, target: str, raw: Any) -> None:
    if target == "birthday":
        if raw is not None and text_of(raw):
            record.birthday = read_date(raw)
        return
    value = text_of(raw)
    if not value:
        return
    if target == "name":
        record.name = value[:200]
    elif target == "phone":
        record.phone = e164(value)
        if record.phone is None:
            raise _Invalid(f"not a valid phone number: {value!r}")
    elif target == "email":
        if not _EMAIL.match(value) or len(value) > 200:
            raise _Invalid(f"not a valid email address: {value!r}")
        record.email = value.lower()
    elif target == "tags":
        record.tags = list(dict.fromkeys(tag.strip() for tag in _TAG_SPLIT.split(value) if tag.strip()))
    elif target == "telegram_chat_id":
        if not re.fullmatch(r"-?\d{1,20}", value):
            raise _Invalid(f"not a Telegram chat id (a number): {value!r}")
        record.ids["telegram"] = value
    elif target == "contact_id":
        record.contact_id = int(value) if value.isdigit() else None
    elif target == "line_user_id":
        if len(value) > 64 or re.search(r"\s", value):
            raise _Invalid(f"not a LINE user id: {value!r}")
        record.ids["line"] = value
    else:
        record.custom[target[len(CUSTOM):]] = raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) \
            else value


# --- planning and applying -------------------------------------------------------------


@dataclass(eq=False)
class _New:
    """A contact this import creates; `id` once inserted."""

    values: dict[str, Any]
    identities: dict[str, str]
    row: int
    keyless: bool
    id: int | None = None


class _Plan:
    """The contacts' keys in memory, and what the rows of the current batch do to them."""

    def __init__(self, session: Session, job: ContactImport | None) -> None:
        self.session = session
        self.by_phone: dict[str, Any] = {}
        self.by_email: dict[str, Any] = {}
        self.by_identity: dict[tuple[str, str], Any] = {}
        self.channels: dict[Any, dict[str, str]] = {}  # contact → channel → the external id it has there
        self.keyless: dict[int, str] = {}  # contacts with no phone, email or identity → their name
        for contact_id, name, phone, email in session.execute(
                select(_CONTACT.c.id, _CONTACT.c.display_name, _CONTACT.c.phone, _CONTACT.c.email)
                .where(_CONTACT.c.merged_into.is_(None))):  # a merged-away contact's details are its survivor's
            if not phone and not email:
                self.keyless[contact_id] = name
            if phone:
                self.by_phone.setdefault(phone if _E164.match(phone) else (e164(phone) or phone), contact_id)
            if email:
                self.by_email.setdefault(email.lower(), contact_id)
        for contact_id, channel, external_id in session.execute(
                select(_IDENTITY.c.contact_id, _IDENTITY.c.channel, _IDENTITY.c.external_id).order_by(_IDENTITY.c.id)):
            self.by_identity[(channel, external_id)] = contact_id
            self.channels.setdefault(contact_id, {}).setdefault(channel, external_id)
            self.keyless.pop(contact_id, None)
        self.by_row: dict[int, int] = {}
        if job is not None and job.id is not None:
            self.by_row = dict(session.execute(select(ContactImportRow.row, ContactImportRow.contact_id)
                                               .where(ContactImportRow.import_id == job.id)).all())
        self.current: dict[int, dict[str, Any]] = {}  # existing contacts' values as this import left them
        self.touched: dict[Any, _Touch] = {}  # contact → the rows about it
        self.reset()

    def reset(self) -> None:
        """Start a new batch."""
        self.new: list[_New] = []
        self.updates: dict[int, dict[str, Any]] = {}
        self.identities: list[dict[str, Any]] = []

    def target(self, record: Record) -> Any:
        """The contact the record is about (an id, a _New, or None); _Invalid when its keys disagree."""
        proven = {self.by_identity[(ch, ext)] for ch, ext in record.ids.items() if (ch, ext) in self.by_identity}
        if len(proven) > 1:
            raise _Invalid("the LINE user id and the Telegram chat id belong to two different contacts",
                           "telegram_chat_id")
        if proven:
            return proven.pop()
        for key, index in ((record.phone, self.by_phone), (record.email, self.by_email)):
            if key and key in index:
                return index[key]
        if not record.phone and not record.email and not record.ids:
            if record.contact_id is not None and self.keyless.get(record.contact_id) == record.name:
                return record.contact_id  # an export of ours, read back: its id and name agree
            return self.by_row.get(record.row)
        return None

    def load(self, records: list[Record]) -> None:
        """Read the current values of the existing contacts the batch's records touch (one query)."""
        wanted = {t for t in (self._peek(record) for record in records)
                  if isinstance(t, int) and t not in self.current}
        if not wanted:
            return
        columns = (_CONTACT.c.id, _CONTACT.c.display_name, _CONTACT.c.phone, _CONTACT.c.email,
                   _CONTACT.c.birthday, _CONTACT.c.tags, _CONTACT.c.attributes)
        for row in self.session.execute(select(*columns).where(_CONTACT.c.id.in_(wanted))):
            self.current[row.id] = {"display_name": row.display_name, "phone": row.phone, "email": row.email,
                                    "birthday": row.birthday, "tags": list(row.tags or []),
                                    "attributes": dict(row.attributes or {})}

    def _peek(self, record: Record) -> Any:
        try:
            return self.target(record)
        except _Invalid:
            return None

    def add(self, record: Record) -> None:
        """Plan one record (_Invalid when it cannot be)."""
        target = self.target(record)
        if isinstance(target, int) and target not in self.current:
            target = None  # the contact was deleted since the last run: create it again
        for channel, external_id in record.ids.items():
            if (channel, external_id) in self.by_identity:
                continue
            has = self.channels.get(target, {}).get(channel) if target is not None else None
            if has is not None:
                raise _Invalid(f"the contact this row matches (by phone or email) already has another {channel} "
                               "account", "line_user_id" if channel == "line" else "telegram_chat_id")
        if target is None:
            target = _New(values={**BLANK, **_changes(BLANK, record)},
                          identities={}, row=record.row, keyless=not (record.phone or record.email or record.ids))
            self.new.append(target)
            self.touched[target] = _Touch(created=True, start=_signature(target.values))
        else:
            values = target.values if isinstance(target, _New) else self.current[target]
            touch = self.touched.get(target)
            if touch is None:
                touch = self.touched[target] = _Touch(created=False, start=_signature(values), rows=0)
            changes = _changes(values, record)
            values.update(changes)
            if changes and isinstance(target, int):
                self.updates[target] = values
            touch.rows += 1
            touch.last = _signature(values) if changes else touch.last
            touch.linked = touch.linked or any((ch, ext) not in self.by_identity for ch, ext in record.ids.items())
        for channel, external_id in record.ids.items():
            if (channel, external_id) not in self.by_identity:
                self.by_identity[(channel, external_id)] = target
                self.channels.setdefault(target, {})[channel] = external_id
                self.identities.append({"contact": target, "channel": channel, "external_id": external_id})
        values = target.values if isinstance(target, _New) else self.current[target]
        if values["phone"]:
            self.by_phone.setdefault(values["phone"], target)
        if values["email"]:
            self.by_email.setdefault(values["email"].lower(), target)

    def counts(self) -> tuple[int, int, int]:
        """(created, merged, unchanged) rows so far: a row counts as merged only when its contact ends up changed.

        Judged per contact at the end, not per row, so two rows of a file that disagree (two names
        for one phone) do not count as merges each time the same file is imported again.
        """
        created = merged = unchanged = 0
        for touch in self.touched.values():
            changed = touch.linked or touch.last != touch.start
            later = touch.rows - 1 if touch.created else touch.rows
            created += touch.created
            merged += later if changed else 0
            unchanged += 0 if changed else later
        return created, merged, unchanged

    def apply(self, job: ContactImport) -> None:
        """Write the batch: bulk inserts of new contacts and identities, bulk updates of merged contacts."""
        now = utcnow()
        if self.new:
            rows = [{**new.values, "status": "active", "marketing_consent": True, "created_at": now}
                    for new in self.new]
            ids = self.session.execute(insert(_CONTACT).returning(_CONTACT.c.id, sort_by_parameter_order=True),
                                       rows).scalars().all()
            for new, contact_id in zip(self.new, ids, strict=True):
                new.id = contact_id
            # The consent every imported contact starts with is on the shop's list: say where it came from.
            self.session.execute(insert(ConsentChange.__table__), [
                {"contact_id": contact_id, "opt_in": True, "source": "import", "channel": None, "staff_user_id": None,
                 "actor": f"import {job.id}", "at": now} for contact_id in ids])
            keyless = [{"import_id": job.id, "row": new.row, "contact_id": new.id} for new in self.new if new.keyless]
            if keyless:
                self.session.execute(insert(ContactImportRow.__table__), keyless)
        if self.updates:
            statement = update(_CONTACT).where(_CONTACT.c.id == bindparam("contact_id")).values(
                {name: bindparam(f"v_{name}", type_=_CONTACT.c[name].type) for name in BLANK})
            self.session.connection().execute(statement, [
                {"contact_id": contact_id, **{f"v_{name}": value for name, value in values.items()}}
                for contact_id, values in self.updates.items()])
        if self.identities:
            self.session.execute(insert(_IDENTITY), [
                {"contact_id": _id(item["contact"]), "channel": item["channel"], "external_id": item["external_id"],
                 "display_name": "", "blocked": False, "created_at": now} for item in self.identities])
        self._settle()

    def _settle(self) -> None:
        """After a commit: the batch's new contacts are known by id from now on."""
        for index in (self.by_phone, self.by_email, self.by_identity):
            for key, value in index.items():
                if isinstance(value, _New) and value.id is not None:
                    index[key] = value.id
        for new in self.new:
            if new.id is not None:
                self.channels[new.id] = self.channels.pop(new, {})
                self.touched[new.id] = self.touched.pop(new)
        self.current.clear()
        self.reset()


@dataclass(slots=True)
class _Touch:
    """The rows of this import about one contact, and whether they change it in the end."""

    created: bool
    start: int  # the signature of its values before the import (after its first row, for a new contact)
    rows: int = 1
    last: int | None = None  # the signature after its last changing row
    linked: bool = False  # a later row gave it a new identity

    def __post_init__(self) -> None:
        self.last = self.start


def _signature(values: dict[str, Any]) -> int:
    return hash((values["display_name"], values["phone"], (values["email"] or "").lower(), values["birthday"],
                 tuple(values["tags"]), json.dumps(values["attributes"], sort_keys=True, default=str)))


def _id(target: Any) -> int:
    return target.id if isinstance(target, _New) else target


def _changes(values: dict[str, Any], record: Record) -> dict[str, Any]:
    """The fields the record changes on a contact (a non-empty cell wins; tags and custom fields are added)."""
    changes: dict[str, Any] = {}
    if record.name and record.name != values["display_name"]:
        changes["display_name"] = record.name
    if record.phone and record.phone != values["phone"] and record.phone != e164(values["phone"] or ""):
        changes["phone"] = record.phone
    if record.email and record.email != (values["email"] or "").lower():
        changes["email"] = record.email
    if record.birthday and record.birthday != values["birthday"]:
        changes["birthday"] = record.birthday
    missing = [tag for tag in record.tags if tag not in values["tags"]]
    if missing:
        changes["tags"] = values["tags"] + missing
    custom = {k: v for k, v in record.custom.items() if str(values["attributes"].get(k)) != str(v)}
    if custom:
        changes["attributes"] = {**values["attributes"], **custom}
    return changes


# --- the import --------------------------------------------------------------------------


def report_path(path: Path) -> Path:
    """Where the rejected rows of `path` are written: `<name>.rejected.csv` beside it."""
    return path.with_name(f"{path.stem}.rejected.csv")


def import_contacts(*, engine: Engine, path: Path, overrides: dict[str, str] | None = None, dry_run: bool = False,
                    progress: Callable[[int, int], None] | None = None, batch: int = BATCH) -> ImportResult:
    """Import (or with `dry_run` only plan) a contacts file; writes the rejected-rows report beside it."""
    data = path.read_bytes()
    sheet = read_file(path, data)
    mapping = build_mapping(sheet.header, overrides)
    key = hashlib.sha256(data + json.dumps(sorted(mapping.items())).encode()).hexdigest()
    columns = {target: sheet.header[i] for i, target in mapping.items()}
    result = ImportResult()
    with Session(engine, expire_on_commit=False) as session:
        job = session.execute(select(ContactImport).where(ContactImport.key == key)).scalar_one_or_none()
        skip, base = 0, (0, 0, 0)
        if not dry_run:
            job, skip = _start(session, job, key, path.name)
            base = (job.created, job.merged, job.unchanged)  # the rows an interrupted run committed
        plan = _Plan(session, job)
        records: list[Record] = []
        done = 0
        for row, cells in enumerate(sheet.rows, start=2):
            if not any(text_of(cell) for cell in cells):
                continue  # a blank line
            checked = validate(row, cells, mapping, sheet.header)
            if isinstance(checked, Rejected):
                result.rejects.append(checked)
            elif row > skip:
                records.append(checked)
            if len(records) >= batch:
                _batch(plan, records, result, job, row, dry_run, columns, base)
                records = []
            done += 1
            if progress and done % 1000 == 0:
                progress(done, sheet.total)
        _batch(plan, records, result, job, None, dry_run, columns, base)
        result.rejected = len(result.rejects)
        if not dry_run:
            job.status, job.finished_at, job.rejected = "done", utcnow(), result.rejected
            session.add(job)
            session.commit()
    if progress:
        progress(sheet.total, sheet.total)
    result.report_path = write_report(report_path(path), sheet.header, result.rejects)
    return result


def _start(session: Session, job: ContactImport | None, key: str, name: str) -> tuple[ContactImport, int]:
    """The job row of this file: a new one, the interrupted one to continue (and the row it reached), or a done one again."""
    if job is None:
        job = ContactImport(key=key, file_name=name[:300])
    elif job.status == "running":
        return job, job.rows_done
    job.status, job.rows_done, job.finished_at = "running", 0, None
    job.created = job.merged = job.unchanged = job.rejected = 0
    session.add(job)
    session.commit()
    return job, 0


def _batch(plan: _Plan, records: list[Record], result: ImportResult, job: ContactImport | None, last_row: int | None,
           dry_run: bool, columns: dict[str, str], base: tuple[int, int, int]) -> None:
    plan.load(records)
    for record in records:
        try:
            plan.add(record)
        except _Invalid as exc:
            result.rejects.append(Rejected(record.row, columns.get(exc.target, exc.target), exc.reason, record.cells))
    result.created, result.merged, result.unchanged = (
        before + now for before, now in zip(base, plan.counts(), strict=True))
    if dry_run:
        plan.reset()
        return
    plan.apply(job)
    job.created, job.merged, job.unchanged = result.created, result.merged, result.unchanged
    job.rows_done = last_row if last_row is not None else job.rows_done
    plan.session.add(job)
    plan.session.commit()


def write_report(path: Path, header: list[str], rejects: list[Rejected]) -> Path:
    """The rejected rows as CSV (row, column, reason, then the row's own cells), formula-safe."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = SafeWriter(handle)
        writer.writerow(["row", "column", "reason", *header])
        for item in sorted(rejects, key=lambda r: r.row):
            writer.writerow([item.row, item.column, item.reason, *(text_of(cell) for cell in item.cells)])
    return path
