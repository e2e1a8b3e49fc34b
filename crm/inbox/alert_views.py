"""The alerts panel: what needs a person now, with a link to where to act and seen/done buttons."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session, select

from core.db import session_scope
from crm import alerts as alert_data
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import back_to, get_or_404, inbox, wants_fragment
from crm.inbox.i18n import t
from crm.models import Contact
from crm.web import engine


def _rows(db: Session, status: str) -> list[tuple[alert_data.StaffAlert, Contact | None]]:
    """The alerts of a status tab ("open": new and seen), newest first, each with its customer."""
    query = select(alert_data.StaffAlert, Contact).join(Contact, Contact.id == alert_data.StaffAlert.contact_id,
                                                        isouter=True)
    if status == "open":
        query = query.where(alert_data.StaffAlert.status != "done")
    else:
        query = query.where(alert_data.StaffAlert.status == status)
    order = (alert_data.StaffAlert.status.desc(), alert_data.StaffAlert.updated_at.desc(),
             alert_data.StaffAlert.id.desc())  # "seen" sorts after "new"
    return list(db.exec(query.order_by(*order).limit(100)).all())


def _status_tab() -> str:
    status = request.args.get("status", "open")
    return status if status in ("open", *alert_data.STATUSES) else "open"


@inbox.get("/alerts")
@permission_required("conversations.view")
def alerts():
    """Every alert of a status (open ones by default)."""
    status = _status_tab()
    with Session(engine()) as db:
        return render_template("inbox/alerts.html", rows=_rows(db, status), status=status)


@inbox.get("/alerts/panel")
@permission_required("conversations.view")
def alerts_panel():
    """The open alerts as a fragment for the top bar's panel (live refreshes)."""
    with Session(engine()) as db:
        return render_template("inbox/_alerts.html", rows=_rows(db, "open"), status="open")


@inbox.post("/alerts/<int:alert_id>/status")
@permission_required("conversations.manage")
def alert_status(alert_id: int):
    """Mark an alert seen or done, for the whole team."""
    staff = current_staff()
    status = request.form.get("status") or (request.get_json(silent=True) or {}).get("status", "")
    with session_scope(engine()) as db:
        alert = get_or_404(db, alert_data.StaffAlert, alert_id)
        try:
            alert_data.change_status(session=db, alert=alert, status=status, staff_id=staff.id)
        except alert_data.AlertError as exc:
            if wants_fragment():
                return jsonify(error=str(exc)), 400
            flash(str(exc), "error")
            return redirect(back_to(url_for("inbox.alerts")), 303)
        data.audit(session=db, staff=staff, action="alert.status", target_type="alert", target_id=alert_id,
                   details={"status": status})
        new = alert_data.count_new(session=db)
    if wants_fragment():
        return jsonify(status=status, new=new)
    flash(t("alert_updated"), "info")
    return redirect(back_to(url_for("inbox.alerts")), 303)
