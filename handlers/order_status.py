"""Customers' existing orders: "where is my order?" and cancelling one while it is allowed."""

from __future__ import annotations

from core import messages as m
from core.money import rupiah
from core.texts import CHAT, button, menu_label, status_label
from crm.orders import CUSTOMER_CANCELLABLE
from handlers.base import Context
from handlers.effects import Answer, CancelOrder
from handlers.order_flow import drop, has_draft
from handlers.orders import reading

FINISHED = ("delivered", "cancelled")  # an order in these statuses is no longer under way


def _postback(inbound: m.Inbound, prefix: str) -> list[str] | None:
    if inbound.kind != m.POSTBACK or not (inbound.postback_data or "").startswith(prefix + ":"):
        return None
    return inbound.postback_data.split(":")[1:]


def order_summary(ctx: Context, order) -> str:
    """One line about an order for the customer: when it is for (a pre-order), else when it was placed."""
    date = order.created_at.astimezone(ctx.data.tz).strftime("%d/%m %H:%M")
    if order.scheduled_for is not None:
        date = ctx.say("order_for", when=order.scheduled_for.astimezone(ctx.data.tz).strftime("%d/%m %H:%M"))
    return ctx.say("order_line", number=order.number, status=status_label(order.status, ctx.language, order.fulfilment),
                   total=rupiah(order.total, ctx.language), date=date)


def what_comes_next(ctx: Context, order) -> str | None:
    """For an order under way, what happens next and that the customer will be told ("when will it arrive?")."""
    key = next((k for k in (f"status_next.{order.status}.{order.fulfilment}", f"status_next.{order.status}")
                if k in CHAT), None)
    if order.status in FINISHED or key is None:
        return None
    ready = ctx.say("ready.delivery" if order.fulfilment == "delivery" else "ready.pickup")
    return ctx.say(key, number=order.number, ready=ready)


def _one_order(ctx: Context, order) -> str:
    return "\n\n".join(filter(None, [order_summary(ctx, order), what_comes_next(ctx, order)]))


class OrderStatusHandler:
    """"Where is my order?": the customer's own orders only."""

    name = "order_status"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Status buttons and status questions, and a close call about the order the customer has under way."""
        return ctx.data is not None and (_postback(inbound, "status") is not None or ctx.wants("order_status")
                                         or self._about_order_under_way(inbound, ctx))

    @staticmethod
    def _about_order_under_way(inbound: m.Inbound, ctx: Context) -> bool:
        """Unsure whether "td aku pesen kopsus, statusnya?" orders or asks: with an order going and no quantity, it asks."""
        analysis = ctx.analysis
        if analysis is None or ctx.requested_intent is not None or ctx.confident or has_draft(ctx):
            return False
        best_two = sorted(analysis.scores, key=lambda intent: -analysis.scores[intent])[:2]
        r = reading(inbound, ctx)
        if "order_status" not in best_two or r is None or any(item.quantity is not None for item in r.items):
            return False
        return any(order.status not in FINISHED for order in ctx.data.latest_orders(limit=1))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The named order's status, or the latest orders."""
        args = _postback(inbound, "status")
        if args:
            order = ctx.data.order_by_id(int(args[0])) if args[0].isdigit() else None
            return Answer([m.Reply(text=_one_order(ctx, order) if order else ctx.say("stale_button"))])
        numbers = ctx.analysis.entities.order_numbers if ctx.analysis else ()
        if numbers:
            order = ctx.data.find_order(numbers[0])
            if order is None:
                return Answer([m.Reply(text=ctx.say("order_not_found", number=numbers[0].lstrip("#")))])
            return Answer([m.Reply(text=_one_order(ctx, order))])
        orders = ctx.data.latest_orders()
        if not orders:  # the customer means one the bot cannot see (in a store, by phone): staff can look
            ctx.state["unsure"] = True  # a clarifying question: a second unclear answer goes to staff
            return Answer([m.Reply(text=ctx.say("no_orders"), choices=(
                m.Choice(menu_label("order", ctx.language), data="intent=order"),
                m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")))])
        lines = "\n".join(order_summary(ctx, order) for order in orders)
        return Answer([m.Reply(text="\n\n".join(filter(None, [f"{ctx.say('orders_intro')}\n{lines}",
                                                              what_comes_next(ctx, orders[0])])))])


class CancelOrderHandler:
    """Cancelling an order while it is not being prepared yet; otherwise explain why not."""

    name = "cancel_order"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Cancel buttons, cancel requests, and a typed yes or no to "cancel order #…?"."""
        if ctx.data is None:
            return False
        return _postback(inbound, "cancel") is not None or ctx.wants("cancel_order") or self._typed_answer(
            inbound, ctx) is not None

    @staticmethod
    def _typed_answer(inbound: m.Inbound, ctx: Context) -> list[str] | None:
        """A typed "iya"/"ga" to the pending cancel question, as the button's arguments."""
        order_id = ctx.state.get("cancel_asked")
        r = reading(inbound, ctx) if order_id else None
        if r is None or r.items or not (r.yes or r.no or r.cancel_all):
            return None
        return ["yes", str(order_id)] if r.yes or r.cancel_all else ["no"]

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Ask to confirm, then cancel (or explain)."""
        lang = ctx.language
        args = _postback(inbound, "cancel") or self._typed_answer(inbound, ctx)
        ctx.state.pop("cancel_asked", None)
        if args:
            if args[0] == "no":
                return Answer([m.Reply(text=ctx.say("keep_order"))])
            order = ctx.data.order_by_id(int(args[1])) if len(args) > 1 and args[1].isdigit() else None
            if order is None:
                return Answer([m.Reply(text=ctx.say("stale_button"))])
            if order.status not in CUSTOMER_CANCELLABLE:  # what crm.orders.cancel_by_customer refuses
                return Answer([m.Reply(text=ctx.say("too_late", number=order.number,
                                                    status=status_label(order.status, lang, order.fulfilment)))])
            return Answer([m.Reply(text=ctx.say("cancelled", number=order.number))], (CancelOrder(order.id),))
        if has_draft(ctx):  # cancelling the order being built (the order handler reads finer changes)
            drop(ctx)
            return Answer([m.Reply(text=ctx.say("cart_cleared"))])
        numbers = ctx.analysis.entities.order_numbers if ctx.analysis else ()
        if numbers:
            order = ctx.data.find_order(numbers[0])
            if order is None:
                return Answer([m.Reply(text=ctx.say("order_not_found", number=numbers[0].lstrip("#")))])
        else:
            recent = [o for o in ctx.data.latest_orders() if o.status != "cancelled"]
            if not recent:
                return Answer([m.Reply(text=ctx.say("nothing_to_cancel"))])
            order = recent[0]
        if order.status not in ("new", "confirmed"):
            return Answer([m.Reply(text=ctx.say("too_late", number=order.number,
                                                status=status_label(order.status, lang, order.fulfilment)))])
        ctx.state["cancel_asked"] = order.id
        return Answer([m.Reply(text=ctx.say("ask_cancel", number=order.number, total=rupiah(order.total, ctx.language)),
                               choices=(m.Choice(button("yes_cancel", lang), data=f"cancel:yes:{order.id}"),
                                        m.Choice(button("no_keep", lang), data="cancel:no")))])
