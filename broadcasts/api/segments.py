"""Segment endpoints: save, list, read one, the live count and sample of rules, and the contacts export."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlmodel import Session

from flask import Response, stream_with_context

from broadcasts import segments as seg
from broadcasts.api.base import broadcasts_api, segment_error
from broadcasts.api.schemas import PreviewResult, SegmentCreate, SegmentList, SegmentPreview, SegmentPublic
from broadcasts.models import Segment

from core.db import session_scope
from crm.api.base import ApiError, dump, enum_arg, int_arg, query_value, read_body, require_token
from crm import contacts as contact_data
from crm.contact_export import export_table
from crm.ids import MAX_ID
from crm.csv_export import stream_csv
from crm.models import CHANNELS
from crm.api.contacts import contact_public
from crm.web import engine


@broadcasts_api.post("/segments")
@require_token
def create_segment():
    """Save a named segment; answers it with its current audience count."""
    body = read_body(SegmentCreate)
    try:
        with session_scope(engine()) as session:
            segment = seg.create_segment(session=session, name=body.name.strip(), rules=body.rules)
            count = seg.count(session=session, rules=segment.rules)
            public = SegmentPublic(id=segment.id, name=segment.name, rules=segment.rules, count=count,
                                   created_at=segment.created_at)
    except seg.SegmentError as exc:
        raise segment_error(exc) from None
    response = dump(public)
    response.status_code = 201
    return response


@broadcasts_api.get("/segments")
@require_token
def list_segments():
    """Saved segments with their live audience counts, newest first."""
    with Session(engine()) as session:
        rows = session.execute(select(Segment).order_by(Segment.id.desc()).limit(int_arg("limit", 100, 1, 500))
                               ).scalars().all()
        items = []
        for row in rows:
            try:
                count = seg.count(session=session, rules=row.rules)
            except seg.SegmentError:
                count = 0  # e.g. a store the segment names was deleted
            items.append(SegmentPublic(id=row.id, name=row.name, rules=row.rules, count=count,
                                       created_at=row.created_at))
        return dump(SegmentList(items=items))


@broadcasts_api.get("/segments/<int:segment_id>")
@require_token
def get_segment(segment_id: int):
    """One segment with its live audience count."""
    with Session(engine()) as session:
        row = session.get(Segment, segment_id)
        if row is None:
            raise ApiError(404, f"segment {segment_id} not found")
        try:
            count = seg.count(session=session, rules=row.rules)
        except seg.SegmentError as exc:
            raise segment_error(exc) from None
        return dump(SegmentPublic(id=row.id, name=row.name, rules=row.rules, count=count, created_at=row.created_at))


@broadcasts_api.post("/segments/preview")
@require_token
def preview_segment():
    """The live audience count of rules (while editing) and some sample contacts."""
    body = read_body(SegmentPreview)
    with Session(engine()) as session:
        try:
            count = seg.count(session=session, rules=body.rules)
            sample = seg.sample(session=session, rules=body.rules, limit=body.sample) if body.sample else []
        except seg.SegmentError as exc:
            raise segment_error(exc) from None
        identities = contact_data.identities_of(session=session, contact_ids=[c.id for c in sample])
        return dump(PreviewResult(count=count, sample=[contact_public(c, identities[c.id]) for c in sample]))


@broadcasts_api.get("/contacts/export.csv")
@require_token
def export_contacts():
    """Contacts with every field as CSV (streamed): all, a saved segment, rules (JSON), or a search."""
    segment_id = int_arg("segment_id", None, 1, MAX_ID)
    rules = _json_arg("rules")
    q, channel = query_value("q"), enum_arg("channel", CHANNELS)
    with Session(engine()) as session:  # refuse bad rules before the download starts
        if segment_id is not None and session.get(Segment, segment_id) is None:
            raise ApiError(404, f"segment {segment_id} not found")
        try:
            seg.audience_condition(session=session, segment_id=segment_id, rules=rules)
        except seg.SegmentError as exc:
            raise segment_error(exc) from None

    def generate():
        with Session(engine()) as session:
            condition = seg.audience_condition(session=session, segment_id=segment_id, rules=rules) & \
                contact_data.search_condition(session=session, q=q, channel=channel)
            header, rows = export_table(session=session, condition=condition)
            yield from stream_csv(header, rows)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="contacts.csv"'})


def _json_arg(name: str):
    raw = query_value(name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(422, "invalid rules", [{"field": name, "message": "not JSON"}]) from None
