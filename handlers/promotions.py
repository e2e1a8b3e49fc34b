"""Promotions this customer qualifies for today."""

from __future__ import annotations

from core import messages as m
from handlers.base import Context
from handlers.effects import Answer

MAX_CARDS = 10


def promotion_card(promo, ctx: Context) -> m.Card:
    """A promotion as a card: title, description, voucher and validity."""
    english = ctx.language == "en"
    title = (promo.title_en if english and promo.title_en else promo.title)
    description = (promo.description_en if english and promo.description_en else promo.description) or ""
    details = [description]
    if promo.voucher_code:
        details.append(ctx.say("voucher", code=promo.voucher_code))
    details.append(ctx.say("valid_until", date=promo.ends_at.astimezone(ctx.data.tz).strftime("%d/%m/%Y")))
    return m.Card(title=title[:80], subtitle="\n".join(d for d in details if d)[:300])


class PromotionHandler:
    """Answers "ada promo apa?" with the offers the customer qualifies for."""

    name = "promotion"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Promotion requests."""
        return ctx.data is not None and ctx.wants("promotion")

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Offers as cards, or a polite "none right now"."""
        promos = ctx.data.promotions(ctx.now)[:MAX_CARDS]
        if not promos:
            return Answer([m.Reply(text=ctx.say("no_promos"))])
        return Answer([m.Reply(text=ctx.say("promos"), cards=tuple(promotion_card(p, ctx) for p in promos))])
