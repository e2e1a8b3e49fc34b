"""Voucher codes typed during an order ("pakai kode HEMAT10"): found, checked for this customer, explained."""

from __future__ import annotations

import re

from handlers.base import Context

# A voucher code after a word that introduces one: "kode HEMAT10", "pakai voucher HEMAT10", "use code X".
_VOUCHER = re.compile(r"\b(kode|code|voucher|kupon|coupon|pakai|pake|pakek|gunakan|use|apply|redeem)"
                      r"\s+(?:(kode|code|voucher|kupon|coupon|promo)\s+)?:?\s*([a-z0-9][a-z0-9-]{2,31})\b", re.IGNORECASE)
_CODE_WORDS = frozenset({"kode", "code", "voucher", "kupon", "coupon"})


def voucher_said(ctx: Context, text: str | None) -> tuple[str, tuple[int, int]] | None:
    """The voucher code the text gives and where it is said: a code the shop has, or any word after "kode"."""
    for match in _VOUCHER.finditer(text or ""):
        code = match.group(3).upper()
        named = match.group(1).lower() in _CODE_WORDS or match.group(2) is not None
        if named or ctx.data.voucher(code, ctx.now)[0] is not None:  # "pakai susu" gives no code
            return code, match.span()
    return None


def without_voucher(ctx: Context, text: str | None) -> str:
    """The text with its voucher phrase taken out (so the code is not read as a product)."""
    said = voucher_said(ctx, text)
    if said is None:
        return text or ""
    start, end = said[1]
    return f"{text[:start]} {text[end:]}".strip()


def promotion_title(promotion, ctx: Context) -> str:
    """The promotion's title in the customer's language."""
    return promotion.title_en if ctx.language == "en" and promotion.title_en else promotion.title


def refusal(ctx: Context, code: str, promotion, reason: str) -> str:
    """Why the customer cannot use this voucher, in their words."""
    if reason in ("used", "spent"):
        return ctx.say(f"promo_{reason}", title=promotion_title(promotion, ctx))
    return ctx.say(f"voucher_{reason}", code=code)


def apply_voucher(ctx: Context, order: dict, text: str | None) -> list[str]:
    """Put the voucher the text gives on the order when this customer may use it now; what to tell them."""
    said = voucher_said(ctx, text)
    if said is None:
        return []
    code = said[0]
    promotion, reason = ctx.data.voucher(code, ctx.now)
    if reason is not None:
        return [refusal(ctx, code, promotion, reason)]
    order["voucher"] = promotion.voucher_code
    said = [ctx.say("voucher_applied", code=promotion.voucher_code, title=promotion_title(promotion, ctx))]
    free = _free_product(ctx, promotion)
    if free is not None and all(line["product_id"] != free.id for line in order["lines"]):
        order["lines"].append({"product_id": free.id, "qty": 1, "note": None})  # the reward's product, on the house
        said.append(ctx.say("voucher_free_added", product=free.name_en if ctx.language == "en" and free.name_en
                            else free.name))
    return said


def _free_product(ctx: Context, promotion):
    """The catalog product a reward voucher gives free (None for other vouchers, or when it is off sale)."""
    if not promotion.free_sku:
        return None
    return next((p for p in ctx.data.products() if p.sku.upper() == promotion.free_sku.upper()), None)


def reward_reminder(ctx: Context) -> str | None:
    """A line reminding the customer of a loyalty reward voucher they hold and can use now (None without one)."""
    held = [p for p in ctx.data.promotions(ctx.now) if p.voucher_code and (p.discount_amount or p.free_sku)
            and (p.audience or {}).get("contacts") == [ctx.contact_id]]
    if not held:
        return None
    return ctx.say("reward_held", code=held[0].voucher_code, title=promotion_title(held[0], ctx))


def check_voucher(ctx: Context, order: dict) -> list[str]:
    """Before placing: a voucher the customer can no longer use is taken off the order, and why is said."""
    code = order.get("voucher")
    if not code:
        return []
    promotion, reason = ctx.data.voucher(code, ctx.now)
    if reason is None:
        return []
    order.pop("voucher")
    return [refusal(ctx, code, promotion, reason)]


def voucher_line(ctx: Context, order: dict) -> str | None:
    """The order summary's voucher line (None without a voucher)."""
    code = order.get("voucher")
    if not code:
        return None
    promotion, _reason = ctx.data.voucher(code, ctx.now)
    return ctx.say("voucher_line", code=code, title=promotion_title(promotion, ctx) if promotion else "-")
