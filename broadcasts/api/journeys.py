"""Journey endpoints (list, switch or edit), a contact's marketing consent, and the LINE quota."""

from __future__ import annotations

from flask import g

from broadcasts import actions
from broadcasts import consent as consent_data
from broadcasts import journeys as journey_data
from broadcasts.api.base import broadcasts_api, campaign_error
from broadcasts.api.schemas import ConsentBody, ConsentPublic, JourneyList, JourneyPublic, JourneyUpdate, Quota
from broadcasts.campaign_message import CampaignError

from core.db import session_scope
from crm.api.base import ApiError, dump, read_body, require_token
from crm.models import Contact
from crm.web import engine


def _journey_public(row) -> JourneyPublic:
    return JourneyPublic(key=row.key, enabled=row.enabled, message=row.message or {}, options=row.options or {},
                         campaign_id=row.campaign_id, updated_at=row.updated_at)


@broadcasts_api.get("/journeys")
@require_token
def list_journeys():
    """The triggered journeys (welcome, birthday, order follow-up, win-back, abandoned order)."""
    with session_scope(engine()) as session:
        return dump(JourneyList(items=[_journey_public(row) for row in journey_data.ensure(session=session)]))


@broadcasts_api.patch("/journeys/<key>")
@require_token
def update_journey(key: str):
    """Switch a journey on or off, or edit its message and options."""
    body = read_body(JourneyUpdate)
    try:
        with session_scope(engine()) as session:
            row = journey_data.update(session=session, key=key, enabled=body.enabled, message=body.message,
                                      options=body.options)
            return dump(_journey_public(row))
    except CampaignError as exc:
        raise campaign_error(exc) from None


@broadcasts_api.post("/contacts/<int:contact_id>/consent")
@require_token
def set_consent(contact_id: int):
    """Opt a contact out of (or back into) marketing on one channel."""
    body = read_body(ConsentBody)
    with session_scope(engine()) as session:
        if session.get(Contact, contact_id) is None:
            raise ApiError(404, f"contact {contact_id} not found")
        consent_data.set_opt_out(session=session, contact_id=contact_id, channel=body.channel,
                                 opted_out=body.opted_out, source="api", actor=g.api_token_name)
        return dump(ConsentPublic(contact_id=contact_id,
                                   opted_out_channels=consent_data.opted_out_channels(session=session,
                                                                                      contact_id=contact_id)))


@broadcasts_api.get("/broadcasts/quota")
@require_token
def line_quota():
    """This month's LINE message quota, read from LINE (409 when LINE is off, 502 when it fails)."""
    try:
        return dump(Quota(**actions.line_quota()))
    except actions.QuotaUnavailable as exc:
        raise ApiError(exc.status, exc.reason) from None

