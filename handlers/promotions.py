"""Promotions this customer qualifies for today."""

from __future__ import annotations

import re

from core import messages as m
from crm.promotions import validity_text
from handlers.base import Context
from handlers.effects import Answer
from handlers.nlu.lang import looks_like_question

MAX_CARDS = 10
_WORD = re.compile(r"[a-z0-9]+")
# Words every offer's name may carry: naming one of these names no offer in particular.
_GENERIC = frozenset("promo promosi paket diskon discount gratis free bundle special spesial khusus hemat murah "
                     "offer offers deal deals voucher kode code member".split())


def _words(text: str | None) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _names(promo, said: str) -> bool:
    """True when the customer's words name the promotion: its voucher code, or a part of its title."""
    parts = [part for title in (promo.title, promo.title_en) for part in (title or "").split(":")]
    names = [_words(part) for part in parts if len(_words(part).split()) >= 2] + [_words(promo.voucher_code)]
    return any(name and f" {name} " in f" {said} " for name in names)


def _mentions(promo, said: str) -> bool:
    """True when the customer names the promotion or one of its own words ("promo weekday")."""
    if _names(promo, said):
        return True
    own = {word for name in (promo.title, promo.title_en, promo.voucher_code) for word in _words(name).split()
           if len(word) >= 4 and word not in _GENERIC and not word.isdigit()}
    return bool(own & set(said.split()))


def named_promotions(ctx: Context, text: str) -> list:
    """The running promotions a question names ("buy 1 get 1 nya berlaku di mana?"), store-tied ones included."""
    found = {promo.id: promo for promo in ctx.data.promotions(ctx.now)}
    for store in ctx.data.stores():  # an offer tied to a store counts near that store
        for promo, _store, _km in ctx.data.offers_near(store.lat, store.lon, ctx.now):
            found.setdefault(promo.id, promo)
    said = _words(text)
    return [promo for promo in found.values() if _names(promo, said)]


def _title(promo, ctx: Context) -> str:
    return promo.title_en if ctx.language == "en" and promo.title_en else promo.title


def promotion_card(promo, ctx: Context) -> m.Card:
    """A promotion as a card: title, description, voucher and validity (weekdays and hours included)."""
    english = ctx.language == "en"
    title = _title(promo, ctx)
    description = (promo.description_en if english and promo.description_en else promo.description) or ""
    details = [description]
    if promo.voucher_code:
        details.append(ctx.say("voucher", code=promo.voucher_code))
    details.append(ctx.say("valid_until", date=promo.ends_at.astimezone(ctx.data.tz).strftime("%d/%m/%Y")))
    if validity_text(promo, ctx.language):
        details.append(ctx.say("valid_on", when=validity_text(promo, ctx.language)))
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
        """The named offers, else all the customer's offers, as cards; a named offer not valid now says when it is."""
        text = (inbound.text or "") if inbound.message_type == "text" else ""
        named = named_promotions(ctx, text) if text else []
        running = ctx.data.promotions(ctx.now)
        later = [] if named or not text else not_now(ctx, text, running)
        promos = (named or running)[:MAX_CARDS]
        cards = tuple(promotion_card(p, ctx) for p in promos)
        why = [ctx.say("promo_not_now", title=_title(p, ctx), when=validity_text(p, ctx.language)) for p in later]
        why += [ctx.say(f"promo_{reason}", title=_title(p, ctx)) for p, reason in used_up(ctx, text, named)]
        if why:
            said = "\n".join(why)
            return Answer([m.Reply(text=f"{said}\n{ctx.say('promos_now')}" if cards else said, cards=cards)])
        if not promos:
            return Answer([m.Reply(text=ctx.say("no_promos"))])
        return Answer([m.Reply(text=ctx.say("promos"), cards=cards)])


def not_now(ctx: Context, text: str, running: list) -> list:
    """The customer's offers this text names that hold on other weekdays or hours than now."""
    said, now_ids = _words(text), {p.id for p in running}
    return [p for p in ctx.data.promotions(ctx.now, any_hour=True)
            if p.id not in now_ids and validity_text(p, ctx.language) and _mentions(p, said)]


def used_up(ctx: Context, text: str, named: list) -> list:
    """The customer's offers this text names that they already used (once per customer) or that ran out."""
    if not text or named:
        return []
    said = _words(text)
    return [(p, reason) for p, reason in ctx.data.used_up_promotions(ctx.now) if _mentions(p, said)]
