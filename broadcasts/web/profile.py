"""My chat accounts: the staff member's own LINE / Telegram accounts (campaign test-sends go
there), linked with a one-time code sent from the account, or unlinked."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, session, url_for
from sqlmodel import Session

from broadcasts.web.base import marketing
from core.db import as_utc, session_scope, utcnow
from core.localtime import format_clock
from crm import alerts, phone_alerts, staff_links
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.form_errors import hours_error
from crm.inbox.i18n import current_language, t
from crm.models import CHANNELS, StaffUser
from crm.stores import DAY_NAMES, WEEKDAYS, parse_windows, windows_text
from crm.web import engine, settings

LINK_CODE_KEY = "link_code"


@marketing.route("/me", methods=["GET", "POST"])
@permission_required("profile.edit")
def profile():
    """The staff member's own chat accounts (campaign test-sends go there): link one with a code, or unlink."""
    staff = current_staff()
    if request.method == "GET":
        return _profile_page(staff)
    action = request.form.get("action")
    if action == "code":
        with session_scope(engine()) as db:
            code, expires_at = staff_links.new_code(session=db, staff_user_id=staff.id)
            data.audit(session=db, staff=staff, action="staff.link_code", target_type="staff", target_id=staff.id)
        # Shown by the GET this redirects to: reloading the page (as it asks, once the bot has
        # answered) must not post again and make a new code.
        session[LINK_CODE_KEY] = [code, expires_at.isoformat()]
        return redirect(url_for("marketing.profile"), 303)
    if action == "alerts":
        with session_scope(engine()) as db:
            user = db.get(StaffUser, staff.id)
            try:
                phone_alerts.set_kinds(session=db, staff=user, kinds=request.form.getlist("kinds"),
                                       known=alerts.KINDS)
            except ValueError as exc:
                flash(hours_error(exc), "error")
                return _profile_page(staff, status=400, typed=request.form)
            if settings().smtp.enabled:  # the box is shown only then
                user.email_alerts = request.form.get("email_alerts") == "1"
            data.audit(session=db, staff=staff, action="staff.phone_alerts", target_type="staff",
                       target_id=staff.id, details={"kinds": user.phone_alert_kinds, "email": user.email_alerts})
        flash(t("phone_alerts_saved"), "info")
        return redirect(url_for("marketing.profile"), 303)
    if action == "alert_schedule":
        with session_scope(engine()) as db:
            user = db.get(StaffUser, staff.id)
            try:
                hours, digest_at = _typed_schedule(request.form)
                phone_alerts.set_schedule(session=db, staff=user, hours=hours, digest_at=digest_at)
            except ValueError as exc:
                flash(hours_error(exc), "error")
                return _profile_page(staff, status=400, typed=request.form)
            data.audit(session=db, staff=staff, action="staff.phone_alert_schedule", target_type="staff",
                       target_id=staff.id, details={"hours": hours, "digest_at": digest_at})
        flash(t("phone_schedule_saved"), "info")
        return redirect(url_for("marketing.profile"), 303)
    channel = request.form.get("channel", "")
    if action == "unlink" and channel in CHANNELS:
        with session_scope(engine()) as db:
            if staff_links.unlink(session=db, staff_user_id=staff.id, channel=channel):
                data.audit(session=db, staff=staff, action="staff.chat_unlink", target_type="staff",
                           target_id=staff.id, details={"channel": channel})
        flash(t("account_unlinked", channel=t(f"ch_{channel}")), "info")
        return redirect(url_for("marketing.profile"), 303)
    # Typing in an account id proves nothing (it may be any customer's): only a code links one.
    flash(t("err_link_with_code"), "error")
    return _profile_page(staff, status=400)


def _typed_schedule(form) -> tuple[dict | None, str | None]:
    """The phone hours (None: any time) and digest time (None: at once) the form describes; ValueError when bad."""
    hours = None
    if form.get("hours_mode") == "hours":
        hours = {}
        for day in WEEKDAYS:
            try:
                hours[day] = parse_windows(form.get(f"hours_{day}", ""))
            except ValueError as exc:
                raise ValueError(f"phone_hours.{day}: {exc}") from None
    digest_at = (form.get("digest_at") or "").strip() or None
    if form.get("delivery") != "digest":
        return hours, None
    if digest_at is None:
        raise ValueError("digest_at: missing")
    return hours, digest_at


def _schedule(user: StaffUser, typed) -> dict:
    """The schedule form's values: what was just typed (a refused form keeps them), else what is stored."""
    if typed is not None and typed.get("action") == "alert_schedule":
        return {"any_time": typed.get("hours_mode") != "hours", "digest": typed.get("delivery") == "digest",
                "digest_at": typed.get("digest_at", ""), "hours": {day: typed.get(f"hours_{day}", "") for day in WEEKDAYS}}
    return {"any_time": user.phone_hours is None, "digest": user.phone_digest_at is not None,
            "digest_at": user.phone_digest_at or "",
            "hours": {day: windows_text((user.phone_hours or {}).get(day, [])) for day in WEEKDAYS}}


def _profile_page(staff: StaffUser, status: int = 200, typed=None):
    with Session(engine()) as db:
        links = staff_links.links_of(session=db, staff_user_id=staff.id)
        user = db.get(StaffUser, staff.id)
        wanted = phone_alerts.kinds_of(user)
        by_email = {"on": settings().smtp.enabled, "chosen": user.email_alerts, "address": user.email}
        if typed is not None and typed.get("action") == "alerts":
            wanted = typed.getlist("kinds")
            by_email["chosen"] = typed.get("email_alerts") == "1"
        schedule = _schedule(user, typed)
    code, expires_at = _pending_code(links)
    username = settings().telegram.username
    return render_template("marketing/profile.html", links=links, code=code, minutes=staff_links.CODE_MINUTES,
                           expires=format_clock(expires_at, current_language(), settings().tz) if expires_at else "",
                           telegram_link=f"https://t.me/{username}?start={code}" if code and username else None,
                           channels=settings().channels, kinds=alerts.KINDS, wanted=wanted, schedule=schedule,
                           by_email=by_email,
                           days=list(zip(WEEKDAYS, DAY_NAMES[current_language()]))), status


def _pending_code(links) -> tuple[str | None, datetime | None]:
    """The link code this session was last shown, while it can still be used (else forgotten)."""
    code, expires = session.get(LINK_CODE_KEY) or (None, None)
    if code is None:
        return None, None
    expires_at = datetime.fromisoformat(expires)
    made_at = expires_at - timedelta(minutes=staff_links.CODE_MINUTES)
    # A code is used once: an account linked since it was made used it.
    if expires_at <= utcnow() or any(as_utc(link.linked_at) >= made_at for link, _contact in links):
        session.pop(LINK_CODE_KEY, None)
        return None, None
    return code, expires_at

