"""Ordering by chat: pick products, cart, delivery or pickup, confirm; status and cancelling.

The order in progress lives in the conversation state (`state["order"]`), so it survives
restarts; postback data is namespaced (`order:…`, `status:…`, `cancel:…`).
"""

from __future__ import annotations

from core import messages as m
from core.texts import button, rupiah, status_label, text
from crm.orders import CUSTOMER_CANCELLABLE, CartLine, Order
from handlers.base import Context
from handlers.effects import Answer, CancelOrder, PlaceOrder

MAX_CARDS = 10


def _postback(inbound: m.Inbound, prefix: str) -> list[str] | None:
    if inbound.kind != m.POSTBACK or not (inbound.postback_data or "").startswith(prefix + ":"):
        return None
    return inbound.postback_data.split(":")[1:]


def _cart(ctx: Context) -> dict:
    return ctx.state.setdefault("order", {"lines": [], "step": "cart"})


def cart_text(ctx: Context) -> tuple[str, int]:
    """The cart as lines of text, and its total."""
    lines, total = [], 0
    for line in _cart(ctx)["lines"]:
        product = ctx.data.product(line["product_id"])
        if product is None:
            continue
        total += product.price * line["qty"]
        lines.append(f"• {line['qty']}× {product.name} — {rupiah(product.price * line['qty'])}")
    return "\n".join(lines), total


def _add(ctx: Context, product_id: int, quantity: int) -> str | None:
    """Add to the cart; returns a problem to tell the customer, if any."""
    product = ctx.data.product(product_id)
    if product is None or not product.active:
        return ctx.say("stale_button")
    lines = _cart(ctx)["lines"]
    current = next((line for line in lines if line["product_id"] == product_id), None)
    wanted = quantity + (current["qty"] if current else 0)
    if product.stock is not None and product.stock < wanted:
        if product.stock <= 0:
            return ctx.say("out_of_stock", product=product.name)
        return ctx.say("only_left", product=product.name, available=str(product.stock))
    if current:
        current["qty"] = wanted
    else:
        lines.append({"product_id": product_id, "qty": quantity})
    return None


def catalog_reply(ctx: Context, intro: str | None = None) -> m.Reply:
    """The products on sale as a carousel with an order button each."""
    products = [p for p in ctx.data.products() if p.in_stock][:MAX_CARDS]
    if not products:
        return m.Reply(text=ctx.say("catalog_empty"))
    cards = tuple(
        m.Card(title=f"{(p.name_en if ctx.language == 'en' and p.name_en else p.name)} · {rupiah(p.price)}",
               subtitle=p.description[:120], image_url=p.image_url,
               buttons=(m.Choice(button("order_one", ctx.language), data=f"order:add:{p.id}"),))
        for p in products
    )
    return m.Reply(text=intro or ctx.say("catalog_intro", example=products[0].name.lower()), cards=cards)


def _fulfilment_choices(ctx: Context) -> tuple[m.Choice, ...]:
    lang = ctx.language
    return (m.Choice(button("delivery", lang), data="order:fulfil:delivery"),
            m.Choice(button("pickup", lang), data="order:fulfil:pickup"),
            m.Choice(button("add_more", lang), data="order:more"),
            m.Choice(button("drop", lang), data="order:drop"))


def _next_step(ctx: Context) -> list[m.Reply]:
    """Ask for what the order still needs, or for confirmation."""
    order = _cart(ctx)
    text, total = cart_text(ctx)
    if not order["lines"]:
        return [catalog_reply(ctx, ctx.say("cart_empty"))]
    if not order.get("fulfilment"):
        order["step"] = "cart"
        return [m.Reply(text=ctx.say("added", cart=text, total=rupiah(total)), choices=_fulfilment_choices(ctx))]
    if order["fulfilment"] == "delivery" and not order.get("address"):
        order["step"] = "address"
        return [m.Reply(text=ctx.say("ask_address"))]
    if order["fulfilment"] == "pickup" and not order.get("store_id"):
        order["step"] = "store"
        stores = ctx.data.stores()[:10]
        return [m.Reply(text=ctx.say("choose_store"),
                        choices=tuple(m.Choice(s.name[:20], data=f"order:store:{s.id}") for s in stores))]
    order["step"] = "confirm"
    if order["fulfilment"] == "delivery":
        where = ctx.say("deliver_to", address=order["address"])
    else:
        store = ctx.data.store(order["store_id"])
        where = ctx.say("pickup_at", store=store.name if store else "-")
    lang = ctx.language
    return [m.Reply(text=ctx.say("confirm", cart=text, fulfilment=where, total=rupiah(total)),
                    choices=(m.Choice(button("confirm", lang), data="order:confirm"),
                             m.Choice(button("drop", lang), data="order:drop")))]


def _refusal(ctx: Context) -> tuple[str, str] | None:
    """Why the cart cannot be placed as it is (the first line crm.orders.place_order would refuse), or None."""
    for line in _cart(ctx)["lines"]:
        product = ctx.data.product(line["product_id"])
        if product is None or not product.active:
            return "unknown_product", ""
        if line["qty"] < 1 or line["qty"] > 999:
            return "quantity", product.name
        if product.stock is not None and product.stock < line["qty"]:
            return "out_of_stock", product.name
    return None


def _place(ctx: Context) -> Answer:
    order = _cart(ctx)
    if order.get("step") != "confirm" or not order["lines"]:
        ctx.state.pop("order", None)
        return Answer([m.Reply(text=ctx.say("stale_button"))])
    refusal = _refusal(ctx)
    if refusal is not None:
        code, product = refusal
        if code == "out_of_stock":
            order["lines"] = [line for line in order["lines"] if ctx.data.product(line["product_id"]).name != product]
            return Answer([m.Reply(text=ctx.say("out_of_stock", product=product))] + _next_step(ctx))
        order["step"] = "cart"
        return Answer([m.Reply(text=ctx.say("stale_button"))])
    lines = tuple(CartLine(product_id=line["product_id"], quantity=line["qty"]) for line in order["lines"])
    ctx.state.pop("order", None)
    return Answer([], (PlaceOrder(lines, order["fulfilment"], order.get("address"), order.get("store_id"),
                                  ctx.language),))


def placed_reply(order: Order, language: str) -> m.Reply:
    """The confirmation of a placed order, with its number and a status button."""
    return m.Reply(text=text("placed", language, number=order.number, total=rupiah(order.total)),
                   choices=(m.Choice(button("check_status", language), data=f"status:{order.id}"),))


class OrderHandler:
    """Conversational ordering against the product catalog."""

    name = "order"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Order postbacks, an order request, or the address the order flow asked for."""
        if _postback(inbound, "order") is not None or ctx.wants("order"):
            return ctx.data is not None
        step = (ctx.state.get("order") or {}).get("step")
        interrupting = ctx.confident and ctx.analysis.intent in ("cancel_order", "complaint", "human_handoff",
                                                                 "order_status", "promotion", "location", "faq")
        return step == "address" and inbound.message_type == "text" and not interrupting

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Advance the order by one step."""
        args = _postback(inbound, "order")
        order = _cart(ctx)
        if args is not None:
            return self._button(args, ctx)
        if order.get("step") == "address" and not ctx.wants("order"):
            order["address"] = (inbound.text or "").strip()[:500]
            return Answer(_next_step(ctx))
        entities = ctx.analysis.entities if ctx.analysis else None
        problems = []
        for mention in (entities.products if entities else ()):
            product = ctx.data.product_by_name(mention.name)
            if product is not None:
                problem = _add(ctx, product.id, max(1, min(mention.quantity, 999)))
                if problem:
                    problems.append(m.Reply(text=problem))
        if entities and entities.addresses and not order.get("address"):
            order["address"], order["fulfilment"] = entities.addresses[0][:500], "delivery"
        if not order["lines"]:
            return Answer(problems + [catalog_reply(ctx)])
        return Answer(problems + _next_step(ctx))

    def _button(self, args: list[str], ctx: Context) -> Answer:
        order = _cart(ctx)
        action, arg = args[0], (args[1] if len(args) > 1 else "")
        if action == "add" and arg.isdigit():
            problem = _add(ctx, int(arg), 1)
            return Answer(([m.Reply(text=problem)] if problem else []) + _next_step(ctx))
        if action == "more":
            return Answer([catalog_reply(ctx)])
        if action == "drop":
            ctx.state.pop("order", None)
            return Answer([m.Reply(text=ctx.say("cart_cleared"))])
        if not order["lines"]:  # a button from an old, finished conversation
            ctx.state.pop("order", None)
            return Answer([m.Reply(text=ctx.say("stale_button"))])
        if action == "fulfil" and arg in ("delivery", "pickup"):
            order["fulfilment"] = arg
            return Answer(_next_step(ctx))
        if action == "store" and arg.isdigit() and ctx.data.store(int(arg)) is not None:
            order["store_id"] = int(arg)
            return Answer(_next_step(ctx))
        if action == "confirm":
            return _place(ctx)
        return Answer([m.Reply(text=ctx.say("stale_button"))])


def order_summary(ctx: Context, order) -> str:
    """One line about an order for the customer."""
    date = order.created_at.astimezone(ctx.data.tz).strftime("%d/%m %H:%M")
    return ctx.say("order_line", number=order.number, status=status_label(order.status, ctx.language),
                   total=rupiah(order.total), date=date)


class OrderStatusHandler:
    """"Where is my order?": the customer's own orders only."""

    name = "order_status"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Status buttons and status questions."""
        return ctx.data is not None and (_postback(inbound, "status") is not None or ctx.wants("order_status"))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The named order's status, or the latest orders."""
        args = _postback(inbound, "status")
        if args:
            order = ctx.data.order_by_id(int(args[0])) if args[0].isdigit() else None
            return Answer([m.Reply(text=order_summary(ctx, order) if order else ctx.say("stale_button"))])
        numbers = ctx.analysis.entities.order_numbers if ctx.analysis else ()
        if numbers:
            order = ctx.data.find_order(numbers[0])
            if order is None:
                return Answer([m.Reply(text=ctx.say("order_not_found", number=numbers[0].lstrip("#")))])
            return Answer([m.Reply(text=order_summary(ctx, order))])
        orders = ctx.data.latest_orders()
        if not orders:
            return Answer([m.Reply(text=ctx.say("no_orders"),
                                   choices=(m.Choice(button("order_one", ctx.language), data="intent=order"),))])
        lines = "\n".join(order_summary(ctx, order) for order in orders)
        return Answer([m.Reply(text=f"{ctx.say('orders_intro')}\n{lines}")])


class CancelOrderHandler:
    """Cancelling an order while it is not being prepared yet; otherwise explain why not."""

    name = "cancel_order"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Cancel buttons and cancel requests."""
        return ctx.data is not None and (_postback(inbound, "cancel") is not None or ctx.wants("cancel_order"))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Ask to confirm, then cancel (or explain)."""
        lang = ctx.language
        args = _postback(inbound, "cancel")
        if args:
            if args[0] == "no":
                return Answer([m.Reply(text=ctx.say("keep_order"))])
            order = ctx.data.order_by_id(int(args[1])) if len(args) > 1 and args[1].isdigit() else None
            if order is None:
                return Answer([m.Reply(text=ctx.say("stale_button"))])
            if order.status not in CUSTOMER_CANCELLABLE:  # what crm.orders.cancel_by_customer refuses
                return Answer([m.Reply(text=ctx.say("too_late", number=order.number,
                                                    status=status_label(order.status, lang)))])
            return Answer([m.Reply(text=ctx.say("cancelled", number=order.number))], (CancelOrder(order.id),))
        if ctx.state.get("order", {}).get("lines"):  # cancelling the order being built
            ctx.state.pop("order", None)
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
                                                status=status_label(order.status, lang)))])
        return Answer([m.Reply(text=ctx.say("ask_cancel", number=order.number, total=rupiah(order.total)),
                               choices=(m.Choice(button("yes_cancel", lang), data=f"cancel:yes:{order.id}"),
                                        m.Choice(button("no_keep", lang), data="cancel:no")))])
