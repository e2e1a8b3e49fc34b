"""Export contacts (all, a search, or any condition on `contact` such as a segment's) as CSV or XLSX.

The columns are the import's field names first (name, phone, email, birthday, tags,
line_user_id, telegram_chat_id, custom.<name>, contact_id: it finds a contact that has no phone,
email or chat id), so an export imports again unchanged, then the fields only the CRM keeps
(language, address, status, consent, dates). Every cell goes
through the formula-safe `safe_cell`, in XLSX too (openpyxl stores text starting with `=` as a formula).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from crm.contacts import identities_of
from crm.csv_export import SafeWriter, safe_cell
from crm.models import Contact

HEADER = ["name", "phone", "email", "birthday", "tags", "line_user_id", "telegram_chat_id"]
CRM_HEADER = ["contact_id", "language", "address", "status", "marketing_consent", "created_at", "last_seen_at"]
PAGE = 1000


def custom_names(*, session: Session, condition: ColumnElement | None = None) -> list[str]:
    """The custom field names used by the matching contacts, sorted."""
    names: set[str] = set()
    query = select(Contact.attributes).where(condition if condition is not None else true())
    for attributes in session.execute(query).scalars():
        names.update(attributes or {})
    return sorted(names)


def export_table(*, session: Session, condition: ColumnElement | None = None) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the rows (lazily, a page at a time, by id) of the matching contacts."""
    names = custom_names(session=session, condition=condition)
    header = HEADER + [f"custom.{name}" for name in names] + CRM_HEADER
    return header, _rows(session, condition if condition is not None else true(), names)


def _rows(session: Session, condition: ColumnElement, names: list[str]) -> Iterator[list[Any]]:
    last = 0
    while True:
        page = session.execute(select(Contact).where(condition, Contact.id > last).order_by(Contact.id).limit(PAGE)
                               ).scalars().all()
        if not page:
            return
        identities = identities_of(session=session, contact_ids=[contact.id for contact in page])
        for contact in page:
            first = {}
            for identity in identities[contact.id]:
                first.setdefault(identity.channel, identity.external_id)
            attributes = contact.attributes or {}
            yield [contact.display_name, contact.phone or "", contact.email or "", contact.birthday or "",
                   ", ".join(contact.tags or []), first.get("line", ""), first.get("telegram", ""),
                   *(attributes.get(name, "") for name in names),
                   contact.id, contact.language or "", contact.address or "", contact.status,
                   "yes" if contact.marketing_consent else "no", _when(contact.created_at), _when(contact.last_seen_at)]
        last = page[-1].id
        session.expunge_all()


def _when(value) -> str:
    return value.isoformat() if value else ""


def write_export(path: Path, header: list[str], rows: Iterator[list[Any]]) -> int:
    """Write the table to `path` as XLSX (by its extension) or CSV; the number of rows written."""
    count = 0
    if path.suffix.lower() == ".xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet("contacts")
        sheet.append(header)
        for count, row in enumerate(rows, 1):
            sheet.append([safe_cell(value) for value in row])
        book.save(path)
        return count
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SafeWriter(handle)
        writer.writerow(header)
        for count, row in enumerate(rows, 1):
            writer.writerow(row)
    return count
