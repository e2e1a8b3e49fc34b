"""Business hours: exceptions (holidays closed, Ramadan hours, a day off) to the staff hours and each store's hours.

The page writes through the same functions as the settings and store APIs
(`shop_settings.save_settings`, `stores.update_store`), so the same rules refuse bad dates,
ranges and windows, and nothing is half-written.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import shop_settings, stores
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import inbox
from crm.inbox.form_errors import hours_error
from crm.inbox.i18n import current_language, t
from crm.web import engine

STAFF = "staff"  # the target naming the staff hours; a store is "store:<id>"


def _exceptions(db: Session, target: str) -> tuple[list[dict[str, Any]], stores.Store | None]:
    """The target's exceptions as stored (JSON) and its store (None: the staff hours); LookupError when unknown."""
    if target == STAFF:
        settings = shop_settings.load_settings(db)
        return [e.model_dump(mode="json") for e in settings.staff_hours_exceptions], None
    kind, _, store_id = target.partition(":")
    store = db.get(stores.Store, int(store_id)) if kind == "store" and store_id.isdigit() else None
    if store is None:
        raise LookupError(target)
    return list(store.hours_exceptions or []), store


def _save(db: Session, store: stores.Store | None, exceptions: list[dict[str, Any]]) -> None:
    """Replace the target's exceptions (ValueError, nothing saved, when one is bad)."""
    checked = stores.validate_exceptions(exceptions)  # one message naming the field, for either target
    if store is None:
        shop_settings.save_settings(db, {"staff_hours_exceptions": checked})
    else:
        stores.update_store(session=db, store=store, changes={"hours_exceptions": checked})


def _typed_exception(form) -> dict[str, Any]:
    """The exception the add form describes (ValueError naming the field when the windows are malformed)."""
    closed = form.get("kind") != "windows"
    try:
        windows = [] if closed else stores.parse_windows(form.get("windows", ""))
    except ValueError as exc:
        raise ValueError(f"windows: {exc}") from None
    return {"label": form.get("label", ""), "start": form.get("start", ""), "end": form.get("end") or None,
            "closed": closed, "windows": windows}


@inbox.route("/hours", methods=["GET", "POST"])
@permission_required("hours.manage")
def hours():
    """The staff hours and each store's hours with their exceptions: add one, or remove one."""
    if request.method == "GET":
        return _hours_page()
    staff, target, action = current_staff(), request.form.get("target", ""), request.form.get("action")
    try:
        with session_scope(engine()) as db:
            exceptions, store = _exceptions(db, target)
            if action == "remove":
                kept = [e for e in exceptions if e["start"] != request.form.get("start")]
                changed = {"removed": request.form.get("start")}
            else:
                added = _typed_exception(request.form)
                kept, changed = exceptions + [added], {"added": added}
            _save(db, store, kept)
            data.audit(session=db, staff=staff, action=f"hours.exception_{'remove' if action == 'remove' else 'add'}",
                       target_type="store" if store else "settings", target_id=store.id if store else None,
                       details={"target": target, **changed})
    except LookupError:
        flash(t("hours_unknown_target"), "error")
        return _hours_page(400)
    except ValueError as exc:
        flash(hours_error(exc), "error")
        return _hours_page(400)
    flash(t("hours_removed" if action == "remove" else "hours_added"), "info")
    return redirect(url_for("inbox.hours"), 303)


def _hours_page(status: int = 200):
    with Session(engine()) as db:
        settings = shop_settings.load_settings(db)
        targets = [(STAFF, t("hours_staff"), settings.staff_hours,
                    [e.model_dump(mode="json") for e in settings.staff_hours_exceptions])]
        targets += [(f"store:{store.id}", store.name, store.opening_hours, store.hours_exceptions or [])
                    for store in stores.list_stores(session=db, active=True)]
    days = list(zip(stores.WEEKDAYS, stores.DAY_NAMES[current_language()]))
    return render_template("inbox/hours.html", targets=targets, days=days, windows_text=stores.windows_text,
                           form=request.form if status != 200 else {}), status
