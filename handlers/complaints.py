"""Complaints: a ticket with severity and SLA, an apology with its number, staff alerted."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from core import messages as m
from core.texts import text
from crm.complaints import Complaint, severity_for
from handlers.base import Context
from handlers.effects import AlertStaff, Answer, OpenComplaint

RECENT_ORDER = timedelta(days=3)  # a complaint right after an order is most likely about it
# More upset messages soon after a ticket ("parah banget", "kecewa") are that ticket's, not new ones.
SAME_TICKET = timedelta(hours=2)


class ComplaintHandler:
    """Opens a complaint ticket for an unhappy customer."""

    name = "complaint"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Complaints said in text: the NLU is confident, or it leans to a complaint and the words are upset."""
        if ctx.data is None or ctx.data.contact_id is None or inbound.message_type != "text":
            return False
        # "toiletnya kotor banget, tolong dong" names a store too; upset words settle a close call.
        return ctx.wants("complaint") or ctx.complains

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Open the ticket (linked to the order it is about); the apology names it once it exists."""
        analysis = ctx.analysis
        ctx.state["alerted"] = True  # the complaint alert covers the negative-sentiment alert
        open_ticket = ctx.data.open_complaint_since(ctx.now - SAME_TICKET)
        if open_ticket is not None:  # staff read this message in the chat, next to the ticket, and look again
            words = inbound.text or ""
            again = AlertStaff("complaint", f"Complaint {open_ticket.number} again: {words}",
                               severity_for(words, analysis.negative_score), open_ticket.id, open_ticket.order_id,
                               {"line": "complaint_again", "number": open_ticket.number, "quote": words})
            return Answer([m.Reply(text=ctx.say("complaint_noted", number=open_ticket.number))], (again,))
        order = None
        for number in analysis.entities.order_numbers:
            order = ctx.data.find_order(number)  # only the customer's own orders
            if order:
                break
        if order is None:  # the latest order still going, not one the customer has just cancelled
            recent = [o for o in ctx.data.latest_orders(limit=3) if o.status != "cancelled"]
            if recent and ctx.now - recent[0].created_at <= RECENT_ORDER:
                order = recent[0]
        return Answer([], (OpenComplaint(inbound.text or "", analysis.negative_score, order.id if order else None,
                                         order.number if order else None, ctx.language),))


def complaint_reply(complaint: Complaint, order_number: str | None, language: str, tz: ZoneInfo) -> m.Reply:
    """The apology with the new ticket's number and when staff answer at the latest."""
    due = complaint.sla_due_at.astimezone(tz).strftime("%d/%m %H:%M")
    words = text("complaint", language, number=complaint.number, due=due)
    if order_number is not None:
        words += " " + text("complaint_order", language, number=order_number)
    return m.Reply(text=words)
