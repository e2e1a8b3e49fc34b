"""REST API v1 for merging two contacts into one, its preview and its undo (crm/merge.py)."""

from __future__ import annotations

from sqlmodel import Session

from core.db import session_scope
from crm import merge
from crm.api.base import (
    ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, dump, int_arg, json_body, path_param, query_param, read_body,
    require_token, schema_response,
)
from crm.api.contacts import identity_public
from crm.ids import MAX_ID
from crm.models import ContactMerge
from crm.schemas import MergeField, MergePreview, MergePublic, MergeRequest
from crm.web import engine

# A refused merge: the HTTP status for each reason.
STATUS = {"missing": 404, "same": 422, "merged": 409, "undone": 409, "superseded": 409}


def merge_public(record: ContactMerge) -> MergePublic:
    """The API shape of a merge record."""
    return MergePublic(id=record.id, survivor_id=record.survivor_id, merged_id=record.merged_id, source=record.source,
                       moved={name: len(keys) for name, keys in (record.moved or {}).items()},
                       created_at=record.created_at, undone_at=record.undone_at)


def _refused(exc: merge.MergeError) -> ApiError:
    return ApiError(STATUS[exc.code], str(exc))


@api.get("/contacts/<int:contact_id>/merge-preview")
@require_token
def merge_preview(contact_id: int):
    """What merging contact `other_id` into this one would do (nothing is changed)."""
    other_id = int_arg("other_id", None, 1, MAX_ID)
    if other_id is None:
        raise ApiError(400, "other_id is required")
    with Session(engine()) as session:
        try:
            plan = merge.preview(session=session, survivor_id=contact_id, merged_id=other_id)
        except merge.MergeError as exc:
            raise _refused(exc) from None
        return dump(MergePreview(
            survivor_id=plan.survivor.id, merged_id=plan.merged.id, counts=plan.counts,
            identities=[identity_public(identity) for identity in plan.identities],
            fields=[MergeField(field=name, survivor=ours, merged=theirs, result=result)
                    for name, ours, theirs, result in plan.fields]))


@api.post("/contacts/<int:contact_id>/merge")
@require_token
def merge_contacts(contact_id: int):
    """Merge contact `other_id` into this one (this one survives with every identity, chat and order)."""
    body = read_body(MergeRequest)
    with session_scope(engine()) as session:
        try:
            record = merge.merge(session=session, survivor_id=contact_id, merged_id=body.other_id, source="api")
        except merge.MergeError as exc:
            raise _refused(exc) from None
        return dump(merge_public(record))


@api.post("/merges/<int:merge_id>/undo")
@require_token
def undo_merge(merge_id: int):
    """Undo a merge: what it moved goes back (messages that reached the survivor after it stay with the survivor)."""
    with session_scope(engine()) as session:
        try:
            record = merge.undo(session=session, merge_id=merge_id)
        except merge.MergeError as exc:
            raise _refused(exc) from None
        return dump(merge_public(record))


# --- OpenAPI ------------------------------------------------------------------------

CONTACT_ID = path_param("contact_id")
REFUSED = {"404": schema_response("Error", "A contact (or the merge) not found"),
           "409": schema_response("Error", "A contact was merged already (or the merge was undone or superseded)")}
OPENAPI_MODELS.extend([MergeRequest, MergePreview, MergeField, MergePublic])
OPENAPI_PATHS.update({
    "/contacts/{contact_id}/merge-preview": {"get": {
        "summary": "What merging another contact into this one would do",
        "parameters": [CONTACT_ID, {**query_param("other_id", "integer", minimum=1, maximum=MAX_ID), "required": True,
                                    "allowEmptyValue": False}],
        "responses": {"200": schema_response("MergePreview"), **REFUSED,
                      "422": schema_response("Error", "The same contact twice"), **ERRORS}}},
    "/contacts/{contact_id}/merge": {"post": {
        "summary": "Merge another contact into this one (agent or admin)", "parameters": [CONTACT_ID],
        "requestBody": json_body("MergeRequest"),
        "responses": {"200": schema_response("MergePublic"), **REFUSED,
                      "422": schema_response("Error", "Invalid fields, or the same contact twice"), **ERRORS}}},
    "/merges/{merge_id}/undo": {"post": {
        "summary": "Undo a merge (agent or admin)", "parameters": [path_param("merge_id")],
        "responses": {"200": schema_response("MergePublic"), **REFUSED, **ERRORS}}},
})
