"""Staff account pages: log in and out, password, language; the admin pages (canned replies, staff, tokens, audit log)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import func
from sqlmodel import Session, select

from core.db import session_scope, utcnow
from crm.inbox import auth, data, shop_data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import back_to, get_or_404, inbox, safe_next
from crm.inbox.i18n import LANGUAGES, error_text, t
from crm.models import ROLES, ApiToken, AuditLog, CannedResponse, StaffUser
from crm.staff import (
    MAX_PASSWORD, StaffError, authenticate, change_password, create_user, end_sessions, finish_reset, start_reset,
    user_of_reset,
)
from crm.tokens import list_tokens, revoke_tokens
from crm.web import engine


# --- login ---------------------------------------------------------------------------


@inbox.route("/login", methods=["GET", "POST"])
def login():
    """The login form; failed attempts slow down per address, per email and per known browser."""
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(safe_next(request.args.get("next")))
        return render_template("inbox/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "")[:200]
    password = request.form.get("password", "")[:MAX_PASSWORD]
    limiter = current_app.extensions["sapa.login_limiter"]
    ip, device = auth.client_ip(), auth.known_device(email)
    wait = limiter.wait_seconds(ip=ip, email=email, device=device)
    if wait:
        flash(t("login_wait", seconds=wait), "error")
        page = render_template("inbox/login.html", next=request.form.get("next", ""), email=email)
        return page, 429, {"Retry-After": str(wait)}
    with session_scope(engine()) as db:
        user = authenticate(session=db, email=email, password=password)
        if user is not None:
            user.last_login_at = utcnow()
            db.add(user)
            data.audit(session=db, staff=user, action="staff.login", target_type="staff", target_id=user.id, ip=ip)
    if user is None:
        limiter.failed(ip=ip, email=email, device=device)
        flash(t("login_failed"), "error")
        return render_template("inbox/login.html", next=request.form.get("next", ""), email=email), 401
    limiter.succeeded(email=email)
    auth.login(user)
    return auth.remember_device(redirect(safe_next(request.form.get("next"))), user.email)


@inbox.post("/logout")
def logout():
    """End the session, and every other session of the same staff member."""
    auth.logout()
    flash(t("logged_out"), "info")
    return redirect(url_for("inbox.login"))


def _staff_error(exc: StaffError) -> str:
    return error_text(exc.code) if exc.code else str(exc)


@inbox.route("/password", methods=["GET", "POST"])
@permission_required("profile.edit")
def password():
    """Change one's own password (the current one is asked again); other sessions end."""
    if request.method == "GET":
        return render_template("inbox/password.html")
    staff, ip = current_staff(), auth.client_ip()
    # A stolen session cookie must not become a way to guess the current password quickly.
    limiter = current_app.extensions["sapa.login_limiter"]
    wait = limiter.wait_seconds(ip=ip, email=staff.email, device=None)
    if wait:
        flash(t("login_wait", seconds=wait), "error")
        return render_template("inbox/password.html"), 429, {"Retry-After": str(wait)}
    new = request.form.get("new_password", "")
    try:
        if new != request.form.get("confirm_password", ""):
            raise StaffError("the two new passwords differ", code="password_mismatch")
        with session_scope(engine()) as db:
            user = db.get(StaffUser, staff.id)
            change_password(session=db, user=user, current=request.form.get("current_password", "")[:MAX_PASSWORD],
                            new=new)
            data.audit(session=db, staff=user, action="staff.password", target_type="staff", target_id=user.id, ip=ip)
    except StaffError as exc:
        if exc.code == "current_password":
            limiter.failed(ip=ip, email=staff.email, device=None)
        flash(_staff_error(exc), "error")
        return render_template("inbox/password.html"), 400
    auth.login(user)  # this session goes on with the new generation; the others are over
    flash(t("password_changed"), "info")
    return redirect(url_for("inbox.password"), 303)


@inbox.post("/language")
def language():
    """Switch the UI language (stored on the staff user, or in a cookie on the login page)."""
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        abort(400, "lang must be id or en")
    staff = current_staff()
    if staff is not None:
        with session_scope(engine()) as db:
            user = db.get(StaffUser, staff.id)
            user.language = lang
            db.add(user)
            data.audit(session=db, staff=user, action="staff.language", target_type="staff", target_id=user.id,
                       details={"language": lang})
        staff.language = lang
    response = redirect(back_to(url_for("inbox.login")))
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


# --- admin ---------------------------------------------------------------------------


def _canned_page(status: int = 200, editing: int | None = None):
    """The canned replies; a refused form shows again with what was typed (`editing`: the row's id, None: the add form)."""
    with Session(engine()) as db:
        return render_template("inbox/canned.html", rows=shop_data.canned_responses(session=db),
                               typed=request.form if status != 200 else {}, editing=editing), status


def _canned_form() -> dict[str, object]:
    form = request.form
    return {"shortcut": form.get("shortcut", ""), "title": form.get("title", ""), "text": form.get("text", ""),
            "text_en": form.get("text_en", ""), "quick_replies": form.get("quick_replies", "").split(",")}


@inbox.route("/canned", methods=["GET", "POST"])
@permission_required("canned.manage")
def canned():
    """Canned replies in the order staff see them: add one (Indonesian text, English optional)."""
    if request.method == "GET":
        return _canned_page()
    try:
        with session_scope(engine()) as db:
            shop_data.save_canned(session=db, staff=current_staff(), **_canned_form())
    except data.InboxError as exc:
        flash(error_text(str(exc)), "error")
        return _canned_page(400)
    flash(t("canned_added"), "info")
    return redirect(url_for("inbox.canned"), 303)


@inbox.post("/canned/<int:canned_id>")
@permission_required("canned.manage")
def canned_update(canned_id: int):
    """Change, delete or move one canned reply (`action`: save, delete, up, down)."""
    action = request.form.get("action", "save")
    try:
        with session_scope(engine()) as db:
            row = db.get(CannedResponse, canned_id)
            if row is None:
                raise data.InboxError("canned_unknown")
            if action == "delete":
                shop_data.delete_canned(session=db, staff=current_staff(), canned=row)
            elif action in ("up", "down"):
                shop_data.move_canned(session=db, staff=current_staff(), canned=row, step=-1 if action == "up" else 1)
            else:
                shop_data.save_canned(session=db, staff=current_staff(), canned=row, **_canned_form())
    except data.InboxError as exc:
        flash(error_text(str(exc)), "error")
        return _canned_page(404 if str(exc) == "canned_unknown" else 400, editing=canned_id)
    if action in ("save", "delete"):
        flash(t("canned_deleted" if action == "delete" else "canned_updated"), "info")
    return redirect(url_for("inbox.canned", _anchor=f"canned-{canned_id}" if action != "delete" else None), 303)


def _users_page(status: int = 200, reset: tuple[StaffUser, str] | None = None):
    with Session(engine()) as db:
        users = db.exec(select(StaffUser).order_by(StaffUser.id)).all()
        return render_template("inbox/users.html", users=users, roles=ROLES, tokens=list_tokens(session=db),
                               reset=reset), status


@inbox.route("/users", methods=["GET", "POST"])
@permission_required("users.manage")
def users():
    """Staff accounts: add, change role, deactivate, grant notes to marketers."""
    if request.method == "GET":
        return _users_page()
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            user = create_user(session=db, email=request.form.get("email", ""),
                               password=request.form.get("password", ""), role=request.form.get("role", ""),
                               display_name=request.form.get("display_name", "").strip()[:200])
            data.audit(session=db, staff=staff, action="staff.add", target_type="staff", target_id=user.id,
                       details={"email": user.email, "role": user.role})
    except StaffError as exc:
        flash(t("err_staff", arg=_staff_error(exc)), "error")
        return _users_page(400)
    flash(t("user_added"), "info")
    return redirect(url_for("inbox.users"), 303)


@inbox.post("/users/<int:user_id>")
@permission_required("users.manage")
def user_update(user_id: int):
    """Change a staff member's role, active flag or notes access."""
    staff = current_staff()
    role = request.form.get("role", "")
    if role not in ROLES:
        flash(error_text("bad_role"), "error")
        return _users_page(400)
    with session_scope(engine()) as db:
        user = get_or_404(db, StaffUser, user_id)
        active = request.form.get("active") == "1"
        admins = db.exec(select(func.count(StaffUser.id)).where(StaffUser.role == "admin", StaffUser.active == True,  # noqa: E712
                                                                StaffUser.id != user.id)).one()
        if admins == 0 and (role != "admin" or not active):
            flash(error_text("last_admin"), "error")
            return _users_page(409)
        before = {"role": user.role, "active": user.active, "notes_access": user.notes_access}
        if (role, active) != (user.role, user.active):
            end_sessions(user)  # a new role applies, or the deactivation bites, at once
        user.role, user.active = role, active
        user.notes_access = request.form.get("notes_access") == "1"
        db.add(user)
        data.audit(session=db, staff=staff, action="staff.update", target_type="staff", target_id=user.id,
                   details={"from": before, "to": {"role": role, "active": active, "notes_access": user.notes_access}})
    flash(t("user_updated"), "info")
    return redirect(url_for("inbox.users"), 303)


@inbox.post("/users/<int:user_id>/reset")
@permission_required("users.manage")
def user_reset(user_id: int):
    """Make a one-time password reset link for a staff member, shown on this page once (never stored readable)."""
    with session_scope(engine()) as db:
        user = get_or_404(db, StaffUser, user_id)
        token = start_reset(session=db, user=user)
        data.audit(session=db, staff=current_staff(), action="staff.reset_link", target_type="staff",
                   target_id=user.id, ip=auth.client_ip())
        db.flush()
        db.expunge(user)
    link = url_for("inbox.password_reset", token=token, _external=True)
    response = current_app.make_response(_users_page(reset=(user, link)))
    response.headers["Cache-Control"] = "no-store"  # the link is shown once: no copy in the browser's cache
    return response


@inbox.route("/reset/<token>", methods=["GET", "POST"])
def password_reset(token: str):
    """The page a reset link opens (no login): set a new password; the link is used up, every session ends."""
    with Session(engine()) as db:
        user = user_of_reset(session=db, token=token)
        email = user.email if user else None
    if email is None:
        return render_template("inbox/error.html", message=error_text("reset_link"), code=404), 404
    if request.method == "GET":
        return render_template("inbox/reset.html", email=email), 200, {"Cache-Control": "no-store"}
    new = request.form.get("new_password", "")
    try:
        if new != request.form.get("confirm_password", ""):
            raise StaffError("the two new passwords differ", code="password_mismatch")
        with session_scope(engine()) as db:
            user = finish_reset(session=db, token=token, new=new)
            data.audit(session=db, staff=user, action="staff.password_reset", target_type="staff", target_id=user.id,
                       ip=auth.client_ip())
    except StaffError as exc:
        flash(_staff_error(exc), "error")
        return render_template("inbox/reset.html", email=email), 400
    flash(t("reset_done"), "info")
    return redirect(url_for("inbox.login"), 303)


@inbox.post("/tokens/<int:token_id>/revoke")
@permission_required("users.manage")
def token_revoke(token_id: int):
    """Revoke an API token: the API answers it 401 from the next request on."""
    with session_scope(engine()) as db:
        row = get_or_404(db, ApiToken, token_id)
        if revoke_tokens(session=db, tokens=[row]):
            data.audit(session=db, staff=current_staff(), action="token.revoke", target_type="token",
                       target_id=row.id, details={"name": row.name})
    flash(t("token_revoked", name=row.name), "info")
    return redirect(url_for("inbox.users"), 303)


@inbox.get("/audit")
@permission_required("audit.view")
def audit_log():
    """The latest writes: who, what, when."""
    with Session(engine()) as db:
        rows = db.exec(select(AuditLog).order_by(AuditLog.id.desc()).limit(300)).all()
        return render_template("inbox/audit.html", rows=rows, names=data.staff_names(session=db))
