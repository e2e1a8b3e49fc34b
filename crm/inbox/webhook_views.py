"""The webhooks page (admins): endpoints with their events, the secret shown once, test-sends, recent deliveries, replay."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import webhooks
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import t
from crm.web import engine, settings

RECENT = 50  # deliveries listed, newest first


def _page(status: int = 200, created: webhooks.WebhookEndpoint | None = None, typed: dict | None = None):
    with Session(engine()) as db:
        endpoints = webhooks.list_endpoints(session=db)
        deliveries = webhooks.recent_deliveries(session=db, limit=RECENT)
    return render_template("inbox/webhooks.html", endpoints=endpoints, deliveries=deliveries,
                           urls={e.id: e.url for e in endpoints}, event_types=webhooks.EVENT_TYPES,
                           created=created, typed=typed or {}), status


@inbox.route("/webhooks", methods=["GET", "POST"])
@permission_required("webhooks.manage")
def webhooks_page():
    """Outbound webhooks: register an endpoint (its secret shown on this answer only)."""
    if request.method == "GET":
        return _page()
    url, events = request.form.get("url", ""), request.form.getlist("events")
    try:
        with session_scope(engine()) as db:
            endpoint = webhooks.create_endpoint(session=db, url=url, events=events,
                                                created_by=f"staff:{current_staff().id}",
                                                production=settings().env == "production")
            data.audit(session=db, staff=current_staff(), action="webhook.add", target_type="webhook",
                       target_id=endpoint.id, details={"url": endpoint.url, "events": endpoint.events})
    except webhooks.WebhookError as exc:
        flash(t(f"webhook_err_{exc.code}"), "error")
        return _page(400, typed={"url": url, "events": events})
    flash(t("webhook_added"), "info")
    return _page(201, created=endpoint)


@inbox.post("/webhooks/<int:endpoint_id>/delete")
@permission_required("webhooks.manage")
def webhook_delete(endpoint_id: int):
    """Remove an endpoint and its deliveries."""
    with session_scope(engine()) as db:
        endpoint = get_or_404(db, webhooks.WebhookEndpoint, endpoint_id)
        data.audit(session=db, staff=current_staff(), action="webhook.delete", target_type="webhook",
                   target_id=endpoint.id, details={"url": endpoint.url})
        webhooks.delete_endpoint(session=db, endpoint=endpoint)
    flash(t("webhook_deleted"), "info")
    return redirect(url_for("inbox.webhooks_page"), 303)


@inbox.post("/webhooks/<int:endpoint_id>/test")
@permission_required("webhooks.manage")
def webhook_test(endpoint_id: int):
    """Send a test event to one endpoint (its delivery shows below, like any other)."""
    with session_scope(engine()) as db:
        endpoint = get_or_404(db, webhooks.WebhookEndpoint, endpoint_id)
        event_id = webhooks.send_test(session=db, endpoint=endpoint)
        data.audit(session=db, staff=current_staff(), action="webhook.test", target_type="webhook",
                   target_id=endpoint.id, details={"event_id": event_id})
    flash(t("webhook_test_queued"), "info")
    return redirect(url_for("inbox.webhooks_page", _anchor="deliveries"), 303)


@inbox.post("/webhooks/deliveries/<int:delivery_id>/replay")
@permission_required("webhooks.manage")
def webhook_replay(delivery_id: int):
    """Send a failed delivery again, with the same event id."""
    with session_scope(engine()) as db:
        delivery = get_or_404(db, webhooks.WebhookDelivery, delivery_id)
        replayed = webhooks.replay(session=db, delivery=delivery)
        if replayed:
            data.audit(session=db, staff=current_staff(), action="webhook.replay", target_type="webhook_delivery",
                       target_id=delivery.id, details={"event_id": delivery.event_id})
    flash(t("webhook_replayed" if replayed else "webhook_not_failed"), "info" if replayed else "error")
    return redirect(url_for("inbox.webhooks_page", _anchor="deliveries"), 303)
