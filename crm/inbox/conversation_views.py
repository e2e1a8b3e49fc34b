"""The inbox's conversation and customer pages: list, timeline, replies, notes, assignment, media, profile."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session, select

from core import messages as m
from core.db import session_scope, utcnow
from crm import merge
from crm.api.base import ApiError
from crm.api.contacts import fetch_media
from crm import loyalty
from crm.ids import id_arg
from crm.inbox import customer_data, data, shop_data
from crm.inbox.auth import can, current_staff, permission_required
from crm.inbox.blueprint import back_to, get_or_404, inbox, refused
from crm.inbox.i18n import t
from crm.media import MAX_UPLOAD_BYTES, CheckedImage, MediaError, check_image
from crm.models import Contact, Conversation, StaffUser
from crm.shop_settings import current_config
from crm.web import engine, settings


# --- conversations -------------------------------------------------------------------


def _list_context(db: Session, staff: StaffUser, filters: data.Filters, selected: int | None = None) -> dict:
    page_size = settings().inbox.page_size
    if db.exec(select(Conversation.id).where(Conversation.status == "snoozed",
                                            Conversation.snoozed_until <= utcnow()).limit(1)).first():
        with session_scope(engine()) as writer:  # only when some snooze ran out: reads stay reads
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
    with Session(engine()) as db:
        return render_template("inbox/conversations.html", **_list_context(db, staff, filters), view=None)


@inbox.get("/list")
@permission_required("conversations.view")
def conversation_list():
    """Only the list (for live refreshes)."""
    staff = current_staff()
    filters = data.Filters.from_args(request.args)
    selected = id_arg("selected")
    with Session(engine()) as db:
        return render_template("inbox/_list.html", **_list_context(db, staff, filters, selected))





@inbox.get("/c/<int:conversation_id>")
@permission_required("conversations.view")
def conversation(conversation_id: int):
    """One conversation: the list, the history with the reply box, and the customer panel."""
    staff = current_staff()
    filters = data.Filters.from_args(request.args)
    with_notes = can("notes.view")
    with session_scope(engine()) as db:
        conv = get_or_404(db, Conversation, conversation_id)
        if can("conversations.reply"):
            data.mark_read(session=db, conversation=conv)
        contact = db.get(Contact, conv.contact_id) if conv.contact_id else None
        view = {
            "conversation": conv, "contact": contact,
            "history": data.timeline(session=db, conversation=conv, with_notes=with_notes),
            "panel": customer_data.contact_360(session=db, contact=contact, with_notes=with_notes,
                                               points_rules=loyalty.rules_for(db, settings())) if contact else None,
            "canned": shop_data.canned_responses(session=db),
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
    with Session(engine()) as db:
        conv = get_or_404(db, Conversation, conversation_id)
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
    base = settings().public_url.rstrip("/")
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
        with session_scope(engine()) as db:
            conv = get_or_404(db, Conversation, conversation_id)
            image = _checked_upload(upload, conv, draft) if upload is not None and upload.filename else None
            contact = db.get(Contact, conv.contact_id) if conv.contact_id else None
            config = current_config(db, settings())
            draft.text = data.fill_variables(draft.text, contact=contact, staff=staff, shop=config.bot.shop_name)
            batch_id = data.send_reply(session=db, conversation=conv, staff=staff, draft=draft,
                                       handoff_minutes=config.bot.handoff_timeout_minutes)
            if image is not None:
                image.write(settings().media_dir)  # only for a reply that is sent; before its commit
    except data.InboxError as exc:
        return refused(exc, conversation, conversation_id)
    # Queued after the commit, so the worker finds the rows (as the webhook does with events).
    current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(t("reply_queued"), "info")
    return redirect(back_to(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.post("/c/<int:conversation_id>/note")
@permission_required("notes.write")
def note(conversation_id: int):
    """Add a private note to the conversation's customer."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            conv = get_or_404(db, Conversation, conversation_id)
            if conv.contact_id is None:
                raise data.InboxError("unknown_contact")  # a group chat: notes belong to a customer
            data.add_note(session=db, staff=staff, contact_id=conv.contact_id, conversation=conv,
                          text=request.form.get("text", ""))
    except data.InboxError as exc:
        return refused(exc, conversation, conversation_id)
    flash(t("note_added"), "info")
    return redirect(back_to(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.post("/c/<int:conversation_id>/<any(assign, labels, status, bot):action>")
@permission_required("conversations.manage")
def manage(conversation_id: int, action: str):
    """Assign / transfer, label, change status (snooze, resolve), take over from the bot or hand back."""
    staff = current_staff()
    form = request.form
    try:
        with session_scope(engine()) as db:
            minutes = current_config(db, settings()).bot.handoff_timeout_minutes
            conv = get_or_404(db, Conversation, conversation_id)
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
        return refused(exc, conversation, conversation_id)
    flash(t("conversation_updated"), "info")
    return redirect(back_to(url_for("inbox.conversation", conversation_id=conversation_id)), 303)


@inbox.get("/media/<int:message_id>")
@permission_required("conversations.view")
def media(message_id: int):
    """The media of a customer's image/video/audio/file message (the REST API's content logic)."""
    try:
        body, content_type = fetch_media(engine(), message_id)
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
    with Session(engine()) as db:
        contact = get_or_404(db, Contact, contact_id)
        if contact.merged_into is not None:  # merged away: the person lives on in the survivor's page
            survivor = merge.survivor_of(session=db, contact_id=contact.id)
            return redirect(url_for("inbox.contact_page", contact_id=survivor.id), 303)
        panel = customer_data.contact_360(session=db, contact=contact, with_notes=can("notes.view"),
                                          points_rules=loyalty.rules_for(db, settings()))
        merges = merge.merges_of(session=db, contact_id=contact.id) if can("contacts.merge") else []
        return render_template("inbox/contact.html", panel=panel, merges=merges)


@inbox.post("/contacts/<int:contact_id>")
@permission_required("contacts.edit")
def contact_update(contact_id: int):
    """Inline edit of a customer's profile, tags, consent and custom fields."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            contact = get_or_404(db, Contact, contact_id)
            form = request.form.to_dict()
            if "marketing_consent" in request.form:  # a hidden 0 followed by the checkbox's 1 when ticked
                form["marketing_consent"] = request.form.getlist("marketing_consent")[-1]
            customer_data.update_contact(session=db, contact=contact, staff=staff, form=form,
                                         today=datetime.now(settings().tz).date())
    except data.InboxError as exc:
        return refused(exc, contact_page, contact_id)
    flash(t("contact_saved"), "info")
    return redirect(back_to(url_for("inbox.contact_page", contact_id=contact_id)), 303)


@inbox.post("/contacts/<int:contact_id>/points")
@permission_required("points.adjust")
def contact_points(contact_id: int):
    """Add or take a customer's points with a reason (a purchase or a reward at the counter, a correction)."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            contact = get_or_404(db, Contact, contact_id)
            change = customer_data.adjust_points(session=db, staff=staff, contact=contact,
                                                 points=request.form.get("points", ""),
                                                 reason=request.form.get("reason", ""))
    except data.InboxError as exc:
        return refused(exc, contact_page, contact_id)
    flash(t("points_adjusted", points=f"{change:+d}"), "info")
    return redirect(back_to(url_for("inbox.contact_page", contact_id=contact_id)), 303)


@inbox.post("/contacts/<int:contact_id>/note")
@permission_required("notes.write")
def contact_note(contact_id: int):
    """Add a private note from the customer page."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            get_or_404(db, Contact, contact_id)
            data.add_note(session=db, staff=staff, contact_id=contact_id, text=request.form.get("text", ""))
    except data.InboxError as exc:
        return refused(exc, contact_page, contact_id)
    flash(t("note_added"), "info")
    return redirect(back_to(url_for("inbox.contact_page", contact_id=contact_id)), 303)
