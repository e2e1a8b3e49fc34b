"""Nearest open stores (with distance, hours, map link) and offers valid there."""

from __future__ import annotations

import re

from core import messages as m
from core.geo import map_link, valid_coordinates
from core.texts import button
from handlers.base import Context
from handlers.effects import Answer, ForgetLocation, RememberLocation

MAX_KM = 25.0  # the store finder's reach; an order out of delivery range is offered pickup this near too
FORGET = re.compile(r"\b(hapus lokasi|lupakan lokasi|forget my location|delete my location)\b", re.IGNORECASE)


def services_note(ctx: Context, store) -> str:
    """What a store does not offer, when it matters ("hanya ambil sendiri"); "" when it delivers and hands out."""
    if store.delivers and store.pickup:
        return ""
    return ctx.say("pickup_only" if store.pickup else "delivery_only" if store.delivers else "no_orders_here")


def _stores_reply(ctx: Context, lat: float, lon: float, place: str) -> list[m.Reply]:
    hits = ctx.data.nearest_stores(lat, lon, ctx.now, k=3, max_km=MAX_KM)
    if not hits:
        areas = sorted({store.area for store in ctx.data.stores() if store.area})
        return [m.Reply(text=ctx.say("no_store_near", km=f"{MAX_KM:.0f}", areas=", ".join(areas) or "-"))]
    cards = []
    for hit in hits:
        state = ctx.say("open_now") if hit.open_now else ctx.say("closed_now")
        services = services_note(ctx, hit.store)  # only when a store does not both deliver and hand out
        subtitle = f"{hit.km:.1f} km · {state}{' · ' + services if services else ''}\n{hit.store.address}"
        cards.append(m.Card(title=hit.store.name[:80], subtitle=subtitle[:300],
                            buttons=(m.Choice(button("map", ctx.language), url=hit.map_url or map_link(
                                hit.store.lat, hit.store.lon)),)))
    nearest = hits[0].store
    replies = [m.Reply(text=ctx.say("nearest", place=place), cards=tuple(cards)),
               m.Reply(location=m.Location(title=nearest.name[:100], address=(nearest.address or nearest.area)[:100],
                                           lat=nearest.lat, lon=nearest.lon))]
    offers = ctx.data.offers_near(lat, lon, ctx.now)
    if offers:
        names = ", ".join(promo.title_en if ctx.language == "en" and promo.title_en else promo.title
                          for promo, _store, _km in offers[:3])
        replies.append(m.Reply(text=ctx.say("offers_here", offers=names)))
    return replies


class LocationHandler:
    """A shared location or a typed area name → the nearest stores."""

    name = "location"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Location messages, and store/area questions."""
        if ctx.data is None:
            return False
        if inbound.message_type == "location":
            return True
        return inbound.message_type == "text" and (ctx.wants("location") or bool(FORGET.search(inbound.text or "")))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Stores near the shared point or the named area; otherwise ask for the location."""
        if inbound.message_type == "location":
            lat, lon = inbound.data.get("lat"), inbound.data.get("lon")
            if not valid_coordinates(lat, lon):
                return Answer([m.Reply(text=ctx.say("bad_location"))])
            return Answer(_stores_reply(ctx, lat, lon, inbound.data.get("title") or ctx.say("your_location")),
                          (RememberLocation(lat, lon),))
        if FORGET.search(inbound.text or ""):
            return Answer([m.Reply(text=ctx.say("location_forgotten"))], (ForgetLocation(),))
        area = ctx.data.area(inbound.text or "")
        if area is not None:
            name, lat, lon = area
            return Answer(_stores_reply(ctx, lat, lon, name))
        return Answer([m.Reply(text=ctx.say("ask_location"),
                               choices=(m.Choice(button("share_location", ctx.language), location=True),))])
