"""The segment screens: saved segments with live counts, the rule builder, delete, live preview, and a saved
segment's contacts as CSV or XLSX (those who may export contacts: the inbox's own export code)."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlmodel import Session

from broadcasts import segments as seg
from broadcasts.models import Campaign, Segment
from broadcasts.web.base import builder_context, fetch_error, marketing
from core.db import as_utc, session_scope
from crm import contacts as contact_data
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.contact_views import export_format, export_response
from crm.inbox import i18n
from crm.inbox.i18n import t
from crm.web import engine, settings


def _parse_rules(raw: str) -> Any:
    """The rules of a form field (JSON); SegmentError when it is not JSON."""
    try:
        return json.loads(raw or "{}")
    except ValueError:
        raise seg.SegmentError([{"field": "rules", "message": "not valid JSON"}]) from None


@marketing.get("/segments")
@permission_required("segments.manage")
def segments():
    """Saved segments with their live audience counts."""
    with Session(engine()) as db:
        rows = []
        for row in db.execute(select(Segment).order_by(Segment.id.desc()).limit(200)).scalars():
            try:
                rows.append((row, seg.count(session=db, rules=row.rules)))
            except seg.SegmentError:
                rows.append((row, None))  # e.g. its store was deleted
        return render_template("marketing/segments.html", rows=rows)


def _segment_page(segment: Segment | None, name: str = "", rules: Any = None, errors: list | None = None,
                  status: int = 200):
    with Session(engine()) as db:
        context = builder_context(db)
    rules_json = json.dumps(rules if rules is not None else (segment.rules if segment else {"all": []}))
    return render_template("marketing/segment_form.html", segment=segment,
                           name=name or (segment.name if segment else ""), rules_json=rules_json, errors=errors or [], builder=context), status


@marketing.route("/segments/new", methods=["GET", "POST"])
@marketing.route("/segments/<int:segment_id>", methods=["GET", "POST"])
@permission_required("segments.manage")
def segment_form(segment_id: int | None = None):
    """Create or edit a segment with the rule builder (live count and sample while editing)."""
    segment = None
    if segment_id is not None:
        with Session(engine()) as db:
            segment = db.get(Segment, segment_id)
        if segment is None:
            abort(404)
    if request.method == "GET":
        return _segment_page(segment)
    name = request.form.get("name", "").strip()
    raw = request.form.get("rules", "")
    if not name or len(name) > 200:
        flash(t("err_segment_name"), "error")
        return _segment_page(segment, name, raw and _safe_json(raw), status=400)
    try:
        rules = _parse_rules(raw)
        with session_scope(engine()) as db:
            if segment is None:
                row = seg.create_segment(session=db, name=name, rules=rules)
                action = "segment.create"
            else:
                row = db.get(Segment, segment.id)
                row.name, row.rules = name, seg.validate_rules(rules, session=db)
                db.add(row)
                db.flush()
                action = "segment.update"
            data.audit(session=db, staff=current_staff(), action=action, target_type="segment", target_id=row.id,
                       details={"name": name, "rules": row.rules})
            new_id = row.id
    except seg.SegmentError as exc:
        flash(t("err_rules"), "error")
        return _segment_page(segment, name, _safe_json(raw), errors=exc.details, status=422)
    flash(t("segment_saved"), "info")
    return redirect(url_for("marketing.segment_form", segment_id=new_id), 303)


def _safe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"all": []}


@marketing.post("/segments/<int:segment_id>/delete")
@permission_required("segments.manage")
def segment_delete(segment_id: int):
    """Delete a segment no campaign uses (campaigns keep a copy of their rules, but name the segment)."""
    with session_scope(engine()) as db:
        row = db.get(Segment, segment_id)
        if row is None:
            abort(404)
        if db.execute(select(Campaign.id).where(Campaign.segment_id == segment_id).limit(1)).first():
            flash(t("segment_in_use"), "error")
            return redirect(url_for("marketing.segment_form", segment_id=segment_id), 303)
        data.audit(session=db, staff=current_staff(), action="segment.delete", target_type="segment",
                   target_id=segment_id, details={"name": row.name})
        db.delete(row)
    flash(t("segment_deleted"), "info")
    return redirect(url_for("marketing.segments"), 303)


@marketing.get("/segments/<int:segment_id>/export")
@permission_required("contacts.export")
def segment_export(segment_id: int):
    """The saved segment's contacts with every field, as CSV or XLSX (the same file as `sapa contacts export --segment`)."""
    kind = export_format()
    with session_scope(engine()) as db:
        segment = db.get(Segment, segment_id)
        if segment is None:
            abort(404)
        try:
            condition = seg.audience_condition(session=db, segment_id=segment_id)
        except seg.SegmentError:  # e.g. its store was deleted: say so rather than fail the download
            flash(t("err_rules"), "error")
            return redirect(url_for("marketing.segment_form", segment_id=segment_id), 303)
        data.audit(session=db, staff=current_staff(), action="contacts.export", target_type="segment",
                   target_id=segment_id, details={"segment": segment.name, "format": kind})
    return export_response(condition, kind, f"segment-{segment_id}")


@marketing.post("/segments/preview")
@permission_required("segments.manage")
def segment_preview():
    """JSON for the builder: {"count", "sample"} of the rules, or 422 with the compiler's messages."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return fetch_error(400, "send JSON {\"rules\": …}")
    with Session(engine()) as db:
        try:
            count = seg.count(session=db, rules=body.get("rules") or {})
            sample = seg.sample(session=db, rules=body.get("rules") or {}, limit=8)
        except seg.SegmentError as exc:
            return fetch_error(422, t("err_rules"), exc.details)
        identities = contact_data.identities_of(session=db, contact_ids=[c.id for c in sample])
        return jsonify(count=count, sample=[
            {"id": c.id, "name": c.display_name or f"#{c.id}", "url": url_for("inbox.contact_page", contact_id=c.id),
             "channels": sorted({i.channel for i in identities[c.id]}),
             "last_seen": i18n.day(as_utc(c.last_seen_at).astimezone(settings().tz).date()) if c.last_seen_at else ""} for c in sample])

