"""Merging two contacts that are one person, from the contact's page: search the other, preview, confirm; undo.

Names are not proof, so staff choose the other contact themselves and see what merges first.
The contact whose page it is survives (crm/merge.py).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import merge
from crm.contacts import identities_of, search_contacts
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import t
from crm.ids import as_id
from crm.models import Contact, ContactMerge
from crm.web import engine

SEARCH_LIMIT = 20


def _other_id() -> int | None:
    return as_id(request.values.get("other_id", ""))


@inbox.get("/contacts/<int:contact_id>/merge")
@permission_required("contacts.merge")
def contact_merge(contact_id: int, error: str | None = None):
    """Search the contact to merge into this one; with `other_id`, the preview of that merge."""
    q = request.args.get("q", "").strip()[:200]
    other_id = _other_id()
    with Session(engine()) as db:
        contact = get_or_404(db, Contact, contact_id)
        if contact.merged_into is not None:
            return redirect(url_for("inbox.contact_page", contact_id=contact.merged_into), 303)
        rows = [row for row in search_contacts(session=db, q=q, limit=SEARCH_LIMIT + 1) if row.id != contact_id] \
            if q else []
        identities = identities_of(session=db, contact_ids=[contact_id, *(row.id for row in rows)])
        plan = None
        if other_id is not None and error is None:
            try:
                plan = merge.preview(session=db, survivor_id=contact_id, merged_id=other_id)
            except merge.MergeError as exc:
                error = exc.code
        return render_template("inbox/contact_merge.html", contact=contact, q=q, rows=rows[:SEARCH_LIMIT],
                               identities=identities, plan=plan, error=error and t(f"merge_err_{error}")), \
            400 if error else 200


@inbox.post("/contacts/<int:contact_id>/merge")
@permission_required("contacts.merge")
def contact_merge_confirm(contact_id: int):
    """Merge the chosen contact into this one, then show this one (with an Undo)."""
    other_id = _other_id()
    if other_id is None:
        return contact_merge(contact_id, error="missing")
    try:
        with session_scope(engine()) as db:
            get_or_404(db, Contact, contact_id)
            record = merge.merge(session=db, survivor_id=contact_id, merged_id=other_id, staff_user_id=current_staff().id)
            data.audit(session=db, staff=current_staff(), action="contact.merge", target_type="contact",
                       target_id=contact_id, details={"merged_id": other_id, "merge_id": record.id,
                                                      "moved": {k: len(v) for k, v in record.moved.items()}},
                       ip=request.remote_addr)
    except merge.MergeError as exc:
        return contact_merge(contact_id, error=exc.code)
    flash(t("merge_done"), "info")
    return redirect(url_for("inbox.contact_page", contact_id=contact_id), 303)


@inbox.post("/merges/<int:merge_id>/undo")
@permission_required("contacts.merge")
def merge_undo(merge_id: int):
    """Undo a merge; both contacts' pages show what is theirs again."""
    try:
        with session_scope(engine()) as db:
            record = get_or_404(db, ContactMerge, merge_id)
            survivor_id = record.survivor_id
            merge.undo(session=db, merge_id=merge_id, staff_user_id=current_staff().id)
            data.audit(session=db, staff=current_staff(), action="contact.merge_undo", target_type="contact",
                       target_id=survivor_id, details={"merge_id": merge_id, "merged_id": record.merged_id},
                       ip=request.remote_addr)
    except merge.MergeError as exc:
        flash(t(f"merge_err_{exc.code}"), "error")
        return redirect(url_for("inbox.contact_page", contact_id=survivor_id), 303)
    flash(t("merge_undone"), "info")
    return redirect(url_for("inbox.contact_page", contact_id=survivor_id), 303)
