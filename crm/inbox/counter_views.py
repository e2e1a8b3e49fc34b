"""The counter page (agents and admins): find the customer in front of you by the member code they show in chat,
their name or phone; record a purchase, hand over a reward, adjust points (crm/inbox/counter_data.py)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import counter, loyalty, merge
from crm.inbox import counter_data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox, refused
from crm.inbox.data import InboxError
from crm.inbox.i18n import t
from crm.models import Contact
from crm.web import engine, settings


@inbox.get("/counter")
@permission_required("counter.use")
def counter_search():
    """The search box; a member code (or the one customer found) opens that customer's counter card."""
    q = request.args.get("q", "").strip()[:200]
    with Session(engine()) as db:
        found = counter_data.find_customers(session=db, q=q)
        if found.exact is not None:
            return redirect(url_for("inbox.counter_page", contact_id=found.exact.id), 303)
        balances = {contact.id: loyalty.balance(session=db, contact_id=contact.id) for contact in found.matches}
        return render_template("inbox/counter.html", q=q, found=found, balances=balances, view=None)


@inbox.get("/counter/<int:contact_id>")
@permission_required("counter.use")
def counter_page(contact_id: int):
    """One customer at the counter: member code, balance, tier, rewards they can have; purchase, redeem, adjust."""
    with Session(engine()) as db:
        contact = get_or_404(db, Contact, contact_id)
        if contact.merged_into is not None:
            survivor = merge.survivor_of(session=db, contact_id=contact.id)
            return redirect(url_for("inbox.counter_page", contact_id=survivor.id), 303)
        view = counter_data.card(session=db, contact=contact, rules=loyalty.rules_for(db, settings()))
        # A refused form keeps its key (nothing was written with it); a fresh page gets a new one per form.
        keys = {name: request.form.get("key") if request.method == "POST" and request.form.get("form") == name
                else counter.new_key() for name in ("purchase", "redeem", "adjust")}
        return render_template("inbox/counter.html", q="", found=None, view=view, keys=keys)


def _done(contact_id: int, message: str, batch_id: str | None = None):
    if batch_id:  # after the commit, so the worker finds the rows
        current_app.extensions["sapa.enqueue_batch"](batch_id)
    flash(message, "info")
    return redirect(url_for("inbox.counter_page", contact_id=contact_id), 303)


@inbox.post("/counter/<int:contact_id>/purchase")
@permission_required("counter.use")
def counter_purchase(contact_id: int):
    """Record a purchase at the counter: delivered at once, its points earned and announced in chat."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            contact = get_or_404(db, Contact, contact_id)
            order, batch_id = counter_data.purchase(session=db, staff=staff, contact=contact,
                                                    form=request.form.to_dict(), key=request.form.get("key", ""))
            earned = loyalty.order_entry(session=db, order_id=order.id, kind="earn")
    except InboxError as exc:
        return refused(exc, counter_page, contact_id)
    except counter.AlreadyDone:
        return _done(contact_id, t("counter_already_done"))
    return _done(contact_id, t("counter_purchased", number=order.number, points=earned.points if earned else 0),
                 batch_id)


@inbox.post("/counter/<int:contact_id>/redeem")
@permission_required("counter.use")
def counter_redeem(contact_id: int):
    """Hand over a reward: its points spent once, however often the button was pressed."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            contact = get_or_404(db, Contact, contact_id)
            entry, batch_id = counter_data.redeem(session=db, staff=staff, contact=contact,
                                                  index=request.form.get("reward", ""),
                                                  points=request.form.get("points", ""),
                                                  key=request.form.get("key", ""), rules=loyalty.rules_for(db, settings()))
    except InboxError as exc:
        return refused(exc, counter_page, contact_id)
    except counter.AlreadyDone:
        return _done(contact_id, t("counter_already_done"))
    return _done(contact_id, t("counter_redeemed", reward=entry.reason, points=-entry.points), batch_id)


@inbox.post("/counter/<int:contact_id>/adjust")
@permission_required("points.adjust")
def counter_adjust(contact_id: int):
    """Add or take points with a reason."""
    staff = current_staff()
    try:
        with session_scope(engine()) as db:
            contact = get_or_404(db, Contact, contact_id)
            change = counter_data.adjust(session=db, staff=staff, contact=contact, points=request.form.get("points", ""),
                                         reason=request.form.get("reason", ""), key=request.form.get("key", ""))
    except InboxError as exc:
        return refused(exc, counter_page, contact_id)
    except counter.AlreadyDone:
        return _done(contact_id, t("counter_already_done"))
    return _done(contact_id, t("points_adjusted", points=f"{change:+d}"))
