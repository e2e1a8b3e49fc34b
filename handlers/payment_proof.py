"""A photo sent while an order waits to be paid by transfer or QRIS: the customer is thanked, staff check it."""

from __future__ import annotations

from datetime import timedelta

from core import messages as m
from crm.orders import Order
from handlers.base import Context
from handlers.effects import AlertStaff, Answer
from handlers.nlu.order_terms import PAYMENT_FAMILIES, payment_words

# A transfer receipt comes within hours of the order; a photo days later is about something else.
PROOF_WINDOW = timedelta(hours=48)
UNPAID_STATUSES = ("new", "confirmed")
PAID_ON_THE_SPOT = ("cod", "cash")  # PAYMENT_FAMILIES paid to the courier or at the counter: nothing to prove
_ON_THE_SPOT_WORDS = tuple({payment_words(p) for family in PAID_ON_THE_SPOT for p in PAYMENT_FAMILIES[family]})


def _paid_on_the_spot(order: Order, ctx: Context) -> bool:
    """True when the order's payment method reads as cash or cash on delivery (its code or a label)."""
    method = ctx.data.settings().payment_method(order.payment_method)
    surfaces = (order.payment_method,) + ((method.label, method.label_en) if method else ())
    said = [payment_words(s) for s in surfaces if s]
    return any(phrase == words[i:i + len(phrase)]
               for words in said for phrase in _ON_THE_SPOT_WORDS for i in range(len(words)))


def awaiting_payment(ctx: Context) -> Order | None:
    """The customer's latest order when it is recent, not yet under way and paid ahead (transfer, QRIS)."""
    latest = ctx.data.latest_orders(limit=1)
    if not latest:
        return None
    order = latest[0]
    if order.status not in UNPAID_STATUSES or ctx.now - order.created_at > PROOF_WINDOW \
            or not order.payment_method or _paid_on_the_spot(order, ctx):
        return None
    return order


class PaymentProofHandler:
    """A photo or file from a customer whose order waits for a transfer: thanks, and a staff alert to check it."""

    name = "payment_proof"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """An image or file in a direct chat while an order waits to be paid ahead."""
        return ctx.data is not None and ctx.data.contact_id is not None and inbound.kind == m.MESSAGE \
            and inbound.is_direct and inbound.message_type in ("image", "file") and awaiting_payment(ctx) is not None

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Thank the customer with the order's number; staff see the photo in the chat, linked from the alert."""
        order = awaiting_payment(ctx)
        alert = AlertStaff("payment_proof", f"Payment proof for order #{order.number}", "high", order_id=order.id,
                           params={"line": "payment_proof", "number": order.number})
        return Answer([m.Reply(text=ctx.say("payment_proof", number=order.number))], (alert,))
