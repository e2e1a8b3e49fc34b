"""Promotions this customer qualifies for today."""

from __future__ import annotations

import re

from core import messages as m
from handlers.base import Context
from handlers.effects import Answer
from handlers.nlu.lang import looks_like_question

MAX_CARDS = 10
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str | None) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _names(promo, said: str) -> bool:
    """True when the customer's words name the promotion: its voucher code, or a part of its title."""
    parts = [part for title in (promo.title, promo.title_en) for part in (title or "").split(":")]
    names = [_words(part) for part in parts if len(_words(part).split()) >= 2] + [_words(promo.voucher_code)]
    return any(name and f" {name} " in f" {said} " for name in names)


def named_promotions(ctx: Context, text: str) -> list:
    """The running promotions a question names ("buy 1 get 1 nya berlaku di mana?"), store-tied ones included."""
    found = {promo.id: promo for promo in ctx.data.promotions(ctx.now)}
    for store in ctx.data.stores():  # an offer tied to a store counts near that store
        for promo, _store, _km in ctx.data.offers_near(store.lat, store.lon, ctx.now):
            found.setdefault(promo.id, promo)
    said = _words(text)
    return [promo for promo in found.values() if _names(promo, said)]


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
        """Promotion requests, and questions that name a running promotion (whatever else they ask)."""
        if ctx.data is None:
            return False
        if ctx.wants("promotion"):
            return True
        asked = inbound.message_type == "text" and ctx.requested_intent is None and looks_like_question(inbound.text or "")
        return asked and bool(named_promotions(ctx, inbound.text or ""))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The named offers, else all the customer's offers, as cards; or a polite "none right now"."""
        named = named_promotions(ctx, inbound.text or "") if inbound.message_type == "text" else []
        promos = (named or ctx.data.promotions(ctx.now))[:MAX_CARDS]
        if not promos:
            return Answer([m.Reply(text=ctx.say("no_promos"))])
        return Answer([m.Reply(text=ctx.say("promos"), cards=tuple(promotion_card(p, ctx) for p in promos))])
