"""The public `/r/<token>` redirect of tracked campaign links: count the first click of each
recipient (or visitor), then send the browser on to the link's target."""

from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, redirect, request
from itsdangerous import BadSignature, Signer
from sqlalchemy import select
from sqlmodel import Session

from broadcasts import results
from broadcasts.campaign_message import link_signature
from broadcasts.models import CampaignRecipient, TrackedLink

from core.db import session_scope
from crm.ids import as_id
from crm.web import engine, settings

tracking = Blueprint("tracking", __name__)
VISITOR_COOKIE = "sapa_v"
VISITOR_DAYS = 365


def _visitor(secret: str) -> tuple[str, str | None]:
    """Who follows a link without a recipient parameter: (visitor id, cookie to set or None).

    The first-party cookie names a browser across requests; a client that keeps no cookies
    is known by its address and user agent. A first visit's cookie carries that same id, so
    following a link with or without the cookie counts the same visitor. The cookie is
    signed: made-up ids count nothing.
    """
    signer = Signer(secret, salt="sapa.tracked-link.visitor")
    cookie = request.cookies.get(VISITOR_COOKIE, "")
    try:
        return signer.unsign(cookie).decode(), None
    except BadSignature:
        pass
    client = f"{request.remote_addr or ''}\n{request.user_agent.string}"
    visitor = hmac.new(secret.encode(), client.encode(), hashlib.sha256).hexdigest()[:32]
    return visitor, signer.sign(visitor).decode()


def _recipient(session: Session, link: TrackedLink, secret: str) -> tuple[int | None, int | None]:
    """(delivery id, contact id) of the link's signed recipient parameter `d`, else (None, None)."""
    number, _, signature = request.args.get("d", "").partition(".")
    delivery_id = as_id(number)
    if delivery_id is None or not hmac.compare_digest(
            signature.encode(), link_signature(secret, link.token, delivery_id).encode()):
        return None, None
    delivery = session.get(CampaignRecipient, delivery_id)
    if delivery is None or delivery.campaign_id != link.campaign_id:
        return None, None
    return delivery.id, delivery.contact_id


@tracking.get("/r/<token>")
def follow_link(token: str):
    """Count the first click of each recipient (or visitor) on a campaign link, then redirect to its target."""
    secret = settings().secret_key
    cookie = None
    with session_scope(engine()) as session:
        link = session.execute(select(TrackedLink).where(TrackedLink.token == token)).scalars().first()
        if link is None:
            return {"error": "unknown link"}, 404
        delivery_id, contact_id = _recipient(session, link, secret)
        if contact_id is not None:
            visitor = f"c:{contact_id}"
        else:  # a multicast link: one URL for up to 500 people, so the clicker is told apart by client
            anonymous, cookie = _visitor(secret)
            visitor = f"v:{anonymous}"
        results.record_link_click(session=session, link=link, visitor=visitor, contact_id=contact_id,
                                  delivery_id=delivery_id)
        target = link.url
    response = redirect(target, code=302)
    if cookie is not None:
        response.set_cookie(VISITOR_COOKIE, cookie, max_age=VISITOR_DAYS * 86400, path="/r/", httponly=True,
                            secure=request.is_secure, samesite="Lax")
    return response


