"""Complaints: a ticket with severity and SLA, an apology with its number, staff alerted."""

from __future__ import annotations

from datetime import timedelta

from core import messages as m
from handlers.base import Context

RECENT_ORDER = timedelta(days=3)  # a complaint right after an order is most likely about it


class ComplaintHandler:
    """Opens a complaint ticket for an unhappy customer."""

    name = "complaint"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Complaints said in text (the NLU is confident)."""
        return ctx.data is not None and ctx.data.contact_id is not None and inbound.message_type == "text" \
            and ctx.wants("complaint")

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """Record the ticket (linked to the order it is about) and apologise with its number."""
        analysis = ctx.analysis
        order = None
        for number in analysis.entities.order_numbers:
            order = ctx.data.find_order(number)  # only the customer's own orders
            if order:
                break
        if order is None:
            recent = ctx.data.latest_orders(limit=1)
            if recent and ctx.now - recent[0].created_at <= RECENT_ORDER:
                order = recent[0]
        complaint = ctx.data.open_complaint(inbound.text or "", analysis.negative_score, order)
        ctx.state["alerted"] = True  # the complaint alert covers the negative-sentiment alert
        due = complaint.sla_due_at.astimezone(ctx.data.tz).strftime("%d/%m %H:%M")
        text = ctx.say("complaint", number=complaint.number, due=due)
        if order is not None:
            text += " " + ctx.say("complaint_order", number=order.number)
        return [m.Reply(text=text)]
