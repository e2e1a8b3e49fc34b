"""The contacts list with its export, and the import of a contacts file: upload, mapping, dry run, import with progress.

The import runs `crm.contact_import` through `crm.contact_uploads` (the same code as `sapa contacts
import`); the import itself is a queue task the app factory hands over as `sapa.enqueue_import`.
"""

from __future__ import annotations

import re
import tempfile
from io import BytesIO
from pathlib import Path

from flask import (
    Response, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, stream_with_context,
    url_for,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from core.db import session_scope
from crm import contact_uploads, data_rights
from crm.contact_export import export_table, write_export
from crm.contact_import import FIELDS
from crm.contact_uploads import UploadError
from crm.contacts import identities_of, search_condition, search_contacts
from crm.csv_export import stream_csv
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import inbox, refused
from crm.inbox.conversation_views import contact_page
from crm.inbox.i18n import t
from crm.models import CHANNELS
from crm.web import engine, settings

LIST_LIMIT = 100
SHOWN_REJECTS = 20
# The import's reasons (English, as in the report file) → the words shown on the screen.
REASONS = (("no name", "import_reason_no_name"), ("not a valid phone number", "import_reason_phone"),
           ("not a valid email address", "import_reason_email"), ("not a date", "import_reason_date"),
           ("not a Telegram chat id", "import_reason_telegram"), ("not a LINE user id", "import_reason_line"),
           ("the LINE user id and the Telegram chat id", "import_reason_two_contacts"),
           ("the contact this row matches", "import_reason_other_account"))


def _search() -> tuple[str, str | None]:
    q = request.args.get("q", "").strip()[:200]
    channel = request.args.get("channel") or None
    return q, channel if channel in CHANNELS else None


@inbox.get("/contacts")
@permission_required("contacts.view")
def contacts():
    """Contacts matching a search (name, phone, chat id), most recently seen first."""
    q, channel = _search()
    with Session(engine()) as db:
        rows = search_contacts(session=db, q=q or None, channel=channel, limit=LIST_LIMIT)
        identities = identities_of(session=db, contact_ids=[row.id for row in rows])
        return render_template("inbox/contacts.html", rows=rows, identities=identities, q=q, channel=channel,
                               channels=CHANNELS, limit=LIST_LIMIT)


@inbox.get("/contacts/export")
@permission_required("contacts.export")
def contacts_export():
    """The contacts of the search (all without one) with every field, as CSV or XLSX."""
    q, channel = _search()
    kind = export_format()
    with session_scope(engine()) as db:
        data.audit(session=db, staff=current_staff(), action="contacts.export", target_type="contact",
                   details={"q": q, "channel": channel, "format": kind})
        condition = search_condition(session=db, q=q or None, channel=channel)
    return export_response(condition, kind, "contacts")


def export_format() -> str:
    """The export's file type asked for in ?format= (CSV unless XLSX)."""
    return "xlsx" if request.args.get("format") == "xlsx" else "csv"


def export_response(condition: ColumnElement, kind: str, stem: str) -> Response:
    """The contacts matching `condition` with every field, as a CSV (streamed) or XLSX download named `stem`."""
    name = f"{stem}.{kind}"
    if kind == "csv":
        def generate():
            with Session(engine()) as db:
                header, rows = export_table(session=db, condition=condition)
                yield from stream_csv(header, rows)

        return Response(stream_with_context(generate()), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    with tempfile.TemporaryDirectory() as folder, Session(engine()) as db:
        path = Path(folder) / name
        header, rows = export_table(session=db, condition=condition)
        write_export(path, header, rows)
        body = BytesIO(path.read_bytes())
    return send_file(body, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- one customer's data rights ------------------------------------------------------------


@inbox.get("/contacts/<int:contact_id>/export.zip")
@permission_required("contacts.export")
def contact_export(contact_id: int):
    """Everything held about one customer (they asked for it), as a zip of JSON and CSVs."""
    with session_scope(engine()) as db:
        body = data_rights.export_zip(session=db, contact_id=contact_id)
        if body is None:
            abort(404)
        data.audit(session=db, staff=current_staff(), action="contact.export", target_type="contact",
                   target_id=contact_id)
    return send_file(BytesIO(body), as_attachment=True, download_name=f"contact-{contact_id}.zip",
                     mimetype="application/zip")


@inbox.post("/contacts/<int:contact_id>/erase")
@permission_required("contacts.erase")
def contact_erase(contact_id: int):
    """Erase a customer's personal data (they asked for it), once the admin ticked that they mean it."""
    staff = current_staff()
    if request.form.get("confirm") != "1":
        return refused(data.InboxError("erase_unconfirmed"), contact_page, contact_id)
    with session_scope(engine()) as db:
        done = data_rights.erase_contact(session=db, contact_id=contact_id, staff_user_id=staff.id,
                                         also=current_app.extensions.get("sapa.erasers", ()))
        if done is None:
            abort(404)
    data_rights.delete_media(settings().media_dir, done.media)
    flash(t("contact_erased"), "info")
    return redirect(url_for("inbox.contact_page", contact_id=contact_id), 303)


# --- import ------------------------------------------------------------------------------


def _root() -> Path:
    return contact_uploads.imports_dir(settings().media_dir)


def _upload(token: str) -> contact_uploads.Upload:
    try:
        return contact_uploads.open_upload(root=_root(), token=token)
    except LookupError:
        abort(404)


def _error(exc: UploadError) -> str:
    return t(f"import_err_{exc.code}", arg=exc.arg)


def reason_text(reason: str) -> str:
    """A rejected row's reason in the reader's language (the typed value kept)."""
    for prefix, key in REASONS:
        if reason.startswith(prefix):
            value = re.search(r": (.*?)(?: \(use .*\))?$", reason)
            return t(key, value=value.group(1) if value else "")
    return reason


@inbox.errorhandler(413)
def _too_big(exc):
    if not request.path.startswith("/inbox/contacts/import"):
        return exc
    flash(t("import_err_file_too_big", arg=contact_uploads.MAX_BYTES // 1_000_000), "error")
    return render_template("inbox/contact_import.html", upload=None), 413


@inbox.route("/contacts/import", methods=["GET", "POST"])
@permission_required("contacts.import")
def contacts_import():
    """Step 1: upload a CSV or XLSX file."""
    if request.method == "GET":
        return render_template("inbox/contact_import.html", upload=None)
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise UploadError("file_missing")
        upload = contact_uploads.save_upload(root=_root(), name=file.filename,
                                             data=file.read(contact_uploads.MAX_BYTES + 1))
    except UploadError as exc:
        flash(_error(exc), "error")
        return render_template("inbox/contact_import.html", upload=None), 400
    with session_scope(engine()) as db:
        data.audit(session=db, staff=current_staff(), action="contacts.import_upload", target_type="import",
                   details={"file": file.filename[:200], "upload": upload.token})
    return redirect(url_for("inbox.contacts_import_file", token=upload.token), 303)


def _choices() -> dict[int, tuple[str, str]]:
    """The mapping form's choice per column index."""
    return {int(key[4:]): (value, request.form.get(f"custom_{key[4:]}", ""))
            for key, value in request.form.items() if re.fullmatch(r"map_\d{1,4}", key)}


def _import_page(upload: contact_uploads.Upload, status: int = 200, result=None, choices=None):
    """The mapping step, with the dry run's result when there is one, and the import's progress."""
    try:
        preview = contact_uploads.read_preview(upload)
    except UploadError as exc:
        flash(_error(exc), "error")
        return render_template("inbox/contact_import.html", upload=None), 400
    state = contact_uploads.read_state(upload)
    if choices is None:
        kept = {column.lower(): target for column, target in state.get("overrides", {}).items()}
        targets = {i: kept.get(name.strip().lower(), preview.guessed.get(i, "")) if kept else preview.guessed.get(i, "")
                   for i, name in enumerate(preview.header)}
        choices = {i: ("custom", target[len("custom."):]) if target.startswith("custom.") else (target, "")
                   for i, target in targets.items()}
    rejects = sorted(result.rejects, key=lambda r: r.row)[:SHOWN_REJECTS] if result else []
    return render_template("inbox/contact_import.html", upload=upload, preview=preview, choices=choices,
                           fields=[f for f in FIELDS if f != "contact_id"], state=state, result=result,
                           rejects=rejects, reason_text=reason_text,
                           stalled=contact_uploads.stalled(state)), status


@inbox.get("/contacts/import/<token>")
@permission_required("contacts.import")
def contacts_import_file(token: str):
    """Step 2: map the file's columns to the fields (and, once started, the import's progress)."""
    return _import_page(_upload(token))


@inbox.post("/contacts/import/<token>/dry-run")
@permission_required("contacts.import")
def contacts_import_dry_run(token: str):
    """Step 3: what the import would create, merge, leave unchanged and reject (nothing written)."""
    upload = _upload(token)
    choices = _choices()
    try:
        preview = contact_uploads.read_preview(upload)
        overrides = contact_uploads.overrides_from(preview.header, choices)
        result = contact_uploads.dry_run(engine=engine(), upload=upload, overrides=overrides)
    except UploadError as exc:
        flash(_error(exc), "error")
        return _import_page(upload, 400, choices=choices)
    return _import_page(upload, result=result, choices=choices)


@inbox.post("/contacts/import/<token>/start")
@permission_required("contacts.import")
def contacts_import_start(token: str):
    """Step 4: import the file in the background with the dry run's mapping."""
    upload = _upload(token)
    if not contact_uploads.queue_import(upload):
        flash(t("import_not_startable"), "error")
        return redirect(url_for("inbox.contacts_import_file", token=token), 303)
    state = contact_uploads.read_state(upload)
    with session_scope(engine()) as db:
        data.audit(session=db, staff=current_staff(), action="contacts.import_start", target_type="import",
                   details={"file": state.get("name"), "upload": token, "mapping": state.get("overrides")})
    current_app.extensions["sapa.enqueue_import"](str(_root()), token)
    return redirect(url_for("inbox.contacts_import_file", token=token) + "#progress", 303)


@inbox.get("/contacts/import/<token>/progress")
@permission_required("contacts.import")
def contacts_import_progress(token: str):
    """The import's progress as JSON (polled by the page): status, rows done of total, the summary at the end."""
    upload = _upload(token)
    state = contact_uploads.read_state(upload)
    status = "stalled" if contact_uploads.stalled(state) else state.get("status", "uploaded")
    done, total = state.get("done", 0), max(state.get("total", 0), 1)
    result = state.get("result") if status == "done" else None
    return jsonify(status=status, done=done, total=total, percent=100 if status == "done" else min(99, 100 * done // total),
                   result=result, summary=t("import_summary", **result) if result else "",
                   error=t(f"import_err_{state['error']}", arg="") if state.get("error") else "",
                   report=url_for("inbox.contacts_import_report", token=token)
                   if result and result["rejected"] else "")


@inbox.get("/contacts/import/<token>/report")
@permission_required("contacts.import")
def contacts_import_report(token: str):
    """The rejected rows (row, column, reason, the row's cells) as CSV."""
    upload = _upload(token)
    if not upload.report.exists():
        abort(404)
    return send_file(upload.report, as_attachment=True, download_name=upload.report.name, mimetype="text/csv",
                     max_age=0)
