"""One person across channels: merge contact B into contact A, and undo it.

Everything that points at B moves to A in one transaction (identities, chats, messages,
orders, complaints, notes, surveys, alerts, vouchers, deliveries, ... — every column with a
foreign key to `contact.id`, see `RULES`). A's profile keeps its values; B fills only what A
lacks (`_combine`). B stays as a tombstone (`merged_into = A`, its own fields untouched) and a
`ContactMerge` row lists the rows that moved and the fields that changed, so the merge can be
undone. An undo moves back exactly those rows: a message that reached A after the merge stays
with A.

Concurrency: B's identities are locked first, then both contacts (lowest id first). Recording an
inbound event reads its identity with a share lock (crm.history), so a message arriving for B
either lands before the merge (and moves with it) or waits and lands on A. On SQLite every
writer holds the process-wide write lock (`core.db.session_scope`), which serialises the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, select, tuple_, update
from sqlmodel import Session, SQLModel

from core.after_commit import notify_after_commit
from core.db import as_utc, utcnow
from crm import loyalty, webhooks
from crm.models import ChannelIdentity, Contact, ContactMerge
from crm.orders import ORDER_CHANGED

log = logging.getLogger(__name__)

# Every column holding a contact id, and what a merge does with it. A tuple: the rows move to the
# survivor, except a row whose value in these other columns the survivor already holds (a unique
# key: the survivor's row wins and the merged contact's stays with the tombstone). None: not moved.
RULES: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("channelidentity", "contact_id"): (),
    ("conversation", "contact_id"): (),
    ("conversationmember", "contact_id"): ("conversation_id",),  # both in one group: one membership
    ("message", "contact_id"): (),
    ("note", "contact_id"): (),
    ("order", "contact_id"): (),
    ("complaint", "contact_id"): (),
    ("csatsurvey", "contact_id"): (),
    ("followuptask", "contact_id"): (),
    ("staffalert", "contact_id"): (),
    ("staffchatlink", "contact_id"): (),
    ("contactimportrow", "contact_id"): (),
    ("promotionredemption", "contact_id"): (),
    ("promotionredemption", "once_contact_id"): ("promotion_id",),  # a single-use offer used by both: one use
    ("delivery", "contact_id"): ("run_id", "channel"),  # one delivery per run and channel
    ("channelconsent", "contact_id"): ("channel",),  # the survivor's choice on a channel stands
    ("campaignclick", "contact_id"): (),
    ("accountlinkcode", "contact_id"): (),
    ("consentchange", "contact_id"): (),  # the log of the person's consent goes with them
    ("pointsentry", "contact_id"): (),  # the ledger moves; both balances are recounted from it (loyalty.recount)
    ("pointsaccount", "contact_id"): None,
    ("stampentry", "contact_id"): (),  # the same for stamps (loyalty.recount_stamps)
    ("stampaccount", "contact_id"): None,
    ("membercode", "contact_id"): None,  # the tombstone keeps its code, which finds the survivor (crm.member_codes)
    ("countersubmission", "contact_id"): (),  # the counter's done forms go with the person
    ("phoneclaim", "contact_id"): None,  # who was asked and about whom: kept as it happened (the claim links its merge)
    ("phoneclaim", "member_id"): None,
    ("customervalue", "contact_id"): None,  # figures of the orders: both recomputed after the commit (_refresh_values)
    ("contact", "merged_into"): None,  # the tombstones' pointer
    ("contactmerge", "survivor_id"): None,  # the merge records themselves
    ("contactmerge", "merged_id"): None,
}
# Profile fields: the survivor's value wins; the merged contact's fills one the survivor lacks.
FILLED = ("display_name", "language", "phone", "email", "birthday", "address")
CHUNK = 500  # row keys per UPDATE ... IN (...)
# What the preview counts, by label.
COUNTED = {"identities": "channelidentity", "conversations": "conversation", "messages": "message",
           "orders": "order", "complaints": "complaint", "notes": "note"}


class MergeError(Exception):
    """A merge or an undo refused: `code` names why (same, missing, merged, undone, superseded)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Preview:
    """What merging `merged` into `survivor` would do: the identities they end with, counts that move, fields."""

    survivor: Contact
    merged: Contact
    identities: list[ChannelIdentity]
    counts: dict[str, int]
    fields: list[tuple[str, Any, Any, Any]] = field(default_factory=list)  # (name, survivor's, merged's, result)


def contact_columns() -> list[tuple[Table, str]]:
    """Every (table, column) with a foreign key to `contact.id`, from the models."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "contact" and fk.column.name == "id" for fk in column.foreign_keys):
                found.append((table, column.name))
    return found


def _moved_columns() -> list[tuple[Table, str, tuple[str, ...]]]:
    result = []
    for table, column in contact_columns():
        key = (table.name, column)
        if key not in RULES:  # a table added without a rule: moved (tests/crm/test_merge.py asks for a rule)
            log.warning("merge: no rule for %s.%s; its rows are moved", *key)
        rule = RULES.get(key, ())
        if rule is not None:
            result.append((table, column, rule))
    return result


def _key_columns(table: Table, column: str) -> list:
    """The columns that find a row again after `column` changed: its primary key without `column`."""
    return [c for c in table.primary_key.columns if c.name != column]


def _resolve(session: Session, contact_id: int) -> Contact | None:
    """The live contact a (possibly merged) id stands for."""
    contact = session.get(Contact, contact_id)
    seen = set()
    while contact is not None and contact.merged_into is not None and contact.id not in seen:
        seen.add(contact.id)
        contact = session.get(Contact, contact.merged_into)
    return contact


def survivor_of(*, session: Session, contact_id: int) -> Contact | None:
    """The live contact that `contact_id` is (itself, or the one it was merged into)."""
    return _resolve(session, contact_id)


def _lock(session: Session, survivor_id: int, merged_id: int) -> tuple[Contact, Contact]:
    """Lock the merged contact's identities, then both contacts (lowest id first), and read them fresh."""
    session.execute(select(ChannelIdentity.id).where(ChannelIdentity.contact_id == merged_id)
                    .order_by(ChannelIdentity.id).with_for_update())
    rows = session.execute(select(Contact).where(Contact.id.in_([survivor_id, merged_id])).order_by(Contact.id)
                           .with_for_update().execution_options(populate_existing=True)).scalars().all()
    found = {row.id: row for row in rows}
    if survivor_id not in found or merged_id not in found:
        raise MergeError("missing", f"contact {survivor_id if survivor_id not in found else merged_id} not found")
    return found[survivor_id], found[merged_id]


def _check_pair(survivor: Contact, merged: Contact) -> None:
    if survivor.id == merged.id:
        raise MergeError("same", "a contact cannot be merged with itself")
    for contact in (survivor, merged):
        if contact.merged_into is not None:
            raise MergeError("merged", f"contact {contact.id} was merged into contact {contact.merged_into}")


def preview(*, session: Session, survivor_id: int, merged_id: int) -> Preview:
    """What merging `merged_id` into `survivor_id` would do (reads only; MergeError when it cannot be done)."""
    survivor, merged = session.get(Contact, survivor_id), session.get(Contact, merged_id)
    if survivor is None or merged is None:
        raise MergeError("missing", f"contact {survivor_id if survivor is None else merged_id} not found")
    _check_pair(survivor, merged)
    counts = {}
    for label, table_name in COUNTED.items():
        table = SQLModel.metadata.tables[table_name]
        counts[label] = session.execute(select(func.count()).select_from(table)
                                        .where(table.c.contact_id == merged.id)).scalar_one()
    identities = session.execute(select(ChannelIdentity).where(ChannelIdentity.contact_id.in_([survivor.id, merged.id]))
                                 .order_by(ChannelIdentity.id)).scalars().all()
    combined, _ = _combine(survivor, merged)
    fields = [(name, getattr(survivor, name), getattr(merged, name), combined.get(name, getattr(survivor, name)))
              for name in (*FILLED, "tags", "marketing_consent")]
    return Preview(survivor, merged, list(identities), counts, fields)


def _combine(survivor: Contact, merged: Contact) -> tuple[dict[str, Any], dict[str, Any]]:
    """The survivor's new field values, and the merge record's `changed` ({field: [before, after]}) for undo.

    The survivor's value wins where both have one; tags are the union; attributes the survivor lacks
    are added; marketing consent stays only if both gave it (a "no" is never undone by a merge); the
    customer is a customer since the earlier first contact and was last seen at the later time.
    """
    values: dict[str, Any] = {}
    for name in FILLED:
        if getattr(survivor, name) in (None, "") and getattr(merged, name) not in (None, ""):
            values[name] = getattr(merged, name)
    added_tags = [tag for tag in merged.tags or [] if tag not in (survivor.tags or [])]
    if added_tags:
        values["tags"] = sorted({*(survivor.tags or []), *added_tags})
    added_attributes = {k: v for k, v in (merged.attributes or {}).items() if k not in (survivor.attributes or {})}
    if added_attributes:
        values["attributes"] = {**(survivor.attributes or {}), **added_attributes}
    if survivor.marketing_consent and not merged.marketing_consent:
        values["marketing_consent"] = False
    if merged.created_at and as_utc(merged.created_at) < as_utc(survivor.created_at):
        values["created_at"] = merged.created_at
    if merged.last_seen_at and (survivor.last_seen_at is None or as_utc(merged.last_seen_at) > as_utc(survivor.last_seen_at)):
        values["last_seen_at"] = merged.last_seen_at
    if merged.last_location_at and (survivor.last_location_at is None
                                    or as_utc(merged.last_location_at) > as_utc(survivor.last_location_at)):
        values.update(last_lat=merged.last_lat, last_lon=merged.last_lon, last_location_at=merged.last_location_at)
    changed: dict[str, Any] = {name: [_plain(getattr(survivor, name)), _plain(value)] for name, value in values.items()
                               if name not in ("tags", "attributes")}
    if added_tags:
        changed["tags"] = [None, added_tags]  # undo removes these (the ones still there)
    if added_attributes:
        changed["attributes"] = [None, sorted(added_attributes)]
    return values, changed


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def merge(*, session: Session, survivor_id: int, merged_id: int, source: str = "staff",
          staff_user_id: int | None = None, now: datetime | None = None) -> ContactMerge:
    """Merge contact `merged_id` into `survivor_id` in the caller's transaction; the merge record (MergeError if refused)."""
    now = now or utcnow()
    session.flush()  # rows the caller added (this event's message) are moved too
    survivor, merged = _lock(session, survivor_id, merged_id)
    _check_pair(survivor, merged)
    moved: dict[str, list] = {}
    for table, column, unique_with in _moved_columns():
        keys = _move(session, table, column, merged.id, survivor.id, unique_with)
        if keys:
            moved[f"{table.name}.{column}"] = keys
    values, changed = _combine(survivor, merged)
    for name, value in values.items():
        setattr(survivor, name, value)
    merged.merged_into = survivor.id
    session.add_all([survivor, merged])
    session.flush()
    _refresh_status(session, survivor)
    _recount_points(session, survivor.id, merged.id, now)
    _refresh_values(session, survivor.id, merged.id)
    record = ContactMerge(survivor_id=survivor.id, merged_id=merged.id, source=source, staff_user_id=staff_user_id,
                          moved=moved, changed=changed, created_at=now)
    session.add(record)
    session.flush()
    # Every merge (chat, inbox, API) passes through this line: the outbound event goes in this transaction.
    webhooks.emit(session, "contact.merged", {"survivor_id": survivor.id, "merged_id": merged.id, "merge_id": record.id})
    # Objects of this session loaded before the merge (the event's conversation) see the moved values.
    session.expire_all()
    return record


def _move(session: Session, table: Table, column: str, from_id: int, to_id: int,
          unique_with: tuple[str, ...]) -> list:
    """Move `table.column` from `from_id` to `to_id`; the keys of the rows moved (see _key_columns)."""
    keys = _key_columns(table, column)
    col = table.c[column]
    rows = session.execute(select(*keys, *(table.c[name] for name in unique_with)).where(col == from_id)).all()
    if not rows:
        return []
    if unique_with:
        held = set(session.execute(select(*(table.c[name] for name in unique_with)).where(col == to_id)).all())
        rows = [row for row in rows if tuple(row[len(keys):]) not in held]
    found = [_key(row[:len(keys)]) for row in rows]
    _update_keys(session, table, column, keys, found, from_id, to_id)
    return found


def _key(values) -> Any:
    return values[0] if len(values) == 1 else list(values)


def _update_keys(session: Session, table: Table, column: str, keys: list, found: list, from_id: int,
                 to_id: int) -> int:
    """Set `column` from `from_id` to `to_id` on the rows with these keys; how many changed."""
    col, count = table.c[column], 0
    for start in range(0, len(found), CHUNK):
        chunk = found[start:start + CHUNK]
        where = keys[0].in_(chunk) if len(keys) == 1 else tuple_(*keys).in_([tuple(key) for key in chunk])
        count += session.execute(update(table).where(col == from_id, where).values({column: to_id})
                                 .execution_options(synchronize_session=False)).rowcount
    return count


def _recount_points(session: Session, survivor_id: int, merged_id: int, now: datetime) -> None:
    """Both balances, points and stamps, as their ledgers now sum (the entries moved; the accounts stay)."""
    for contact_id in (survivor_id, merged_id):
        loyalty.recount(session=session, contact_id=contact_id, now=now)
        loyalty.recount_stamps(session=session, contact_id=contact_id, now=now)


def _refresh_values(session: Session, survivor_id: int, merged_id: int) -> None:
    """Both contacts' value figures (crm.customer_value) follow their orders, once the merge commits."""
    for contact_id in (survivor_id, merged_id):
        notify_after_commit(session, ORDER_CHANGED, contact_id)


def _refresh_status(session: Session, contact: Contact) -> None:
    """Blocked only when every account of the contact blocked the shop."""
    blocked = session.execute(select(ChannelIdentity.blocked).where(ChannelIdentity.contact_id == contact.id)).scalars().all()
    contact.status = "blocked" if blocked and all(blocked) else "active"
    session.add(contact)


def undo(*, session: Session, merge_id: int, staff_user_id: int | None = None,
         now: datetime | None = None) -> ContactMerge:
    """Undo a merge: the rows it moved go back to the merged contact, which lives again; the survivor's fields the
    merge filled are emptied again where nobody changed them since. Rows added to the survivor after the merge stay."""
    now = now or utcnow()
    record = session.execute(select(ContactMerge).where(ContactMerge.id == merge_id).with_for_update()
                             .execution_options(populate_existing=True)).scalars().first()
    if record is None:
        raise MergeError("missing", f"merge {merge_id} not found")
    if record.undone_at is not None:
        raise MergeError("undone", f"merge {merge_id} was undone already")
    survivor, merged = _lock(session, record.survivor_id, record.merged_id)
    if merged.merged_into != survivor.id or survivor.merged_into is not None:
        raise MergeError("superseded", f"contact {survivor.id} was merged again since; undo that merge first")
    tables = SQLModel.metadata.tables
    for name, found in (record.moved or {}).items():
        table_name, column = name.split(".")
        table = tables[table_name]
        _update_keys(session, table, column, _key_columns(table, column), found, survivor.id, merged.id)
    for name, (before, after) in (record.changed or {}).items():
        if name == "tags":
            survivor.tags = [tag for tag in survivor.tags or [] if tag not in after]
        elif name == "attributes":
            survivor.attributes = {k: v for k, v in (survivor.attributes or {}).items()
                                   if k not in after or v != (merged.attributes or {}).get(k)}
        elif _plain(getattr(survivor, name)) == after:  # not changed since the merge
            setattr(survivor, name, _parse(Contact, name, before))
    merged.merged_into = None
    record.undone_at, record.undone_by_id = now, staff_user_id
    session.add_all([survivor, merged, record])
    session.flush()
    _refresh_status(session, survivor)
    _refresh_status(session, merged)
    _recount_points(session, survivor.id, merged.id, now)  # points spent since from moved entries stay spent
    _refresh_values(session, survivor.id, merged.id)
    session.flush()
    session.expire_all()
    return record


def _parse(model: type, name: str, value: Any) -> Any:
    """A field's value back from the merge record's JSON (dates and times were written as ISO text)."""
    if not isinstance(value, str):
        return value
    annotation = str(model.model_fields[name].annotation)
    if "datetime" in annotation:
        return datetime.fromisoformat(value)
    if "date" in annotation:
        return date.fromisoformat(value)
    return value


def merges_of(*, session: Session, contact_id: int) -> list[ContactMerge]:
    """The merges into this contact that can still be undone, newest first."""
    return list(session.execute(select(ContactMerge).where(ContactMerge.survivor_id == contact_id,
                                                           ContactMerge.undone_at.is_(None))
                                .order_by(ContactMerge.id.desc())).scalars().all())

