"""REST API v1 for the customer's data rights: export everything about a contact, erase a contact (admin token)."""

from __future__ import annotations

from io import BytesIO

from flask import current_app, g, jsonify, send_file
from sqlmodel import Session

from core.db import session_scope
from crm import data_rights
from crm.api.base import ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, path_param, require_token, schema_response
from crm.schemas import Erasure
from crm.web import engine


@api.get("/contacts/<int:contact_id>/export")
@require_token
def export_contact(contact_id: int):
    """Everything held about one contact: contact.json plus a CSV per list, in a zip."""
    with Session(engine()) as session:
        body = data_rights.export_zip(session=session, contact_id=contact_id)
    if body is None:
        raise ApiError(404, f"contact {contact_id} not found")
    return send_file(BytesIO(body), mimetype="application/zip", as_attachment=True,
                     download_name=f"contact-{contact_id}.zip")


@api.post("/contacts/<int:contact_id>/erase")
@require_token
def erase_contact(contact_id: int):
    """Anonymise a contact, keeping order totals for the books; done before the 202 (erasing again is fine)."""
    # Inline rather than queued: one contact's rows are a few updates, and the answer can say it is done.
    with session_scope(engine()) as session:
        done = data_rights.erase_contact(session=session, contact_id=contact_id, actor=f"api:{g.api_token_name}",
                                         also=current_app.extensions.get("sapa.erasers", ()))
        if done is None:
            raise ApiError(404, f"contact {contact_id} not found")
    data_rights.delete_media(current_app.config["SAPA"].media_dir, done.media)
    # Where the outbound webhooks land: a `contact.updated` event for this contact belongs in the erasure's transaction.
    response = jsonify(Erasure(id=contact_id, status="erased", erased_at=done.erased_at,
                               already_erased=done.already).model_dump(mode="json"))
    response.status_code = 202
    return response


# --- OpenAPI ------------------------------------------------------------------------

OPENAPI_MODELS.append(Erasure)
ADMIN_ONLY = {"403": schema_response("Error", "Only a full-access or admin token may do this")}
OPENAPI_PATHS.update({
    "/contacts/{contact_id}/export": {"get": {
        "summary": "Everything held about one contact (a zip: contact.json and CSVs); admin token",
        "parameters": [path_param("contact_id")],
        "responses": {"200": {"description": "The zip",
                              "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
                      "404": schema_response("Error"), **ERRORS, **ADMIN_ONLY}}},
    "/contacts/{contact_id}/erase": {"post": {
        "summary": "Erase a contact's personal data (anonymised, order totals kept); admin token",
        "parameters": [path_param("contact_id")],
        "responses": {"202": schema_response("Erasure", "Erased (or erased before)"), "404": schema_response("Error"),
                      **ERRORS, **ADMIN_ONLY}}},
})
