"""Frequently bought together: association rules learned from the shop's own orders, offered in chat and campaigns.

The nightly run (and `sapa cross-sell recompute`) reads the orders of the last `lookback_days` that are not
cancelled, each as the set of products it holds (a product bought because the bot offered it is left out, so
an offer never teaches itself), and keeps for each pair of products A, B:

* support    = orders holding A and B / all orders;
* confidence = orders holding A and B / orders holding A  (how often B comes with A);
* lift       = confidence / (orders holding B / all orders)  (how much likelier A makes B than usual).

A rule A → B is kept when both were in at least `min_pair_orders` orders, support, confidence and lift reach
their minimums, and the window holds at least `min_orders` orders (a shop with little history offers nothing
rather than noise); the `max_per_product` most confident per A. The rules replace the last run's in one
transaction; a chat or a campaign only reads them (one indexed query), never computes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select
from sqlmodel import Field, Session, SQLModel

from core.db import utcnow
from core.settings import CrossSellSettings
from crm.orders import Order, OrderItem, Product


class CrossSellRule(SQLModel, table=True):
    """Orders holding `product_id` often hold `suggested_id` too: one association rule and its figures."""

    product_id: int = Field(primary_key=True, foreign_key="product.id")
    suggested_id: int = Field(primary_key=True, foreign_key="product.id")
    orders: int  # orders holding both
    support: float
    confidence: float
    lift: float
    computed_at: datetime = Field(default_factory=utcnow)


RULES = CrossSellRule.__table__


def _baskets(since: datetime):
    """(order id, product id) once per product of each order since `since` that is not cancelled, without the
    product the order took because the bot offered it."""
    offered = and_(Order.cross_sell_taken == True, OrderItem.product_id == Order.cross_sell_product_id)  # noqa: E712
    return (select(OrderItem.order_id, OrderItem.product_id).join(Order, Order.id == OrderItem.order_id)
            .where(Order.status != "cancelled", Order.created_at >= since, OrderItem.product_id.is_not(None),
                   or_(Order.cross_sell_product_id.is_(None), ~offered))
            .distinct().cte("basket"))


def learn_rules(*, session: Session, now: datetime, rules: CrossSellSettings) -> list[dict[str, Any]]:
    """The rules the orders since `rules.lookback_days` before `now` support (empty below `rules.min_orders`)."""
    if not rules.enabled:
        return []
    basket = _baskets(now - timedelta(days=rules.lookback_days))
    total = session.execute(select(func.count(func.distinct(basket.c.order_id)))).scalar_one()
    if total < rules.min_orders:
        return []
    holding = dict(session.execute(select(basket.c.product_id, func.count()).group_by(basket.c.product_id)).all())
    a, b = basket.alias("a"), basket.alias("b")
    both = func.count().label("both")
    pairs = session.execute(select(a.c.product_id, b.c.product_id, both)
                            .where(a.c.order_id == b.c.order_id, a.c.product_id < b.c.product_id)
                            .group_by(a.c.product_id, b.c.product_id)
                            .having(func.count() >= rules.min_pair_orders)).all()
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for first, second, count in pairs:
        support = count / total
        if support < rules.min_support:
            continue
        for product, suggested in ((first, second), (second, first)):
            confidence = count / holding[product]
            lift = confidence / (holding[suggested] / total)
            if confidence >= rules.min_confidence and lift >= rules.min_lift:
                found[product].append({"product_id": product, "suggested_id": suggested, "orders": count,
                                       "support": support, "confidence": confidence, "lift": lift,
                                       "computed_at": now})
    kept = []
    for product in sorted(found):
        best = sorted(found[product], key=lambda rule: (-rule["confidence"], -rule["lift"], rule["suggested_id"]))
        kept += best[:rules.max_per_product]
    return kept


def recompute(*, session: Session, now: datetime, rules: CrossSellSettings) -> dict[str, Any]:
    """The nightly run: replace the stored rules with what the orders support now; a summary to log."""
    learned = learn_rules(session=session, now=now, rules=rules)
    session.execute(delete(CrossSellRule))
    if learned:
        session.execute(RULES.insert(), learned)
    session.flush()
    return {"rules": len(learned), "products": len({rule["product_id"] for rule in learned})}


def suggested_for(*, session: Session, product_ids: Iterable[int]) -> list[int]:
    """The products often bought with any of `product_ids`, the most confident rule first (each once)."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return []
    rows = session.execute(select(RULES.c.suggested_id).where(RULES.c.product_id.in_(wanted))
                           .order_by(RULES.c.confidence.desc(), RULES.c.lift.desc(), RULES.c.suggested_id)).scalars()
    return list(dict.fromkeys(rows))


def recommended(*, session: Session, contact_ids: Iterable[int]) -> dict[int, Product]:
    """Per contact: the product on sale and in stock most often bought with what they bought, that they never
    bought themselves (contacts without one are left out)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    bought: dict[int, set[int]] = defaultdict(set)
    for contact_id, product_id in session.execute(
            select(Order.contact_id, OrderItem.product_id).join(OrderItem, OrderItem.order_id == Order.id)
            .where(Order.contact_id.in_(ids), Order.status != "cancelled", OrderItem.product_id.is_not(None))
            .distinct()):
        bought[contact_id].add(product_id)
    antecedents = sorted(set().union(*bought.values())) if bought else []
    if not antecedents:
        return {}
    on_sale = and_(Product.active == True, or_(Product.stock.is_(None), Product.stock > 0))  # noqa: E712
    candidates = session.execute(
        select(RULES.c.product_id, RULES.c.confidence, RULES.c.lift, Product)
        .join(Product, Product.id == RULES.c.suggested_id)
        .where(RULES.c.product_id.in_(antecedents), on_sale)).all()
    best: dict[int, tuple[tuple, Product]] = {}
    for product_id, confidence, lift, product in candidates:
        for contact_id, theirs in bought.items():
            if product_id in theirs and product.id not in theirs:
                rank = (confidence, lift, -product.id)
                if contact_id not in best or rank > best[contact_id][0]:
                    best[contact_id] = (rank, product)
    return {contact_id: product for contact_id, (_rank, product) in best.items()}


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def attach_rate(*, session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Orders created in [start, end) (not cancelled): how many got an offer, how many kept it, and the rate the
    same products were bought without an offer, for the CRM dashboard.

    The "without" rate is measured where an offer could have been made: for each offered product B, the orders
    without an offer that held a product A with a rule A → B; the share of them that held B, weighted by how often
    B was offered (so it compares like with like).

    Returns {"start", "end", "orders", "offered", "accepted", "attach_rate", "rate_without", "items": [{"product_id",
    "product", "offered", "accepted", "attach_rate", "orders_without", "bought_without", "rate_without"}]} (rates
    0-1, None without anything to divide by; items most offered first).
    """
    window = and_(Order.created_at >= start, Order.created_at < end, Order.status != "cancelled")
    per_product = session.execute(
        select(Order.cross_sell_product_id, func.count(),
               func.sum(case((Order.cross_sell_taken == True, 1), else_=0)))  # noqa: E712
        .where(window, Order.cross_sell_product_id.is_not(None)).group_by(Order.cross_sell_product_id)).all()
    orders = session.execute(select(func.count()).select_from(Order).where(window)).scalar_one()
    offered = sum(count for _pid, count, _taken in per_product)
    accepted = sum(int(taken or 0) for _pid, _count, taken in per_product)
    items, weighted, weights = [], 0.0, 0
    names = dict(session.execute(select(Product.id, Product.name).where(
        Product.id.in_([pid for pid, _c, _t in per_product]))).all()) if per_product else {}
    for product_id, count, taken in per_product:
        base, bought = _without_offer(session, window, product_id)
        rate_without = _ratio(bought, base)
        if rate_without is not None:
            weighted, weights = weighted + count * bought / base, weights + count
        items.append({"product_id": product_id, "product": names.get(product_id), "offered": count,
                      "accepted": int(taken or 0), "attach_rate": _ratio(int(taken or 0), count),
                      "orders_without": base, "bought_without": bought, "rate_without": rate_without})
    items.sort(key=lambda item: (-item["offered"], item["product_id"]))
    return {"start": start, "end": end, "orders": orders, "offered": offered, "accepted": accepted,
            "attach_rate": _ratio(accepted, offered), "rate_without": _ratio(weighted, weights),
            "items": items}


def _without_offer(session: Session, window, product_id: int) -> tuple[int, int]:
    """Orders in the window without an offer that held a product with a rule → `product_id`; how many held it too."""
    antecedents = select(RULES.c.product_id).where(RULES.c.suggested_id == product_id)
    candidates = select(Order.id).where(window, Order.cross_sell_product_id.is_(None),
                                        Order.id.in_(_orders_holding(antecedents)))
    base = session.execute(select(func.count()).select_from(candidates.subquery())).scalar_one()
    bought = session.execute(select(func.count()).select_from(
        candidates.where(Order.id.in_(_orders_holding([product_id]))).subquery())).scalar_one() if base else 0
    return base, bought


def _orders_holding(product_ids):
    """The ids of the orders with a line of one of `product_ids` (a list or a select of ids)."""
    return select(OrderItem.order_id).where(OrderItem.product_id.in_(product_ids))
