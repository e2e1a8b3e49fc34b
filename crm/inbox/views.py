"""The staff inbox pages: thin views over crm.inbox.data, one transaction per write.

Every write answers with a redirect back (POST-redirect-GET) and a flash message; a
refused write (bad input) re-renders the page with status 400 and the reason, and
writes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for,
)
from sqlalchemy import func
from sqlmodel import Session, select

from core import messages as m
from crm import complaints as complaint_data
from crm import orders as order_data
from core.db import session_scope, utcnow
from crm.ids import id_arg
from crm.inbox import auth, data
from crm.inbox.auth import can, current_staff, permission_required
from crm.inbox.i18n import LANGUAGES, error_text, t
from crm.media import MAX_UPLOAD_BYTES, CheckedImage, MediaError, check_image
from crm.models import ROLES, ApiToken, AuditLog, Contact, Conversation, FollowUpTask, StaffUser
from crm.staff import MAX_PASSWORD, StaffError, authenticate, change_password, create_user, end_sessions
from crm.tokens import list_tokens, revoke_tokens

inbox = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates", static_folder="static",
                  static_url_path="/static")


def _engine():
    return current_app.extensions["sapa.engine"]


def _settings():
    return current_app.config["SAPA"]


def _safe_next(target: str | None) -> str:
    """Only same-site paths (no open redirect to another host)."""
    if not target:
        return url_for("inbox.conversations")
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": backslashes and control characters are refused too.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return url_for("inbox.conversations")
    return target


def _back(default: str) -> str:
    return _safe_next(request.form.get("next") or default)


def _refused(exc: data.InboxError, page, *args, status: int = 400):
    """Re-render `page` with the reason and a 4xx status (nothing was written)."""
    flash(error_text(str(exc)), "error")
    response = make_response(page(*args))
    response.status_code = status
    return response


def _fetch() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


# --- login ---------------------------------------------------------------------------


@inbox.route("/login", methods=["GET", "POST"])
def login():
    """The login form; failed attempts slow down per address, per email and per known browser."""
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_safe_next(request.args.get("next")))
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
    with session_scope(_engine()) as db:
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
    return auth.remember_device(redirect(_safe_next(request.form.get("next"))), user.email)


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
        with session_scope(_engine()) as db:
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
        with session_scope(_engine()) as db:
            user = db.get(StaffUser, staff.id)
            user.language = lang
            db.add(user)
            data.audit(session=db, staff=user, action="staff.language", target_type="staff", target_id=user.id,
                       details={"language": lang})
        staff.language = lang
    response = redirect(_back(url_for("inbox.login")))
    response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


# --- conversations -------------------------------------------------------------------


def _list_context(db: Session, staff: StaffUser, filters: data.Filters, selected: int | None = None) -> dict:
    page_size = _settings().inbox.page_size
    if db.exec(select(Conversation.id).where(Conversation.status == "snoozed",
                                            Conversation.snoozed_until <= utcnow()).limit(1)).first():
        with session_scope(_engine()) as writer:  # only when some snooze ran out: reads stay reads
            data.wake_snoozed(session=writer)
    if filters.q and filters.matches is None:
        filters.matches = data.search(session=db, q=filters.q)  # once, shared by the list and its counts
    return {
        "rows": data.list_conversations(session=db, staff=staff, filters=filters, limit=page_size),
        "counts": data.filter_counts(session=db, staff=staff, filters=filters),
        "facets": data.facet_values(session=db), "filters": filters, "selected": selected,
    }


@inbox.get("/")
@permission_required("conversations.view")
def conversations():
    """The conversation list with its filters (no conversation open)."""
    staff = current_staff()
    filters = data.Filters.from_args(request.args)
    with Session(_engine()) as db:
        return render_template("inbox/conversations.html", **_list_context(db, staff, filters), view=None)


@inbox.get("/list")
@permission_required("conversations.view")
def conversation_list():
    """Only the list (for live refreshes)."""
    staff = current_staff()
    filters = data.Filters.from_args(request.args)
    selected = id_arg("selected")
    with Session(_engine()) as db:
        return render_template("inbox/_list.html", **_list_context(db, staff, filters, selected))


T = TypeVar("T")


def _get_or_404(db: Session, model: type[T], ident: int) -> T:
    row = db.get(model, ident)
    if row is None:
        abort(404)
    return row


@inbox.get("/c/<int:conversation_id>")
@permission_required("conversations.view")
def conversation(conversation_id: int):
    """One conversation: the list, the history with the reply box, and the customer panel."""
    staff = current_staff()
    filters = data.Filters.from_args(request.args)
    with_notes = can("notes.view")
    with session_scope(_engine()) as db:
        conv = _get_or_404(db, Conversation, conversation_id)
        if can("conversations.reply"):
            data.mark_read(session=db, conversation=conv)
        contact = db.get(Contact, conv.contact_id) if conv.contact_id else None
        view = {
            "conversation": conv, "contact": contact,
            "history": data.timeline(session=db, conversation=conv, with_notes=with_notes),
            "panel": data.contact_360(session=db, contact=contact, with_notes=with_notes) if contact else None,
            "canned": data.canned_responses(session=db),
            "agents": db.exec(select(StaffUser).where(StaffUser.active == True,  # noqa: E712
                                                      StaffUser.role.in_(("admin", "agent")))).all(),
            "contact_conversations": [c for c in db.exec(select(Conversation.id).where(
                Conversation.contact_id == conv.contact_id)).all()] if conv.contact_id else [conv.id],
        }
        context = _list_context(db, staff, filters, conversation_id)
        return render_template("inbox/conversations.html", **context, view=view)


@inbox.get("/c/<int:conversation_id>/messages")
@permission_required("conversations.view")
def conversation_messages(conversation_id: int):
    """History items newer than `after` (for live updates)."""
    after = id_arg("after", least=0)
    with Session(_engine()) as db:
        conv = _get_or_404(db, Conversation, conversation_id)
        items = data.timeline(session=db, conversation=conv, with_notes=False, after_id=after or 0)
        return render_template("inbox/_items.html", items=items, conversation=conv)


def _draft_from_form() -> data.ReplyDraft:
    form = request.form
    location = None
    if form.get("loc_lat") or form.get("loc_lon") or form.get("loc_title"):
        try:
            lat, lon = float(form.get("loc_lat", "")), float(form.get("loc_lon", ""))
        except ValueError:
            raise data.InboxError("bad_location") from None
        title = form.get("loc_title", "").strip()
        if not title or len(title) > 100 or not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
            raise data.InboxError("bad_location")
        location = m.Location(title=title, address=form.get("loc_address", "").strip()[:100] or title, lat=lat, lon=lon)
    return data.ReplyDraft(text=form.get("text", ""), image_url=form.get("image_url", "").strip(),
                           quick_replies=[q for q in form.get("quick_replies", "").split(",") if q.strip()],
                           location=location)


def _checked_upload(upload, conv: Conversation, draft: data.ReplyDraft) -> CheckedImage:
    """An uploaded photo, checked, its public links put in the draft (InboxError if refused)."""
    base = _settings().public_url.rstrip("/")
    # The platforms fetch the image from our public URL; LINE only over https. The
    # simulator's customer is this app itself, so it is served from wherever it runs.
    if not base.startswith("https://") and conv.channel != "simulator":
        raise data.InboxError("upload_needs_https")
    if draft.image_url:
        raise data.InboxError("one_image")
    try:
        image = check_image(upload.stream.read(MAX_UPLOAD_BYTES + 1))
    except MediaError as exc:
        raise data.InboxError(str(exc)) from None
    draft.uploaded = (f"{base}{url_for('media.uploaded', name=image.name)}",
                      f"{base}{url_for('media.uploaded', name=image.preview)}")
    return image


@inbox.post("/c/<int:conversation_id>/reply")
@permission_required("conversations.reply")
def reply(conversation_id: int):
    """Send a staff reply through the same outbound records and sender as the bot."""
    staff = current_staff()
    try:
        draft = _draft_from_form()
        upload = request.files.get("image_file")
        with session_scope(_engine()) as db:
            conv = _get_or_404(db, Conversation, conversation_id)
            image = _checked_upload(upload, conv, draft) if upload is not None and upload.filename else None
            contact = db.get(Contact, conv.contact_id) if conv.contact_id else None
            draft.text = data.fill_variables(draft.text, contact=contact, staff=staff, shop=_settings().bot.shop_name)
            batch_id = data.send_reply(session=db, conversation=conv, staff=staff, draft=draft,
                                       handoff_minutes=_settings().bot.handoff_timeout_minutes)
            if image is not None:
                image.write(_settings().media_dir)  # only for a reply that is sent; before its commit
    except data.InboxError as exc:
        return _refused(exc, conversation, conversation_id)
    # Queued after the commit, so the worker finds the rows (as the webhook does with events).
    current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("reply_queued"), "info")
    return redirect(_back(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.post("/c/<int:conversation_id>/note")
@permission_required("notes.write")
def note(conversation_id: int):
    """Add a private note to the conversation's customer."""
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
            conv = _get_or_404(db, Conversation, conversation_id)
            if conv.contact_id is None:
                raise data.InboxError("unknown_contact")  # a group chat: notes belong to a customer
            data.add_note(session=db, staff=staff, contact_id=conv.contact_id, conversation=conv,
                          text=request.form.get("text", ""))
    except data.InboxError as exc:
        return _refused(exc, conversation, conversation_id)
    flash(t("note_added"), "info")
    return redirect(_back(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.post("/c/<int:conversation_id>/<any(assign, labels, status, bot):action>")
@permission_required("conversations.manage")
def manage(conversation_id: int, action: str):
    """Assign / transfer, label, change status (snooze, resolve), take over from the bot or hand back."""
    staff = current_staff()
    form = request.form
    minutes = _settings().bot.handoff_timeout_minutes
    try:
        with session_scope(_engine()) as db:
            conv = _get_or_404(db, Conversation, conversation_id)
            if action == "assign":
                assignee_id = id_arg("assignee_id", form)
                assignee = None
                if assignee_id is not None:
                    assignee = db.get(StaffUser, assignee_id)
                    if assignee is None:
                        raise data.InboxError("assignee_not_agent")
                data.assign(session=db, conversation=conv, staff=staff, assignee=assignee)
            elif action == "labels":
                data.set_labels(session=db, conversation=conv, staff=staff, labels=form.get("labels", "").split(","))
            elif action == "status":
                until = None
                if form.get("status") == "snoozed":
                    try:
                        hours = float(form.get("hours", "4"))
                    except ValueError:
                        raise data.InboxError("bad_number") from None
                    if not 0 < hours <= 24 * 90:
                        raise data.InboxError("snooze_in_future")
                    until = utcnow() + timedelta(hours=hours)
                data.set_status(session=db, conversation=conv, staff=staff, status=form.get("status", ""),
                                snooze_until=until)
            else:
                data.set_bot(session=db, conversation=conv, staff=staff, active=form.get("active") == "1",
                             handoff_minutes=minutes)
    except data.InboxError as exc:
        return _refused(exc, conversation, conversation_id)
    flash(t("conversation_updated"), "info")
    return redirect(_back(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.get("/media/<int:message_id>")
@permission_required("conversations.view")
def media(message_id: int):
    """The media of a customer's image/video/audio/file message (the REST API's content logic)."""
    from crm.api import ApiError, fetch_media

    try:
        body, content_type = fetch_media(_engine(), message_id)
    except ApiError as exc:
        abort(exc.status, exc.reason)
    response = current_app.response_class(body, mimetype=content_type)
    # Never let a customer's file run as a page of ours: no sniffing, sandboxed if opened.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"
    if not content_type.startswith(("image/", "video/", "audio/")):
        response.headers["Content-Disposition"] = "attachment"
    return response


# --- contacts ------------------------------------------------------------------------


@inbox.get("/contacts/<int:contact_id>")
@permission_required("contacts.view")
def contact_page(contact_id: int):
    """The customer 360 page."""
    with Session(_engine()) as db:
        contact = _get_or_404(db, Contact, contact_id)
        panel = data.contact_360(session=db, contact=contact, with_notes=can("notes.view"))
        return render_template("inbox/contact.html", panel=panel)


@inbox.post("/contacts/<int:contact_id>")
@permission_required("contacts.edit")
def contact_update(contact_id: int):
    """Inline edit of a customer's profile, tags, consent and custom fields."""
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
            contact = _get_or_404(db, Contact, contact_id)
            form = request.form.to_dict()
            if "marketing_consent" in request.form:  # a hidden 0 followed by the checkbox's 1 when ticked
                form["marketing_consent"] = request.form.getlist("marketing_consent")[-1]
            data.update_contact(session=db, contact=contact, staff=staff, form=form)
    except data.InboxError as exc:
        return _refused(exc, contact_page, contact_id)
    flash(t("contact_saved"), "info")
    return redirect(_back(url_for("inbox.contact_page", contact_id=contact_id)), 303)


@inbox.post("/contacts/<int:contact_id>/note")
@permission_required("notes.write")
def contact_note(contact_id: int):
    """Add a private note from the customer page."""
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
            _get_or_404(db, Contact, contact_id)
            data.add_note(session=db, staff=staff, contact_id=contact_id, text=request.form.get("text", ""))
    except data.InboxError as exc:
        return _refused(exc, contact_page, contact_id)
    flash(t("note_added"), "info")
    return redirect(_back(url_for("inbox.contact_page", contact_id=contact_id)), 303)


# --- orders and complaints -----------------------------------------------------------


def _page() -> int:
    return max(0, min(request.args.get("page", 0, type=int), 10_000))


@inbox.get("/orders")
@permission_required("orders.view")
def orders():
    """Orders with status filter and search."""
    status = request.args.get("status", "")
    status = status if status in order_data.STATUSES else ""
    q = request.args.get("q", "").strip()[:100]
    size = _settings().inbox.page_size
    with Session(_engine()) as db:
        rows, items, counts = data.list_orders(session=db, status=status, q=q, limit=size, offset=_page() * size)
        return render_template("inbox/orders.html", rows=rows, items=items, counts=counts, status=status, q=q,
                               statuses=order_data.STATUSES, transitions=order_data.TRANSITIONS, page=_page())


@inbox.post("/orders/<int:order_id>/status")
@permission_required("orders.edit")
def order_status(order_id: int):
    """Change an order's status; the customer is told in their chat."""
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
            order = _get_or_404(db, order_data.Order, order_id)
            batch_id = data.change_order_status(session=db, staff=staff, order=order,
                                                status=request.form.get("status", ""),
                                                notify=request.form.get("notify", "1") == "1")
    except data.InboxError as exc:
        return _refused(exc, orders, status=409)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("order_updated"), "info")
    return redirect(_back(url_for("inbox.orders")), 303)


@inbox.get("/complaints")
@permission_required("complaints.view")
def complaints():
    """Complaints with SLA timers; breaches first and highlighted."""
    status = request.args.get("status", "")
    status = status if status in complaint_data.STATUSES else ""
    severity = request.args.get("severity", "")
    severity = severity if severity in complaint_data.SEVERITIES else ""
    breached = request.args.get("breached") == "1"
    size = _settings().inbox.page_size
    with Session(_engine()) as db:
        rows, counts = data.list_complaints(session=db, status=status, severity=severity, breached=breached,
                                            limit=size, offset=_page() * size)
        return render_template("inbox/complaints.html", rows=rows, counts=counts, status=status, severity=severity,
                               breached=breached, statuses=complaint_data.STATUSES,
                               severities=complaint_data.SEVERITIES, now=utcnow(), page=_page())


@inbox.post("/complaints/<int:complaint_id>/status")
@permission_required("complaints.edit")
def complaint_status(complaint_id: int):
    """Change a complaint's status; the customer is told in their chat."""
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
            complaint = _get_or_404(db, complaint_data.Complaint, complaint_id)
            batch_id = data.change_complaint_status(session=db, staff=staff, complaint=complaint,
                                                    status=request.form.get("status", ""),
                                                    notify=request.form.get("notify", "1") == "1")
    except data.InboxError as exc:
        return _refused(exc, complaints)
    if batch_id:
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("complaint_updated"), "info")
    return redirect(_back(url_for("inbox.complaints")), 303)


# --- agenda --------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(_settings().tz).date()


@inbox.get("/agenda")
@permission_required("agenda.view")
def agenda():
    """Today's follow-up tasks, the next ones, and today's birthdays."""
    with Session(_engine()) as db:
        return render_template("inbox/agenda.html", agenda=data.agenda(session=db, today=_today()),
                               names=data.staff_names(session=db))


@inbox.post("/tasks")
@permission_required("agenda.edit")
def task_add():
    """Add a follow-up task for a contact."""
    staff = current_staff()
    try:
        try:
            due = date.fromisoformat(request.form.get("due_on", ""))
        except ValueError:
            raise data.InboxError("bad_date") from None
        contact_id = id_arg("contact_id", request.form)
        if contact_id is None:
            raise data.InboxError("unknown_contact")
        with session_scope(_engine()) as db:
            data.create_task(session=db, staff=staff, contact_id=contact_id, title=request.form.get("title", ""),
                             due_on=due)
    except data.InboxError as exc:
        return _refused(exc, agenda)
    flash(t("task_added"), "info")
    return redirect(_back(url_for("inbox.agenda")), 303)


@inbox.post("/tasks/<int:task_id>/done")
@permission_required("agenda.edit")
def task_done(task_id: int):
    """Mark a follow-up task done."""
    staff = current_staff()
    with session_scope(_engine()) as db:
        task = _get_or_404(db, FollowUpTask, task_id)
        data.complete_task(session=db, staff=staff, task=task)
    flash(t("task_done"), "info")
    return redirect(_back(url_for("inbox.agenda")), 303)


# --- dashboard -----------------------------------------------------------------------


@inbox.get("/dashboard")
@permission_required("dashboard.view")
def dashboard():
    """Support figures with charts."""
    days = request.args.get("days", 30, type=int)
    days = days if days in (7, 30, 90) else 30
    with Session(_engine()) as db:
        return render_template("inbox/dashboard.html", figures=data.dashboard(session=db, days=days))


# --- admin ---------------------------------------------------------------------------


@inbox.route("/canned", methods=["GET", "POST"])
@permission_required("canned.manage")
def canned():
    """Manage canned responses."""
    if request.method == "POST":
        try:
            with session_scope(_engine()) as db:
                data.save_canned(session=db, staff=current_staff(), shortcut=request.form.get("shortcut", ""),
                                 title=request.form.get("title", ""), text=request.form.get("text", ""),
                                 quick_replies=request.form.get("quick_replies", "").split(","))
        except data.InboxError as exc:
            flash(error_text(str(exc)), "error")
            with Session(_engine()) as db:
                return render_template("inbox/canned.html", rows=data.canned_responses(session=db)), 400
        flash(t("canned_added"), "info")
        return redirect(url_for("inbox.canned"), 303)
    with Session(_engine()) as db:
        return render_template("inbox/canned.html", rows=data.canned_responses(session=db))


def _users_page(status: int = 200):
    with Session(_engine()) as db:
        users = db.exec(select(StaffUser).order_by(StaffUser.id)).all()
        return render_template("inbox/users.html", users=users, roles=ROLES, tokens=list_tokens(session=db)), status


@inbox.route("/users", methods=["GET", "POST"])
@permission_required("users.manage")
def users():
    """Staff accounts: add, change role, deactivate, grant notes to marketers."""
    if request.method == "GET":
        return _users_page()
    staff = current_staff()
    try:
        with session_scope(_engine()) as db:
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
    with session_scope(_engine()) as db:
        user = _get_or_404(db, StaffUser, user_id)
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


@inbox.post("/tokens/<int:token_id>/revoke")
@permission_required("users.manage")
def token_revoke(token_id: int):
    """Revoke an API token: the API answers it 401 from the next request on."""
    with session_scope(_engine()) as db:
        row = _get_or_404(db, ApiToken, token_id)
        if revoke_tokens(session=db, tokens=[row]):
            data.audit(session=db, staff=current_staff(), action="token.revoke", target_type="token",
                       target_id=row.id, details={"name": row.name})
    flash(t("token_revoked", name=row.name), "info")
    return redirect(url_for("inbox.users"), 303)


@inbox.get("/audit")
@permission_required("audit.view")
def audit_log():
    """The latest writes: who, what, when."""
    with Session(_engine()) as db:
        rows = db.exec(select(AuditLog).order_by(AuditLog.id.desc()).limit(300)).all()
        return render_template("inbox/audit.html", rows=rows, names=data.staff_names(session=db))


# --- errors --------------------------------------------------------------------------


@inbox.errorhandler(403)
def _forbidden(exc):
    if _fetch() or request.path.endswith("/events"):
        return jsonify(error="forbidden for your role"), 403
    return render_template("inbox/error.html", message=t("forbidden"), code=403), 403


@inbox.errorhandler(404)
def _not_found(exc):
    return render_template("inbox/error.html", message=exc.description if exc.description and
                           "requested URL" not in exc.description else t("not_found"), code=404), 404


@inbox.errorhandler(400)
def _bad_request(exc):
    from flask_wtf.csrf import CSRFError

    message = t("csrf_failed") if isinstance(exc, CSRFError) else (exc.description or t("bad_request"))
    if _fetch():
        return jsonify(error=message), 400
    return render_template("inbox/error.html", message=message, code=400), 400

