"""Signed outbound webhooks: endpoints staff register, and one delivery row per event and endpoint (an outbox).

`emit(session, "order.created", data)` writes a `WebhookDelivery` row for every active
endpoint that chose the event, in the caller's transaction, and hands `webhook:<id>` to the
queue after its commit (core.after_commit); a rolled-back change leaves no row and sends
nothing. A worker claims the row (queued → sending) and POSTs its body, the same bytes and
the same event id on every attempt, signed like Stripe:
`Sapa-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. A non-2xx
answer or a connection error puts the row back in the queue with a growing wait (the first
retry within a minute), tried again by the clock's sweep for `RETRY_FOR`; then it is failed
and staff may replay it. Messages, conversations' statuses and contacts' profiles change in
many places, so a flush listener (below) emits their events for every row the ORM writes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, bindparam, delete, event, insert, or_, select, update
from sqlalchemy import inspect as inspect_row
from sqlmodel import Field, Session, SQLModel

from core.after_commit import send_after_commit
from core.db import as_utc, session_scope, utcnow
from core.runtime import Runtime
from crm.models import ChannelIdentity, Contact, Conversation, Message
from crm.schemas import contact_public, conversation_public, iso_utc, message_public

log = logging.getLogger(__name__)

# Every event an endpoint may choose; a new kind is one more name here and one `emit` call where it happens.
EVENT_TYPES = (
    "message.created", "conversation.status_changed", "order.created", "order.status_changed",
    "complaint.created", "contact.updated", "contact.merged", "points.changed", "campaign.finished",
)
TEST_EVENT = "webhook.test"  # the test-send: to one endpoint, whatever it chose
BATCH_PREFIX = "webhook:"  # what the queue is handed: "webhook:<row id>"
FIRST_RETRY = timedelta(seconds=30)  # doubled after each failed attempt, up to LONGEST_WAIT
LONGEST_WAIT = timedelta(hours=1)
RETRY_FOR = timedelta(hours=24)  # after this, a delivery that never got a 2xx is failed (and replayable)
# A row still "sending" this long after its claim: the worker died with it (a POST ends within its timeout).
STALE_SENDING = timedelta(minutes=2)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SIGNATURE_HEADER = "Sapa-Signature"
URL_MAX = 500


class WebhookEndpoint(SQLModel, table=True):
    """A URL that receives the events it chose, signed with its secret."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=URL_MAX)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(max_length=100)  # kept readable: every delivery is signed with it
    active: bool = True
    created_by: str = Field(default="", max_length=80)  # staff:<id> | api:<token name>
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one endpoint: the exact body sent, its status and the last answer."""

    __table_args__ = (UniqueConstraint("endpoint_id", "event_id", name="uq_webhookdelivery_event"),
                      Index("ix_webhookdelivery_endpoint_created", "endpoint_id", "created_at"))

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhookendpoint.id")
    event_id: str = Field(max_length=40)  # the body's "id": the same on every attempt, for the receiver's dedupe
    type: str = Field(max_length=40)
    body: str = Field(sa_column=Column(Text, nullable=False))  # the JSON sent, byte for byte on every attempt
    status: str = Field(default="queued", max_length=10, index=True)  # queued, sending, sent, failed
    attempts: int = 0
    status_code: int | None = None  # the endpoint's last HTTP answer
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)  # when the sweep may try it
    retry_until: datetime = Field(default_factory=utcnow)  # no retry after this: failed
    sent_at: datetime | None = None


class WebhookError(ValueError):
    """An endpoint could not be registered; `code` names the rule (words in the inbox), the message explains."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- endpoints --------------------------------------------------------------------------


def check_url(url: str, *, production: bool) -> str:
    """The URL, stripped, if deliveries may go there: https and a public host in production, http too otherwise."""
    url = (url or "").strip()
    parts = urlsplit(url)
    try:
        host, _port = parts.hostname, parts.port  # a port that is not a number raises here
    except ValueError:
        host = None
    if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise WebhookError("url_invalid", f"url must be an http(s) URL of at most {URL_MAX} characters, without a login")
    if production and parts.scheme != "https":
        raise WebhookError("url_https", "url must use https")
    if production and not _public_host(host):
        raise WebhookError("url_public", f"url must point at a public host, not {host}")
    return url


def _public_host(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan", ".home.arpa")) or "." not in host:
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a name: public as far as can be told without asking the DNS


def resolves_public(host: str) -> bool:
    """False when the name points at a private, loopback or reserved address (checked before each delivery in production)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return True  # not resolvable now: the POST fails and is retried like any connection error
    return all(ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def check_events(events: list[str]) -> list[str]:
    """The chosen events, each once and in EVENT_TYPES' order; WebhookError when none or an unknown one."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise WebhookError("event_unknown", f"unknown event {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    if not events:
        raise WebhookError("events_empty", "choose at least one event")
    return [name for name in EVENT_TYPES if name in events]


def create_endpoint(*, session: Session, url: str, events: list[str], created_by: str,
                    production: bool) -> WebhookEndpoint:
    """Register an endpoint with a new secret (shown to its creator once); WebhookError on a bad URL or event."""
    endpoint = WebhookEndpoint(url=check_url(url, production=production), events=check_events(events),
                               secret="whsec_" + secrets.token_urlsafe(32), created_by=created_by[:80])
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(*, session: Session) -> list[WebhookEndpoint]:
    """Every registered endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all())


def delete_endpoint(*, session: Session, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its deliveries (a row being sent right now is let go by its worker)."""
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()


def recent_deliveries(*, session: Session, endpoint_id: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """The latest deliveries (of one endpoint, when given), newest first."""
    query = select(WebhookDelivery)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all())


# --- the outbox ---------------------------------------------------------------------------

ENDPOINTS = WebhookEndpoint.__table__
ROWS = WebhookDelivery.__table__
_ACTIVE = select(ENDPOINTS.c.id, ENDPOINTS.c.events).where(ENDPOINTS.c.active == True)  # noqa: E712
_ENDPOINTS_KEY = "sapa.webhook_endpoints"  # session.info: the active endpoints, read once per transaction


def _subscribers(session: Session, event_type: str) -> list[int]:
    # Read once per transaction: an event's work writes several rows, each flush asks again.
    active = session.info.get(_ENDPOINTS_KEY)
    if active is None:
        active = session.info[_ENDPOINTS_KEY] = session.connection().execute(_ACTIVE).all()
    return [endpoint_id for endpoint_id, events in active if event_type in (events or ())]


@event.listens_for(Session, "after_transaction_end")
def _forget_endpoints(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_ENDPOINTS_KEY, None)


def emit(session: Session, event_type: str, data: dict[str, Any] | Callable[[], dict[str, Any]]) -> str | None:
    """Queue `event_type` for every endpoint that chose it, in this transaction; the event id, None when nobody listens.

    `data` may be a function: it is called only when some endpoint wants the event.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}: add it to crm.webhooks.EVENT_TYPES")
    endpoint_ids = _subscribers(session, event_type)
    if not endpoint_ids:
        return None
    return _queue(session, endpoint_ids, event_type, data() if callable(data) else data)


def send_test(*, session: Session, endpoint: WebhookEndpoint) -> str:
    """Queue a test event to this endpoint alone; its event id."""
    return _queue(session, [endpoint.id], TEST_EVENT, {"endpoint_id": endpoint.id, "url": endpoint.url})


def _queue(session: Session, endpoint_ids: list[int], event_type: str, data: dict[str, Any]) -> str:
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps({"id": event_id, "type": event_type, "created_at": iso_utc(now), "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)
    # Core, not session.add: the flush listener below emits from inside a flush.
    connection = session.connection()
    for endpoint_id in endpoint_ids:
        row_id = connection.execute(insert(ROWS).values(
            endpoint_id=endpoint_id, event_id=event_id, type=event_type, body=body, status="queued", attempts=0,
            created_at=now, next_attempt_at=now + FIRST_RETRY,  # the handoff after the commit sends it first
            retry_until=now + RETRY_FOR).returning(ROWS.c.id)).scalar_one()
        send_after_commit(session, f"{BATCH_PREFIX}{row_id}")
    return event_id


def replay(*, session: Session, delivery: WebhookDelivery) -> bool:
    """Send a failed delivery again (same event id and body), with a new day of retries; False if not failed."""
    if delivery.status != "failed":
        return False
    now = utcnow()
    delivery.status, delivery.next_attempt_at, delivery.retry_until = "queued", now + FIRST_RETRY, now + RETRY_FOR
    session.add(delivery)
    session.flush()
    send_after_commit(session, f"{BATCH_PREFIX}{delivery.id}")
    return True


# Messages, conversation statuses and contact profiles are written in many places (the pipeline
# even records a message before it has an id): every row the ORM flushes is told here, once.
CONTACT_FIELDS = ("display_name", "tags", "status", "language", "phone", "email", "birthday", "address",
                  "marketing_consent", "attributes")


@event.listens_for(Session, "after_flush")
def _emit_flushed(session: Session, _context) -> None:
    for row in session.new:
        if isinstance(row, Message):
            emit(session, "message.created", lambda row=row: {**message_public(row).model_dump(mode="json"),
                                                              "contact_id": row.contact_id})
    for row in session.dirty:
        if isinstance(row, Conversation):
            before = inspect_row(row).attrs.status.history.deleted
            if before and before[0] != row.status:
                emit(session, "conversation.status_changed", lambda row=row, before=before[0]: {
                    **conversation_public(row).model_dump(mode="json"), "previous_status": before})
        elif isinstance(row, Contact) and any(inspect_row(row).attrs[name].history.has_changes()
                                              for name in CONTACT_FIELDS):
            emit(session, "contact.updated", lambda row=row: _contact_data(session, row))


def _contact_data(session: Session, contact: Contact) -> dict[str, Any]:
    identities = session.connection().execute(select(ChannelIdentity.__table__).where(
        ChannelIdentity.__table__.c.contact_id == contact.id).order_by(ChannelIdentity.__table__.c.id)).all()
    return contact_public(contact, identities).model_dump(mode="json")


# --- sending ------------------------------------------------------------------------------


def delivery_id(batch_id: str) -> int | None:
    """The row id a "webhook:<id>" batch names, None for another batch."""
    if not batch_id.startswith(BATCH_PREFIX):
        return None
    return int(batch_id.removeprefix(BATCH_PREFIX))


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Sapa-Signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def wait_after(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failed attempt."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


_CLAIM = (update(ROWS).where(ROWS.c.id == bindparam("row_id"))
          .where(or_(ROWS.c.status == "queued",
                     (ROWS.c.status == "sending") & (ROWS.c.claimed_at < bindparam("stale_before"))))
          .values(status="sending", claimed_at=bindparam("now"), attempts=ROWS.c.attempts + 1)
          .returning(ROWS.c.endpoint_id, ROWS.c.body, ROWS.c.attempts, ROWS.c.retry_until))


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST one delivery (tests replace this to keep off the network)."""
    return httpx.post(url, content=body, headers=headers, timeout=TIMEOUT, follow_redirects=False)


def deliver(rt: Runtime, row_id: int, now: datetime | None = None) -> str | None:
    """POST one queued delivery and record the answer; its new status, None when it was not this worker's to send."""
    now = now or utcnow()
    with session_scope(rt.engine) as session:
        claimed = session.connection().execute(_CLAIM, {"row_id": row_id, "now": now,
                                                        "stale_before": now - STALE_SENDING}).first()
        endpoint = session.get(WebhookEndpoint, claimed[0]) if claimed is not None else None
        url, secret, active = (endpoint.url, endpoint.secret, endpoint.active) if endpoint else (None, None, False)
    if claimed is None:
        return None  # sent, failed, deleted, or another worker has it
    _endpoint_id, body, attempts, retry_until = claimed
    values: dict[str, Any] = {"status": "sent", "error": None}
    if not active:
        values = {"status": "failed", "error": "the endpoint is switched off"}
    elif rt.settings.env == "production" and not resolves_public(urlsplit(url).hostname):
        # A public name may be pointed at an inside address after it was registered.
        values = {"status": "failed", "error": f"{urlsplit(url).hostname} resolves to a private address"}
    else:
        raw = body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Sapa-Webhooks/1",
                   SIGNATURE_HEADER: signature(secret, int(time.time()), raw)}
        try:
            answer = post(url, raw, headers)
            values.update(status_code=answer.status_code, sent_at=utcnow())
            if not answer.is_success:
                values = {"status_code": answer.status_code, "error": f"HTTP {answer.status_code}"}
        except httpx.HTTPError as exc:
            values = {"status_code": None, "error": f"{type(exc).__name__}: {exc}"[:500]}
        if values.get("status") != "sent":
            final = now + wait_after(attempts) > as_utc(retry_until)
            values.update(status="failed" if final else "queued", next_attempt_at=now + wait_after(attempts))
            log.warning("webhook delivery %s to %s: attempt %d %s (%s)", row_id, url, attempts,
                        "failed" if final else "to be retried", values["error"])
    with session_scope(rt.engine) as session:
        session.execute(update(ROWS).where(ROWS.c.id == row_id, ROWS.c.status == "sending").values(**values))
    return values["status"]


def due(rt: Runtime, now: datetime, limit: int = 500) -> list[str]:
    """Batch ids of the deliveries to try now: waited long enough, or caught mid-send by a dead worker."""
    with Session(rt.engine) as session:
        ids = session.execute(select(ROWS.c.id).where(or_(
            (ROWS.c.status == "queued") & (ROWS.c.next_attempt_at <= now),
            (ROWS.c.status == "sending") & (ROWS.c.claimed_at < now - STALE_SENDING)))
            .order_by(ROWS.c.id).limit(limit)).scalars().all()
    return [f"{BATCH_PREFIX}{row_id}" for row_id in ids]
